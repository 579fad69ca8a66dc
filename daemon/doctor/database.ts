// The database checks of hostbridge doctor: reachable (and which), a server version the queue works
// on, the grants the daemon needs, migrations current, and the clock the leases are measured by.
import fs from 'node:fs';
import type { Knex } from 'knex';
import type { DatabaseConfig } from '../config/config.ts';
import { dbNow, dialectOf } from '../db/connect.ts';
import { migrationState } from '../db/migrate.ts';
import { T } from '../common/tables.ts';
import { fail, ok, reason, warn, within, type CheckResult } from './check.ts';

/** The WHMCS tables the daemon reads (never writes): it needs SELECT on them, nothing more. */
export const WHMCS_TABLES_READ = ['tblhosting', 'tblclients'] as const;
/** Of tblclients only `id` (whether the service's client still exists), so it is granted that column alone. */
const WHMCS_COLUMNS_READ: Partial<Record<(typeof WHMCS_TABLES_READ)[number], string>> = { tblclients: 'id' };

/** Skew above which leases and retry times drift noticeably, and above which they break. */
export const CLOCK_WARN_MS = 2_000;
export const CLOCK_FAIL_MS = 30_000;

export function describeDatabase(cfg: DatabaseConfig): string {
  return cfg.client === 'mysql2' ? cfg.url : `SQLite file ${cfg.filename}`;
}

/** `select 1`, and what the server is: the check every other database check needs. */
export async function checkReachable(db: Knex, cfg: DatabaseConfig, timeoutMs: number): Promise<CheckResult> {
  try {
    await within(timeoutMs, () => db.raw('select 1'));
  } catch (err) {
    if (cfg.client === 'better-sqlite3') {
      return fail('database', `cannot open the SQLite file ${cfg.filename}: ${reason(err)}`,
        `check that the directory exists and that the daemon's user may write it (HOSTBRIDGE_DATA_DIR / HOSTBRIDGE_DATABASE_URL)`);
    }
    return fail('database', `cannot reach MySQL/MariaDB at ${cfg.url}: ${reason(err)}`,
      `check HOSTBRIDGE_DATABASE_URL (host ${cfg.host}, port ${cfg.port}, database ${cfg.database}), that the server runs and accepts connections from this host, and the user's password`);
  }
  return ok('database', `reachable: ${cfg.client === 'mysql2' ? `MySQL/MariaDB at ${cfg.url}` : `SQLite file ${cfg.filename}`}`);
}

/** MySQL 8 or MariaDB ≥ 10.6: the first versions with SKIP LOCKED, which the queue claims with. */
export function judgeServerVersion(version: string): { supported: boolean; label: string } {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  const mariadb = /mariadb/i.test(version);
  const label = `${mariadb ? 'MariaDB' : 'MySQL'} ${m ? m.slice(1).filter(Boolean).join('.') : version}`;
  if (!m) return { supported: false, label };
  const [major, minor] = [Number(m[1]), Number(m[2])];
  // MariaDB 5.5–10.x, and 11+; MySQL 5.x and 8+. MariaDB's own numbering never reached 8 or 9.
  if (mariadb) return { supported: major > 10 || (major === 10 && minor >= 6), label };
  return { supported: major >= 8, label };
}

export async function checkServerVersion(db: Knex, timeoutMs: number): Promise<CheckResult> {
  if (dialectOf(db) === 'sqlite') {
    const row = await within(timeoutMs, () => db.raw('select sqlite_version() as v')) as Array<{ v: string }>;
    return ok('db version', `SQLite ${row[0]?.v ?? '?'} (embedded: one daemon, demos and a first look; production is MySQL 8 / MariaDB ≥ 10.6)`);
  }
  const [rows] = await within(timeoutMs, () => db.raw('select version() as v')) as [Array<{ v: string }>];
  const version = String(rows[0]?.v ?? '');
  const { supported, label } = judgeServerVersion(version);
  if (supported) return ok('db version', `${label} (${version})`);
  return fail('db version', `${label} is not supported: the task queue needs SELECT … FOR UPDATE SKIP LOCKED`,
    'upgrade to MySQL 8.0 or later, or MariaDB 10.6 or later (the versions WHMCS itself recommends)');
}

interface Probe { sql: string; privilege: string }

const DENIED = new Set(['ER_TABLEACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_COLUMNACCESS_DENIED_ERROR', 'ER_SPECIFIC_ACCESS_DENIED_ERROR', 'ER_ACCESS_DENIED_ERROR']);
const denied = (err: unknown) => DENIED.has((err as { code?: string }).code ?? '');
/** The server's own words, without the statement knex puts in front. */
const sqlReason = (err: unknown) => (err as { sqlMessage?: string }).sqlMessage ?? reason(err);

/**
 * What the daemon's user may do, tried rather than read from SHOW GRANTS (grants come by user,
 * host, database, table and role; trying is the one answer that covers them all): create, alter,
 * index, write and drop a table of its own prefix (dropped again at once), read and write every
 * hostbridge table there is (statements that match no row), and read the WHMCS tables it reads.
 */
export async function checkGrants(db: Knex, cfg: DatabaseConfig, timeoutMs: number): Promise<CheckResult> {
  if (cfg.client === 'better-sqlite3') {
    try {
      fs.accessSync(cfg.filename, fs.constants.R_OK | fs.constants.W_OK);
      return ok('grants', `n/a on SQLite: the file is the daemon's own, and it may read and write it`);
    } catch (err) {
      return fail('grants', `the daemon's user may not read and write ${cfg.filename}: ${(err as NodeJS.ErrnoException).code ?? reason(err)}`,
        `give the daemon's user the file and its directory (chown, chmod 600)`);
    }
  }
  const user = `'${cfg.user}'`;
  const grantOwn = `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP ON \`${cfg.database}\`.* TO ${user}@'<daemon host>'`;
  return within(timeoutMs, async () => {
    const probe = 'mod_hostbridge_doctor_probe';
    const steps: Probe[] = [
      { sql: `DROP TABLE IF EXISTS ${probe}`, privilege: 'DROP' },
      { sql: `CREATE TABLE ${probe} (id INT NOT NULL PRIMARY KEY, v INT NULL) ENGINE=InnoDB`, privilege: 'CREATE' },
      { sql: `ALTER TABLE ${probe} ADD COLUMN w INT NULL`, privilege: 'ALTER' },
      { sql: `CREATE INDEX ${probe}_v ON ${probe} (v)`, privilege: 'INDEX' },
      { sql: `INSERT INTO ${probe} (id, v) VALUES (1, 1)`, privilege: 'INSERT' },
      { sql: `UPDATE ${probe} SET v = 2 WHERE id = 1`, privilege: 'UPDATE' },
      { sql: `SELECT v FROM ${probe} WHERE id = 1`, privilege: 'SELECT' },
      { sql: `DELETE FROM ${probe} WHERE id = 1`, privilege: 'DELETE' },
      { sql: `DROP TABLE ${probe}`, privilege: 'DROP' },
    ];
    // Schema rights are needed only to migrate: docs/install.md gives them to a migration account of
    // their own and grants the daemon's account rows of its tables, one table each. So a refusal here
    // is only a failure when no hostbridge table exists yet for this account to use.
    let schemaRefused: { privilege: string; reason: string } | undefined;
    for (const step of steps) {
      try {
        await db.raw(step.sql);
      } catch (err) {
        if (!denied(err)) throw err;
        schemaRefused = { privilege: step.privilege, reason: sqlReason(err) };
        await db.raw(`DROP TABLE IF EXISTS ${probe}`).catch(() => {});
        break;
      }
    }
    // Every table of this release, tried by name: information_schema lists only the tables the user
    // holds a grant on, so a table missing from the grants would not be seen there.
    const own = [...Object.values(T), `${T.migrations}_lock`];
    const present: string[] = [];
    for (const table of own) {
      for (const [sql, privilege] of [
        [`SELECT 1 FROM \`${table}\` LIMIT 0`, 'SELECT'],
        [`DELETE FROM \`${table}\` WHERE 1 = 0`, 'DELETE'],
        [`INSERT INTO \`${table}\` SELECT * FROM \`${table}\` WHERE 1 = 0`, 'INSERT'],
      ] as const) {
        try {
          await db.raw(sql);
        } catch (err) {
          if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') break;
          if (!denied(err)) throw err;
          return fail('grants', `${cfg.user} may not ${privilege} ${table} (${sqlReason(err)})`,
            `as a MySQL admin: GRANT SELECT, INSERT, UPDATE, DELETE ON \`${cfg.database}\`.\`${table}\` TO ${user}@'<daemon host>' (the daemon account's block of docs/install.md, run after "hostbridge migrate" has created the table); or, one account for everything: ${grantOwn}`);
        }
        if (privilege === 'SELECT') present.push(table);
      }
    }
    if (schemaRefused && present.length === 0) {
      return fail('grants', `${cfg.user} may not ${schemaRefused.privilege} its own mod_hostbridge_* tables in ${cfg.database} (${schemaRefused.reason}), and none of them exists yet`,
        `run "hostbridge migrate" with the migration account of docs/install.md (/etc/hostbridge/migrate.env), then grant this account its tables; or, one account for everything, as a MySQL admin: ${grantOwn}; see docs/doctor.md`);
    }
    const missing: string[] = [];
    for (const table of WHMCS_TABLES_READ) {
      try {
        await db.raw(`SELECT ${WHMCS_COLUMNS_READ[table] ?? '1'} FROM \`${table}\` LIMIT 0`);
      } catch (err) {
        if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE') {
          missing.push(table);
          continue;
        }
        if (!denied(err)) throw err;
        return fail('grants', `${cfg.user} may not read the WHMCS table ${table} (${sqlReason(err)})`,
          `as a MySQL admin: GRANT SELECT${WHMCS_COLUMNS_READ[table] ? ` (${WHMCS_COLUMNS_READ[table]})` : ''} ON \`${cfg.database}\`.\`${table}\` TO ${user}@'<daemon host>' (read only: the daemon never writes WHMCS's tables)`);
      }
    }
    if (missing.length) {
      return warn('grants', `${cfg.user} may ${schemaRefused ? '' : 'create, alter and '}write its own tables, but ${missing.join(', ')} is not in ${cfg.database}: this is not WHMCS's database`,
        `point HOSTBRIDGE_DATABASE_URL at WHMCS's own database (configuration.php's $db_name), so tickets can name the service's client`);
    }
    if (schemaRefused) {
      return ok('grants', `${cfg.user} may write its own mod_hostbridge_* tables (${present.length} present) and read ${WHMCS_TABLES_READ.join(', ')}; it may not change the schema (${schemaRefused.privilege} refused), so "hostbridge migrate" needs the migration account (docs/install.md)`);
    }
    return ok('grants', `${cfg.user} may create, alter and write its own mod_hostbridge_* tables (${present.length} present) and read ${WHMCS_TABLES_READ.join(', ')}`);
  });
}

/**
 * Unknown migrations fail (a newer daemon migrated the database). Pending ones fail too, since a
 * daemon refuses to start on an old schema, except where they are applied on their own: on a fresh,
 * empty database (the first "hostbridge migrate" or "serve --migrate", as npm start runs, sets it
 * up), or with HOSTBRIDGE_MIGRATE_ON_START; there they are a warning.
 */
export async function checkMigrations(db: Knex, timeoutMs: number, migrateOnStart = false): Promise<CheckResult> {
  const { applied, pending, unknown } = await within(timeoutMs, () => migrationState(db));
  if (unknown.length) {
    return fail('migrations', `the database has ${unknown.length} migration(s) this daemon does not know (${unknown.join(', ')}): a newer hostbridge migrated it`,
      'upgrade this daemon to the release the others run (every daemon on one database runs the same release); see docs/install.md on upgrading');
  }
  const fix = 'run "hostbridge migrate" (or start with "hostbridge serve --migrate"); the daemon refuses to start on an old schema';
  if (pending.length && applied.length === 0) {
    return warn('migrations', `a fresh database: none of the ${pending.length} migrations is applied yet${migrateOnStart ? ' (HOSTBRIDGE_MIGRATE_ON_START applies them)' : ''}`, fix);
  }
  if (pending.length) {
    const text = `${pending.length} migration(s) pending: ${pending.join(', ')}`;
    return migrateOnStart ? warn('migrations', `${text} (HOSTBRIDGE_MIGRATE_ON_START applies them when the daemon starts)`, fix) : fail('migrations', text, fix);
  }
  return ok('migrations', `current: ${applied.length} applied, none pending`);
}

/** How far the database's clock is from this host's: leases and retry times are taken on the database's. */
export async function checkClock(db: Knex, timeoutMs: number, localNow: () => number = Date.now): Promise<CheckResult> {
  if (dialectOf(db) === 'sqlite') {
    return ok('clock', 'n/a on SQLite: the database clock is this host\'s');
  }
  const t0 = localNow();
  const remote = await within(timeoutMs, () => dbNow(db));
  const t1 = localNow();
  const skew = remote - (t0 + t1) / 2;
  const abs = Math.abs(skew);
  const measured = `measured within ${Math.ceil((t1 - t0) / 2)} ms`;
  const text = abs < 100 ? `in step with this host (${measured})` : `${skew >= 0 ? 'database ahead' : 'database behind'} by ${(abs / 1000).toFixed(1)} s (${measured})`;
  const fix = 'run NTP on both hosts (systemd-timesyncd or chrony); leases and retry times are measured on the database clock, a daemon\'s own timers on its host\'s';
  if (abs > CLOCK_FAIL_MS) return fail('clock', `${text}: above ${CLOCK_FAIL_MS / 1000} s, leases expire early or late`, fix);
  if (abs > CLOCK_WARN_MS) return warn('clock', `${text}: above ${CLOCK_WARN_MS / 1000} s`, fix);
  return ok('clock', text);
}
