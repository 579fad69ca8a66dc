// HTTP framing as pveproxy does it: /api2/json paths, form or JSON bodies merged with the query
// string, the {"data": ...} envelope, errors with the message in the status line and the body,
// 401s answered late, 501 for unknown paths or methods.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors.ts';
import type { Identity } from './auth.ts';
import type { RawParams } from './schema.ts';

export const MAX_BODY = 512 * 1024;

export interface Req {
  method: string;
  /** Path below /api2/json, e.g. /nodes/pve1/qemu. */
  path: string;
  /** Query, body and path parameters merged (path parameters win). */
  params: RawParams;
  who: Identity;
  /** The user as UPIDs and logs name it: the full token id for tokens. */
  upidUser: string;
  /** A pending injected task failure for this request (used up by the first fork). */
  takeTaskFail(): string | undefined;
}

/** A handler result with list attributes beside `data` (e.g. `total`). */
export class Reply { constructor(readonly data: unknown, readonly extra: Record<string, unknown> = {}) {} }

export type Handler = (req: Req) => unknown | Promise<unknown>;

interface Route { method: string; re: RegExp; names: string[]; handler: Handler }

export class Router {
  private readonly routes: Route[] = [];

  /** `template` like /nodes/{node}/qemu/{vmid}/config; a `{name*}` segment may hold slashes. */
  add(method: string, template: string, handler: Handler): void {
    const names: string[] = [];
    const re = new RegExp('^' + template.replace(/\{(\w+)(\*?)\}/g, (_m, n: string, star: string) => { names.push(n); return star ? '(.+)' : '([^/]+)'; }) + '/?$');
    this.routes.push({ method, re, names, handler });
  }

  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | undefined {
    for (const r of this.routes) {
      if (r.method !== method) continue;
      const m = r.re.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]!); });
      return { handler: r.handler, params };
    }
    return undefined;
  }
}

export async function readBody(req: IncomingMessage): Promise<RawParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, 'Request Entity Too Large');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    let v: unknown;
    try { v = JSON.parse(text); } catch (e) { throw new ApiError(400, `malformed JSON string: ${(e as Error).message}`); }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ApiError(400, 'JSON body must be an object');
    return v as RawParams;
  }
  return formToParams(new URLSearchParams(text));
}

export function formToParams(q: URLSearchParams): RawParams {
  const out: RawParams = {};
  for (const [k, v] of q) out[k] = v;
  return out;
}

/** Header reason phrases must be printable latin-1 on one line. */
function reason(message: string): string {
  return message.replace(/\n.*$/s, '').replace(/[^\x20-\x7e]/g, '?').slice(0, 400) || 'Error';
}

export function sendData(res: ServerResponse, data: unknown, extra: Record<string, unknown> = {}): number {
  const body = JSON.stringify({ data: data ?? null, ...extra });
  res.writeHead(200, 'OK', { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'max-age=0', pragma: 'no-cache', server: 'pve-api-daemon/3.0' });
  res.end(body);
  return 200;
}

export function sendError(res: ServerResponse, e: ApiError): number {
  const msg = e.message.endsWith('\n') ? e.message : `${e.message}\n`;
  const payload: Record<string, unknown> = { data: null, message: msg };
  if (e.errors) payload.errors = e.errors;
  const body = JSON.stringify(payload);
  res.writeHead(e.status, reason(e.message), { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(body), server: 'pve-api-daemon/3.0' });
  res.end(body);
  return e.status;
}
