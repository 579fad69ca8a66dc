// A real ACME server for the tests: Debian's pebble (Let's Encrypt's test CA) on loopback ports,
// with challenge validation switched off (PEBBLE_VA_ALWAYS_VALID), and a minimal ACME client
// (RFC 8555: JWS with ES256 from node:crypto, the CSR from node-forge) that orders a certificate
// for any names — so the TLS probe can be shown a certificate a real CA issued.
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { issueCert, makeCa, makeKey } from './certs.ts';
import { freePort } from './sshd.ts';

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** Pebble's root certificate (PEM), regenerated on every start: the extraCa that trusts its leaves. */
  root(): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

export interface Issued {
  /** The leaf then pebble's intermediate, PEM, as a web server sends them. */
  chain: string;
  /** The leaf's private key, PKCS#8 PEM. */
  key: string;
}

const PEBBLE = '/usr/bin/pebble';

export async function startPebble(): Promise<Pebble> {
  if (!existsSync(PEBBLE)) throw new Error(`${PEBBLE} is missing: install it with "apt-get install -y pebble"`);
  const dir = mkdtempSync(join(tmpdir(), 'hb-pebble-'));
  // Pebble's own HTTPS listener needs a certificate; ours, from a throw-away CA.
  const tlsCa = makeCa('pebble listener CA');
  const tls = issueCert(tlsCa, ['localhost']);
  writeFileSync(join(dir, 'cert.pem'), tls.cert + tls.chain);
  writeFileSync(join(dir, 'key.pem'), tls.key, { mode: 0o600 });
  const [acmePort, mgmtPort, httpPort, tlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  writeFileSync(join(dir, 'pebble.json'), JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: join(dir, 'cert.pem'),
      privateKey: join(dir, 'key.pem'),
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  }));
  let log = '';
  const proc: ChildProcess = spawn(PEBBLE, ['-config', join(dir, 'pebble.json')], {
    // Every authorization valid without a challenge, no random sleeps, no nonce refused for practice.
    env: { ...process.env, PEBBLE_VA_ALWAYS_VALID: '1', PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => { log += d; });
  proc.stderr!.on('data', (d) => { log += d; });
  const output = () => log.slice(-8000);
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const directory = `https://127.0.0.1:${acmePort}/dir`;
  const deadline = Date.now() + 15_000;
  let lastError = 'no answer';
  for (;;) {
    if (proc.exitCode !== null) {
      await stop();
      throw new Error(`pebble exited with code ${proc.exitCode}:\n${output()}`);
    }
    try {
      if ((await call('GET', directory, tlsCa.cert)).status === 200) break;
    } catch (err) {
      lastError = (err as Error).message; // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`pebble did not answer on ${directory} within 15 s (${lastError}):\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const root = async () => {
    const res = await call('GET', `https://127.0.0.1:${mgmtPort}/roots/0`, tlsCa.cert);
    if (res.status !== 200) throw new Error(`pebble's /roots/0 answered ${res.status}`);
    return res.body;
  };
  pebbleCa.set(directory, tlsCa.cert);
  return { directory, root, output, stop };
}

/** The CA of each running pebble's listener, so issue() trusts exactly that server. */
const pebbleCa = new Map<string, string>();

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** One HTTPS exchange with pebble, trusting only its listener's CA (its name is "localhost", the address is loopback). */
function call(method: string, url: string, ca: string, body?: string, contentType?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method, ca, checkServerIdentity: () => undefined, timeout: 10_000,
      headers: body === undefined ? {} : { 'content-type': contentType ?? 'application/jose+json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

const b64u = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** An ACME account (ES256 key) talking to one directory. */
class AcmeClient {
  private readonly key: KeyObject;
  private readonly jwk: Record<string, string>;
  private kid: string | null = null;
  private nonce: string | null = null;
  private dir: Record<string, string> = {};

  constructor(private readonly directory: string, private readonly ca: string) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.key = privateKey;
    const { kty, crv, x, y } = publicKey.export({ format: 'jwk' }) as Record<string, string>;
    this.jwk = { crv: crv!, kty: kty!, x: x!, y: y! };
  }

  async open(): Promise<void> {
    const res = await call('GET', this.directory, this.ca);
    if (res.status !== 200) throw new Error(`ACME directory answered ${res.status}: ${res.body}`);
    this.dir = JSON.parse(res.body) as Record<string, string>;
    const account = await this.post(this.dir.newAccount!, { termsOfServiceAgreed: true }, true);
    this.kid = String(account.headers.location);
  }

  /** A signed POST (payload null = POST-as-GET); a badNonce answer is retried once with the fresh nonce. */
  async post(url: string, payload: unknown, withJwk = false, retried = false): Promise<Reply> {
    if (!this.nonce) {
      const res = await call('HEAD', this.dir.newNonce!, this.ca);
      this.nonce = String(res.headers['replay-nonce']);
    }
    const header = { alg: 'ES256', nonce: this.nonce, url, ...(withJwk ? { jwk: this.jwk } : { kid: this.kid }) };
    const protectedB64 = b64u(JSON.stringify(header));
    const payloadB64 = payload === null ? '' : b64u(JSON.stringify(payload));
    const signature = sign('sha256', Buffer.from(`${protectedB64}.${payloadB64}`), { key: this.key, dsaEncoding: 'ieee-p1363' });
    const res = await call('POST', url, this.ca, JSON.stringify({ protected: protectedB64, payload: payloadB64, signature: b64u(signature) }));
    this.nonce = res.headers['replay-nonce'] ? String(res.headers['replay-nonce']) : null;
    if (res.status === 400 && /badNonce/.test(res.body) && !retried) return this.post(url, payload, withJwk, true);
    if (res.status >= 400) throw new Error(`ACME ${url} answered ${res.status}: ${res.body}`);
    return res;
  }

  /** Polls a resource (POST-as-GET) until its status is one of `done`; fails on "invalid". */
  async until(url: string, done: string[]): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const obj = JSON.parse((await this.post(url, null)).body) as Record<string, unknown>;
      if (done.includes(String(obj.status))) return obj;
      if (obj.status === 'invalid') throw new Error(`ACME ${url} became invalid: ${JSON.stringify(obj)}`);
      if (Date.now() > deadline) throw new Error(`ACME ${url} still ${String(obj.status)} after 20 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** A CSR for `names` (the first is the CN; all are SANs), DER, signed with the leaf's RSA key. */
function csrDer(names: readonly string[], keyPem: string): Buffer {
  const priv = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(priv.n, priv.e);
  csr.setSubject([{ name: 'commonName', value: names[0]! }]);
  csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: names.map((value) => ({ type: 2, value })) }] }]);
  csr.sign(priv, forge.md.sha256.create());
  return Buffer.from(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes(), 'binary');
}

/** Orders, authorizes (pebble calls every challenge valid), finalizes and downloads a certificate for `names`. */
export async function issue(pebble: Pebble, names: readonly string[]): Promise<Issued> {
  const ca = pebbleCa.get(pebble.directory);
  if (!ca) throw new Error('issue() needs a pebble from startPebble()');
  const acme = new AcmeClient(pebble.directory, ca);
  await acme.open();
  const dir = JSON.parse((await call('GET', pebble.directory, ca)).body) as Record<string, string>;
  const created = await acme.post(dir.newOrder!, { identifiers: names.map((value) => ({ type: 'dns', value })) });
  const orderUrl = String(created.headers.location);
  const order = JSON.parse(created.body) as { authorizations: string[]; finalize: string };
  for (const authz of order.authorizations) {
    const a = JSON.parse((await acme.post(authz, null)).body) as { status: string; challenges: { type: string; url: string }[] };
    if (a.status !== 'valid') {
      const challenge = a.challenges.find((c) => c.type === 'http-01') ?? a.challenges[0]!;
      await acme.post(challenge.url, {});
      await acme.until(authz, ['valid']);
    }
  }
  await acme.until(orderUrl, ['ready', 'valid']);
  const key = makeKey();
  await acme.post(order.finalize, { csr: b64u(csrDer(names, key.pem)) });
  const done = await acme.until(orderUrl, ['valid']);
  const chain = (await acme.post(String(done.certificate), null)).body;
  createPrivateKey(key.pem); // the key is well-formed PEM before a server is handed it
  return { chain, key: key.pem };
}
