// Test databases: a fresh MariaDB database (on the server the test command started) or a fresh
// SQLite file per test file, never shared with another test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { connect } from '../../daemon/db/connect.ts';
import { migrateLatest } from '../../daemon/db/migrate.ts';
import type { DatabaseConfig } from '../../daemon/config/config.ts';

export type TestDialect = 'sqlite' | 'mysql';
export const DIALECTS: TestDialect[] = ['sqlite', 'mysql'];

export const MYSQL_ADMIN = new URL(process.env.HOSTBRIDGE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test');

export interface TestDb {
  dialect: TestDialect;
  config: DatabaseConfig;
  /** The value for HOSTBRIDGE_DATABASE_URL. */
  url: string;
  db: Knex;
  dir: string;
  drop(): Promise<void>;
}

export function tmpDir(prefix = 'hb-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function createTestDb(dialect: TestDialect, opts: { poolMax?: number; migrate?: boolean } = {}): Promise<TestDb> {
  const dir = tmpDir();
  let config: DatabaseConfig;
  let url: string;
  let cleanup = async () => {};
  if (dialect === 'sqlite') {
    const filename = path.join(dir, 'hostbridge.sqlite');
    config = { client: 'better-sqlite3', filename };
    url = filename;
  } else {
    const name = `hb_t_${crypto.randomBytes(5).toString('hex')}`;
    const admin = connect({ client: 'mysql2', url: '', host: MYSQL_ADMIN.hostname, port: Number(MYSQL_ADMIN.port || 3306), user: decodeURIComponent(MYSQL_ADMIN.username || 'root'), password: decodeURIComponent(MYSQL_ADMIN.password), database: MYSQL_ADMIN.pathname.slice(1) || 'test' }, { poolMax: 1 });
    await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
    await admin.destroy();
    const auth = MYSQL_ADMIN.username ? `${MYSQL_ADMIN.username}${MYSQL_ADMIN.password ? ':' + MYSQL_ADMIN.password : ''}@` : 'root@';
    url = `mysql://${auth}${MYSQL_ADMIN.hostname}:${MYSQL_ADMIN.port || 3306}/${name}`;
    config = { client: 'mysql2', url, host: MYSQL_ADMIN.hostname, port: Number(MYSQL_ADMIN.port || 3306), user: decodeURIComponent(MYSQL_ADMIN.username || 'root'), password: decodeURIComponent(MYSQL_ADMIN.password), database: name };
    cleanup = async () => {
      const a = connect({ ...config, database: MYSQL_ADMIN.pathname.slice(1) || 'test' } as DatabaseConfig, { poolMax: 1 });
      try {
        await a.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await a.destroy();
      }
    };
  }
  const db = connect(config, { poolMax: opts.poolMax ?? 10 });
  if (opts.migrate !== false) await migrateLatest(db);
  return {
    dialect, config, url, db, dir,
    async drop() {
      await db.destroy().catch(() => {});
      await cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * After a daemon process was killed (it can no longer act): expires the leases of its running
 * tasks now instead of when they run out. MariaDB may pick this update as a deadlock victim while
 * it rolls back the killed process's open transaction; it says "try restarting transaction", so
 * this does, a few times.
 */
export async function expireRunningLeases(db: Knex): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db('mod_hostbridge_tasks').where('status', 'running').update({ lease_until: 0 });
      return;
    } catch (err) {
      if (attempt >= 5 || !/Deadlock found/.test(String((err as Error).message))) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}
