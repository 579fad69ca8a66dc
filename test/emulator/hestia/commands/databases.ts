// Databases: v-add-database, v-delete-database, v-change-database-password, v-change-database-user,
// v-(un)suspend-database, v-list-databases (bin/ and func/db.sh at d128cc6). No SQL server is
// behind them: db.conf, the host's U_DB_BASES and the user's counters are what a test can see.
import { existsSync } from 'node:fs';
import { type Obj, readKeyFile, readObjects, writeKeyFile, writeObjects } from '../conf.ts';
import { E, fail } from '../errors.ts';
import { nowStamp, paths } from '../node.ts';
import { columnT, jsonObjects, pick, plainRows } from '../output.ts';
import * as v from '../validate.ts';
import { type Ctx, objFrom } from './ctx.ts';
import type { Command } from './types.ts';
import { passwordHash } from './users.ts';

const LIST_KEYS = ['DATABASE', 'DBUSER', 'HOST', 'TYPE', 'CHARSET', 'U_DISK', 'SUSPENDED', 'TIME', 'DATE'];
const NAME_EXCLUDE = /[!|@#$^&*()+={}:,<>?/\\"';%` ]/;

/** is_database_format_valid: the excluded characters, shorter than 64. */
function databaseFormat(value: string): void {
  if (NAME_EXCLUDE.test(value) || value.length >= 64 || value.includes('\n')) fail(E.INVALID, `invalid database format :: ${value}`);
}

/** is_dbuser_format_valid: length first (its own message), then the characters. */
function dbuserFormat(value: string): void {
  if (value.length >= 33) fail(E.INVALID, 'mysql username can be up to 32 characters long');
  if (NAME_EXCLUDE.test(value) || value.includes('\n')) fail(E.INVALID, `invalid dbuser format :: ${value}`);
}

/**
 * Registers a database server as the installer (or v-add-database-host) does: one line in
 * $HESTIA/conf/<type>.conf, and <type> added to DB_SYSTEM. Tests call it: a fresh node has none.
 */
export function addDbHost(dir: string, o: { type?: 'mysql' | 'pgsql'; host?: string; maxDb?: number; suspended?: boolean } = {}): void {
  const type = o.type ?? 'mysql';
  const file = paths.dbHosts(dir, type);
  const { time, date } = nowStamp();
  writeObjects(file, [...readObjects(file), objFrom([
    ['HOST', o.host ?? 'localhost'], ['USER', 'root'], ['PORT', type === 'mysql' ? '3306' : '5432'], ['CHARSETS', 'UTF8,LATIN1,WIN1250,WIN1251,WIN1252,WIN1256,WIN1258,KOI8'],
    ['MAX_USERS', '500'], ['MAX_DB', String(o.maxDb ?? 500)], ['U_SYS_USERS', ''], ['U_DB_BASES', '0'],
    ['SUSPENDED', o.suspended ? 'yes' : 'no'], ['TIME', time], ['DATE', date],
  ])]);
  const conf = readKeyFile(paths.conf(dir));
  const systems = (conf.get('DB_SYSTEM') ?? '').split(',').filter(Boolean);
  if (!systems.includes(type)) conf.set('DB_SYSTEM', [...systems, type].join(','));
  writeKeyFile(paths.conf(dir), conf);
}

function hostLines(c: Ctx, type: string): Obj[] { return readObjects(paths.dbHosts(c.dir, type)); }

/** get_next_dbhost: empty or `default` → the least-loaded unsuspended server, else EMPTY_DB_HOST. */
function nextDbHost(c: Ctx, type: string, host: string): string {
  if (host !== '' && host !== 'default') return host;
  const free = hostLines(c, type).filter((h) => h.get('SUSPENDED') === 'no');
  if (free.length === 1) {
    const h = free[0]!;
    return Number(h.get('MAX_DB')) > Number(h.get('U_DB_BASES')) ? h.get('HOST')! : 'EMPTY_DB_HOST';
  }
  let best = 'EMPTY_DB_HOST'; let oldWeight = 100;
  for (const h of free) {
    const weight = Math.trunc(Number(h.get('U_DB_BASES')) * 100 / Number(h.get('MAX_DB')));
    if (oldWeight > weight) { best = h.get('HOST')!; oldWeight = weight; }
  }
  return best;
}

/** increase_dbhost_values / decrease_dbhost_values: U_DB_BASES of the server the database is on. */
function dbHostCount(c: Ctx, type: string, host: string, delta: number): void {
  const file = paths.dbHosts(c.dir, type);
  if (!existsSync(file)) return;
  const hosts = readObjects(file);
  for (const h of hosts) if (h.get('HOST') === host) h.set('U_DB_BASES', String(Math.max(0, Number(h.get('U_DB_BASES') || 0) + delta)));
  writeObjects(file, hosts);
}

const addDatabase: Command = {
  hide: 4, logs: true,
  run(c) {
    const user = c.arg(1);
    // ${5-mysql} / ${7-UTF8MB4}: the defaults apply only when the argument is absent, not empty.
    const type = c.args.length >= 5 ? c.arg(5) : 'mysql';
    const charset = (c.args.length >= 7 ? c.arg(7) : 'UTF8MB4').toUpperCase();
    let database = `${user}_${c.arg(2)}`; let dbuser = `${user}_${c.arg(3)}`;
    if (type === 'pgsql') { database = database.toLowerCase(); dbuser = dbuser.toLowerCase(); }
    c.checkArgs(4, 'USER DATABASE DBUSER DBPASS [TYPE] [HOST] [CHARSET]');
    if (user) v.user(user);
    databaseFormat(database); dbuserFormat(dbuser);
    if (charset) v.object(charset, 'charset');
    c.systemEnabled('DB_SYSTEM');
    // is_type_valid: `echo $DB_SYSTEM | grep -w $type`.
    if (!c.conf('DB_SYSTEM').split(/[^A-Za-z0-9_]+/).includes(type)) fail(E.INVALID, `${type} type is invalid`);
    c.userValid(user); c.userUnsuspended(user);
    if (c.find(user, 'db', 'DB', database)) fail(E.EXISTS, `DB=${database} already exists`);
    if (c.find(user, 'db', 'DBUSER', dbuser)) fail(E.EXISTS, `DBUSER=${dbuser} already exists`);
    const host = nextDbHost(c, type, c.arg(6));
    if (!hostLines(c, type).some((h) => h.get('HOST') === host)) fail(E.NOTEXIST, `${type} host ${host} doesn't exist`);
    c.packageFull(user, 'DATABASES', c.objects(user, 'db').length);
    const password = c.passwordArg(c.arg(4));
    if (type === 'pgsql') {
      if (dbuser.includes('-')) fail(E.INVALID, 'invalid database user format');
      if (database.includes('-')) fail(E.INVALID, 'invalid database format');
    }
    c.demoMode();
    c.writeObjects(user, 'db', [...c.objects(user, 'db'), objFrom([
      ['DB', database], ['DBUSER', dbuser], ['MD5', passwordHash(password)], ['HOST', host], ['TYPE', type],
      ['CHARSET', charset], ['U_DISK', '0'], ['SUSPENDED', 'no'], ['TIME', c.stamp.time], ['DATE', c.stamp.date],
    ])]);
    dbHostCount(c, type, host, 1);
    c.bump(user, 'U_DATABASES', 1);
    return '';
  },
};

/** USER DATABASE (the full `<user>_<name>`): the common head of the other commands. */
function dbHead(c: Ctx, min: number, usage: string): { user: string; database: string } {
  c.checkArgs(min, usage);
  const user = c.arg(1); const database = c.arg(2);
  if (user) v.user(user);
  if (database) databaseFormat(database);
  return { user, database };
}

const deleteDatabase: Command = {
  logs: true,
  run(c) {
    const { user, database } = dbHead(c, 2, 'USER DATABASE');
    c.systemEnabled('DB_SYSTEM');
    c.userValid(user);
    const db = c.objectValid(user, 'db', 'DB', database);
    c.demoMode();
    c.writeObjects(user, 'db', c.objects(user, 'db').filter((o) => o.get('DB') !== database));
    dbHostCount(c, db.get('TYPE') ?? '', db.get('HOST') ?? '', -1);
    c.bump(user, 'U_DATABASES', -1);
    if (db.get('SUSPENDED') === 'yes') c.bump(user, 'SUSPENDED_DB', -1);
    return '';
  },
};

const changeDatabasePassword: Command = {
  hide: 3, logs: true,
  run(c) {
    const { user, database } = dbHead(c, 3, 'USER DATABASE DBPASS');
    c.systemEnabled('DB_SYSTEM');
    c.userValid(user); c.userUnsuspended(user);
    c.objectValid(user, 'db', 'DB', database); c.objectUnsuspended(user, 'db', 'DB', database);
    const password = c.passwordArg(c.arg(3));
    c.demoMode();
    c.updateObject(user, 'db', 'DB', database, { MD5: passwordHash(password) });
    return '';
  },
};

const changeDatabaseUser: Command = {
  hide: 4, logs: true,
  run(c) {
    const { user, database } = dbHead(c, 3, 'USER DATABASE DBUSER [DBPASS]');
    const dbuser = `${user}_${c.arg(3)}`;
    dbuserFormat(dbuser);
    c.systemEnabled('DB_SYSTEM');
    c.userValid(user); c.userUnsuspended(user);
    const db = c.objectValid(user, 'db', 'DB', database);
    // is_object_new on DBUSER runs before the "same user" test, so naming the current user is a clash (4).
    if (c.find(user, 'db', 'DBUSER', dbuser)) fail(E.EXISTS, `DBUSER=${dbuser} already exists`);
    c.objectUnsuspended(user, 'db', 'DB', database);
    const password = c.arg(4) ? c.passwordArg(c.arg(4)) : '';
    c.demoMode();
    if (db.get('DBUSER') === dbuser) return '';
    if (db.get('TYPE') === 'pgsql' && dbuser.includes('-')) fail(E.INVALID, 'invalid database user format');
    c.updateObject(user, 'db', 'DB', database, { DBUSER: db.get('TYPE') === 'pgsql' ? dbuser.toLowerCase() : dbuser, ...(password ? { MD5: passwordHash(password) } : {}) });
    return '';
  },
};

function suspendDatabase(flag: 'yes' | 'no'): Command {
  return {
    logs: true,
    run(c) {
      const { user, database } = dbHead(c, 2, 'USER DATABASE');
      c.systemEnabled('DB_SYSTEM');
      c.userValid(user);
      // Suspending needs an active user; unsuspending does not.
      if (flag === 'yes') c.userUnsuspended(user);
      c.objectValid(user, 'db', 'DB', database);
      if (flag === 'yes') c.objectUnsuspended(user, 'db', 'DB', database);
      else c.objectSuspended(user, 'db', 'DB', database);
      c.demoMode();
      c.updateObject(user, 'db', 'DB', database, { SUSPENDED: flag });
      c.bump(user, 'SUSPENDED_DB', flag === 'yes' ? 1 : -1);
      return '';
    },
  };
}

const listDatabases: Command = {
  run(c) {
    const user = c.arg(1); const format = c.args.length >= 2 ? c.arg(2) : 'shell';
    c.checkArgs(1, 'USER [FORMAT]');
    if (user) v.user(user);
    c.userValid(user);
    const objs = c.objects(user, 'db');
    const fields = (o: Obj) => pick(o, LIST_KEYS, { DATABASE: o.get('DB') ?? '' });
    switch (format) {
      case 'json': return jsonObjects(objs.map((o) => [o.get('DB') ?? '', fields(o)]));
      case 'plain': return plainRows(objs.map((o) => fields(o).map(([, x]) => x)));
      case 'csv': return [LIST_KEYS.join(','), ...objs.map((o) => fields(o).map(([, x]) => x).join(','))].map((l) => l + '\n').join('');
      case 'shell': return columnT(['DATABASE   USER   HOST   TYPE   DISK   SPND   DATE', '--------   ----   ----   ----   ----   ----   ----',
        ...objs.map((o) => ['DB', 'DBUSER', 'HOST', 'TYPE', 'U_DISK', 'SUSPENDED', 'DATE'].map((k) => o.get(k) ?? '').join(' '))]);
      default: return '';
    }
  },
};

export const databaseCommands: Record<string, Command> = {
  'v-add-database': addDatabase, 'v-delete-database': deleteDatabase, 'v-change-database-password': changeDatabasePassword,
  'v-change-database-user': changeDatabaseUser, 'v-suspend-database': suspendDatabase('yes'), 'v-unsuspend-database': suspendDatabase('no'),
  'v-list-databases': listDatabases,
};
