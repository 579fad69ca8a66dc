// npm run demo: the daemon on a fresh embedded SQLite file, an emulated fleet (HestiaCP emulator
// nodes behind in-process SSH servers, plus the real PowerDNS when Debian's pdns_server is
// installed) and the Proxmox VE API emulator, one order of each hosting mode and a VPS placed through
// the signed API the WHMCS module uses, their
// progress printed live, then served until Ctrl-C. The emulator is a test instrument (test/emulator);
// the demo says so wherever it shows it.
//
//   npm run demo                     run the demo (data in data/demo/, recreated on every run)
//   npm run demo -- get <path>       a signed GET against the running demo, e.g. /v1/services/101
//
// Environment: HOSTBRIDGE_DEMO_DIR (data directory, default data/demo), HOSTBRIDGE_DEMO_PORT
// (first port tried, default 8740; 0 for any free port), HOSTBRIDGE_DEMO_LATENCY_MS (added to each
// emulated command, default 150), HOSTBRIDGE_DEMO_PDNS=0 (leave PowerDNS out even when installed).
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, ConfigError, DEFAULT_PORT } from '../daemon/config/config.ts';
import { startDaemon, StartupError, type Daemon } from '../daemon/runtime.ts';
import { createLogger } from '../daemon/log/logger.ts';
import { signedHeaders } from '../daemon/api/signature.ts';
import { setAdminPassword } from '../daemon/pages/auth.ts';

type FleetModule = typeof import('../test/helpers/fleet.ts');
type PveModule = typeof import('../test/emulator/proxmox/index.ts');
type EmulatedFleet = Awaited<ReturnType<FleetModule['startEmulatedFleet']>>;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MARKER = '.hostbridge-demo';
const STATE_FILE = 'demo.json';
const PDNS_FILES = ['/usr/sbin/pdns_server', '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql', '/usr/bin/sqlite3'];

class DemoError extends Error {}

const say = (line = '') => process.stdout.write(line + '\n');
const rel = (p: string) => (path.relative(ROOT, p).startsWith('..') ? p : path.relative(ROOT, p) || '.');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function dataDirFromEnv(): string {
  return path.resolve(ROOT, process.env.HOSTBRIDGE_DEMO_DIR || path.join('data', 'demo'));
}

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new DemoError(`${name} must be a whole number between ${min} and ${max}, got "${raw}"`);
  return Number(raw);
}

// --- signed calls, as the WHMCS module makes them ------------------------------------------------

interface Answer { status: number; body: any }

async function api(baseUrl: string, secret: string, method: string, p: string, body?: unknown): Promise<Answer> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const res = await fetch(baseUrl + p, {
    method,
    headers: { ...signedHeaders(secret, method, p, text), ...(text ? { 'content-type': 'application/json' } : {}) },
    body: text || undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const raw = await res.text();
  try {
    return { status: res.status, body: JSON.parse(raw) };
  } catch {
    return { status: res.status, body: raw };
  }
}

// --- `npm run demo -- get <path>` and `npm run demo -- link <whmcs_service_id>` ----------------------------

const USAGE = [
  'usage: npm run demo                         run the demo',
  '       npm run demo -- get <path>           a signed GET against the running demo (e.g. /v1/services/101)',
  '       npm run demo -- link <whmcs_service_id>    a fresh customer link to a service\'s page (it opens once, and expires)',
].join('\n') + '\n';

async function toRunningDemo(command: 'get' | 'link', arg: string | undefined): Promise<number> {
  if (command === 'get' ? !arg?.startsWith('/') : !/^[1-9]\d{0,9}$/.test(arg ?? '')) {
    process.stderr.write(USAGE);
    return 2;
  }
  const dir = dataDirFromEnv();
  let state: { url: string; pid: number };
  try {
    state = JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), 'utf8'));
    process.kill(state.pid, 0);
  } catch {
    process.stderr.write(`no demo is running on ${rel(dir)} (start one with: npm run demo)\n`);
    return 1;
  }
  const secret = fs.readFileSync(path.join(dir, 'shared-secret'), 'utf8').trim();
  const r = command === 'get'
    ? await api(state.url, secret, 'GET', arg!)
    : await api(state.url, secret, 'POST', '/v1/ui-links', { audience: 'client', whmcs_service_id: Number(arg) });
  if (command === 'link' && r.status === 200 && typeof r.body?.url === 'string') {
    process.stdout.write(r.body.url + '\n');
    return 0;
  }
  if (command === 'link' && r.status === 404 && !/service/.test(JSON.stringify(r.body))) {
    process.stderr.write('this version of the daemon issues no customer links (POST /v1/ui-links is missing)\n');
    return 1;
  }
  process.stdout.write((typeof r.body === 'string' ? r.body : JSON.stringify(r.body, null, 2)) + '\n');
  return r.status < 400 ? 0 : 1;
}

// --- the data directory ---------------------------------------------------------------------------

/** Empties the demo's own directory (never one it did not make) and marks it as the demo's. */
function recreateDataDir(dir: string): void {
  if (fs.existsSync(dir)) {
    const entries = fs.readdirSync(dir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new DemoError(`${rel(dir)} exists and was not made by the demo; remove it yourself or set HOSTBRIDGE_DEMO_DIR to another directory`);
    }
    try {
      const st = JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), 'utf8')) as { pid: number };
      if (st.pid !== process.pid) {
        process.kill(st.pid, 0);
        throw new DemoError(`another demo (pid ${st.pid}) is running on ${rel(dir)}: stop it first (Ctrl-C in its terminal)`);
      }
    } catch (err) {
      if (err instanceof DemoError) throw err;
      // No state file, or its process is gone: the directory is free.
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, MARKER), 'made by npm run demo; emptied and recreated on every run\n');
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// --- the orders -----------------------------------------------------------------------------------

interface Order { serviceId: number; mode: 'split' | 'unified' | 'vanity' | 'kvm'; name: string; body: Record<string, unknown> }

/** A CreateAccount body as the PHP module builds it from WHMCS's $params (hostbridge_CreateAccount). */
function orderBody(serviceId: number, groupId: number, mode: Exclude<Order['mode'], 'kvm'>, domain: string, username: string, vanity?: { parent: string; name: string }): Record<string, unknown> {
  const product: Record<string, string> = {};
  for (let i = 1; i <= 24; i++) product[`configoption${i}`] = '';
  Object.assign(product, {
    configoption1: mode, configoption2: String(groupId), configoption3: 'on', configoption4: 'on', configoption5: 'on',
    configoption6: '2048', configoption7: '1024', configoption8: '10240', configoption9: '1', configoption10: '2', configoption11: '10',
    configoption12: '512', configoption13: '256',
  });
  return {
    whmcs_service_id: serviceId, client_id: 1, product_id: { split: 1, unified: 2, vanity: 3 }[mode], domain, username,
    // A customer password as WHMCS generates one; never printed.
    password: crypto.randomBytes(12).toString('base64url') + 'A1!',
    email: `owner@${vanity ? vanity.parent : domain}`, server_group_id: groupId, product,
    config_options: vanity ? { vanity_domain: vanity.parent } : {},
    custom_fields: vanity ? { vanity_name: vanity.name } : {},
  };
}

/**
 * The Proxmox VE emulator (a test instrument, test/emulator/proxmox) registered as a cluster the way
 * an admin does it — certificate pinned, token sealed — synced, with a template, an IPv4 and an IPv6
 * pool and a KVM profile; the VM's forward and reverse zones on PowerDNS when it runs. Returns the
 * CreateAccount body of one VPS order.
 */
async function setUpProxmox(url: string, secret: string, pveMod: PveModule, pdns: EmulatedFleet['pdns'], closers: Array<{ what: string; order: number; close: () => Promise<void> }>): Promise<{ body: Record<string, unknown>; pve: Awaited<ReturnType<PveModule['startProxmoxEmulator']>> }> {
  const pve = await pveMod.startProxmoxEmulator({
    nodes: [{ name: 'pve1', maxmemMb: 6144 }, { name: 'pve2', maxmemMb: 65536 }], latencyMs: 20,
    taskMs: { qmclone: 1500, qmigrate: 1500, resize: 400, qmstart: 800, qmstop: 400, qmshutdown: 800, qmdestroy: 600 },
  });
  closers.push({ what: 'Proxmox VE emulator', order: 2, close: () => pve.close() });
  const must = async (method: string, p: string, body?: unknown) => {
    const r = await api(url, secret, method, p, body);
    if (r.status < 200 || r.status >= 300) throw new DemoError(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const cluster = Number((await must('POST', '/v1/proxmox/clusters', { name: 'demo (emulated Proxmox VE)', endpoints: [{ host: '127.0.0.1', port: pve.port }], fingerprint_sha256: pve.fingerprintSha256, token_id: pve.token.id, token_secret: pve.token.secret })).id);
  await must('POST', `/v1/proxmox/clusters/${cluster}/sync`, {});
  for (const s of (await must('GET', `/v1/proxmox/clusters/${cluster}`)).cluster.storages.filter((x: { storage: string }) => x.storage === 'local-lvm')) {
    await must('PUT', `/v1/proxmox/clusters/${cluster}/storages/${s.id}`, { templates: true, system: true, additional: true });
  }
  await must('POST', `/v1/proxmox/clusters/${cluster}/templates`, { slug: 'debian-12', label: 'Debian 12', vmid: 9000, node: 'pve1', storage: 'local-lvm', cloud_init: true });
  await must('POST', '/v1/ip-pools', { name: 'demo-v4', cluster_id: cluster, bridge: 'vmbr0', family: 4, network: '198.51.100.0/24', gateway: '198.51.100.1', resolvers: ['198.51.100.53'] });
  await must('POST', '/v1/ip-pools', { name: 'demo-v6', cluster_id: cluster, bridge: 'vmbr0', family: 6, network: '2001:db8:100::/64', gateway: '2001:db8:100::1', resolvers: ['2001:db8:100::53'] });
  await must('POST', '/v1/kvm-profiles', {
    name: 'vps-demo', cluster_id: cluster, cores: 2, memory_mb: 2048, system_disk: { size_gb: 20, storage: 'local-lvm' }, network: { bridge: 'vmbr0' },
    firewall: { enable: true, ipfilter: true, policy_in: 'ACCEPT' }, ipv4: 1, ipv6: 1, os_templates: ['debian-12'], default_os: 'debian-12',
  });
  if (pdns) {
    for (const zone of ['example.net', '100.51.198.in-addr.arpa', '0.0.1.0.8.b.d.0.1.0.0.2.ip6.arpa']) {
      await fetch(`${pdns.server.url}/api/v1/servers/localhost/zones`, {
        method: 'POST', headers: { 'X-API-Key': pdns.server.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `${zone}.`, kind: 'Native', nameservers: ['ns1.example.net.'] }),
      }).catch(() => null);
    }
  }
  say(`Proxmox:  EMULATED — the Proxmox VE API emulator (test/emulator/proxmox, a test instrument) on ${pve.url}, two nodes,`);
  say(`          registered with its certificate pinned (${pve.fingerprintSha256.slice(0, 23)}…), a Debian 12 template on pve1, IPv4 and IPv6 pools, profile vps-demo`);
  return {
    pve,
    body: {
      whmcs_service_id: 104, client_id: 1, product_id: 4, domain: 'vps1.example.net', username: 'vps1', password: crypto.randomBytes(12).toString('base64url'),
      email: 'owner@example.net', product: { configoption1: 'kvm', configoption15: 'vps-demo' }, config_options: {}, custom_fields: {},
    },
  };
}

// --- live progress --------------------------------------------------------------------------------

interface StepView { step: string; label: string; server: string | null; status: string; attempts: number; started_at: number | null; finished_at: number | null; error: string | null }

function firstLine(s: string | null | undefined): string {
  return String(s ?? '').split('\n')[0]!.slice(0, 160);
}

async function followOrders(url: string, secret: string, orders: Order[], width: number, stopping: () => boolean, timeoutMs: number): Promise<Map<number, string>> {
  const seen = new Map<string, string>();
  const final = new Map<number, string>();
  const started = Date.now();
  const prefix = (o: Order) => `[${o.mode.padEnd(7)} ${o.name}]`.padEnd(width + 11);
  while (final.size < orders.length && !stopping()) {
    for (const o of orders) {
      if (final.has(o.serviceId)) continue;
      let r: Answer;
      try {
        r = await api(url, secret, 'GET', `/v1/services/${o.serviceId}`);
      } catch {
        continue; // the daemon is stopping, or a slow answer: look again next round
      }
      if (r.status !== 200) continue;
      const svc = r.body.service as { state: string; progress: null | { total: number; error: string | null; steps: StepView[] } };
      const steps = svc.progress?.steps ?? [];
      const total = svc.progress?.total ?? steps.length;
      steps.forEach((s, i) => {
        const key = `${o.serviceId}:${i}`;
        const mark = `${s.status}:${s.attempts}`;
        if (seen.get(key) === mark) return;
        seen.set(key, mark);
        const head = `${prefix(o)} ${`${i + 1}/${total}`.padStart(5)} ${s.label} …`;
        const took = s.started_at !== null && s.finished_at !== null ? ` (${secs(s.finished_at - s.started_at)})` : '';
        if (s.status === 'succeeded') say(`${head} done${took}${s.attempts > 1 ? ` after ${s.attempts} attempts` : ''}`);
        else if (s.status === 'retrying') say(`${head} attempt ${s.attempts} failed, retrying: ${firstLine(s.error)}`);
        else if (s.status === 'failed') say(`${head} FAILED: ${firstLine(s.error)}`);
        else if (s.status === 'cancelled') say(`${head} cancelled`);
      });
      if (svc.state === 'active' || svc.state === 'failed') {
        final.set(o.serviceId, svc.state);
        say(svc.state === 'active'
          ? `${prefix(o)} active after ${secs(Date.now() - started)}`
          : `${prefix(o)} FAILED: ${firstLine(svc.progress?.error) || 'see the daemon log'}`);
      }
    }
    if (Date.now() - started > timeoutMs) break;
    await sleep(200);
  }
  return final;
}

// --- what the nodes hold --------------------------------------------------------------------------

async function printHoldings(fleetMod: FleetModule, fleet: EmulatedFleet, label: (name: string) => string): Promise<void> {
  const sum = fleetMod.nodeSummary(fleet);
  const w = Math.max(...fleet.nodes.map((n) => label(n.name).length), 8);
  say('What each node holds now (emulated HestiaCP nodes, read from their files; "provider" is the vanity parent set up before the orders):');
  for (const n of fleet.nodes) {
    const s = sum[n.name]!;
    const parts: string[] = [];
    for (const u of s.users) {
      const bits: string[] = [];
      const pkg = s.state.users[u]?.package;
      if (s.web[u]) bits.push(`web ${s.web[u]!.join(', ')}`);
      for (const d of s.mail[u] ?? []) {
        const boxes = s.mailboxes[d] ?? [];
        bits.push(`mail ${d}${s.dkim.includes(d) ? ' +DKIM' : ''}${boxes.length ? ` (mailboxes: ${boxes.join(', ')})` : ''}`);
      }
      if (s.zones[u]) bits.push(`zones ${s.zones[u]!.map((z) => `${z} (${s.records[z]?.length ?? 0} records)`).join(', ')}`);
      parts.push(`user ${u}${pkg ? ` [${pkg}]` : ''}${s.suspended.includes(u) ? ' SUSPENDED' : ''}: ${bits.join('; ') || 'nothing yet'}`);
    }
    const roles = Object.entries(n.roles).filter(([, on]) => on).map(([r]) => r).join('+');
    const lead = `  ${label(n.name).padEnd(w)}  ${roles.padEnd(8)} `;
    if (parts.length === 0) say(`${lead} (empty)`);
    parts.forEach((p, i) => say(`${i === 0 ? lead : ' '.repeat(lead.length)} ${p}`));
  }
  if (fleet.pdns) {
    const zones = await fleet.pdns.zones().catch(() => [] as string[]);
    const details: string[] = [];
    for (const z of zones) {
      const zone = await fleet.pdns.zone(z).catch(() => null);
      details.push(`${z.replace(/\.$/, '')} (${zone ? zone.rrsets.reduce((a, r) => a + r.records.length, 0) : '?'} records)`);
    }
    say(`  ${'pdns'.padEnd(w)}  ${'dns'.padEnd(8)}  real PowerDNS (pdns_server): zones ${details.join(', ') || 'none'}`);
  }
}

/** Our direct child processes (pdns_server), by pid, read from /proc; for a forced stop only. */
function killOwnChildren(): void {
  try {
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === process.pid) process.kill(Number(entry), 'SIGKILL');
      } catch {
        // gone already, or not ours to read
      }
    }
  } catch {
    // no /proc: nothing more we can do
  }
}

// --- main -----------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'get' || command === 'link') return toRunningDemo(command, rest[0]);
  if (command !== undefined) {
    process.stderr.write(command === '-h' || command === '--help' ? USAGE : `unknown command "${command}"\n${USAGE}`);
    return command === '-h' || command === '--help' ? 0 : 2;
  }

  // Ctrl-C: everything started so far is closed, then exit 0. Closed in `order`: the daemon first
  // (its running tasks finish against a live fleet), then the fleet, then the daemon's log.
  const closers: { what: string; order: number; close: () => Promise<void> }[] = [];
  let stopRequested = false;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => { wake = resolve; });
  // One Ctrl-C reaches us twice under npm (from the terminal and forwarded by npm): repeats within
  // 2 s are the same request. A later one stops at once, ending our own child processes (pdns_server).
  let firstSignalAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!firstSignalAt) {
      firstSignalAt = Date.now();
      stopRequested = true;
      wake();
      return;
    }
    if (Date.now() - firstSignalAt < 2000) return;
    say(`${sig} again: stopping at once`);
    killOwnChildren();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const shutdown = async (): Promise<void> => {
    closers.sort((a, b) => a.order - b.order);
    const shown = closers.filter((c) => c.order < 3).map((c) => c.what);
    if (shown.length) say(`\nStopping: ${shown.join(', ')} …`);
    for (const c of closers.splice(0)) {
      try {
        await c.close();
      } catch (err) {
        say(`  ${c.what}: ${firstLine((err as Error).message)}`);
      }
    }
    if (shown.length) say('Stopped.');
  };

  const dataDir = dataDirFromEnv();
  const firstPort = intFromEnv('HOSTBRIDGE_DEMO_PORT', DEFAULT_PORT, 0, 65535);
  const latencyMs = intFromEnv('HOSTBRIDGE_DEMO_LATENCY_MS', 150, 0, 10_000);

  let fleetMod: FleetModule;
  try {
    fleetMod = await import('../test/helpers/fleet.ts');
  } catch (err) {
    throw new DemoError(`the emulated fleet helper test/helpers/fleet.ts could not be loaded: ${firstLine((err as Error).message)}`);
  }

  try {
    say('hostbridge demo: the daemon, an emulated fleet, three hosting orders (one per deployment mode) and a VPS.');
    say('');

    // 1. The daemon on a fresh SQLite file.
    recreateDataDir(dataDir);
    const logFile = path.join(dataDir, 'daemon.log');
    const logStream = fs.createWriteStream(logFile, { flags: 'a', mode: 0o600 });
    closers.push({ what: 'daemon log', order: 3, close: () => new Promise<void>((r) => logStream.end(() => r())) });
    const logger = createLogger({ format: 'json', level: 'info', stream: logStream });
    let daemon: Daemon | null = null;
    for (let port = firstPort, tries = 0; !daemon; port++, tries++) {
      if (port !== 0 && !(await portIsFree(port))) {
        if (tries >= 50) throw new DemoError(`no free port from ${firstPort} to ${port} on 127.0.0.1 (set HOSTBRIDGE_DEMO_PORT)`);
        continue;
      }
      const config = loadConfig({
        HOSTBRIDGE_DATA_DIR: dataDir, HOSTBRIDGE_DATABASE_URL: path.join(dataDir, 'hostbridge.sqlite'),
        HOSTBRIDGE_LISTEN: `127.0.0.1:${port}`, HOSTBRIDGE_LOG_FORMAT: 'json',
      }, ROOT);
      try {
        daemon = await startDaemon(config, { migrate: true, logger });
      } catch (err) {
        if (err instanceof StartupError && /EADDRINUSE/.test(err.message) && port !== 0 && tries < 50) continue;
        throw err;
      }
    }
    const d = daemon;
    closers.push({ what: 'daemon (running tasks finish first)', order: 1, close: () => d.stop() });
    const url = d.url;
    const secret = d.core.config.secret;
    fs.writeFileSync(path.join(dataDir, STATE_FILE), JSON.stringify({ url, pid: process.pid }) + '\n');
    const portNote = firstPort !== 0 && !url.endsWith(`:${firstPort}`) ? ` (port ${firstPort} was taken)` : '';
    say(`Daemon:   ${url}${portNote}  (hostbridge, the real thing)`);
    say(`Data:     ${rel(dataDir)}/ — emptied and recreated on every run: SQLite database, generated shared secret and`);
    say(`          master key (mode 0600, not shown), daemon log ${rel(logFile)}, the emulated nodes' files`);
    if (stopRequested) return await shutdown().then(() => 0);

    // 2. The emulated fleet, and PowerDNS when Debian's package is installed.
    const missing = PDNS_FILES.filter((f) => !fs.existsSync(f));
    let pdnsNote: string;
    let wantPdns = process.env.HOSTBRIDGE_DEMO_PDNS !== '0' && missing.length === 0;
    if (process.env.HOSTBRIDGE_DEMO_PDNS === '0') pdnsNote = 'not used (HOSTBRIDGE_DEMO_PDNS=0)';
    else if (!fs.existsSync(PDNS_FILES[0]!)) pdnsNote = 'not installed (/usr/sbin/pdns_server is missing)';
    else if (missing.length) pdnsNote = `not used: ${missing.join(', ')} missing (Debian packages pdns-backend-sqlite3, sqlite3)`;
    else pdnsNote = '';
    const fleetDir = path.join(dataDir, 'fleet');
    let fleet: EmulatedFleet;
    try {
      fleet = await fleetMod.startEmulatedFleet({ web: 2, mail: 2, dns: 2, combo: 1, pdns: wantPdns, latencyMs, dir: fleetDir });
    } catch (err) {
      if (!wantPdns) throw err;
      // PowerDNS is optional here: without it the emulated Hestia DNS nodes serve the zones.
      pdnsNote = `installed but did not start (${firstLine((err as Error).message)})`;
      wantPdns = false;
      fs.rmSync(fleetDir, { recursive: true, force: true });
      fleet = await fleetMod.startEmulatedFleet({ web: 2, mail: 2, dns: 2, combo: 1, pdns: false, latencyMs, dir: fleetDir });
    }
    const f = fleet;
    closers.push({ what: `emulated SSH servers${f.pdns ? ', PowerDNS' : ''}`, order: 2, close: () => f.close() });
    const label = (name: string) => `emu-${name}`;
    say(`Fleet:    EMULATED — ${f.nodes.length} HestiaCP emulator nodes (test/emulator/hestia, a test instrument), each behind its own`);
    say(`          in-process SSH server on 127.0.0.1, ${latencyMs} ms added to every command so the progress can be watched:`);
    const w = Math.max(...f.nodes.map((n) => label(n.name).length));
    for (const n of f.nodes) {
      const roles = Object.entries(n.roles).filter(([, on]) => on).map(([r]) => r).join('+');
      say(`            ${label(n.name).padEnd(w)}  emulated HestiaCP  ${roles.padEnd(8)}  ssh ${n.ssh.host}:${n.ssh.port}  files ${rel(n.dir)}/`);
    }
    const hestiaDns = f.dns.map((n) => label(n.name)).join(', ');
    say(f.pdns
      ? `DNS:      ${hestiaDns} (emulated HestiaCP) and the real PowerDNS (/usr/sbin/pdns_server, API ${f.pdns.server.url.replace(/^http:\/\//, '')})`
      : `DNS:      ${hestiaDns} (emulated HestiaCP) only; PowerDNS ${pdnsNote}`);
    if (stopRequested) return await shutdown().then(() => 0);

    // 3. Register the fleet and a server group through the signed API.
    const ids: Record<string, number> = {};
    const addServer = async (name: string, body: Record<string, unknown>) => {
      const r = await api(url, secret, 'POST', '/v1/servers', { name, ...body });
      if (r.status !== 201) throw new DemoError(`registering server ${name}: ${r.status} ${JSON.stringify(r.body)}`);
      ids[name] = Number(r.body.id);
    };
    for (const n of f.nodes) {
      await addServer(label(n.name), {
        driver: 'hestiacp', hostname: n.ssh.host, ip: n.ip, port: n.ssh.port, username: 'root', password: n.password,
        host_key_sha256: n.ssh.hostKeySha256, capabilities: { web: !!n.roles.web, mail: !!n.roles.mail, dns: !!n.roles.dns },
      });
    }
    if (f.pdns) {
      await addServer('pdns', { driver: 'powerdns', hostname: '127.0.0.1', ip: '127.0.0.1', port: f.pdns.port, api_key: f.pdns.apiKey, capabilities: { dns: true } });
    }
    const idsOf = (list: { name: string }[]) => list.map((n) => ids[label(n.name)]!);
    const mail0 = f.mail[0];
    const group = await api(url, secret, 'POST', '/v1/server-groups', {
      name: 'demo (emulated fleet)', nameservers: fleetMod.NAMESERVERS,
      servers: [...idsOf(f.web), ...idsOf(f.mail), ...idsOf(f.combo)],
      dns_servers: [...idsOf(f.dns), ...(f.pdns ? [ids.pdns!] : [])],
      vanity_domains: mail0 ? [{ domain: fleetMod.VANITY_PARENT, mail_server_id: ids[label(mail0.name)], mail_user: fleetMod.PROVIDER_USER, dns_user: fleetMod.PROVIDER_USER }] : [],
      reserved_names: fleetMod.RESERVED_NAMES,
    });
    if (group.status !== 201) throw new DemoError(`creating the server group: ${group.status} ${JSON.stringify(group.body)}`);
    const groupId = Number(group.body.id);
    say(`Group:    #${groupId} "demo (emulated fleet)": ${Object.keys(ids).length} servers registered through POST /v1/servers, POST /v1/server-groups`);
    say(`          (vanity parent ${fleetMod.VANITY_PARENT} on ${mail0 ? label(mail0.name) : '-'}, prepared by hand beforehand as a provider would)`);
    if (stopRequested) return await shutdown().then(() => 0);

    // 4. One order per mode, as WHMCS's CreateAccount sends them, and a VPS on the emulated Proxmox VE.
    const pveMod: PveModule = await import('../test/emulator/proxmox/index.ts');
    const vps = await setUpProxmox(url, secret, pveMod, f.pdns, closers);
    if (stopRequested) return await shutdown().then(() => 0);
    const vanityName = 'alice';
    const orders: Order[] = [
      { serviceId: 101, mode: 'split', name: 'shop1.example.com', body: orderBody(101, groupId, 'split', 'shop1.example.com', 'shop1') },
      { serviceId: 102, mode: 'unified', name: 'blog.example.org', body: orderBody(102, groupId, 'unified', 'blog.example.org', 'blog') },
      { serviceId: 103, mode: 'vanity', name: `${vanityName}.${fleetMod.VANITY_PARENT}`, body: orderBody(103, groupId, 'vanity', '', vanityName, { parent: fleetMod.VANITY_PARENT, name: vanityName }) },
      { serviceId: 104, mode: 'kvm', name: 'vps1.example.net', body: vps.body },
    ];
    const width = Math.max(...orders.map((o) => o.name.length));
    say('');
    say('Orders:   POST /v1/services, signed, with the body the WHMCS module\'s CreateAccount sends:');
    for (const o of orders) {
      const t0 = performance.now();
      const r = await api(url, secret, 'POST', '/v1/services', o.body);
      const ms = performance.now() - t0;
      if (r.status !== 200 || !r.body.ok) throw new DemoError(`placing the ${o.mode} order: ${r.status} ${JSON.stringify(r.body)}`);
      say(`[${o.mode.padEnd(7)} ${o.name}]`.padEnd(width + 11) + ` service ${o.serviceId}: answered in ${ms.toFixed(0)} ms (${r.body.state}, chain ${r.body.chain_id}); the work runs now`);
    }
    say('');
    const final = await followOrders(url, secret, orders, width, () => stopRequested, 120_000);
    if (stopRequested) return await shutdown().then(() => 0);
    const active = orders.filter((o) => final.get(o.serviceId) === 'active');
    say('');
    if (active.length === orders.length) say(`All ${orders.length} services are active.`);
    else say(`${active.length} of ${orders.length} services are active; the others ${final.size < orders.length ? 'did not finish in 120 s' : 'failed'} (see ${rel(logFile)}).`);
    say('');
    await printHoldings(fleetMod, f, label);

    // 5. Where to look.
    say('');
    say('Where to look:');
    say(`  Health:   ${url}/healthz`);
    const password = crypto.randomBytes(12).toString('base64url');
    await setAdminPassword(d.core.db, password);
    say(`  Admin:    ${url}/ui/login  password ${password}`);
    let ttlMin = 0;
    for (const o of orders) {
      const r = await api(url, secret, 'POST', '/v1/ui-links', { audience: 'client', whmcs_service_id: o.serviceId });
      if (r.status !== 200 || typeof r.body?.url !== 'string') throw new DemoError(`issuing a customer link for service ${o.serviceId}: ${r.status} ${JSON.stringify(r.body)}`);
      say(`  Customer: ${o.mode.padEnd(7)} ${o.name.padEnd(width)}  ${r.body.url}`);
      if (typeof r.body.expires_at === 'number') ttlMin = Math.max(1, Math.round((r.body.expires_at * 1000 - Date.now()) / 60_000));
    }
    say(`            each link opens once${ttlMin ? `, within ${ttlMin} minutes` : ''}; a fresh one: npm run demo -- link ${orders[0]!.serviceId}   (or 102, 103, 104)`);
    say(`  API:      npm run demo -- get /v1/services/${orders[0]!.serviceId}      (a signed GET with the demo's secret)`);
    say(`  Nodes:    ${rel(fleetDir)}/<node>/data/users/   (the emulated HestiaCP nodes' files)`);
    say('');
    say('Serving until Ctrl-C.');

    // 6. Serve until Ctrl-C.
    await stopped;
    await shutdown();
    return 0;
  } catch (err) {
    if (stopRequested) {
      await shutdown();
      return 0;
    }
    await shutdown();
    throw err;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const expected = err instanceof DemoError || err instanceof ConfigError || err instanceof StartupError;
    process.stderr.write(`demo: ${expected ? (err as Error).message : (err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
