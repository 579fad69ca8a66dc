// SSL on the HestiaCP emulator, from reference §8.8: Let's Encrypt against the node's emulated ACME
// CA (DNS, http-01 validation, injected failures, renewal), custom certificates with each refusal
// of is_web_domain_cert_valid, the v-list-*-ssl json, and the node's TLS front choosing by SNI.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { freshNode } from './hestia/testing.ts';
import { execLine, injectAcmeFailure, readNode, runHestia, setAcme } from './hestia/index.ts';
import { paths } from './hestia/node.ts';
import { encryptedKey, issueCert, makeCa, makeKey } from '../helpers/certs.ts';
import { startEmulatedFleet, type EmulatedFleet } from '../helpers/fleet.ts';

const IP = '192.0.2.10'; // freshNode's IP
const ca = makeCa('emulated ACME CA');

function leNode() {
  const n = freshNode();
  setAcme(n.dir, { ca: { cert: ca.cert, key: ca.key.pem } });
  assert.equal(n.run('v-add-user', 'bob', 'pw-123456', 'bob@example.com', 'default').code, 0);
  assert.equal(n.run('v-add-web-domain', 'bob', 'bob.example').code, 0);
  const le = (args: string[], dns: Record<string, string[]>) => runHestia(n.dir, 'v-add-letsencrypt-domain', ['bob', ...args], '', { dns });
  return { ...n, le, web: () => readNode(n.dir).users.bob!.web[0]! };
}

const info = (dir: string, cmd: string, d: string) => {
  const r = runHestia(dir, cmd, ['bob', d, 'json']);
  assert.equal(r.code, 0, r.stdout);
  return (JSON.parse(r.stdout) as Record<string, Record<string, string>>)[d]!;
};

describe("Let's Encrypt (v-add-letsencrypt-domain)", () => {
  it('issues for the domain and an alias when both point here: SSL, LETSENCRYPT, files, 90 days, prints nothing', () => {
    const n = leNode();
    const r = n.le(['bob.example', 'www.bob.example'], { 'bob.example': [IP], 'www.bob.example': [IP] });
    assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
    const w = n.web();
    assert.equal(w.SSL, 'yes'); assert.equal(w.LETSENCRYPT, 'yes'); assert.equal(w.LETSENCRYPT_FAIL_COUNT, '0');
    const keys = Object.keys(w);
    assert.equal(keys.indexOf('LETSENCRYPT_FAIL_COUNT'), keys.indexOf('LETSENCRYPT') + 1, 'inserted after LETSENCRYPT, Hestia order kept');
    assert.equal(readNode(n.dir).users.bob!.conf.U_WEB_SSL, '1');
    for (const ext of ['crt', 'key', 'ca', 'pem']) assert.ok(existsSync(paths.userFile(n.dir, 'bob', `ssl/bob.example.${ext}`)), ext);
    const x = new X509Certificate(readFileSync(paths.userFile(n.dir, 'bob', 'ssl/bob.example.crt')));
    assert.ok(x.checkIssued(new X509Certificate(ca.cert)) && x.verify(new X509Certificate(ca.cert).publicKey), 'signed by the ACME CA');
    assert.equal(x.subjectAltName, 'DNS:bob.example, DNS:www.bob.example');
    const days = (Date.parse(x.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 89 && days <= 90, String(days));
    assert.match(readFileSync(join(n.dir, 'log/system.log'), 'utf8'), /v-add-letsencrypt-domain  'bob' 'bob.example' 'www.bob.example'/);
    assert.equal(n.run('v-list-web-domains', 'bob', 'json').stdout.includes('"LETSENCRYPT": "yes"'), true);
  });

  it('a name that does not resolve → 3 `DNS record for X doesn\'t exist`; no resolver at all is the same', () => {
    const n = leNode();
    assert.deepEqual(n.le(['bob.example', 'www.bob.example'], { 'bob.example': [IP], 'www.bob.example': [] }),
      { code: 3, stdout: "Error: DNS record for www.bob.example doesn't exist\n", stderr: '' });
    assert.equal(n.run('v-add-letsencrypt-domain', 'bob', 'bob.example').code, 3, 'without looked-up answers nothing resolves');
    assert.equal(n.web().SSL, 'no');
  });

  it('a name resolving elsewhere → 15 with the CA\'s validation error; an unknown alias → 3 before any lookup', () => {
    const n = leNode();
    const r = n.le(['bob.example', 'www.bob.example'], { 'bob.example': [IP], 'www.bob.example': ['198.51.100.7'] });
    assert.equal(r.code, 15);
    assert.match(r.stdout, /^Error: Let's Encrypt validation status 400 \(bob\.example\)\. Details: 403:"198\.51\.100\.7: Invalid response from http:\/\/www\.bob\.example\/\.well-known\/acme-challenge\/[A-Za-z0-9_-]+: 404"\n$/);
    assert.deepEqual(n.le(['bob.example', 'shop.bob.example'], {}), { code: 3, stdout: "Error: domain alias shop.bob.example doesn't exist\n", stderr: '' });
    assert.match(readFileSync(join(n.dir, 'log/error.log'), 'utf8'), /\[Error 15\]/);
    assert.equal(n.web().SSL, 'no');
  });

  it('an injected 429 fails the next run only (→ 15 new auth), then issuance works; no CA → 15 without a message', () => {
    const n = leNode();
    injectAcmeFailure(n.dir, { step: 'new-auth', status: 429 });
    const dns = { 'bob.example': [IP] };
    assert.deepEqual(n.le(['bob.example'], dns), { code: 15, stdout: "Error: Let's Encrypt new auth status 429 (bob.example)\n", stderr: '' });
    assert.equal(n.le(['bob.example'], dns).code, 0);
    setAcme(n.dir, { ca: null });
    assert.deepEqual(n.le(['bob.example'], dns), { code: 15, stdout: '', stderr: '' });
  });

  it('renewal with SSL on takes the update path: new certificate, U_WEB_SSL unchanged; validity is a knob', () => {
    const n = leNode();
    setAcme(n.dir, { validityDays: 10 });
    const dns = { 'bob.example': [IP] };
    assert.equal(n.le(['bob.example'], dns).code, 0);
    const first = info(n.dir, 'v-list-web-domain-ssl', 'bob.example');
    assert.ok((Date.parse(first.NOT_AFTER!) - Date.now()) / 86_400_000 < 10.1);
    setAcme(n.dir, { validityDays: 90 });
    assert.equal(n.le(['bob.example'], dns).code, 0);
    const second = info(n.dir, 'v-list-web-domain-ssl', 'bob.example');
    assert.notEqual(second.CRT, first.CRT);
    assert.ok(Date.parse(second.NOT_AFTER!) > Date.parse(first.NOT_AFTER!));
    assert.equal(readNode(n.dir).users.bob!.conf.U_WEB_SSL, '1');
  });

  it('mail mode: mail.<d> plus webmail.<d>, installed as the mail domain\'s certificate; v-delete-letsencrypt-domain undoes it', () => {
    const n = leNode();
    assert.equal(n.run('v-add-mail-domain', 'bob', 'bob.example').code, 0);
    const dns = { 'mail.bob.example': [IP], 'webmail.bob.example': [IP] };
    assert.equal(n.le(['bob.example', '', 'yes'], { 'mail.bob.example': [IP] }).stdout, "Error: DNS record for webmail.bob.example doesn't exist\n");
    assert.deepEqual(n.le(['bob.example', '', 'yes'], dns), { code: 0, stdout: '', stderr: '' });
    const m = readNode(n.dir).users.bob!.mail[0]!.domain;
    assert.equal(m.SSL, 'yes'); assert.equal(m.LETSENCRYPT, 'yes'); assert.equal(m.LETSENCRYPT_FAIL_COUNT, '0');
    const i = info(n.dir, 'v-list-mail-domain-ssl', 'bob.example');
    assert.equal(i.SUBJECT, 'mail.bob.example');
    assert.equal(i.ALIASES, 'mail.bob.example,webmail.bob.example');
    assert.equal(n.web().SSL, 'no', 'the web domain is untouched');
    assert.equal(n.run('v-delete-letsencrypt-domain', 'bob', 'bob.example', 'no', 'yes').code, 0);
    assert.equal(readNode(n.dir).users.bob!.mail[0]!.domain.SSL, 'no');
    assert.equal(info(n.dir, 'v-list-mail-domain-ssl', 'bob.example').CRT, '');
    assert.deepEqual(n.run('v-delete-letsencrypt-domain', 'bob', 'bob.example', 'no', 'yes'), { code: 3, stdout: "Error: LETSENCRYPT=no doesn't exist\n", stderr: '' });
  });
});

describe('custom certificates (v-add-web-domain-ssl and friends)', () => {
  const domain = 'shop.example';
  function customNode() {
    const n = freshNode();
    assert.equal(n.run('v-add-user', 'bob', 'pw-123456', 'bob@example.com', 'default').code, 0);
    assert.equal(n.run('v-add-web-domain', 'bob', domain).code, 0);
    let k = 0;
    /** Writes the files into the node's /tmp/<dir> and returns the SSL_DIR argument. */
    const put = (files: { crt?: string; key?: string; ca?: string }) => {
      const name = `ssl-${++k}`;
      mkdirSync(join(paths.tmp(n.dir), name), { recursive: true });
      for (const [ext, text] of Object.entries(files)) if (text !== undefined) writeFileSync(join(paths.tmp(n.dir), name, `${domain}.${ext}`), text);
      return `/tmp/${name}`;
    };
    return { ...n, put };
  }
  const good = issueCert(ca, [domain, `www.${domain}`]);

  it('refuses each bad input with its code and Error line, in is_web_domain_cert_valid\'s order', () => {
    const n = customNode();
    const add = (dir: string) => n.run('v-add-web-domain-ssl', 'bob', domain, dir);
    const expect = (dir: string, code: number, msg: string) => assert.deepEqual(add(dir), { code, stdout: `Error: ${msg}\n`, stderr: '' }, msg);
    expect('/tmp/nowhere', 3, 'folder /tmp/nowhere does not exist');
    let d = n.put({ key: good.key }); expect(d, 3, `${d}/${domain}.crt not found`);
    d = n.put({ crt: good.cert }); expect(d, 3, `${d}/${domain}.key not found`);
    expect(n.put({ crt: 'garbage', key: good.key }), 2, 'SSL Certificate is not valid');
    expect(n.put({ crt: good.cert, key: good.key }), 3, 'Certificate Authority not found');
    expect(n.put({ crt: good.cert, key: good.key, ca: makeCa('another CA').cert }), 3, 'SSL intermediate chain is not valid');
    expect(n.put({ crt: good.cert, key: 'not a key', ca: good.chain }), 2, 'SSL Key is not valid');
    expect(n.put({ crt: good.cert, key: encryptedKey({ pem: good.key }), ca: good.chain }), 10, 'SSL Key is protected (remove pass_phrase)');
    expect(n.put({ crt: good.cert, key: makeKey().pem, ca: good.chain }), 2, 'ssl certificate key pair is not valid');
    assert.equal(readNode(n.dir).users.bob!.web[0]!.SSL, 'no');
  });

  it('installs a CA-signed or a self-signed pair, refuses a second add (4), replaces, lists, deletes', () => {
    const n = customNode();
    assert.deepEqual(n.run('v-add-web-domain-ssl', 'bob', domain, n.put({ crt: good.cert, key: good.key, ca: good.chain })), { code: 0, stdout: '', stderr: '' });
    assert.equal(readNode(n.dir).users.bob!.web[0]!.SSL, 'yes');
    assert.equal(readNode(n.dir).users.bob!.web[0]!.LETSENCRYPT, 'no');
    assert.deepEqual(n.run('v-add-web-domain-ssl', 'bob', domain, n.put({ crt: good.cert, key: good.key, ca: good.chain })), { code: 4, stdout: 'Error: SSL=yes already exists\n', stderr: '' });
    const self = issueCert(null, [domain]);
    assert.equal(n.run('v-change-web-domain-sslcert', 'bob', domain, n.put({ crt: self.cert, key: self.key })).code, 0, 'self-signed passes without a CA');
    const j = JSON.parse(n.run('v-list-web-domain-ssl', 'bob', domain, 'json').stdout.replace(/\r/g, '')) as Record<string, Record<string, string>>;
    assert.deepEqual(Object.keys(j[domain]!), ['CRT', 'KEY', 'CA', 'SUBJECT', 'ALIASES', 'NOT_BEFORE', 'NOT_AFTER', 'SIGNATURE', 'PUB_KEY', 'ISSUER']);
    const e = j[domain]!;
    assert.equal(e.CRT!.replace(/\r/g, '') + '\n', self.cert.replace(/\r/g, ''));
    assert.match(e.KEY!, /PRIVATE KEY/, 'Hestia lists the key too');
    assert.equal(e.CA, '', 'the old chain went with the replaced files');
    assert.equal(e.SUBJECT, domain); assert.equal(e.ALIASES, domain);
    assert.match(e.NOT_AFTER!, /^[A-Z][a-z]{2} [ 1-3][0-9] \d\d:\d\d:\d\d \d{4} GMT$/);
    assert.equal(e.SIGNATURE, 'sha256WithRSAEncryption'); assert.equal(e.PUB_KEY, '2048 bit'); assert.equal(e.ISSUER, `CN = ${domain}`);
    assert.equal(n.run('v-delete-web-domain-ssl', 'bob', domain).code, 0);
    assert.deepEqual(n.run('v-delete-web-domain-ssl', 'bob', domain), { code: 3, stdout: "Error: SSL=no doesn't exist\n", stderr: '' });
    assert.equal(JSON.parse(n.run('v-list-web-domain-ssl', 'bob', domain, 'json').stdout)[domain].CRT, '');
    assert.equal(readNode(n.dir).users.bob!.conf.U_WEB_SSL, '0');
  });

  it('mail: v-add-mail-domain-ssl takes <domain>.crt/.key and serves mail.<d>; delete turns it off', () => {
    const n = customNode();
    assert.equal(n.run('v-add-mail-domain', 'bob', domain).code, 0);
    const m = issueCert(ca, [`mail.${domain}`, `webmail.${domain}`]);
    assert.equal(n.run('v-add-mail-domain-ssl', 'bob', domain, n.put({ crt: m.cert, key: m.key, ca: m.chain })).code, 0);
    assert.equal(readNode(n.dir).users.bob!.mail[0]!.domain.SSL, 'yes');
    assert.ok(existsSync(paths.userFile(n.dir, 'bob', `ssl/mail.${domain}.crt`)));
    assert.equal(n.run('v-add-mail-domain-ssl', 'bob', domain, n.put({ crt: m.cert, key: m.key, ca: m.chain })).code, 4);
    assert.equal(n.run('v-delete-mail-domain-ssl', 'bob', domain).code, 0);
    assert.equal(readNode(n.dir).users.bob!.mail[0]!.domain.SSL, 'no');
  });

  it('install -D and rm -rf work on the node\'s /tmp only, as a client ships the files', async () => {
    const n = freshNode();
    const root = { username: 'root', uid: 0 };
    const stdin = { read: async () => 'PEM TEXT\n' };
    assert.equal((await execLine(n.dir, "install -m 600 /dev/stdin '/tmp/d1/x.crt'", root, stdin)).code, 1, 'no parent without -D');
    assert.equal((await execLine(n.dir, "install -D -m 600 /dev/stdin '/tmp/d1/x.crt'", root, stdin)).code, 0);
    assert.equal(readFileSync(join(paths.tmp(n.dir), 'd1/x.crt'), 'utf8'), 'PEM TEXT\n');
    assert.equal((await execLine(n.dir, "install -D -m 600 /dev/stdin '/etc/x.crt'", root, stdin)).code, 1);
    assert.equal((await execLine(n.dir, "rm -f '/tmp/d1'", root)).code, 1, 'a directory needs -r');
    assert.equal((await execLine(n.dir, "rm -rf '/tmp/d1'", root)).code, 0);
    assert.equal(existsSync(join(paths.tmp(n.dir), 'd1')), false);
    assert.equal((await execLine(n.dir, "rm -rf '/etc'", root)).code, 1);
  });
});

describe('a fleet on loopback with an ACME CA, PowerDNS as resolver and a TLS front per node', () => {
  let fleet: EmulatedFleet;
  before(async () => { fleet = await startEmulatedFleet({ web: 1, mail: 0, dns: 0, combo: 1, ipBase: '127.0.1.', tls: { port: 0 }, acme: true }); });
  after(async () => { await fleet?.close(); });

  const connect = (host: string, port: number, servername: string) => new Promise<X509Certificate>((resolve, reject) => {
    const s = tls.connect({ host, port, servername, rejectUnauthorized: false }, () => {
      const raw = s.getPeerX509Certificate();
      s.end();
      if (raw) resolve(raw); else reject(new Error('no certificate'));
    });
    s.on('error', reject);
  });

  it('resolves through PowerDNS, issues, and the front serves the new certificate for the domain and its alias, the hostname one otherwise', async () => {
    const web = fleet.web[0]!;
    const other = fleet.combo[0]!;
    assert.equal(web.ip, '127.0.1.11');
    assert.ok(fleet.tlsPort && web.tls?.port === fleet.tlsPort && other.tls?.port === fleet.tlsPort);
    assert.equal(runHestia(web.dir, 'v-add-user', ['carol', 'pw-123456', 'carol@example.com', 'default']).code, 0);
    assert.equal(runHestia(web.dir, 'v-add-web-domain', ['carol', 'carol.example']).code, 0);
    const z = await fetch(`${fleet.pdns!.server.url}/api/v1/servers/localhost/zones`, {
      method: 'POST', headers: { 'X-API-Key': fleet.pdns!.server.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'carol.example.', kind: 'Native', nameservers: ['ns1.example.net.'], rrsets: [
        { name: 'carol.example.', type: 'A', ttl: 60, records: [{ content: web.ip, disabled: false }] },
        { name: 'www.carol.example.', type: 'A', ttl: 60, records: [{ content: other.ip, disabled: false }] },
      ] }),
    });
    assert.equal(z.status, 201);
    const root = { username: 'root', uid: 0 };
    const wrong = await execLine(web.dir, "v-add-letsencrypt-domain 'carol' 'carol.example' 'www.carol.example'", root);
    assert.equal(wrong.code, 15, wrong.stdout);
    assert.match(wrong.stdout, /127\.0\.1\.41: Invalid response from http:\/\/www\.carol\.example\//);
    const missing = await execLine(web.dir, "v-add-letsencrypt-domain 'carol' 'nope.example'", root);
    assert.equal(missing.code, 3);
    const host = await connect(web.ip, fleet.tlsPort!, 'carol.example');
    assert.equal(host.subject, 'CN=web1.example.net', 'before: the node\'s own certificate');

    const fix = await fetch(`${fleet.pdns!.server.url}/api/v1/servers/localhost/zones/carol.example.`, {
      method: 'PATCH', headers: { 'X-API-Key': fleet.pdns!.server.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ rrsets: [{ name: 'www.carol.example.', type: 'A', ttl: 60, changetype: 'REPLACE', records: [{ content: web.ip, disabled: false }] }] }),
    });
    assert.equal(fix.status, 204);
    const ok = await execLine(web.dir, "v-add-letsencrypt-domain 'carol' 'carol.example' 'www.carol.example'", root);
    assert.deepEqual(ok, { code: 0, stdout: '', stderr: '' });
    const served = await connect(web.ip, fleet.tlsPort!, 'www.carol.example');
    assert.equal(served.subject, 'CN=carol.example');
    assert.ok(served.checkIssued(new X509Certificate(fleet.acmeCa!.cert)));
    assert.equal((await connect(web.ip, fleet.tlsPort!, 'carol.example')).subject, 'CN=carol.example');
    assert.equal((await connect(web.ip, fleet.tlsPort!, 'unknown.example')).subject, 'CN=web1.example.net');
    assert.equal((await connect(other.ip, fleet.tlsPort!, 'carol.example')).subject, 'CN=combo1.example.net', 'the other node has no such certificate');
  });
});
