// The checks of a customer's own certificate (daemon/ssl/custom-cert.ts), pure: each refusal names
// its field with the message the customer reads, and none quotes the key; a good certificate with
// its chain, a wildcard and a self-signed one pass, normalised.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import forge from 'node-forge';
import { DAY, encryptedKey, issueCert, makeCa, makeKey, type TestCa, type TestKey } from '../helpers/certs.ts';
import { checkCustomCertificate, covers, defaultRequiredNames, MAX_FIELD_BYTES, type CustomCertFields } from '../../daemon/ssl/custom-cert.ts';
import { InputError } from '../../daemon/common/errors.ts';

const NAMES = ['shop.example', 'www.shop.example'];
/** forge writes CRLF line ends; the stored form has LF. */
const lf = (pem: string) => pem.replace(/\r\n/g, '\n');
const now = Date.now();
const root = makeCa('hostbridge test root');

/** A certificate signed by `issuer` (forge), CA or not: the intermediates and the odd chains the tests need. */
function signedBy(issuer: TestCa, name: string, o: { ca: boolean; names?: string[]; key?: TestKey }): TestCa {
  const key = o.key ?? makeKey();
  const priv = forge.pki.privateKeyFromPem(key.pem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(8));
  cert.publicKey = forge.pki.setRsaPublicKey(priv.n, priv.e);
  cert.validity.notBefore = new Date(now - DAY);
  cert.validity.notAfter = new Date(now + 365 * DAY);
  cert.setSubject([{ name: 'commonName', value: name }]);
  cert.setIssuer(forge.pki.certificateFromPem(issuer.cert).subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: o.ca, critical: true },
    ...(o.ca ? [{ name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }] : []),
    ...(o.names ? [{ name: 'subjectAltName', altNames: o.names.map((value) => ({ type: 2, value })) }] : []),
  ]);
  cert.sign(forge.pki.privateKeyFromPem(issuer.key.pem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { name, cert: forge.pki.certificateToPem(cert), key };
}

const intermediate = signedBy(root, 'hostbridge test intermediate', { ca: true });
const good = issueCert(intermediate, NAMES);
const goodInput: CustomCertFields = { cert: good.cert, key: good.key, chain: intermediate.cert + root.cert };

/** The refusal of `input`: its field and message, asserting the key is quoted nowhere. */
function refusal(input: Partial<CustomCertFields>, names: readonly string[] = NAMES): { field: string; message: string } {
  try {
    checkCustomCertificate(input, { names, now });
  } catch (err) {
    assert.ok(err instanceof InputError, `an InputError, got ${String(err)}`);
    const keyBody = typeof input.key === 'string' ? input.key.split('\n').filter((l) => l.length > 40 && !l.startsWith('-----')) : [];
    for (const line of keyBody) assert.ok(!err.message.includes(line), 'the message quotes no line of the key');
    return { field: err.field, message: err.message };
  }
  assert.fail('the certificate was accepted');
}

describe('custom certificate checks', () => {
  test('a good certificate with its chain passes, normalised, with its names, issuer, dates and fingerprint', () => {
    // Pasted from Windows, with a blank line and trailing spaces: read all the same.
    const pasted = lf(good.cert).replace(/\n/g, '  \r\n').replace('-----\r\n', '-----\r\n\r\n');
    const c = checkCustomCertificate({ ...goodInput, cert: pasted }, { names: NAMES, now });
    assert.deepEqual(c.names, NAMES);
    assert.equal(c.issuer, 'CN=hostbridge test intermediate');
    assert.equal(c.selfSigned, false);
    assert.match(c.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.ok(c.notBefore < now && c.notAfter > now + 80 * DAY);
    assert.equal(c.certPem, lf(good.cert).trim() + '\n');
    assert.equal(c.chainPem, lf(intermediate.cert).trim() + '\n' + lf(root.cert).trim() + '\n');
    assert.match(c.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    // Only the intermediate: a chain need not reach the root.
    assert.equal(checkCustomCertificate({ ...goodInput, chain: intermediate.cert }, { names: NAMES, now }).chainPem, lf(intermediate.cert).trim() + '\n');
  });

  test('a wildcard covers one more label; the names to cover are the web domain and its www for two labels', () => {
    assert.ok(covers(['*.shop.example'], 'www.shop.example'));
    assert.ok(!covers(['*.shop.example'], 'shop.example'));
    assert.ok(!covers(['*.shop.example'], 'a.b.shop.example'));
    assert.ok(covers(['SHOP.example'], 'shop.example.'));
    const wild = issueCert(intermediate, ['shop.example', '*.shop.example']);
    assert.deepEqual(checkCustomCertificate({ cert: wild.cert, key: wild.key, chain: intermediate.cert }, { names: NAMES, now }).names, ['shop.example', '*.shop.example']);
    assert.deepEqual(defaultRequiredNames('web', 'Shop.example'), ['shop.example', 'www.shop.example']);
    assert.deepEqual(defaultRequiredNames('web', 'blog.shop.example'), ['blog.shop.example']);
    assert.deepEqual(defaultRequiredNames('mail', 'shop.example'), ['mail.shop.example']);
  });

  test('a self-signed certificate passes (HestiaCP takes it) and says so; it takes no chain', () => {
    const self = issueCert(null, NAMES);
    const c = checkCustomCertificate({ cert: self.cert, key: self.key, chain: '' }, { names: NAMES, now });
    assert.equal(c.selfSigned, true);
    assert.equal(c.chainPem, '');
    assert.deepEqual(refusal({ cert: self.cert, key: self.key, chain: root.cert }), { field: 'chain', message: 'chain: must be empty for a self-signed certificate: it has no CA' });
  });

  test('the certificate field: not PEM, two certificates, a key in it, a CA certificate, damaged text, too large', () => {
    assert.deepEqual(refusal({ ...goodInput, cert: 'hello' }), { field: 'certificate', message: 'certificate: is not a PEM certificate: paste the text that starts with -----BEGIN CERTIFICATE----- and ends with -----END CERTIFICATE-----' });
    assert.deepEqual(refusal({ ...goodInput, cert: '' }), { field: 'certificate', message: 'certificate: is empty: paste the certificate of your domain (-----BEGIN CERTIFICATE----- …)' });
    const two = refusal({ ...goodInput, cert: good.cert + intermediate.cert });
    assert.deepEqual(two, { field: 'certificate', message: 'certificate: holds 2 certificates: put only your domain\'s certificate here, and the CA\'s intermediate certificates in the chain field' });
    const withKey = refusal({ ...goodInput, cert: good.cert + good.key });
    assert.equal(withKey.field, 'certificate');
    assert.match(withKey.message, /holds a private key: the key goes in its own field/);
    assert.match(refusal({ ...goodInput, cert: intermediate.cert }).message, /^certificate: is a CA certificate \(CN=hostbridge test intermediate\), not a certificate for a web site/);
    const damaged = lf(good.cert).replace(/^(-----BEGIN CERTIFICATE-----\n)(.{20})/, '$1AAAAAAAAAAAAAAAAAAAA');
    assert.match(refusal({ ...goodInput, cert: damaged }).message, /^certificate: the certificate cannot be read: its PEM text is damaged or incomplete/);
    assert.deepEqual(refusal({ ...goodInput, cert: 'x'.repeat(MAX_FIELD_BYTES + 1) }), { field: 'certificate', message: 'certificate: is larger than 64 KiB: paste the certificate of your domain (-----BEGIN CERTIFICATE----- …) only' });
    assert.equal(refusal({ ...goodInput, cert: 42 as unknown as string }).field, 'certificate');
  });

  test('the key field: not a private key, encrypted (remove the pass phrase), two keys, damaged, not the certificate\'s', () => {
    assert.deepEqual(refusal({ ...goodInput, key: good.cert }), { field: 'private_key', message: 'private_key: is not a private key (this is a certificate, not its key): paste the text that starts with -----BEGIN PRIVATE KEY----- (or RSA PRIVATE KEY, EC PRIVATE KEY)' });
    const enc = refusal({ ...goodInput, key: encryptedKey({ pem: good.key }) });
    assert.equal(enc.field, 'private_key');
    assert.match(enc.message, /is protected by a pass phrase, which the web server cannot type in: remove the pass phrase/);
    assert.match(refusal({ ...goodInput, key: good.key + good.key }).message, /^private_key: holds 2 private keys/);
    const damaged = lf(good.key).replace(/^(-----BEGIN PRIVATE KEY-----\n)(.{30})/, '$1' + 'B'.repeat(30));
    assert.match(refusal({ ...goodInput, key: damaged }).message, /^private_key: cannot be read as a private key/);
    const other = issueCert(intermediate, NAMES);
    assert.deepEqual(refusal({ ...goodInput, key: other.key }), {
      field: 'private_key', message: 'private_key: does not match the certificate: it is the key of another certificate. Paste the key that was made with this certificate\'s request',
    });
  });

  test('dates: expired (with the date) and not yet valid', () => {
    const expiredAt = new Date(Math.floor((now - 2 * DAY) / 1000) * 1000);
    const expired = issueCert(intermediate, NAMES, { notBefore: new Date(now - 100 * DAY), notAfter: expiredAt });
    assert.deepEqual(refusal({ cert: expired.cert, key: expired.key, chain: intermediate.cert }), {
      field: 'certificate', message: `certificate: expired on ${expiredAt.toISOString().replace(/\.\d{3}Z$/, 'Z')}: renew it with your certificate authority and upload the new one`,
    });
    const from = new Date(Math.floor((now + 3 * DAY) / 1000) * 1000);
    const later = issueCert(intermediate, NAMES, { notBefore: from, notAfter: new Date(now + 90 * DAY) });
    const r = refusal({ cert: later.cert, key: later.key, chain: intermediate.cert });
    assert.equal(r.field, 'certificate');
    assert.match(r.message, new RegExp(`^certificate: is not valid yet: it is valid from ${from.toISOString().replace(/\.\d{3}Z$/, 'Z')}`));
  });

  test('names: a certificate for another domain, or without the www alias, is refused naming what it covers', () => {
    const wrong = issueCert(intermediate, ['other.example', 'www.other.example']);
    assert.deepEqual(refusal({ cert: wrong.cert, key: wrong.key, chain: intermediate.cert }), {
      field: 'certificate', message: 'certificate: does not cover shop.example and www.shop.example: it covers other.example, www.other.example, and a certificate for this service must cover shop.example and www.shop.example',
    });
    const bare = issueCert(intermediate, ['shop.example']);
    assert.match(refusal({ cert: bare.cert, key: bare.key, chain: intermediate.cert }).message, /^certificate: does not cover www\.shop\.example: it covers shop\.example,/);
  });

  test('the chain: empty for a CA-issued certificate, not linking, out of order, a site certificate in it, a key in it', () => {
    assert.match(refusal({ ...goodInput, chain: '' }).message, /^chain: is empty: your certificate was issued by CN=hostbridge test intermediate; paste that CA's intermediate certificate\(s\) here/);
    const stranger = makeCa('another CA');
    assert.match(refusal({ ...goodInput, chain: stranger.cert }).message, /^chain: does not start with the issuer of your certificate: it was issued by CN=hostbridge test intermediate, but the chain's first certificate is CN=another CA, O=hostbridge tests/);
    assert.match(refusal({ ...goodInput, chain: intermediate.cert + stranger.cert }).message, /^chain: does not link: certificate 1 \(CN=hostbridge test intermediate\) was not issued by certificate 2 \(CN=another CA, O=hostbridge tests\)/);
    // A "chain" certificate that signed the leaf but is no CA (basicConstraints CA:false).
    const notCa = signedBy(root, 'not a CA', { ca: false, names: ['not-a-ca.example'] });
    const leaf = issueCert(notCa, NAMES);
    assert.deepEqual(refusal({ cert: leaf.cert, key: leaf.key, chain: notCa.cert }), {
      field: 'chain', message: 'chain: certificate 1 (CN=not a CA) is not a CA certificate: the chain takes only the CA\'s intermediate certificates, not a site\'s certificate',
    });
    assert.match(refusal({ ...goodInput, chain: intermediate.cert + good.key }).message, /^chain: holds a private key/);
    assert.match(refusal({ ...goodInput, chain: 'just text' }).message, /^chain: is not a list of PEM certificates/);
  });
});
