// Task types with no remote side, for the engine and chaos tests and the queue benchmark only:
// production daemons never register them. A test daemon gets them through startDaemon's
// extraTaskTypes (in a process of its own: TEST_SERVE). Their `builtin.` names are historic.
// `builtin.ledger` is a check-then-act step against a SQLite "remote" of its own, so a test can
// prove an effect is applied once however often the daemon running it is killed.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { RetryableError, TerminalError } from '../../daemon/common/errors.ts';
import type { TaskContext, TaskRegistry } from '../../daemon/engine/registry.ts';
import { TSX } from './daemon.ts';

/** `node <TEST_SERVE>`: `hostbridge serve` with these task types too, for startDaemonProcess's argv. */
export const TEST_SERVE = ['--import', TSX, path.join(path.dirname(fileURLToPath(import.meta.url)), 'serve-with-test-types.ts')];

function args<T>(ctx: TaskContext): T {
  const a = ctx.task.args;
  if (a === null || typeof a !== 'object' || Array.isArray(a)) return {} as T;
  return a as T;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const ledgers = new Map<string, Database.Database>();

/** Opens a ledger file (one connection per file per process). */
export function openLedger(file: string): Database.Database {
  let db = ledgers.get(file);
  if (!db) {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 20000');
    db.exec(`CREATE TABLE IF NOT EXISTS effects (key TEXT NOT NULL, task_id INTEGER, attempt INTEGER, pid INTEGER, at REAL);
             CREATE TABLE IF NOT EXISTS runs (task_id INTEGER, attempt INTEGER, target TEXT, service_id INTEGER, pid INTEGER, started REAL, ended REAL);`);
    ledgers.set(file, db);
  }
  return db;
}

interface LedgerArgs { ledger?: string; key?: string; holdMs?: number; trace?: boolean }

export function registerTestTaskTypes(registry: TaskRegistry): TaskRegistry {
  registry.register({
    name: 'builtin.noop',
    description: 'Does nothing and succeeds (queue benchmarks).',
    async run() {
      return null;
    },
  });

  registry.register({
    name: 'builtin.sleep',
    description: 'Waits args.ms milliseconds, printing progress.',
    async run(ctx) {
      const ms = Number(args<{ ms?: number }>(ctx).ms ?? 100);
      if (!Number.isFinite(ms) || ms < 0 || ms > 3_600_000) throw new TerminalError(`builtin.sleep: ms must be between 0 and 3600000, got ${ms}`);
      ctx.log(`sleeping ${ms} ms`);
      await pause(ms, ctx.signal);
      ctx.log('done');
      return { slept: ms };
    },
  });

  registry.register({
    name: 'builtin.flaky',
    description: 'Fails its first args.failTimes attempts (retryable, or terminal when args.terminal), then succeeds.',
    async run(ctx) {
      const a = args<{ failTimes?: number; terminal?: boolean; message?: string }>(ctx);
      const failTimes = Number(a.failTimes ?? 1);
      if (ctx.task.attempt <= failTimes) {
        const msg = a.message ?? `simulated failure on attempt ${ctx.task.attempt}`;
        ctx.log(`failing: ${msg}`);
        throw a.terminal ? new TerminalError(msg) : new RetryableError(msg);
      }
      ctx.log(`succeeding on attempt ${ctx.task.attempt}`);
      return { attempt: ctx.task.attempt };
    },
  });

  registry.register({
    name: 'builtin.ledger',
    description: 'Check-then-act on a SQLite ledger: records args.key once, whatever the number of attempts.',
    policy: { maxAttempts: 0, baseMs: 50, capMs: 1000, jitter: 0.2 },
    async run(ctx) {
      const a = args<LedgerArgs>(ctx);
      if (!a.ledger || !path.isAbsolute(a.ledger) || !a.ledger.endsWith('.sqlite')) throw new TerminalError('builtin.ledger: args.ledger must be an absolute path to a .sqlite file');
      if (!a.key) throw new TerminalError('builtin.ledger: args.key is required');
      const db = openLedger(a.ledger);
      const started = performance.timeOrigin + performance.now();
      const run = a.trace
        ? db.prepare('INSERT INTO runs (task_id, attempt, target, service_id, pid, started) VALUES (?, ?, ?, ?, ?, ?)')
          .run(ctx.task.id, ctx.task.attempt, ctx.task.target, ctx.task.serviceId, process.pid, started).lastInsertRowid
        : null;
      // Check …
      const seen = db.prepare('SELECT count(*) AS n FROM effects WHERE key = ?').get(a.key) as { n: number };
      if (seen.n > 0) {
        ctx.log(`${a.key}: already applied, nothing to do`);
      } else {
        // … widen the window between check and act, where a second runner would slip in …
        if (a.holdMs) await pause(a.holdMs, ctx.signal);
        // … then act.
        db.prepare('INSERT INTO effects (key, task_id, attempt, pid, at) VALUES (?, ?, ?, ?, ?)')
          .run(a.key, ctx.task.id, ctx.task.attempt, process.pid, performance.timeOrigin + performance.now());
        ctx.log(`${a.key}: applied`);
      }
      if (run !== null) db.prepare('UPDATE runs SET ended = ? WHERE rowid = ?').run(performance.timeOrigin + performance.now(), run);
      return { key: a.key };
    },
  });
  return registry;
}
