// bench:queue — tasks per second through one daemon's engine on MariaDB, the way a daemon runs
// them: every task on a target server with a per-target limit (BENCH_TARGETS targets, default
// 128, limit 1 each, as ensureTargets makes them), in chains of BENCH_CHAIN_STEPS steps (default
// 3) on different targets, each step starting when the one before succeeds, at the daemon's
// default concurrency and poll interval (daemon/config; BENCH_CONCURRENCY overrides). The tasks
// are no-ops: this is the queue's own cost.
// Against it, in the same run and on the same tables: a bare SKIP LOCKED loop that does the least
// the same work needs: it takes a task only with a free slot of its target (both rows locked with
// SKIP LOCKED in one short transaction), at most the same number in flight (two claimers, each
// with half), then marks what it took succeeded, frees the slots and queues the chains' next
// steps in one transaction per batch.
// The last line of output is JSON: tasks_per_s, raw_tasks_per_s, ratio (and the set-up).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import { connect, inTx } from '../daemon/db/connect.ts';
import { migrateLatest } from '../daemon/db/migrate.ts';
import { loadConfig } from '../daemon/config/config.ts';
import { Engine } from '../daemon/engine/engine.ts';
import { TaskRegistry } from '../daemon/engine/registry.ts';
import { ensureTargets } from '../daemon/engine/sql/targets.ts';
import { registerTestTaskTypes } from '../test/helpers/task-types.ts';
import { DEFAULT_RETRY_POLICY } from '../daemon/engine/retry.ts';
import { createLogger } from '../daemon/log/logger.ts';
import { T } from '../daemon/common/tables.ts';
import { daemonQueue } from '../daemon/runtime.ts';
import { TEST_MASTER_KEY, TEST_SECRET } from '../test/helpers/daemon.ts';

function whole(name: string, dflt: number, min: number): number {
  const raw = process.env[name];
  const n = raw === undefined ? dflt : Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number ≥ ${min}, got ${raw}`);
  return n;
}

// The daemon's defaults, read the way the daemon reads them (no environment of ours).
const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-bench-queue-'));
const defaults = loadConfig({ HOSTBRIDGE_DATABASE_URL: path.join(configDir, 'unused.sqlite'), HOSTBRIDGE_SECRET: TEST_SECRET, HOSTBRIDGE_MASTER_KEY: TEST_MASTER_KEY }, configDir);
fs.rmSync(configDir, { recursive: true, force: true });

const CONCURRENCY = whole('BENCH_CONCURRENCY', defaults.concurrency, 1);
const TARGETS = whole('BENCH_TARGETS', 128, 1);
const STEPS = whole('BENCH_CHAIN_STEPS', 3, 1);
if (STEPS > TARGETS) throw new Error(`BENCH_CHAIN_STEPS (${STEPS}) must not exceed BENCH_TARGETS (${TARGETS}): a chain's steps are on different targets`);
const CHAINS = Math.ceil(whole('BENCH_TASKS', 6_000, 1) / STEPS);
const TASKS = CHAINS * STEPS;
const ROUNDS = whole('BENCH_ROUNDS', 3, 1);
const base = new URL(process.env.HOSTBRIDGE_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/hostbridge_bench');
const database = base.pathname.slice(1) || 'hostbridge_bench';
const cfg = { client: 'mysql2' as const, url: '', host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username || 'root'), password: decodeURIComponent(base.password), database };
const targetName = (i: number) => `server:${i + 1}`;
/** Chain c's step s: consecutive steps on different targets, chains spread over all of them. */
const targetOf = (c: number, s: number) => targetName((c * STEPS + s) % TARGETS);

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
  await inTx(db, (trx) => ensureTargets(trx, Array.from({ length: TARGETS }, (_, i) => targetName(i)), 1));
  return db;
}

/** The chains as enqueueChain writes them (step 0 queued, the rest waiting), in bulk: the load is not measured. */
async function load(db: Knex): Promise<void> {
  await db(T.attempts).truncate();
  await db(T.tasks).truncate();
  await db(T.chains).truncate();
  const busy = await db(T.slots).whereNotNull('task_id').count({ n: '*' }).first();
  if (Number((busy as { n: number }).n) !== 0) throw new Error('target slots were left taken by the previous run');
  const now = Date.now();
  for (let c0 = 0; c0 < CHAINS; c0 += 500) {
    const ids = Array.from({ length: Math.min(500, CHAINS - c0) }, (_, i) => c0 + i);
    await db(T.chains).insert(ids.map((c) => ({
      id: c + 1, service_id: null, operation: 'bench', state: 'running', active_key: `bench:${c}`, step_count: STEPS, created_at: now, started_at: now,
    })));
    await db(T.tasks).insert(ids.flatMap((c) => Array.from({ length: STEPS }, (_, s) => ({
      chain_id: c + 1, step_no: s, service_id: null, operation: 'bench', step: `step-${s}`, type: 'builtin.noop', target: targetOf(c, s),
      status: s === 0 ? 'queued' : 'waiting', active_key: `bench:${c}:${s}`, attempts: 0, run_at: now, created_at: now,
    }))));
  }
}

async function checkAllDone(db: Knex, who: string): Promise<void> {
  const left = Number(((await db(T.tasks).whereNot('status', 'succeeded').count({ n: '*' }).first()) as { n: number }).n);
  if (left !== 0) throw new Error(`${who}: ${left} tasks did not succeed`);
  const held = Number(((await db(T.slots).whereNotNull('task_id').count({ n: '*' }).first()) as { n: number }).n);
  if (held !== 0) throw new Error(`${who}: ${held} target slots still taken at the end`);
}

async function engineRun(db: Knex): Promise<number> {
  await load(db);
  const logger = createLogger({ format: 'json', level: 'error', stream: new Writable({ write(_c, _e, cb) { cb(); } }) });
  // The daemon's own queue and hooks: a chain's end goes through them as in production.
  const engine = new Engine(daemonQueue(db), registerTestTaskTypes(new TaskRegistry()), {
    concurrency: CONCURRENCY, leaseMs: defaults.leaseMs, pollMs: defaults.pollMs, logger, retryDefaults: () => DEFAULT_RETRY_POLICY,
  });
  const t0 = performance.now();
  engine.start();
  while (engine.stats.succeeded < TASKS) {
    if (engine.stats.failed + engine.stats.lost > 0) throw new Error(`engine: ${engine.stats.failed} failed, ${engine.stats.lost} lost`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const s = (performance.now() - t0) / 1000;
  await engine.stop();
  await checkAllDone(db, 'engine');
  return TASKS / s;
}

interface Taken { id: number; chain_id: number; step_no: number; owner: string }

/** The baseline: the least work the same schedule needs, with the same slots and in-flight limit. */
async function rawRun(db: Knex): Promise<number> {
  await load(db);
  let done = 0;
  // inTx, as the engine: two claimers and their completions can deadlock on the tasks' indexes, and
  // a loop that does not retry then stops.
  const claim = (limit: number) => inTx(db, async (trx): Promise<Taken[]> => {
    const owner = crypto.randomUUID();
    const rows: Array<{ id: number; chain_id: number; step_no: number; target: string }> = await trx(T.tasks)
      .select('id', 'chain_id', 'step_no', 'target').where('status', 'queued').where('run_at', '<=', Date.now())
      .whereIn('target', trx(T.slots).select('target').whereNull('task_id'))
      .orderBy([{ column: 'run_at' }, { column: 'id' }]).limit(limit * 4).forUpdate().skipLocked();
    if (rows.length === 0) return [];
    const free: Array<{ target: string; slot: number }> = await trx(T.slots).select('target', 'slot')
      .whereIn('target', [...new Set(rows.map((r) => r.target))]).whereNull('task_id').forUpdate().skipLocked();
    const slots = new Map(free.map((f) => [f.target, f.slot]));
    const chosen: Array<(typeof rows)[number] & { slot: number }> = [];
    for (const r of rows) {
      if (chosen.length >= limit) break;
      const slot = slots.get(r.target);
      if (slot === undefined) continue;
      slots.delete(r.target);
      chosen.push({ ...r, slot });
    }
    if (chosen.length === 0) return [];
    await trx(T.tasks).whereIn('id', chosen.map((c) => c.id)).update({ status: 'running', owner });
    for (const c of chosen) await trx(T.slots).where({ target: c.target, slot: c.slot }).update({ task_id: c.id, owner });
    return chosen.map((c) => ({ id: c.id, chain_id: c.chain_id, step_no: c.step_no, owner }));
  });
  // What finished together is recorded together (one commit), as the engine does.
  const complete = (batch: Taken[]) => inTx(db, async (trx) => {
    const owners = [...new Set(batch.map((t) => t.owner))];
    await trx(T.tasks).whereIn('id', batch.map((t) => t.id)).whereIn('owner', owners).where('status', 'running').update({ status: 'succeeded', owner: null });
    await trx(T.slots).whereIn('task_id', batch.map((t) => t.id)).whereIn('owner', owners).update({ task_id: null, owner: null });
    for (const t of batch) {
      if (t.step_no + 1 < STEPS) await trx(T.tasks).where({ chain_id: t.chain_id, step_no: t.step_no + 1, status: 'waiting' }).update({ status: 'queued', run_at: Date.now() });
      else await trx(T.chains).where('id', t.chain_id).update({ state: 'succeeded', active_key: null });
    }
  });
  const t0 = performance.now();
  // CLAIMERS loops, each claiming its share of the in-flight limit and completing what it took.
  const CLAIMERS = Math.min(2, CONCURRENCY);
  const share = (i: number) => Math.floor(CONCURRENCY / CLAIMERS) + (i < CONCURRENCY % CLAIMERS ? 1 : 0);
  await Promise.all(Array.from({ length: CLAIMERS }, async (_, i) => {
    while (done < TASKS) {
      const got = await claim(share(i));
      if (got.length === 0) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      await complete(got);
      done += got.length;
    }
  }));
  const s = (performance.now() - t0) / 1000;
  if (done !== TASKS) throw new Error(`raw loop completed ${done} of ${TASKS}`);
  await checkAllDone(db, 'bare loop');
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
say(`bench:queue — ${TASKS} no-op tasks in ${CHAINS} chains of ${STEPS} steps on ${TARGETS} targets (limit 1 each), concurrency ${CONCURRENCY}, poll ${defaults.pollMs} ms, ${ROUNDS} round(s), MariaDB ${base.hostname}:${cfg.port}/${database}`);
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
const admin = connect({ ...cfg, database: 'mysql' }, { poolMax: 1 });
await admin.raw(`DROP DATABASE IF EXISTS \`${database}\``);
await admin.destroy();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const tasksPerS = Math.round(median(engineRates));
const rawPerS = Math.round(median(rawRates));
const ratio = Number((tasksPerS / rawPerS).toFixed(3));
say(`engine ${tasksPerS} tasks/s, bare loop ${rawPerS} tasks/s, ratio ${ratio} (target: ratio ≥ 0.8)`);
say(JSON.stringify({ tasks_per_s: tasksPerS, raw_tasks_per_s: rawPerS, ratio, tasks: TASKS, chains: CHAINS, chain_steps: STEPS, targets: TARGETS, target_limit: 1, concurrency: CONCURRENCY, rounds: ROUNDS }));
