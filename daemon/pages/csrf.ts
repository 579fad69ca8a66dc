// CSRF protection: every form carries a synchronizer token, the session's own (stored with the
// session, compared in constant time). Every POST under /ui is checked here before any handler
// runs, so a POST without the token gets 403 and changes nothing. The login form, which has no
// session yet, carries a token bound to a pre-session cookie instead. A browser that says the
// request comes from another site (Sec-Fetch-Site: cross-site) is refused as well.
import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { sameToken } from './auth.ts';
import { cookies, PRE_COOKIE, renderError } from './http.ts';
import type { PageDeps } from './deps.ts';

export function loginToken(secret: string, pre: string): string {
  return crypto.createHmac('sha256', secret).update(`hostbridge ui login csrf\n${pre}`).digest('base64url');
}

export function newPre(): string {
  return crypto.randomBytes(24).toString('base64url');
}

const REFUSED = 'This form was refused: it did not carry this page\'s security token (it may have expired, or come from another site). Reload the page and try again; nothing was changed.';

export function csrfGuard(deps: PageDeps) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'POST') return next();
    const body = (req.body ?? {}) as Record<string, unknown>;
    const given = typeof body._csrf === 'string' ? body._csrf : '';
    const refuse = () => renderError(deps, req, res, 403, REFUSED);
    if (String(req.headers['sec-fetch-site'] ?? '') === 'cross-site') return refuse();
    if (req.path === '/login') {
      const pre = cookies(req)[PRE_COOKIE] ?? '';
      if (!/^[A-Za-z0-9_-]{32}$/.test(pre) || !given || !sameToken(given, loginToken(deps.secret, pre))) return refuse();
      return next();
    }
    const s = req.uiSession;
    if (!s || !given || !sameToken(given, s.csrf)) return refuse();
    next();
  };
}
