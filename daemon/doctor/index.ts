// hostbridge doctor: every check of an installation in the order an admin fixes them (the database
// first, since the rest reads from it), each under its own time limit. Returns the lines; printing
// them and the exit code are the command line's business (cli/commands/doctor.ts).
import type { Config } from '../config/config.ts';
import { connect } from '../db/connect.ts';
import { migrationState } from '../db/migrate.ts';
import { globalMasker } from '../log/mask.ts';
import { fail, reason, skip, type CheckResult } from './check.ts';
import { checkClock, checkGrants, checkMigrations, checkReachable, checkServerVersion } from './database.ts';
import { checkMasterKey, checkSecret } from './secrets.ts';
import { checkFleet } from './fleet.ts';
import { checkWhmcsApi } from './whmcs.ts';
import { checkScheduler } from './scheduler.ts';

export type { CheckResult, CheckStatus } from './check.ts';

export interface DoctorOptions {
  /** Limit of each database or WHMCS check. */
  checkTimeoutMs?: number;
  /** Limit of each server's check (connect, authenticate, one command). */
  serverTimeoutMs?: number;
  /** This host's clock (tests skew it). */
  localNow?: () => number;
  /** Each line as soon as it is known (the CLI prints as it goes). */
  onResult?(r: CheckResult): void;
}

export async function runDoctor(config: Config, opts: DoctorOptions = {}): Promise<CheckResult[]> {
  const limit = opts.checkTimeoutMs ?? 10_000;
  const results: CheckResult[] = [];
  const add = (r: CheckResult) => {
    const masked = { ...r, what: globalMasker.mask(r.what), ...(r.fix ? { fix: globalMasker.mask(r.fix) } : {}) };
    results.push(masked);
    opts.onResult?.(masked);
  };
  /** One check; whatever it throws becomes its failing line instead of ending the doctor. */
  const run = async (name: string, fn: () => Promise<CheckResult | CheckResult[]>) => {
    try {
      const r = await fn();
      for (const line of Array.isArray(r) ? r : [r]) add(line);
    } catch (err) {
      add(fail(name, reason(err), 'see the message; "hostbridge doctor" checks again'));
    }
  };

  globalMasker.add(config.secret).add(config.masterKey.toString('hex')).add(config.masterKey.toString('base64'));
  if (config.database.client === 'mysql2') globalMasker.add(config.database.password);
  const quiet = { warn: () => {}, error: () => {} };
  let db: ReturnType<typeof connect>;
  try {
    db = connect(config.database, { poolMax: 4, log: quiet });
  } catch (err) {
    // SQLite: the file's directory could not be made.
    add(fail('database', `cannot open ${config.database.client === 'mysql2' ? config.database.url : config.database.filename}: ${reason(err)}`,
      'check HOSTBRIDGE_DATA_DIR / HOSTBRIDGE_DATABASE_URL and that the daemon\'s user may write there'));
    add(checkSecret(config));
    return results;
  }
  try {
    const reachable = await checkReachable(db, config.database, limit);
    add(reachable);
    add(checkSecret(config));
    if (reachable.status === 'fail') {
      for (const name of ['db version', 'grants', 'migrations', 'clock', 'master key', 'fleet', 'whmcs api', 'scheduler']) add(skip(name, 'needs the database'));
      return results;
    }
    await run('db version', () => checkServerVersion(db, limit));
    await run('grants', () => checkGrants(db, config.database, limit * 3));
    await run('migrations', () => checkMigrations(db, limit, config.migrateOnStart));
    await run('clock', () => checkClock(db, limit, opts.localNow));
    const schema = await migrationState(db).catch(() => null);
    if (!schema || schema.applied.length === 0) {
      for (const name of ['master key', 'fleet', 'whmcs api', 'scheduler']) add(skip(name, 'needs the database schema (see migrations)'));
      return results;
    }
    await run('master key', () => checkMasterKey(db, config, limit));
    await run('fleet', () => checkFleet(db, config.masterKey, opts.serverTimeoutMs ?? 15_000));
    await run('whmcs api', () => checkWhmcsApi(db, config.masterKey, limit));
    await run('scheduler', () => checkScheduler(db, limit));
    return results;
  } finally {
    await db.destroy().catch(() => {});
  }
}

/** Something is wrong: a check failed. Warnings and skipped checks alone are not. */
export function doctorFailed(results: CheckResult[]): boolean {
  return results.some((r) => r.status === 'fail');
}
