// A customer's own certificate, checked before anything is stored or sent to HestiaCP: PEM texts of
// the right kinds, a key without a pass phrase that matches the certificate, dates around `now`,
// every name the role needs covered, and a chain that links the certificate to its CA. Pure: node's
// X509Certificate does the parsing, no I/O. Each refusal is an InputError naming the field
// (certificate, private_key, chain) in words a customer understands; no message ever quotes the key.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { InputError } from '../common/errors.ts';
import type { SslRole } from './cadence.ts';

/** What the customer pastes: the certificate, its private key, and the CA's intermediates (may be empty). */
export interface CustomCertFields { cert: string; key: string; chain: string }

/** A certificate that passed every check, in the form that is stored and installed. */
export interface CheckedCertificate {
  /** The certificate alone, PEM with \n line ends. */
  certPem: string;
  /** The intermediates, PEM, in order (each issued by the next); '' for a self-signed certificate. */
  chainPem: string;
  /** The private key, PEM: a secret (sealed before it is stored, never shown back). */
  keyPem: string;
  /** SHA-256 of the certificate's DER, as colon-separated upper-case hex (X509Certificate.fingerprint256). */
  fingerprint256: string;
  /** The DNS names it covers (its SANs, or its CN when it has none), lower-case. */
  names: string[];
  subject: string;
  issuer: string;
  notBefore: number;
  notAfter: number;
  /** Issued by itself: HestiaCP installs it, browsers warn. */
  selfSigned: boolean;
}

/** Largest text accepted per field: a certificate is 2–4 KiB, a long chain a few times that. */
export const MAX_FIELD_BYTES = 64 * 1024;
const MAX_CHAIN = 8;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[ \t]*\n([\s\S]*?)-----END \1-----/g;

interface PemBlock { label: string; text: string }

/** The PEM blocks of a text, each rebuilt with \n line ends and without blank or space-padded lines (Windows, e-mail). */
function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.replace(/\r\n?/g, '\n').matchAll(PEM_BLOCK)) {
    const body = m[2]!.split('\n').map((l) => l.trim()).filter(Boolean);
    out.push({ label: m[1]!, text: [`-----BEGIN ${m[1]}-----`, ...body, `-----END ${m[1]}-----`].join('\n') });
  }
  return out;
}

const isKeyLabel = (label: string) => /PRIVATE KEY$/.test(label);

function field(value: unknown, name: string, what: string, required: boolean): string {
  if (value === undefined || value === null) value = '';
  if (typeof value !== 'string') throw new InputError(name, `must be text: paste ${what}`);
  if (Buffer.byteLength(value, 'utf8') > MAX_FIELD_BYTES) throw new InputError(name, `is larger than ${MAX_FIELD_BYTES / 1024} KiB: paste ${what} only`);
  if (required && value.trim() === '') throw new InputError(name, `is empty: paste ${what}`);
  return value;
}

function readCert(pem: string, name: string, which: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new InputError(name, `${which} cannot be read: its PEM text is damaged or incomplete (copy it again, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----)`);
  }
}

/** The certificate's date, from X509Certificate's text form (e.g. "Mar  3 12:00:00 2026 GMT"). */
function dateOf(text: string): number {
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw new InputError('certificate', `has a validity date that cannot be read ("${text.slice(0, 40)}")`);
  return t;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const when = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** One line in the certificate's own order, as openssl prints it: "C=US, O=Let's Encrypt, CN=R11". */
export function oneLineName(dn: string): string {
  return dn.split('\n').map((l) => l.trim()).filter(Boolean).join(', ');
}

/** The DNS names a certificate covers: its subjectAltName DNS entries, or its CN when it has none. */
export function certNames(x: X509Certificate): string[] {
  const san = x.subjectAltName;
  if (san) {
    const dns = san.split(/,\s*/).filter((p) => p.startsWith('DNS:')).map((p) => p.slice(4).trim().toLowerCase()).filter(Boolean);
    if (dns.length) return [...new Set(dns)];
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x.subject)?.[1]?.trim().toLowerCase();
  return cn ? [cn] : [];
}

/** True when `names` covers `host`: the same name, or a wildcard for exactly one more label (*.d covers www.d, not d nor a.b.d). */
export function covers(names: readonly string[], host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return names.some((n) => {
    const name = n.toLowerCase().replace(/\.$/, '');
    if (name === h) return true;
    if (!name.startsWith('*.')) return false;
    const dot = h.indexOf('.');
    return dot > 0 && h.slice(dot + 1) === name.slice(2);
  });
}

/**
 * The names a role's certificate must cover when the automatic-SSL row does not list them: the web
 * domain and, for a domain of two labels, the www. alias HestiaCP adds to it (v-add-web-domain gives
 * subdomains none); for mail, mail.<domain>.
 */
export function defaultRequiredNames(role: SslRole, domain: string): string[] {
  const d = domain.toLowerCase();
  if (role === 'mail') return [`mail.${d}`];
  return d.split('.').length === 2 ? [d, `www.${d}`] : [d];
}

function readKey(text: string): { pem: string; key: KeyObject } {
  const blocks = pemBlocks(text);
  const keys = blocks.filter((b) => isKeyLabel(b.label));
  if (keys.length === 0) {
    const hint = blocks.some((b) => b.label === 'CERTIFICATE') ? ' (this is a certificate, not its key)' : blocks.some((b) => b.label.includes('PUBLIC KEY')) ? ' (this is a public key)' : '';
    throw new InputError('private_key', `is not a private key${hint}: paste the text that starts with -----BEGIN PRIVATE KEY----- (or RSA PRIVATE KEY, EC PRIVATE KEY)`);
  }
  if (keys.length > 1) throw new InputError('private_key', `holds ${keys.length} private keys: paste only the key of this certificate`);
  const k = keys[0]!;
  if (k.label === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type:\s*4,ENCRYPTED/m.test(k.text)) {
    throw new InputError('private_key', 'is protected by a pass phrase, which the web server cannot type in: remove the pass phrase (openssl pkey -in key.pem -out key-plain.pem) and paste the result');
  }
  try {
    return { pem: k.text.trim() + '\n', key: createPrivateKey(k.text) };
  } catch {
    throw new InputError('private_key', 'cannot be read as a private key: its PEM text is damaged or incomplete (copy it again, from its BEGIN line to its END line)');
  }
}

/** Issued by itself: the issuer is its own subject and its own key signed it. */
function selfIssued(x: X509Certificate): boolean {
  if (x.issuer !== x.subject) return false;
  try {
    return x.verify(x.publicKey);
  } catch {
    return false;
  }
}

function signedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/**
 * Checks a custom certificate for the names a role needs, at `now`. Returns it normalised, or
 * throws an InputError naming the first field that is wrong and why.
 */
export function checkCustomCertificate(input: Partial<CustomCertFields>, o: { names: readonly string[]; now: number }): CheckedCertificate {
  const certText = field(input.cert, 'certificate', 'the certificate of your domain (-----BEGIN CERTIFICATE----- …)', true);
  const keyText = field(input.key, 'private_key', 'the private key of the certificate (-----BEGIN PRIVATE KEY----- …)', true);
  const chainText = field(input.chain, 'chain', 'the CA\'s intermediate certificates', false);

  // The certificate field: exactly one certificate, and nothing secret in it.
  const certBlocks = pemBlocks(certText);
  if (certBlocks.some((b) => isKeyLabel(b.label))) throw new InputError('certificate', 'holds a private key: the key goes in its own field, the certificate field takes the certificate only');
  const certs = certBlocks.filter((b) => b.label === 'CERTIFICATE');
  if (certs.length === 0) throw new InputError('certificate', 'is not a PEM certificate: paste the text that starts with -----BEGIN CERTIFICATE----- and ends with -----END CERTIFICATE-----');
  if (certs.length > 1) throw new InputError('certificate', `holds ${certs.length} certificates: put only your domain's certificate here, and the CA's intermediate certificates in the chain field`);
  const leaf = readCert(certs[0]!.text, 'certificate', 'the certificate');
  if (leaf.ca) throw new InputError('certificate', `is a CA certificate (${oneLineName(leaf.subject)}), not a certificate for a web site: paste your domain's certificate here`);

  const key = readKey(keyText);
  let matches = false;
  try {
    matches = leaf.checkPrivateKey(key.key);
  } catch {
    matches = false;
  }
  if (!matches) throw new InputError('private_key', 'does not match the certificate: it is the key of another certificate. Paste the key that was made with this certificate\'s request');

  const notBefore = dateOf(leaf.validFrom);
  const notAfter = dateOf(leaf.validTo);
  if (o.now > notAfter) throw new InputError('certificate', `expired on ${when(notAfter)}: renew it with your certificate authority and upload the new one`);
  if (o.now < notBefore) throw new InputError('certificate', `is not valid yet: it is valid from ${when(notBefore)} (check the server's clock and the certificate's dates, or upload it from ${day(notBefore)})`);

  const names = certNames(leaf);
  const missing = o.names.filter((n) => !covers(names, n));
  if (missing.length) {
    const need = o.names.join(' and ');
    throw new InputError('certificate', `does not cover ${missing.join(' and ')}: it covers ${names.length ? names.join(', ') : 'no DNS name'}, and a certificate for this service must cover ${need}`);
  }

  // The chain: CA certificates only, each issuing the one before it, the first issuing ours.
  const chainBlocks = pemBlocks(chainText);
  if (chainBlocks.some((b) => isKeyLabel(b.label))) throw new InputError('chain', 'holds a private key: the chain takes the CA\'s intermediate certificates only, the key goes in its own field');
  const chainCerts = chainBlocks.filter((b) => b.label === 'CERTIFICATE');
  if (chainText.trim() !== '' && chainCerts.length === 0) throw new InputError('chain', 'is not a list of PEM certificates: paste the CA\'s intermediate certificates, each from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----, or leave it empty for a self-signed certificate');
  if (chainCerts.length > MAX_CHAIN) throw new InputError('chain', `holds ${chainCerts.length} certificates; at most ${MAX_CHAIN} are accepted`);
  const selfSigned = selfIssued(leaf);
  if (selfSigned && chainCerts.length) throw new InputError('chain', 'must be empty for a self-signed certificate: it has no CA');
  if (!selfSigned && chainCerts.length === 0) {
    throw new InputError('chain', `is empty: your certificate was issued by ${oneLineName(leaf.issuer)}; paste that CA's intermediate certificate(s) here (your CA sends them with the certificate, often as "CA bundle" or "chain")`);
  }
  const chain = chainCerts.map((b, i) => readCert(b.text, 'chain', `certificate ${i + 1} of the chain`));
  chain.forEach((c, i) => {
    if (!c.ca) throw new InputError('chain', `certificate ${i + 1} (${oneLineName(c.subject)}) is not a CA certificate: the chain takes only the CA's intermediate certificates, not a site's certificate`);
  });
  if (!signedBy(leaf, chain[0] ?? leaf)) {
    const first = chain[0] ? oneLineName(chain[0].subject) : '';
    throw new InputError('chain', `does not start with the issuer of your certificate: it was issued by ${oneLineName(leaf.issuer)}, but the chain's first certificate is ${first}. Put the certificate that issued yours first`);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!signedBy(chain[i]!, chain[i + 1]!)) {
      throw new InputError('chain', `does not link: certificate ${i + 1} (${oneLineName(chain[i]!.subject)}) was not issued by certificate ${i + 2} (${oneLineName(chain[i + 1]!.subject)}); list them from your certificate's issuer up towards the root`);
    }
  }

  return {
    certPem: certs[0]!.text.trim() + '\n',
    chainPem: chainCerts.map((b) => b.text.trim() + '\n').join(''),
    keyPem: key.pem,
    fingerprint256: leaf.fingerprint256,
    names,
    subject: oneLineName(leaf.subject),
    issuer: oneLineName(leaf.issuer),
    notBefore,
    notAfter,
    selfSigned,
  };
}

/** The fingerprint256 of a PEM certificate (what HestiaCP serves), or null when it cannot be read. */
export function fingerprintOf(pem: string | null | undefined): string | null {
  if (!pem) return null;
  const first = pemBlocks(pem).find((b) => b.label === 'CERTIFICATE');
  if (!first) return null;
  try {
    return new X509Certificate(first.text).fingerprint256;
  } catch {
    return null;
  }
}
