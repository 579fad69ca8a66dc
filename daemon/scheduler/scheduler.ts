// Recurring jobs. Time is cut into slots of each job's interval (from settings); a daemon runs a
// job only after winning a conditional UPDATE that moves the job's last slot forward and takes
// its lock, so two daemons never run the same job for the same slot. A pass runs from WHMCS cron
// (POST /v1/tick), from node-cron inside the daemon, or from `hostbridge tick`.
import type { Knex } from 'knex';
import { dbNow } from '../db/connect.ts';
import type { Queue } from '../engine/queue.ts';
import type { TaskRegistry } from '../engine/registry.ts';
import { errorMessage } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import type { SettingsCache } from '../settings/settings.ts';

export interface JobContext {
  /** A line of live output (the CLI flushes each one as it comes). */
  log(line: string): void;
}

export interface Job {
  name: string;
  describe: string;
  /** Interval when settings name none (scheduler.<name>.interval_s). */
  defaultIntervalS?: number;
  /** Longest time a run may hold the lock before another daemon may take over. */
  lockTtlMs?: number;
  /**
   * False for jobs that are safe to overlap (the queue recovery): a lock left by a daemon that died
   * mid-run does not hold them back. Each slot still runs once.
   */
  exclusive?: boolean;
  run(ctx: JobContext): Promise<string>;
}

/** What the daemon hands its jobs (jobs/index.ts); each job takes the part it needs. */
export interface JobDeps {
  db: Knex;
  /** The database with the chain-end hooks, for jobs that can end a chain (recovery, clean-up). */
  queue: Queue;
  registry: TaskRegistry;
  settings: SettingsCache;
  masterKey: Buffer;
  /** Wakes the engine: a job that made work due calls it so the work starts now. */
  onWork(): void;
}

export interface JobResult {
  job: string;
  ran: boolean;
  result?: 'ok' | 'error';
  message?: string;
  durationMs?: number;
  skipped?: string;
}

export interface JobState {
  name: string;
  describe: string;
  intervalS: number;
  lastSlot: number | null;
  lastStartedAt: number | null;
  lastFinishedAt: number | null;
  lastDurationMs: number | null;
  lastResult: string | null;
  lastMessage: string | null;
  lockedBy: string | null;
  lockedUntil: number | null;
}

export class SchedulerError extends Error {}

const DEFAULT_LOCK_TTL = 10 * 60_000;

export class Scheduler {
  private readonly jobs = new Map<string, Job>();

  constructor(
    private readonly db: Knex,
    private readonly settings: SettingsCache,
    private readonly owner: string,
    jobs: Job[],
  ) {
    for (const j of jobs) this.jobs.set(j.name, j);
  }

  names(): string[] {
    return [...this.jobs.keys()];
  }

  intervalS(name: string): number {
    const v = Number(this.settings.get()[`scheduler.${name}.interval_s`]);
    return Number.isFinite(v) && v > 0 ? v : this.jobs.get(name)?.defaultIntervalS ?? 60;
  }

  private async ensureRows(): Promise<void> {
    const known = new Set((await this.db(T.jobs).select('name')).map((r: { name: string }) => r.name));
    const missing = this.names().filter((n) => !known.has(n));
    if (missing.length) await this.db(T.jobs).insert(missing.map((name) => ({ name }))).onConflict('name').ignore();
  }

  /** One pass: runs every job whose slot has come and that no other daemon runs. */
  async pass(log: (line: string) => void = () => {}): Promise<JobResult[]> {
    await this.settings.fresh();
    await this.ensureRows();
    const results: JobResult[] = [];
    for (const job of this.jobs.values()) {
      const now = await dbNow(this.db);
      const slot = Math.floor(now / (this.intervalS(job.name) * 1000));
      const claim = this.db(T.jobs).where('name', job.name).where((b) => b.whereNull('last_slot').orWhere('last_slot', '<', slot));
      if (job.exclusive !== false) claim.where((b) => b.whereNull('locked_until').orWhere('locked_until', '<', now));
      const won = await claim.update({ last_slot: slot, locked_by: this.owner, locked_until: now + (job.lockTtlMs ?? DEFAULT_LOCK_TTL), last_started_at: now });
      if (won === 0) {
        results.push({ job: job.name, ran: false, skipped: 'not due, or running elsewhere' });
        continue;
      }
      results.push(await this.execute(job, log));
    }
    return results;
  }

  /** Runs one job now, whatever its slot (`hostbridge run-task`). Refused while another daemon holds its lock. */
  async runNow(name: string, log: (line: string) => void): Promise<JobResult> {
    const job = this.jobs.get(name);
    if (!job) throw new SchedulerError(`unknown job "${name}"; jobs are ${this.names().join(', ')}`);
    await this.settings.fresh();
    await this.ensureRows();
    const now = await dbNow(this.db);
    const slot = Math.floor(now / (this.intervalS(name) * 1000));
    const won = await this.db(T.jobs).where('name', name)
      .where((b) => b.whereNull('locked_until').orWhere('locked_until', '<', now))
      .update({ last_slot: slot, locked_by: this.owner, locked_until: now + (job.lockTtlMs ?? DEFAULT_LOCK_TTL), last_started_at: now });
    if (won === 0) {
      const row = await this.db(T.jobs).where('name', name).first();
      throw new SchedulerError(`job ${name} is running on ${row?.locked_by ?? 'another daemon'} (locked until ${new Date(Number(row?.locked_until)).toISOString()}); if that daemon is gone, run "hostbridge clear-locks"`);
    }
    return this.execute(job, log);
  }

  private async execute(job: Job, log: (line: string) => void): Promise<JobResult> {
    const started = Date.now();
    let result: 'ok' | 'error' = 'ok';
    let message: string;
    try {
      message = await job.run({ log: (line) => log(`${job.name}: ${line}`) });
    } catch (err) {
      result = 'error';
      message = errorMessage(err);
      log(`${job.name}: error: ${message}`);
    }
    const durationMs = Date.now() - started;
    const now = await dbNow(this.db);
    await this.db(T.jobs).where({ name: job.name, locked_by: this.owner }).update({
      locked_by: null, locked_until: null, last_finished_at: now, last_duration_ms: durationMs, last_result: result, last_message: message.slice(0, 2000),
    });
    return { job: job.name, ran: true, result, message, durationMs };
  }

  /** Clears every job lock (after a daemon died holding one). Returns the jobs unlocked. */
  async clearLocks(): Promise<string[]> {
    const locked = (await this.db(T.jobs).select('name').whereNotNull('locked_by')).map((r: { name: string }) => r.name);
    if (locked.length) await this.db(T.jobs).whereIn('name', locked).update({ locked_by: null, locked_until: null });
    return locked;
  }

  async status(): Promise<JobState[]> {
    await this.ensureRows();
    const rows = new Map((await this.db(T.jobs).select('*')).map((r: Record<string, unknown>) => [r.name as string, r]));
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    return this.names().map((name) => {
      const r = rows.get(name) ?? {};
      return {
        name, describe: this.jobs.get(name)!.describe, intervalS: this.intervalS(name),
        lastSlot: num(r.last_slot), lastStartedAt: num(r.last_started_at), lastFinishedAt: num(r.last_finished_at),
        lastDurationMs: num(r.last_duration_ms), lastResult: (r.last_result as string) ?? null, lastMessage: (r.last_message as string) ?? null,
        lockedBy: (r.locked_by as string) ?? null, lockedUntil: num(r.locked_until),
      };
    });
  }
}
