// The emulator's databases, FTP accounts, cron jobs and web aliases, checked against the HestiaCP
// reference (§2, §4, §8.1–8.3, §8.6): success, refusals with their exit code and Error line,
// package limits → 8, counters (and v-update-user-counters agreeing), JSON shapes, masked logs.
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freshNode } from './hestia/testing.ts';
import { paths, readNode } from './hestia/index.ts';
import { readObjects } from './hestia/conf.ts';
import { readPasswd } from './hestia/node.ts';
import { addDbHost } from './hestia/commands/databases.ts';

type Run = ReturnType<typeof freshNode>['run'];
const ok = (r: { code: number; stdout: string }, msg?: string) => assert.deepEqual([r.code, r.stdout], [0, ''], msg ?? r.stdout);
const counters = (dir: string, user: string) => readNode(dir).users[user]!.counters;
const log = (dir: string, f: 'system' | 'error') => readFileSync(join(dir, 'log', `${f}.log`), 'utf8');
const json = (r: { code: number; stdout: string }) => { assert.equal(r.code, 0, r.stdout); return JSON.parse(r.stdout) as Record<string, Record<string, string>>; };

/** A node with web/mail/dns, one MySQL server and user alice with a web domain. */
function node(): { dir: string; run: Run } {
  const n = freshNode();
  addDbHost(n.dir);
  ok(n.run('v-add-user', 'alice', 'Alice-pw-1', 'alice@example.com'));
  ok(n.run('v-add-web-domain', 'alice', 'alice.example'));
  return n;
}

/** Lower one package limit of alice's plan (a copy of default). */
function limit(n: { dir: string; run: Run }, key: string, value: string): void {
  const file = join(n.dir, 'tmp', `pkg-${key}`);
  const pkg = readFileSync(paths.pkg(n.dir, 'default'), 'utf8').replace(new RegExp(`^${key}='[^']*'`, 'm'), `${key}='${value}'`);
  writeFileSync(file, pkg);
  ok(n.run('v-add-user-package', `/tmp/pkg-${key}`, `small${key.toLowerCase().replace(/_/g, '')}`));
  ok(n.run('v-change-user-package', 'alice', `small${key.toLowerCase().replace(/_/g, '')}`));
}

describe('databases', () => {
  it('adds with the user prefix, lists JSON without MD5, counts, and masks the password in system.log', () => {
    const { dir, run } = node();
    ok(run('v-add-database', 'alice', 'wp', 'wpuser', 'Db-secret-1'));
    ok(run('v-add-database', 'alice', 'shop', 'shopuser', 'Db-secret-2', 'mysql', '', 'latin1'));
    const list = json(run('v-list-databases', 'alice', 'json'));
    assert.deepEqual(Object.keys(list), ['alice_wp', 'alice_shop']);
    assert.deepEqual(Object.keys(list.alice_wp!), ['DATABASE', 'DBUSER', 'HOST', 'TYPE', 'CHARSET', 'U_DISK', 'SUSPENDED', 'TIME', 'DATE']);
    assert.equal(list.alice_wp!.DBUSER, 'alice_wpuser');
    assert.equal(list.alice_wp!.HOST, 'localhost');
    assert.equal(list.alice_wp!.CHARSET, 'UTF8MB4');
    assert.equal(list.alice_shop!.CHARSET, 'LATIN1');
    assert.equal(counters(dir, 'alice').U_DATABASES, 2);
    assert.equal(readObjects(paths.dbHosts(dir, 'mysql'))[0]!.get('U_DB_BASES'), '2');
    assert.match(log(dir, 'system'), /v-add-database  'alice' 'wp' 'wpuser' '\*\*\*\*\*\*'\n/);
    assert.doesNotMatch(log(dir, 'system') + readFileSync(join(dir, 'data/users/alice/db.conf'), 'utf8'), /Db-secret/);
    assert.equal(run('v-list-databases', 'alice', 'xml').stdout, '', 'unknown format prints nothing');
  });

  it('refuses: args 1, formats 2, DB_SYSTEM 11, type 2, user 3/5, clashes 4, no host 3, limit 8', () => {
    const bare = freshNode();
    ok(bare.run('v-add-user', 'alice', 'pw', 'alice@example.com'));
    assert.deepEqual(bare.run('v-add-database', 'alice', 'wp', 'u'), { code: 1, stdout: 'Usage: v-add-database USER DATABASE DBUSER DBPASS [TYPE] [HOST] [CHARSET]\n', stderr: '' });
    assert.deepEqual(bare.run('v-add-database', 'alice', 'wp', 'u', 'pw'), { code: 11, stdout: 'Error: DB_SYSTEM is not enabled\n', stderr: '' });

    const { run } = node();
    assert.equal(run('v-add-database', 'alice', 'w;p', 'u', 'pw').stdout, 'Error: invalid database format :: alice_w;p\n');
    assert.equal(run('v-add-database', 'alice', 'x'.repeat(58), 'u', 'pw').code, 2, 'database names of 64+ characters');
    assert.equal(run('v-add-database', 'alice', 'wp', 'u'.repeat(27), 'pw').stdout, 'Error: mysql username can be up to 32 characters long\n');
    assert.equal(run('v-add-database', 'alice', 'wp', 'u', 'pw', 'pgsql').stdout, 'Error: pgsql type is invalid\n');
    assert.equal(run('v-add-database', 'nobody', 'wp', 'u', 'pw').stdout, "Error: user nobody doesn't exist\n");
    ok(run('v-add-database', 'alice', 'wp', 'u', 'pw'));
    assert.deepEqual(run('v-add-database', 'alice', 'wp', 'v', 'pw'), { code: 4, stdout: 'Error: DB=alice_wp already exists\n', stderr: '' });
    assert.deepEqual(run('v-add-database', 'alice', 'wp2', 'u', 'pw'), { code: 4, stdout: 'Error: DBUSER=alice_u already exists\n', stderr: '' });
    assert.deepEqual(run('v-add-database', 'alice', 'wp2', 'u2', 'pw', 'mysql', 'db9'), { code: 3, stdout: "Error: mysql host db9 doesn't exist\n", stderr: '' });
    ok(run('v-suspend-user', 'alice'));
    assert.deepEqual(run('v-add-database', 'alice', 'wp2', 'u2', 'pw'), { code: 5, stdout: 'Error: user alice is suspended\n', stderr: '' });

    const full = node();
    ok(full.run('v-add-database', 'alice', 'one', 'one', 'pw'));
    limit(full, 'DATABASES', '1');
    assert.deepEqual(full.run('v-add-database', 'alice', 'two', 'two', 'pw'), { code: 8, stdout: 'Error: DATABASES limit is reached :: upgrade user package\n', stderr: '' });

    const noHost = freshNode();
    addDbHost(noHost.dir, { maxDb: 0 });
    ok(noHost.run('v-add-user', 'alice', 'pw', 'alice@example.com'));
    assert.deepEqual(noHost.run('v-add-database', 'alice', 'wp', 'u', 'pw'), { code: 3, stdout: "Error: mysql host EMPTY_DB_HOST doesn't exist\n", stderr: '' }, 'a full server is not chosen');
  });

  it('changes password and user, suspends/unsuspends (5/6), deletes (3 after); counters recount the same', () => {
    const { dir, run } = node();
    ok(run('v-add-database', 'alice', 'wp', 'wpuser', 'pw-1'));
    const md5 = () => readObjects(join(dir, 'data/users/alice/db.conf'))[0]!.get('MD5');
    const before = md5();
    writeFileSync(join(dir, 'tmp', 'dbpw'), 'pw-2\n');
    ok(run('v-change-database-password', 'alice', 'alice_wp', '/tmp/dbpw'));
    assert.notEqual(md5(), before, 'the /tmp file indirection is read');
    assert.match(log(dir, 'system'), /v-change-database-password  'alice' 'alice_wp' '\*\*\*\*\*\*'\n$/);
    assert.equal(run('v-change-database-password', 'alice', 'wp', 'x').stdout, "Error: db db wp doesn't exist\n", 'the full name is needed');
    assert.deepEqual(run('v-change-database-user', 'alice', 'alice_wp', 'wpuser'), { code: 4, stdout: 'Error: DBUSER=alice_wpuser already exists\n', stderr: '' }, 'the current user is a clash');
    ok(run('v-change-database-user', 'alice', 'alice_wp', 'newuser', 'pw-3'));
    assert.equal(json(run('v-list-databases', 'alice', 'json')).alice_wp!.DBUSER, 'alice_newuser');
    ok(run('v-suspend-database', 'alice', 'alice_wp'));
    assert.deepEqual(run('v-suspend-database', 'alice', 'alice_wp'), { code: 5, stdout: 'Error: db alice_wp is suspended\n', stderr: '' });
    assert.equal(run('v-change-database-password', 'alice', 'alice_wp', 'x').code, 5);
    assert.equal(counters(dir, 'alice').SUSPENDED_DB, 1);
    ok(run('v-unsuspend-database', 'alice', 'alice_wp'));
    assert.deepEqual(run('v-unsuspend-database', 'alice', 'alice_wp'), { code: 6, stdout: 'Error: db alice_wp is not suspended\n', stderr: '' });
    ok(run('v-add-database', 'alice', 'shop', 'shop', 'pw'));
    const c = counters(dir, 'alice');
    ok(run('v-update-user-counters', 'alice'));
    assert.equal(counters(dir, 'alice').U_DATABASES, c.U_DATABASES);
    ok(run('v-delete-database', 'alice', 'alice_wp'));
    assert.deepEqual(run('v-delete-database', 'alice', 'alice_wp'), { code: 3, stdout: "Error: db db alice_wp doesn't exist\n", stderr: '' });
    assert.deepEqual(Object.keys(json(run('v-list-databases', 'alice', 'json'))), ['alice_shop']);
    assert.equal(counters(dir, 'alice').U_DATABASES, 1);
    assert.equal(readObjects(paths.dbHosts(dir, 'mysql'))[0]!.get('U_DB_BASES'), '1');
  });
});

describe('FTP accounts', () => {
  it('adds <user>_<name> with the owner uid; web.conf keeps colon lists; path under the domain; password masked', () => {
    const { dir, run } = node();
    ok(run('v-add-web-domain-ftp', 'alice', 'alice.example', 'deploy', 'Ftp-secret-1'));
    ok(run('v-add-web-domain-ftp', 'alice', 'alice.example', 'uploads', 'Ftp-secret-2', 'public_html/uploads'));
    const pw = readPasswd(dir);
    const owner = pw.find((e) => e.name === 'alice')!;
    const up = pw.find((e) => e.name === 'alice_uploads')!;
    assert.equal(up.uid, owner.uid);
    assert.equal(up.home, '/home/alice/web/alice.example/public_html/uploads');
    assert.equal(pw.find((e) => e.name === 'alice_deploy')!.home, '/home/alice/web/alice.example');
    assert.ok(statSync(join(dir, 'home/alice/web/alice.example/public_html/uploads')).isDirectory(), 'a missing path is created');
    const w = json(run('v-list-web-domains', 'alice', 'json'))['alice.example']!;
    assert.equal(w.FTP_USER, 'alice_deploy:alice_uploads');
    assert.equal(w.FTP_PATH, ':/public_html/uploads');
    assert.equal(w.FTP_MD5, undefined, 'FTP_MD5 is not listed');
    assert.match(log(dir, 'system'), /v-add-web-domain-ftp  'alice' 'alice\.example' 'uploads' '\*\*\*\*\*\*' 'public_html\/uploads'\n$/);
    assert.doesNotMatch(log(dir, 'system') + readFileSync(join(dir, 'data/users/alice/web.conf'), 'utf8'), /Ftp-secret/);
  });

  it('refuses: exists 4, path outside the domain 2, unknown account 3, web domain 3/5, WEB_SYSTEM 11', () => {
    const { dir, run } = node();
    ok(run('v-add-web-domain-ftp', 'alice', 'alice.example', 'deploy', 'pw'));
    assert.deepEqual(run('v-add-web-domain-ftp', 'alice', 'alice.example', 'deploy', 'pw'), { code: 4, stdout: 'Error: ftp user alice_deploy already exists\n', stderr: '' });
    assert.deepEqual(run('v-add-web-domain-ftp', 'alice', 'alice.example', 'x', 'pw', '../../other'), { code: 2, stdout: 'Error: absolute path /home/alice/other is invalid\n', stderr: '' });
    assert.match(log(dir, 'error'), /v-add-web-domain-ftp  'alice' 'alice\.example' 'x' '\*\*\*\*\*\*' '\.\.\/\.\.\/other' \[Error 2\]\n$/);
    assert.equal(run('v-add-web-domain-ftp', 'alice', 'alice.example', 'a'.repeat(25), 'pw').code, 2, 'user + "_" + name longer than 30');
    assert.equal(run('v-add-web-domain-ftp', 'alice', 'nope.example', 'x', 'pw').stdout, "Error: web domain nope.example doesn't exist\n");
    assert.deepEqual(run('v-delete-web-domain-ftp', 'alice', 'alice.example', 'deploy'), { code: 3, stdout: "Error: account deploy doesn't exist\n", stderr: '' }, 'the full name is needed');
    assert.equal(run('v-change-web-domain-ftp-path', 'alice', 'alice.example', 'alice_nope', 'x').code, 3);
    assert.equal(run('v-change-web-domain-ftp-path', 'alice', 'alice.example', 'alice_deploy', '../..').code, 2);
    ok(run('v-suspend-web-domain', 'alice', 'alice.example'));
    assert.deepEqual(run('v-change-web-domain-ftp-password', 'alice', 'alice.example', 'alice_deploy', 'pw2'), { code: 5, stdout: 'Error: web alice.example is suspended\n', stderr: '' });
    ok(run('v-delete-web-domain-ftp', 'alice', 'alice.example', 'alice_deploy'), 'delete has no suspension check');
    const mailOnly = freshNode({ mail: true });
    ok(mailOnly.run('v-add-user', 'alice', 'pw', 'alice@example.com'));
    assert.deepEqual(mailOnly.run('v-add-web-domain-ftp', 'alice', 'alice.example', 'x', 'pw'), { code: 11, stdout: 'Error: WEB_SYSTEM is not enabled\n', stderr: '' });
  });

  it('changes the password (FTP_MD5) and the path (passwd home, FTP_PATH), deletes one of two', () => {
    const { dir, run } = node();
    ok(run('v-add-web-domain-ftp', 'alice', 'alice.example', 'one', 'pw-1'));
    ok(run('v-add-web-domain-ftp', 'alice', 'alice.example', 'two', 'pw-2', 'private'));
    const md5 = () => readObjects(join(dir, 'data/users/alice/web.conf'))[0]!.get('FTP_MD5')!.split(':');
    const [m1, m2] = md5();
    ok(run('v-change-web-domain-ftp-password', 'alice', 'alice.example', 'alice_two', 'pw-3'));
    assert.equal(md5()[0], m1); assert.notEqual(md5()[1], m2);
    ok(run('v-change-web-domain-ftp-path', 'alice', 'alice.example', 'alice_one', 'public_html/app'));
    assert.equal(readPasswd(dir).find((e) => e.name === 'alice_one')!.home, '/home/alice/web/alice.example/public_html/app');
    assert.equal(json(run('v-list-web-domains', 'alice', 'json'))['alice.example']!.FTP_PATH, '/public_html/app:/private');
    ok(run('v-delete-web-domain-ftp', 'alice', 'alice.example', 'alice_one'));
    const w = json(run('v-list-web-domains', 'alice', 'json'))['alice.example']!;
    assert.deepEqual([w.FTP_USER, w.FTP_PATH], ['alice_two', '/private']);
    assert.equal(readPasswd(dir).some((e) => e.name === 'alice_one'), false);
  });
});

describe('cron jobs', () => {
  it('adds with the next JOB or a given one, keeps cron.conf sorted, writes the crontab, lists JSON; command masked on add only', () => {
    const { dir, run } = node();
    ok(run('v-add-cron-job', 'alice', '*/5', '*', '*', '*', '*', "php /home/alice/cron.php --key='s3cret' > /dev/null 2>&1"));
    ok(run('v-add-cron-job', 'alice', '0', '3', '*', '*', '1-5', 'echo "nightly" $HOME', '10'));
    ok(run('v-add-cron-job', 'alice', '15', '2', '1', '1', '0', 'backup.sh'));
    const jobs = json(run('v-list-cron-jobs', 'alice', 'json'));
    assert.deepEqual(Object.keys(jobs), ['1', '10', '11']);
    assert.deepEqual(Object.keys(jobs['1']!), ['MIN', 'HOUR', 'DAY', 'MONTH', 'WDAY', 'CMD', 'JOB', 'SUSPENDED', 'TIME', 'DATE']);
    assert.equal(jobs['1']!.CMD, "php /home/alice/cron.php --key='s3cret' > /dev/null 2>&1", "%quote% listed back as '");
    assert.equal(jobs['10']!.CMD, 'echo "nightly" $HOME');
    assert.match(readFileSync(join(dir, 'data/users/alice/cron.conf'), 'utf8'), /CMD='php \/home\/alice\/cron\.php --key=%quote%s3cret%quote% > \/dev\/null 2>&1'/);
    const tab = readFileSync(paths.crontab(dir, 'alice'), 'utf8');
    assert.equal(tab, 'MAILTO=alice@example.com\nCONTENT_TYPE="text/plain; charset=utf-8"\n' +
      "*/5 * * * * php /home/alice/cron.php --key='s3cret' > /dev/null 2>&1\n0 3 * * 1-5 echo \"nightly\" $HOME\n15 2 1 1 0 backup.sh\n");
    assert.doesNotMatch(log(dir, 'system'), /s3cret/, 'HIDE=7 masks the command');
    assert.equal(counters(dir, 'alice').U_CRON_JOBS, 3);
    ok(run('v-change-cron-job', 'alice', '11', '30', '4', '*', '*', '*', 'other.sh'));
    assert.match(log(dir, 'system'), /v-change-cron-job  'alice' '11' '30' '4' '\*' '\*' '\*' 'other\.sh'\n$/, 'change-cron-job logs the command');
    assert.deepEqual([json(run('v-list-cron-jobs', 'alice', 'json'))['11']!.MIN, json(run('v-list-cron-jobs', 'alice', 'json'))['11']!.CMD], ['30', 'other.sh']);
  });

  it('field rules are lax as written; backtick/newline refused; JOB clash 4; limit 8; CRON_SYSTEM 11', () => {
    const { run } = node();
    for (const [f, v] of [['min', '1,99'], ['min', '0-59/5'], ['hour', '*/12'], ['wday', '1-5']] as const) {
      const args = ['*', '*', '*', '*', '*']; args[['min', 'hour', 'day', 'month', 'wday'].indexOf(f)] = v;
      ok(run('v-add-cron-job', 'alice', ...args, 'true'));
    }
    assert.deepEqual(run('v-add-cron-job', 'alice', '60', '*', '*', '*', '*', 'true'), { code: 2, stdout: 'Error: invalid min format :: 60\n', stderr: '' });
    assert.equal(run('v-add-cron-job', 'alice', '*', '*/24', '*', '*', '*', 'true').stdout, 'Error: invalid hour format :: */24\n');
    assert.equal(run('v-add-cron-job', 'alice', '*', '*', '*', '*', 'mon', 'true').stdout, 'Error: invalid wday format :: mon\n');
    assert.deepEqual(run('v-add-cron-job', 'alice', '*', '*', '*', '*', '*', 'echo `id`'), { code: 2, stdout: 'Error: Invalid cron command format\n', stderr: '' });
    assert.equal(run('v-add-cron-job', 'alice', '*', '*', '*', '*', '*', 'a\nb').code, 2);
    assert.deepEqual(run('v-add-cron-job', 'alice', '*', '*', '*', '*', '*', 'true', '2'), { code: 4, stdout: 'Error: JOB=2 already exists\n', stderr: '' });
    assert.equal(run('v-add-cron-job', 'alice', '*', '*', '*', '*', '*', 'true', 'x').stdout, 'Error: invalid job format :: x\n');
    assert.deepEqual(run('v-delete-cron-job', 'alice', '99'), { code: 3, stdout: "Error: cron job 99 doesn't exist\n", stderr: '' });
    const full = node();
    ok(full.run('v-add-cron-job', 'alice', '*', '*', '*', '*', '*', 'true'));
    limit(full, 'CRON_JOBS', '1');
    assert.deepEqual(full.run('v-add-cron-job', 'alice', '*', '*', '*', '*', '*', 'true'), { code: 8, stdout: 'Error: CRON_JOBS limit is reached :: upgrade user package\n', stderr: '' });
    ok(full.run('v-change-sys-config-value', 'CRON_SYSTEM', 'no'));
    assert.deepEqual(full.run('v-add-cron-job', 'alice', '*', '*', '*', '*', '*', 'true'), { code: 11, stdout: 'Error: CRON_SYSTEM is not enabled\n', stderr: '' });
    ok(full.run('v-suspend-cron-job', 'alice', '1'), 'suspend has no CRON_SYSTEM check');
  });

  it('suspend/unsuspend (5/6) drop and restore the crontab line; delete; counters recount the same', () => {
    const { dir, run } = node();
    ok(run('v-add-cron-job', 'alice', '1', '1', '*', '*', '*', 'one.sh'));
    ok(run('v-add-cron-job', 'alice', '2', '2', '*', '*', '*', 'two.sh'));
    ok(run('v-suspend-cron-job', 'alice', '1'));
    assert.deepEqual(run('v-suspend-cron-job', 'alice', '1'), { code: 5, stdout: 'Error: cron 1 is suspended\n', stderr: '' });
    assert.doesNotMatch(readFileSync(paths.crontab(dir, 'alice'), 'utf8'), /one\.sh/);
    assert.equal(json(run('v-list-cron-jobs', 'alice', 'json'))['1']!.SUSPENDED, 'yes');
    assert.equal(run('v-change-cron-job', 'alice', '1', '*', '*', '*', '*', '*', 'x').code, 5, 'a suspended job cannot be changed');
    assert.equal(counters(dir, 'alice').SUSPENDED_CRON, 1);
    ok(run('v-unsuspend-cron-job', 'alice', '1'));
    assert.deepEqual(run('v-unsuspend-cron-job', 'alice', '1'), { code: 6, stdout: 'Error: cron 1 is not suspended\n', stderr: '' });
    assert.match(readFileSync(paths.crontab(dir, 'alice'), 'utf8'), /^1 1 \* \* \* one\.sh$/m);
    ok(run('v-delete-cron-job', 'alice', '1'));
    assert.deepEqual(Object.keys(json(run('v-list-cron-jobs', 'alice', 'json'))), ['2']);
    const c = counters(dir, 'alice');
    assert.equal(c.U_CRON_JOBS, 1);
    ok(run('v-update-user-counters', 'alice'));
    assert.equal(counters(dir, 'alice').U_CRON_JOBS, 1);
    assert.equal(existsSync(paths.crontab(dir, 'alice')), true);
  });
});

describe('web aliases', () => {
  it('adds (normalised, www. kept), refuses a taken name 4, deletes; U_WEB_ALIASES follows', () => {
    const { dir, run } = node();
    assert.equal(json(run('v-list-web-domains', 'alice', 'json'))['alice.example']!.ALIAS, 'www.alice.example');
    ok(run('v-add-web-domain-alias', 'alice', 'alice.example', 'Shop.Alice.Example.'));
    assert.equal(json(run('v-list-web-domains', 'alice', 'json'))['alice.example']!.ALIAS, 'www.alice.example,shop.alice.example');
    assert.equal(counters(dir, 'alice').U_WEB_ALIASES, 2);
    assert.deepEqual(run('v-add-web-domain-alias', 'alice', 'alice.example', 'shop.alice.example'), { code: 4, stdout: 'Error: Web alias shop.alice.example exists\n', stderr: '' });
    ok(run('v-add-web-domain', 'alice', 'other.example'));
    assert.deepEqual(run('v-add-web-domain-alias', 'alice', 'alice.example', 'other.example'), { code: 4, stdout: 'Error: Web domain other.example exists\n', stderr: '' });
    ok(run('v-add-user', 'bob', 'pw', 'bob@example.com'));
    assert.equal(run('v-add-web-domain-alias', 'bob', 'alice.example', 'x.alice.example').stdout, "Error: web domain alice.example doesn't exist\n");
    assert.deepEqual(run('v-add-web-domain-alias', 'alice', 'alice.example', ''), { code: 2, stdout: 'Error: Invalid alias format: empty\n', stderr: '' });
    assert.equal(run('v-add-web-domain-alias', 'alice', 'alice.example', 'bad_alias.example').code, 2);
    ok(run('v-delete-web-domain-alias', 'alice', 'alice.example', 'www.alice.example'));
    assert.deepEqual(run('v-delete-web-domain-alias', 'alice', 'alice.example', 'www.alice.example'), { code: 3, stdout: "Error: alias www.alice.example doesn't exist\n", stderr: '' });
    assert.equal(json(run('v-list-web-domains', 'alice', 'json'))['alice.example']!.ALIAS, 'shop.alice.example');
    assert.equal(counters(dir, 'alice').U_WEB_ALIASES, 2, 'shop.alice.example and www.other.example');
    ok(run('v-update-user-counters', 'alice'));
    assert.equal(counters(dir, 'alice').U_WEB_ALIASES, 2, 'recount: shop.alice.example + other.example\'s www alias');
  });

  it('WEB_ALIASES limit counts the domain list with the new name (only "> limit" fails) → 8', () => {
    const n = node();
    limit(n, 'WEB_ALIASES', '2');
    ok(n.run('v-add-web-domain-alias', 'alice', 'alice.example', 'a.alice.example'));
    assert.deepEqual(n.run('v-add-web-domain-alias', 'alice', 'alice.example', 'b.alice.example'), { code: 8, stdout: 'Error: WEB_ALIASES limit is reached :: upgrade user package\n', stderr: '' });
  });
});
