// Short-lived signed links to the pages: the WHMCS module asks for one (POST /v1/ui-links) and
// hands it to a customer or an admin. A payload (audience, service, landing page, expiry, a random
// id) and an HMAC-SHA256 of it with a key derived from the shared secret. A link opens once and
// only until it expires; opening it starts a session and forgets the token.
import crypto from 'node:crypto';
import type { Request } from 'express';
import type { Knex } from 'knex';
import { dbNow, isUniqueViolation } from '../db/connect.ts';
import { T } from '../common/tables.ts';
import { InputError } from '../common/errors.ts';
import { LINK_PAGE_PATTERN } from '../common/link-pages.ts';
import { serviceKnown } from './reads/services.ts';

export const LINK_TTL_S = 600;

export interface LinkPayload {
  /** audience */
  a: 'client' | 'admin';
  /** WHMCS service id (client links; optional for admin links) */
  s?: number;
  /** admin landing page */
  p?: string;
  /** expiry, Unix seconds */
  e: number;
  /** link id: each opens once */
  j: string;
}

/** The key links are signed with: derived from the shared secret, so a link is never an API signature. */
function linkKey(secret: string): Buffer {
  return crypto.createHmac('sha256', secret).update('hostbridge ui link v1').digest();
}

export function signLink(secret: string, payload: LinkPayload): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const mac = crypto.createHmac('sha256', linkKey(secret)).update(body).digest('base64url');
  return `${body}.${mac}`;
}

export function newLink(secret: string, audience: 'client' | 'admin', opts: { whmcsServiceId?: number; page?: string; nowS?: number; ttlS?: number }): { token: string; expiresAt: number } {
  const e = (opts.nowS ?? Math.floor(Date.now() / 1000)) + (opts.ttlS ?? LINK_TTL_S);
  const payload: LinkPayload = { a: audience, e, j: crypto.randomBytes(12).toString('hex') };
  if (opts.whmcsServiceId !== undefined) payload.s = opts.whmcsServiceId;
  if (opts.page !== undefined) payload.p = opts.page;
  return { token: signLink(secret, payload), expiresAt: e };
}

/** Admin landing pages a link may name. */
export const LINK_PAGE = new RegExp(LINK_PAGE_PATTERN);

export type LinkVerdict = { ok: true; payload: LinkPayload } | { ok: false; reason: string };

/** Checks the signature and the expiry (not whether it was opened before: see consumeLink). */
export function verifyLink(secret: string, token: string, nowS = Math.floor(Date.now() / 1000)): LinkVerdict {
  const bad = { ok: false as const, reason: 'this link is not valid: it was changed or cut short. Open the page again from WHMCS.' };
  const m = /^([A-Za-z0-9_-]{10,600})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return bad;
  const expected = crypto.createHmac('sha256', linkKey(secret)).update(m[1]!).digest();
  const given = Buffer.from(m[2]!, 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return bad;
  let p: LinkPayload;
  try {
    p = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as LinkPayload;
  } catch {
    return bad;
  }
  if ((p.a !== 'client' && p.a !== 'admin') || !Number.isInteger(p.e) || typeof p.j !== 'string' || !/^[0-9a-f]{24}$/.test(p.j)) return bad;
  if (p.a === 'client' && !(Number.isInteger(p.s) && p.s! > 0)) return bad;
  if (p.p !== undefined && (typeof p.p !== 'string' || !LINK_PAGE.test(p.p))) return bad;
  if (p.e < nowS) return { ok: false, reason: 'this link has expired (links work for 10 minutes). Open the page again from WHMCS.' };
  return { ok: true, payload: p };
}

/** Marks a link as opened; false when it was opened before. */
export async function consumeLink(db: Knex, p: LinkPayload): Promise<boolean> {
  try {
    await db(T.uiLinks).insert({ jti: p.j, expires_at: p.e * 1000 });
  } catch (err) {
    if (isUniqueViolation(err)) return false;
    throw err;
  }
  if (Math.random() < 0.1) await db(T.uiLinks).where('expires_at', '<', (await dbNow(db)) - 60_000).delete();
  return true;
}

export interface UiLinkBody { audience: 'client' | 'admin'; whmcs_service_id?: number; page?: string }

/**
 * The answer to POST /v1/ui-links (the body already checked against its schema). The url is built
 * from the address the module reached the daemon at; `path` is the same link without it, for a
 * daemon behind a proxy.
 */
export async function issueUiLink(deps: { db: Knex; secret: string }, body: UiLinkBody, req: Request): Promise<{ ok: true; url: string; path: string; expires_at: number }> {
  if (body.audience === 'client') {
    if (body.whmcs_service_id === undefined) throw new InputError('whmcs_service_id', 'is required for a client link');
    if (body.page !== undefined) throw new InputError('page', 'is for admin links only; a client link opens its service\'s page');
  }
  if (body.whmcs_service_id !== undefined && !(await serviceKnown(deps.db, body.whmcs_service_id))) {
    throw new InputError('whmcs_service_id', `service ${body.whmcs_service_id} is not known to hostbridge`, 404);
  }
  const { token, expiresAt } = newLink(deps.secret, body.audience, { whmcsServiceId: body.whmcs_service_id, page: body.page });
  const path = `/ui/link?t=${token}`;
  const host = String(req.headers.host ?? '');
  const base = /^[A-Za-z0-9.:[\]-]{1,300}$/.test(host) ? `${req.protocol}://${host}` : '';
  return { ok: true, url: base + path, path, expires_at: expiresAt };
}
