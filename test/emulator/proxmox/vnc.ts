// A VM's console as qemu-server offers it (API2/Qemu.pm vncproxy and vncwebsocket):
// - POST /nodes/{node}/qemu/{vmid}/vncproxy forks a 'vncproxy' task that listens on a free port
//   5900–5999 for one connection within 10 s ("connection timed out" otherwise) and ends when that
//   connection closes; it answers the user, a ticket "<password>:PVEVNC:<time>::<signature>" bound to
//   user, /vms/{vmid} and the port, the VNC password (8 printable characters), the port and the UPID;
// - GET /nodes/{node}/qemu/{vmid}/vncwebsocket?port=&vncticket= authenticates like any API call
//   (token header or ticket cookie), checks the ticket (40 s) for that user, path and port, and is
//   upgraded to a WebSocket (subprotocol "binary") carrying the VM's RFB stream (rfb.ts). A port
//   takes one connection, as the task's listening socket is closed after its accept.
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Auth, Identity } from './auth.ts';
import { fork, type Ctx } from './context.ts';
import { ApiError, TaskFailure } from './errors.ts';
import type { Router } from './http.ts';
import { serveRfb } from './rfb.ts';
import { NODE, opt, validate, VMID } from './schema.ts';

/** What tests read: the console connections the emulator took and refused, and the VNC logins. */
export interface VncStats {
  /** vncproxy calls answered. */
  proxies: number;
  /** vncwebsocket upgrades accepted. */
  accepted: number;
  /** vncwebsocket upgrades refused, each with its status and message. */
  refused: Array<{ status: number; message: string }>;
  /** VNC authentications with the right password, and with a wrong one. */
  authOk: number;
  authFailed: number;
  /** Connections open now. */
  open: number;
  /** Every ticket and password vncproxy handed out: what tests look for in places they must never reach. */
  issued: Array<{ port: number; ticket: string; password: string }>;
  /** How long a vncproxy task waits for its connection (10 s, as qemu-server); tests may shorten it. */
  connectTimeoutMs: number;
}

const TICKET_MIN_AGE_S = -20;
const TICKET_MAX_AGE_S = 40;

interface Proxy {
  port: number; node: string; vmid: number; user: string; password: string;
  state: 'waiting' | 'connected' | 'closed';
  attach(ws: WebSocket): void;
}

/** PVE::Ticket::generate_vnc_password: 8 characters from '!' to '~'. */
function vncPassword(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += String.fromCharCode(33 + randomInt(94));
  return s;
}

export class VncConsoles {
  readonly stats: VncStats = { proxies: 0, accepted: 0, refused: [], authOk: 0, authFailed: 0, open: 0, issued: [], connectTimeoutMs: 10_000 };
  private readonly key = randomBytes(32);
  private readonly byPort = new Map<number, Proxy>();
  private readonly sockets = new Set<WebSocket>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: 1 << 20,
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  });

  constructor(private readonly ctx: Ctx, private readonly auth: Auth) {}

  private sign(user: string, vmid: number, port: number, ts: string): string {
    return createHmac('sha256', this.key).update(`PVEVNC:${ts}:${user}:/vms/${vmid}:${port}`).digest('base64');
  }

  /** PVE::AccessControl::verify_vnc_ticket: the password prefix, then a signed ticket for user, path and port. */
  private verifyTicket(ticket: string, user: string, vmid: number, port: number): boolean {
    const m = /^.{8}:PVEVNC:([0-9A-F]{8})::(.+)$/s.exec(ticket);
    if (!m) return false;
    const want = Buffer.from(this.sign(user, vmid, port, m[1]!));
    const got = Buffer.from(m[2]!);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return false;
    const age = Math.floor(Date.now() / 1000) - parseInt(m[1]!, 16);
    return age >= TICKET_MIN_AGE_S && age <= TICKET_MAX_AGE_S;
  }

  private freePort(): number {
    for (let p = 5900; p <= 5999; p++) if (!this.byPort.has(p)) return p;
    throw new ApiError(500, 'unable to find free port (5900-5999)');
  }

  routes(r: Router): void {
    r.add('POST', '/nodes/{node}/qemu/{vmid}/vncproxy', (req) => {
      const p = validate({ node: NODE, vmid: VMID, websocket: opt({ type: 'boolean' }), 'generate-password': opt({ type: 'boolean' }) }, req.params);
      const node = String(p.node);
      const vmid = Number(p.vmid);
      const vm = this.ctx.cluster.vm(node, vmid);
      const port = this.freePort();
      const password = vncPassword();
      const user = req.upidUser;
      let connected!: (ws: WebSocket) => void;
      const connection = new Promise<WebSocket>((resolve) => { connected = resolve; });
      const proxy: Proxy = {
        port, node, vmid, user, password, state: 'waiting',
        attach: (ws) => { proxy.state = 'connected'; connected(ws); },
      };
      this.byPort.set(port, proxy);
      const upid = fork(this.ctx, req, node, 'vncproxy', vmid, async (t) => {
        const signal = t.task.abort.signal;
        t.log(`starting vnc proxy ${t.task.upid}`);
        try {
          const ws = await new Promise<WebSocket>((resolve, reject) => {
            const timer = setTimeout(() => reject(new TaskFailure('connection timed out')), this.stats.connectTimeoutMs);
            const onAbort = () => { clearTimeout(timer); reject(new TaskFailure('interrupted by signal')); };
            signal.addEventListener('abort', onAbort, { once: true });
            void connection.then((w) => { clearTimeout(timer); signal.removeEventListener('abort', onAbort); resolve(w); });
          });
          // qm vncproxy: QEMU's VNC socket exists only while the VM runs.
          if (vm.status !== 'running') { ws.close(); throw new TaskFailure(`VM ${vmid} not running`); }
          this.stats.open++;
          await new Promise<void>((resolve) => {
            const onAbort = () => ws.terminate();
            signal.addEventListener('abort', onAbort, { once: true });
            ws.once('close', () => { signal.removeEventListener('abort', onAbort); this.stats.open--; resolve(); });
            serveRfb(ws, {
              password, name: String(vm.config.name ?? `VM ${vmid}`),
              onAuth: (ok) => { if (ok) this.stats.authOk++; else this.stats.authFailed++; },
            });
          });
        } finally {
          proxy.state = 'closed';
          this.byPort.delete(port);
        }
      });
      this.stats.proxies++;
      const tsHex = Math.floor(Date.now() / 1000).toString(16).toUpperCase().padStart(8, '0');
      const ticket = `${password}:PVEVNC:${tsHex}::${this.sign(user, vmid, port, tsHex)}`;
      this.stats.issued.push({ port, ticket, password });
      return { user, ticket, password, port, upid, cert: '-----BEGIN CERTIFICATE-----\n(emulated)\n-----END CERTIFICATE-----\n' };
    });

    // The same call without an Upgrade header: pveproxy runs the method, which only checks the ticket.
    r.add('GET', '/nodes/{node}/qemu/{vmid}/vncwebsocket', (req) => {
      const p = this.checkParams(req.params);
      this.checkTicket(req.who, p.vmid, p.port, p.vncticket);
      this.ctx.cluster.vm(p.node, p.vmid);
      return { port: String(p.port) };
    });
  }

  private checkParams(params: Record<string, unknown>): { node: string; vmid: number; port: number; vncticket: string } {
    const p = validate({ node: NODE, vmid: VMID, port: { type: 'integer', min: 5900, max: 5999 }, vncticket: { type: 'string', maxLength: 512 } }, params);
    return { node: String(p.node), vmid: Number(p.vmid), port: Number(p.port), vncticket: String(p.vncticket) };
  }

  private checkTicket(who: Identity, vmid: number, port: number, ticket: string): void {
    if (who.readOnly) throw new ApiError(403, `Permission check failed (/vms/${vmid}, VM.Console)`);
    if (!this.verifyTicket(ticket, who.token ?? who.user, vmid, port)) throw new ApiError(401, 'permission denied - invalid vnc ticket');
  }

  /**
   * An HTTP upgrade on the emulator's server. Answers the status it sent (101 when the socket was
   * handed to the VM's VNC server).
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): number {
    try {
      const url = new URL(req.url ?? '/', 'https://emulator');
      const m = /^\/api2\/json\/nodes\/([^/]+)\/qemu\/([^/]+)\/vncwebsocket\/?$/.exec(url.pathname);
      if (!m) throw new ApiError(501, `Method 'GET ${url.pathname}' not implemented`);
      if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') throw new ApiError(400, 'unsupported upgrade');
      const who = this.auth.identify('GET', req.headers);
      const query: Record<string, unknown> = {};
      for (const [k, v] of url.searchParams) query[k] = v;
      const p = this.checkParams({ ...query, node: decodeURIComponent(m[1]!), vmid: decodeURIComponent(m[2]!) });
      const n = this.ctx.cluster.nodes.get(p.node);
      if (n && !n.online) throw new ApiError(595, 'No route to host');
      this.checkTicket(who, p.vmid, p.port, p.vncticket);
      this.ctx.cluster.vm(p.node, p.vmid);
      const wanted = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
      if (!wanted.includes('binary')) throw new ApiError(400, `unsupported websocket-protocol protocol '${wanted.join(', ')}'`);
      const proxy = this.byPort.get(p.port);
      // Nothing listens on the port any more (used, timed out) or it is another VM's.
      if (!proxy || proxy.state !== 'waiting' || proxy.vmid !== p.vmid || proxy.node !== p.node) {
        throw new ApiError(500, 'proxy connection failed - Connection refused');
      }
      proxy.state = 'connected';
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.stats.accepted++;
        this.sockets.add(ws);
        ws.once('close', () => this.sockets.delete(ws));
        proxy.attach(ws);
      });
      return 101;
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, e instanceof Error ? e.message : String(e));
      this.stats.refused.push({ status: err.status, message: err.message });
      const body = JSON.stringify({ data: null, message: `${err.message}\n` });
      const reason = err.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
      socket.end(`HTTP/1.1 ${err.status} ${reason}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return err.status;
    }
  }

  close(): void {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
  }
}
