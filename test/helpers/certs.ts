// Test certificates: a CA of our own, leaves it signs for any names and dates (expired, not yet
// valid, wrong name), self-signed ones and mismatched keys. Keys come from node:crypto (fast, real
// RSA); node-forge only writes the X.509 structure, which node:crypto cannot.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface TestKey { /** PKCS#8 PEM. */ pem: string }

export interface TestCa {
  name: string;
  /** The CA's certificate, PEM. */
  cert: string;
  key: TestKey;
}

export interface TestCert {
  /** The leaf certificate, PEM. */
  cert: string;
  /** Its private key, PKCS#8 PEM. */
  key: string;
  /** The issuer's certificate (the intermediate a server sends after the leaf), PEM; '' when self-signed. */
  chain: string;
}

export interface CertOptions {
  notBefore?: Date;
  notAfter?: Date;
  /** Reuse a key (a renewal keeps it; a mismatch test takes another cert's key). */
  key?: TestKey;
}

const DAY = 86_400_000;

export function makeKey(bits = 2048): TestKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

function serial(): string {
  // A first byte of 0x40-0x7f: positive (sign bit clear) and never zero, so the DER integer is
  // minimal. The old '0' + random hex gave 00 00 xx… when the random began with 0x00, which forge
  // wrote as 00 xx… and OpenSSL refuses ("illegal padding"): 1 certificate in about 500.
  const b = randomBytes(16);
  b[0] = 0x40 | (b[0]! & 0x3f);
  return b.toString('hex');
}

/** forge writes PEM with CRLF; openssl and HestiaCP write LF. */
const lf = (pem: string): string => pem.replace(/\r\n/g, '\n');

function sign(cert: forge.pki.Certificate, key: TestKey): void {
  cert.sign(forge.pki.privateKeyFromPem(key.pem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
}

function publicOf(key: TestKey): forge.pki.PublicKey {
  const priv = forge.pki.privateKeyFromPem(key.pem) as forge.pki.rsa.PrivateKey;
  return forge.pki.setRsaPublicKey(priv.n, priv.e);
}

/** A CA (self-signed, basicConstraints CA:true) valid from yesterday for ten years. */
export function makeCa(name = 'hostbridge test CA', opts: CertOptions = {}): TestCa {
  const key = opts.key ?? makeKey();
  const cert = forge.pki.createCertificate();
  cert.serialNumber = serial();
  cert.publicKey = publicOf(key);
  cert.validity.notBefore = opts.notBefore ?? new Date(Date.now() - DAY);
  cert.validity.notAfter = opts.notAfter ?? new Date(Date.now() + 3650 * DAY);
  const subject = [{ name: 'commonName', value: name }, { name: 'organizationName', value: 'hostbridge tests' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  sign(cert, key);
  return { name, cert: lf(forge.pki.certificateToPem(cert)), key };
}

/**
 * A server certificate for `names` (the first is the CN; all are DNS SANs), signed by `ca`, or
 * self-signed when `ca` is null. Default validity: from yesterday for 90 days, as Let's Encrypt.
 */
export function issueCert(ca: TestCa | null, names: readonly string[], opts: CertOptions = {}): TestCert {
  if (names.length === 0) throw new Error('a certificate needs at least one name');
  const key = opts.key ?? makeKey();
  const cert = forge.pki.createCertificate();
  cert.serialNumber = serial();
  cert.publicKey = publicOf(key);
  cert.validity.notBefore = opts.notBefore ?? new Date(Date.now() - DAY);
  cert.validity.notAfter = opts.notAfter ?? new Date(Date.now() + 90 * DAY);
  cert.setSubject([{ name: 'commonName', value: names[0]! }]);
  if (ca) {
    cert.setIssuer(forge.pki.certificateFromPem(ca.cert).subject.attributes);
  } else {
    cert.setIssuer([{ name: 'commonName', value: names[0]! }]);
  }
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2, value })) },
  ]);
  sign(cert, ca ? ca.key : key);
  return { cert: lf(forge.pki.certificateToPem(cert)), key: key.pem, chain: ca ? ca.cert : '' };
}

/** A key protected by a pass phrase (PKCS#8 "ENCRYPTED PRIVATE KEY"), as HestiaCP refuses. */
export function encryptedKey(key: TestKey, passphrase = 'secret'): string {
  const priv = forge.pki.privateKeyFromPem(key.pem);
  return lf(forge.pki.encryptRsaPrivateKey(priv, passphrase, { algorithm: 'aes256' }));
}

export { DAY };
