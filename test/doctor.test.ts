// hostbridge doctor as an admin runs it (the command line, a real process): the embedded default
// passes; a database that is down, a wrong master key, an unreachable server and a changed host
// key are each named with what to do; grants, clock skew and a stopped scheduler too. The fleet
// is real: emulated HestiaCP nodes behind SSH servers on 127.0.0.1, the real PowerDNS, and the
// WHMCS External API stand-in.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { CLI, TSX, TEST_MASTER_KEY, TEST_SECRET } from './helpers/daemon.ts';
import { createTestDb, tmpDir, MYSQL_ADMIN, type TestDb } from './helpers/db.ts';
import { startPdns, type Pdns } from './helpers/pdns.ts';
import { createWhmcsTables, startWhmcsStandin, type WhmcsStandin } from './helpers/whmcs.ts';
import { createNode, startHestiaNode, ed25519KeyPair, type HestiaNodeHandle } from './emulator/hestia/index.ts';
import { connect, dbNow } from '../daemon/db/connect.ts';
import { migrateLatest } from '../daemon/db/migrate.ts';
import { addServer } from '../daemon/fleet/inventory.ts';
import { writeSetting } from '../daemon/settings/settings.ts';
import { T } from '../daemon/common/tables.ts';
import { checkClock, judgeServerVersion } from '../daemon/doctor/database.ts';

interface Run { code: number | null; stdout: string; stderr: string }

function doctor(cwd: string, env: Record<string, string> = {}, args: string[] = ['doctor'], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
      cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? cwd, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`hostbridge ${args.join(' ')} ran over ${timeoutMs} ms: ${stdout}${stderr}`)); }, timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;

/** The doctor's line for a check: [status, what] (the first line of that name). */
function lineOf(r: Run, name: string): { status: string; text: string; fix: string } {
  const lines = r.stdout.split('\n');
  const i = lines.findIndex((l) => l.slice(6, 20).trim() === name);
  assert.ok(i >= 0, `no "${name}" line in:\n${show(r)}`);
  const next = lines[i + 1] ?? '';
  return { status: lines[i]!.slice(0, 5).trim(), text: lines[i]!.slice(21), fix: /^\s+fix: /.test(next) ? next.trim().slice(5) : '' };
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const dirs: string[] = [];
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });
function freshDir(): string {
  const d = tmpDir('hb-doctor-');
  dirs.push(d);
  return d;
}

describe('hostbridge doctor on the embedded default', () => {
  test('a fresh data directory with no configuration passes; so does it once migrated, and after a scheduler pass every line is ok', async () => {
    const dir = freshDir();
    const fresh = await doctor(dir);
    assert.equal(fresh.code, 0, show(fresh));
    assert.equal(lineOf(fresh, 'database').status, 'ok');
    assert.match(lineOf(fresh, 'database').text, new RegExp(`SQLite file ${path.join(dir, 'data', 'hostbridge.sqlite').replace(/[/.]/g, '\\$&')}`));
    assert.equal(lineOf(fresh, 'migrations').status, 'warn', 'a fresh database: the migrations are still to apply');
    assert.match(lineOf(fresh, 'migrations').fix, /hostbridge migrate/);
    assert.doesNotMatch(fresh.stdout, /^FAIL/m);

    assert.equal((await doctor(dir, {}, ['migrate'])).code, 0);
    const migrated = await doctor(dir);
    assert.equal(migrated.code, 0, show(migrated));
    for (const name of ['database', 'secret', 'db version', 'grants', 'migrations', 'clock', 'master key', 'fleet', 'whmcs api']) {
      assert.equal(lineOf(migrated, name).status, 'ok', `${name}: ${show(migrated)}`);
    }
    assert.equal(lineOf(migrated, 'scheduler').status, 'warn', 'no pass has run yet');

    const tick = await doctor(dir, {}, ['tick']);
    assert.equal(tick.code, 0, show(tick));
    const ticked = await doctor(dir);
    assert.equal(ticked.code, 0, show(ticked));
    assert.equal(lineOf(ticked, 'scheduler').status, 'ok', show(ticked));
    assert.match(ticked.stdout, /^all checks passed$/m, 'no warning left');
    // The secret and the key are never printed.
    const key = fs.readFileSync(path.join(dir, 'data', 'master.key'), 'utf8').trim();
    const secret = fs.readFileSync(path.join(dir, 'data', 'shared-secret'), 'utf8').trim();
    for (const r of [fresh, migrated, ticked]) {
      assert.ok(!r.stdout.includes(key) && !r.stdout.includes(secret), 'a secret was printed');
    }

    // No daemon has run the jobs for a day: the scheduler is not running, and that fails.
    const db = connect({ client: 'better-sqlite3', filename: path.join(dir, 'data', 'hostbridge.sqlite') });
    try {
      await db(T.jobs).update({ last_started_at: (await dbNow(db)) - 86_400_000 });
    } finally {
      await db.destroy();
    }
    const stopped = await doctor(dir);
    assert.equal(stopped.code, 1, show(stopped));
    assert.equal(lineOf(stopped, 'scheduler').status, 'FAIL');
    assert.match(lineOf(stopped, 'scheduler').text, /^not running: .*reap-expired-leases last ran 24 h ago \(every 15 s\)/);
    assert.match(lineOf(stopped, 'scheduler').fix, /hostbridge serve/);
  });

  test('a configuration that does not load is the one line, and fails', async () => {
    const r = await doctor(freshDir(), { HOSTBRIDGE_DATABASE_URL: 'mysql://root@127.0.0.1:3306/x' });
    assert.equal(r.code, 1, show(r));
    assert.equal(lineOf(r, 'configuration').status, 'FAIL');
    assert.match(lineOf(r, 'configuration').text, /HOSTBRIDGE_SECRET: is required with a MySQL\/MariaDB database/);
  });
});

describe('hostbridge doctor with the database down', () => {
  test('a MariaDB URL on a closed port is named, and every check that needs the database says so', async () => {
    const port = await closedPort();
    const started = Date.now();
    const r = await doctor(freshDir(), { HOSTBRIDGE_DATABASE_URL: `mysql://root@127.0.0.1:${port}/hb_doctor`, HOSTBRIDGE_SECRET: TEST_SECRET, HOSTBRIDGE_MASTER_KEY: TEST_MASTER_KEY });
    assert.equal(r.code, 1, show(r));
    const line = lineOf(r, 'database');
    assert.equal(line.status, 'FAIL');
    assert.match(line.text, new RegExp(`cannot reach MySQL/MariaDB at mysql://root@127\\.0\\.0\\.1:${port}/hb_doctor: .*ECONNREFUSED`));
    assert.match(line.fix, new RegExp(`HOSTBRIDGE_DATABASE_URL \\(host 127\\.0\\.0\\.1, port ${port}, database hb_doctor\\)`));
    for (const name of ['db version', 'grants', 'migrations', 'clock', 'master key', 'fleet', 'whmcs api', 'scheduler']) {
      assert.deepEqual([lineOf(r, name).status, lineOf(r, name).text], ['--', 'needs the database']);
    }
    assert.equal(lineOf(r, 'secret').status, 'ok');
    assert.ok(Date.now() - started < 30_000, 'bounded in time');
  });
});

describe('hostbridge doctor on a fleet: unreachable server, changed host key, wrong master key', () => {
  let dir: string;
  let dbFile: string;
  let db: Knex;
  const nodes: HestiaNodeHandle[] = [];
  let pdns: Pdns;
  let whmcs: WhmcsStandin;
  let changedKey: string;
  let pinnedKey: string;
  let downPort: number;
  const env = () => ({ HOSTBRIDGE_DATABASE_URL: dbFile, HOSTBRIDGE_SECRET: TEST_SECRET, HOSTBRIDGE_MASTER_KEY: TEST_MASTER_KEY });
  const ROOT_PASSWORD = 'node-root-password-0123';

  /** An emulated HestiaCP node with root's password, on `port` (0: any) and with `hostKey`. */
  async function node(name: string, port = 0, hostKey?: string): Promise<HestiaNodeHandle> {
    const nodeDir = path.join(dir, name);
    if (!fs.existsSync(nodeDir)) {
      fs.mkdirSync(nodeDir, { recursive: true });
      createNode(nodeDir, { hostname: `${name}.example.net`, ip: '192.0.2.11', roles: { web: true } });
    }
    const n = await startHestiaNode({ dir: nodeDir, port, users: [{ username: 'root', password: ROOT_PASSWORD, uid: 0 }], ...(hostKey ? { hostKey } : {}) });
    nodes.push(n);
    return n;
  }

  before(async () => {
    dir = freshDir();
    dbFile = path.join(dir, 'hostbridge.sqlite');
    db = connect({ client: 'better-sqlite3', filename: dbFile });
    await migrateLatest(db);
    const key = Buffer.from(TEST_MASTER_KEY, 'hex');
    const hestia = (name: string, port: number, pin: string | null) => addServer(db, key, {
      name, driver: 'hestiacp', hostname: '127.0.0.1', ip: '192.0.2.11', port, username: 'root', password: ROOT_PASSWORD,
      ...(pin ? { host_key_sha256: pin } : {}), capabilities: { web: true },
    });
    // alpha: healthy and pinned. delta: the same node, never pinned.
    const alpha = await node('alpha');
    await hestia('alpha', alpha.port, alpha.hostKeySha256);
    await hestia('delta', alpha.port, null);
    // bravo: nothing listens where it is said to be.
    downPort = await closedPort();
    await hestia('bravo', downPort, 'SHA256:' + crypto.randomBytes(32).toString('base64').replace(/=+$/, ''));
    // charlie: pinned, then reinstalled with a new host key on the same port.
    const charlie = await node('charlie');
    pinnedKey = charlie.hostKeySha256;
    await hestia('charlie', charlie.port, pinnedKey);
    await charlie.close();
    const again = await node('charlie', charlie.port, ed25519KeyPair().private);
    changedKey = again.hostKeySha256;
    assert.notEqual(changedKey, pinnedKey);
    // dns1: the real PowerDNS.
    pdns = await startPdns();
    const u = new URL(pdns.url);
    await addServer(db, key, { name: 'dns1', driver: 'powerdns', hostname: u.hostname, ip: u.hostname, port: Number(u.port), api_key: pdns.apiKey, capabilities: { dns: true } });
    // The WHMCS External API.
    whmcs = await startWhmcsStandin(db, { identifier: 'doctor-ident', secret: 'doctor-api-secret-value' });
    await writeSetting(db, 'whmcs.api_url', whmcs.url);
    await writeSetting(db, 'whmcs.api_identifier', 'doctor-ident');
    await writeSetting(db, 'whmcs.api_secret', 'doctor-api-secret-value', key);
  });
  after(async () => {
    await whmcs?.stop();
    for (const n of nodes) await n.close().catch(() => {});
    await pdns?.stop();
    await db?.destroy();
  });

  test('each problem is named with the server\'s name and address; the healthy ones pass; nothing is written', async () => {
    const r = await doctor(dir, env());
    assert.equal(r.code, 1, show(r));
    const alpha = lineOf(r, 'server alpha');
    assert.equal(alpha.status, 'ok', show(r));
    assert.match(alpha.text, /HestiaCP .* answers at 127\.0\.0\.1 \(192\.0\.2\.11\) port \d+ as root, host key pinned/);

    const bravo = lineOf(r, 'server bravo');
    assert.equal(bravo.status, 'FAIL');
    assert.match(bravo.text, new RegExp(`bravo is unreachable at 127\\.0\\.0\\.1 \\(192\\.0\\.2\\.11\\) port ${downPort}: .*ECONNREFUSED`));
    assert.match(bravo.fix, new RegExp(`sshd listens on port ${downPort}`));

    const charlie = lineOf(r, 'server charlie');
    assert.equal(charlie.status, 'FAIL');
    assert.ok(charlie.text.includes(`its host key changed: 127.0.0.1 (192.0.2.11) port`), charlie.text);
    assert.ok(charlie.text.includes(`presents ${changedKey}, the key pinned is ${pinnedKey}`), charlie.text);
    assert.match(charlie.fix, /ssh-keygen -lf/);

    const delta = lineOf(r, 'server delta');
    assert.equal(delta.status, 'warn');
    assert.ok(delta.text.includes(`its host key is not pinned; it presents ${nodes[0]!.hostKeySha256}`), delta.text);

    const dns = lineOf(r, 'server dns1');
    assert.equal(dns.status, 'ok', show(r));
    assert.match(dns.text, /^PowerDNS \S+ answers its API at /);

    assert.equal(lineOf(r, 'master key').status, 'ok');
    assert.match(lineOf(r, 'master key').text, /opens all 6 sealed value\(s\)/);
    assert.equal(lineOf(r, 'whmcs api').status, 'ok', show(r));
    assert.match(lineOf(r, 'whmcs api').text, /WHMCS 8\.10\.1 at .* accepts the credentials doctor-ident/);
    assert.deepEqual(whmcs.calls.map((c) => c.action), ['WhmcsDetails']);

    // The doctor pins nothing: delta is still unpinned, charlie keeps its old pin.
    const pins = Object.fromEntries((await db(T.servers).select('name', 'host_key_sha256')).map((s: { name: string; host_key_sha256: string | null }) => [s.name, s.host_key_sha256]));
    assert.equal(pins.delta, null);
    assert.equal(pins.charlie, pinnedKey);
    for (const secret of [ROOT_PASSWORD, pdns.apiKey, 'doctor-api-secret-value', TEST_SECRET, TEST_MASTER_KEY]) assert.ok(!r.stdout.includes(secret), 'a secret was printed');
  });

  test('a wrong master key is named as such, and so is every credential it cannot open', async () => {
    const wrong = crypto.randomBytes(32).toString('hex');
    const r = await doctor(dir, { ...env(), HOSTBRIDGE_MASTER_KEY: wrong });
    assert.equal(r.code, 1, show(r));
    const key = lineOf(r, 'master key');
    assert.equal(key.status, 'FAIL');
    assert.match(key.text, /^wrong master key: the key from HOSTBRIDGE_MASTER_KEY opens none of the 6 sealed value\(s\) in the database \(the credential of server alpha, /);
    assert.match(key.fix, /HOSTBRIDGE_MASTER_KEY to the key the credentials were stored with/);
    for (const name of ['alpha', 'bravo', 'charlie', 'delta', 'dns1']) {
      assert.equal(lineOf(r, `server ${name}`).text, 'its credential cannot be opened with this master key (see "master key")');
    }
    assert.equal(lineOf(r, 'whmcs api').status, 'FAIL');
    assert.match(lineOf(r, 'whmcs api').text, /whmcs\.api_secret: encrypted value cannot be decrypted with this master key/);
    assert.ok(!r.stdout.includes(wrong));
  });

  test('WHMCS refusing the API credentials is named', async () => {
    await writeSetting(db, 'whmcs.api_secret', 'not-the-secret-any-more', Buffer.from(TEST_MASTER_KEY, 'hex'));
    try {
      const r = await doctor(dir, env());
      const line = lineOf(r, 'whmcs api');
      assert.equal(line.status, 'FAIL', show(r));
      assert.match(line.text, /refuses the credentials: WHMCS API refused WhmcsDetails: Authentication Failed/);
      assert.match(line.fix, /Configuration › System Settings › Manage API Credentials/, 'the WHMCS 8 menu path (docs.whmcs.com/Manage_API_Credentials)');
      assert.ok(!r.stdout.includes('not-the-secret-any-more'));
    } finally {
      await writeSetting(db, 'whmcs.api_secret', 'doctor-api-secret-value', Buffer.from(TEST_MASTER_KEY, 'hex'));
    }
  });
});

describe('hostbridge doctor on MariaDB', () => {
  let tdb: TestDb;
  const user = `hb_doc_${crypto.randomBytes(4).toString('hex')}`;
  before(async () => {
    tdb = await createTestDb('mysql');
    await createWhmcsTables(tdb.db);
  });
  after(async () => {
    await tdb?.db.raw(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => {});
    await tdb?.drop();
  });
  const env = (url: string) => ({ HOSTBRIDGE_DATABASE_URL: url, HOSTBRIDGE_SECRET: TEST_SECRET, HOSTBRIDGE_MASTER_KEY: TEST_MASTER_KEY });

  test('root on WHMCS\'s database passes: version, grants on its own tables and the WHMCS tables it reads, clock', async () => {
    const r = await doctor(freshDir(), env(tdb.url));
    assert.equal(r.code, 0, show(r));
    assert.match(lineOf(r, 'db version').text, /^MariaDB (1[1-9]|10\.(6|7|8|9|1\d))/);
    assert.equal(lineOf(r, 'grants').status, 'ok', show(r));
    assert.match(lineOf(r, 'grants').text, /may create, alter and write its own mod_hostbridge_\* tables \(\d+ present\) and read tblhosting/);
    assert.equal(lineOf(r, 'clock').status, 'ok');
    const schema = tdb.config.client === 'mysql2' ? tdb.config.database : '';
    assert.equal((await tdb.db('information_schema.tables').where({ table_schema: schema, table_name: 'mod_hostbridge_doctor_probe' })).length, 0, 'the probe table is gone');
  });

  test('a user without CREATE, on a database with no hostbridge table yet, is told which privilege is missing and the GRANT to run; its migrate says to use the migration account', async () => {
    const fresh = await createTestDb('mysql', { migrate: false });
    try {
      const db = fresh.config.client === 'mysql2' ? fresh.config.database : '';
      await createWhmcsTables(fresh.db);
      await tdb.db.raw(`CREATE USER '${user}'@'%' IDENTIFIED BY 'doctor-user-pw-123'`);
      await tdb.db.raw(`GRANT SELECT, INSERT, UPDATE, DELETE, DROP ON \`${db}\`.* TO '${user}'@'%'`);
      const url = `mysql://${user}:doctor-user-pw-123@${MYSQL_ADMIN.hostname}:${MYSQL_ADMIN.port || 3306}/${db}`;
      const r = await doctor(freshDir(), env(url));
      assert.equal(r.code, 1, show(r));
      const line = lineOf(r, 'grants');
      assert.equal(line.status, 'FAIL');
      assert.match(line.text, new RegExp(`^${user} may not CREATE its own mod_hostbridge_\\* tables in ${db} \\(CREATE command denied.*none of them exists yet`));
      assert.match(line.fix, /hostbridge migrate" with the migration account of docs\/install\.md/);
      assert.match(line.fix, new RegExp(`GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP ON \`${db}\`\\.\\* TO '${user}'`));
      assert.ok(!r.stdout.includes('doctor-user-pw-123'));
      // migrate as that account: the refusal and what to do, not an "unexpected error" with a stack trace.
      const migrate = await doctor(freshDir(), env(url), ['migrate']);
      assert.equal(migrate.code, 1, show(migrate));
      assert.match(migrate.stderr, /^hostbridge: the database refused a migration: CREATE command denied to user .* Migrate as the account that may change the schema: the migration account of docs\/install\.md/m);
      assert.doesNotMatch(migrate.stderr, /unexpected error|\n\s+at /);
    } finally {
      await fresh.drop();
    }
  });

  test('the daemon account of docs/install.md (rows of its own tables, a grant each; tblhosting and tblclients.id read) passes; a table left out of its grants is named', async () => {
    const db = tdb.config.client === 'mysql2' ? tdb.config.database : '';
    const daemonUser = `${user}_d`;
    await tdb.db.raw(`CREATE USER '${daemonUser}'@'%' IDENTIFIED BY 'doctor-user-pw-456'`);
    try {
      const tables = (await tdb.db('information_schema.tables').where('table_schema', db).where('table_name', 'like', 'mod\\_hostbridge\\_%').pluck('table_name')).map(String);
      assert.ok(tables.includes(T.adminActions));
      for (const table of tables.filter((n) => n !== T.adminActions)) {
        await tdb.db.raw(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${db}\`.\`${table}\` TO '${daemonUser}'@'%'`);
      }
      await tdb.db.raw(`GRANT SELECT ON \`${db}\`.\`tblhosting\` TO '${daemonUser}'@'%'`);
      const url = `mysql://${daemonUser}:doctor-user-pw-456@${MYSQL_ADMIN.hostname}:${MYSQL_ADMIN.port || 3306}/${db}`;
      const missing = await doctor(freshDir(), env(url));
      assert.equal(missing.code, 1, show(missing));
      const line = lineOf(missing, 'grants');
      assert.equal(line.status, 'FAIL', show(missing));
      assert.match(line.text, new RegExp(`^${daemonUser} may not SELECT ${T.adminActions} \\(SELECT command denied`));
      assert.match(line.fix, new RegExp(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${db}\`\\.\`${T.adminActions}\` TO '${daemonUser}'`));

      await tdb.db.raw(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${db}\`.\`${T.adminActions}\` TO '${daemonUser}'@'%'`);
      // The ticket delivery finds the service's client through tblclients: its id, nothing more.
      const noClients = await doctor(freshDir(), env(url));
      assert.equal(noClients.code, 1, show(noClients));
      assert.match(lineOf(noClients, 'grants').text, new RegExp(`^${daemonUser} may not read the WHMCS table tblclients`));
      assert.match(lineOf(noClients, 'grants').fix, new RegExp(`GRANT SELECT \\(id\\) ON \`${db}\`\\.\`tblclients\` TO '${daemonUser}'`));
      await tdb.db.raw(`GRANT SELECT (id) ON \`${db}\`.\`tblclients\` TO '${daemonUser}'@'%'`);
      const r = await doctor(freshDir(), env(url));
      assert.equal(r.code, 0, show(r));
      const okLine = lineOf(r, 'grants');
      assert.equal(okLine.status, 'ok', show(r));
      assert.match(okLine.text, new RegExp(`^${daemonUser} may write its own mod_hostbridge_\\* tables \\(${tables.length} present\\) and read tblhosting, tblclients; it may not change the schema \\(DROP refused\\)`));
      assert.ok(!r.stdout.includes('doctor-user-pw-456'));
    } finally {
      await tdb.db.raw(`DROP USER IF EXISTS '${daemonUser}'@'%'`).catch(() => {});
    }
  });

  test('clock skew: in step passes, above 2 s warns, above 30 s fails', async () => {
    assert.equal((await checkClock(tdb.db, 5_000)).status, 'ok');
    const ahead = (ms: number) => () => Date.now() + ms;
    const w = await checkClock(tdb.db, 5_000, ahead(5_000));
    assert.equal(w.status, 'warn');
    assert.match(w.what, /^database behind by 5\.0 s/);
    const f = await checkClock(tdb.db, 5_000, ahead(-60_000));
    assert.equal(f.status, 'fail');
    assert.match(f.what, /^database ahead by 60\.0 s .*: above 30 s, leases expire early or late/);
  });
});

describe('supported database servers', () => {
  test('MySQL 8 and MariaDB 10.6 or later; older ones lack SKIP LOCKED', () => {
    assert.equal(judgeServerVersion('8.0.36').supported, true);
    assert.equal(judgeServerVersion('8.4.0-log').supported, true);
    assert.equal(judgeServerVersion('5.7.44').supported, false);
    assert.equal(judgeServerVersion('10.6.16-MariaDB').supported, true);
    assert.equal(judgeServerVersion('11.4.2-MariaDB-ubu2404').supported, true);
    assert.equal(judgeServerVersion('10.5.23-MariaDB').supported, false);
    assert.equal(judgeServerVersion('10.11.6-MariaDB-0+deb12u1').label, 'MariaDB 10.11.6');
  });
});
