// A VM's console on the cluster (qemu-server's vncproxy and vncwebsocket): what vncproxy answers,
// checked, and the WebSocket to vncwebsocket opened on the endpoint that answered vncproxy (the
// proxy listens on that node's localhost only), through the client's pinned TLS agent and with the
// same authentication as every API call. The ticket travels in the query string: it is a secret of
// the client (masked), and no error here quotes the URL.
import type https from 'node:https';
import WebSocket from 'ws';
import { httpError, ProxmoxFingerprintError, ProxmoxRetryableError, ProxmoxTerminalError } from './errors.ts';
import type { ProxmoxEndpoint } from './types.ts';

/** POST vncproxy's answer: the VNC proxy waits about 10 s for its one connection. */
export interface VncProxy {
  user: string;
  /** `<password>:PVEVNC:…`, for vncwebsocket's vncticket. A secret. */
  ticket: string;
  /** The password inside the RFB stream (VNC authentication). A secret. */
  password: string;
  /** 5900–5999 on the node that answered. */
  port: number;
  upid: string;
  /** The endpoint that answered vncproxy: vncwebsocket must go there too. */
  endpoint: ProxmoxEndpoint;
}

/** The answer's fields, checked; anything else is a retryable "unexpected answer". */
export function vncProxyAnswer(data: unknown, what: string): Omit<VncProxy, 'endpoint'> {
  const o = (data && typeof data === 'object' && !Array.isArray(data) ? data : {}) as Record<string, unknown>;
  const port = typeof o.port === 'string' ? Number(o.port) : o.port;
  const bad = (field: string) => new ProxmoxRetryableError(`Proxmox ${what}: the answer has no valid ${field}`, { status: 200, proxmoxMessage: 'unexpected answer', call: what });
  if (typeof o.ticket !== 'string' || o.ticket === '') throw bad('ticket');
  // With websocket=1 Proxmox always generates the RFB password; without one the stream cannot be opened.
  if (typeof o.password !== 'string' || o.password === '') throw bad('password');
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 5900 || port > 5999) throw bad('port');
  if (typeof o.upid !== 'string' || !o.upid.startsWith('UPID:')) throw bad('upid');
  return { user: typeof o.user === 'string' ? o.user : '', ticket: o.ticket, password: o.password, port, upid: o.upid };
}

export interface VncSocketOptions {
  endpoint: ProxmoxEndpoint;
  agent: https.Agent;
  node: string;
  vmid: number;
  proxy: Pick<VncProxy, 'port' | 'ticket'>;
  /** The call's authentication (token header, or ticket cookie). */
  headers: Record<string, string>;
  timeoutMs: number;
}

/** Opens vncwebsocket; resolves once the upgrade succeeded (subprotocol "binary"), with the RFB stream in binary messages. */
export function openVncWebSocket(o: VncSocketOptions): Promise<WebSocket> {
  const what = `GET /nodes/${o.node}/qemu/${o.vmid}/vncwebsocket`;
  const host = o.endpoint.host.includes(':') ? `[${o.endpoint.host}]` : o.endpoint.host;
  const url = `wss://${host}:${o.endpoint.port}/api2/json/nodes/${encodeURIComponent(o.node)}/qemu/${o.vmid}/vncwebsocket`
    + `?port=${o.proxy.port}&vncticket=${encodeURIComponent(o.proxy.ticket)}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      ws.terminate();
      reject(err);
    };
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, ['binary'], {
        agent: o.agent,
        headers: o.headers,
        handshakeTimeout: o.timeoutMs,
        perMessageDeflate: false,
        maxPayload: 16 * 1024 * 1024,
        followRedirects: false,
      });
    } catch {
      // ws quotes the whole URL (the ticket with it) when it cannot parse one.
      reject(new ProxmoxTerminalError(`Proxmox ${what}: the endpoint ${o.endpoint.host}:${o.endpoint.port} makes no valid URL`, { status: null, proxmoxMessage: 'bad URL', call: what }));
      return;
    }
    ws.binaryType = 'nodebuffer';
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { if (body.length < 4096) body += c; });
      res.on('end', () => {
        let message = res.statusMessage ?? '';
        try {
          const j = JSON.parse(body) as { message?: unknown };
          if (typeof j.message === 'string' && j.message.trim() !== '') message = j.message.trim();
        } catch { /* the status line says it */ }
        fail(httpError(res.statusCode ?? 0, message, {}, what));
      });
      res.on('error', () => fail(httpError(res.statusCode ?? 0, res.statusMessage ?? 'the answer was cut off', {}, what)));
    });
    ws.once('open', () => {
      if (ws.protocol !== 'binary') {
        fail(new ProxmoxTerminalError(`Proxmox ${what}: the server chose the subprotocol "${ws.protocol}", not binary`, { status: 101, proxmoxMessage: 'subprotocol', call: what }));
        return;
      }
      settled = true;
      resolve(ws);
    });
    ws.once('error', (err: Error & { code?: string }) => {
      if (err instanceof ProxmoxFingerprintError) { fail(err); return; }
      // ws's messages name no URL; the code says what the network did.
      fail(new ProxmoxRetryableError(`Proxmox ${what} on ${o.endpoint.host}:${o.endpoint.port}: ${err.code ? err.code + ' ' : ''}${err.message}`, { status: null, proxmoxMessage: err.message, call: what, cause: err }));
    });
  });
}
