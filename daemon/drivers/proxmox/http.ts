// One HTTPS exchange with a Proxmox cluster, with failover between its endpoints. What may be
// sent again decides where a failure goes next:
// - the connection never came up (refused, unreachable, connect timeout): nothing was sent, so
//   any method moves on to the next endpoint, in order;
// - the connection broke after the request went out: a GET is sent again (once more to the same
//   endpoint when a kept-alive socket turned out closed, then to the next endpoint); anything
//   else is a RetryableError at once, as the server may have acted on it (the handler checks the
//   state first). Idle sockets are closed after 3 s (tls.ts) so that a write seldom meets a
//   socket the server has already dropped.
// A certificate that is not the pinned one stops everything (ProxmoxFingerprintError).
import https from 'node:https';
import { ProxmoxFingerprintError, ProxmoxRetryableError } from './errors.ts';
import type { HttpMethod, ProxmoxEndpoint } from './types.ts';

export interface Answer {
  status: number;
  statusMessage: string;
  body: string;
  ms: number;
  endpoint: ProxmoxEndpoint;
}

/** A failed attempt and how far it got. */
class AttemptFailure extends Error {
  constructor(readonly error: NodeJS.ErrnoException, readonly sent: boolean, readonly reused: boolean) {
    super(error.message);
  }
}

const MAX_BODY = 32 * 1024 * 1024;
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);

export class Transport {
  /** The endpoint that answered last: later calls start there. */
  private preferred = 0;

  constructor(
    readonly endpoints: readonly ProxmoxEndpoint[],
    private readonly agent: https.Agent,
    private readonly timeoutMs: number,
    private readonly log: (line: string) => void,
  ) {}

  async send(method: HttpMethod, path: string, body: string | undefined, headers: Record<string, string>, what: string): Promise<Answer> {
    const failures: string[] = [];
    const n = this.endpoints.length;
    for (let i = 0; i < n; i++) {
      const idx = (this.preferred + i) % n;
      const ep = this.endpoints[idx]!;
      for (let again = 0; ; again++) {
        try {
          const answer = await this.attempt(ep, method, path, body, headers);
          this.preferred = idx;
          return answer;
        } catch (err) {
          if (!(err instanceof AttemptFailure)) throw err;
          const code = err.error.code ?? '';
          const where = `${ep.host}:${ep.port}`;
          if (err.error instanceof ProxmoxFingerprintError) throw err.error;
          if (err.reused && STALE_SOCKET.has(code) && again === 0 && method === 'GET') continue;
          const reason = `${code ? code + ' ' : ''}${err.error.message}`.trim();
          failures.push(`${where}: ${reason}`);
          if (err.sent && method !== 'GET') {
            throw new ProxmoxRetryableError(`Proxmox ${what} on ${where}: the connection broke after the request was sent (${reason}); it may have been applied`, {
              status: null, proxmoxMessage: reason, call: what, cause: err.error,
            });
          }
          if (i < n - 1) this.log(`PVE ${what}: ${where} failed (${reason}); trying the next endpoint`);
          break;
        }
      }
    }
    throw new ProxmoxRetryableError(`Proxmox ${what}: no endpoint answered (${failures.join('; ')})`, {
      status: null, proxmoxMessage: failures.join('; '), call: what,
    });
  }

  private attempt(ep: ProxmoxEndpoint, method: HttpMethod, path: string, body: string | undefined, headers: Record<string, string>): Promise<Answer> {
    const started = Date.now();
    return new Promise<Answer>((resolve, reject) => {
      let sent = false;
      let reused = false;
      let settled = false;
      const fail = (err: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new AttemptFailure(err, sent, reused));
      };
      const req = https.request(
        {
          host: ep.host,
          port: ep.port,
          method,
          path,
          agent: this.agent,
          headers: { Accept: 'application/json', ...headers, ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) {
              req.destroy(Object.assign(new Error(`answer larger than ${MAX_BODY} bytes`), { code: 'E2BIG' }));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', body: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started, endpoint: ep });
          });
          res.on('error', fail);
          res.on('aborted', () => fail(Object.assign(new Error('the answer was cut off'), { code: 'ECONNRESET' })));
        },
      );
      // The agent hands over a socket only once its certificate matched the pin: from here on
      // the request is on the wire.
      req.on('socket', () => {
        sent = true;
        reused = req.reusedSocket;
      });
      req.on('error', fail);
      const timer = setTimeout(() => {
        req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, this.timeoutMs);
      req.end(body);
    });
  }
}
