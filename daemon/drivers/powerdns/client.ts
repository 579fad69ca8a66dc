// PowerDNS Authoritative HTTP API client (reference §6). Errors are classified for the task
// engine: 5xx, timeouts and refused connections are retried; 401 and 422 are terminal. A zone
// that already exists (409) or is missing (404) gets its own error class so the task can
// check the state before accepting it. The API key is masked in every log line and error.
import { RetryableError, TerminalError } from '../../common/errors.ts';
import { Masker, globalMasker } from '../../log/mask.ts';

export interface PowerDnsServer {
  /** e.g. http://127.0.0.1:8081 (the API lives under /api/v1/servers/<serverId>). */
  url: string;
  apiKey: string;
  /** Default `localhost`, the only id an authoritative server has. */
  serverId?: string;
  timeoutMs?: number;
}

export interface PowerDnsIO {
  log?(line: string): void;
  secret?(value: string | null | undefined): void;
  signal?: AbortSignal;
}

export type ZoneKind = 'Native' | 'Master';

export interface RecordContent {
  content: string;
  disabled?: boolean;
}

export interface RRSet {
  name: string;
  type: string;
  ttl?: number;
  records: RecordContent[];
  comments?: unknown[];
}

export interface RRSetChange {
  name: string;
  type: string;
  changetype: 'REPLACE' | 'DELETE';
  ttl?: number;
  records?: RecordContent[];
}

export interface Zone {
  id: string;
  name: string;
  kind: string;
  serial: number;
  rrsets?: RRSet[];
  [key: string]: unknown;
}

/** A failed API call: carries the HTTP status and the server's message. */
export interface PowerDnsErrorInfo {
  status: number | null;
  serverMessage: string;
}

export class PowerDnsTerminalError extends TerminalError implements PowerDnsErrorInfo {
  constructor(message: string, readonly status: number | null, readonly serverMessage: string) {
    super(message);
    this.name = 'PowerDnsError';
  }
}

export class PowerDnsRetryableError extends RetryableError implements PowerDnsErrorInfo {
  constructor(message: string, readonly status: number | null, readonly serverMessage: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PowerDnsError';
  }
}

/** 409 on create: the zone exists. Terminal as such; the caller checks it is the zone it wants. */
export class ZoneExistsError extends PowerDnsTerminalError {
  constructor(readonly zone: string, serverMessage: string) {
    super(`PowerDNS zone ${zone} already exists`, 409, serverMessage);
    this.name = 'ZoneExistsError';
  }
}

/** 404 on a zone: it does not exist. */
export class ZoneNotFoundError extends PowerDnsTerminalError {
  constructor(readonly zone: string, serverMessage: string) {
    super(`PowerDNS zone ${zone} does not exist`, 404, serverMessage);
    this.name = 'ZoneNotFoundError';
  }
}

/** `example.org` → `example.org.` (the API wants canonical names). */
export function canonical(name: string): string {
  const n = name.trim().toLowerCase();
  if (n === '' || /[\s/\\?#%]/.test(n)) throw new TerminalError(`"${name}" is not a DNS name`);
  return n.endsWith('.') ? n : `${n}.`;
}

/** TXT (and SPF) content must be quoted for PowerDNS; already-quoted content is kept. */
export function txtContent(text: string): string {
  if (/^".*"$/s.test(text)) return text;
  // Split into 255-byte strings, each quoted, as DNS TXT character-strings require.
  const chunks = text.match(/[\s\S]{1,255}/g) ?? [''];
  return chunks.map((c) => `"${c.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(' ');
}

export class PowerDnsClient {
  private readonly masker: Masker;
  private readonly base: string;

  constructor(private readonly server: PowerDnsServer, private readonly io: PowerDnsIO = {}) {
    this.masker = new Masker(globalMasker).add(server.apiKey);
    io.secret?.(server.apiKey);
    let u: URL;
    try {
      u = new URL(server.url);
    } catch {
      throw new TerminalError(`PowerDNS URL "${this.masker.mask(server.url)}" is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TerminalError('PowerDNS URL must be http:// or https://');
    this.base = `${u.origin}${u.pathname.replace(/\/+$/, '').replace(/\/api\/v1.*$/, '')}/api/v1/servers/${encodeURIComponent(server.serverId ?? 'localhost')}`;
  }

  /** GET the server object: a cheap health check. */
  async health(): Promise<{ id: string; daemon_type: string; version: string }> {
    return (await this.request('GET', '')) as { id: string; daemon_type: string; version: string };
  }

  async listZones(): Promise<Zone[]> {
    return (await this.request('GET', '/zones?dnssec=false')) as Zone[];
  }

  /** The zone with its rrsets, or null when it does not exist. */
  async getZone(name: string): Promise<Zone | null> {
    try {
      return (await this.request('GET', `/zones/${zoneId(name)}`)) as Zone;
    } catch (err) {
      if (err instanceof PowerDnsTerminalError && err.status === 404) return null;
      throw err;
    }
  }

  /** 201 → the new zone; 409 → ZoneExistsError. */
  async createZone(name: string, kind: ZoneKind, nameservers: string[], rrsets: RRSet[] = []): Promise<Zone> {
    const zone = canonical(name);
    if (kind !== 'Native' && kind !== 'Master') throw new TerminalError(`zone kind must be Native or Master, not ${String(kind)}`);
    const body = { name: zone, kind, nameservers: nameservers.map(canonical), ...(rrsets.length ? { rrsets } : {}) };
    try {
      // 201 with the zone, its rrsets read back from the backend: callers use them to verify.
      return (await this.request('POST', '/zones', body)) as Zone;
    } catch (err) {
      if (err instanceof PowerDnsTerminalError && err.status === 409) throw new ZoneExistsError(zone, err.serverMessage);
      throw err;
    }
  }

  /** REPLACE / DELETE rrsets (names made canonical, TXT/SPF contents quoted). */
  async patchRRsets(zoneName: string, changes: RRSetChange[]): Promise<void> {
    const rrsets = changes.map((c) => {
      const type = c.type.toUpperCase();
      const name = canonical(c.name);
      if (c.changetype === 'DELETE') return { name, type, changetype: 'DELETE' };
      const records = (c.records ?? []).map((r) => ({ content: type === 'TXT' || type === 'SPF' ? txtContent(r.content) : r.content, disabled: r.disabled ?? false }));
      return { name, type, ttl: c.ttl ?? 3600, changetype: 'REPLACE', records };
    });
    await this.zoneRequest('PATCH', zoneName, '', { rrsets });
  }

  /** 204; a missing zone → ZoneNotFoundError. */
  async deleteZone(name: string): Promise<void> {
    await this.zoneRequest('DELETE', name, '');
  }

  /** Queues a NOTIFY to the secondaries (Master zones). */
  async notify(name: string): Promise<void> {
    await this.zoneRequest('PUT', name, '/notify');
  }

  private async zoneRequest(method: string, name: string, suffix: string, body?: unknown): Promise<unknown> {
    try {
      return await this.request(method, `/zones/${zoneId(name)}${suffix}`, body);
    } catch (err) {
      if (err instanceof PowerDnsTerminalError && err.status === 404) throw new ZoneNotFoundError(canonical(name), err.serverMessage);
      throw err;
    }
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = this.base + path;
    const timeoutMs = this.server.timeoutMs ?? 10_000;
    const signals = [AbortSignal.timeout(timeoutMs), ...(this.io.signal ? [this.io.signal] : [])];
    const what = `PowerDNS ${method} ${new URL(url).pathname}`;
    this.log(`${what}`);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { 'X-API-Key': this.server.apiKey, Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const reason = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : e.name === 'AbortError' ? 'aborted' : `${e.cause?.code ?? ''} ${e.cause?.message ?? e.message}`.trim();
      throw new PowerDnsRetryableError(this.masker.mask(`${what} failed: ${reason}`), null, '');
    }
    const text = await res.text().catch(() => '');
    this.log(`${what} → ${res.status}`);
    if (res.ok) {
      if (text === '' || res.status === 204) return null;
      try {
        return JSON.parse(text);
      } catch {
        throw new PowerDnsRetryableError(this.masker.mask(`${what}: the response is not JSON`), res.status, '');
      }
    }
    const serverMessage = this.masker.mask(errorText(text, res.headers.get('content-type')));
    const msg = `${what} failed with ${res.status}: ${serverMessage}`;
    if (res.status >= 500 || res.status === 429 || res.status === 408) throw new PowerDnsRetryableError(msg, res.status, serverMessage);
    if (res.status === 401 || res.status === 403) throw new PowerDnsTerminalError(`${msg} (check the API key and webserver-allow-from)`, res.status, serverMessage);
    throw new PowerDnsTerminalError(msg, res.status, serverMessage);
  }

  private log(line: string): void {
    this.io.log?.(this.masker.mask(line));
  }
}

function zoneId(name: string): string {
  return encodeURIComponent(canonical(name));
}

// 400/422/500 carry JSON {error}; 401/404/409 are text/plain in 4.7 — accept either.
function errorText(text: string, contentType: string | null): string {
  const t = text.trim();
  if (contentType?.includes('json') || t.startsWith('{')) {
    try {
      const j = JSON.parse(t) as { error?: unknown; errors?: unknown };
      if (typeof j.error === 'string') return Array.isArray(j.errors) && j.errors.length ? `${j.error} (${j.errors.join('; ')})` : j.error;
    } catch {
      /* fall through to the raw text */
    }
  }
  return t.slice(0, 500) || '(empty body)';
}
