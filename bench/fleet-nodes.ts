// The emulated fleet of bench:fleet, in a process of its own so the bench's figures are the
// daemon's: HestiaCP emulator nodes behind in-process SSH servers and the real pdns_server behind
// its timing proxy (test/helpers/fleet.ts), each group's vanity parent prepared as a provider would.
//
// Started by bench/fleet.ts with one JSON argument, the spec:
//   { "web": n, "mail": n, "dns": n, "combo": n, "dir": "...",
//     "vanity": [{ "domain": "sites1.example.net", "mail": "mail1", "dns": ["ns1", "ns6"] }, ...] }
// Once up it prints one JSON line on stdout (nodes with ports, root passwords and host-key
// fingerprints for the bench to register; the PowerDNS proxy; its control port) and answers on a
// loopback HTTP control port:
//   POST /latency?ms=N  injected latency per SSH command and per PowerDNS call
//   POST /mark          remember where each command log ends (the burst starts after it)
//   GET  /report        per node since the mark: commands and their busy time
//                       (endedAt − startedAt + injected latency), PowerDNS calls and their time,
//                       and what each node holds with any duplicate in it
// It exits when its stdin closes (the bench ended, however it ended).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readNode, runHestia } from '../test/emulator/hestia/index.ts';
import { PROVIDER_USER, PROVIDER_SITE_IP, NAMESERVERS, startEmulatedFleet, writeProviderPackage } from '../test/helpers/fleet.ts';

interface Spec {
  web: number; mail: number; dns: number; combo: number; dir: string;
  vanity: Array<{ domain: string; mail: string; dns: string[] }>;
}

const spec = JSON.parse(process.argv[2] ?? '') as Spec;
fs.mkdirSync(spec.dir, { recursive: true });
const fleet = await startEmulatedFleet({ web: spec.web, mail: spec.mail, dns: spec.dns, combo: spec.combo, pdns: true, latencyMs: 0, dir: spec.dir });

function must(r: { code: number; stdout: string; stderr: string }, what: string): void {
  if (r.code !== 0) throw new Error(`fleet set-up: ${what} failed (exit ${r.code}): ${r.stdout}${r.stderr}`);
}

// Each group's vanity parent: the provider's mail domain on the group's vanity mail node, its zone
// on the group's HestiaCP DNS nodes and in PowerDNS. startEmulatedFleet already made the provider
// user on the first mail node and on every DNS node.
const hasProvider = (dir: string) => fs.existsSync(`${dir}/data/users/${PROVIDER_USER}/user.conf`);
for (const v of spec.vanity) {
  const mail = fleet.node(v.mail);
  if (!hasProvider(mail.dir)) writeProviderPackage(mail.dir);
  must(runHestia(mail.dir, 'v-add-mail-domain', [PROVIDER_USER, v.domain]), `v-add-mail-domain ${v.domain} on ${mail.name}`);
  for (const name of v.dns) {
    const n = fleet.node(name);
    if (!hasProvider(n.dir)) writeProviderPackage(n.dir);
    must(runHestia(n.dir, 'v-add-dns-domain', [PROVIDER_USER, v.domain, PROVIDER_SITE_IP, ...NAMESERVERS]), `v-add-dns-domain ${v.domain} on ${n.name}`);
  }
  const pdns = fleet.pdns!.server;
  const res = await fetch(`${pdns.url}/api/v1/servers/localhost/zones`, {
    method: 'POST', headers: { 'X-API-Key': pdns.apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: `${v.domain}.`, kind: 'Native', nameservers: NAMESERVERS.map((n) => `${n}.`),
      rrsets: [{ name: `${v.domain}.`, type: 'A', ttl: 3600, records: [{ content: PROVIDER_SITE_IP, disabled: false }] }],
    }),
  });
  if (res.status !== 201) throw new Error(`fleet set-up: PowerDNS zone ${v.domain}: ${res.status} ${await res.text()}`);
}

let latencyMs = 0;
let mark: { logs: Record<string, number>; pdns: number; at: number } = { logs: {}, pdns: 0, at: Date.now() };

function duplicates(list: string[]): string[] {
  const seen = new Map<string, number>();
  for (const x of list) seen.set(x, (seen.get(x) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([x, n]) => `${x} ×${n}`);
}

/** What each node holds (besides admin and the provider), and every duplicate found: within a node, and a web/mail domain on two nodes. */
function holdings(): { totals: Record<string, number>; duplicates: string[] } {
  const dups: string[] = [];
  const totals = { users: 0, web_domains: 0, mail_domains: 0, mailboxes: 0, zones: 0, records: 0 };
  const webWhere: string[] = [];
  const mailWhere: string[] = [];
  for (const n of fleet.nodes) {
    const s = readNode(n.dir);
    const own = Object.entries(s.users).filter(([u]) => u !== 'admin' && u !== PROVIDER_USER);
    const web = own.flatMap(([, d]) => d.web.map((w) => w.DOMAIN!));
    const mail = Object.values(s.users).flatMap((d) => d.mail.map((m) => m.domain.DOMAIN!));
    const zones = Object.values(s.users).flatMap((d) => d.dns.map((z) => z.zone.DOMAIN!));
    const found = [
      ...duplicates(s.passwd).map((x) => `system user ${x}`),
      ...duplicates(web).map((x) => `web domain ${x}`),
      ...duplicates(mail).map((x) => `mail domain ${x}`),
      ...duplicates(zones).map((x) => `zone ${x}`),
    ];
    for (const d of Object.values(s.users)) {
      for (const m of d.mail) found.push(...duplicates(m.accounts.map((a) => a.ACCOUNT!)).map((x) => `mailbox ${x}@${m.domain.DOMAIN}`));
      for (const z of d.dns) found.push(...duplicates(z.records.map((r) => `${r.RECORD} ${r.TYPE} ${r.VALUE}`)).map((x) => `record ${x} in ${z.zone.DOMAIN}`));
    }
    dups.push(...found.map((f) => `${n.name}: ${f}`));
    totals.users += own.length;
    totals.web_domains += web.length;
    totals.mail_domains += own.reduce((k, [, d]) => k + d.mail.length, 0);
    totals.mailboxes += Object.values(s.users).reduce((k, d) => k + d.mail.reduce((j, m) => j + m.accounts.length, 0), 0);
    totals.zones += own.reduce((k, [, d]) => k + d.dns.length, 0);
    totals.records += Object.values(s.users).reduce((k, d) => k + d.dns.reduce((j, z) => j + z.records.length, 0), 0);
    webWhere.push(...new Set(web));
    mailWhere.push(...new Set(own.flatMap(([, d]) => d.mail.map((m) => m.domain.DOMAIN!))));
  }
  dups.push(...duplicates(webWhere).map((x) => `web domain ${x} on several nodes`), ...duplicates(mailWhere).map((x) => `mail domain ${x} on several nodes`));
  return { totals, duplicates: dups };
}

/**
 * Where PowerDNS (the busiest server) waited between the mark and its last call, in 10 s windows:
 * a makespan above the bound is this idle time plus what ran after its last call.
 */
function idleOf(calls: Array<{ startedAt: number; endedAt: number }>, from: number): { first_ms: number; gaps_ms: number; windows: number[] } {
  if (!calls.length) return { first_ms: 0, gaps_ms: 0, windows: [] };
  const sorted = [...calls].sort((a, b) => a.startedAt - b.startedAt);
  const windows: number[] = [];
  const addIdle = (a: number, b: number) => {
    for (let t = a; t < b;) {
      const w = Math.floor((t - from) / 10_000);
      const end = Math.min(b, from + (w + 1) * 10_000);
      windows[w] = (windows[w] ?? 0) + (end - t);
      t = end;
    }
  };
  addIdle(from, sorted[0]!.startedAt);
  let gaps = 0;
  let busyUntil = sorted[0]!.endedAt;
  for (const c of sorted.slice(1)) {
    if (c.startedAt > busyUntil) {
      gaps += c.startedAt - busyUntil;
      addIdle(busyUntil, c.startedAt);
    }
    busyUntil = Math.max(busyUntil, c.endedAt);
  }
  return { first_ms: sorted[0]!.startedAt - from, gaps_ms: gaps, windows: Array.from(windows, (x) => Math.round(x ?? 0)) };
}

async function report(): Promise<unknown> {
  const nodes: Record<string, { commands: number; busy_ms: number; not_run: number }> = {};
  for (const n of fleet.nodes) {
    const entries = n.ssh.commandLog().slice(mark.logs[n.name] ?? 0);
    let busy = 0;
    let notRun = 0;
    for (const e of entries) {
      busy += Date.parse(e.endedAt) - Date.parse(e.startedAt) + latencyMs;
      if (!e.ran) notRun++;
    }
    nodes[n.name] = { commands: entries.length, busy_ms: busy, not_run: notRun };
  }
  const calls = fleet.pdns!.calls().slice(mark.pdns);
  const pdnsZones = await fleet.pdns!.zones();
  return {
    latency_ms: latencyMs, nodes,
    pdns: {
      calls: calls.length, busy_ms: calls.reduce((s, c) => s + (c.endedAt - c.startedAt), 0), errors: calls.filter((c) => c.status >= 400).length,
      // By method and path with the zone's name taken out: which calls make PowerDNS the busiest.
      kinds: calls.reduce<Record<string, number>>((m, c) => {
        const k = `${c.method} ${c.path.replace(/\/zones\/[^/?]+/, '/zones/<zone>').replace(/^\/api\/v1\/servers\/localhost/, '')} ${c.status}`;
        m[k] = (m[k] ?? 0) + 1;
        return m;
      }, {}),
      zones: pdnsZones.length, duplicate_zones: duplicates(pdnsZones), idle: idleOf(calls, mark.at),
    },
    ...holdings(),
  };
}

const control = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const answer = (status: number, body: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
  void (async () => {
    if (req.method === 'POST' && url.pathname === '/latency') {
      const ms = Number(url.searchParams.get('ms'));
      if (!Number.isFinite(ms) || ms < 0) return answer(400, { error: `latency must be a number of milliseconds, got ${url.searchParams.get('ms')}` });
      latencyMs = ms;
      fleet.setLatency(ms);
      return answer(200, { latency_ms: ms });
    }
    if (req.method === 'POST' && url.pathname === '/mark') {
      mark = { logs: Object.fromEntries(fleet.nodes.map((n) => [n.name, n.ssh.commandLog().length])), pdns: fleet.pdns!.calls().length, at: Date.now() };
      return answer(200, mark);
    }
    if (req.method === 'GET' && url.pathname === '/report') return answer(200, await report());
    answer(404, { error: `no ${req.method} ${url.pathname}` });
  })().catch((e: unknown) => answer(500, { error: String((e as Error).stack ?? e) }));
});
await new Promise<void>((r) => control.listen(0, '127.0.0.1', () => r()));

const shutdown = async () => {
  control.close();
  await fleet.close().catch(() => {});
  process.exit(0);
};
process.stdin.on('end', () => void shutdown());
process.stdin.on('close', () => void shutdown());
process.stdin.resume();
process.on('SIGTERM', () => void shutdown());

process.stdout.write(JSON.stringify({
  control: (control.address() as AddressInfo).port,
  nodes: fleet.nodes.map((n) => ({ name: n.name, kind: n.kind, roles: n.roles, host: n.ssh.host, ip: n.ip, port: n.port, password: n.password, host_key_sha256: n.ssh.hostKeySha256 })),
  pdns: { port: fleet.pdns!.port, api_key: fleet.pdns!.apiKey },
}) + '\n');
