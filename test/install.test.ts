// docs/install.md, checked: the shipped systemd unit passes systemd-analyze, a SIGTERM lets running
// tasks finish within the unit's stop timeout, and the database grants the document gives (read
// from the document itself) are enough to migrate and run the daemon and no more.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import { createTestDb, MYSQL_ADMIN, waitFor, type TestDb } from './helpers/db.ts';
import { CLI, ROOT, TEST_MASTER_KEY, TEST_SECRET, TSX, daemonEnv, startDaemonProcess } from './helpers/daemon.ts';
import { TEST_SERVE } from './helpers/task-types.ts';
import { call } from './helpers/api.ts';
import { createWhmcsTables } from './helpers/whmcs.ts';
import { createServiceWithChain } from '../daemon/engine/chains.ts';
import { T } from '../daemon/common/tables.ts';
import { clientOfService } from '../daemon/whmcs/ticket-delivery.ts';

const UNIT = path.join(ROOT, 'deploy/systemd/hostbridge.service');
const INSTALL_DOC = path.join(ROOT, 'docs/install.md');
/** How long the engine lets running tasks finish on stop (Engine.stop's graceMs default). */
const ENGINE_GRACE_MS = 10_000;

/** The unit's settings as key → values (a key may repeat). */
function unitSettings(): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of fs.readFileSync(UNIT, 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) settings.set(m[1], [...(settings.get(m[1]) ?? []), m[2]]);
  }
  return settings;
}

function seconds(value: string): number {
  const m = /^(\d+)(s|min)?$/.exec(value);
  assert.ok(m, `a duration in seconds or minutes, got ${value}`);
  return Number(m[1]) * (m[2] === 'min' ? 60 : 1);
}

describe('the systemd unit', () => {
  test('passes systemd-analyze verify with no warning', () => {
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    assert.ok(!r.error, `systemd-analyze could not run (Debian package systemd): ${r.error?.message}`);
    const about = r.stderr.split('\n').filter((l) => l.includes('hostbridge.service'));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(about, [], 'systemd-analyze warned about the unit');
  });

  test('runs as its own user, hardened, and stops after running tasks had their time', () => {
    const s = unitSettings();
    const one = (k: string) => s.get(k)?.[0];
    assert.equal(one('User'), 'hostbridge');
    assert.equal(one('StateDirectory'), 'hostbridge');
    for (const k of ['NoNewPrivileges', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'LockPersonality']) {
      assert.equal(one(k), 'yes', k);
    }
    assert.equal(one('ProtectSystem'), 'strict');
    assert.equal(one('CapabilityBoundingSet'), '');
    assert.equal(one('RestrictAddressFamilies'), 'AF_UNIX AF_INET AF_INET6');
    assert.equal(one('SystemCallFilter'), '@system-service');
    assert.equal(s.has('MemoryDenyWriteExecute'), false, 'V8 needs writable and executable memory');
    assert.equal(one('Restart'), 'on-failure');
    assert.ok(Number(one('StartLimitBurst')) > 0, 'restarts are limited');
    assert.equal(one('KillSignal'), 'SIGTERM');
    assert.equal(one('KillMode'), 'mixed');
    assert.ok(seconds(one('TimeoutStopSec') ?? '0') * 1000 >= ENGINE_GRACE_MS + 10_000, 'the stop timeout leaves the engine its grace and time to close');
    assert.match(one('ExecStart') ?? '', /^\/usr\/bin\/node .*\/opt\/hostbridge\/current\/daemon\/cli\.js serve$/);
  });
});

describe('SIGTERM (systemctl stop)', () => {
  let t: TestDb;
  before(async () => {
    t = await createTestDb('sqlite');
  });
  after(async () => t.drop());

  const sleepTask = async (whmcsServiceId: number, ms: number) => {
    const r = await createServiceWithChain(t.db, { whmcsServiceId, mode: 'split' }, {
      operation: 'create', successState: 'active', failureState: 'failed',
      steps: [{ step: 'sleep', type: 'builtin.sleep', target: `node-${whmcsServiceId}`, args: { ms } }],
    });
    return Number((await t.db(T.tasks).where('chain_id', r.chainId).first('id')).id);
  };

  test('lets a running task finish, then exits 0', { timeout: 60_000 }, async () => {
    const d = await startDaemonProcess(daemonEnv(t.url, { HOSTBRIDGE_POLL_MS: '50' }), path.join(t.dir, 'drain.log'), 30_000, TEST_SERVE);
    try {
      const id = await sleepTask(1, 3000);
      await waitFor('the task running', async () => (await t.db(T.tasks).where({ id, status: 'running' }).first('id')) ?? null);
      const signalled = Date.now();
      d.child.kill('SIGTERM');
      const log = path.join(t.dir, 'drain.log');
      await waitFor('the daemon taking the signal', async () => fs.readFileSync(log, 'utf8').includes('SIGTERM received'));
      const queued = await sleepTask(2, 10);
      const code = await d.exited;
      assert.equal(code, 0, 'a clean stop exits 0 (Restart=on-failure does not restart it)');
      const task = await t.db(T.tasks).where({ id }).first('status');
      assert.equal(task.status, 'succeeded', 'the running task finished');
      const took = Date.now() - signalled;
      assert.ok(took < ENGINE_GRACE_MS - 2000, `it exited as soon as the task was done, not after the whole grace (${took} ms)`);
      const other = await t.db(T.tasks).where({ id: queued }).first('status');
      assert.equal(other.status, 'queued', 'nothing new was claimed after the signal');
      assert.match(fs.readFileSync(log, 'utf8'), /"message":"stopped"/, 'its last log line is written before it exits');
    } finally {
      await d.kill('SIGKILL');
    }
  });

  test('a task longer than the grace is aborted and left for a daemon to run again, within the stop timeout', { timeout: 60_000 }, async () => {
    const d = await startDaemonProcess(daemonEnv(t.url, { HOSTBRIDGE_POLL_MS: '50' }), path.join(t.dir, 'drain-long.log'), 30_000, TEST_SERVE);
    try {
      const id = await sleepTask(3, 120_000);
      await waitFor('the task running', async () => (await t.db(T.tasks).where({ id, status: 'running' }).first('id')) ?? null);
      const signalled = Date.now();
      const code = await d.kill('SIGTERM');
      const took = Date.now() - signalled;
      assert.equal(code, 0);
      assert.ok(took >= ENGINE_GRACE_MS - 500, `it waited for the task (${took} ms)`);
      assert.ok(took < seconds(unitSettings().get('TimeoutStopSec')![0]) * 1000, `it exited before systemd's SIGKILL (${took} ms)`);
      const task = await t.db(T.tasks).where({ id }).first('status');
      assert.notEqual(task.status, 'failed', 'the aborted task is not failed: it runs again');
      assert.notEqual(task.status, 'succeeded');
    } finally {
      await d.kill('SIGKILL');
    }
  });
});

/** The SQL block that follows the `<!-- <marker>` comment in docs/install.md. */
function documentedBlock(marker: string): string {
  const doc = fs.readFileSync(INSTALL_DOC, 'utf8');
  const m = new RegExp(`<!-- ${marker}[^\\n]*-->\\n\`\`\`sql\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  assert.ok(m, `docs/install.md has its ${marker} block`);
  return m[1];
}

describe('the database grants of docs/install.md on MariaDB', () => {
  let t: TestDb;
  let root: Knex;
  const suffix = crypto.randomBytes(3).toString('hex');
  const runtimeUser = `hb_run_${suffix}`;
  const migrateUser = `hb_mig_${suffix}`;
  const runtimePassword = crypto.randomBytes(12).toString('hex');
  const migratePassword = crypto.randomBytes(12).toString('hex');
  const host = MYSQL_ADMIN.hostname === '127.0.0.1' ? '127.0.0.1' : '%';
  let database = '';
  const urlOf = (user: string, password: string) => `mysql://${user}:${password}@${MYSQL_ADMIN.hostname}:${MYSQL_ADMIN.port || 3306}/${database}`;
  const as = (user: string, password: string) => knex({
    client: 'mysql2', pool: { min: 0, max: 1 },
    connection: { host: MYSQL_ADMIN.hostname, port: Number(MYSQL_ADMIN.port || 3306), user, password, database },
  });
  /**
   * The installed command line (deploy/hostbridge-cli, /usr/local/sbin/hostbridge) over this checkout:
   * hostbridge.env holds the daemon's account, migrate.env the migration account, as section 4 says.
   */
  const installedCli = (args: string[], withMigrateEnv = true) => {
    const etc = path.join(t.dir, 'etc');
    fs.mkdirSync(etc, { recursive: true });
    fs.writeFileSync(path.join(etc, 'hostbridge.env'), [
      `HOSTBRIDGE_DATABASE_URL=${urlOf(runtimeUser, runtimePassword)}`, `HOSTBRIDGE_SECRET=${TEST_SECRET}`,
      `HOSTBRIDGE_MASTER_KEY=${TEST_MASTER_KEY}`, 'HOSTBRIDGE_LOG_FORMAT=text', ''].join('\n'), { mode: 0o600 });
    fs.writeFileSync(path.join(etc, 'migrate.env'), `HOSTBRIDGE_DATABASE_URL=${urlOf(migrateUser, migratePassword)}\n`, { mode: 0o600 });
    return spawnSync(path.join(ROOT, 'deploy/hostbridge-cli'), args, {
      cwd: t.dir, encoding: 'utf8',
      env: {
        PATH: process.env.PATH, HOME: process.env.HOME, HOSTBRIDGE_ENV_FILE: path.join(etc, 'hostbridge.env'), HOSTBRIDGE_HOME: ROOT,
        HOSTBRIDGE_USER: os.userInfo().username, HOSTBRIDGE_STATE_DIR: t.dir,
        HOSTBRIDGE_MIGRATE_ENV_FILE: path.join(etc, withMigrateEnv ? 'migrate.env' : 'absent.env'),
      },
    });
  };
  const cli = (url: string, args: string[], input?: string) => spawnSync(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: t.dir, encoding: 'utf8', input, env: daemonEnv(url, { HOSTBRIDGE_LOG_FORMAT: 'text' }),
  });

  before(async () => {
    t = await createTestDb('mysql', { migrate: false });
    database = (t.config as { database: string }).database;
    await createWhmcsTables(t.db);
    await t.db('tblclients').insert({ firstname: 'Ann', lastname: 'Lee', email: 'ann@example.com' });
    await t.db('tblhosting').insert({ userid: 1, packageid: 1, server: 1, regdate: '2026-01-01', domain: 'example.com', username: 'ann', password: 'x' });
    root = t.db;
  });
  after(async () => {
    for (const u of [runtimeUser, migrateUser]) await root.raw(`DROP USER IF EXISTS '${u}'@'${host}'`).catch(() => {});
    await t.drop();
  });

  /** Runs a grants block of the document as root, with its placeholders replaced; returns the tables it grants. */
  const runBlock = async (marker: string): Promise<Set<string>> => {
    const sql = documentedBlock(marker)
      .replaceAll('`whmcs`.', `\`${database}\`.`)
      .replaceAll("'hostbridge_migrate'@'192.0.2.10'", `'${migrateUser}'@'${host}'`)
      .replaceAll("'hostbridge'@'192.0.2.10'", `'${runtimeUser}'@'${host}'`)
      .replaceAll("'CHANGE-ME-TOO'", `'${migratePassword}'`)
      .replaceAll("'CHANGE-ME'", `'${runtimePassword}'`);
    assert.doesNotMatch(sql, /192\.0\.2\.10|CHANGE-ME|`whmcs`/, 'every placeholder of the block was replaced');
    const statements = sql.split('\n').filter((l) => l.trim() && !l.startsWith('--')).join('\n').split(/;\s*\n?/).map((s) => s.trim()).filter(Boolean);
    assert.ok(statements.length > 10);
    const tables = new Set<string>();
    for (const s of statements) {
      await root.raw(s);
      const g = /^GRANT .* ON `[^`]+`\.`([^`]+)` TO /.exec(s);
      if (g) tables.add(g[1]);
    }
    return tables;
  };
  let migrateTables = new Set<string>();
  let runtimeTables = new Set<string>();

  test('the migration account migrates, then the daemon account is granted; every table the migrations create is named', { timeout: 120_000 }, async () => {
    migrateTables = await runBlock('grants-migrate');
    const asDaemon = installedCli(['migrate'], false);
    // The daemon's account is created only after migrating: a migrate that connects as it is refused,
    // so the one below, which succeeds, connected as migrate.env's account.
    assert.notEqual(asDaemon.status, 0, 'without migrate.env, migrate connects as hostbridge.env\'s account');
    assert.match(asDaemon.stderr, new RegExp(`Access denied for user '${runtimeUser}'`), asDaemon.stderr);
    const r = installedCli(['migrate']);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /applied: /);
    const rows = await root.raw(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? AND table_name LIKE 'mod\\_hostbridge\\_%'`, [database]);
    const created = (rows[0] as Array<{ name: string }>).map((x) => x.name).sort();
    assert.ok(created.length > 20);
    runtimeTables = await runBlock('grants-daemon');
    for (const [name, granted] of [['migration', migrateTables], ['daemon', runtimeTables]] as const) {
      assert.deepEqual(created.filter((n) => !granted.has(n)), [], `docs/install.md grants the ${name} account every table the migrations create`);
      assert.deepEqual([...granted].filter((n) => n.startsWith('mod_hostbridge_') && !created.includes(n)), [], `and the ${name} account no table that does not exist`);
    }
    assert.deepEqual([...runtimeTables].filter((n) => !n.startsWith('mod_hostbridge_')), ['tblhosting', 'tblclients'], 'of WHMCS\'s tables, the daemon reads tblhosting and tblclients (its id)');
    assert.deepEqual([...migrateTables].filter((n) => !n.startsWith('mod_hostbridge_')), [], 'the migration account has none of WHMCS\'s tables');
    const status = cli(urlOf(runtimeUser, runtimePassword), ['migrate', '--status']);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /up to date/, 'the daemon account sees the migrations applied');
  });

  test('the daemon runs as its account: serves, answers, writes its settings and runs its scheduler', { timeout: 120_000 }, async () => {
    const url = urlOf(runtimeUser, runtimePassword);
    const d = await startDaemonProcess(daemonEnv(url), path.join(t.dir, 'serve.log'));
    try {
      assert.equal((await fetch(`${d.url}/healthz`)).status, 200);
      const status = await call(d.url, 'GET', '/v1/status');
      assert.equal(status.status, 200, JSON.stringify(status.body));
      const set = cli(url, ['set', 'retry.max_attempts', '7']);
      assert.equal(set.status, 0, set.stderr);
      const tick = cli(url, ['tick']);
      assert.equal(tick.status, 0, tick.stderr + tick.stdout);
      const jobs = installedCli(['jobs']);
      assert.equal(jobs.status, 0, jobs.stderr);
    } finally {
      assert.equal(await d.kill('SIGTERM'), 0);
    }
  });

  test('and no more: the daemon\'s account reads tblhosting only, and cannot touch the schema', async () => {
    const db = as(runtimeUser, runtimePassword);
    try {
      assert.equal((await db('tblhosting').where('id', 1).first('userid')).userid, 1, 'it reads the client of a service');
      // The ticket delivery's own read (tblhosting joined to tblclients): a refused read would send
      // every ticket from the configured sender instead of for the client.
      assert.equal(await clientOfService(db, 1), 1, 'it finds the client of a service as the ticket delivery does');
      const refused = async (what: string, q: () => Promise<unknown>) => {
        await assert.rejects(q, (err: Error & { code?: string }) => {
          assert.match(String(err.code), /^ER_(TABLEACCESS|COLUMNACCESS|DBACCESS)_DENIED_ERROR$/, `${what}: ${err.message}`);
          return true;
        }, what);
      };
      await refused('write tblhosting', () => db('tblhosting').where('id', 1).update({ domainstatus: 'Terminated' }));
      await refused('insert into tblhosting', () => db('tblhosting').insert({ userid: 1, packageid: 1, server: 1, regdate: '2026-01-01', domain: 'x', username: 'x', password: 'x' }));
      await refused('read tblclients', () => db('tblclients').select('email'));
      await refused('read tbltickets', () => db('tbltickets').select('id'));
      await refused('create a table', () => db.raw('CREATE TABLE mod_hostbridge_extra (id int)'));
      await refused('drop its own table', () => db.raw('DROP TABLE mod_hostbridge_settings'));
      await refused('alter its own table', () => db.raw('ALTER TABLE mod_hostbridge_settings ADD COLUMN x int'));
    } finally {
      await db.destroy();
    }
    const mig = as(migrateUser, migratePassword);
    try {
      await assert.rejects(() => mig('tblhosting').select('id'), /denied/, 'the migration account reads nothing of WHMCS');
      await assert.rejects(() => mig.raw('CREATE TABLE tblextra (id int)'), /denied/, 'nor creates tables outside its own');
    } finally {
      await mig.destroy();
    }
  });
});
