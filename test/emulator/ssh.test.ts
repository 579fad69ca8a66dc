// The in-process SSH server: auth, exec with stdin, sudo, shell refusal, faults, latency, two nodes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import ssh2 from 'ssh2';
import { freshNode } from './hestia/testing.ts';
import { ed25519KeyPair, type HestiaNodeHandle, readNode, startHestiaNode } from './hestia/index.ts';

const { Client } = ssh2;
const userKey = ed25519KeyPair();

interface Out { code: number | null; stdout: string; stderr: string }

function open(h: HestiaNodeHandle, username: string, auth: { password?: string; privateKey?: string }): Promise<InstanceType<typeof Client>> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.on('ready', () => resolve(c)).on('error', reject);
    c.connect({ host: h.host, port: h.port, username, ...auth, readyTimeout: 5000,
      hostVerifier: (key: Buffer) => 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '') === h.hostKeySha256 });
  });
}
function exec(c: InstanceType<typeof Client>, cmd: string, stdin?: string): Promise<Out> {
  return new Promise((resolve, reject) => {
    c.exec(cmd, (err, ch) => {
      if (err) return reject(err);
      const out: Out = { code: null, stdout: '', stderr: '' };
      ch.on('data', (d: Buffer) => { out.stdout += d; });
      ch.stderr.on('data', (d: Buffer) => { out.stderr += d; });
      ch.on('exit', (code: number | null) => { out.code = code; });
      ch.on('close', () => resolve(out));
      if (stdin !== undefined) ch.end(stdin);
    });
  });
}

let node: ReturnType<typeof freshNode>;
let h: HestiaNodeHandle;
const users = [
  { username: 'root', password: 'rootpw', uid: 0 },
  { username: 'hbauto', publicKey: userKey.public, uid: 1001, sudo: true },
  { username: 'plain', password: 'plainpw', uid: 1002 },
];

before(async () => { node = freshNode(); h = await startHestiaNode({ dir: node.dir, users }); });
after(async () => { await h.close(); });

test('password and key auth; root id -u is 0; a wrong password is rejected', async () => {
  const root = await open(h, 'root', { password: 'rootpw' });
  assert.deepEqual(await exec(root, 'id -u'), { code: 0, stdout: '0\n', stderr: '' });
  root.end();
  const auto = await open(h, 'hbauto', { privateKey: userKey.private });
  assert.equal((await exec(auto, 'id -u')).stdout, '1001\n');
  auto.end();
  await assert.rejects(open(h, 'root', { password: 'nope' }));
  assert.match(h.hostKeySha256, /^SHA256:[A-Za-z0-9+/]{43}$/);
});

test('sudo -n for a sudoer; a non-sudoer is refused and nothing runs', async () => {
  const auto = await open(h, 'hbauto', { privateKey: userKey.private });
  const r = await exec(auto, 'sudo -n /usr/local/hestia/bin/v-list-users json');
  assert.equal(r.code, 0);
  assert.deepEqual(Object.keys(JSON.parse(r.stdout)), ['admin']);
  const direct = await exec(auto, '/usr/local/hestia/bin/v-list-users json');
  assert.equal(direct.code, 126, 'v-* without sudo as non-root');
  auto.end();
  const plain = await open(h, 'plain', { password: 'plainpw' });
  const before = h.commandLog().length;
  assert.deepEqual(await exec(plain, "sudo -n /usr/local/hestia/bin/v-add-user eve pw e@x.org"), { code: 1, stdout: '', stderr: 'sudo: a password is required\n' });
  assert.equal(readNode(node.dir).users.eve, undefined);
  const log = h.commandLog().slice(before);
  assert.equal(log.length, 1);
  assert.equal(log[0]!.ran, false);
  assert.deepEqual(await exec(plain, 'ls /'), { code: 127, stdout: '', stderr: 'ls: command not found\n' });
  plain.end();
});

test('stdin: install to /tmp then v-add-user with /tmp file; v-change-user-password from stdin', async () => {
  const root = await open(h, 'root', { password: 'rootpw' });
  assert.equal((await exec(root, 'install -m 600 /dev/stdin /tmp/x', 'filepw\n')).code, 0);
  assert.equal((await exec(root, 'v-add-user u1 /tmp/x e@x.org')).code, 0);
  assert.equal((await exec(root, 'rm -f /tmp/x')).code, 0);
  const h1 = readNode(node.dir).users.u1!.conf.MD5;
  assert.equal((await exec(root, "/usr/local/hestia/bin/v-change-user-password u1 ''", 'other\n')).code, 0);
  assert.notEqual(readNode(node.dir).users.u1!.conf.MD5, h1);
  assert.doesNotMatch(JSON.stringify(h.commandLog()), /filepw|other/);
  const q = await exec(root, `v-add-user 'it'\\''s' pw e@x.org`);
  assert.equal(q.stdout, "Error: invalid user format :: it's\n", 'single-quote escapes reach the command as one word');
  root.end();
});

test('shell metacharacters are refused with exit 2 and nothing runs (canary)', async () => {
  const root = await open(h, 'root', { password: 'rootpw' });
  const snap = JSON.stringify(readNode(node.dir));
  for (const line of ['v-add-user canary pw c@x.org; echo $(id)', 'v-list-users | cat', 'v-add-user $(id) pw c@x.org', 'v-add-user `id` pw c@x.org',
    'v-list-users > /tmp/o', 'v-add-user "a$HOME" pw c@x.org', 'v-list-users &']) {
    const before = h.commandLog().length;
    const r = await exec(root, line);
    assert.equal(r.code, 2, line);
    assert.match(r.stderr, /refused: shell syntax/);
    const entries = h.commandLog().slice(before);
    assert.deepEqual(entries.map((e) => e.ran), [false], line);
  }
  assert.equal(JSON.stringify(readNode(node.dir)), snap);
  root.end();
});

test('faults: exit, hang, drop, refuse; latency', async () => {
  const root = await open(h, 'root', { password: 'rootpw' });
  await h.setFault({ kind: 'exit', match: /v-add-mail-domain/, code: 15, message: 'Error: connection failed', times: 1 });
  assert.equal((await exec(root, 'v-list-users list')).code, 0, 'unmatched commands run');
  assert.deepEqual(await exec(root, 'v-add-mail-domain admin x.org'), { code: 15, stdout: 'Error: connection failed\n', stderr: '' });
  assert.equal((await exec(root, 'v-add-mail-domain nobody x.org')).code, 3, 'times: 1 → the next one runs');
  await h.setFault({ kind: 'hang' });
  const hung = await Promise.race([exec(root, 'id -u').then(() => 'answered'), new Promise((r) => setTimeout(() => r('timeout'), 400))]);
  assert.equal(hung, 'timeout');
  root.end();

  await h.setFault({ kind: 'drop' });
  const c2 = await open(h, 'root', { password: 'rootpw' });
  const closed = new Promise<void>((r) => { c2.on('close', () => r()); });
  const dropped = await exec(c2, 'v-add-user dropped pw d@x.org');
  assert.equal(dropped.code, null, 'no exit status');
  await closed;
  assert.ok(readNode(node.dir).users.dropped, 'the command ran before the drop (when: after)');

  await h.setFault({ kind: 'refuse' });
  await assert.rejects(new Promise((resolve, reject) => { const s = connect(h.port, h.host); s.on('connect', () => { s.destroy(); resolve(1); }); s.on('error', reject); }), /ECONNREFUSED/);
  await h.setFault(null);
  const c3 = await open(h, 'root', { password: 'rootpw' });
  assert.equal((await exec(c3, 'id -u')).stdout, '0\n', 'listens again on the same port');

  h.setLatency(300);
  const t0 = Date.now();
  await exec(c3, 'id -u');
  assert.ok(Date.now() - t0 >= 290, `latency ${Date.now() - t0}ms`);
  h.setLatency(0);
  // Several channels at once on one connection, and a second connection.
  const c4 = await open(h, 'root', { password: 'rootpw' });
  const all = await Promise.all([exec(c3, 'v-list-users list'), exec(c3, 'id -u'), exec(c4, 'v-list-sys-info json')]);
  assert.deepEqual(all.map((r) => r.code), [0, 0, 0]);
  c3.end(); c4.end();
});

test('two nodes keep separate state', async () => {
  const other = freshNode();
  const h2 = await startHestiaNode({ dir: other.dir, users });
  try {
    const a = await open(h, 'root', { password: 'rootpw' });
    const b = await open(h2, 'root', { password: 'rootpw' });
    assert.equal((await exec(a, 'v-add-user onlyone pw o@x.org')).code, 0);
    assert.equal((await exec(b, 'v-list-user onlyone')).code, 3);
    assert.notEqual(h.hostKeySha256, h2.hostKeySha256);
    a.end(); b.end();
  } finally { await h2.close(); }
});
