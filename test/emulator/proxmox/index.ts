// The Proxmox VE API emulator: an HTTPS server that behaves like pveproxy in front of a small
// cluster (nodes, storages, VMs, tasks), following /work/shared/reference/proxmox.md sections 1–3.
// Tests and the demo start it with startProxmoxEmulator(); test/emulator/proxmox/cli.ts runs it alone.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Auth, privilegeFor } from './auth.ts';
import { backupRoutes } from './backups.ts';
import { cloneRoutes } from './clone.ts';
import { clusterRoutes } from './cluster.ts';
import { configRoutes } from './config.ts';
import type { Ctx } from './context.ts';
import { ApiError } from './errors.ts';
import { Faults } from './faults.ts';
import { firewallRoutes } from './firewall.ts';
import { formToParams, readBody, Reply, type Req, Router, sendData, sendError } from './http.ts';
import { lifecycleRoutes } from './lifecycle.ts';
import { validate } from './schema.ts';
import { Cluster, lockFileError, type VmState } from './state.ts';
import { taskRoutes } from './task-routes.ts';
import { restoreRoutes } from './restore.ts';
import { VncConsoles, type VncStats } from './vnc.ts';
import { firewallRuleRoutes } from './firewall-rules.ts';
import { isoRoutes } from './iso.ts';
import { Tasks } from './tasks.ts';
import { makeCertificate } from './tls.ts';
import type { EmulatedVm, FaultSpec, ProxmoxEmulatorOptions } from './types.ts';

export type { EmulatedVm, EmulatorNodeSpec, EmulatorStorageSpec, EmulatorTemplateSpec, FaultKind, FaultSpec, ProxmoxEmulatorOptions } from './types.ts';

export interface ProxmoxEmulator {
  /** 'https://127.0.0.1:<port>' */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** SHA-256 of the DER certificate, upper-case hex pairs joined by ':' (how Proxmox shows it). */
  readonly fingerprintSha256: string;
  readonly certPem: string;
  /** The first token. */
  readonly token: { id: string; secret: string };
  /** The first user's password. */
  readonly rootPassword: string;
  /** Every VM (templates included), keyed by vmid: the live objects. */
  vms(): Map<number, EmulatedVm>;
  /** Every request seen: method, path (without query), status (0 when no answer was sent). */
  readonly requests: Array<{ method: string; path: string; status: number }>;
  /** Faults, each consumed once per matching request (count times). */
  fault(f: FaultSpec): void;
  setLatency(ms: number): void;
  setNodeOnline(node: string, online: boolean): void;
  /** Leave a stale lock on a VM (as a crashed task would). */
  setLock(vmid: number, lock: string | null): void;
  /** The consoles: vncproxy calls, vncwebsocket upgrades accepted and refused, VNC logins (vnc.ts). */
  readonly vnc: VncStats;
  close(): Promise<void>;
}

const DEFAULT_NODES = [{ name: 'pve1' }, { name: 'pve2' }];
const DEFAULT_STORAGES = [
  { storage: 'local-lvm', type: 'lvmthin' as const, content: 'images,rootdir' },
  { storage: 'local', type: 'dir' as const, content: 'iso,vztmpl,backup' },
];
const DEFAULT_TEMPLATES = [{ vmid: 9000, node: 'pve1', name: 'debian-12-cloud', storage: 'local-lvm', diskGb: 2, cloudinit: true }];

export async function startProxmoxEmulator(opts: ProxmoxEmulatorOptions = {}): Promise<ProxmoxEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const tokens = opts.tokens?.length ? opts.tokens : [{ id: 'hostbridge@pve!deploy', secret: randomUUID() }];
  const users = opts.users?.length ? opts.users : [{ username: 'root@pam', password: randomUUID() }];
  const cluster = new Cluster(opts.nodes ?? DEFAULT_NODES, opts.storages ?? DEFAULT_STORAGES, opts.templates ?? DEFAULT_TEMPLATES);
  const tasks = new Tasks(opts.taskMs ?? {});
  const ctx: Ctx = { cluster, tasks, flockWaitMs: opts.flockWaitMs ?? 10_000, storageLockWaitMs: opts.storageLockWaitMs ?? 60_000 };
  const auth = new Auth(tokens, users);
  const faults = new Faults();
  const cert = makeCertificate(host);
  cluster.nodeFingerprint = cert.fingerprintSha256;
  let latency = opts.latencyMs ?? 0;
  const authFailDelay = opts.authFailDelayMs ?? 3000;
  const stallMs = opts.stallMs ?? 35_000;
  const requests: ProxmoxEmulator['requests'] = [];
  let closing = false;
  const timers = new Set<{ cancel(): void }>();

  // Waits that close() can cut short, so a stalled request does not hold the process.
  const wait = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(() => { timers.delete(h); resolve(); }, ms);
    const h = { cancel: () => { clearTimeout(t); resolve(); } };
    timers.add(h);
  });

  const router = new Router();
  clusterRoutes(router, ctx);
  taskRoutes(router, ctx);
  cloneRoutes(router, ctx);
  configRoutes(router, ctx);
  lifecycleRoutes(router, ctx);
  firewallRoutes(router, ctx);
  backupRoutes(router, ctx);
  restoreRoutes(router, ctx);
  const vnc = new VncConsoles(ctx, auth);
  vnc.routes(router);
  firewallRuleRoutes(router, ctx);
  isoRoutes(router, ctx);

  const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://emulator');
    const method = (req.method ?? 'GET').toUpperCase();
    const entry = { method, path: url.pathname, status: 0 };
    requests.push(entry);
    // A long-running demo keeps the most recent entries only.
    if (requests.length > 20_000) requests.splice(0, 5_000);
    const answer = (status: number) => { entry.status = status; };
    void (async () => {
      if (latency > 0) await wait(latency);
      const f = faults.take(method, url.pathname, ['refuse', 'stall', '500', '595', 'lock-timeout']);
      if (f?.kind === 'refuse') { req.socket.destroy(); return; }
      if (f?.kind === 'stall') { await wait(f.ms ?? stallMs); req.socket.destroy(); return; }
      if (f?.kind === '500') { answer(sendError(res, new ApiError(500, f.message ?? 'Internal Server Error'))); return; }
      if (f?.kind === '595') { answer(sendError(res, new ApiError(595, f.message ?? 'Connection refused'))); return; }
      if (f?.kind === 'lock-timeout') {
        const vmid = Number(/\/qemu\/(\d+)/.exec(url.pathname)?.[1] ?? 0);
        answer(sendError(res, f.message ? new ApiError(500, f.message) : lockFileError(vmid)));
        return;
      }
      try {
        const data = await dispatch(req, url, method);
        answer(data instanceof Reply ? sendData(res, data.data, data.extra) : sendData(res, data));
      } catch (e) {
        const err = e instanceof ApiError ? e : new ApiError(500, e instanceof Error ? e.message : String(e));
        if (err.status === 401 && authFailDelay > 0) await wait(authFailDelay);
        if (res.writableEnded || req.socket.destroyed) return;
        answer(sendError(res, err));
      }
    })().catch(() => { if (!res.headersSent) req.socket.destroy(); });
  });

  async function dispatch(req: import('node:http').IncomingMessage, url: URL, method: string): Promise<unknown> {
    const prefix = '/api2/json';
    if (!url.pathname.startsWith(`${prefix}/`) && url.pathname !== prefix) throw new ApiError(501, `Method '${method} ${url.pathname}' not implemented`);
    const path = url.pathname.slice(prefix.length) || '/';
    const query = formToParams(url.searchParams);
    const body = method === 'GET' || method === 'DELETE' ? {} : await readBody(req);
    // For GET and DELETE the query string is the only place for parameters.
    const params = { ...body, ...query };

    if (path === '/access/ticket' && method === 'POST') return ticket(params);

    const who = auth.identify(method, req.headers);
    const nodeMatch = /^\/nodes\/([^/]+)(\/|$)/.exec(path);
    if (nodeMatch) {
      const nodeName = decodeURIComponent(nodeMatch[1]!);
      const n = cluster.nodes.get(nodeName);
      if (!n && /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(nodeName)) {
        throw new ApiError(500, `hostname lookup '${nodeName}' failed - failed to get address info for: ${nodeName}: Name or service not known`);
      }
      // pveproxy forwards the call to that node: an unreachable node answers 595 after the connect fails.
      if (n && !n.online) throw new ApiError(595, 'No route to host');
    }
    const m = router.match(method, path);
    if (!m) throw new ApiError(501, `Method '${method} ${path}' not implemented`);
    if (who.readOnly && method !== 'GET') {
      const [acl, priv] = privilegeFor(method, path);
      throw new ApiError(403, `Permission check failed (${acl}, ${priv})`);
    }
    let taskFail: string | undefined | null = null;
    const r: Req = {
      method, path, params: { ...params, ...m.params }, who, upidUser: who.token ?? who.user,
      takeTaskFail: () => {
        if (taskFail !== null) return undefined;
        const f = faults.take(method, url.pathname, ['task-fail']);
        taskFail = f ? (f.message ?? 'unexpected status') : undefined;
        return taskFail;
      },
    };
    return m.handler(r);
  }

  function ticket(params: Record<string, unknown>): unknown {
    const p = validate({
      username: { type: 'string', maxLength: 64 }, password: { type: 'string' }, realm: { type: 'string', optional: true },
      otp: { type: 'string', optional: true }, path: { type: 'string', optional: true }, privs: { type: 'string', optional: true },
      'new-format': { type: 'boolean', optional: true }, 'tfa-challenge': { type: 'string', optional: true },
    }, params);
    let username = String(p.username);
    if (p.realm !== undefined && !username.includes('@')) username = `${username}@${p.realm}`;
    const user = auth.login(username, String(p.password));
    if (!user) throw new ApiError(401, 'authentication failure');
    const t = auth.issueTicket(user);
    return {
      username: user, ticket: t.ticket, CSRFPreventionToken: t.csrf, clustername: cluster.clusterName,
      cap: { vms: { 'VM.Allocate': 1, 'VM.Clone': 1, 'VM.Config.Disk': 1, 'VM.PowerMgmt': 1, 'VM.Audit': 1 }, nodes: { 'Sys.Audit': 1 }, storage: { 'Datastore.AllocateSpace': 1 }, access: {}, dc: {}, sdn: {} },
    };
  }

  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('tlsClientError', () => { /* clients that reject the certificate simply disconnect */ });
  // vncwebsocket: the one path pveproxy upgrades to a WebSocket (vnc.ts).
  server.on('upgrade', (req, socket, head) => {
    const entry = { method: 'GET', path: new URL(req.url ?? '/', 'https://emulator').pathname, status: 0 };
    requests.push(entry);
    entry.status = vnc.upgrade(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `https://${urlHost}:${port}`,
    host,
    port,
    fingerprintSha256: cert.fingerprintSha256,
    certPem: cert.certPem,
    token: { id: tokens[0]!.id, secret: tokens[0]!.secret },
    rootPassword: users[0]!.password,
    vms: () => cluster.vms as Map<number, VmState>,
    requests,
    fault: (f) => faults.add(f),
    setLatency: (ms) => { latency = Math.max(0, ms); },
    setNodeOnline: (node, online) => { cluster.node(node).online = online; },
    setLock: (vmid, lock) => {
      const vm = cluster.vms.get(vmid);
      if (!vm) throw new Error(`no VM ${vmid}`);
      vm.lock = lock;
    },
    vnc: vnc.stats,
    close: async () => {
      if (closing) return;
      closing = true;
      for (const t of [...timers]) t.cancel();
      vnc.close();
      await tasks.drain();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
