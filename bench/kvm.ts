// npm run bench:kvm — one KVM deployment (seed 003's machine: addresses, clone, move, hardware,
// network, firewall, cloud-init, start, verify) over the Proxmox VE API emulator with injected
// latency per API call and per-type task durations, started through the signed API on a daemon in
// this process, on MariaDB (a database of its own, dropped and recreated; HOSTBRIDGE_BENCH_MYSQL_URL
// to change it). No DNS server: the bench measures the Proxmox side. It measures:
//   end_to_end_s  from the CreateAccount call to the commit that made the service `active` (the
//                 chain's finished_at; the progress poll, every 250 ms, only notices it);
//   remote_s      the time the deployment spent in Proxmox: measured on the emulator's side, as the
//                 union of every API request's span (arrival → answer sent, the injected latency
//                 included: the emulator sleeps it after the request arrived) and every task's span
//                 (fork → worker done). A union, so a status poll made while a task runs is not
//                 counted twice. The emulator's side and not the driver's own per-request timings
//                 (its "PVE GET … → 200 31 ms" log lines): only the emulator knows when a task
//                 really ended, and the slack between that and the poll that sees it is exactly
//                 the daemon's waste this bench is about. The emulator runs in this process; the
//                 bench hooks its request list, its task fork and its task durations (no change to
//                 the emulator's code);
//   ratio         end_to_end_s / remote_s (target ≤ 1.2: seed 003's module needed one cron minute
//                 per step);
// and where the rest went: before the first step's claim (first_claim_ms), the gaps between one
// step's finish and the next one's claim (gap_ms), the steps' time outside Proxmox
// (handler_overhead_ms), and in it: claim → first request (lead_ms), the polling slack
// (poll_slack_ms: from each task's end to the arrival of the status poll that saw it stopped), last
// answer → finish written (tail_ms). Each step's line shows its requests and tasks, each task seen
// how late.
// Defaults: 30 ms per API call (BENCH_LATENCY_MS); task durations clone 2 s, migrate 2 s, resize
// 0.5 s, start 1 s, config 0.2 s (BENCH_TASK_MS, e.g. "qmclone=3000,qmstart=500": the emulator's task
// types), each task's drawn within ±25% of its type's (BENCH_TASK_JITTER=0.25) from a seeded
// generator: a fresh seed each run, printed in the JSON (BENCH_SEED=<seed> draws the same again).
// Real tasks never take round times, and with fixed ones the polling slack is a matter of where
// the polls happen to fall (a 2 s task was seen 10 ms late by one poll schedule and 260 ms late by
// another that is earlier on average): fresh draws make the median of a few runs the expected
// slack. Before the measured order one other VM is deployed at no latency, not measured
// (`warmup: 1`; BENCH_WARMUP=0 measures a fresh process's first deployment). Progress lines and the
// per-step timings go to stdout; the last line is JSON:
//   {"latency_ms":30,"end_to_end_s":…,"remote_s":…,"ratio":…,"steps":…,"requests":…,"tasks":…,…}
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchDatabase } from './bench-db.ts';
import { scratchDir } from './scratch.ts';
import { startTestDaemon } from '../test/helpers/inprocess.ts';
import { call } from '../test/helpers/api.ts';
import { kvmOrderBody, startKvmLab } from '../test/helpers/kvm.ts';
import { Tasks, type Task } from '../test/emulator/proxmox/tasks.ts';

const log = (line: string) => console.log(`[bench:kvm] ${line}`);
const r3 = (n: number) => Number(n.toFixed(3));
const now = () => performance.timeOrigin + performance.now();

function number(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number of milliseconds ≥ 0, got "${raw}"`);
  return n;
}

const latencyMs = number('BENCH_LATENCY_MS', 30);
const taskMs: Record<string, number> = { qmclone: 2000, qmigrate: 2000, resize: 500, qmstart: 1000, qmconfig: 200, qmstop: 1000, qmshutdown: 2000, qmdestroy: 1000 };
for (const part of (process.env.BENCH_TASK_MS ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
  const m = /^([a-z]+)=(\d+(?:\.\d+)?)$/.exec(part);
  if (!m) throw new Error(`BENCH_TASK_MS must be a comma-separated list of type=ms (e.g. "qmclone=3000,qmstart=500"), got "${part}"`);
  taskMs[m[1]!] = Number(m[2]);
}
const jitter = number('BENCH_TASK_JITTER', 0.25);
if (jitter >= 1) throw new Error(`BENCH_TASK_JITTER must be a fraction below 1, got "${process.env.BENCH_TASK_JITTER}"`);
const seed = Math.floor(number('BENCH_SEED', Math.floor(Math.random() * 2 ** 31)));
const warmup = process.env.BENCH_WARMUP !== '0';
const POLL_MS = 250;
const { database, dbUrl, mysql, recreate } = benchDatabase('hostbridge_bench_kvm');

// --- the emulator's side: every request's and every task's span ---------------------------------

interface Span { from: number; to: number }
interface RequestSpan extends Span { method: string; path: string; status: number }
interface TaskSpan extends Span { upid: string; type: string }
const requestSpans: RequestSpan[] = [];
const taskSpans: TaskSpan[] = [];

/** mulberry32: a small seeded generator, so a rerun draws the same task durations. */
function seeded(a: number): () => number {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Each task's duration: its type's, within ±jitter. */
function hookDurations(): void {
  const duration = Tasks.prototype.duration;
  const random = seeded(seed);
  Tasks.prototype.duration = function (this: Tasks, type: string): number {
    return Math.round(duration.call(this, type) * (1 + jitter * (2 * random() - 1)));
  };
}

/** Every task the emulator forks: its start, and its end when the worker is done. */
function hookTasks(): void {
  const fork = Tasks.prototype.fork;
  Tasks.prototype.fork = function (this: Tasks, node, type, id, user, worker, fail): Task {
    const span: TaskSpan = { upid: '', type, from: now(), to: Number.NaN };
    const task = fork.call(this, node, type, id, user, async (ctx) => {
      try {
        await worker(ctx);
      } finally {
        span.to = now();
      }
    }, fail);
    span.upid = task.upid;
    taskSpans.push(span);
    return task;
  };
}

/** The emulator records each request as it arrives and sets its status as it answers: time both. */
function hookRequests(list: Array<{ method: string; path: string; status: number }>): void {
  const push = list.push.bind(list);
  list.push = (...entries) => {
    for (const e of entries) {
      const span: RequestSpan = { method: e.method, path: e.path, status: e.status, from: now(), to: Number.NaN };
      requestSpans.push(span);
      Object.defineProperty(e, 'status', {
        get: () => span.status,
        set: (v: number) => { span.status = v; span.to = now(); },
        enumerable: true,
      });
    }
    return push(...entries);
  };
}

/** Total length of the union of spans, clipped to [from, to]. */
function unionMs(spans: Span[], from: number, to: number): number {
  const parts = spans.map((s) => [Math.max(s.from, from), Math.min(Number.isNaN(s.to) ? to : s.to, to)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let start = -Infinity;
  let end = -Infinity;
  for (const [a, b] of parts) {
    if (a > end) {
      if (end > start) total += end - start;
      start = a;
      end = b;
    } else end = Math.max(end, b);
  }
  if (end > start) total += end - start;
  return total;
}

// --- the run -------------------------------------------------------------------------------------

interface StepRow { step_no: number; step: string; target: string | null; started_at: number; finished_at: number; attempts: number; duration_ms: number | null }

async function deploy(url: string, serviceId: number, hostname: string, what: string, progress: boolean): Promise<void> {
  const t0 = performance.now();
  const created = await call(url, 'POST', '/v1/services', kvmOrderBody(serviceId, hostname));
  if (created.status !== 200) throw new Error(`${what} CreateAccount: ${created.status} ${JSON.stringify(created.body)}`);
  if (progress) log(`order acknowledged in ${(performance.now() - t0).toFixed(1)} ms`);
  let last = '';
  const deadline = Date.now() + 300_000;
  for (;;) {
    const r = await call(url, 'GET', `/v1/services/${serviceId}`);
    const s = r.body?.service;
    const state = s?.state ?? `HTTP ${r.status}`;
    const p = s?.progress;
    const line = p ? `${p.done}/${p.total} ${p.current ?? ''}` : state;
    if (progress && line !== last) { log(`${((performance.now() - t0) / 1000).toFixed(2)} s  ${line}`); last = line; }
    if (state === 'active') return;
    if (state === 'failed' || Date.now() > deadline) throw new Error(`the ${what} ended ${state}`);
    await new Promise((res) => setTimeout(res, progress ? POLL_MS : 50));
  }
}

async function run(): Promise<Record<string, unknown>> {
  await recreate('bench:kvm');
  hookTasks();
  hookDurations();
  const dir = scratchDir('hb-bench-kvm-');
  const daemon = await startTestDaemon(path.join(dir, 'daemon'), dbUrl);
  let lab: Awaited<ReturnType<typeof startKvmLab>> | null = null;
  try {
    const db = daemon.core.db;
    // The scheduled jobs (cluster health, usage) would add their own calls to the emulator's count.
    for (const name of daemon.core.scheduler.names()) await db('mod_hostbridge_jobs').insert({ name }).onConflict('name').ignore();
    await db('mod_hostbridge_jobs').whereNot('name', 'reap-expired-leases').update({ last_slot: Number.MAX_SAFE_INTEGER });
    lab = await startKvmLab(daemon.url, { emulator: { taskMs, latencyMs: 0 } });
    hookRequests(lab.pve.requests);
    log(`Proxmox emulator ${lab.pve.url} (pve1 with the template, pve2 with room); daemon ${daemon.url}, MariaDB ${database}`);
    log(`latency ${latencyMs} ms per API call; task durations ${Object.entries(taskMs).map(([k, v]) => `${k} ${v} ms`).join(', ')}, each ±${Math.round(jitter * 100)}% (seed ${seed})`);
    if (warmup) {
      // A running daemon has served orders before: its code compiled, its pools and caches in use.
      const w0 = performance.now();
      await deploy(daemon.url, 9100, 'warmup.example.org', 'warm-up deployment', false);
      log(`warm-up deployment (no latency, not measured) done in ${((performance.now() - w0) / 1000).toFixed(2)} s`);
    }
    lab.pve.setLatency(latencyMs);

    const serviceId = 9101;
    let sql = 0;
    const onQuery = () => { sql++; };
    db.on('query', onQuery);
    const firstRequest = requestSpans.length;
    const firstTask = taskSpans.length;
    const wallT0 = Date.now();
    await deploy(daemon.url, serviceId, 'bench.example.org', 'deployment', true);
    db.off('query', onQuery);
    const chainEnd = await db('mod_hostbridge_chains as c').join('mod_hostbridge_services as s', 's.id', 'c.service_id')
      .where('s.whmcs_service_id', serviceId).max({ at: 'c.finished_at' }).first();
    const endAt = Number(chainEnd?.at);
    if (!Number.isFinite(endAt)) throw new Error('the deployment\'s chain has no finish time');
    const endToEndMs = endAt - wallT0;

    const reqs = requestSpans.slice(firstRequest).filter((s) => s.from <= endAt);
    const unanswered = reqs.filter((r) => Number.isNaN(r.to)).length;
    if (unanswered) log(`${unanswered} request(s) got no answer (counted as remote until the end)`);
    const tasks = taskSpans.slice(firstTask).filter((s) => s.from <= endAt);
    const all: Span[] = [...reqs, ...tasks];
    const remoteMs = unionMs(all, wallT0, endAt);

    // Polling slack: from a task's end to the arrival of the status poll that saw it stopped.
    const polls = reqs.filter((r) => /\/tasks\/[^/]+\/status$/.test(r.path));
    let slackMs = 0;
    let slackMax = 0;
    const slackOf = new Map<TaskSpan, number>();
    for (const t of tasks) {
      // A poll reads the status after the injected latency, before it answers: the first poll of
      // the task answered after its end is the one that saw it stopped.
      const seen = polls.find((p) => decodeURIComponent(p.path).includes(t.upid) && p.to >= t.to);
      if (!seen) continue;
      const slack = Math.max(0, seen.from - t.to);
      slackOf.set(t, slack);
      slackMs += slack;
      slackMax = Math.max(slackMax, slack);
    }

    const steps: StepRow[] = await db('mod_hostbridge_tasks as t')
      .join('mod_hostbridge_services as s', 's.id', 't.service_id')
      .leftJoin('mod_hostbridge_task_attempts as a', function () { this.on('a.task_id', 't.id').andOn('a.attempt', 't.attempts'); })
      .where('s.whmcs_service_id', serviceId)
      .select('t.step_no', 't.step', 't.target', 't.started_at', 't.finished_at', 't.attempts', 'a.duration_ms')
      .orderBy('t.step_no');
    const sorted = [...steps].sort((a, b) => Number(a.started_at) - Number(b.started_at));
    let gapMs = 0;
    for (let i = 1; i < sorted.length; i++) gapMs += Math.max(0, Number(sorted[i]!.started_at) - Math.max(...sorted.slice(0, i).map((s) => Number(s.finished_at))));
    let stepMs = 0;
    let stepRemoteMs = 0;
    let leadMs = 0;
    let tailMs = 0;
    log(`per step (the last attempt's claim → finish; remote = Proxmox's time inside it; lead = claim → first request, tail = last answer → finish written):`);
    for (const s of steps) {
      const from = Number(s.started_at);
      const to = Number(s.finished_at);
      const inside = reqs.filter((r) => r.from >= from && r.from <= to);
      const myTasks = tasks.filter((t) => t.from >= from && t.from <= to);
      const remote = unionMs(all, from, to);
      const lead = inside.length ? Math.max(0, Math.min(...inside.map((r) => r.from)) - from) : 0;
      const tail = inside.length ? Math.max(0, to - Math.max(...inside.map((r) => r.to))) : 0;
      stepMs += to - from;
      stepRemoteMs += remote;
      leadMs += lead;
      tailMs += tail;
      log(`  step ${String(s.step_no).padStart(2)} ${s.step.padEnd(12)} ${String(s.target ?? '-').padEnd(10)} ${String(to - from).padStart(5)} ms, remote ${remote.toFixed(0).padStart(5)} ms: ${inside.length} request(s)${myTasks.length ? `, task(s) ${myTasks.map((t) => `${t.type} ${(t.to - t.from).toFixed(0)} ms seen ${(slackOf.get(t) ?? Number.NaN).toFixed(0)} ms late`).join(', ')}` : ''}; lead ${lead.toFixed(0)}, tail ${tail.toFixed(0)} ms${s.attempts > 1 ? `; attempt ${s.attempts}` : ''}`);
    }
    const firstClaimMs = sorted.length ? Number(sorted[0]!.started_at) - wallT0 : 0;
    const lastFinish = sorted.length ? Math.max(...sorted.map((s) => Number(s.finished_at))) : endAt;
    const outside = endToEndMs - remoteMs;
    log(`${reqs.length} API requests (${polls.length} task status polls), ${tasks.length} tasks; ${sql} SQL statements (the progress poll's included)`);
    log(`end to end ${(endToEndMs / 1000).toFixed(3)} s, in Proxmox ${(remoteMs / 1000).toFixed(3)} s; the other ${outside.toFixed(0)} ms: order → first claim ${firstClaimMs} ms, gaps between steps ${gapMs} ms, steps outside Proxmox ${(stepMs - stepRemoteMs).toFixed(0)} ms (claim → first request ${leadMs.toFixed(0)} ms, polling slack ${slackMs.toFixed(0)} ms — at most ${slackMax.toFixed(0)} ms for one task —, between the other requests ${(stepMs - stepRemoteMs - leadMs - tailMs - slackMs).toFixed(0)} ms, last answer → finish written ${tailMs.toFixed(0)} ms), last finish → active ${endAt - lastFinish} ms`);
    const ratio = endToEndMs / remoteMs;
    log(`ratio ${ratio.toFixed(3)} (target ≤ 1.2)`);
    return {
      latency_ms: latencyMs, task_ms: taskMs, task_jitter: jitter, seed, warmup: warmup ? 1 : 0,
      end_to_end_s: r3(endToEndMs / 1000), remote_s: r3(remoteMs / 1000), ratio: r3(ratio),
      steps: steps.length, requests: reqs.length, status_polls: polls.length, tasks: tasks.length,
      first_claim_ms: firstClaimMs, gap_ms: gapMs, handler_overhead_ms: Math.round(stepMs - stepRemoteMs),
      lead_ms: Math.round(leadMs), poll_slack_ms: Math.round(slackMs), tail_ms: Math.round(tailMs), sql_statements: sql,
    };
  } finally {
    await daemon.stop().catch(() => {});
    await lab?.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const result = await run();
const admin = mysql('mysql');
await admin.raw(`DROP DATABASE IF EXISTS \`${database}\``);
await admin.destroy();
console.log(JSON.stringify(result));
