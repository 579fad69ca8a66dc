// The hosting panel's Databases tab: the web account's databases on its node (HestiaCP's
// v-list-databases, v-add-database and friends; reference §8.1), created, deleted and given a new
// password by the customer. HestiaCP names a database and its user `<account>_<name>`: the
// customer types and reads the part after that prefix (typing the full name works too), and the
// full names, what an application connects with, are shown beside it. The limit is the plan's
// databases (svc.plan.product.web.databases, a hosting plan's value when it sets one), counted live
// on the node. The steps are planned by the pure functions below and run by
// handlers/hosting/panel-db.ts; the password reaches its step sealed (secrets.ts), never in args.
import { InputError } from '../../common/errors.ts';
import { Arg, parseHestiaJson, type HestiaDatabase, type HestiaDriver } from '../../drivers/hestia/index.ts';
import { plannedStep, type PlannedStep } from '../../pipelines/steps.ts';
import type { HostingAction, HostingContext, HostingTab, PreparedAction } from './types.ts';

export type DbEngine = 'mysql' | 'pgsql';

/** MySQL's limits on the full names HestiaCP makes: a database name under 64, a user at most 32. */
const DATABASE_MAX = 63;
const DB_USER_MAX = 32;
const PASSWORD_MIN = 8;
const PASSWORD_MAX = 128;
/** The secret's name in the action's sealed secrets and in its step's args. */
const SECRET = 'password';

export const ENGINE_LABELS: Readonly<Record<DbEngine, string>> = { mysql: 'MySQL / MariaDB', pgsql: 'PostgreSQL' };

/**
 * The character sets offered, the first the default. HestiaCP hands the name to CREATE DATABASE
 * as it is, so each list holds names its server knows (MySQL's differ from PostgreSQL's).
 */
export const CHARSETS: Readonly<Record<DbEngine, readonly string[]>> = {
  mysql: ['utf8mb4', 'utf8mb3', 'latin1', 'latin2', 'ascii', 'cp1250', 'cp1251', 'cp1256', 'cp1257', 'koi8r', 'koi8u', 'greek', 'hebrew', 'latin5', 'latin7', 'big5', 'gbk', 'sjis', 'ujis', 'euckr'],
  pgsql: ['UTF8', 'LATIN1', 'WIN1250', 'WIN1251', 'WIN1252', 'WIN1256', 'WIN1258', 'KOI8'],
};

/** Where the service's databases live: its web (or unified) server and the Hestia user there. */
export interface DbPlace { server: number; user: string }

export function dbPlace(svc: HostingContext['svc']): DbPlace {
  const { placement: p, names: n } = svc.plan;
  const server = p.unified ?? p.web;
  const user = p.unified !== null ? n.users.all : n.users.web;
  if (server === null || !user) throw new InputError('', 'Your plan has no web hosting, so it has no databases.', 409);
  return { server, user };
}

const printable = (s: string, max = 60) => {
  const t = s.replace(/[\x00-\x1f\x7f]/g, '?');
  return t.length > max ? `${t.slice(0, max)}…` : t;
};

/** The full name HestiaCP gives a name typed without the prefix (PostgreSQL's lower-cased, as HestiaCP does). */
export function fullName(user: string, name: string, engine: DbEngine): string {
  const full = `${user}_${name}`;
  return engine === 'pgsql' ? full.toLowerCase() : full;
}

/** The part of a full name after the account's prefix (as the customer thinks of it). */
export function shortName(user: string, full: string): string {
  return full.toLowerCase().startsWith(`${user.toLowerCase()}_`) ? full.slice(user.length + 1) : full;
}

/**
 * A database or database-user name as the customer types it, with or without the `<account>_`
 * prefix: letters, digits and "_", starting and ending with a letter or digit, and short enough
 * that the full name fits MySQL's limit.
 */
export function checkDbName(field: string, user: string, raw: string | undefined, max: number, what: string): string {
  let v = (raw ?? '').trim();
  if (v.toLowerCase().startsWith(`${user.toLowerCase()}_`)) v = v.slice(user.length + 1);
  if (v === '') throw new InputError(field, 'is required');
  if (!/^[A-Za-z0-9]([A-Za-z0-9_]*[A-Za-z0-9])?$/.test(v)) {
    throw new InputError(field, `"${printable(v)}" is not allowed: use letters, digits and "_", starting and ending with a letter or digit`);
  }
  const room = max - user.length - 1;
  if (v.length > room) throw new InputError(field, `is ${v.length} characters long; at most ${room} fit (the ${what} is called ${user}_<name>, ${max} characters in all)`);
  return v;
}

/**
 * The password the customer types: HestiaCP's own panel rule (8 or more, a lower-case letter, an
 * upper-case letter and a digit), printable, one line. HestiaCP writes it into a quoted SQL
 * statement unescaped, so quotes, backslashes and backticks are refused.
 */
export function checkDbPassword(raw: string | undefined): string {
  const v = raw ?? '';
  const chars = [...v];
  if (chars.length === 0) throw new InputError('password', 'is required');
  if (/[\x00-\x1f\x7f\u0080-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/.test(v)) throw new InputError('password', 'has a control or invisible character; use printable characters only');
  if (v.trim() !== v) throw new InputError('password', 'must not start or end with a space');
  if (/['"`\\]/.test(v)) throw new InputError('password', 'must not contain quotes (\' " `) or a backslash: HestiaCP passes it to the database server inside quotes');
  if (chars.length < PASSWORD_MIN) throw new InputError('password', `is ${chars.length} characters long; a database password needs at least ${PASSWORD_MIN}`);
  if (chars.length > PASSWORD_MAX) throw new InputError('password', `is ${chars.length} characters long; a database password has at most ${PASSWORD_MAX}`);
  if (!/[a-z]/.test(v) || !/[A-Z]/.test(v) || !/[0-9]/.test(v)) throw new InputError('password', 'needs a lower-case letter, an upper-case letter and a digit');
  return v;
}

/** The plan's database limit against what the node holds; the refusal the customer reads when it is reached. */
export function databaseLimit(max: number | 'unlimited', used: number): { used: number; max: number | null; full: string | null } {
  if (max === 'unlimited') return { used, max: null, full: null };
  if (max <= 0) return { used, max, full: 'Your plan includes no databases.' };
  if (used < max) return { used, max, full: null };
  return { used, max, full: `Your plan includes ${max} database${max === 1 ? '' : 's'} and ${max === 1 ? 'it is' : `all ${max} are`} in use.` };
}

/**
 * The engines the node offers the account: the DB_SYSTEM types (those with a database server
 * registered). HestiaCP refuses a "-" in PostgreSQL names, and the account is part of every name,
 * so PostgreSQL is left out for an account whose name has one.
 */
export function offeredEngines(dbSystem: string, user: string): { engines: DbEngine[]; pgsqlBlocked: boolean } {
  const types = dbSystem.split(/[^A-Za-z0-9_]+/).filter(Boolean);
  const engines = (['mysql', 'pgsql'] as const).filter((t) => types.includes(t));
  const pgsqlBlocked = engines.includes('pgsql') && user.includes('-');
  return { engines: pgsqlBlocked ? engines.filter((e) => e !== 'pgsql') : engines, pgsqlBlocked };
}

// --- the steps (pure) -------------------------------------------------------------------------

const target = (server: number) => `server:${server}`;
const single = (s: PlannedStep): PlannedStep[] => [{ ...s, dependsOn: [] }];

export function planDbCreate(at: DbPlace, db: { database: string; dbUser: string; engine: DbEngine; charset: string }): PlannedStep[] {
  return single(plannedStep('db.create', 'db.create', target(at.server), {
    server: at.server, user: at.user, database: db.database, dbUser: db.dbUser, type: db.engine, charset: db.charset, secret: SECRET,
  }));
}

/** `database`: the full name, as listed. */
export function planDbDelete(at: DbPlace, database: string): PlannedStep[] {
  return single(plannedStep('db.delete', 'db.delete', target(at.server), { server: at.server, user: at.user, database }));
}

export function planDbPassword(at: DbPlace, database: string): PlannedStep[] {
  return single(plannedStep('db.password', 'db.password', target(at.server), { server: at.server, user: at.user, database, secret: SECRET }));
}

// --- live reads ---------------------------------------------------------------------------------

/** DB_SYSTEM of the node's hestia.conf (v-list-sys-config json); '' when no database server is set up. */
async function dbSystem(driver: HestiaDriver): Promise<string> {
  const out = (await driver.runner.run('v-list-sys-config', [Arg.of('format', 'FORMAT', 'json')], { quiet: true })).stdout;
  return parseHestiaJson(out, 'v-list-sys-config').config?.DB_SYSTEM ?? '';
}

interface LiveState { at: DbPlace; databases: HestiaDatabase[]; engines: DbEngine[]; pgsqlBlocked: boolean; limit: ReturnType<typeof databaseLimit> }

async function liveState(ctx: HostingContext): Promise<LiveState> {
  const at = dbPlace(ctx.svc);
  const driver = await ctx.hestia(at.server);
  const [databases, system] = await Promise.all([driver.listDatabases(at.user), dbSystem(driver)]);
  const { engines, pgsqlBlocked } = offeredEngines(system, at.user);
  return { at, databases, engines, pgsqlBlocked, limit: databaseLimit(ctx.svc.plan.product.web.databases, databases.length) };
}

/** A listed database named by the form (short or full name); refused naming the field when there is none. */
function listedDatabase(live: LiveState, raw: string | undefined): HestiaDatabase {
  const v = (raw ?? '').trim();
  if (v === '') throw new InputError('database', 'is required');
  const { user } = live.at;
  const found = live.databases.find((d) => d.name === v) ?? live.databases.find((d) => d.name === `${user}_${v}`)
    ?? live.databases.find((d) => d.name.toLowerCase() === `${user}_${v}`.toLowerCase());
  if (!found) throw new InputError('database', `you have no database named "${printable(v)}"`);
  return found;
}

// --- the tab ------------------------------------------------------------------------------------

export const databasesTab: HostingTab = {
  key: 'databases',
  title: 'Databases',
  role: 'web',
  async load(ctx) {
    let live: LiveState;
    try {
      live = await liveState(ctx);
    } catch (err) {
      // A node that cannot be read now (down, slow) shows a notice, not a broken panel; a plan without web is a defect.
      if (err instanceof InputError) throw err;
      return { readError: true };
    }
    const { user } = live.at;
    const databases = live.databases.map((d) => ({
      name: shortName(user, d.name), full: d.name, dbUser: shortName(user, d.dbUser), dbUserFull: d.dbUser,
      engine: ENGINE_LABELS[d.type as DbEngine] ?? d.type, type: d.type, // HestiaCP records the charset upper-cased; MySQL's names read lower-case.
      charset: d.type === 'mysql' ? d.charset.toLowerCase() : d.charset,
      host: d.host, suspended: d.suspended, size: d.diskMb > 0 ? `${d.diskMb} MB` : null, created: d.created,
    }));
    const { limit } = live;
    const canCreate = live.engines.length > 0 && limit.full === null;
    return {
      prefix: `${user}_`,
      databases,
      empty: databases.length === 0,
      count: limit.used,
      max: limit.max,
      limitText: limit.max === null ? `${limit.used} in use (no limit)` : `${limit.used} of ${limit.max} in use`,
      full: limit.full,
      canCreate,
      noEngine: live.engines.length === 0,
      pgsqlBlocked: live.pgsqlBlocked,
      engines: live.engines.map((e, i) => ({ value: e, label: ENGINE_LABELS[e], selected: i === 0 })),
      charsets: live.engines.map((e) => ({ engine: ENGINE_LABELS[e], options: CHARSETS[e].map((c, i) => ({ value: c, default: i === 0 })) })),
      nameMax: DATABASE_MAX - user.length - 1,
      userMax: DB_USER_MAX - user.length - 1,
      passwordMin: PASSWORD_MIN,
      passwordMax: PASSWORD_MAX,
    };
  },
};

// --- the actions --------------------------------------------------------------------------------

const create: HostingAction = {
  tab: 'databases',
  role: 'web',
  async prepare(ctx, fields): Promise<PreparedAction> {
    const at = dbPlace(ctx.svc);
    // The fields first: nothing is read from the node for a form that cannot be right.
    let database = checkDbName('name', at.user, fields.name, DATABASE_MAX, 'database');
    let dbUser = checkDbName('db_user', at.user, (fields.db_user ?? '').trim() === '' ? database : fields.db_user, DB_USER_MAX, 'database user');
    const password = checkDbPassword(fields.password);
    const live = await liveState(ctx);
    if (live.limit.full) throw new InputError('', live.limit.full, 409);
    if (live.engines.length === 0) throw new InputError('type', 'your server offers no database engine; please contact support', 409);
    const askedType = (fields.type ?? '').trim();
    const engine = (askedType === '' ? live.engines[0] : live.engines.find((e) => e === askedType));
    if (!engine) {
      const why = askedType === 'pgsql' && live.pgsqlBlocked ? ': PostgreSQL refuses names with "-", which your account name has' : '';
      throw new InputError('type', `must be one of ${live.engines.map((e) => `${e} (${ENGINE_LABELS[e]})`).join(', ')}${why}`);
    }
    const askedCharset = (fields.charset ?? '').trim();
    const charset = askedCharset === '' ? CHARSETS[engine][0]! : CHARSETS[engine].find((c) => c.toLowerCase() === askedCharset.toLowerCase());
    if (!charset) throw new InputError('charset', `"${printable(askedCharset)}" is not a ${ENGINE_LABELS[engine]} character set offered here: use one of ${CHARSETS[engine].join(', ')}`);
    // HestiaCP lower-cases PostgreSQL names; what is checked and shown is what it will make.
    if (engine === 'pgsql') { database = database.toLowerCase(); dbUser = dbUser.toLowerCase(); }
    const full = fullName(at.user, database, engine);
    const fullUser = fullName(at.user, dbUser, engine);
    if (live.databases.some((d) => d.name.toLowerCase() === full.toLowerCase())) throw new InputError('name', `you already have a database named "${database}"`);
    // v-add-database refuses a user another database has: each database gets its own.
    if (live.databases.some((d) => d.dbUser.toLowerCase() === fullUser.toLowerCase())) throw new InputError('db_user', `"${dbUser}" is already the user of another database; each database needs its own user`);
    return {
      operation: 'database-create',
      steps: planDbCreate(at, { database, dbUser, engine, charset: charset.toUpperCase() }),
      secrets: [{ name: SECRET, value: password }],
      message: `Creating database ${database} (${full}, user ${fullUser})`,
    };
  },
};

const remove: HostingAction = {
  tab: 'databases',
  role: 'web',
  async prepare(ctx, fields): Promise<PreparedAction> {
    const live = await liveState(ctx);
    const db = listedDatabase(live, fields.database);
    return { operation: 'database-delete', steps: planDbDelete(live.at, db.name), message: `Deleting database ${shortName(live.at.user, db.name)} (${db.name}) and its data` };
  },
};

const password: HostingAction = {
  tab: 'databases',
  role: 'web',
  async prepare(ctx, fields): Promise<PreparedAction> {
    const plain = checkDbPassword(fields.password);
    const live = await liveState(ctx);
    const db = listedDatabase(live, fields.database);
    if (db.suspended) throw new InputError('database', `"${shortName(live.at.user, db.name)}" is suspended; its password cannot be changed until it is unsuspended`, 409);
    return {
      operation: 'database-password',
      steps: planDbPassword(live.at, db.name),
      secrets: [{ name: SECRET, value: plain }],
      message: `Changing the password of database ${shortName(live.at.user, db.name)} (user ${db.dbUser})`,
    };
  },
};

export const databasesActions: Record<string, HostingAction> = {
  'database-create': create,
  'database-delete': remove,
  'database-password': password,
};
