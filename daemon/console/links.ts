// One-time console links: a random 32-byte token (base64url, 43 characters) in the URL fragment,
// only its SHA-256 in the table. Taking a link is one conditional UPDATE that marks it used while
// it is unused and unexpired, judged by the database's clock: of two daemons (or two tabs) that
// try at once, exactly one sees a changed row. A refusal says why (never seen, used, expired).
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { T } from '../common/tables.ts';
import { dbNow, nowMs } from '../db/connect.ts';

/** The token as it appears in `#t=…` and `?t=…`. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Rows this long past their expiry are removed when the next link is made. */
const KEEP_MS = 24 * 3600_000;

export function tokenHash(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface NewConsoleLink {
  token: string;
  /** Milliseconds since the epoch, by the database's clock. */
  expiresAt: number;
}

/** A new link for the service row (hostbridge's id) and the WHMCS client it was asked for. */
export async function createConsoleLink(db: Knex, serviceId: number, clientId: number, ttlS: number): Promise<NewConsoleLink> {
  if (!Number.isInteger(ttlS) || ttlS < 1) throw new Error(`console link lifetime must be a positive number of seconds, got ${ttlS}`);
  const token = crypto.randomBytes(32).toString('base64url');
  const now = await dbNow(db);
  const expiresAt = now + ttlS * 1000;
  await db(T.consoleLinks).insert({ token_hash: tokenHash(token), service_id: serviceId, client_id: clientId, created_at: now, expires_at: expiresAt, used_at: null, used_by: null });
  await db(T.consoleLinks).where('expires_at', '<', now - KEEP_MS).delete();
  return { token, expiresAt };
}

export type ConsumeResult =
  | { ok: true; serviceId: number; clientId: number }
  | { ok: false; reason: 'unknown' | 'used' | 'expired' };

/**
 * Takes the link: true for exactly one caller while it is unused and unexpired. `by` names the
 * daemon that took it. A malformed token is 'unknown' without a query.
 */
export async function consumeConsoleLink(db: Knex, token: string, by: string): Promise<ConsumeResult> {
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return { ok: false, reason: 'unknown' };
  const hash = tokenHash(token);
  const changed = await db(T.consoleLinks)
    .where('token_hash', hash)
    .whereNull('used_at')
    .where('expires_at', '>', nowMs(db))
    .update({ used_at: nowMs(db), used_by: by.slice(0, 100) });
  const row = await db(T.consoleLinks).where('token_hash', hash).first('service_id', 'client_id', 'used_at');
  if (Number(changed) === 1 && row) return { ok: true, serviceId: Number(row.service_id), clientId: Number(row.client_id) };
  if (!row) return { ok: false, reason: 'unknown' };
  return { ok: false, reason: row.used_at === null ? 'expired' : 'used' };
}

/** What the customer reads when a link is refused. */
export function refusalText(reason: 'unknown' | 'used' | 'expired'): string {
  const again = 'Open the console again from the client area to get a new link.';
  if (reason === 'used') return `This console link was already used: each link opens the console once. ${again}`;
  if (reason === 'expired') return `This console link has expired: a link works only for a short while after it was made. ${again}`;
  return `This console link is not valid. ${again}`;
}
