// The emulated fleet for end-to-end tests, the demo and the deploy benchmark: HestiaCP emulator
// nodes behind in-process SSH servers on 127.0.0.1, the real pdns_server behind a small timing
// proxy, and the provider's vanity parent (sites.example.net) prepared before any order, the way
// a provider sets it up by hand. Test instruments only; the daemon reaches them as a real fleet.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import net, { type AddressInfo, type Socket } from 'node:net';
import {
  createNode, readCommandLog, readNode, runHestia, serveNodeTls, setAcme, startHestiaNode,
  type CommandLogEntry, type HestiaNodeHandle, type NodeRoles, type NodeState, type NodeTlsHandle,
} from '../emulator/hestia/index.ts';
import { makeCa, type TestCa } from './certs.ts';
import { paths } from '../emulator/hestia/node.ts';
import { startPdns, type Pdns } from './pdns.ts';
import { call } from './api.ts';

export const VANITY_PARENT = 'sites.example.net';
export const PROVIDER_USER = 'provider';
export const PROVIDER_PACKAGE = 'provider-pkg';
/** The provider's own site: the parent zone's apex A record. */
export const PROVIDER_SITE_IP = '192.0.2.10';
export const NAMESERVERS = ['ns1.example.net', 'ns2.example.net'];
export const RESERVED_NAMES = ['www', 'mail', 'admin', 'ftp', 'webmail'];

export type NodeKind = 'web' | 'mail' | 'dns' | 'combo';

export interface EmulatedNode {
  name: string;
  kind: NodeKind;
  roles: NodeRoles;
  dir: string;
  /** The node's public IP, as the emulated Hestia knows it (web domains, DNS records). */
  ip: string;
  /** root's SSH password (never printed). */
  password: string;
  ssh: HestiaNodeHandle;
  /** The port the daemon is given: a TCP front that forwards to ssh.port and can take the node down. */
  port: number;
  /**
   * Down: new connections are refused and open ones are reset, as when a node or its network dies.
   * (The emulator's own `refuse` fault closes only the listener: a pooled connection keeps running
   * commands, and its setFault waits until that connection ends.)
   */
  setDown(down: boolean): Promise<void>;
  /** The node's TLS front (FleetOptions.tls): its installed certificates by SNI on ip:port. */
  tls?: NodeTlsHandle;
}

export interface PdnsCall { method: string; path: string; status: number; startedAt: number; endedAt: number }

export interface EmulatedPdns {
  /** The real server (its own API URL and key). */
  server: Pdns;
  /** The timing proxy the daemon is given: same API, every call recorded. */
  port: number;
  url: string;
  apiKey: string;
  calls(): PdnsCall[];
  setLatency(ms: number): void;
  /** GET /zones/<zone> straight from the server, or null. */
  zone(name: string): Promise<PdnsZone | null>;
  zones(): Promise<string[]>;
  /** Stops the proxy and the server. */
  close(): Promise<void>;
}

export interface PdnsZone { name: string; serial: number; rrsets: { name: string; type: string; ttl: number; records: { content: string; disabled: boolean }[] }[] }

export interface EmulatedFleet {
  root: string;
  nodes: EmulatedNode[];
  web: EmulatedNode[];
  mail: EmulatedNode[];
  dns: EmulatedNode[];
  combo: EmulatedNode[];
  pdns: EmulatedPdns | null;
  /** The fleet-wide ACME CA every node's v-add-letsencrypt-domain signs with (FleetOptions.acme); trust its PEM in the daemon. */
  acmeCa?: TestCa;
  /** The port every node's TLS front listens on, each on its own IP (FleetOptions.tls). */
  tlsPort?: number;
  node(name: string): EmulatedNode;
  /** Every node's command log, by node name. */
  commandLogs(): Record<string, CommandLogEntry[]>;
  setLatency(ms: number): void;
  close(): Promise<void>;
}

export interface FleetOptions {
  web?: number; mail?: number; dns?: number; combo?: number; pdns?: boolean; latencyMs?: number; dir?: string;
  /** Node IPs are `<ipBase><n>` (n = 11… web, 21… mail, 31… dns, 41… combo); e.g. '127.0.1.' puts them on loopback. Default '192.0.2.'. */
  ipBase?: string;
  /** A TLS front per node on its IP and this one port (0: a free port, the same for every node). Use with a loopback ipBase. */
  tls?: { port: number };
  /** A fleet-wide ACME CA (makeCa) for every node, and the fleet's PowerDNS (127.0.0.1:<dnsPort>) as every node's resolver. */
  acme?: boolean;
}

const KIND_ROLES: Record<NodeKind, NodeRoles> = { web: { web: true }, mail: { mail: true }, dns: { dns: true }, combo: { web: true, mail: true } };
const KIND_IP_BASE: Record<NodeKind, number> = { web: 11, mail: 21, dns: 31, combo: 41 };
const KIND_PREFIX: Record<NodeKind, string> = { web: 'web', mail: 'mail', dns: 'ns', combo: 'combo' };

function must(r: { code: number; stdout: string; stderr: string }, what: string): void {
  if (r.code !== 0) throw new Error(`fleet set-up: ${what} failed (exit ${r.code}): ${r.stdout}${r.stderr}`);
}

/** The provider's package: small limits would not matter, but NS must be ours for its zone. */
export function writeProviderPackage(dir: string): void {
  const file = path.join(paths.tmp(dir), 'provider.pkg');
  fs.writeFileSync(file, [
    "WEB_TEMPLATE='default'", "BACKEND_TEMPLATE='default'", "PROXY_TEMPLATE='default'", "DNS_TEMPLATE='default'",
    "WEB_DOMAINS='unlimited'", "WEB_ALIASES='unlimited'", "DNS_DOMAINS='unlimited'", "DNS_RECORDS='unlimited'",
    "MAIL_DOMAINS='unlimited'", "MAIL_ACCOUNTS='unlimited'", "RATE_LIMIT='200'", "DATABASES='unlimited'", "CRON_JOBS='unlimited'",
    "DISK_QUOTA='unlimited'", "CPU_QUOTA='unlimited'", "CPU_QUOTA_PERIOD='unlimited'", "MEMORY_LIMIT='unlimited'",
    "SWAP_LIMIT='unlimited'", "BANDWIDTH='unlimited'", `NS='${NAMESERVERS.join(',')}'`, "SHELL='nologin'", "BACKUPS='1'",
    "BACKUPS_INCREMENTAL='no'", '',
  ].join('\n'));
  must(runHestia(dir, 'v-add-user-package', ['/tmp/provider.pkg', PROVIDER_PACKAGE]), 'v-add-user-package provider-pkg');
  fs.rmSync(file, { force: true });
  must(runHestia(dir, 'v-add-user', [PROVIDER_USER, 'provider-own-password', `postmaster@${VANITY_PARENT}`, PROVIDER_PACKAGE, 'Provider']), 'v-add-user provider');
}

/** A forwarding proxy in front of pdns_server: times each API call (for the benchmark) and can add latency. */
function startPdnsProxy(target: string): Promise<{ port: number; calls: PdnsCall[]; setLatency(ms: number): void; close(): Promise<void> }> {
  const calls: PdnsCall[] = [];
  let latency = 0;
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const startedAt = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const forward = () => {
        const out = http.request({
          host: upstream.hostname, port: upstream.port, method: req.method, path: req.url,
          headers: { ...req.headers, host: upstream.host },
        }, (up) => {
          const body: Buffer[] = [];
          up.on('data', (c: Buffer) => body.push(c));
          up.on('end', () => {
            calls.push({ method: req.method ?? '', path: req.url ?? '', status: up.statusCode ?? 0, startedAt, endedAt: Date.now() });
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(Buffer.concat(body));
          });
        });
        out.on('error', (e) => { res.writeHead(502, { 'content-type': 'text/plain' }); res.end(`proxy: ${e.message}`); });
        out.end(Buffer.concat(chunks));
      };
      if (latency > 0) setTimeout(forward, latency); else forward();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: (server.address() as AddressInfo).port, calls, setLatency: (ms) => { latency = ms; },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  })));
}

/** A TCP forwarder in front of a node's SSH port, so a test can make the node unreachable. */
async function startTcpFront(targetPort: number): Promise<{ port: number; setDown(down: boolean): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    // The front relays packet by packet, as the node's own socket sends them (no Nagle delay added);
    // the daemon's side of the link keeps the daemon's own setting.
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (port: number) => new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve((server.address() as AddressInfo).port); });
  });
  const stop = () => new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    for (const s of sockets) s.destroy();
  });
  const port = await listen(0);
  let down = false;
  return {
    port,
    async setDown(next) {
      if (next === down) return;
      down = next;
      if (next) await stop(); else await listen(port);
    },
    close: stop,
  };
}

/**
 * Debian's real pdns_server behind a timing proxy (per-call latency and a call log), holding the
 * vanity parent's zone: the fleet's PowerDNS, also for a fleet whose nodes run in a child process.
 */
export async function startEmulatedPdns(): Promise<EmulatedPdns> {
  const server = await startPdns();
  let proxy: Awaited<ReturnType<typeof startPdnsProxy>>;
  try {
    proxy = await startPdnsProxy(server.url);
  } catch (err) {
    await server.stop();
    throw err;
  }
  const close = async () => { await proxy.close().catch(() => {}); await server.stop().catch(() => {}); };
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api/v1/servers/localhost${p}`, {
      method, headers: { 'X-API-Key': server.apiKey, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, text: await res.text() };
  };
  const r = await api('POST', '/zones', {
    name: `${VANITY_PARENT}.`, kind: 'Native', nameservers: NAMESERVERS.map((n) => `${n}.`),
    rrsets: [
      { name: `${VANITY_PARENT}.`, type: 'A', ttl: 3600, records: [{ content: PROVIDER_SITE_IP, disabled: false }] },
      { name: `www.${VANITY_PARENT}.`, type: 'CNAME', ttl: 3600, records: [{ content: `${VANITY_PARENT}.`, disabled: false }] },
    ],
  });
  if (r.status !== 201) {
    await close();
    throw new Error(`fleet set-up: creating the PowerDNS zone ${VANITY_PARENT}: ${r.status} ${r.text}`);
  }
  return {
    server, port: proxy.port, close, url: `http://127.0.0.1:${proxy.port}`, apiKey: server.apiKey,
    calls: () => [...proxy.calls], setLatency: proxy.setLatency,
    async zone(name) {
      const z = await api('GET', `/zones/${encodeURIComponent(name.endsWith('.') ? name : name + '.')}`);
      if (z.status === 404 || z.status === 422) return null;
      if (z.status !== 200) throw new Error(`PowerDNS GET zone ${name}: ${z.status} ${z.text}`);
      return JSON.parse(z.text) as PdnsZone;
    },
    async zones() {
      const z = await api('GET', '/zones');
      if (z.status !== 200) throw new Error(`PowerDNS GET zones: ${z.status} ${z.text}`);
      return (JSON.parse(z.text) as { name: string }[]).map((x) => x.name).sort();
    },
  };
}

export async function startEmulatedFleet(opts: FleetOptions = {}): Promise<EmulatedFleet> {
  const root = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hb-fleet-'));
  const counts: Record<NodeKind, number> = { web: opts.web ?? 2, mail: opts.mail ?? 2, dns: opts.dns ?? 2, combo: opts.combo ?? 1 };
  const nodes: EmulatedNode[] = [];
  const closers: (() => Promise<void>)[] = [];
  const close = async () => { for (const c of closers.splice(0).reverse()) await c().catch(() => {}); };
  try {
    for (const kind of ['web', 'mail', 'dns', 'combo'] as NodeKind[]) {
      for (let i = 0; i < counts[kind]; i++) {
        const name = `${KIND_PREFIX[kind]}${i + 1}`;
        const dir = path.join(root, name);
        fs.mkdirSync(dir, { recursive: true });
        const ip = `${opts.ipBase ?? '192.0.2.'}${KIND_IP_BASE[kind] + i}`;
        createNode(dir, { hostname: `${name}.example.net`, ip, roles: KIND_ROLES[kind] });
        const password = `root-${name}-${createHash('sha256').update(root + name).digest('hex').slice(0, 16)}`;
        const ssh = await startHestiaNode({ dir, users: [{ username: 'root', password, uid: 0 }], latencyMs: opts.latencyMs });
        closers.push(() => ssh.close());
        const front = await startTcpFront(ssh.port);
        // Closed before the SSH server, so its connections are gone when ssh.close() waits for them.
        closers.push(() => front.close());
        nodes.push({ name, kind, roles: KIND_ROLES[kind], dir, ip, password, ssh, port: front.port, setDown: front.setDown });
      }
    }
    const by = (k: NodeKind) => nodes.filter((n) => n.kind === k);
    // The vanity parent: the provider's mail domain on the first mail node, its zone on every DNS node.
    const mail0 = by('mail')[0];
    if (mail0) {
      writeProviderPackage(mail0.dir);
      must(runHestia(mail0.dir, 'v-add-mail-domain', [PROVIDER_USER, VANITY_PARENT]), 'v-add-mail-domain sites.example.net');
      // The provider's own mailbox, so "the shared mail user is unchanged" covers a real neighbour.
      must(runHestia(mail0.dir, 'v-add-mail-account', [PROVIDER_USER, VANITY_PARENT, 'info', 'provider-info-password']), 'v-add-mail-account info');
    }
    for (const n of by('dns')) {
      writeProviderPackage(n.dir);
      must(runHestia(n.dir, 'v-add-dns-domain', [PROVIDER_USER, VANITY_PARENT, PROVIDER_SITE_IP, ...NAMESERVERS]), 'v-add-dns-domain sites.example.net');
    }
    let pdns: EmulatedPdns | null = null;
    if (opts.pdns ?? true) {
      pdns = await startEmulatedPdns();
      closers.push(() => pdns!.close());
    }
    let tlsPort: number | undefined;
    if (opts.tls) {
      tlsPort = opts.tls.port;
      for (const n of nodes) {
        // The first front takes a free port when asked for 0; the others share it, each on its own IP.
        const h = await serveNodeTls(n.dir, { host: n.ip, port: tlsPort });
        closers.push(() => h.close());
        tlsPort = h.port;
        n.tls = h;
      }
    }
    let acmeCa: TestCa | undefined;
    if (opts.acme) {
      acmeCa = makeCa('hostbridge test ACME CA');
      const resolvers = pdns ? [`127.0.0.1:${pdns.server.dnsPort}`] : [];
      for (const n of nodes) setAcme(n.dir, { ca: { cert: acmeCa.cert, key: acmeCa.key.pem }, resolvers });
    }
    if (!opts.dir) closers.unshift(async () => fs.rmSync(root, { recursive: true, force: true }));
    return {
      root, nodes, web: by('web'), mail: by('mail'), dns: by('dns'), combo: by('combo'), pdns, acmeCa, tlsPort,
      node(name) {
        const n = nodes.find((x) => x.name === name);
        if (!n) throw new Error(`no node ${name} in the fleet`);
        return n;
      },
      commandLogs: () => Object.fromEntries(nodes.map((n) => [n.name, readCommandLog(n.dir)])),
      setLatency(ms) { for (const n of nodes) n.ssh.setLatency(ms); pdns?.setLatency(ms); },
      close,
    };
  } catch (err) {
    await close();
    if (!opts.dir) fs.rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

/** What registerFleet needs of a fleet: an EmulatedFleet, or one run in a child process (fleet-process.ts). */
export interface FleetNodeAddress { name: string; roles: NodeRoles; ip: string; password: string; port: number; ssh: { host: string; hostKeySha256: string } }
export interface FleetTopology<N extends FleetNodeAddress = FleetNodeAddress> {
  nodes: N[]; web: N[]; mail: N[]; dns: N[]; combo: N[];
  pdns: { port: number; apiKey: string } | null;
}

export interface RegisteredFleet {
  groupId: number;
  /** Daemon server id by node name ("pdns" for PowerDNS). */
  ids: Record<string, number>;
  /** Node name by daemon server id. */
  names: Record<number, string>;
  web: number[]; mail: number[]; dns: number[]; combo: number[]; pdns: number | null;
}

/** Adds every node (and PowerDNS) through POST /v1/servers and one group through POST /v1/server-groups. */
export async function registerFleet(daemonUrl: string, fleet: FleetTopology, opts: { pinHostKeys?: boolean; groupName?: string } = {}): Promise<RegisteredFleet> {
  const ids: Record<string, number> = {};
  const add = async (name: string, body: Record<string, unknown>) => {
    const r = await call(daemonUrl, 'POST', '/v1/servers', { name, ...body });
    if (r.status !== 201) throw new Error(`adding server ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    ids[name] = r.body.id as number;
  };
  for (const n of fleet.nodes) {
    await add(n.name, {
      driver: 'hestiacp', hostname: n.ssh.host, ip: n.ip, port: n.port, username: 'root', password: n.password,
      ...(opts.pinHostKeys === false ? {} : { host_key_sha256: n.ssh.hostKeySha256 }),
      capabilities: { web: !!n.roles.web, mail: !!n.roles.mail, dns: !!n.roles.dns },
    });
  }
  if (fleet.pdns) {
    await add('pdns', { driver: 'powerdns', hostname: '127.0.0.1', ip: '127.0.0.1', port: fleet.pdns.port, api_key: fleet.pdns.apiKey, capabilities: { dns: true } });
  }
  const of = (list: FleetNodeAddress[]) => list.map((n) => ids[n.name]!);
  const pdnsId = fleet.pdns ? ids.pdns! : null;
  const g = await call(daemonUrl, 'POST', '/v1/server-groups', {
    name: opts.groupName ?? 'emulated', nameservers: NAMESERVERS,
    servers: [...of(fleet.web), ...of(fleet.mail), ...of(fleet.combo)],
    dns_servers: [...of(fleet.dns), ...(pdnsId !== null ? [pdnsId] : [])],
    vanity_domains: fleet.mail[0] ? [{ domain: VANITY_PARENT, mail_server_id: ids[fleet.mail[0].name], mail_user: PROVIDER_USER, dns_user: PROVIDER_USER }] : [],
    reserved_names: RESERVED_NAMES,
  });
  if (g.status !== 201) throw new Error(`adding the server group: ${g.status} ${JSON.stringify(g.body)}`);
  return {
    groupId: g.body.id as number, ids, names: Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k])),
    web: of(fleet.web), mail: of(fleet.mail), dns: of(fleet.dns), combo: of(fleet.combo), pdns: pdnsId,
  };
}

// --- the Vanity invariant ----------------------------------------------------------------------

/** One line of a Hestia conf, as ordered key/value pairs (values unquoted). */
function parseConfLine(line: string): [string, string][] {
  const out: [string, string][] = [];
  const re = /([A-Z0-9_]+)='([^']*)'/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push([m[1]!, m[2]!]);
  return out;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * A fingerprint of everything the provider owns, blind only to what a vanity service may
 * legitimately change. `names` are the vanity names (labels) of the services in play; lines for
 * them are left out, and counters are taken net of them, so the fingerprint stays the same
 * whether a service's mailbox/record exists, is suspended or was removed.
 *
 * Per node (mail node and every Hestia DNS node), every file under data/users/provider/ and the
 * provider's package file, byte for byte, except:
 * - user.conf: U_MAIL_ACCOUNTS and U_DNS_RECORDS are counted net of the vanity mailboxes/records
 *   present (they move by exactly one per mailbox/record; any other change still shows).
 * - mail.conf: the sites.example.net line's ACCOUNTS, net of the vanity mailboxes likewise.
 * - mail/sites.example.net.conf: the lines ACCOUNT='<name>' of the vanity names.
 * - dns.conf: the sites.example.net line's SERIAL (bumped by Hestia on every record change: a
 *   record change is allowed) and RECORDS net of vanity records.
 * - dns/sites.example.net.conf: the lines RECORD='<name>' of the vanity names.
 * PowerDNS: the zone's rrsets, except those named exactly <name>.sites.example.net.; the SOA
 * content's serial field (PowerDNS bumps it on every change) and the zone's serial counters.
 */
export async function vanitySnapshot(fleet: EmulatedFleet, names: string[]): Promise<Record<string, string>> {
  const skip = new Set(names.map((n) => n.toLowerCase()));
  const out: Record<string, string> = {};
  const hestiaNodes = [...(fleet.mail[0] ? [fleet.mail[0]] : []), ...fleet.dns];
  for (const n of hestiaNodes) {
    const base = paths.user(n.dir, PROVIDER_USER);
    const files: string[] = [];
    const walk = (d: string) => { for (const e of fs.readdirSync(d)) { const p = path.join(d, e); if (fs.statSync(p).isDirectory()) walk(p); else files.push(p); } };
    if (fs.existsSync(base)) walk(base); else { out[`${n.name}:provider`] = 'missing'; continue; }
    files.push(paths.pkg(n.dir, PROVIDER_PACKAGE));
    const mailboxFile = path.join(base, 'mail', `${VANITY_PARENT}.conf`);
    const zoneFile = path.join(base, 'dns', `${VANITY_PARENT}.conf`);
    const countIn = (file: string, key: string) => fs.existsSync(file)
      ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => parseConfLine(l).some(([k, v]) => k === key && skip.has(v))).length : 0;
    const vanityMailboxes = countIn(mailboxFile, 'ACCOUNT');
    const vanityRecords = countIn(zoneFile, 'RECORD');
    for (const f of files.sort()) {
      const rel = `${n.name}:${path.relative(n.dir, f)}`;
      if (!fs.existsSync(f)) { out[rel] = 'missing'; continue; }
      let text = fs.readFileSync(f, 'utf8');
      const rewrite = (fn: (pairs: [string, string][]) => [string, string][] | null) => text.split('\n').map((l) => {
        const pairs = parseConfLine(l);
        if (pairs.length === 0) return l;
        const next = fn(pairs);
        return next === null ? null : next.map(([k, v]) => `${k}='${v}'`).join(' ');
      }).filter((l) => l !== null).join('\n');
      const net = (v: string, by: number) => String(Number(v) - by);
      if (f === paths.userConf(n.dir, PROVIDER_USER)) {
        // user.conf is one KEY='value' per line.
        text = text.split('\n').map((l) => {
          const m = /^(U_MAIL_ACCOUNTS|U_DNS_RECORDS)='(\d+)'$/.exec(l);
          if (!m) return l;
          return `${m[1]}='${net(m[2]!, m[1] === 'U_MAIL_ACCOUNTS' ? vanityMailboxes : vanityRecords)}'`;
        }).join('\n');
      } else if (f === path.join(base, 'mail.conf')) {
        text = rewrite((p) => p.some(([k, v]) => k === 'DOMAIN' && v === VANITY_PARENT) ? p.map(([k, v]) => [k, k === 'ACCOUNTS' ? net(v, vanityMailboxes) : v]) : p);
      } else if (f === mailboxFile) {
        text = rewrite((p) => p.some(([k, v]) => k === 'ACCOUNT' && skip.has(v)) ? null : p);
      } else if (f === path.join(base, 'dns.conf')) {
        text = rewrite((p) => p.some(([k, v]) => k === 'DOMAIN' && v === VANITY_PARENT)
          ? p.filter(([k]) => k !== 'SERIAL').map(([k, v]) => [k, k === 'RECORDS' ? net(v, vanityRecords) : v]) : p);
      } else if (f === zoneFile) {
        text = rewrite((p) => p.some(([k, v]) => k === 'RECORD' && skip.has(v)) ? null : p);
      }
      out[rel] = sha(text);
    }
  }
  if (fleet.pdns) {
    const z = await fleet.pdns.zone(VANITY_PARENT);
    if (!z) out['pdns:zone'] = 'missing';
    else {
      const own = new Set([...skip].map((n) => `${n}.${VANITY_PARENT}.`));
      for (const rr of [...z.rrsets].sort((a, b) => (a.name + a.type).localeCompare(b.name + b.type))) {
        if (own.has(rr.name)) continue;
        const records = rr.records.map((r) => ({ ...r, content: rr.type === 'SOA' ? r.content.split(' ').map((f, i) => (i === 2 ? 'SERIAL' : f)).join(' ') : r.content }))
          .sort((a, b) => a.content.localeCompare(b.content));
        out[`pdns:${rr.name}/${rr.type}`] = sha(JSON.stringify({ ttl: rr.ttl, records }));
      }
    }
  }
  return out;
}

// --- what each node holds ------------------------------------------------------------------------

export interface NodeSummary {
  users: string[];
  packages: string[];
  suspended: string[];
  /** user → web domains */
  web: Record<string, string[]>;
  /** user → mail domains */
  mail: Record<string, string[]>;
  /** "domain" → mailbox names */
  mailboxes: Record<string, string[]>;
  dkim: string[];
  /** user → zones */
  zones: Record<string, string[]>;
  /** zone → records as "name TYPE value" */
  records: Record<string, string[]>;
  state: NodeState;
}

const SYSTEM_USERS = new Set(['admin']);
const SYSTEM_PACKAGES = new Set(['default', 'system']);

/** What each node holds (admin and the stock packages left out), from the node's files. */
export function nodeSummary(fleet: EmulatedFleet): Record<string, NodeSummary> {
  const out: Record<string, NodeSummary> = {};
  for (const n of fleet.nodes) {
    const s = readNode(n.dir);
    const sum: NodeSummary = { users: [], packages: Object.keys(s.packages).filter((p) => !SYSTEM_PACKAGES.has(p)).sort(), suspended: [], web: {}, mail: {}, mailboxes: {}, dkim: [], zones: {}, records: {}, state: s };
    for (const [u, d] of Object.entries(s.users)) {
      if (SYSTEM_USERS.has(u)) continue;
      sum.users.push(u);
      if (d.suspended) sum.suspended.push(u);
      if (d.web.length) sum.web[u] = d.web.map((w) => w.DOMAIN!).sort();
      if (d.mail.length) sum.mail[u] = d.mail.map((m) => m.domain.DOMAIN!).sort();
      for (const m of d.mail) {
        sum.mailboxes[m.domain.DOMAIN!] = m.accounts.map((a) => a.ACCOUNT!).sort();
        if (m.dkim) sum.dkim.push(m.domain.DOMAIN!);
      }
      if (d.dns.length) sum.zones[u] = d.dns.map((z) => z.zone.DOMAIN!).sort();
      for (const z of d.dns) sum.records[z.zone.DOMAIN!] = z.records.map((r) => `${r.RECORD} ${r.TYPE} ${r.VALUE}`);
    }
    sum.users.sort();
    out[n.name] = sum;
  }
  return out;
}

/** Commands that ran on a node since a point in its log (for "no command ran" checks). */
export function commandsSince(node: EmulatedNode, from: number): CommandLogEntry[] {
  return readCommandLog(node.dir).slice(from);
}
