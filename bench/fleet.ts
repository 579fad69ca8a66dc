// npm run bench:fleet — fleet-scale deployment: BENCH_ORDERS (default 1,000) CreateAccount orders,
// Split, Unified and Vanity in turn, placed in one burst through the signed API onto BENCH_NODES
// (default 50) emulated HestiaCP nodes plus the real PowerDNS, with BENCH_LATENCY_MS (default 50)
// injected before every SSH command and every PowerDNS call.
//
// The fleet: the nodes are split into server groups of about ten (BENCH_GROUPS, default
// BENCH_NODES / 10), as a provider runs several clusters; orders go to the groups in turn. Of
// every ten nodes 4 are web, 2 mail, 2 Web+Mail (Unified needs a node with both) and 2 DNS:
// 50 nodes = 20 web, 10 mail, 10 Web+Mail and 10 DNS HestiaCP nodes in 5 groups. Every group
// has its two HestiaCP DNS nodes and the one PowerDNS server in its DNS role (placement puts a
// zone on every DNS server of the group, so PowerDNS holds every zone), and a vanity parent of
// its own (sites<g>.example.net: mail domain on the group's first mail node, zone on its DNS
// servers). The emulated nodes and PowerDNS's timing proxy run in a child process of their own
// (bench/fleet-nodes.ts), so the CPU this process and the emulator spend is not the daemon's.
//
// The daemon runs as `npm start` runs it: compiled to dist/ by scripts/build.sh, then
// `node dist/daemon/cli.js serve`, in its own process, on MariaDB (a database of its own, dropped
// and recreated each run; HOSTBRIDGE_BENCH_MYSQL_URL to change it), with HOSTBRIDGE_CONCURRENCY=64
// (one task per server at once needs at least as many workers as servers; the default 8 suits a
// small fleet) unless HOSTBRIDGE_CONCURRENCY is set; HOSTBRIDGE_POLL_MS is passed on when set; BENCH_DAEMON_NODE_FLAGS adds node flags (e.g.
// --cpu-prof --cpu-prof-dir=/tmp/prof), BENCH_NODES_NODE_FLAGS the same for the emulated nodes' process. Scheduled node work (health checks, usage sync) is off.
//
// The burst: BENCH_ACK_CONCURRENCY (default 4) senders post the orders back to back, as a WHMCS
// installation with a few PHP workers placing orders at once would; DESIGN's acknowledgement target
// is a latency while the chains run, so the senders are few enough that it measures one order's
// path rather than a queue in front of it (16 senders: p99 ≈ 440 ms, the daemon then acknowledges
// about 60 orders/s). Measured:
//   makespan_s  from the first order sent until every service reads `active`;
//   bound_s     the largest busy time of one server: for each node the sum over its logged
//               commands of (endedAt − startedAt + injected latency), for PowerDNS the sum of its
//               API call times. The daemon runs one task at a time per server (queue.target_concurrency
//               is 1), so no schedule finishes sooner;
//   ratio       makespan_s / bound_s (target ≤ 1.25);
//   ack_p99_ms  CreateAccount's acknowledgement time, 99th percentile over the burst (target ≤ 50);
//   peak_rss_mb the daemon's VmHWM from /proc (target ≤ 150).
// Then it fails (exit 1) unless every service is `active` and no node holds a resource twice.
// Where PowerDNS's idle time went (the ratio's excess): its idle time per 10 s window, and its
// tasks by 20 s window (their attempts: handler, handler's end to finish, finish to next claim).
// Progress lines start with [bench:fleet]; the last line on stdout is JSON.
//
// Where the acknowledgement's time goes, printed after the burst: the daemon's CPU time over it (and
// per order), its event-loop delay (perf_hooks' monitorEventLoopDelay through /metrics, opened with a
// token of the bench's), a bare SELECT 1 from here against the daemon's GET /healthz, and MariaDB's
// row-lock waits (server-wide). BENCH_BURST_ONLY=1 stops after the burst; BENCH_HOLD_ENGINE=1 also
// holds every server's slot through it, so the engine claims nothing and the orders are acknowledged
// alone. BENCH_DAEMON_NODE_FLAGS="--import <abs path>/bench/sql-trace.mjs" with BENCH_SQL_TRACE_FILE
// appends the daemon's statement counts and round trips before and after the burst (sql-trace.mjs).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { benchDatabase } from './bench-db.ts';
import { scratchDir } from './scratch.ts';
import { procCpuMs, procStatus } from './proc.ts';
import { call, createBody } from '../test/helpers/api.ts';
import { BUILT_SERVE, ROOT, TSX, daemonEnv, startDaemonProcess, type DaemonProcess } from '../test/helpers/daemon.ts';
import { NAMESERVERS, PROVIDER_USER, RESERVED_NAMES } from '../test/helpers/fleet.ts';

function whole(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number of at least ${min}, got ${raw}`);
  return n;
}
const ORDERS = whole('BENCH_ORDERS', 1000, 1);
const NODES = whole('BENCH_NODES', 50, 4);
const GROUPS = whole('BENCH_GROUPS', Math.max(1, Math.floor(NODES / 10)), 1);
const ACK_CONCURRENCY = whole('BENCH_ACK_CONCURRENCY', 4, 1);
const TIMEOUT_S = whole('BENCH_TIMEOUT_S', 1800, 10);
// BENCH_HOLD_ENGINE=1: every server's slot is held by the bench through the burst, so the engine
// claims nothing and the acknowledgements run alone; the run ends after the burst (no makespan).
const HOLD_ENGINE = process.env.BENCH_HOLD_ENGINE === '1';
// BENCH_BURST_ONLY=1: the run ends after the burst too (quick A/B of the acknowledgement alone).
const BURST_ONLY = HOLD_ENGINE || process.env.BENCH_BURST_ONLY === '1';
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 50);
if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new Error(`BENCH_LATENCY_MS must be a number of milliseconds, got ${process.env.BENCH_LATENCY_MS}`);
if (NODES < 4 * GROUPS) throw new Error(`BENCH_NODES (${NODES}) must be at least 4 per group (BENCH_GROUPS ${GROUPS}): each group needs a web, a mail, a Web+Mail and a DNS node`);

const { database, dbUrl, mysql } = benchDatabase('hostbridge_bench_fleet');

const say = (line: string) => process.stdout.write(`[bench:fleet] ${line}\n`);
const secs = (ms: number) => Math.round(ms / 10) / 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Kind = 'web' | 'mail' | 'combo' | 'dns';
const PREFIX: Record<Kind, string> = { web: 'web', mail: 'mail', combo: 'combo', dns: 'ns' };

/** How many nodes of each kind: of every ten, 4 web, 2 mail, 2 Web+Mail, 2 DNS; at least one of each per group. */
function mix(nodes: number, groups: number): Record<Kind, number> {
  const share = (f: number) => Math.max(groups, Math.round(nodes * f));
  const mail = share(0.2);
  const combo = share(0.2);
  const dns = share(0.2);
  const web = nodes - mail - combo - dns;
  if (web < groups) throw new Error(`BENCH_NODES ${nodes} leaves too few web nodes for ${groups} group(s)`);
  return { web, mail, combo, dns };
}

/** Node i of a kind goes to group i mod groups. */
function groupOf(kinds: Record<Kind, number>, groups: number): Array<Record<Kind, string[]>> {
  const out = Array.from({ length: groups }, () => ({ web: [], mail: [], combo: [], dns: [] } as Record<Kind, string[]>));
  for (const k of Object.keys(kinds) as Kind[]) for (let i = 0; i < kinds[k]; i++) out[i % groups]![k].push(`${PREFIX[k]}${i + 1}`);
  return out;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out.trim().slice(-1500)}`))));
  });
}

interface FleetInfo {
  control: number;
  nodes: Array<{ name: string; kind: Kind; roles: { web?: boolean; mail?: boolean; dns?: boolean }; host: string; ip: string; port: number; password: string; host_key_sha256: string }>;
  pdns: { port: number; api_key: string };
}

interface FleetReport {
  latency_ms: number;
  nodes: Record<string, { commands: number; busy_ms: number; not_run: number }>;
  pdns: { calls: number; busy_ms: number; errors: number; zones: number; duplicate_zones: string[]; kinds: Record<string, number>; idle: { first_ms: number; gaps_ms: number; windows: number[] } };
  totals: Record<string, number>;
  duplicates: string[];
}

/** Starts bench/fleet-nodes.ts and waits for its JSON line. */
function startFleetProcess(spec: unknown, logFile: string): Promise<{ child: ChildProcess; info: FleetInfo }> {
  const log = fs.openSync(logFile, 'a');
  const flags = (process.env.BENCH_NODES_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, '--import', TSX, path.join(ROOT, 'bench/fleet-nodes.ts'), JSON.stringify(spec)], { cwd: ROOT, stdio: ['pipe', 'pipe', log] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the emulated fleet did not start in 300 s; see ${logFile}`)); }, 300_000);
    const lines = readline.createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try { resolve({ child, info: JSON.parse(line) as FleetInfo }); } catch { reject(new Error(`the emulated fleet printed no JSON: ${line.slice(0, 300)}`)); }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulated fleet exited ${code} before it was up: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`));
    });
  });
}

/**
 * Where a server's time went between its tasks, from their attempts (the database's clock), in
 * 20 s windows from its first claim: per task, the handler's time; from the handler's end to its
 * finish being written (the success writer and its transaction); from that finish to the next
 * task's claim. PowerDNS runs one task at a time, so these add up to its span.
 */
async function taskGaps(db: ReturnType<typeof mysql>, target: string): Promise<string[]> {
  const rows = (await db('mod_hostbridge_task_attempts as a').join('mod_hostbridge_tasks as t', 't.id', 'a.task_id')
    .where('t.target', target).whereNotNull('a.started_at').orderBy('a.started_at')
    .select('a.started_at', 'a.finished_at', 'a.duration_ms')).map((r: Record<string, unknown>) => ({
    start: Number(r.started_at), end: Number(r.finished_at), handler: Number(r.duration_ms ?? 0),
  }));
  if (!rows.length) return [];
  const median = (xs: number[]) => (xs.length ? percentile([...xs].sort((a, b) => a - b), 50) : 0);
  const windows = new Map<number, { handler: number[]; record: number[]; next: number[] }>();
  rows.forEach((r, i) => {
    const w = Math.floor((r.start - rows[0]!.start) / 20_000);
    const win = windows.get(w) ?? windows.set(w, { handler: [], record: [], next: [] }).get(w)!;
    win.handler.push(r.handler);
    win.record.push(Math.max(0, r.end - r.start - r.handler));
    if (i + 1 < rows.length) win.next.push(Math.max(0, rows[i + 1]!.start - r.end));
  });
  const sum = (xs: number[]) => secs(xs.reduce((a, b) => a + b, 0));
  return [...windows].map(([w, v]) => `${w * 20}–${w * 20 + 20} s: ${v.handler.length} tasks, handler ${median(v.handler)} ms, ` +
    `to its finish ${median(v.record)} ms (${sum(v.record)} s), finish to next claim ${median(v.next)} ms (${sum(v.next)} s), medians (sums)`);
}

async function control(port: number, method: string, p: string): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { method, signal: AbortSignal.timeout(600_000) });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`emulated fleet ${method} ${p}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const kinds = mix(NODES, GROUPS);
  const groups = groupOf(kinds, GROUPS);
  const dir = scratchDir('hb-bench-fleet-');
  const admin = mysql('mysql');
  await admin.raw(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.raw(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  await admin.destroy();
  say(`${ORDERS} orders, ${NODES} nodes (${kinds.web} web, ${kinds.mail} mail, ${kinds.combo} Web+Mail, ${kinds.dns} DNS) in ${GROUPS} group(s) + PowerDNS; latency ${latencyMs} ms; MariaDB database ${database}`);

  let fleet: { child: ChildProcess; info: FleetInfo } | null = null;
  let serve: DaemonProcess | null = null;
  let failed = false;
  try {
    // --- set-up (not measured) ---------------------------------------------------------------
    const vanity = groups.map((g, i) => ({ domain: `sites${i + 1}.example.net`, mail: g.mail[0]!, dns: g.dns }));
    const t0 = performance.now();
    const [fl] = await Promise.all([
      startFleetProcess({ ...kinds, dir: path.join(dir, 'fleet'), vanity }, path.join(dir, 'fleet.log')),
      run('bash', [path.join(ROOT, 'scripts/build.sh')]),
    ]);
    fleet = fl;
    say(`emulated fleet up (pid ${fleet.child.pid}) and dist/ built in ${secs(performance.now() - t0)} s`);

    // The daemon's default of 8 tasks at once caps a 51-server fleet at 8 busy servers (ratio 3.8 at
    // 200 orders, see README): the bench runs it as a provider of this size would configure it.
    // A metrics token, so the bench can read the daemon's event-loop delay over the burst (/metrics).
    const metricsToken = `bench-${process.pid}-${Date.now()}`;
    const extra: Record<string, string> = { HOSTBRIDGE_CONCURRENCY: '64', HOSTBRIDGE_METRICS_TOKEN: metricsToken };
    for (const k of ['HOSTBRIDGE_CONCURRENCY', 'HOSTBRIDGE_POLL_MS', 'HOSTBRIDGE_LEASE_MS', 'BENCH_SQL_TRACE_FILE']) if (process.env[k]) extra[k] = process.env[k]!;
    const env = daemonEnv(dbUrl, extra);
    await run(process.execPath, [path.join(ROOT, 'dist/daemon/cli.js'), 'migrate'], env);
    const db = mysql(database);
    try {
      // Scheduled node work stays off: its commands would count against the nodes' busy time.
      // With BENCH_HOLD_ENGINE the reaper stays off too: it would free the slots held below.
      for (const name of ['deliver-tickets', 'sync-usage', 'check-servers', 'clean-completed-tasks', ...(HOLD_ENGINE ? ['reap-expired-leases'] : [])]) {
        await db('mod_hostbridge_jobs').insert({ name, last_slot: Number.MAX_SAFE_INTEGER }).onConflict('name').merge(['last_slot']);
      }
    } finally {
      await db.destroy();
    }
    const flags = (process.env.BENCH_DAEMON_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
    serve = await startDaemonProcess(env, path.join(dir, 'daemon.log'), 60_000, [...flags, ...BUILT_SERVE]);
    say(`daemon pid ${serve.pid} on ${serve.url} (HOSTBRIDGE_CONCURRENCY ${extra.HOSTBRIDGE_CONCURRENCY}), ${procStatus(serve.pid, 'VmRSS')} MB resident`);

    const ids: Record<string, number> = {};
    const add = async (name: string, body: Record<string, unknown>) => {
      const r = await call(serve!.url, 'POST', '/v1/servers', { name, ...body });
      if (r.status !== 201) throw new Error(`adding server ${name}: ${r.status} ${JSON.stringify(r.body)}`);
      ids[name] = r.body.id as number;
    };
    for (const n of fleet.info.nodes) {
      await add(n.name, {
        driver: 'hestiacp', hostname: n.host, ip: n.ip, port: n.port, username: 'root', password: n.password, host_key_sha256: n.host_key_sha256,
        capabilities: { web: !!n.roles.web, mail: !!n.roles.mail, dns: !!n.roles.dns },
      });
    }
    await add('pdns', { driver: 'powerdns', hostname: '127.0.0.1', ip: '127.0.0.1', port: fleet.info.pdns.port, api_key: fleet.info.pdns.api_key, capabilities: { dns: true } });
    const groupIds: number[] = [];
    for (const [i, g] of groups.entries()) {
      const r = await call(serve.url, 'POST', '/v1/server-groups', {
        name: `cluster${i + 1}`, nameservers: NAMESERVERS,
        servers: [...g.web, ...g.mail, ...g.combo].map((n) => ids[n]!),
        dns_servers: [...g.dns.map((n) => ids[n]!), ids.pdns!],
        vanity_domains: [{ domain: vanity[i]!.domain, mail_server_id: ids[vanity[i]!.mail], mail_user: PROVIDER_USER, dns_user: PROVIDER_USER }],
        reserved_names: RESERVED_NAMES,
      });
      if (r.status !== 201) throw new Error(`adding server group cluster${i + 1}: ${r.status} ${JSON.stringify(r.body)}`);
      groupIds.push(r.body.id as number);
    }
    await control(fleet.info.control, 'POST', `/latency?ms=${latencyMs}`);
    await control(fleet.info.control, 'POST', '/mark');
    say(`${fleet.info.nodes.length + 1} servers and ${GROUPS} group(s) registered through the API`);

    if (HOLD_ENGINE) {
      const hold = mysql(database);
      try {
        const targets = Object.values(ids).map((id) => `server:${id}`);
        await hold('mod_hostbridge_targets').insert(targets.map((target) => ({ target, max_concurrency: 1, updated_at: Date.now() }))).onConflict('target').ignore();
        await hold('mod_hostbridge_target_slots').insert(targets.map((target) => ({ target, slot: 0, task_id: 1, owner: 'bench-hold' }))).onConflict(['target', 'slot']).merge(['task_id', 'owner']);
      } finally {
        await hold.destroy();
      }
      say(`BENCH_HOLD_ENGINE: every server's slot is held, the engine claims nothing during the burst`);
    }
    // The daemon's event-loop delay over the burst: prom-client's monitorEventLoopDelay histogram is
    // reset at every scrape, so a scrape now starts it and the one after the burst reads it.
    const loopLag = async (): Promise<Record<string, number>> => {
      const res = await fetch(`${serve!.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
      const text = await res.text();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^nodejs_eventloop_lag_(p50|p99|max|mean)_seconds (\S+)$/gm)) out[m[1]!] = Math.round(Number(m[2]) * 10000) / 10;
      return out;
    };
    await loopLag();
    // With BENCH_DAEMON_NODE_FLAGS="--import bench/sql-trace.mjs": its totals before and after the burst.
    const traceMark = () => { if (process.env.BENCH_SQL_TRACE_FILE) process.kill(serve!.pid, 'SIGUSR2'); };
    traceMark();

    // --- the burst -----------------------------------------------------------------------------
    const orders = Array.from({ length: ORDERS }, (_, i) => {
      const mode = (['split', 'unified', 'vanity'] as const)[i % 3]!;
      const g = i % GROUPS;
      const id = 100_000 + i;
      const over: Record<string, unknown> = mode === 'vanity'
        ? { domain: `v${i}.invalid.example`, username: `v${i}`, config_options: { vanity_domain: vanity[g]!.domain }, custom_fields: { vanity_name: `v${i}` } }
        : { domain: `${mode}${i}.example.com`, username: `${mode.slice(0, 1)}${i}` };
      return { id, mode, body: createBody(id, groupIds[g]!, over, { configoption1: mode }) };
    });
    const acks: number[] = [];
    // Where an acknowledgement's time goes: a bare SELECT 1 from here (the database alone) and
    // GET /healthz (the daemon's event loop and pool, then the same SELECT 1), sampled through the burst.
    const ping = mysql(database);
    const dbPings: number[] = [];
    const healthPings: number[] = [];
    let burstOn = true;
    const sampler = (async () => {
      while (burstOn) {
        let t = performance.now();
        await ping.raw('select 1');
        dbPings.push(performance.now() - t);
        t = performance.now();
        await fetch(`${serve!.url}/healthz`).then((r) => r.text());
        healthPings.push(performance.now() - t);
        await sleep(250);
      }
    })();
    const lockStatus = async (): Promise<{ waits: number; ms: number }> => {
      const [rows] = await ping.raw(`SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_waits', 'Innodb_row_lock_time')`) as [Array<{ Variable_name: string; Value: string }>];
      const v = Object.fromEntries(rows.map((r) => [r.Variable_name, Number(r.Value)]));
      return { waits: v.Innodb_row_lock_waits ?? 0, ms: v.Innodb_row_lock_time ?? 0 };
    };
    const locksBefore = await lockStatus();
    const tBurst = performance.now();
    const cpuBefore = procCpuMs(serve.pid);
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(ACK_CONCURRENCY, ORDERS) }, async () => {
      for (let i = next++; i < ORDERS; i = next++) {
        const o = orders[i]!;
        const t = performance.now();
        const r = await call(serve!.url, 'POST', '/v1/services', o.body);
        acks.push(performance.now() - t);
        if (r.status !== 200) throw new Error(`CreateAccount ${o.id} (${o.mode}): ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
      }
    }));
    const burstS = secs(performance.now() - tBurst);
    const burstCpuMs = procCpuMs(serve.pid) - cpuBefore;
    traceMark();
    burstOn = false;
    await sampler;
    const locksAfter = await lockStatus();
    await ping.destroy();
    acks.sort((a, b) => a - b);
    const ackP50 = Math.round(percentile(acks, 50) * 10) / 10;
    const ackP99 = Math.round(percentile(acks, 99) * 10) / 10;
    say(`${ORDERS} orders acknowledged in ${burstS} s by ${ACK_CONCURRENCY} senders: p50 ${ackP50} ms, p99 ${ackP99} ms, max ${Math.round(acks.at(-1)!)} ms`);
    const p = (xs: number[], q: number) => (xs.length ? Math.round(percentile([...xs].sort((a, b) => a - b), q) * 10) / 10 : NaN);
    const lag = await loopLag();
    say(`the daemon's CPU over the burst: ${secs(burstCpuMs)} s, ${Math.round((burstCpuMs / ORDERS) * 10) / 10} ms per order; load ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}`);
    say(`InnoDB row lock waits over the burst (whole server): ${locksAfter.waits - locksBefore.waits}, ${locksAfter.ms - locksBefore.ms} ms waited`);
    say(`the daemon's event-loop delay over the burst: p50 ${lag.p50} ms, p99 ${lag.p99} ms, max ${lag.max} ms, mean ${lag.mean} ms`);
    say(`meanwhile SELECT 1 from the bench took p50 ${p(dbPings, 50)} ms, p99 ${p(dbPings, 99)} ms; the daemon's GET /healthz (one SELECT 1) p50 ${p(healthPings, 50)} ms, p99 ${p(healthPings, 99)} ms (${dbPings.length} samples)`);

    if (BURST_ONLY) {
      process.stdout.write(JSON.stringify({ orders: ORDERS, hold_engine: HOLD_ENGINE, ack_p50_ms: ackP50, ack_p99_ms: ackP99, loop_lag_p99_ms: lag.p99, cpu_ms_per_order: Math.round((burstCpuMs / ORDERS) * 10) / 10, peak_rss_mb: procStatus(serve.pid, 'VmHWM') }) + '\n');
      return;
    }
    // --- until every service is active ---------------------------------------------------------
    const probe = mysql(database);
    let makespanMs = 0;
    try {
      let lastSay = 0;
      for (;;) {
        const states = Object.fromEntries((await probe('mod_hostbridge_services').select('state').count({ n: '*' }).groupBy('state') as Array<{ state: string; n: number }>)
          .map((r) => [r.state, Number(r.n)]));
        const open = Number(((await probe('mod_hostbridge_chains').whereIn('state', ['running', 'waiting']).count({ n: '*' }).first()) as { n: number }).n);
        const now = performance.now();
        if ((states.failed ?? 0) > 0) {
          const t = await probe('mod_hostbridge_tasks').where('status', 'failed').first('id', 'type', 'target', 'last_error');
          throw new Error(`${states.failed} service(s) failed; first failed task ${t?.id} ${t?.type} on ${t?.target}: ${String(t?.last_error ?? '').slice(0, 800)}`);
        }
        if ((states.active ?? 0) === ORDERS && open === 0) {
          makespanMs = now - tBurst;
          traceMark(); // the third mark: what the chains' work cost after the burst
          break;
        }
        if (now - lastSay >= 10_000) {
          const tasks = Object.fromEntries((await probe('mod_hostbridge_tasks').select('status').count({ n: '*' }).groupBy('status') as Array<{ status: string; n: number }>)
            .map((r) => [r.status, Number(r.n)]));
          say(`${secs(now - tBurst)} s: services ${JSON.stringify(states)}, chains open ${open}, tasks ${JSON.stringify(tasks)}, daemon ${procStatus(serve.pid, 'VmRSS')} MB`);
          lastSay = now;
        }
        if (now - tBurst > TIMEOUT_S * 1000) throw new Error(`the orders did not all reach active in ${TIMEOUT_S} s: ${JSON.stringify(states)}, ${open} chain(s) open`);
        await sleep(200);
      }
    } finally {
      await probe.destroy();
    }
    const peak = procStatus(serve.pid, 'VmHWM');

    // --- the figures and the checks --------------------------------------------------------------
    const rep = (await control(fleet.info.control, 'GET', '/report')) as FleetReport;
    const busy = Object.entries(rep.nodes).map(([name, n]) => ({ name, ms: n.busy_ms, commands: n.commands }));
    busy.push({ name: 'pdns', ms: rep.pdns.busy_ms, commands: rep.pdns.calls });
    busy.sort((a, b) => b.ms - a.ms);
    const boundMs = busy[0]!.ms;
    const byKind = (k: Kind) => fleet!.info.nodes.filter((n) => n.kind === k).map((n) => rep.nodes[n.name]!);
    for (const k of ['web', 'mail', 'combo', 'dns'] as Kind[]) {
      const list = byKind(k);
      if (!list.length) continue;
      const cmds = list.map((n) => n.commands);
      const ms = list.map((n) => n.busy_ms);
      say(`${k} nodes: ${Math.min(...cmds)}–${Math.max(...cmds)} commands, busy ${secs(Math.min(...ms))}–${secs(Math.max(...ms))} s each`);
    }
    say(`pdns: ${rep.pdns.calls} API calls (${rep.pdns.errors} answered ≥ 400), busy ${secs(rep.pdns.busy_ms)} s; ${rep.pdns.zones} zones`);
    const idle = rep.pdns.idle;
    say(`pdns idle: ${secs(idle.first_ms)} s before its first call, ${secs(idle.gaps_ms)} s between calls; ms idle per 10 s from the first order: ${idle.windows.join(' ')}`);
    const total = busy.reduce((s, b) => s + b.commands, 0);
    say(`pdns calls: ${Object.entries(rep.pdns.kinds).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} × ${k}`).join(', ')}`);
    say(`busiest: ${busy.slice(0, 3).map((b) => `${b.name} ${secs(b.ms)} s (${b.commands})`).join(', ')}; ${total} remote commands in all`);
    say(`nodes hold ${JSON.stringify(rep.totals)}`);
    const makespanS = secs(makespanMs);
    const boundS = secs(boundMs);
    const ratio = Math.round((makespanMs / boundMs) * 1000) / 1000;
    say(`makespan ${makespanS} s, bound ${boundS} s, ratio ${ratio} (target ≤ 1.25); ack p99 ${ackP99} ms (≤ 50); peak RSS ${peak} MB (≤ 150)`);

    const problems: string[] = [];
    const finalDb = mysql(database);
    try {
      const notActive = await finalDb('mod_hostbridge_services').whereNot('state', 'active').select('whmcs_service_id', 'state');
      const count = Number(((await finalDb('mod_hostbridge_services').count({ n: '*' }).first()) as { n: number }).n);
      if (count !== ORDERS) problems.push(`${count} services exist for ${ORDERS} orders`);
      if (notActive.length) problems.push(`${notActive.length} service(s) not active: ${notActive.slice(0, 10).map((s: { whmcs_service_id: number; state: string }) => `${s.whmcs_service_id} ${s.state}`).join(', ')}`);
      for (const line of await taskGaps(finalDb, `server:${ids.pdns}`)) say(`pdns tasks ${line}`);
    } finally {
      await finalDb.destroy();
    }
    if (rep.duplicates.length) problems.push(`duplicate resources on the nodes: ${rep.duplicates.slice(0, 20).join('; ')}${rep.duplicates.length > 20 ? ` (and ${rep.duplicates.length - 20} more)` : ''}`);
    if (rep.pdns.duplicate_zones.length) problems.push(`duplicate PowerDNS zones: ${rep.pdns.duplicate_zones.join(', ')}`);
    if (rep.totals.web_domains !== ORDERS) problems.push(`the web nodes hold ${rep.totals.web_domains} web domains for ${ORDERS} orders`);
    if (!problems.length) say(`checks passed: ${ORDERS} services active, no duplicate resource on any node`);
    process.stdout.write(JSON.stringify({ orders: ORDERS, nodes: fleet.info.nodes.length, makespan_s: makespanS, bound_s: boundS, ratio, ack_p99_ms: ackP99, peak_rss_mb: peak }) + '\n');
    if (problems.length) {
      failed = true;
      for (const p of problems) process.stderr.write(`[bench:fleet] CHECK FAILED: ${p}\n`);
    }
  } finally {
    await serve?.kill('SIGTERM');
    if (fleet) {
      fleet.child.stdin?.end();
      await new Promise((r) => { if (fleet!.child.exitCode !== null) r(null); else fleet!.child.once('exit', r); });
    }
    if (process.env.BENCH_KEEP_DIR) process.stderr.write(`[bench:fleet] kept ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
  if (failed) process.exit(1);
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`[bench:fleet] failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
