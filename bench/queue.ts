// bench:queue — no-op tasks per second through one daemon's engine on MariaDB, against a bare
// SKIP LOCKED claim/complete loop on the same database and table, measured in the same run.
// The last line of output is JSON: tasks_per_s, raw_tasks_per_s, ratio.
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import { connect } from '../daemon/db/connect.ts';
import { migrateLatest } from '../daemon/db/migrate.ts';
import { Engine } from '../daemon/engine/engine.ts';
import { TaskRegistry } from '../daemon/engine/registry.ts';
import { registerTestTaskTypes } from '../test/helpers/task-types.ts';
import { enqueueTasks } from '../daemon/engine/chains.ts';
import { DEFAULT_RETRY_POLICY } from '../daemon/engine/retry.ts';
import { createLogger } from '../daemon/log/logger.ts';
import { T } from '../daemon/common/tables.ts';
import { daemonQueue } from '../daemon/runtime.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const base = new URL(process.env.HOSTBRIDGE_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/hostbridge_bench');
const database = base.pathname.slice(1) || 'hostbridge_bench';
const cfg = { client: 'mysql2' as const, url: '', host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username || 'root'), password: decodeURIComponent(base.password), database };

function say(line: string) {
  process.stdout.write(line + '\n');
}

async function fresh(): Promise<Knex> {
  const admin = connect({ ...cfg, database: 'mysql' }, { poolMax: 1 });
  await admin.raw(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.raw(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  await admin.destroy();
  const db = connect(cfg, { poolMax: CONCURRENCY + 6 });
  await migrateLatest(db);
  return db;
}

async function load(db: Knex): Promise<void> {
  await db(T.attempts).truncate();
  await db(T.tasks).truncate();
  await enqueueTasks(db, 'bench', Array.from({ length: TASKS }, (_, i) => ({ step: `noop-${i}`, type: 'builtin.noop' })));
}

async function engineRun(db: Knex): Promise<number> {
  await load(db);
  const logger = createLogger({ format: 'json', level: 'error', stream: new Writable({ write(_c, _e, cb) { cb(); } }) });
  // The daemon's own hooks, though these tasks belong to no chain and never fail.
  const queue = daemonQueue(db);
  const engine = new Engine(queue, registerTestTaskTypes(new TaskRegistry()), {
    concurrency: CONCURRENCY, leaseMs: 30_000, pollMs: 50, logger, retryDefaults: () => DEFAULT_RETRY_POLICY,
  });
  const t0 = performance.now();
  engine.start();
  while (engine.stats.succeeded < TASKS) await new Promise((r) => setTimeout(r, 5));
  const s = (performance.now() - t0) / 1000;
  await engine.stop();
  const left = Number(((await db(T.tasks).whereNot('status', 'succeeded').count({ n: '*' }).first()) as { n: number }).n);
  if (left !== 0) throw new Error(`${left} tasks did not succeed`);
  return TASKS / s;
}

/** The baseline: claim a batch with SKIP LOCKED in a short transaction, then complete each task. */
async function rawRun(db: Knex): Promise<number> {
  await load(db);
  let done = 0;
  const worker = async () => {
    for (;;) {
      const owner = crypto.randomUUID();
      const ids = await db.transaction(async (trx) => {
        const rows = await trx(T.tasks).select('id').where('status', 'queued').where('run_at', '<=', Date.now())
          .orderBy([{ column: 'run_at' }, { column: 'id' }]).limit(CONCURRENCY).forUpdate().skipLocked();
        const got = rows.map((r: { id: number }) => r.id);
        if (got.length) await trx(T.tasks).whereIn('id', got).update({ status: 'running', owner });
        return got;
      });
      if (ids.length === 0) return;
      await Promise.all(ids.map(async (id: number) => {
        await db(T.tasks).where({ id, owner }).update({ status: 'succeeded', owner: null });
        done++;
      }));
    }
  };
  const t0 = performance.now();
  // As many claimers as it takes to keep CONCURRENCY completions in flight, as the engine does.
  await Promise.all(Array.from({ length: 2 }, worker));
  const s = (performance.now() - t0) / 1000;
  if (done !== TASKS) throw new Error(`raw loop completed ${done} of ${TASKS}`);
  return TASKS / s;
}

let db: Knex;
try {
  db = await fresh();
} catch (err) {
  process.stderr.write(`bench:queue needs MariaDB/MySQL at ${base.hostname}:${cfg.port} as ${cfg.user} with the right to create the database ${database}: ${(err as Error).message}\n` +
    'Start it (npm test does: start-stop-daemon --start --background --exec /usr/sbin/mariadbd) or set HOSTBRIDGE_BENCH_MYSQL_URL.\n');
  process.exit(1);
}
say(`bench:queue — ${TASKS} no-op tasks, concurrency ${CONCURRENCY}, ${ROUNDS} round(s), MariaDB ${base.hostname}:${cfg.port}/${database}`);
const engineRates: number[] = [];
const rawRates: number[] = [];
for (let r = 1; r <= ROUNDS; r++) {
  const raw = await rawRun(db);
  rawRates.push(raw);
  say(`round ${r}: bare SKIP LOCKED loop ${raw.toFixed(0)} tasks/s`);
  const eng = await engineRun(db);
  engineRates.push(eng);
  say(`round ${r}: hostbridge engine     ${eng.toFixed(0)} tasks/s`);
}
await db.destroy();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const tasksPerS = Math.round(median(engineRates));
const rawPerS = Math.round(median(rawRates));
const ratio = Number((tasksPerS / rawPerS).toFixed(3));
say(`engine ${tasksPerS} tasks/s, bare loop ${rawPerS} tasks/s, ratio ${ratio} (targets: ≥ 1000 tasks/s, ratio ≥ 0.7)`);
say(JSON.stringify({ tasks_per_s: tasksPerS, raw_tasks_per_s: rawPerS, ratio, tasks: TASKS, concurrency: CONCURRENCY, rounds: ROUNDS }));
