// npm run bench:usage — DESIGN's usage-sync and memory targets on MariaDB:
//   - one remote command per server per sync, whatever its number of services;
//   - 10,000 services on 50 emulated nodes (the emulator in its own process) synced in ≤ 5 s;
//   - daemon peak RSS ≤ 120 MB with 10,000 services.
// Set-up (not measured): 25 web and 25 mail emulated HestiaCP nodes over SSH, one group, and
// BENCH_SERVICES (default 10,000) Split services created through the daemon's own CreateAccount
// code. Deploying 10,000 services over SSH is bench:deploy's subject, not this one's: their chains
// are dropped and each account is made directly on its node with the emulator's v-add-user, with
// disk and bandwidth figures written into its user.conf as Hestia's disk/traffic jobs would.
// The nodes' SSH servers run in a child process (test/helpers/fleet-process.ts), so the emulator's
// work is not done on this process's event loop nor counted as the daemon's; a node's state is its
// directory, so the accounts are still made from here, before that process serves any command.
// Measured: a daemon started as its own process, as `npm start` runs it (compiled to dist/ by
// scripts/build.sh, then `node dist/daemon/cli.js serve`), the sync-usage job run
// through `hostbridge run-task`; sync_s runs from the job's start (as the scheduler records it)
// until every server's usage.sync task has succeeded (both on the database's clock: cli_s is the
// rest, the CLI process's start-up under tsx and the bench's poll), and every service's usage row then carries figures collected after it;
// sync_cpu_s and emulator_cpu_s are the CPU time the daemon and the emulator's process used
// meanwhile (on a loaded machine sync_s moves with the load, the daemon's CPU time much less).
// Then the admin reads that list every service (usage, accounts, the admin overview) and the
// daemon's resident memory is read from /proc: rss_mb now, peak_rss_mb (VmHWM) over its whole
// life. The last line is JSON.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { benchDatabase } from './bench-db.ts';
import { scratchDir } from './scratch.ts';
import { procStatus } from './proc.ts';
import { createService } from '../daemon/services/lifecycle.ts';
import { paths, readCommandLog, runHestia } from '../test/emulator/hestia/index.ts';
import { call, createBody } from '../test/helpers/api.ts';
import { BUILT_SERVE, CLI, ROOT, TSX, daemonEnv, startDaemonProcess } from '../test/helpers/daemon.ts';
import { registerFleet } from '../test/helpers/fleet.ts';
import { startFleetProcess } from '../test/helpers/fleet-process.ts';
import { startTestDaemon } from '../test/helpers/inprocess.ts';

const SERVICES = Number(process.env.BENCH_SERVICES ?? 10_000);
const NODES_PER_ROLE = Number(process.env.BENCH_NODES_PER_ROLE ?? 25);
if (!Number.isInteger(SERVICES) || SERVICES < 1) throw new Error(`BENCH_SERVICES must be a whole number above 0, got ${process.env.BENCH_SERVICES}`);
if (!Number.isInteger(NODES_PER_ROLE) || NODES_PER_ROLE < 1) throw new Error(`BENCH_NODES_PER_ROLE must be a whole number above 0, got ${process.env.BENCH_NODES_PER_ROLE}`);
const { database, dbUrl, mysql } = benchDatabase('hostbridge_bench_usage');

const say = (line: string) => process.stdout.write(`[bench:usage] ${line}\n`);
const secs = (ms: number) => Math.round(ms / 10) / 100;

/** CPU seconds (user + system) the process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  // The fields after the command name, which is in parentheses and may hold spaces.
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}
// USER_HZ: 100 on every Linux build this runs on; getconf says so when it is there.
const CLOCK_TICKS = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { return 100; }
})();

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`hostbridge ${args.join(' ')} exited ${code}: ${out.trim().slice(-1000)}`))));
  });
}

async function main(): Promise<void> {
  const admin = mysql('mysql');
  await admin.raw(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.raw(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  await admin.destroy();
  const dir = scratchDir('hb-bench-usage-');
  // The nodes' SSH servers run in a child process of their own: the figures are the daemon's,
  // and the emulator's work does not wait in this process's event loop behind the bench's polls.
  // BENCH_FLEET_NODE_FLAGS: node/V8 flags for that process (e.g. --cpu-prof --cpu-prof-dir=DIR).
  const fleetFlags = (process.env.BENCH_FLEET_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const fleet = await startFleetProcess({ web: NODES_PER_ROLE, mail: NODES_PER_ROLE, dns: 0, combo: 0, dir: path.join(dir, 'fleet') }, fleetFlags);
  let serve: Awaited<ReturnType<typeof startDaemonProcess>> | null = null;
  try {
    // --- set-up -------------------------------------------------------------------------------
    const t0 = performance.now();
    const setup = await startTestDaemon(path.join(dir, 'setup'), dbUrl);
    let groupId: number;
    let servers: Array<{ id: number; name: string }>;
    let holdings: Array<{ service_id: number; server_id: number; role: string; account: string }>;
    try {
      await setup.engine.stop(1000);
      const reg = await registerFleet(setup.url, fleet);
      groupId = reg.groupId;
      say(`${fleet.nodes.length} emulated nodes over SSH (process ${fleet.pid}), MariaDB database ${database}; creating ${SERVICES} Split services`);
      const db = setup.core.db;
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let i = next++; i < SERVICES; i = next++) {
          const r = await createService(db, setup.core.config.masterKey, createBody(100_000 + i, groupId, { domain: `site${i}.example.com`, username: `site${i}` }));
          if (!r.created) throw new Error(`service ${100_000 + i} was not created: ${JSON.stringify(r)}`);
          if ((i + 1) % 2000 === 0) say(`  ${i + 1} services`);
        }
      }));
      // The deployments are replaced by accounts made directly on the nodes (see the header).
      await db('mod_hostbridge_task_attempts').delete();
      await db('mod_hostbridge_tasks').delete();
      await db('mod_hostbridge_chains').delete();
      await db('mod_hostbridge_services').update({ state: 'active' });
      // Scheduled jobs stay off (sync-usage runs once, below, through run-task); the health check
      // would otherwise add its own commands to the count.
      for (const name of setup.core.scheduler.names()) await db('mod_hostbridge_jobs').insert({ name }).onConflict('name').ignore();
      await db('mod_hostbridge_jobs').whereNot('name', 'reap-expired-leases').update({ last_slot: Number.MAX_SAFE_INTEGER });
      servers = await db('mod_hostbridge_servers').select('id', 'name');
      holdings = await db('mod_hostbridge_service_servers').select('service_id', 'server_id', 'role', 'account');
    } finally {
      await setup.stop();
    }
    const nodeOf = new Map(servers.map((s) => [Number(s.id), fleet.node(s.name)]));
    let expectedDisk = 0;
    holdings.forEach((h, i) => {
      const node = nodeOf.get(Number(h.server_id));
      if (!node) throw new Error(`holding on server ${h.server_id}, which is not an emulated node`);
      const r = runHestia(node.dir, 'v-add-user', [h.account, `Bench-${i}-pw!`, 'owner@example.com', 'default']);
      if (r.code !== 0 && r.code !== 4) throw new Error(`v-add-user ${h.account} on ${node.name}: ${r.code} ${r.stdout}`);
      const disk = 1 + (i % 997);
      expectedDisk += disk;
      const conf = paths.userConf(node.dir, h.account);
      fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(/^U_DISK='\d+'/m, `U_DISK='${disk}'`).replace(/^U_BANDWIDTH='\d+'/m, `U_BANDWIDTH='${2 * disk}'`));
    });
    const perNode = holdings.length / fleet.nodes.length;
    say(`set-up done in ${secs(performance.now() - t0)} s: ${holdings.length} accounts, about ${Math.round(perNode)} per node`);

    // --- measured -----------------------------------------------------------------------------
    const env = daemonEnv(dbUrl);
    // BENCH_DAEMON_NODE_FLAGS: node/V8 flags for the measured daemon (e.g. --max-semi-space-size=2).
    const flags = (process.env.BENCH_DAEMON_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
    // The daemon as `npm start` runs it: compiled to dist/ (scripts/build.sh), no TypeScript loader.
    await new Promise<void>((resolve, reject) => spawn('bash', [path.join(ROOT, 'scripts/build.sh')], { stdio: 'inherit' })
      .once('close', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/build.sh exited ${code}`)))));
    serve = await startDaemonProcess(env, path.join(dir, 'daemon.log'), 30_000, [...flags, ...BUILT_SERVE]);
    const rssIdle = procStatus(serve.pid, 'VmRSS');
    say(`daemon pid ${serve.pid} on ${serve.url}: ${rssIdle} MB resident with ${SERVICES} services, before any work`);
    const logStart = Object.fromEntries(fleet.nodes.map((n) => [n.name, readCommandLog(n.dir).length]));
    // Samples the daemon's own memory report while the sync runs: what the peak is made of.
    let sampling = true;
    let top: Record<string, number> = { rss_mb: 0 };
    const sampler = (async () => {
      while (sampling) {
        const st = await call(serve!.url, 'GET', '/v1/status').catch(() => null);
        if (st?.status === 200 && st.body.process.rss_mb > top.rss_mb!) top = st.body.process;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const started = Date.now();
    const tSync = performance.now();
    const cpu0 = { daemon: cpuSeconds(serve.pid), emulator: cpuSeconds(fleet.pid) };
    say(await runCli(['run-task', 'sync-usage'], env).then((o) => o.trim().split('\n').at(-1)!));
    const probe = mysql(database);
    let synced = 0;
    let syncMs = 0;
    try {
      const deadline = Date.now() + 300_000;
      for (;;) {
        const tasks = await probe('mod_hostbridge_tasks').where('type', 'usage.sync').select('status', 'last_error');
        const failed = tasks.find((t: { status: string }) => t.status === 'failed');
        if (failed) throw new Error(`a usage.sync task failed: ${failed.last_error}`);
        if (tasks.length > 0 && tasks.every((t: { status: string }) => t.status === 'succeeded')) break;
        if (Date.now() > deadline) throw new Error(`the usage sync did not finish in 300 s (${JSON.stringify(tasks.map((t: { status: string }) => t.status))})`);
        await new Promise((r) => setTimeout(r, 20));
      }
      synced = Number(((await probe('mod_hostbridge_usage').where('collected_at', '>=', started).count({ n: '*' }).first()) as { n: number }).n);
      if (synced !== SERVICES) throw new Error(`the sync finished with ${synced} of ${SERVICES} services updated`);
      // From the job's start, as the scheduler recorded it, to the last task's end, both on the
      // database's clock: the CLI process that runs the job first loads its TypeScript through tsx
      // (1 to 2 s before the job starts), and that start-up is not the sync's.
      const job = await probe('mod_hostbridge_jobs').where('name', 'sync-usage').first('last_started_at');
      const last = await probe('mod_hostbridge_tasks').where('type', 'usage.sync').max({ at: 'finished_at' }).first();
      syncMs = Number((last as { at: number }).at) - Number(job.last_started_at);
      if (!(syncMs > 0)) throw new Error(`cannot tell the sync's time from the job's start (${job.last_started_at}) and the tasks' end (${(last as { at: number }).at})`);
    } finally {
      await probe.destroy();
    }
    const syncS = secs(syncMs);
    const cliS = secs(performance.now() - tSync - syncMs);
    // What each process spent of the machine's CPU meanwhile: sync_s also holds waits on the other
    // processes (emulator, MariaDB) and on whatever else the machine runs.
    const syncCpu = Math.round((cpuSeconds(serve.pid) - cpu0.daemon) * 100) / 100;
    const emulatorCpu = Math.round((cpuSeconds(fleet.pid) - cpu0.emulator) * 100) / 100;
    const peakSync = procStatus(serve.pid, 'VmHWM');
    sampling = false;
    await sampler;
    say(`largest memory sample during the sync: rss ${top.rss_mb} MB = heap ${top.heap_total_mb} MB (${top.heap_used_mb} MB in use) + external ${top.external_mb} MB + code and the rest`);
    let remote = 0;
    const perServer = new Map<string, number>();
    for (const n of fleet.nodes) {
      const cmds = readCommandLog(n.dir).slice(logStart[n.name]).filter((e) => e.ran && (e.argv ?? []).some((a) => /(^|\/)v-/.test(a)));
      remote += cmds.length;
      perServer.set(n.name, cmds.length);
    }
    const maxPerServer = Math.max(...perServer.values());
    say(`the CLI's process took ${cliS} s to start, run the job and be seen done (not counted: the job's own start is)`);
    say(`sync-usage: ${synced} services on ${fleet.nodes.length} servers in ${syncS} s, ${remote} remote command(s), at most ${maxPerServer} per server; CPU meanwhile: daemon ${syncCpu} s, emulator ${emulatorCpu} s`);

    const usage = await call(serve.url, 'GET', '/v1/usage');
    if (usage.status !== 200) throw new Error(`GET /v1/usage: ${usage.status} ${JSON.stringify(usage.body).slice(0, 300)}`);
    const rows = usage.body.services as Array<{ disk_used_mb: number }>;
    const totalDisk = rows.reduce((s, r) => s + r.disk_used_mb, 0);
    if (rows.length !== SERVICES || totalDisk !== expectedDisk) throw new Error(`GET /v1/usage listed ${rows.length} services with ${totalDisk} MB; expected ${SERVICES} with ${expectedDisk} MB`);
    const peaks: Record<string, number> = { sync: peakSync, usage: procStatus(serve.pid, 'VmHWM') };
    for (const route of ['/v1/accounts', '/v1/admin/view'] as const) {
      const r = await call(serve.url, 'GET', route);
      if (r.status !== 200) throw new Error(`GET ${route}: ${r.status}`);
      peaks[route.slice(4)] = procStatus(serve.pid, 'VmHWM');
    }
    say(`peak resident memory after each step: ${Object.entries(peaks).map(([k, v]) => `${k} ${v} MB`).join(', ')}`);
    const rss = procStatus(serve.pid, 'VmRSS');
    const peak = procStatus(serve.pid, 'VmHWM');
    say(`after the sync and full listings: ${rss} MB resident, peak ${peak} MB (targets: sync ≤ 5 s, peak RSS ≤ 120 MB)`);
    process.stdout.write(JSON.stringify({
      services: SERVICES, servers: fleet.nodes.length, accounts: holdings.length, sync_s: syncS, cli_s: cliS, sync_cpu_s: syncCpu, emulator_cpu_s: emulatorCpu, remote_commands: remote,
      max_commands_per_server: maxPerServer, rss_idle_mb: rssIdle, rss_mb: rss, peak_rss_mb: peak,
    }) + '\n');
  } finally {
    await serve?.kill('SIGTERM');
    await fleet.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`[bench:usage] failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
