// The emulator's user backups against HestiaCP's scripts (reference §8.7, bin/v-backup-user,
// v-restore-user, func/backup.sh): the archive and its layout, backup.conf and the listings,
// rotation at the package's BACKUPS, the refusals (11, 5, 3, 4), restoring everything or one part,
// and the queue that v-schedule-* fill and v-update-sys-queue drains.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freshNode } from './hestia/testing.ts';
import { readNode } from './hestia/index.ts';
import { writeKeyFile } from './hestia/conf.ts';
import { DEFAULT_PACKAGE, paths } from './hestia/node.ts';
import { drainBackupQueue } from './hestia/commands/backups.ts';

type Run = ReturnType<typeof freshNode>['run'];
const ARCHIVE = /^alice\.\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.tar$/;

/** alice with a site (a page and a log), mail with two mailboxes, a zone, and a directory of her own in her home. */
function seed(dir: string, run: Run, pkg = 'default'): void {
  assert.equal(run('v-add-user', 'alice', 'Alice-pw-1', 'alice@example.com', pkg).code, 0);
  assert.equal(run('v-add-web-domain', 'alice', 'a.example').code, 0);
  assert.equal(run('v-add-dns-domain', 'alice', 'a.example', '192.0.2.10').code, 0);
  assert.equal(run('v-add-mail-domain', 'alice', 'a.example', 'no', 'no', 'no').code, 0);
  assert.equal(run('v-add-mail-account', 'alice', 'a.example', 'info', 'Mail-pw-1').code, 0);
  assert.equal(run('v-add-mail-account', 'alice', 'a.example', 'sales', 'Mail-pw-2').code, 0);
  const site = join(paths.home(dir, 'alice'), 'web', 'a.example');
  writeFileSync(join(site, 'public_html', 'index.html'), '<h1>v1</h1>\n');
  writeFileSync(join(site, 'logs', 'access.log'), 'GET /\n');
  mkdirSync(join(paths.home(dir, 'alice'), 'documents'), { recursive: true });
  writeFileSync(join(paths.home(dir, 'alice'), 'documents', 'notes.txt'), 'keep me\n');
}

function backupNow(run: Run, user = 'alice'): string {
  const r = run('v-backup-user', user);
  assert.equal(r.code, 0, r.stdout);
  return /Local: \/backup\/(\S+)/.exec(r.stdout)![1]!;
}

function listBackups(run: Run, user = 'alice'): Record<string, Record<string, string>> {
  const r = run('v-list-user-backups', user, 'json');
  assert.equal(r.code, 0);
  return JSON.parse(r.stdout) as Record<string, Record<string, string>>;
}

test('v-backup-user: a real tar in /backup with the script layout, backup.conf, U_BACKUPS and the progress log', () => {
  const { dir, run } = freshNode();
  seed(dir, run);
  const r = run('v-backup-user', 'alice');
  assert.equal(r.code, 0, r.stdout);
  for (const section of ['-- SYSTEM --', '-- WEB --', '-- DNS --', '-- MAIL --', '-- CRON --', '-- USER DIRECTORIES --', '-- SUMMARY --']) {
    assert.ok(r.stdout.includes(section), `progress log has ${section}`);
  }
  assert.match(r.stdout, /\*\*\* 1 domain \*\*\*/);
  assert.match(r.stdout, /Size: 1 MB\n.*Runtime: 1 minute\n$/);
  const files = readdirSync(join(dir, 'backup'));
  const name = files.find((f) => ARCHIVE.test(f))!;
  assert.ok(name, `archive among ${files.join(', ')}`);
  assert.equal(readFileSync(join(dir, 'backup', 'alice.log'), 'utf8'), r.stdout, 'the log is kept beside the archive');
  assert.equal(statSync(join(dir, 'backup', name)).mode & 0o777, 0o640);

  // GNU tar reads it: the layout v-restore-user looks for.
  const listing = execFileSync('tar', ['-tf', join(dir, 'backup', name)], { encoding: 'utf8' }).split('\n');
  for (const p of ['./hestia/user.conf', './pam/passwd', './web/a.example/hestia/web.conf', './web/a.example/domain_data.tar.gz',
    './dns/a.example/hestia/dns.conf', './dns/a.example/hestia/a.example.conf', './mail/a.example/hestia/mail.conf',
    './mail/a.example/hestia/a.example.conf', './cron/cron.conf', './user_dir/documents.tar.gz']) {
    assert.ok(listing.includes(p), `${p} in the archive`);
  }
  const inner = execFileSync('sh', ['-c', `tar -xOf '${join(dir, 'backup', name)}' ./web/a.example/domain_data.tar.gz | tar -tzf -`], { encoding: 'utf8' });
  assert.ok(inner.includes('./public_html/index.html'));
  assert.ok(!inner.includes('./logs/access.log'), "logs/* are excluded as with --exclude='./logs/*'");

  const all = listBackups(run);
  assert.deepEqual(Object.keys(all), [name]);
  assert.deepEqual(Object.keys(all[name]!), ['TYPE', 'SIZE', 'WEB', 'DNS', 'MAIL', 'DB', 'CRON', 'UDIR', 'RUNTIME', 'TIME', 'DATE']);
  assert.equal(all[name]!.TYPE, 'local');
  assert.equal(all[name]!.SIZE, '1');
  assert.equal(all[name]!.WEB, 'a.example');
  assert.equal(all[name]!.DNS, 'a.example');
  assert.equal(all[name]!.MAIL, 'a.example');
  assert.equal(all[name]!.DB, '', 'DB_SYSTEM is not set on this node');
  assert.equal(all[name]!.CRON, '', 'on Debian /var/spool/cron/<user> never exists, so CRON stays empty');
  assert.equal(all[name]!.UDIR, 'documents');
  assert.equal(all[name]!.RUNTIME, '1');
  assert.equal(readNode(dir).users.alice!.counters.U_BACKUPS, 1);
  const one = run('v-list-user-backup', 'alice', name, 'json');
  assert.equal(one.code, 0);
  assert.deepEqual(JSON.parse(one.stdout), { [name]: all[name] });
  assert.match(run('v-list-user-backups', 'alice').stdout, /^BACKUP\s+TYPE\s+SIZE\s+TIME\s+DATE\n/);
  assert.match(readFileSync(paths.systemLog(dir), 'utf8'), /v-backup-user  'alice'\n/);
});

test('rotation: at most BACKUPS archives and backup.conf lines, the oldest go first', async () => {
  const { dir, run } = freshNode();
  writeKeyFile(paths.pkg(dir, 'two'), new Map(DEFAULT_PACKAGE.map(([k, val]) => [k, k === 'BACKUPS' ? '2' : val] as [string, string])));
  seed(dir, run, 'two');
  const names: string[] = [];
  for (let i = 0; i < 3; i++) {
    if (i) await sleep(1050); // archive names carry the second
    names.push(backupNow(run));
  }
  assert.deepEqual(readdirSync(join(dir, 'backup')).filter((f) => ARCHIVE.test(f)).sort(), names.slice(1));
  assert.deepEqual(Object.keys(listBackups(run)), names.slice(1));
  assert.equal(readNode(dir).users.alice!.counters.U_BACKUPS, 2);
  assert.match(readFileSync(join(dir, 'backup', 'alice.log'), 'utf8'), new RegExp(`Rotated: ${names[0]!.slice(6, -4)}`));
});

test('BACKUPS=0 → 11 "user backup is disabled"; a suspended user → 5 unless POLICY_BACKUP_SUSPENDED_USERS=yes', () => {
  const { dir, run } = freshNode();
  writeKeyFile(paths.pkg(dir, 'nobackup'), new Map(DEFAULT_PACKAGE.map(([k, val]) => [k, k === 'BACKUPS' ? '0' : val] as [string, string])));
  assert.equal(run('v-add-user', 'nob', 'pw-Nob-1', 'nob@example.com', 'nobackup').code, 0);
  assert.deepEqual(run('v-backup-user', 'nob'), { code: 11, stdout: 'Error: user backup is disabled\n', stderr: '' });
  assert.equal(run('v-schedule-user-backup', 'nob').code, 11);
  assert.ok(!existsSync(join(dir, 'backup')) || readdirSync(join(dir, 'backup')).length === 0);

  seed(dir, run);
  assert.equal(run('v-suspend-user', 'alice').code, 0);
  assert.deepEqual(run('v-backup-user', 'alice'), { code: 5, stdout: 'Error: user alice is suspended\n', stderr: '' });
  assert.equal(run('v-change-sys-config-value', 'POLICY_BACKUP_SUSPENDED_USERS', 'yes').code, 0);
  const name = backupNow(run);
  assert.deepEqual(run('v-restore-user', 'alice', name), { code: 5, stdout: 'Error: user alice is suspended\n', stderr: '' });

  assert.equal(run('v-change-sys-config-value', 'BACKUP_SYSTEM', '').code, 0);
  assert.deepEqual(run('v-backup-user', 'alice'), { code: 11, stdout: 'Error: BACKUP_SYSTEM is not enabled\n', stderr: '' });
  assert.equal(run('v-backup-user').code, 1);
});

test('restore one part: a deleted mailbox comes back with the mail part, the site only with the web part', () => {
  const { dir, run } = freshNode();
  seed(dir, run);
  const name = backupNow(run);
  const page = join(paths.home(dir, 'alice'), 'web', 'a.example', 'public_html', 'index.html');
  assert.equal(run('v-delete-mail-account', 'alice', 'a.example', 'sales').code, 0);
  writeFileSync(page, '<h1>v2</h1>\n');
  const accounts = () => readNode(dir).users.alice!.mail[0]!.accounts.map((a) => a.ACCOUNT);
  assert.deepEqual(accounts(), ['info']);

  const r = run('v-restore-user', 'alice', name, 'no', 'no', '', 'no', 'no', 'no');
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /-- MAIL --\n.* a\.example\n/);
  assert.ok(!r.stdout.includes('-- WEB --'));
  assert.deepEqual(accounts(), ['info', 'sales']);
  assert.equal(readNode(dir).users.alice!.counters.U_MAIL_ACCOUNTS, 2, 'counters recomputed');
  assert.equal(readNode(dir).users.alice!.mail[0]!.domain.ACCOUNTS, '2');
  assert.equal(readFileSync(page, 'utf8'), '<h1>v2</h1>\n', 'web was not selected');

  assert.equal(run('v-restore-user', 'alice', name, 'a.example', 'no', 'no', 'no', 'no', 'no').code, 0);
  assert.equal(readFileSync(page, 'utf8'), '<h1>v1</h1>\n');

  // A list selects by name: a domain that is not in the archive restores nothing.
  assert.equal(run('v-delete-web-domain', 'alice', 'a.example').code, 0);
  assert.equal(run('v-restore-user', 'alice', name, 'other.example', 'no', 'no', 'no', 'no', 'no').code, 0);
  assert.equal(readNode(dir).users.alice!.web.length, 0);
  assert.equal(run('v-restore-user', 'alice', name, '*', 'no', 'no', 'no', 'no', 'no').code, 0);
  const web = readNode(dir).users.alice!.web;
  assert.equal(web.length, 1);
  assert.equal(web[0]!.DOMAIN, 'a.example');
  assert.equal(web[0]!.SUSPENDED, 'no');
  assert.equal(readFileSync(page, 'utf8'), '<h1>v1</h1>\n');
  assert.equal(readNode(dir).users.alice!.counters.U_WEB_DOMAINS, 1);
});

test('restore whole: a deleted user is created again from the archive with every part', () => {
  const { dir, run } = freshNode();
  seed(dir, run);
  const before = readNode(dir).users.alice!;
  const name = backupNow(run);
  assert.equal(run('v-delete-user', 'alice').code, 0);
  assert.equal(readNode(dir).users.alice, undefined);

  const r = run('v-restore-user', 'alice', name);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /^-- USER --\n/);
  const after = readNode(dir).users.alice!;
  assert.deepEqual(after.web.map((w) => w.DOMAIN), ['a.example']);
  assert.deepEqual(after.dns[0]!.records.map((x) => x.ID), before.dns[0]!.records.map((x) => x.ID));
  assert.deepEqual(after.mail[0]!.accounts.map((a) => a.ACCOUNT), ['info', 'sales']);
  assert.equal(after.conf.PACKAGE, 'default');
  assert.equal(after.counters.U_WEB_DOMAINS, 1);
  assert.equal(after.counters.U_MAIL_ACCOUNTS, 2);
  assert.ok(readNode(dir).passwd.includes('alice'));
  assert.equal(readFileSync(join(paths.home(dir, 'alice'), 'documents', 'notes.txt'), 'utf8'), 'keep me\n');
  assert.equal(readNode(dir).users.admin!.conf.U_USERS, '2');
});

test('databases and cron jobs are read from db.conf and cron.conf as they are stored', () => {
  const { dir, run } = freshNode();
  seed(dir, run);
  assert.equal(run('v-change-sys-config-value', 'DB_SYSTEM', 'mysql').code, 0);
  const dbLine = "DB='alice_wp' DBUSER='alice_wp' MD5='x' HOST='localhost' TYPE='mysql' CHARSET='UTF8MB4' U_DISK='0' SUSPENDED='no' TIME='10:00:00' DATE='2026-01-01'\n";
  appendFileSync(paths.userFile(dir, 'alice', 'db.conf'), dbLine);
  const cronLine = "JOB='1' MIN='0' HOUR='3' DAY='*' MONTH='*' WDAY='*' CMD='php cron.php' SUSPENDED='no' TIME='10:00:00' DATE='2026-01-01'\n";
  writeFileSync(paths.userFile(dir, 'alice', 'cron.conf'), cronLine);
  const name = backupNow(run);
  assert.equal(listBackups(run)[name]!.DB, 'alice_wp');

  writeFileSync(paths.userFile(dir, 'alice', 'db.conf'), '');
  writeFileSync(paths.userFile(dir, 'alice', 'cron.conf'), '');
  assert.equal(run('v-restore-user', 'alice', name, 'no', 'no', 'no', 'alice_wp', 'no', 'no').code, 0);
  const db = readFileSync(paths.userFile(dir, 'alice', 'db.conf'), 'utf8');
  assert.match(db, /^DB='alice_wp' DBUSER='alice_wp' MD5='x' HOST='localhost' TYPE='mysql' CHARSET='UTF8MB4' U_DISK='0' SUSPENDED='no' TIME='[\d:]+' DATE='[\d-]+'\n$/);
  assert.equal(readFileSync(paths.userFile(dir, 'alice', 'cron.conf'), 'utf8'), '', 'cron was not selected');
  // The cron part is all or nothing: the ids in the selector are not looked at.
  assert.equal(run('v-restore-user', 'alice', name, 'no', 'no', 'no', 'no', '7', 'no').code, 0);
  assert.equal(readFileSync(paths.userFile(dir, 'alice', 'cron.conf'), 'utf8'), cronLine);
  assert.match(readFileSync(paths.crontab(dir, 'alice'), 'utf8'), /^0 3 \* \* \* php cron\.php$/m, 'the crontab is rewritten (sync_cron_jobs)');
  assert.equal(readNode(dir).users.alice!.counters.U_DATABASES, 1);
});

test('delete, and unknown archives → 3', () => {
  const { dir, run } = freshNode();
  seed(dir, run);
  const name = backupNow(run);
  assert.deepEqual(run('v-list-user-backup', 'alice', 'alice.2020-01-01_00-00-00.tar', 'json'),
    { code: 3, stdout: "Error: backup backup alice.2020-01-01_00-00-00.tar doesn't exist\n", stderr: '' });
  assert.deepEqual(run('v-restore-user', 'alice', 'alice.2020-01-01_00-00-00.tar'),
    { code: 3, stdout: "Error: backup file alice.2020-01-01_00-00-00.tar doesn't exist in '/backup' folder\n", stderr: '' });
  assert.equal(run('v-restore-user', 'alice', '../etc/passwd').code, 2, 'the backup name is an object name');

  assert.equal(run('v-delete-user-backup', 'alice', name).code, 0);
  assert.ok(!existsSync(join(dir, 'backup', name)));
  assert.deepEqual(listBackups(run), {});
  assert.equal(run('v-list-user-backups', 'alice', 'json').stdout, '{\n}\n');
  assert.equal(readNode(dir).users.alice!.counters.U_BACKUPS, 0);
  assert.deepEqual(run('v-delete-user-backup', 'alice', name), { code: 3, stdout: `Error: backup backup ${name} doesn't exist\n`, stderr: '' });
  assert.deepEqual(run('v-restore-user', 'alice', name).code, 3);
});

test('the queue: v-schedule-user-backup / -restore append lines, a second one → 4, v-update-sys-queue backup runs them', () => {
  const { dir, run } = freshNode();
  seed(dir, run);
  const pipe = join(dir, 'data', 'queue', 'backup.pipe');
  assert.equal(run('v-schedule-user-backup', 'alice').code, 0);
  assert.equal(readFileSync(pipe, 'utf8'), '/usr/local/hestia/bin/v-backup-user alice yes >> /usr/local/hestia/log/backup.log 2>&1\n');
  assert.deepEqual(run('v-schedule-user-backup', 'alice'), { code: 4, stdout: 'Error: backup is already scheduled\n', stderr: '' });
  assert.deepEqual(listBackups(run), {}, 'nothing happens until the queue runs');

  assert.equal(drainBackupQueue(dir), 0);
  assert.equal(readFileSync(pipe, 'utf8'), '', 'the finished command removed its line');
  const [name] = Object.keys(listBackups(run));
  assert.match(name!, ARCHIVE);
  assert.match(readFileSync(join(dir, 'log', 'backup.log'), 'utf8'), /-- SUMMARY --/);

  assert.equal(run('v-delete-mail-account', 'alice', 'a.example', 'sales').code, 0);
  assert.equal(run('v-schedule-user-restore', 'alice', 'alice.2020-01-01_00-00-00.tar').code, 3);
  assert.equal(run('v-schedule-user-restore', 'alice', name!, 'no', 'no', '*', 'no', 'no', 'no').code, 0);
  assert.equal(readFileSync(pipe, 'utf8'),
    `nice -n 19 ionice -c 3 /usr/local/hestia/bin/v-restore-user alice ${name} no no \\* no no no yes >> /usr/local/hestia/log/restore.log 2>&1\n`);
  assert.equal(run('v-schedule-user-restore', 'alice', name!).stdout, 'Error: restore is already scheduled\n');
  assert.equal(run('v-update-sys-queue', 'backup').code, 0);
  assert.equal(readFileSync(pipe, 'utf8'), '');
  assert.deepEqual(readNode(dir).users.alice!.mail[0]!.accounts.map((a) => a.ACCOUNT), ['info', 'sales']);
  assert.match(readFileSync(join(dir, 'log', 'restore.log'), 'utf8'), /-- MAIL --/);
  assert.equal(run('v-update-sys-queue', 'nothing').code, 1);

  // A queued command that fails before its end keeps its line (HestiaCP retries it on the next run); the others' go.
  assert.equal(run('v-add-user', 'bob', 'Bob-pw-1', 'bob@example.com').code, 0);
  assert.equal(run('v-schedule-user-backup', 'bob').code, 0);
  assert.equal(run('v-schedule-user-backup', 'alice').code, 0);
  assert.equal(run('v-suspend-user', 'bob').code, 0);
  assert.equal(drainBackupQueue(dir), 0, 'the status of the last line');
  assert.equal(readFileSync(pipe, 'utf8'), '/usr/local/hestia/bin/v-backup-user bob yes >> /usr/local/hestia/log/backup.log 2>&1\n');
  assert.match(readFileSync(join(dir, 'log', 'backup.log'), 'utf8'), /Error: user bob is suspended\n/);
});
