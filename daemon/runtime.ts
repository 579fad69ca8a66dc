// Builds and starts one daemon: database, settings, task types, engine, scheduler, HTTP API.
import os from 'node:os';
import crypto from 'node:crypto';
import type http from 'node:http';
import cron from 'node-cron';
import type { Knex } from 'knex';
import type { Config } from './config/config.ts';
import { connect } from './db/connect.ts';
import { migrateLatest, pendingMigrations } from './db/migrate.ts';
import { Engine } from './engine/engine.ts';
import { TaskRegistry } from './engine/registry.ts';
import type { QueueHooks } from './engine/hooks.ts';
import type { Queue } from './engine/queue.ts';
import { setServiceStateOnChainEnd } from './services/chain-end.ts';
import { ticketOnTaskFailed } from './whmcs/ticket-outbox.ts';
import { registerServiceHandlers } from './handlers/service.ts';
import { registerHostingHandlers } from './handlers/hosting/index.ts';
import { registerKvmHandlers } from './handlers/kvm/index.ts';
import { FleetAccess } from './fleet/access.ts';
import { createLogger, type Logger } from './log/logger.ts';
import { globalMasker } from './log/mask.ts';
import { SettingsCache } from './settings/settings.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import { scheduledJobs, recoverQueue } from './scheduler/jobs/index.ts';
import { createApp, listen } from './http/app.ts';
import { DaemonMetrics } from './metrics/metrics.ts';
import { listenMetrics, publicMetricsHandler } from './metrics/endpoint.ts';
import { VERSION } from './version.ts';
import { startConsoleServer, type ConsoleServer } from './console/server.ts';

export interface Core {
  config: Config;
  db: Knex;
  /** The database with queueHooks: what the engine, the reaper and the admin operations write through. */
  queue: Queue;
  logger: Logger;
  settings: SettingsCache;
  registry: TaskRegistry;
  scheduler: Scheduler;
  /** This daemon's Prometheus metrics (docs/metrics.md); the queue's hooks feed them. */
  metrics: DaemonMetrics;
  /** The daemon's server access (shared SSH pool): the task handlers' and the hosting panel's live reads. */
  fleet: FleetAccess;
  /** Set once the engine runs; jobs wake it when they make work due. */
  engine?: Engine;
  daemonId: string;
  close(): Promise<void>;
}

export class StartupError extends Error {}

/** Registers task types beyond the production ones: the tests' and benchmarks' own (test/helpers/task-types.ts). */
export type RegisterTaskTypes = (registry: TaskRegistry) => void;

/** What a chain's end and a task's failure mean outside the queue: the service's state, a ticket. */
const queueHooks: QueueHooks = { onChainEnd: setServiceStateOnChainEnd, onTaskFailed: ticketOnTaskFailed };

/** The queue as a daemon writes it: every chain end and task failure goes through queueHooks. */
export function daemonQueue(db: Knex): Queue {
  return { db, hooks: queueHooks };
}

/** Everything but the worker and the listener: what the CLI's one-shot commands need too. */
export async function openCore(config: Config, logger = createLogger({ format: config.logFormat, level: config.logLevel }), extraTaskTypes?: RegisterTaskTypes): Promise<Core> {
  globalMasker.add(config.secret).add(config.masterKey.toString('hex')).add(config.masterKey.toString('base64'));
  if (config.database.client === 'mysql2') globalMasker.add(config.database.password);
  if (config.metricsToken !== null) globalMasker.add(config.metricsToken);
  const db = connect(config.database, { poolMax: config.concurrency + 6, log: { warn: (m) => logger.warn(m), error: (m) => logger.error(m) } });
  try {
    await db.raw('select 1');
  } catch (err) {
    await db.destroy();
    const where = config.database.client === 'mysql2' ? config.database.url : config.database.filename;
    throw new StartupError(`cannot reach the database at ${where}: ${(err as Error).message}`);
  }
  // The queue as daemonQueue builds it, with the metrics observing chain ends and final failures.
  const metrics = new DaemonMetrics(db);
  const queue: Queue = { db, hooks: metrics.observing(queueHooks) };
  const daemonId = `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
  const settings = new SettingsCache(db);
  const fleet = new FleetAccess(db, config.masterKey, logger);
  const registry = registerKvmHandlers(
    registerHostingHandlers(registerServiceHandlers(new TaskRegistry(), db), { db, masterKey: config.masterKey, fleet }),
    { db, masterKey: config.masterKey, fleet },
  );
  extraTaskTypes?.(registry);
  // Jobs wake the engine when they make work due; the engine is attached to core later, by serve.
  const scheduler = new Scheduler(db, settings, daemonId, scheduledJobs({ db, queue, registry, settings, masterKey: config.masterKey, onWork: () => core.engine?.wake() }));
  metrics.attach({ jobIntervalS: (job) => scheduler.intervalS(job) });
  const core: Core = {
    config, db, queue, logger, settings, registry, daemonId, scheduler, metrics, fleet,
    async close() {
      await fleet.close();
      await db.destroy();
    },
  };
  return core;
}

export async function ensureSchema(core: Core, migrate: boolean): Promise<void> {
  const pending = await pendingMigrations(core.db);
  if (pending.length === 0) return;
  if (!migrate) {
    throw new StartupError(`the database needs ${pending.length} migration(s) (${pending.join(', ')}): run "hostbridge migrate", or start with --migrate / HOSTBRIDGE_MIGRATE_ON_START=true`);
  }
  const applied = await migrateLatest(core.db);
  core.logger.info(`applied ${applied.length} migration(s): ${applied.join(', ')}`);
}

export interface Daemon {
  core: Core;
  engine: Engine;
  server: http.Server;
  url: string;
  /** GET /metrics on its own listener (HOSTBRIDGE_METRICS_LISTEN), or null. */
  metricsUrl: string | null;
  /** The VM console's public base URL (HOSTBRIDGE_CONSOLE_URL, or its listener's address), or null when it is off. */
  consoleUrl: string | null;
  stop(): Promise<void>;
}

function cronExpression(intervalS: number): string {
  return intervalS < 60 ? `*/${intervalS} * * * * *` : `0 */${intervalS / 60} * * * *`;
}

export interface DaemonOptions {
  /** Apply pending migrations first (else a pending one stops the start). Default: config.migrateOnStart. */
  migrate?: boolean;
  logger?: Logger;
  extraTaskTypes?: RegisterTaskTypes;
}

export async function startDaemon(config: Config, opts: DaemonOptions = {}): Promise<Daemon> {
  const core = await openCore(config, opts.logger, opts.extraTaskTypes);
  try {
    await ensureSchema(core, opts.migrate ?? config.migrateOnStart);
    await core.settings.refresh();
  } catch (err) {
    await core.close();
    throw err;
  }
  const { db, queue, logger, settings, registry, scheduler } = core;
  const engine = new Engine(queue, registry, {
    concurrency: config.concurrency, leaseMs: config.leaseMs, pollMs: config.pollMs, logger,
    retryDefaults: () => settings.retryPolicy(),
    // Asked first: winston masks, stamps and serialises a line before its transport drops it for
    // its level, and every line of every command passes here (bench:fleet: 0.7 s of CPU in 100 s).
    onLine: (task, line) => { if (logger.isDebugEnabled()) logger.debug(`task ${task.id} ${task.step}: ${line}`); },
    onFinished: (task, outcome, durationMs) => core.metrics.attemptEnded(task, outcome, durationMs),
  });
  core.engine = engine;
  core.metrics.attach({ inFlight: () => engine.inFlight });
  const metricsAccess = { token: config.metricsToken, listen: config.metricsListen };

  // The VM console: a live WebSocket relayed by this daemon, on a listener of its own (daemon/console).
  // Started first, so the API that hands out its links knows its address.
  let consoleServer: ConsoleServer | null = null;
  if (config.console) {
    const { host, port, publicUrl } = config.console;
    try {
      consoleServer = await startConsoleServer({ host, port, publicUrl, daemonId: core.daemonId, deps: { db, masterKey: config.masterKey, logger } });
    } catch (err) {
      await core.close();
      throw new StartupError(`cannot listen for the console on ${host}:${port}: ${(err as Error).message}`);
    }
  }

  let server: http.Server;
  try {
    server = await listen(createApp({ db, queue, secret: config.secret, masterKey: config.masterKey, scheduler, logger, onTick: () => engine.wake(), fleet: core.fleet,
      metrics: publicMetricsHandler(core.metrics, metricsAccess), consoleUrl: consoleServer?.url ?? null }), config.listenHost, config.listenPort);
  } catch (err) {
    await consoleServer?.close();
    await core.close();
    throw new StartupError(`cannot listen on ${config.listenHost}:${config.listenPort}: ${(err as Error).message}`);
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.listenPort;
  const url = `http://${config.listenHost.includes(':') ? `[${config.listenHost}]` : config.listenHost}:${port}`;
  let metricsServer: http.Server | null = null;
  let metricsUrl: string | null = null;
  if (config.metricsListen) {
    const { host, port: metricsPort } = config.metricsListen;
    try {
      metricsServer = await listenMetrics(core.metrics, { token: config.metricsToken, listen: config.metricsListen });
    } catch (err) {
      await new Promise<void>((r) => server.close(() => r()));
      await consoleServer?.close();
      await core.close();
      throw new StartupError(`cannot listen for metrics on ${host}:${metricsPort}: ${(err as Error).message}`);
    }
    const a = metricsServer.address();
    metricsUrl = `http://${host.includes(':') ? `[${host}]` : host}:${typeof a === 'object' && a ? a.port : metricsPort}`;
  }

  engine.start();
  let passRunning = false;
  const task = cron.schedule(cronExpression(config.schedulerIntervalS), async () => {
    if (passRunning) return;
    passRunning = true;
    try {
      const results = await scheduler.pass((line) => logger.info(line));
      for (const r of results) if (r.ran && r.result === 'error') logger.warn(`scheduled job ${r.job} failed: ${r.message}`);
    } catch (err) {
      logger.warn(`scheduler pass failed: ${(err as Error).message}`);
    } finally {
      passRunning = false;
    }
  }, { noOverlap: true });
  // Take back work left by a daemon that died, without waiting for the first interval.
  void recoverQueue(queue, registry, settings, { log: (line) => logger.info(line) }, () => engine.wake())
    .catch((err) => logger.warn(`start-up recovery failed: ${(err as Error).message}`));

  if (consoleServer) logger.info(`console listener on ${config.console!.host}:${(consoleServer.server.address() as { port: number }).port}, links name ${consoleServer.url}`);
  logger.info(`hostbridge ${VERSION} ready on ${url}`, {
    daemon: core.daemonId,
    database: config.database.client === 'mysql2' ? config.database.url : config.database.filename,
    concurrency: config.concurrency,
  });

  let stopped = false;
  return {
    core, engine, server, url, metricsUrl, consoleUrl: consoleServer?.url ?? null,
    async stop() {
      if (stopped) return;
      stopped = true;
      await task.stop();
      await new Promise<void>((r) => server.close(() => r()));
      // Open console sessions end here: the browser sees the connection close.
      await consoleServer?.close();
      if (metricsServer) {
        // A scraper's keep-alive connection must not hold the stop up: a scrape cut short is retried.
        const closed = new Promise<void>((r) => metricsServer!.close(() => r()));
        metricsServer.closeAllConnections();
        await closed;
      }
      await engine.stop();
      await core.close();
    },
  };
}
