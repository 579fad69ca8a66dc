// The pieces behind the pages, without a browser: the admin password (scrypt hash in the settings
// table, hidden from `set`, set from stdin by `hostbridge admin-password -`), link signing, and
// the migration's tables.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { CLI, daemonEnv, ROOT, TSX, TEST_SECRET } from '../helpers/daemon.ts';
import { adminPasswordHash, checkAdminPassword, hashPassword, PasswordError, setAdminPassword, verifyPassword } from '../../daemon/pages/auth.ts';
import { newLink, signLink, verifyLink } from '../../daemon/pages/links.ts';
import { SettingError, writeSetting } from '../../daemon/settings/settings.ts';

for (const dialect of DIALECTS) {
  describe(`admin password and links (${dialect})`, () => {
    let tdb: TestDb;
    before(async () => { tdb = await createTestDb(dialect); });
    after(async () => { await tdb?.drop(); });

    test('the password is stored as an scrypt hash and checked in constant time', async () => {
      const h = await hashPassword('a long enough password');
      assert.match(h, /^scrypt\$16384\$8\$1\$/);
      assert.equal(await verifyPassword('a long enough password', h), true);
      assert.equal(await verifyPassword('a long enough passwore', h), false);
      assert.equal(await checkAdminPassword(tdb.db, 'anything at all'), false, 'no password set: nobody logs in');
      await setAdminPassword(tdb.db, 'the admin password 1');
      assert.equal(await checkAdminPassword(tdb.db, 'the admin password 1'), true);
      assert.ok(!(await adminPasswordHash(tdb.db))!.includes('the admin password 1'));
      await assert.rejects(setAdminPassword(tdb.db, 'short'), PasswordError);
      // The key takes only a hash, and never echoes what it was given.
      await assert.rejects(writeSetting(tdb.db, 'ui.admin_password_hash', 'plain-text-password'), (err: Error) => err instanceof SettingError && !err.message.includes('plain-text-password'));
    });

    test('hostbridge admin-password - reads stdin and prints no secret; the hash is hidden from set', () => {
      const env = daemonEnv(tdb.url);
      const run = (args: string[], input: string) => spawnSync(process.execPath, ['--import', TSX, CLI, ...args], { env, cwd: ROOT, input, encoding: 'utf8', timeout: 60_000 });
      const r = run(['admin-password', '-'], 'from-the-command-line-99\n');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /admin password set/);
      assert.ok(!(r.stdout + r.stderr).includes('from-the-command-line-99'));
      const onArgv = run(['admin-password', 'from-the-command-line-99'], '');
      assert.equal(onArgv.status, 2);
      const tooShort = run(['admin-password', '-'], 'short\n');
      assert.equal(tooShort.status, 1);
      assert.match(tooShort.stderr, /at least 10 characters/);
    });

    test('links: signed, expiring, bound to their audience', async () => {
      assert.equal(await checkAdminPassword(tdb.db, 'from-the-command-line-99'), true);
      const now = 1_900_000_000;
      const { token, expiresAt } = newLink(TEST_SECRET, 'client', { whmcsServiceId: 42, nowS: now });
      assert.equal(expiresAt, now + 600);
      const ok = verifyLink(TEST_SECRET, token, now + 599);
      assert.ok(ok.ok && ok.payload.a === 'client' && ok.payload.s === 42);
      assert.equal(verifyLink(TEST_SECRET, token, now + 601).ok, false);
      assert.equal(verifyLink('another secret of enough length 0123456789', token, now).ok, false);
      // A validly signed payload that breaks the rules is still refused.
      assert.equal(verifyLink(TEST_SECRET, signLink(TEST_SECRET, { a: 'client', e: now + 10, j: 'c'.repeat(24) }), now).ok, false, 'a client link names a service');
      assert.equal(verifyLink(TEST_SECRET, signLink(TEST_SECRET, { a: 'admin', p: '../../x', e: now + 10, j: 'd'.repeat(24) }), now).ok, false);
    });
  });
}
