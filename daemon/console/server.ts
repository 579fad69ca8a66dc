// The console's own public listener (HOSTBRIDGE_CONSOLE_LISTEN), apart from the signed API:
//   GET /console/                 the page (page.ts), with its script and style sheet
//   GET /console/novnc/core|vendor/…  noVNC's modules, read-only (static.ts)
//   GET /console/ws?t=<token>     the WebSocket: the link is taken at the upgrade (403 when it is
//                                 used, expired or unknown), then session.ts proxies the VM's console
// It speaks plain HTTP: in production a TLS proxy in front of it serves the public URL
// (HOSTBRIDGE_CONSOLE_URL). No request URL is logged: the WebSocket's carries the token.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { consumeConsoleLink, refusalText } from './links.ts';
import { PAGE_CSP, PAGE_CSS, PAGE_HTML, PAGE_JS } from './page.ts';
import { runConsoleSession, type SessionDeps } from './session.ts';
import { NoVncFiles } from './static.ts';

export interface ConsoleServerOptions {
  host: string;
  port: number;
  /** The public base URL the links name; null: this listener's own address. */
  publicUrl: string | null;
  /** Written into the link's used_by. */
  daemonId: string;
  deps: SessionDeps;
  /** Sessions at once on this daemon (default 200); more are refused with 503. */
  maxSessions?: number;
}

export interface ConsoleServer {
  server: http.Server;
  /** The base the links use: `<url>/console/#t=…`. */
  url: string;
  /** Sessions open now. */
  sessions(): number;
  close(): Promise<void>;
}

const COMMON_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cross-origin-resource-policy': 'same-origin' };

function refuseUpgrade(socket: Duplex, status: number, reason: string, text: string): void {
  if (socket.destroyed) return;
  const body = `${text}\n`;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
    + `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`);
}

export async function startConsoleServer(o: ConsoleServerOptions): Promise<ConsoleServer> {
  const files = new NoVncFiles();
  const log = o.deps.logger;
  const max = o.maxSessions ?? 200;
  let open = 0;
  const wss = new WebSocketServer({
    noServer: true, maxPayload: 1 << 20, perMessageDeflate: false, clientTracking: true,
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  });

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://console').pathname;
    const send = (status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
      res.writeHead(status, { ...COMMON_HEADERS, 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') { send(405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' }); return; }
    if (path === '/console') { send(301, 'text/plain; charset=utf-8', 'console/\n', { location: 'console/' }); return; }
    if (path === '/console/') { send(200, 'text/html; charset=utf-8', PAGE_HTML, { 'content-security-policy': PAGE_CSP, 'cache-control': 'no-store' }); return; }
    if (path === '/console/console.js') { send(200, 'text/javascript; charset=utf-8', PAGE_JS, { 'cache-control': 'no-cache' }); return; }
    if (path === '/console/console.css') { send(200, 'text/css; charset=utf-8', PAGE_CSS, { 'cache-control': 'no-cache' }); return; }
    if (path.startsWith('/console/novnc/')) {
      const body = files.get(path.slice('/console/novnc/'.length));
      if (body) { send(200, 'text/javascript; charset=utf-8', body, { 'cache-control': 'public, max-age=3600' }); return; }
    }
    send(404, 'text/plain; charset=utf-8', 'not found\n');
  });

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => { /* the browser went away */ });
    const url = new URL(req.url ?? '/', 'http://console');
    if (url.pathname !== '/console/ws') { refuseUpgrade(socket, 404, 'Not Found', 'not found'); return; }
    // Checked before the link is taken, so a malformed handshake does not use it up.
    if (req.method !== 'GET' || String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket'
      || !/^[A-Za-z0-9+/]{22}==$/.test(String(req.headers['sec-websocket-key'] ?? '')) || req.headers['sec-websocket-version'] !== '13') {
      refuseUpgrade(socket, 400, 'Bad Request', 'a WebSocket handshake was expected');
      return;
    }
    if (open >= max) { refuseUpgrade(socket, 503, 'Service Unavailable', 'too many console sessions at once; try again in a minute'); return; }
    consumeConsoleLink(o.deps.db, url.searchParams.get('t') ?? '', o.daemonId).then((r) => {
      if (!r.ok) {
        log.info(`console: a link was refused at the upgrade (${r.reason})`);
        refuseUpgrade(socket, 403, 'Forbidden', refusalText(r.reason));
        return;
      }
      if (socket.destroyed) { log.info('console: the browser left before its link was taken'); return; }
      wss.handleUpgrade(req, socket, head, (ws) => {
        open++;
        runConsoleSession(o.deps, ws, r)
          .catch((err) => { log.warn(`console: session ended with an error: ${(err as Error).message}`); ws.terminate(); })
          .finally(() => { open--; });
      });
    }, (err) => {
      log.warn(`console: could not check a link: ${(err as Error).message}`);
      refuseUpgrade(socket, 503, 'Service Unavailable', 'the console is unavailable right now; try again in a minute');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const url = (o.publicUrl ?? `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`).replace(/\/+$/, '');
  return {
    server, url,
    sessions: () => open,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}
