// What every /ui page shares: cookies, the session of the request, the security headers, rendering
// inside the layout, and the errors a page shows instead of a stack trace.
import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ADMIN_TTL_MS, CLIENT_TTL_MS, loadSession, recordAdminAction, setFlash as setFlashOf, takeFlash, type Session } from './auth.ts';
import { InputError } from '../common/errors.ts';
import { AdminError } from '../engine/admin.ts';
import { SettingError } from '../settings/settings.ts';
import { render } from './render.ts';
import { addonLink, embedHtml } from './embed.ts';
import type { PageDeps } from './deps.ts';

export const COOKIE = 'hb_session';
export const PRE_COOKIE = 'hb_pre';

declare module 'express-serve-static-core' {
  interface Request { uiSession?: Session | null; cspNonce?: string }
}

/** A page that cannot be shown: its status and a message for the reader. */
export class UiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'UiError';
  }
}

export function cookies(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    if (!(k in out)) out[k] = part.slice(i + 1).trim();
  }
  return out;
}

function cookieAttrs(req: Request, maxAgeS: number): string {
  return `Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${req.secure ? '; Secure' : ''}`;
}

export function setSessionCookie(req: Request, res: Response, token: string, kind: 'admin' | 'client'): void {
  res.append('Set-Cookie', `${COOKIE}=${token}; ${cookieAttrs(req, Math.floor((kind === 'admin' ? ADMIN_TTL_MS : CLIENT_TTL_MS) / 1000))}`);
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.append('Set-Cookie', `${COOKIE}=; ${cookieAttrs(req, 0)}`);
}

export function setPreCookie(req: Request, res: Response, value: string): void {
  res.append('Set-Cookie', `${PRE_COOKIE}=${value}; ${cookieAttrs(req, 3600)}`);
}

/** Headers on every page: no framing, no sniffing, no referrer (links carry tokens), scripts by nonce only. */
export function securityHeaders(req: Request, res: Response, next: NextFunction): void {
  const nonce = crypto.randomBytes(16).toString('base64');
  req.cspNonce = nonce;
  res.setHeader('Content-Security-Policy', `default-src 'none'; style-src 'self'; img-src 'self'; script-src 'nonce-${nonce}'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-store');
  next();
}

export function sessionLoader(deps: PageDeps) {
  return (req: Request, _res: Response, next: NextFunction) => {
    loadSession(deps.db, cookies(req)[COOKIE]).then((s) => {
      req.uiSession = s;
      next();
    }, next);
  };
}

type Handler = (req: Request, res: Response) => Promise<void>;
export const wrap = (fn: Handler) => (req: Request, res: Response, next: NextFunction) => { fn(req, res).catch(next); };

export function requireAdmin(req: Request): Session {
  const s = req.uiSession;
  if (!s || s.kind !== 'admin') throw new UiError(401, 'Please log in.');
  return s;
}

/** The session may see this service: an admin, or a client whose link named it. */
export function requireService(req: Request, whmcsServiceId: number): Session {
  const s = req.uiSession;
  if (!s) throw new UiError(401, 'This page needs a link from your client area. Open your service in WHMCS again.');
  if (s.kind === 'admin' || s.services.includes(whmcsServiceId)) return s;
  throw new UiError(403, 'This link does not open that service.');
}

export function idParam(value: unknown, what: string): number {
  const s = String(value ?? '');
  if (!/^[1-9][0-9]{0,17}$/.test(s) || Number(s) > Number.MAX_SAFE_INTEGER) throw new UiError(404, `There is no ${what} "${s.slice(0, 30)}".`);
  return Number(s);
}

export const ADMIN_NAV = [
  { key: 'overview', href: '/ui/admin', label: 'Services' },
  { key: 'tasks', href: '/ui/admin/tasks', label: 'Task Queue' },
  { key: 'servers', href: '/ui/admin/servers', label: 'Infrastructure' },
  { key: 'groups', href: '/ui/admin/groups', label: 'Server groups' },
  { key: 'dns-zones', href: '/ui/admin/dns-zones', label: 'DNS Zones' },
  { key: 'proxmox', href: '/ui/admin/proxmox', label: 'Proxmox' },
  { key: 'ip-pools', href: '/ui/admin/ip-pools', label: 'IP pools' },
  { key: 'kvm-profiles', href: '/ui/admin/kvm-profiles', label: 'KVM profiles' },
  { key: 'hosting-plans', href: '/ui/admin/hosting-plans', label: 'Hosting plans' },
  { key: 'vms', href: '/ui/admin/vms', label: 'VM Management' },
  { key: 'log', href: '/ui/admin/log', label: 'Operation Log' },
  { key: 'statistics', href: '/ui/admin/statistics', label: 'Statistics' },
  { key: 'settings', href: '/ui/admin/settings', label: 'Settings' },
];

/** Renders a page in the layout, with the session's CSRF token and its one-shot message. */
export async function page(deps: PageDeps, req: Request, res: Response, name: string, data: Record<string, unknown>, status = 200): Promise<void> {
  const s = req.uiSession ?? null;
  const flash = s ? await takeFlash(deps.db, s) : null;
  const nav = s?.kind === 'admin' ? ADMIN_NAV.map((n) => ({ ...n, active: n.key === data.nav })) : null;
  const embed = req.embed;
  const html = render(`ui/${name}`, {
    ...data, csrf: embed ? embed.token : (s?.csrf ?? data.csrf ?? ''), nonce: req.cspNonce, admin: s?.kind === 'admin', nav, flash: data.flash ?? flash, signedIn: !!s, embedded: !!embed,
  });
  // In WHMCS (embed.ts) the page goes back to the addon as JSON: its status, title and HTML.
  if (embed) {
    res.status(200).json({ ok: true, status, title: String(data.title ?? ''), html: embedHtml(html, embed.base) });
    return;
  }
  res.status(status).type('html').send(html);
}

/** POST → redirect → GET, so a reload does not send the form again (in WHMCS: the addon redirects). */
export function back(res: Response, to: string): void {
  const embed = res.req?.embed;
  if (embed) {
    res.status(200).json({ ok: true, status: 303, location: addonLink(embed.base, to) });
    return;
  }
  res.redirect(303, to);
}

/** An error page: the status and a message for the reader (never a stack trace). */
export function renderError(deps: PageDeps, req: Request, res: Response, status: number, message: string): void {
  const title = status === 401 ? 'Please log in' : status === 403 ? 'Refused' : status === 404 ? 'Not found' : status === 429 ? 'Too many attempts' : 'Something went wrong';
  page(deps, req, res, 'error', { title, status, message, loginLink: status === 401 }, status).catch((err) => {
    deps.logger.error(`UI error page failed: ${(err as Error).message}`);
    if (!res.headersSent) res.status(status).type('text').send(message);
  });
}
/** The one-shot message of a form's result; an admin's is also written to the Operation Log with who did it. */
export async function setFlash(db: PageDeps['db'], s: Session, text: string, kind: 'ok' | 'error' = 'ok'): Promise<void> {
  await setFlashOf(db, s, text, kind);
  await recordAdminAction(db, s, text, kind);
}

/**
 * Runs an admin action from a form: its message (or its refusal) is shown on the next page, and
 * written to the Operation Log — unless `logged` says the action records itself (the hosting
 * panel's dispatcher does, with its actor), so it is not there twice.
 */
export async function act(deps: PageDeps, s: Session, res: Response, backTo: string, fn: () => Promise<string>, opts: { logged?: boolean } = {}): Promise<void> {
  const flash = opts.logged ? (text: string, kind: 'ok' | 'error') => setFlashOf(deps.db, s, text, kind) : (text: string, kind: 'ok' | 'error') => setFlash(deps.db, s, text, kind);
  try {
    await flash(await fn(), 'ok');
  } catch (err) {
    if (!(err instanceof InputError || err instanceof AdminError || err instanceof SettingError || err instanceof UiError)) throw err;
    await flash(err.message, 'error');
  }
  back(res, backTo);
}

/** Where a form may send the admin back to: a page under /ui/admin, else the default. */
export function backTo(value: unknown, fallback: string): string {
  const v = typeof value === 'string' ? value : '';
  return /^\/ui\/admin(\/[A-Za-z0-9/_-]*)?(\?[A-Za-z0-9=&%_.,:+-]*)?$/.test(v) ? v : fallback;
}
