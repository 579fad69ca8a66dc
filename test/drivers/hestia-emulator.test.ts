// Typed HestiaCP driver methods through Debian's OpenSSH sshd, as the sudo user, against the
// HestiaCP CLI emulator's v-* shims (test/emulator/hestia) in a per-server bin directory.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd, type Sshd } from '../helpers/sshd.ts';
import { createNode, readCommandLog, readNode, writeShims } from '../emulator/hestia/index.ts';
import { HestiaDriver, SshPool, hasHestiaCode, type HestiaServer } from '../../daemon/drivers/hestia/index.ts';
import { classifyError } from '../../daemon/common/errors.ts';

let sshd: Sshd;
let nodeDir: string;
let binDir: string;
let work: string;
const pool = new SshPool();

before(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'hb-hestia-node-'));
  chmodSync(work, 0o755);
  nodeDir = join(work, 'node');
  binDir = join(work, 'bin');
  createNode(nodeDir, { hostname: 'web1.example.net', ip: '192.0.2.10', roles: { web: true, mail: true, dns: true } });
  writeShims(nodeDir, binDir);
});

after(async () => {
  await pool.closeAll();
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function driver(lines: string[]): HestiaDriver {
  const server: HestiaServer = {
    id: 'emulated-web1', host: sshd.host, port: sshd.port, username: sshd.sudoUser.username,
    privateKey: sshd.sudoUser.privateKey, hostKeySha256: sshd.hostKeySha256, binDir, commandTimeoutMs: 30_000,
  };
  return new HestiaDriver(pool, server, { log: (l) => lines.push(l) });
}

describe('HestiaCP driver against the emulator over sshd', () => {
  it('adds a user with a password kept off argv, lists it, adds a web domain, and reports E_EXISTS on repeat', async () => {
    const lines: string[] = [];
    const d = driver(lines);
    const password = 'Em-Pass;$(id)-9';
    await d.addUser('carol', password, 'carol@example.com', 'default', 'Carol Jones');
    const user = await d.listUser('carol');
    assert.equal(user.CONTACT, 'carol@example.com');
    assert.equal(user.PACKAGE, 'default');
    assert.equal(user.NAME, 'Carol Jones');
    assert.equal(user.SUSPENDED, 'no');
    assert.ok(readNode(nodeDir).users.carol!.conf.MD5, 'the password was set');

    const add = readCommandLog(nodeDir).find((e) => e.argv?.[0] === 'v-add-user' && e.argv[1] === 'carol')!;
    assert.equal(add.code, 0);
    assert.equal(add.runAs, 'root');
    assert.match(add.argv![2]!, /^\/tmp\/hb-[0-9a-f]{32}$/);
    assert.ok(!JSON.stringify(readCommandLog(nodeDir)).includes(password));
    assert.ok(!lines.join('\n').includes(password));

    await d.addWebDomain('carol', 'carol-shop.example');
    const web = await d.listWebDomains('carol');
    assert.deepEqual(Object.keys(web), ['carol-shop.example']);
    assert.equal(web['carol-shop.example']!.ALIAS, 'www.carol-shop.example');

    await assert.rejects(d.addWebDomain('carol', 'carol-shop.example'), (err: unknown) => {
      assert.ok(hasHestiaCode(err, 'E_EXISTS'), String(err));
      assert.equal(err.command, 'v-add-web-domain');
      assert.match(err.errorLine ?? '', /^Error: /);
      assert.equal(classifyError(err), 'terminal');
      return true;
    });
    await assert.rejects(d.addUser('carol', password, 'carol@example.com', 'default'), (err: unknown) => hasHestiaCode(err, 'E_EXISTS'));
    await assert.rejects(d.listUser('nobody'), (err: unknown) => hasHestiaCode(err, 'E_NOTEXIST'));
  });

  it('adds a DNS zone and a record with a chosen id, and reads them back', async () => {
    const d = driver([]);
    await d.addDnsDomain('carol', 'carol-shop.example', '192.0.2.10', ['ns1.example.net', 'ns2.example.net']);
    await d.addDnsRecord('carol', 'carol-shop.example', 'shop', 'A', '192.0.2.55', { id: 100, ttl: 600 });
    const records = await d.listDnsRecords('carol', 'carol-shop.example');
    assert.equal(records['100']!.RECORD, 'shop');
    assert.equal(records['100']!.VALUE, '192.0.2.55');
    assert.equal(records['100']!.TTL, '600');
    await assert.rejects(d.addDnsRecord('carol', 'carol-shop.example', 'shop2', 'A', '192.0.2.56', { id: 100 }), (err: unknown) => hasHestiaCode(err, 'E_EXISTS'));
  });
});
