// GET /metrics over HTTP: on the daemon's own listener only with a bearer token, or on a listener of
// its own (HOSTBRIDGE_METRICS_LISTEN, e.g. 127.0.0.1:9464, for a scraper on the same host or network),
// with the token too when one is set. With neither configured, the main listener says how to turn
// metrics on and serves nothing: the queue's figures are not for whoever can reach the API port.
import crypto from 'node:crypto';
import http from 'node:http';
import type { DaemonMetrics } from './metrics.ts';

export type MetricsHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface MetricsAccess {
  token: string | null;
  listen: { host: string; port: number } | null;
}

function text(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(`${body}\n`);
}

/** Compares in constant time: both sides are hashed first, so neither the length nor a prefix leaks. */
function tokenMatches(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/** Serves the scrape, after the bearer token when there is one. */
export function metricsHandler(metrics: DaemonMetrics, token: string | null): MetricsHandler {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'metrics are read with GET', { allow: 'GET, HEAD' });
    if (token !== null) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      if (!m || !tokenMatches(m[1]!, token)) {
        return text(res, 401, 'metrics need a bearer token: send "Authorization: Bearer <HOSTBRIDGE_METRICS_TOKEN>"', { 'www-authenticate': 'Bearer realm="hostbridge metrics"' });
      }
    }
    metrics.scrape().then(
      (body) => {
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => text(res, 500, 'metrics could not be collected; see the daemon log'),
    );
  };
}

/** What GET /metrics on the daemon's main listener does under the configuration given. */
export function publicMetricsHandler(metrics: DaemonMetrics, access: MetricsAccess): MetricsHandler {
  if (access.listen) {
    const where = `${access.listen.host}:${access.listen.port}`;
    return (_req, res) => text(res, 404, `metrics are served on their own listener (HOSTBRIDGE_METRICS_LISTEN=${where}), not on this one`);
  }
  if (access.token !== null) return metricsHandler(metrics, access.token);
  return (_req, res) => text(res, 404, 'metrics are off: set HOSTBRIDGE_METRICS_TOKEN (a bearer token) or HOSTBRIDGE_METRICS_LISTEN (an address of their own), see docs/metrics.md');
}

/** The metrics' own listener: GET /metrics and nothing else. */
export function listenMetrics(metrics: DaemonMetrics, access: MetricsAccess & { listen: { host: string; port: number } }): Promise<http.Server> {
  const handler = metricsHandler(metrics, access.token);
  const server = http.createServer((req, res) => {
    // The path alone, without parsing: a malformed request line must not throw in here.
    if ((req.url ?? '').split('?')[0] === '/metrics') return handler(req, res);
    text(res, 404, 'this listener serves GET /metrics only');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(access.listen.port, access.listen.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
