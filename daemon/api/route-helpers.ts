// How every /v1 route file frames a request: an async handler's error goes to express's error
// handler, the body is read as JSON (a 400/415 naming the problem otherwise), and an id in the
// path is a positive whole number.
import type { Request, Response, NextFunction } from 'express';
import { InputError } from '../common/errors.ts';

type Handler = (req: Request, res: Response) => Promise<void>;
export const wrap = (fn: Handler) => (req: Request, res: Response, next: NextFunction) => { fn(req, res).catch(next); };

/** The body as JSON: {} when empty; a 400 naming the problem when it is not JSON. */
export function jsonBody(req: Request): unknown {
  const raw = req.rawBody ?? Buffer.alloc(0);
  if (raw.length === 0) return {};
  const type = String(req.headers['content-type'] ?? 'application/json');
  if (!/^application\/json\b/i.test(type)) throw new InputError('', `the body must be application/json, not ${type.slice(0, 60)}`, 415);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new InputError('', `the body is not valid JSON (${(err as Error).message.slice(0, 120)})`, 400);
  }
}

export function pathId(value: unknown, what: string): number {
  const s = String(value);
  if (!/^[1-9][0-9]{0,9}$/.test(s) || Number(s) > 2147483647) throw new InputError('', `the ${what} in the path must be a positive whole number, got "${s.slice(0, 40)}"`, 400);
  return Number(s);
}

/** Rows per page of a listing written with sendPages. */
const PAGE = 1000;

/**
 * Writes `{"ok":true,"<key>":[…]}` a page at a time (keyset pages by WHMCS service id), so a
 * listing of every service never holds all its rows, nor their JSON, at once. A page that fails
 * once the answer has begun cuts the connection: the client reads an incomplete body, never a
 * short list that looks whole.
 */
export async function sendPages<R extends { whmcs_service_id: number }>(res: Response, key: string, page: (after: number, limit: number) => Promise<R[]>): Promise<void> {
  let rows = await page(0, PAGE);
  res.status(200).type('application/json');
  res.write(`{"ok":true,${JSON.stringify(key)}:[`);
  let first = true;
  try {
    for (;;) {
      const text = rows.map((r) => JSON.stringify(r)).join(',');
      if (text) {
        if (!res.write(first ? text : `,${text}`)) await new Promise((r) => { res.once('drain', r); res.once('close', r); });
        if (res.destroyed) return; // the client went away
        first = false;
      }
      if (rows.length < PAGE) break;
      rows = await page(rows[rows.length - 1]!.whmcs_service_id, PAGE);
    }
  } catch (err) {
    res.destroy(err as Error);
    return;
  }
  res.end(']}');
}
