// npm run bench:deploy — one Split deployment over the emulated fleet with injected per-command
// latency (BENCH_LATENCY_MS, default 200), started through the signed API on a daemon in this
// process. Measures:
//   end_to_end_s  from the CreateAccount call to the service reading `active`;
//   remote_s      the sum of the deployment's remote command times: for every SSH exec the nodes
//                 logged (log/emulator-exec.log, endedAt − startedAt, plus the injected latency,
//                 which the emulator sleeps before it stamps startedAt), and for every PowerDNS API
//                 call the fleet's timing proxy saw (request in → answer out, latency included).
// DESIGN's target: end_to_end ≤ 1.3 × remote (no cron waits between steps). Connection set-up
// (SSH handshakes) is not a remote command: it counts against the ratio, as it does in production.
// Progress goes to stderr-like lines on stdout; the last line is JSON.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestDaemon } from '../test/helpers/inprocess.ts';
import { call, createBody } from '../test/helpers/api.ts';
import { registerFleet, startEmulatedFleet } from '../test/helpers/fleet.ts';

const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 200);
if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new Error(`BENCH_LATENCY_MS must be a number of milliseconds, got ${process.env.BENCH_LATENCY_MS}`);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-bench-deploy-'));
const log = (line: string) => console.log(`[bench:deploy] ${line}`);

const fleet = await startEmulatedFleet({ latencyMs: 0 });
const daemon = await startTestDaemon(dir, undefined, { HOSTBRIDGE_POLL_MS: '50' });
try {
  log(`fleet: ${fleet.nodes.map((n) => n.name).join(', ')} + pdns_server; daemon ${daemon.url}`);
  // The scheduled health checks and usage syncs would add their own commands to the count.
  const db = daemon.core.db;
  for (const name of daemon.core.scheduler.names()) await db('mod_hostbridge_jobs').insert({ name }).onConflict('name').ignore();
  await db('mod_hostbridge_jobs').whereNot('name', 'reap-expired-leases').update({ last_slot: Number.MAX_SAFE_INTEGER });
  const reg = await registerFleet(daemon.url, fleet);
  // Latency only now: the fleet's own set-up is not the deployment.
  fleet.setLatency(latencyMs);
  const logStart = Object.fromEntries(fleet.nodes.map((n) => [n.name, n.ssh.commandLog().length]));
  const pdnsStart = fleet.pdns!.calls().length;
  log(`injected latency ${latencyMs} ms per SSH command and per PowerDNS call`);

  const serviceId = 9001;
  const t0 = performance.now();
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
    await new Promise((r) => setTimeout(r, 20));
  }
  const endToEnd = (performance.now() - t0) / 1000;
  if (state !== 'active') throw new Error(`the deployment ended ${state}`);

  let sshMs = 0;
  let sshCount = 0;
  for (const n of fleet.nodes) {
    const entries = n.ssh.commandLog().slice(logStart[n.name]);
    for (const c of entries) {
      sshMs += Date.parse(c.endedAt) - Date.parse(c.startedAt) + latencyMs;
      sshCount++;
    }
    if (entries.length) log(`${n.name}: ${entries.length} commands`);
  }
  const calls = fleet.pdns!.calls().slice(pdnsStart);
  const pdnsMs = calls.reduce((sum, c) => sum + (c.endedAt - c.startedAt), 0);
  log(`pdns: ${calls.length} API calls, ${(pdnsMs / 1000).toFixed(2)} s`);
  const remote = (sshMs + pdnsMs) / 1000;
  const ratio = endToEnd / remote;
  log(`ssh: ${sshCount} commands, ${(sshMs / 1000).toFixed(2)} s; end to end ${endToEnd.toFixed(2)} s; ratio ${ratio.toFixed(3)} (target ≤ 1.3)`);
  console.log(JSON.stringify({ end_to_end_s: Number(endToEnd.toFixed(3)), remote_s: Number(remote.toFixed(3)), ratio: Number(ratio.toFixed(3)), commands: sshCount + calls.length }));
} finally {
  await daemon.stop().catch(() => {});
  await fleet.close().catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
}
