// The driver's SSL methods against an emulated HestiaCP node over SSH (in-process server, loopback
// fleet with an ACME CA and PowerDNS as the node's resolver): Let's Encrypt for web and mail,
// custom certificates shipped through a temporary directory, the parsed v-list-*-ssl, Hestia's
// exit codes kept, and no private key in argv, the node's command log or the driver's log.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { startEmulatedFleet, type EmulatedFleet, type EmulatedNode } from '../helpers/fleet.ts';
import { encryptedKey, issueCert, makeCa, makeKey } from '../helpers/certs.ts';
import { injectAcmeFailure, readCommandLog, readNode, runHestia } from '../emulator/hestia/index.ts';
import { paths } from '../emulator/hestia/node.ts';
import { ArgumentError, HestiaDriver, HestiaRetryableError, HestiaTerminalError, SshPool, hasHestiaCode } from '../../daemon/drivers/hestia/index.ts';
import { classifyError } from '../../daemon/common/errors.ts';

let fleet: EmulatedFleet;
let node: EmulatedNode;
const pool = new SshPool();
const lines: string[] = [];
/** A command log entry's program, without the bin directory. */
const prog = (e: { argv: string[] | null }) => e.argv?.[0]?.split('/').pop();
const secrets: string[] = [];
const keys: string[] = [];

before(async () => {
  fleet = await startEmulatedFleet({ web: 0, mail: 0, dns: 0, combo: 1, ipBase: '127.0.1.', tls: { port: 0 }, acme: true });
  node = fleet.combo[0]!;
  assert.equal(runHestia(node.dir, 'v-add-user', ['carol', 'Carol-pw-1', 'carol@example.com']).code, 0);
  assert.equal(runHestia(node.dir, 'v-add-web-domain', ['carol', 'le.example', '', 'no', 'www.le.example,nodns.le.example,elsewhere.le.example']).code, 0);
  assert.equal(runHestia(node.dir, 'v-add-web-domain', ['carol', 'custom.example']).code, 0);
  assert.equal(runHestia(node.dir, 'v-add-mail-domain', ['carol', 'le.example']).code, 0);
  await zone('le.example', { '': node.ip, 'www.': node.ip, 'mail.': node.ip, 'webmail.': node.ip, 'elsewhere.': '127.0.1.99' });
});

after(async () => {
  await pool.closeAll();
  await fleet?.close();
});

async function zone(name: string, a: Record<string, string>): Promise<void> {
  const r = await fetch(`${fleet.pdns!.server.url}/api/v1/servers/localhost/zones`, {
    method: 'POST', headers: { 'X-API-Key': fleet.pdns!.server.apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: `${name}.`, kind: 'Native', nameservers: ['ns1.example.net.'],
      rrsets: Object.entries(a).map(([label, ip]) => ({ name: `${label}${name}.`, type: 'A', ttl: 60, records: [{ content: ip, disabled: false }] })),
    }),
  });
  assert.equal(r.status, 201, await r.text());
}

function driver(): HestiaDriver {
  return new HestiaDriver(pool, {
    id: 'ssl-node', host: '127.0.0.1', port: node.port, username: 'root', password: node.password, hostKeySha256: node.ssh.hostKeySha256, commandTimeoutMs: 30_000,
  }, { log: (l) => lines.push(l), secret: (v) => { if (v) secrets.push(v); } });
}

const served = (servername: string) => new Promise<X509Certificate>((resolve, reject) => {
  const s = tls.connect({ host: node.ip, port: fleet.tlsPort!, servername, rejectUnauthorized: false }, () => {
    const c = s.getPeerX509Certificate(); s.end();
    if (c) resolve(c); else reject(new Error('no certificate'));
  });
  s.on('error', reject);
});

/** The base64 body lines of a PEM key: what would show if any part of it were logged. */
const keyLines = (pem: string) => pem.split(/\r?\n/).filter((l) => l && !l.startsWith('-----') && !l.includes(':'));

describe("HestiaDriver: Let's Encrypt", () => {
  it('issues for a web domain and an alias; webSslInfo parses it without the key; the node serves it', async () => {
    const d = driver();
    assert.equal(await d.webSslInfo('carol', 'le.example'), null, 'no certificate yet');
    await d.addLetsEncrypt('carol', 'le.example', { aliases: ['www.le.example'] });
    const info = await d.webSslInfo('carol', 'le.example');
    assert.ok(info);
    assert.equal(info.subject, 'le.example');
    assert.deepEqual(info.names, ['le.example', 'www.le.example']);
    assert.match(info.issuer, /CN = hostbridge test ACME CA/);
    assert.ok(info.notAfter.getTime() - Date.now() > 89 * 86_400_000 && info.notBefore.getTime() < Date.now());
    assert.equal(info.chainPem.replace(/\r/g, ''), fleet.acmeCa!.cert.replace(/\r/g, ''));
    assert.ok(new X509Certificate(info.certPem).checkIssued(new X509Certificate(fleet.acmeCa!.cert)));
    assert.deepEqual(Object.keys(info).sort(), ['certPem', 'chainPem', 'issuer', 'names', 'notAfter', 'notBefore', 'subject']);
    assert.equal((await served('www.le.example')).fingerprint256, new X509Certificate(info.certPem).fingerprint256);
    const w = readNode(node.dir).users.carol!.web.find((x) => x.DOMAIN === 'le.example')!;
    assert.equal(w.LETSENCRYPT, 'yes');
    keys.push(readFileSyncKey('le.example'));
  });

  it('keeps Hestia\'s codes: a name not in DNS → E_NOTEXIST (terminal), a name elsewhere and an injected 429 → 15 (retryable)', async () => {
    const d = driver();
    await assert.rejects(d.addLetsEncrypt('carol', 'le.example', { aliases: ['nodns.le.example'] }), (err: unknown) => {
      assert.ok(err instanceof HestiaTerminalError && hasHestiaCode(err, 'E_NOTEXIST'), String(err));
      assert.equal(err.errorLine, "Error: DNS record for nodns.le.example doesn't exist");
      return true;
    });
    await assert.rejects(d.addLetsEncrypt('carol', 'le.example', { aliases: ['elsewhere.le.example'] }), (err: unknown) => {
      assert.ok(err instanceof HestiaRetryableError && err.code === 15, String(err));
      assert.match(err.errorLine ?? '', /^Error: Let's Encrypt validation status 400 \(le\.example\)\. Details: 403:"127\.0\.1\.99: Invalid response/);
      return true;
    });
    injectAcmeFailure(node.dir, { step: 'new-auth', status: 429 });
    await assert.rejects(d.addLetsEncrypt('carol', 'le.example'), (err: unknown) => {
      assert.ok(hasHestiaCode(err, 'E_CONNECT'));
      assert.equal(classifyError(err), 'retryable');
      assert.equal(err.errorLine, "Error: Let's Encrypt new auth status 429 (le.example)");
      return true;
    });
  });

  it('mail mode certifies mail.<d> and webmail.<d>; deleteLetsEncrypt removes web and mail certificates', async () => {
    const d = driver();
    await d.addLetsEncrypt('carol', 'le.example', { mail: true });
    const m = await d.mailSslInfo('carol', 'le.example');
    assert.deepEqual(m?.names, ['mail.le.example', 'webmail.le.example']);
    assert.equal((await served('webmail.le.example')).subject, 'CN=mail.le.example');
    const add = readCommandLog(node.dir).filter((e) => prog(e) === 'v-add-letsencrypt-domain').pop()!;
    assert.deepEqual(add.argv!.slice(1), ['carol', 'le.example', '', 'yes']);
    keys.push(readFileSyncKey('mail.le.example'));
    await d.deleteLetsEncrypt('carol', 'le.example', { mail: true });
    assert.equal(await d.mailSslInfo('carol', 'le.example'), null);
    await d.deleteLetsEncrypt('carol', 'le.example');
    assert.equal(await d.webSslInfo('carol', 'le.example'), null);
    await assert.rejects(d.deleteLetsEncrypt('carol', 'le.example'), (err: unknown) => hasHestiaCode(err, 'E_NOTEXIST'));
    assert.equal((await served('le.example')).subject, `CN=${node.name}.example.net`);
  });
});

describe('HestiaDriver: custom certificates', () => {
  const ca = makeCa('customer CA');
  const tmpEntries = () => readdirSync(paths.tmp(node.dir));

  it('installs with its chain, replaces, deletes; the temporary directory is gone after each', async () => {
    const d = driver();
    const first = issueCert(ca, ['custom.example', 'www.custom.example']);
    keys.push(first.key);
    await d.installWebSsl('carol', 'custom.example', first);
    assert.deepEqual(tmpEntries(), []);
    const info = await d.webSslInfo('carol', 'custom.example');
    assert.deepEqual(info?.names, ['custom.example', 'www.custom.example']);
    assert.equal(info?.issuer, 'CN = customer CA, O = hostbridge tests');
    const ship = readCommandLog(node.dir).filter((e) => e.argv?.[0] === 'install');
    assert.ok(ship.length >= 3);
    for (const e of ship) assert.match(e.argv!.join(' '), /^install -D -m 600 \/dev\/stdin \/tmp\/hb-[0-9a-f]{32}\/custom\.example\.(crt|key|ca)$/);
    const addSsl = readCommandLog(node.dir).filter((e) => prog(e) === 'v-add-web-domain-ssl').pop()!;
    assert.match(addSsl.argv![3]!, /^\/tmp\/hb-[0-9a-f]{32}$/);
    assert.ok(readCommandLog(node.dir).some((e) => e.argv?.join(' ') === `rm -rf ${addSsl.argv![3]}`));

    const self = issueCert(null, ['custom.example']);
    keys.push(self.key);
    await d.replaceWebSsl('carol', 'custom.example', { cert: self.cert, key: self.key });
    assert.equal((await d.webSslInfo('carol', 'custom.example'))?.chainPem, '');
    assert.equal((await served('custom.example')).fingerprint256, new X509Certificate(self.cert).fingerprint256);
    await d.deleteWebSsl('carol', 'custom.example');
    assert.equal(await d.webSslInfo('carol', 'custom.example'), null);
    assert.deepEqual(tmpEntries(), []);
  });

  it('refusals keep their codes and still remove the directory; bad input is refused before anything is sent', async () => {
    const d = driver();
    const c = issueCert(ca, ['custom.example']);
    keys.push(c.key);
    await assert.rejects(d.installWebSsl('carol', 'custom.example', { cert: c.cert, key: makeKey().pem, chain: c.chain }), (err: unknown) => {
      assert.ok(hasHestiaCode(err, 'E_INVALID'));
      assert.equal(err.errorLine, 'Error: ssl certificate key pair is not valid');
      return true;
    });
    const enc = encryptedKey({ pem: c.key });
    await assert.rejects(d.installWebSsl('carol', 'custom.example', { cert: c.cert, key: enc, chain: c.chain }), (err: unknown) => hasHestiaCode(err, 'E_FORBIDEN'));
    await assert.rejects(d.installWebSsl('carol', 'custom.example', { cert: c.cert, key: c.key }), (err: unknown) => {
      assert.ok(hasHestiaCode(err, 'E_NOTEXIST'));
      assert.equal(err.errorLine, 'Error: Certificate Authority not found');
      return true;
    });
    assert.deepEqual(tmpEntries(), []);
    const before = readCommandLog(node.dir).length;
    await assert.rejects(d.installWebSsl('carol', 'custom.example', { cert: c.cert, key: '' }), ArgumentError);
    await assert.rejects(d.installWebSsl('carol', 'custom.example', { cert: 'not pem', key: c.key }), ArgumentError);
    await assert.rejects(d.installWebSsl('carol', 'bad domain', c), ArgumentError);
    assert.equal(readCommandLog(node.dir).length, before, 'nothing was sent');
  });

  it('mail: installMailSsl, mailSslInfo, deleteMailSsl', async () => {
    const d = driver();
    const m = issueCert(ca, ['mail.le.example', 'webmail.le.example']);
    keys.push(m.key);
    await d.installMailSsl('carol', 'le.example', m);
    assert.deepEqual((await d.mailSslInfo('carol', 'le.example'))?.names, ['mail.le.example', 'webmail.le.example']);
    assert.equal((await served('mail.le.example')).fingerprint256, new X509Certificate(m.cert).fingerprint256);
    await d.deleteMailSsl('carol', 'le.example');
    assert.equal(await d.mailSslInfo('carol', 'le.example'), null);
    await assert.rejects(d.deleteMailSsl('carol', 'le.example'), (err: unknown) => hasHestiaCode(err, 'E_NOTEXIST'));
  });

  it('no private key text anywhere: argv, the node\'s command log, the driver\'s log lines', () => {
    assert.ok(keys.length >= 6);
    const commandLog = JSON.stringify(readCommandLog(node.dir));
    const driverLog = lines.join('\n');
    assert.ok(driverLog.includes('v-list-web-domain-ssl'), 'the listing ran and was logged');
    assert.doesNotMatch(driverLog, /PRIVATE KEY/);
    assert.doesNotMatch(commandLog, /PRIVATE KEY/);
    for (const k of keys) {
      for (const l of keyLines(k)) {
        assert.ok(!commandLog.includes(l), 'key text in the command log');
        assert.ok(!driverLog.includes(l), 'key text in the driver log');
      }
    }
    // Installed keys were registered as secrets, so a message echoing one would be masked.
    assert.ok(secrets.some((s) => s.includes('PRIVATE KEY')));
  });
});

function readFileSyncKey(base: string): string {
  // The key the node generated for an ACME order (as the test's reference for "must not leak").
  const r = runHestia(node.dir, base.startsWith('mail.') ? 'v-list-mail-domain-ssl' : 'v-list-web-domain-ssl', ['carol', base.replace(/^mail\./, ''), 'json']);
  return (Object.values(JSON.parse(r.stdout.replace(/\r/g, ''))) as { KEY: string }[])[0]!.KEY.replace(/\\n/g, '\n');
}
