// Minimal X.509 writer for the emulator's certificates (the ACME CA's leaves, the node's own
// self-signed hostname certificate). node:crypto reads certificates but cannot make them, and the
// emulator may import node builtins only (compileCli), so the DER is written here by hand.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';

// --- DER -----------------------------------------------------------------------------------------
function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), len(body.length), body]);
const seq = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts));
const explicit = (n: number, body: Buffer): Buffer => tlv(0xa0 + n, body);
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bits = (b: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const NULL = Buffer.from([0x05, 0x00]);

function integer(b: Buffer): Buffer {
  let v = b;
  while (v.length > 1 && v[0] === 0 && v[1]! < 0x80) v = v.subarray(1);
  if (v[0]! >= 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return tlv(0x02, v);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const groups: number[] = [];
    for (let v = n; ; v = Math.floor(v / 128)) { groups.unshift(v % 128); if (v < 128) break; }
    groups.forEach((g, i) => out.push(i < groups.length - 1 ? g | 0x80 : g));
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  // RFC 5280: UTCTime up to 2049, GeneralizedTime after.
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2) + 'Z')) : tlv(0x18, Buffer.from(iso + 'Z'));
}

const cnName = (cn: string): Buffer => seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));

interface Tlv { tag: number; start: number; body: number; end: number }
function readTlv(buf: Buffer, at: number): Tlv {
  const tag = buf[at]!;
  let n = buf[at + 1]!;
  let body = at + 2;
  if (n & 0x80) {
    const count = n & 0x7f;
    n = 0;
    for (let i = 0; i < count; i++) n = n * 256 + buf[body + i]!;
    body += count;
  }
  return { tag, start: at, body, end: body + n };
}

/** The subject Name of a certificate, as its raw DER (what a leaf's issuer field must repeat byte for byte). */
export function subjectDer(certPem: string): Buffer {
  const der = new X509Certificate(certPem).raw;
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.body);
  let at = tbs.body;
  const next = () => { const t = readTlv(der, at); at = t.end; return t; };
  if (der[at] === 0xa0) next(); // version
  next(); next(); next(); next(); // serial, signature, issuer, validity
  const subject = next();
  return der.subarray(subject.start, subject.end);
}

// --- certificates --------------------------------------------------------------------------------
export interface IssuedCert { cert: string; key: string; chain: string }

export interface IssueOptions {
  notBefore?: Date;
  notAfter?: Date;
  /** Signs with this CA; self-signed when absent. */
  ca?: { cert: string; key: string };
  /** Reuse a key (PEM); a fresh 2048-bit RSA key otherwise. */
  key?: string;
}

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

/** A server certificate for `names` (first = CN, all DNS SANs), sha256WithRSAEncryption. */
export function issue(names: readonly string[], o: IssueOptions = {}): IssuedCert {
  if (names.length === 0) throw new Error('a certificate needs at least one name');
  let priv: KeyObject;
  if (o.key) priv = createPrivateKey(o.key);
  else priv = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const spki = createPublicKey(priv).export({ type: 'spki', format: 'der' });
  const subject = cnName(names[0]!);
  const issuer = o.ca ? subjectDer(o.ca.cert) : subject;
  const signer = o.ca ? createPrivateKey(o.ca.key) : priv;
  const algo = seq(oid('1.2.840.113549.1.1.11'), NULL);
  const ext = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
  const san = seq(...names.map((n) => tlv(0x82, Buffer.from(n, 'ascii'))));
  const now = Date.now();
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    algo,
    issuer,
    seq(time(o.notBefore ?? new Date(now - 86_400_000)), time(o.notAfter ?? new Date(now + 90 * 86_400_000))),
    subject,
    spki,
    explicit(3, seq(
      ext('2.5.29.19', true, seq()),
      ext('2.5.29.15', true, bits(Buffer.from([0xa0]), 5)),
      ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))),
      ext('2.5.29.17', false, san),
    )),
  );
  const der = seq(tbs, algo, bits(sign('sha256', tbs, signer)));
  return {
    cert: pem('CERTIFICATE', der),
    key: priv.export({ type: 'pkcs8', format: 'pem' }).toString(),
    chain: o.ca ? o.ca.cert.replace(/\r\n/g, '\n') : '',
  };
}

/** `C = US, O = Let's Encrypt, CN = R11`: openssl's one-line form of node's multi-line DN. */
export function onelineDn(dn: string): string {
  return dn.split('\n').filter(Boolean).map((l) => l.replace('=', ' = ')).join(', ');
}

// OIDs of the signature algorithms a test certificate may carry, by openssl's long name.
const SIG_ALGS: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption', '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption', '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256', '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384', '1.3.101.112': 'ED25519',
};

function oidText(b: Buffer): string {
  const parts = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (const x of b.subarray(1)) { v = v * 128 + (x & 0x7f); if (!(x & 0x80)) { parts.push(v); v = 0; } }
  return parts.join('.');
}

/** The certificate's signature algorithm (openssl's name), read from the outer AlgorithmIdentifier. */
export function signatureAlgorithm(certPem: string): string {
  const der = new X509Certificate(certPem).raw;
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.body);
  const alg = readTlv(der, tbs.end);
  const id = readTlv(der, alg.body);
  const text = oidText(der.subarray(id.body, id.end));
  return SIG_ALGS[text] ?? text;
}
