// npm run bench:deploy — one Split deployment over the emulated fleet with injected per-command
// latency, started through the signed API on a daemon in this process (the emulated nodes run in a
// child process of their own, so their work does not hold up the daemon's event loop; PowerDNS is
// Debian's pdns_server behind a timing proxy), on MariaDB (a database of
// its own, dropped and recreated for each run; HOSTBRIDGE_BENCH_MYSQL_URL to change it). It runs
// once per latency in BENCH_LATENCY_MS (a comma-separated list, default "20,200": real nodes on a
// LAN answer in a few milliseconds, and a 200 ms latency hides the daemon's own time), each on a
// fresh fleet, database and daemon. Per run it measures:
//   end_to_end_s   from the CreateAccount call to the commit that made the service `active` (the
//                  chain's finished_at; the progress poll, every 250 ms, only notices it);
//   remote_s       the sum of the deployment's remote command times: every SSH exec the nodes
//                  logged (endedAt − startedAt, plus the injected latency, which the emulator
//                  sleeps before it stamps startedAt) and every PowerDNS API call the fleet's
//                  timing proxy saw (request in → answer out, latency included);
//   critical_s     the deployment's critical path: the longest sequence of dependent steps (the
//                  tasks' depends_on; NULL = the step before), each weighted by the remote time of
//                  the commands it ran (those its target logged during the task's run);
//   ratio          end_to_end_s / remote_s;  ratio_critical  end_to_end_s / critical_s;
//   overhead       where the rest went, per step and per command: the gaps between one step's
//                  finish and the next one's claim (gap_ms), the handler's time outside its
//                  remote commands (handler_overhead_ms), before the first claim and after the
//                  last finish.
// The daemon starts with its SSH connections open, as a running daemon has them (check-servers
// opens them and keepalives hold them; one pass of that job runs first, not measured; `warm: 1`).
// BENCH_COLD=1 starts with none (`warm: 0`): each first contact's handshake is not a remote
// command and counts against the ratios. Before the measured order one other service is deployed
// at no latency, not measured (`warmup: 1`), as a running daemon has served orders before;
// BENCH_WARMUP=0 measures a fresh process's first deployment instead. Progress lines go to stdout; the last line is JSON:
//   {"runs":[{"latency_ms":20,"end_to_end_s":…,"remote_s":…,"critical_s":…,"ratio":…,"ratio_critical":…,…},{"latency_ms":200,…}]}
import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { benchDatabase } from './bench-db.ts';
import { scratchDir } from './scratch.ts';
import { startTestDaemon } from '../test/helpers/inprocess.ts';
import { call, createBody } from '../test/helpers/api.ts';
import { registerFleet, startEmulatedPdns } from '../test/helpers/fleet.ts';
import { startFleetProcess } from '../test/helpers/fleet-process.ts';
import { readCommandLog } from '../test/emulator/hestia/exec.ts';
import { criticalPath, parseDependsOn } from './critical-path.ts';

const latencies = (process.env.BENCH_LATENCY_MS ?? '20,200').split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) throw new Error(`BENCH_LATENCY_MS must be milliseconds, or a comma-separated list of them, got "${process.env.BENCH_LATENCY_MS}"`);
  return n;
});
if (latencies.length === 0) throw new Error('BENCH_LATENCY_MS names no latency');
const { database, dbUrl, mysql, recreate } = benchDatabase('hostbridge_bench_deploy');

const log = (line: string) => console.log(`[bench:deploy] ${line}`);
const cold = process.env.BENCH_COLD === '1';
const warmup = process.env.BENCH_WARMUP !== '0';
const POLL_MS = 250;
const r3 = (n: number) => Number(n.toFixed(3));
const r1 = (n: number) => Number(n.toFixed(1));

interface TaskTiming { step_no: number; step: string; target: string | null; started_at: number; finished_at: number; depends_on: string | null; duration_ms: number | null }

async function runOnce(latencyMs: number): Promise<Record<string, number>> {
  await recreate('bench:deploy');
  const dir = scratchDir('hb-bench-deploy-');
  const nodes = await startFleetProcess({ latencyMs: 0, dir: path.join(dir, 'fleet') });
  const pdns = await startEmulatedPdns().catch(async (err) => { await nodes.close(); throw err; });
  const fleet = { ...nodes, pdns };
  const daemon = await startTestDaemon(path.join(dir, 'daemon'), dbUrl);
  try {
    log(`latency ${latencyMs} ms — fleet: ${fleet.nodes.map((n) => n.name).join(', ')} + pdns_server; daemon ${daemon.url}, MariaDB ${database}`);
    // The scheduled health checks and usage syncs would add their own commands to the count.
    const db = daemon.core.db;
    for (const name of daemon.core.scheduler.names()) await db('mod_hostbridge_jobs').insert({ name }).onConflict('name').ignore();
    await db('mod_hostbridge_jobs').whereNot('name', 'reap-expired-leases').update({ last_slot: Number.MAX_SAFE_INTEGER });
    const reg = await registerFleet(daemon.url, fleet);
    if (!cold) {
      // A running daemon already holds its SSH connections: check-servers (every 300 s) opens one
      // to every active server and keepalives hold it between checks. So the deployment starts
      // with them open, as in production, after one pass of that job (not measured);
      // BENCH_COLD=1 starts from none, and every first contact's handshake then counts.
      await daemon.core.scheduler.runNow('check-servers', () => {});
      const until = Date.now() + 60_000;
      for (;;) {
        const open = await db('mod_hostbridge_tasks').where('operation', 'health').whereNotIn('status', ['succeeded', 'failed', 'cancelled']).count({ n: '*' }).first();
        if (Number((open as { n: number }).n) === 0) break;
        if (Date.now() > until) throw new Error('the warm-up health checks did not finish in 60 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      const failed = await db('mod_hostbridge_tasks').where({ operation: 'health', status: 'failed' }).count({ n: '*' }).first();
      if (Number((failed as { n: number }).n) !== 0) throw new Error('a warm-up health check failed');
    }
    if (warmup) {
      // A running daemon has served orders before: its code is compiled and its database pools,
      // caches and prepared paths are in use. One deployment of another service first, at no
      // latency and not measured, so the figures are a running daemon's and not a first call's
      // (at 20 ms the first deployment of a fresh process carried ~0.1 s of that); BENCH_WARMUP=0 skips it.
      const w = await call(daemon.url, 'POST', '/v1/services', createBody(9000, reg.groupId, { domain: 'warmup.example.com' }));
      if (w.status !== 200) throw new Error(`warm-up CreateAccount: ${w.status} ${JSON.stringify(w.body)}`);
      const until = Date.now() + 120_000;
      for (;;) {
        const r = await call(daemon.url, 'GET', '/v1/services/9000');
        const st = r.body?.service?.state;
        if (st === 'active') break;
        if (st === 'failed' || Date.now() > until) throw new Error(`the warm-up deployment ended ${st ?? `HTTP ${r.status}`}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    // Latency only now: the fleet's own set-up is not the deployment.
    await nodes.setLatency(latencyMs);
    pdns.setLatency(latencyMs);
    const logStart = Object.fromEntries(fleet.nodes.map((n) => [n.name, readCommandLog(n.dir).length]));
    const pdnsStart = pdns.calls().length;

    // Every statement the daemon sends during the deployment, with its round trip (by its SQL's first words).
    const sent = new Map<string, number>();
    const sqlStats = new Map<string, { n: number; ms: number }>();
    let sqlCount = 0;
    let sqlMs = 0;
    let counting = false;
    const onQuery = (q: { __knexQueryUid: string }) => { if (counting) sent.set(q.__knexQueryUid, performance.now()); };
    const onAnswer = (_r: unknown, q: { __knexQueryUid: string; sql?: string }) => {
      const t = sent.get(q.__knexQueryUid);
      if (t === undefined) return;
      sent.delete(q.__knexQueryUid);
      const ms = performance.now() - t;
      sqlCount++;
      sqlMs += ms;
      const key = String(q.sql ?? '').replace(/\s+/g, ' ').slice(0, 70);
      const e = sqlStats.get(key) ?? { n: 0, ms: 0 };
      e.n++; e.ms += ms;
      sqlStats.set(key, e);
    };
    db.on('query', onQuery).on('query-response', onAnswer).on('query-error', (_e: unknown, q: { __knexQueryUid: string }) => onAnswer(null, q));
    const serviceId = 9001;
    counting = true;
    // BENCH_CPU_PROF=<dir>: a CPU profile of this process (daemon and emulated fleet) during the deployment only.
    const profiler = process.env.BENCH_CPU_PROF ? new Session() : null;
    if (profiler) { profiler.connect(); await profiler.post('Profiler.enable'); await profiler.post('Profiler.setSamplingInterval', { interval: 200 }); await profiler.post('Profiler.start'); }
    const t0 = performance.now();
    const wallT0 = Date.now();
    const created = await call(daemon.url, 'POST', '/v1/services', createBody(serviceId, reg.groupId, { domain: 'bench.example.com' }));
    if (created.status !== 200) throw new Error(`CreateAccount: ${created.status} ${JSON.stringify(created.body)}`);
    log(`order acknowledged in ${(performance.now() - t0).toFixed(1)} ms`);
    let last = '';
    let state = '';
    const deadline = Date.now() + 600_000;
    for (;;) {
      const r = await call(daemon.url, 'GET', `/v1/services/${serviceId}`);
      const s = r.body?.service;
      state = s?.state ?? `HTTP ${r.status}`;
      const p = s?.progress;
      const line = p ? `${p.done}/${p.total} ${p.current ?? ''}` : state;
      if (line !== last) { log(`${((performance.now() - t0) / 1000).toFixed(2)} s  ${line}`); last = line; }
      if (state === 'active' || state === 'failed') break;
      if (Date.now() > deadline) throw new Error('the deployment did not finish in 600 s');
      // Not every 20 ms: a poll is ~8 statements and an API nonce write, which on a busy database
      // slowed the deployment it watched (measured: 43 polls, 400 statements, in a 6.7 s run).
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const seenS = (performance.now() - t0) / 1000;
    // The end: the commit that closed the chain and set the service active (the database's clock,
    // on this host), which any read of the service sees from then on; the poll only notices it.
    const chainEnd = await db('mod_hostbridge_chains as c').join('mod_hostbridge_services as s', 's.id', 'c.service_id')
      .where('s.whmcs_service_id', serviceId).max({ at: 'c.finished_at' }).first();
    const endToEnd = chainEnd?.at ? (Number(chainEnd.at) - wallT0) / 1000 : seenS;
    counting = false;
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      fs.mkdirSync(process.env.BENCH_CPU_PROF!, { recursive: true });
      const file = path.join(process.env.BENCH_CPU_PROF!, `deploy-${latencyMs}ms-${Date.now()}.cpuprofile`);
      fs.writeFileSync(file, JSON.stringify(profile));
      profiler.disconnect();
      log(`CPU profile of the deployment: ${file}`);
    }
    if (state !== 'active') throw new Error(`the deployment ended ${state}`);

    // Every remote command, as [start, end] in ms since the epoch, by the daemon's target name.
    const byTarget = new Map<string, Array<[number, number]>>();
    let sshMs = 0;
    let sshCount = 0;
    for (const n of fleet.nodes) {
      const entries = readCommandLog(n.dir).slice(logStart[n.name]);
      const spans = entries.map((c): [number, number] => [Date.parse(c.startedAt) - latencyMs, Date.parse(c.endedAt)]);
      for (const [a, b] of spans) sshMs += b - a;
      sshCount += entries.length;
      byTarget.set(`server:${reg.ids[n.name]}`, spans);
      if (entries.length) log(`${n.name}: ${entries.length} commands`);
    }
    const calls = pdns.calls().slice(pdnsStart);
    byTarget.set(`server:${reg.pdns}`, calls.map((c) => [c.startedAt, c.endedAt]));
    const pdnsMs = calls.reduce((sum, c) => sum + (c.endedAt - c.startedAt), 0);
    log(`pdns: ${calls.length} API calls, ${(pdnsMs / 1000).toFixed(2)} s`);
    const remote = (sshMs + pdnsMs) / 1000;

    // Each step's remote time: the commands its target ran while the step's (last) attempt ran.
    const tasks: TaskTiming[] = await db('mod_hostbridge_tasks as t')
      .join('mod_hostbridge_services as s', 's.id', 't.service_id')
      .leftJoin('mod_hostbridge_task_attempts as a', function () { this.on('a.task_id', 't.id').andOn('a.attempt', 't.attempts'); })
      .where('s.whmcs_service_id', serviceId)
      .select('t.step_no', 't.step', 't.target', 't.started_at', 't.finished_at', 't.depends_on', 'a.duration_ms')
      .orderBy('t.step_no');
    const steps = tasks.map((t) => {
      const from = Number(t.started_at);
      const to = Number(t.finished_at);
      const spans = (t.target !== null ? byTarget.get(t.target) : undefined) ?? [];
      const mine = spans.filter(([a, b]) => (a + b) / 2 >= from && (a + b) / 2 <= to);
      const remoteMs = mine.reduce((sum, [a, b]) => sum + b - a, 0);
      // The handler's own time: claim → first command, between commands, last command → finish written.
      const sortedSpans = [...mine].sort((x, y) => x[0] - y[0]);
      let between = 0;
      for (let i = 1; i < sortedSpans.length; i++) between += Math.max(0, sortedSpans[i]![0] - sortedSpans[i - 1]![1]);
      const lead = sortedSpans.length ? sortedSpans[0]![0] - from : 0;
      const tail = sortedSpans.length ? to - sortedSpans.at(-1)![1] : 0;
      return { ...t, from, to, remoteMs, between, lead, tail, commands: mine.length, dependsOn: parseDependsOn(t.depends_on, t.step_no) };
    });
    const critical = criticalPath(steps.map((s) => ({ stepNo: s.step_no, dependsOn: s.dependsOn, remote: s.remoteMs }))) / 1000;

    // Where the rest of the time went (meaningful as a sum while the chain is sequential).
    const sorted = [...steps].sort((a, b) => a.from - b.from);
    let gapMs = 0;
    for (let i = 1; i < sorted.length; i++) gapMs += Math.max(0, sorted[i]!.from - sorted[i - 1]!.to);
    const handlerMs = steps.reduce((s, t) => s + (t.to - t.from), 0);
    const stepRemoteMs = steps.reduce((s, t) => s + t.remoteMs, 0);
    const stepCommands = steps.reduce((s, t) => s + t.commands, 0);
    const betweenMs = steps.reduce((s, t) => s + t.between, 0);
    const leadMs = steps.reduce((s, t) => s + t.lead, 0);
    const tailMs = steps.reduce((s, t) => s + t.tail, 0);
    const firstClaimMs = sorted.length ? sorted[0]!.from - wallT0 : 0;
    const afterLastMs = sorted.length ? wallT0 + seenS * 1000 - sorted.at(-1)!.to : 0;
    const commands = sshCount + calls.length;
    const overheadPerCmd = (endToEnd * 1000 - stepRemoteMs) / Math.max(1, stepCommands);
    log(`${steps.length} steps, ${stepCommands} of ${commands} commands inside steps; per step: handler ${(handlerMs / steps.length).toFixed(1)} ms of which remote ${(stepRemoteMs / steps.length).toFixed(1)} ms; gaps between steps ${gapMs} ms in all (${(gapMs / Math.max(1, steps.length - 1)).toFixed(1)} ms each)`);
    log(`order → first claim ${firstClaimMs} ms; last finish → seen active by the poll ${afterLastMs.toFixed(0)} ms; handler time outside remote commands ${(handlerMs - stepRemoteMs).toFixed(0)} ms (${((handlerMs - stepRemoteMs) / Math.max(1, stepCommands)).toFixed(1)} ms per command); overhead ${overheadPerCmd.toFixed(1)} ms per command`);
    log(`inside steps: claim → first command ${leadMs} ms, between commands ${betweenMs} ms (${(betweenMs / Math.max(1, stepCommands - steps.length)).toFixed(1)} ms each), last command → finish written ${tailMs} ms`);
    log(`SQL: ${sqlCount} statements, ${sqlMs.toFixed(0)} ms of round trips (API reads of the progress poll included); the most frequent:`);
    for (const [k, v] of [...sqlStats].sort((a, b) => b[1].n - a[1].n).slice(0, Number(process.env.BENCH_SQL_TOP ?? 0))) log(`  ${String(v.n).padStart(4)} × ${(v.ms / v.n).toFixed(1).padStart(5)} ms  ${k}`);
    for (const s of steps) log(`  step ${String(s.step_no).padStart(2)} ${s.step.padEnd(22)} ${String(s.target).padEnd(10)} ${String(s.to - s.from).padStart(5)} ms, remote ${String(s.remoteMs).padStart(5)} ms in ${s.commands} command(s); lead ${s.lead}, between ${s.between}, tail ${s.tail} ms`);
    const ratio = endToEnd / remote;
    const ratioCritical = endToEnd / critical;
    log(`ssh: ${sshCount} commands, ${(sshMs / 1000).toFixed(2)} s; end to end ${endToEnd.toFixed(2)} s; critical path ${critical.toFixed(2)} s; ratio ${ratio.toFixed(3)}, ratio_critical ${ratioCritical.toFixed(3)}`);
    return {
      latency_ms: latencyMs, warm: cold ? 0 : 1, warmup: warmup ? 1 : 0, end_to_end_s: r3(endToEnd), remote_s: r3(remote), critical_s: r3(critical), ratio: r3(ratio), ratio_critical: r3(ratioCritical),
      commands, steps: steps.length, gap_ms: gapMs, handler_overhead_ms: Math.round(handlerMs - stepRemoteMs), first_claim_ms: firstClaimMs,
      sql_statements: sqlCount, sql_ms: Math.round(sqlMs),
      lead_ms: leadMs, between_commands_ms: betweenMs, tail_ms: tailMs,
      overhead_per_command_ms: r1(overheadPerCmd),
    };
  } finally {
    await daemon.stop().catch(() => {});
    await nodes.close().catch(() => {});
    await pdns.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const runs: Array<Record<string, number>> = [];
for (const l of latencies) runs.push(await runOnce(l));
const admin = mysql('mysql');
await admin.raw(`DROP DATABASE IF EXISTS \`${database}\``);
await admin.destroy();
console.log(JSON.stringify({ runs }));
