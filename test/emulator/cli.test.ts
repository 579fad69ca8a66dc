// The CLI entry and the v-* shims, run with bash as sshd would (no sshd needed here).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshNode } from './hestia/testing.ts';
import { readCommandLog, readNode, writeShims } from './hestia/index.ts';

test('shims run commands against the node with Hestia exit codes and stdin', () => {
  const { dir } = freshNode();
  const bin = mkdtempSync(join(tmpdir(), 'hestia-bin-'));
  const tmpRoot = mkdtempSync(join(tmpdir(), 'hestia-tmproot-'));
  const names = writeShims(dir, bin, { tmpRoot });
  assert.ok(names.includes('v-add-user'));
  assert.ok(statSync(join(bin, 'v-add-user')).mode & 0o111);
  const sh = (args: string[], input?: string) => spawnSync('bash', args, { input, encoding: 'utf8', cwd: '/', timeout: 30000 });

  let r = sh([join(bin, 'v-add-user'), 'alice', 'pw', 'a@x.org']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(readNode(dir).users.alice!.conf.CONTACT, 'a@x.org');
  r = sh([join(bin, 'v-add-user'), 'alice', 'pw', 'a@x.org']);
  assert.deepEqual([r.status, r.stdout], [4, 'Error: user alice exists\n']);
  r = sh([join(bin, 'v-add-user'), 'bob']);
  assert.equal(r.status, 1);
  // /tmp/<file> arguments resolve under the tmp root (the real / under OpenSSH).
  mkdirSync(join(tmpRoot, 'tmp'));
  writeFileSync(join(tmpRoot, 'tmp', 'pw'), 'fromstdin\n');
  const md5 = readNode(dir).users.alice!.conf.MD5;
  r = sh(['-c', `${join(bin, 'v-change-user-password')} alice ''`], 'fromstdin\n');
  assert.equal(r.status, 0, r.stderr);
  assert.notEqual(readNode(dir).users.alice!.conf.MD5, md5);
  const viaStdin = readNode(dir).users.alice!.conf.MD5;
  assert.equal(sh([join(bin, 'v-change-user-password'), 'alice', 'other']).status, 0);
  assert.equal(sh([join(bin, 'v-change-user-password'), 'alice', '/tmp/pw']).status, 0);
  assert.equal(readNode(dir).users.alice!.conf.MD5, viaStdin, 'the /tmp file under the tmp root held the same password');
  r = sh([join(bin, 'v-list-users'), 'json']);
  assert.deepEqual(Object.keys(JSON.parse(r.stdout)), ['admin', 'alice']);
  assert.ok(readCommandLog(dir).some((e) => e.argv?.[0] === 'v-list-users' && e.code === 0));
});
