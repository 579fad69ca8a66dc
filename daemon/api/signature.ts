// Request signing between the WHMCS module and the daemon: HMAC-SHA256 with the shared secret
// over method, path, timestamp, nonce and a hash of the body. A request outside the replay
// window, with a nonce already seen, or with a wrong signature is refused.
import crypto from 'node:crypto';
import { HEADER_MODULE_VERSION } from './module-version.ts';
import { VERSION } from '../version.ts';

export const HEADER_TIMESTAMP = 'x-hostbridge-timestamp';
export const HEADER_NONCE = 'x-hostbridge-nonce';
export const HEADER_SIGNATURE = 'x-hostbridge-signature';
export const REPLAY_WINDOW_S = 300;

export function stringToSign(method: string, path: string, timestamp: string, nonce: string, body: Buffer | string): string {
  const bodyHash = crypto.createHash('sha256').update(body).digest('hex');
  return `${method.toUpperCase()}\n${path}\n${timestamp}\n${nonce}\n${bodyHash}`;
}

export function sign(secret: string, method: string, path: string, timestamp: string, nonce: string, body: Buffer | string): string {
  return 'v1=' + crypto.createHmac('sha256', secret).update(stringToSign(method, path, timestamp, nonce, body)).digest('hex');
}

/** Headers for a signed request (used by the CLI, tests and benchmarks; the PHP module does the same). */
export function signedHeaders(secret: string, method: string, path: string, body: string): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = crypto.randomBytes(16).toString('hex');
  return {
    [HEADER_TIMESTAMP]: timestamp,
    [HEADER_NONCE]: nonce,
    [HEADER_SIGNATURE]: sign(secret, method, path, timestamp, nonce, body),
    // Not signed: it names the client's release, which is this daemon's own.
    [HEADER_MODULE_VERSION]: VERSION,
  };
}

/** Where nonces seen inside the window are kept: false when the nonce was already used. */
export interface NonceStore {
  remember(nonce: string, nowS: number): boolean | Promise<boolean>;
}

/** Nonces in this process only (tests, one-shot tools); the daemon keeps them in the database. */
export class NonceMemory implements NonceStore {
  private readonly seen = new Map<string, number>();

  remember(nonce: string, nowS: number): boolean {
    if (this.seen.size > 10_000) for (const [n, exp] of this.seen) if (exp < nowS) this.seen.delete(n);
    const exp = this.seen.get(nonce);
    if (exp !== undefined && exp >= nowS) return false;
    this.seen.set(nonce, nowS + 2 * REPLAY_WINDOW_S);
    return true;
  }
}

/** The answer to a replayed request. */
export const REPLAYED = 'nonce already used: this request was replayed';

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Everything but the nonce: headers present, timestamp inside the window, signature right. */
export function checkSignature(
  secret: string, method: string, path: string, headers: Record<string, string | string[] | undefined>, body: Buffer,
  nowS = Math.floor(Date.now() / 1000),
): { ok: true; nonce: string } | { ok: false; reason: string } {
  const h = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const timestamp = h(HEADER_TIMESTAMP);
  const nonce = h(HEADER_NONCE);
  const signature = h(HEADER_SIGNATURE);
  if (!timestamp || !nonce || !signature) return { ok: false, reason: 'request is not signed (X-Hostbridge-Timestamp, X-Hostbridge-Nonce and X-Hostbridge-Signature are required)' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'X-Hostbridge-Timestamp must be Unix seconds' };
  if (Math.abs(nowS - Number(timestamp)) > REPLAY_WINDOW_S) return { ok: false, reason: `request timestamp is outside the ${REPLAY_WINDOW_S} s window (check the clocks of WHMCS and the daemon)` };
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(nonce)) return { ok: false, reason: 'X-Hostbridge-Nonce must be 16–128 letters, digits, "-" or "_"' };
  const expected = Buffer.from(sign(secret, method, path, timestamp, nonce, body));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) return { ok: false, reason: 'signature does not match: the shared secret differs from the daemon\'s' };
  return { ok: true, nonce };
}

/** The whole check: the signature, then the nonce (only a correctly signed request spends one). */
export async function verify(
  secret: string, nonces: NonceStore, method: string, path: string, headers: Record<string, string | string[] | undefined>, body: Buffer,
  nowS = Math.floor(Date.now() / 1000),
): Promise<Verdict> {
  const checked = checkSignature(secret, method, path, headers, body, nowS);
  if (!checked.ok) return checked;
  if (!(await nonces.remember(checked.nonce, nowS))) return { ok: false, reason: REPLAYED };
  return { ok: true };
}
