// bench:ack — CreateAccount acknowledgement time on MariaDB: through the PHP module (real PHP
// from Debian, the module loaded as WHMCS loads it) and through plain signed HTTP from node, each
// call a new service. First with the engine stopped: the order's path alone (sign, send, check,
// plan, one transaction, answer). Then through the PHP module again while the engine works
// (busy_shim_*): an engine at the daemon's concurrency, in the daemon's process and on its queue,
// runs chains of BENCH_BUSY_STEPS builtin.sleep steps (BENCH_BUSY_STEP_MS each, default 5 ms,
// a command on a LAN) on 128 targets (limit 1): claims, slot rows, attempts and chain advances go
// on beside every acknowledgement. (The orders' own chains stay queued: their servers are not
// real.) The last output line is JSON: shim_p50_ms, shim_p99_ms, http_p50_ms, http_p99_ms,
// busy_shim_p50_ms, busy_shim_p99_ms, busy_tasks (tasks the engine finished meanwhile).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { connect } from '../daemon/db/connect.ts';
import { loadConfig } from '../daemon/config/config.ts';
import { startDaemon } from '../daemon/runtime.ts';
import { createLogger } from '../daemon/log/logger.ts';
import { Engine } from '../daemon/engine/engine.ts';
import { TaskRegistry } from '../daemon/engine/registry.ts';
import { DEFAULT_RETRY_POLICY } from '../daemon/engine/retry.ts';
import { inTx } from '../daemon/db/connect.ts';
import { ensureTargets } from '../daemon/engine/sql/targets.ts';
import { T } from '../daemon/common/tables.ts';
import { registerTestTaskTypes } from '../test/helpers/task-types.ts';
import type { Knex } from 'knex';
import { addTestFleet, call, createBody } from '../test/helpers/api.ts';
import { TEST_MASTER_KEY, TEST_SECRET } from '../test/helpers/daemon.ts';

const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const BUSY_CHAINS = Number(process.env.BENCH_BUSY_CHAINS ?? 12_000);
const BUSY_STEPS = Number(process.env.BENCH_BUSY_STEPS ?? 3);
const BUSY_STEP_MS = Number(process.env.BENCH_BUSY_STEP_MS ?? 5);
const BUSY_TARGETS = 128;
for (const [k, v] of Object.entries({ BENCH_CALLS: CALLS, BENCH_BUSY_CHAINS: BUSY_CHAINS, BENCH_BUSY_STEPS: BUSY_STEPS, BENCH_BUSY_STEP_MS: BUSY_STEP_MS })) {
  if (!Number.isInteger(v) || v < (k === 'BENCH_BUSY_STEP_MS' ? 0 : 1)) throw new Error(`${k} must be a whole number${k === 'BENCH_BUSY_STEP_MS' ? ' ≥ 0' : ' ≥ 1'}, got ${process.env[k]}`);
}
if (BUSY_STEPS > BUSY_TARGETS) throw new Error(`BENCH_BUSY_STEPS must be at most ${BUSY_TARGETS}`);
const base = new URL(process.env.HOSTBRIDGE_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/hostbridge_bench_ack');
const database = base.pathname.slice(1) || 'hostbridge_bench_ack';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const say = (line: string) => process.stdout.write(line + '\n');
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (n: number) => Math.round(n * 100) / 100;

/** Chains of builtin.sleep steps, each step on another of 128 targets, as enqueueChain writes them; in bulk (not measured). */
async function loadBusyChains(db: Knex): Promise<void> {
  const target = (i: number) => `busy:${(i % BUSY_TARGETS) + 1}`;
  await inTx(db, (trx) => ensureTargets(trx, Array.from({ length: BUSY_TARGETS }, (_, i) => target(i)), 1));
  const now = Date.now();
  const first = 10_000_000;
  for (let c0 = 0; c0 < BUSY_CHAINS; c0 += 500) {
    const ids = Array.from({ length: Math.min(500, BUSY_CHAINS - c0) }, (_, i) => c0 + i);
    await db(T.chains).insert(ids.map((c) => ({ id: first + c, service_id: null, operation: 'busy', state: 'running', active_key: `busy:${c}`, step_count: BUSY_STEPS, created_at: now, started_at: now })));
    await db(T.tasks).insert(ids.flatMap((c) => Array.from({ length: BUSY_STEPS }, (_, st) => ({
      chain_id: first + c, step_no: st, service_id: null, operation: 'busy', step: `step-${st}`, type: 'builtin.sleep', args: JSON.stringify({ ms: BUSY_STEP_MS }),
      target: target(c * BUSY_STEPS + st), status: st === 0 ? 'queued' : 'waiting', active_key: `busy:${c}:${st}`, attempts: 0, run_at: now, created_at: now,
    }))));
  }
}

function runPhp(url: string, groupId: number, first: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('php', [path.join(ROOT, 'bench/ack.php'), url, String(groupId), String(first), String(CALLS)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.once('error', (e) => reject(new Error(`cannot run php (apt-get install -y php-cli php-curl): ${e.message}`)));
    child.once('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`php exited ${code}: ${err.trim()}`))));
    child.stdin.end(TEST_SECRET + '\n');
  });
}

async function main(): Promise<void> {
  const admin = connect({ client: 'mysql2', url: '', host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username || 'root'), password: decodeURIComponent(base.password), database: 'mysql' }, { poolMax: 1 });
  await admin.raw(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.raw(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  await admin.destroy();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-bench-ack-'));
  const url = `mysql://${base.username || 'root'}${base.password ? ':' + base.password : ''}@${base.hostname}:${base.port || 3306}/${database}`;
  const config = loadConfig({ HOSTBRIDGE_DATABASE_URL: url, HOSTBRIDGE_LISTEN: '127.0.0.1:0', HOSTBRIDGE_SECRET: TEST_SECRET, HOSTBRIDGE_MASTER_KEY: TEST_MASTER_KEY }, dir);
  const logger = createLogger({ format: 'json', level: 'error', stream: new Writable({ write(_c, _e, cb) { cb(); } }) });
  const daemon = await startDaemon(config, { migrate: true, logger });
  try {
    await daemon.engine.stop(1000);
    const fleet = await addTestFleet(daemon.url);
    say(`daemon on ${daemon.url}, MariaDB database ${database}; ${CALLS} CreateAccount calls each way`);

    // A few calls each way first, so neither side pays for first-connection setup in the figures.
    await runPhpWarm(daemon.url, fleet.groupId);
    const http: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const body = createBody(2_000_000 + i, fleet.groupId);
      const t0 = performance.now();
      const r = await call(daemon.url, 'POST', '/v1/services', body);
      http.push(performance.now() - t0);
      if (r.status !== 200 || !r.body.created) throw new Error(`HTTP CreateAccount ${i} answered ${r.status} ${JSON.stringify(r.body)}`);
    }
    const shim = await runPhp(daemon.url, fleet.groupId, 1_000_000);
    const s = [...shim].sort((a, b) => a - b);
    const h = [...http].sort((a, b) => a - b);
    const services = Number(((await daemon.core.db('mod_hostbridge_services').count({ n: '*' }).first()) as { n: number }).n);
    say(`services written: ${services} (expected ${2 * CALLS + 10})`);
    say(`shim: p50 ${round(pct(s, 50))} ms, p99 ${round(pct(s, 99))} ms, max ${round(s.at(-1)!)} ms`);
    say(`http: p50 ${round(pct(h, 50))} ms, p99 ${round(pct(h, 99))} ms, max ${round(h.at(-1)!)} ms`);

    // The same calls through the PHP module while an engine works beside them.
    await loadBusyChains(daemon.core.db);
    const busyEngine = new Engine(daemon.core.queue, registerTestTaskTypes(new TaskRegistry()), {
      concurrency: config.concurrency, leaseMs: config.leaseMs, pollMs: config.pollMs, logger, retryDefaults: () => DEFAULT_RETRY_POLICY,
    });
    busyEngine.start();
    await new Promise((r) => setTimeout(r, 500));
    const before = busyEngine.stats.succeeded;
    const busy = await runPhp(daemon.url, fleet.groupId, 4_000_000);
    const busyTasks = busyEngine.stats.succeeded - before;
    const left = Number(((await daemon.core.db(T.tasks).where('operation', 'busy').whereIn('status', ['queued', 'waiting']).count({ n: '*' }).first()) as { n: number }).n);
    await busyEngine.stop();
    if (left === 0) throw new Error(`the engine ran out of work before the busy calls ended: raise BENCH_BUSY_CHAINS (${BUSY_CHAINS})`);
    if (busyEngine.stats.failed + busyEngine.stats.lost > 0) throw new Error(`busy engine: ${busyEngine.stats.failed} failed, ${busyEngine.stats.lost} lost`);
    const b = [...busy].sort((x, y) => x - y);
    const busySeconds = busy.reduce((x, y) => x + y, 0) / 1000;
    say(`shim while the engine works (${busyTasks} tasks done, ${(busyTasks / busySeconds).toFixed(0)}/s): p50 ${round(pct(b, 50))} ms, p99 ${round(pct(b, 99))} ms, max ${round(b.at(-1)!)} ms`);
    say(JSON.stringify({
      shim_p50_ms: round(pct(s, 50)), shim_p99_ms: round(pct(s, 99)), http_p50_ms: round(pct(h, 50)), http_p99_ms: round(pct(h, 99)),
      busy_shim_p50_ms: round(pct(b, 50)), busy_shim_p99_ms: round(pct(b, 99)), busy_tasks: busyTasks, calls: CALLS,
    }));
  } finally {
    await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  async function runPhpWarm(daemonUrl: string, groupId: number): Promise<void> {
    for (let i = 0; i < 10; i++) await call(daemonUrl, 'POST', '/v1/services', createBody(3_000_000 + i, groupId));
  }
}

main().catch((err) => {
  process.stderr.write(`bench:ack failed: ${(err as Error).message}\n`);
  process.exit(1);
});
