// One knex instance per process, for MySQL/MariaDB (production, shared with WHMCS) or the
// embedded SQLite file (the no-configuration default). Dialect differences live here only.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import knexFactory, { type Knex } from 'knex';
import type { DatabaseConfig } from '../config/config.ts';

export type Db = Knex;
export type Tx = Knex.Transaction;
export type Dialect = 'mysql' | 'sqlite';

const require = createRequire(import.meta.url);

// knex opens SQLite transactions with a deferred BEGIN: two processes that both read and then
// write would deadlock on the upgrade and one gets SQLITE_BUSY at once. Every transaction of
// ours writes, so take the write lock at BEGIN and let busy_timeout queue the others.
const SqliteTransaction = require('knex/lib/dialects/sqlite3/execution/sqlite-transaction.js');
SqliteTransaction.prototype.begin = function begin(this: { query(conn: unknown, sql: string): Promise<unknown> }, conn: unknown) {
  return this.query(conn, 'BEGIN IMMEDIATE;');
};

export function dialectOf(db: Knex): Dialect {
  return db.client.config.client === 'better-sqlite3' ? 'sqlite' : 'mysql';
}

export interface ConnectOptions {
  poolMax?: number;
  /** Where knex's own warnings go (the daemon's logger); by default knex writes to the console. */
  log?: { warn(message: string): void; error(message: string): void };
}

export function connect(cfg: DatabaseConfig, opts: ConnectOptions = {}): Db {
  const log = opts.log
    ? { log: { warn: (m: unknown) => opts.log!.warn(`database: ${String(m)}`), error: (m: unknown) => opts.log!.error(`database: ${String(m)}`), deprecate: () => {}, debug: () => {} } }
    : {};
  if (cfg.client === 'better-sqlite3') {
    fs.mkdirSync(path.dirname(cfg.filename), { recursive: true });
    return knexFactory({
      ...log,
      client: 'better-sqlite3',
      connection: { filename: cfg.filename },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
          try {
            conn.pragma('journal_mode = WAL');
            conn.pragma('busy_timeout = 10000');
            conn.pragma('synchronous = NORMAL');
            conn.pragma('foreign_keys = ON');
            done(null, conn);
          } catch (err) {
            done(err as Error, conn);
          }
        },
      },
    });
  }
  return knexFactory({
    ...log,
    client: 'mysql2',
    connection: {
      host: cfg.host,
      port: cfg.port,
      user: cfg.user,
      password: cfg.password,
      database: cfg.database,
      charset: 'utf8mb4',
      connectTimeout: 5000,
      supportBigNumbers: true,
      // knex sends every statement as a plain query, never a prepared one; mysql2's cache of
      // prepared statements is still made per connection at its default size (16,000 entries,
      // about 0.5 MB of heap each): 35 MB for bench:fleet's 70 connections, 1 MB at 16.
      maxPreparedStatements: 16,
    },
    pool: {
      min: 0,
      max: opts.poolMax ?? 10,
      acquireTimeoutMillis: 15000,
      afterCreate(conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) {
        // Queue claims want READ COMMITTED: no gap locks, and each statement sees the latest commits.
        conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', (err) => {
          if (err) return done(err, conn);
          conn.query("SET time_zone = '+00:00'", (err2) => done(err2, conn));
        });
      },
    },
  });
}

/** The database server's clock in milliseconds since the epoch: one clock for every daemon, whatever host it runs on. */
export function nowMs(db: Knex): Knex.Raw {
  return dialectOf(db) === 'sqlite'
    ? db.raw("CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)")
    : db.raw('CAST(ROUND(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000) AS SIGNED)');
}

/** SQL text of nowMs, for building larger raw expressions. */
export function nowSql(db: Knex): string {
  return nowMs(db).toQuery();
}

export async function dbNow(db: Knex | Tx): Promise<number> {
  const row = await db.select(nowMs(db as Knex).wrap('(', ') as now')).first();
  return Number((row as { now: number }).now);
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e?.code === 'ER_DUP_ENTRY' || e?.errno === 1062 || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Errors that mean the database is (briefly) unreachable, as opposed to a bug in a query. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; fatal?: boolean; name?: string; message?: string };
  if (!e) return false;
  if (e.fatal) return true;
  return ['ECONNREFUSED', 'ECONNRESET', 'PROTOCOL_CONNECTION_LOST', 'ETIMEDOUT', 'EPIPE', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR',
    'SQLITE_BUSY', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'].includes(e.code ?? '')
    || e.name === 'KnexTimeoutError'
    || /Connection lost|closed state|connect ECONNREFUSED|Pool is closed/i.test(e.message ?? '');
}

/** Runs fn in a transaction, again if the database reports a deadlock (MySQL picks a victim). */
export async function inTx<R>(db: Knex, fn: (trx: Knex.Transaction) => Promise<R>): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT') && attempt < 5) continue;
      throw err;
    }
  }
}
