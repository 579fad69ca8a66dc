// The daemon's Prometheus metrics, through prom-client (it writes the text format). Three kinds:
// what this process observes as work ends (attempt counters and durations, chain durations, fed by
// the engine's onFinished and by the queue hooks, never by the engine importing this); what the
// database says at scrape time (the queue, the ticket outbox, the scheduler's jobs: the same from
// every daemon); and this process's own figures (prom-client's default metrics, open SSH connections).
import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { dbNow } from '../db/connect.ts';
import { openSshConnections } from '../drivers/hestia/index.ts';
import type { ChainOutcome, EndingChain, QueueHooks, TaskFailure } from '../engine/hooks.ts';
import { VERSION } from '../version.ts';
import { readDatabaseFigures } from './database.ts';

/** An attempt as the engine reports its end. */
export interface EndedAttempt {
  type: string;
  target: string | null;
}

export type AttemptOutcome = 'succeeded' | 'retry' | 'failed' | 'lost';

/** What the metrics read from the running daemon at scrape time, attached once it runs. */
export interface LiveSources {
  /** Tasks this daemon's engine is running now. */
  inFlight?(): number;
  /** A scheduled job's interval in seconds (from settings), for "is the scheduler stale" alerts. */
  jobIntervalS?(job: string): number;
}

const S = 1000;
const ATTEMPT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];
const CHAIN_BUCKETS = [0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600];

/** A task's target as a label: the server it ran against (`server:<id>`, named by hostbridge_server_info), or "none". */
const serverLabel = (target: string | null) => target ?? 'none';

let processRegistry: Registry | null = null;

/** Node's and the process's own figures, once per process (a test process may run several daemons). */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class DaemonMetrics {
  readonly registry = new Registry();
  private live: LiveSources = {};
  private collecting: Promise<string> | null = null;

  private readonly attempts: Counter<'type' | 'server' | 'outcome'>;
  private readonly failures: Counter<'type' | 'server'>;
  private readonly attemptDuration: Histogram<'type' | 'outcome'>;
  private readonly chainDuration: Histogram<'operation' | 'outcome'>;
  private readonly tasks: Gauge<'state' | 'type'>;
  private readonly queueLag: Gauge;
  private readonly dueTasks: Gauge;
  private readonly outbox: Gauge<'kind' | 'state'>;
  private readonly outboxAge: Gauge<'kind' | 'state'>;
  private readonly jobStarted: Gauge<'job'>;
  private readonly jobFinished: Gauge<'job'>;
  private readonly jobOk: Gauge<'job'>;
  private readonly jobInterval: Gauge<'job'>;
  private readonly serverInfo: Gauge<'server' | 'name' | 'driver'>;
  private readonly databaseUp: Gauge;
  private readonly readDuration: Gauge;

  constructor(private readonly db: Knex) {
    const registers = [this.registry];
    this.attempts = new Counter({ name: 'hostbridge_task_attempts_total', help: 'Task attempts this daemon finished, by task type, server (target) and outcome (succeeded, retry, failed, lost).', labelNames: ['type', 'server', 'outcome'], registers });
    this.failures = new Counter({ name: 'hostbridge_task_failures_total', help: 'Tasks that failed for good (terminal error or last attempt), recorded by this daemon, by task type and server (target).', labelNames: ['type', 'server'], registers });
    this.attemptDuration = new Histogram({ name: 'hostbridge_task_attempt_duration_seconds', help: 'How long each task attempt ran on this daemon, by task type and outcome.', labelNames: ['type', 'outcome'], buckets: ATTEMPT_BUCKETS, registers });
    this.chainDuration = new Histogram({ name: 'hostbridge_chain_duration_seconds', help: 'From a chain\'s start to its end (a deployment, a suspension...), observed by the daemon that ended it, by operation and outcome.', labelNames: ['operation', 'outcome'], buckets: CHAIN_BUCKETS, registers });
    this.tasks = new Gauge({ name: 'hostbridge_tasks', help: 'Tasks in the queue by state and task type (read from the database at scrape time; the same from every daemon).', labelNames: ['state', 'type'], registers });
    this.queueLag = new Gauge({ name: 'hostbridge_queue_lag_seconds', help: 'Age of the oldest due task no worker has claimed yet (0 when none waits); database clock.', registers });
    this.dueTasks = new Gauge({ name: 'hostbridge_queue_due_tasks', help: 'Queued tasks whose run time has come and that no worker has claimed yet.', registers });
    this.outbox = new Gauge({ name: 'hostbridge_ticket_outbox_backlog', help: 'Ticket intents (kind="ticket") and ticket notes (kind="note") not yet delivered to WHMCS, by state.', labelNames: ['kind', 'state'], registers });
    this.outboxAge = new Gauge({ name: 'hostbridge_ticket_outbox_oldest_age_seconds', help: 'Age of the oldest undelivered ticket intent or note, by kind and state.', labelNames: ['kind', 'state'], registers });
    this.jobStarted = new Gauge({ name: 'hostbridge_scheduler_job_last_started_timestamp_seconds', help: 'When a scheduled job last started, on any daemon (Unix time).', labelNames: ['job'], registers });
    this.jobFinished = new Gauge({ name: 'hostbridge_scheduler_job_last_finished_timestamp_seconds', help: 'When a scheduled job last finished, on any daemon (Unix time).', labelNames: ['job'], registers });
    this.jobOk = new Gauge({ name: 'hostbridge_scheduler_job_last_success', help: '1 when a scheduled job\'s last run ended well, 0 when it ended with an error.', labelNames: ['job'], registers });
    this.jobInterval = new Gauge({ name: 'hostbridge_scheduler_job_interval_seconds', help: 'How often a scheduled job is meant to run (settings), to tell a stale scheduler.', labelNames: ['job'], registers });
    this.serverInfo = new Gauge({ name: 'hostbridge_server_info', help: 'The fleet\'s servers: the server label of the task metrics (server:<id>) with the server\'s name and driver; always 1.', labelNames: ['server', 'name', 'driver'], registers });
    this.databaseUp = new Gauge({ name: 'hostbridge_database_up', help: '1 when this scrape could read the database, 0 when it could not (the database figures are then left out).', registers });
    this.readDuration = new Gauge({ name: 'hostbridge_metrics_database_read_seconds', help: 'How long this scrape\'s database reads took.', registers });
    new Gauge({ name: 'hostbridge_ssh_connections_open', help: 'SSH connections to HestiaCP servers this process holds open.', registers, collect() { this.set(openSshConnections()); } });
    const live = () => this.live;
    new Gauge({ name: 'hostbridge_engine_running_tasks', help: 'Tasks this daemon\'s engine is running now.', registers, collect() { this.set(live().inFlight?.() ?? 0); } });
    new Gauge({ name: 'hostbridge_info', help: 'This daemon\'s version; always 1.', labelNames: ['version'], registers }).set({ version: VERSION }, 1);
  }

  /** The running daemon's figures (engine, scheduler), once they exist. */
  attach(live: LiveSources): void {
    this.live = { ...this.live, ...live };
  }

  /** An attempt ended in this daemon's engine (its onFinished). */
  attemptEnded(task: EndedAttempt, outcome: AttemptOutcome, durationMs: number): void {
    this.attempts.inc({ type: task.type, server: serverLabel(task.target), outcome });
    this.attemptDuration.observe({ type: task.type, outcome }, durationMs / S);
  }

  /**
   * The queue hooks, observed: a chain's duration and a task's final failure are counted once the
   * engine's transaction commits (a rolled-back end did not happen), after the hooks themselves ran.
   */
  observing(hooks: QueueHooks): QueueHooks {
    return {
      onChainEnd: async (trx, chain: EndingChain, outcome: ChainOutcome) => {
        await hooks.onChainEnd(trx, chain, outcome);
        // A chain that never started (cancelled while waiting) has no duration to observe.
        if (chain.startedAt === null) return;
        const seconds = Math.max(0, (await dbNow(trx)) - chain.startedAt) / S;
        afterCommit(trx, () => this.chainDuration.observe({ operation: chain.operation, outcome }, seconds));
      },
      onTaskFailed: async (trx, failure: TaskFailure) => {
        await hooks.onTaskFailed(trx, failure);
        afterCommit(trx, () => this.failures.inc({ type: failure.type, server: serverLabel(failure.target) }));
      },
    };
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text a scrape returns. Scrapes that arrive together share one reading of the database. */
  scrape(): Promise<string> {
    this.collecting ??= this.collect().finally(() => { this.collecting = null; });
    return this.collecting;
  }

  private async collect(): Promise<string> {
    const dbGauges = [this.tasks, this.queueLag, this.dueTasks, this.outbox, this.outboxAge, this.jobStarted, this.jobFinished, this.jobOk, this.jobInterval, this.serverInfo];
    for (const g of dbGauges) g.reset();
    const started = performance.now();
    try {
      const f = await readDatabaseFigures(this.db);
      for (const t of f.tasks) this.tasks.set({ state: t.state, type: t.type }, t.n);
      this.dueTasks.set(f.due.n);
      this.queueLag.set(f.due.oldestRunAt === null ? 0 : Math.max(0, f.now - f.due.oldestRunAt) / S);
      for (const o of f.outbox) {
        this.outbox.set({ kind: o.kind, state: o.state }, o.n);
        this.outboxAge.set({ kind: o.kind, state: o.state }, Math.max(0, f.now - o.oldestCreatedAt) / S);
      }
      for (const j of f.jobs) {
        if (j.lastStartedAt !== null) this.jobStarted.set({ job: j.name }, j.lastStartedAt / S);
        if (j.lastFinishedAt !== null) this.jobFinished.set({ job: j.name }, j.lastFinishedAt / S);
        if (j.lastResult !== null) this.jobOk.set({ job: j.name }, j.lastResult === 'ok' ? 1 : 0);
        const interval = this.live.jobIntervalS?.(j.name);
        if (interval !== undefined) this.jobInterval.set({ job: j.name }, interval);
      }
      for (const s of f.servers) this.serverInfo.set({ server: `server:${s.id}`, name: s.name, driver: s.driver }, 1);
      this.databaseUp.set(1);
    } catch {
      // Left out rather than stale: an alert on hostbridge_database_up says why they are missing.
      for (const g of dbGauges) g.reset();
      this.databaseUp.set(0);
    }
    this.readDuration.set((performance.now() - started) / S);
    return Registry.merge([processMetrics(), this.registry]).metrics();
  }
}

/** Runs fn once the transaction commits; never when it rolls back. */
function afterCommit(trx: Knex.Transaction, fn: () => void): void {
  const done = (trx as Partial<Knex.Transaction>).executionPromise;
  if (done) done.then(fn, () => {});
  else fn();
}
