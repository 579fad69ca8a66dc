// The driver's database, FTP, cron and web-alias methods against an emulated HestiaCP node over
// SSH: typed listings, the state each write leaves, HestiaCP's exit codes kept, argument checks
// before anything is sent, and no password in argv, the node's command log, its system.log or
// the driver's log lines.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulatedFleet, type EmulatedFleet, type EmulatedNode } from '../helpers/fleet.ts';
import { readCommandLog, readNode, runHestia } from '../emulator/hestia/index.ts';
import { paths } from '../emulator/hestia/node.ts';
import { addDbHost } from '../emulator/hestia/commands/databases.ts';
import { ArgumentError, HestiaDriver, SshPool, hasHestiaCode } from '../../daemon/drivers/hestia/index.ts';

let fleet: EmulatedFleet;
let node: EmulatedNode;
const pool = new SshPool();
const lines: string[] = [];
const secrets: string[] = [];
const PASSWORDS = ['Db-pass-first-1', 'Db-pass-second-2', 'Db-pass-third-3', 'Ftp-pass-first-1', 'Ftp-pass-second-2'];
const prog = (e: { argv: string[] | null }) => e.argv?.[0]?.split('/').pop();

before(async () => {
  fleet = await startEmulatedFleet({ web: 0, mail: 0, dns: 0, combo: 1, pdns: false });
  node = fleet.combo[0]!;
  addDbHost(node.dir);
  assert.equal(runHestia(node.dir, 'v-add-user', ['carol', 'Carol-pw-1', 'carol@example.com']).code, 0);
  assert.equal(runHestia(node.dir, 'v-add-web-domain', ['carol', 'site.example']).code, 0);
});

after(async () => {
  await pool.closeAll();
  await fleet?.close();
});

function driver(): HestiaDriver {
  return new HestiaDriver(pool, {
    id: 'objects-node', host: '127.0.0.1', port: node.port, username: 'root', password: node.password, hostKeySha256: node.ssh.hostKeySha256, commandTimeoutMs: 30_000,
  }, { log: (l) => lines.push(l), secret: (v) => { if (v) secrets.push(v); } });
}

const counters = () => readNode(node.dir).users.carol!.counters;
const tmpLeft = () => readdirSync(paths.tmp(node.dir)).filter((f) => f.startsWith('hb-'));

describe('HestiaDriver: databases', () => {
  it('adds (full name returned), lists typed, changes password and user, suspends, deletes', async () => {
    const d = driver();
    assert.equal(await d.addDatabase('carol', 'wp', 'wpuser', PASSWORDS[0]!), 'carol_wp');
    assert.equal(await d.addDatabase('carol', 'shop', 'shop', PASSWORDS[1]!, { charset: 'latin1' }), 'carol_shop');
    const list = await d.listDatabases('carol');
    assert.deepEqual(list.map((x) => [x.name, x.dbUser, x.host, x.type, x.charset, x.suspended]), [
      ['carol_wp', 'carol_wpuser', 'localhost', 'mysql', 'UTF8MB4', false], ['carol_shop', 'carol_shop', 'localhost', 'mysql', 'LATIN1', false]]);
    assert.match(list[0]!.created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const md5 = () => readFileSync(join(node.dir, 'data/users/carol/db.conf'), 'utf8').match(/DB='carol_wp'.*MD5='([^']*)'/)![1];
    const before = md5();
    await d.changeDatabasePassword('carol', 'carol_wp', PASSWORDS[2]!);
    assert.notEqual(md5(), before);
    await d.changeDatabaseUser('carol', 'carol_wp', 'wpnew');
    assert.equal((await d.listDatabases('carol'))[0]!.dbUser, 'carol_wpnew');
    await d.suspendDatabase('carol', 'carol_wp');
    assert.equal((await d.listDatabases('carol'))[0]!.suspended, true);
    await assert.rejects(d.suspendDatabase('carol', 'carol_wp'), (e) => hasHestiaCode(e, 'E_SUSPENDED'));
    await d.unsuspendDatabase('carol', 'carol_wp');
    await d.deleteDatabase('carol', 'carol_wp');
    await assert.rejects(d.deleteDatabase('carol', 'carol_wp'), (e) => hasHestiaCode(e, 'E_NOTEXIST') && /db db carol_wp doesn't exist/.test((e as Error).message));
    assert.deepEqual((await d.listDatabases('carol')).map((x) => x.name), ['carol_shop']);
    assert.equal(counters().U_DATABASES, 1);
    await assert.rejects(d.addDatabase('carol', 'shop', 'other', 'x-pass-1'), (e) => hasHestiaCode(e, 'E_EXISTS'));
    assert.deepEqual(tmpLeft(), [], 'password files are removed');
  });

  it('refuses bad names before anything is sent', async () => {
    const d = driver();
    const sent = readCommandLog(node.dir).length;
    await assert.rejects(d.addDatabase('carol', 'wp;drop', 'u', 'pw-12345'), ArgumentError);
    await assert.rejects(d.addDatabase('carol', 'x'.repeat(58), 'u', 'pw-12345'), /longer than 63/);
    await assert.rejects(d.addDatabase('carol', 'wp2', 'u'.repeat(27), 'pw-12345'), /longer than 32/);
    await assert.rejects(d.addDatabase('carol', 'wp2', 'u2', 'pw-12345', { type: 'oracle' as 'mysql' }), /TYPE: must be one of mysql, pgsql/);
    await assert.rejects(d.addDatabase('carol', 'wp2', 'u2', 'bad\npw'), /control characters/);
    await assert.rejects(d.deleteDatabase('carol', 'shop'), /full name "carol_<name>"/);
    await assert.rejects(d.deleteDatabase('carol', 'alice_shop'), ArgumentError);
    assert.equal(readCommandLog(node.dir).length, sent, 'nothing was sent');
  });
});

describe('HestiaDriver: FTP accounts', () => {
  it('adds (full name returned), lists from web.conf, changes password and path, deletes', async () => {
    const d = driver();
    assert.deepEqual(await d.listFtpAccounts('carol', 'site.example'), []);
    assert.equal(await d.addFtpAccount('carol', 'site.example', 'deploy', PASSWORDS[3]!), 'carol_deploy');
    assert.equal(await d.addFtpAccount('carol', 'site.example', 'uploads', PASSWORDS[4]!, 'public_html/uploads'), 'carol_uploads');
    assert.deepEqual(await d.listFtpAccounts('carol', 'site.example'), [{ user: 'carol_deploy', path: '' }, { user: 'carol_uploads', path: 'public_html/uploads' }]);
    await d.changeFtpPassword('carol', 'site.example', 'carol_deploy', 'Ftp-pass-third-3');
    await d.changeFtpPath('carol', 'site.example', 'carol_deploy', 'private');
    assert.deepEqual(await d.listFtpAccounts('carol', 'site.example'), [{ user: 'carol_deploy', path: 'private' }, { user: 'carol_uploads', path: 'public_html/uploads' }]);
    await assert.rejects(d.addFtpAccount('carol', 'site.example', 'deploy', 'x-pass-1'), (e) => hasHestiaCode(e, 'E_EXISTS'));
    await d.deleteFtpAccount('carol', 'site.example', 'carol_deploy');
    await assert.rejects(d.deleteFtpAccount('carol', 'site.example', 'carol_deploy'), (e) => hasHestiaCode(e, 'E_NOTEXIST'));
    assert.deepEqual(await d.listFtpAccounts('carol', 'site.example'), [{ user: 'carol_uploads', path: 'public_html/uploads' }]);
    await assert.rejects(d.listFtpAccounts('carol', 'nope.example'), /web domain nope\.example of carol is not on/);
    assert.deepEqual(tmpLeft(), []);
  });

  it('refuses paths leaving the domain directory and bad names before anything is sent', async () => {
    const d = driver();
    const sent = readCommandLog(node.dir).length;
    await assert.rejects(d.addFtpAccount('carol', 'site.example', 'x', 'pw-12345', '../../etc'), /FTP_PATH: path segments must not be empty, "\." or "\.\."/);
    await assert.rejects(d.changeFtpPath('carol', 'site.example', 'carol_uploads', 'a/../../b'), ArgumentError);
    await assert.rejects(d.addFtpAccount('carol', 'site.example', 'a'.repeat(25), 'pw-12345'), /longer than 30/);
    await assert.rejects(d.addFtpAccount('carol', 'site.example', 'bad name', 'pw-12345'), ArgumentError);
    await assert.rejects(d.deleteFtpAccount('carol', 'site.example', 'uploads'), /full name "carol_<name>"/);
    assert.equal(readCommandLog(node.dir).length, sent, 'nothing was sent');
  });
});

describe('HestiaDriver: cron jobs', () => {
  it('adds with an explicit next id, lists typed, changes, suspends/unsuspends, deletes', async () => {
    const d = driver();
    const every5 = { min: '*/5', hour: '*', day: '*', month: '*', wday: '*' };
    assert.equal(await d.addCronJob('carol', every5, "php /home/carol/web/site.example/public_html/cron.php > /dev/null 2>&1"), 1);
    assert.equal(await d.addCronJob('carol', { min: '0', hour: '3', day: '*', month: '*', wday: '1-5' }, `echo "it's $HOME"`), 2);
    assert.equal(await d.addCronJob('carol', every5, 'true', { id: 10, restart: false }), 10);
    const add = readCommandLog(node.dir).filter((e) => prog(e) === 'v-add-cron-job');
    assert.ok(add.every((e) => e.argv!.length === 10), 'JOB and RESTART always passed');
    const jobs = await d.listCronJobs('carol');
    assert.deepEqual(jobs.map((j) => [j.id, j.min, j.wday, j.command, j.suspended]), [
      [1, '*/5', '*', 'php /home/carol/web/site.example/public_html/cron.php > /dev/null 2>&1', false],
      [2, '0', '1-5', `echo "it's $HOME"`, false], [10, '*/5', '*', 'true', false]]);
    assert.equal(await d.addCronJob('carol', every5, 'next'), 11, 'highest id + 1');
    await d.changeCronJob('carol', 11, { min: '30', hour: '4', day: '1', month: '1,7', wday: '*' }, 'twice-a-year.sh');
    await d.suspendCronJob('carol', 2);
    await assert.rejects(d.suspendCronJob('carol', 2), (e) => hasHestiaCode(e, 'E_SUSPENDED'));
    let byId = new Map((await d.listCronJobs('carol')).map((j) => [j.id, j]));
    assert.deepEqual([byId.get(11)!.month, byId.get(11)!.command, byId.get(2)!.suspended], ['1,7', 'twice-a-year.sh', true]);
    assert.doesNotMatch(readFileSync(paths.crontab(node.dir, 'carol'), 'utf8'), /it's/, 'a suspended job leaves the crontab');
    await d.unsuspendCronJob('carol', 2);
    await d.deleteCronJob('carol', 10);
    await assert.rejects(d.deleteCronJob('carol', 10), (e) => hasHestiaCode(e, 'E_NOTEXIST'));
    byId = new Map((await d.listCronJobs('carol')).map((j) => [j.id, j]));
    assert.deepEqual([...byId.keys()], [1, 2, 11]);
    assert.equal(counters().U_CRON_JOBS, 3);
  });

  it('refuses schedules and commands HestiaCP would mangle, before anything is sent', async () => {
    const d = driver();
    const ok = { min: '0', hour: '0', day: '*', month: '*', wday: '*' };
    const sent = readCommandLog(node.dir).length;
    await assert.rejects(d.addCronJob('carol', { ...ok, min: '60' }, 'true', { id: 50 }), /MIN: numbers are 0-59/);
    await assert.rejects(d.addCronJob('carol', { ...ok, hour: '1,99' }, 'true', { id: 50 }), /HOUR: numbers are 0-23/, 'HestiaCP itself would take it');
    await assert.rejects(d.addCronJob('carol', { ...ok, min: '*/59' }, 'true', { id: 50 }), /a step is 1-58/);
    await assert.rejects(d.addCronJob('carol', { ...ok, wday: 'mon' }, 'true', { id: 50 }), /WDAY: use/);
    await assert.rejects(d.addCronJob('carol', { ...ok, day: '0' }, 'true', { id: 50 }), /DAY: numbers are 1-31/);
    await assert.rejects(d.addCronJob('carol', ok, 'echo `id`', { id: 50 }), /CRON_COMMAND/);
    await assert.rejects(d.addCronJob('carol', ok, 'date +%F', { id: 50 }), /"%"/);
    await assert.rejects(d.addCronJob('carol', ok, 'a\nb', { id: 50 }), /control characters/);
    assert.equal(readCommandLog(node.dir).length, sent, 'nothing was sent');
  });
});

describe('HestiaDriver: web aliases', () => {
  it('adds and deletes one alias; a taken name is 4, a missing one 3; lists are refused', async () => {
    const d = driver();
    await d.addWebAlias('carol', 'site.example', 'shop.site.example');
    const aliases = () => JSON.parse(runHestia(node.dir, 'v-list-web-domains', ['carol', 'json']).stdout)['site.example'].ALIAS as string;
    assert.equal(aliases(), 'www.site.example,shop.site.example');
    await assert.rejects(d.addWebAlias('carol', 'site.example', 'shop.site.example'), (e) => hasHestiaCode(e, 'E_EXISTS'));
    await d.deleteWebAlias('carol', 'site.example', 'www.site.example', { restart: false });
    assert.equal(aliases(), 'shop.site.example');
    await assert.rejects(d.deleteWebAlias('carol', 'site.example', 'www.site.example'), (e) => hasHestiaCode(e, 'E_NOTEXIST'));
    await assert.rejects(d.addWebAlias('carol', 'site.example', 'a.site.example,b.site.example'), /ALIAS: must be one host name/);
    await assert.rejects(d.addWebAlias('carol', 'site.example', 'none'), ArgumentError);
  });
});

describe('HestiaDriver: no password in sight', () => {
  it('passwords are in no argv, not in the node\'s command log or system.log, not in the driver\'s log; they were registered as secrets', () => {
    const commandLog = JSON.stringify(readCommandLog(node.dir));
    const systemLog = readFileSync(paths.systemLog(node.dir), 'utf8');
    const driverLog = lines.join('\n');
    for (const pw of [...PASSWORDS, 'Ftp-pass-third-3']) {
      assert.ok(!commandLog.includes(pw), `${pw.slice(0, 6)}… in the command log`);
      assert.ok(!systemLog.includes(pw), `${pw.slice(0, 6)}… in system.log`);
      assert.ok(!driverLog.includes(pw), `${pw.slice(0, 6)}… in the driver log`);
      assert.ok(secrets.includes(pw), `${pw.slice(0, 6)}… registered as a secret`);
    }
    // The password positions carried a /tmp/hb-… path, and the driver logged each command it ran.
    const add = readCommandLog(node.dir).find((e) => prog(e) === 'v-add-database')!;
    assert.match(add.argv![4]!, /^\/tmp\/hb-[0-9a-f]{32}$/);
    assert.ok(lines.some((l) => l.includes('v-add-web-domain-ftp')));
    assert.match(systemLog, /v-add-database  'carol' 'wp' 'wpuser' '\*\*\*\*\*\*' 'mysql' '' 'UTF8MB4'\n/);
  });
});
