// The pages under /ui on the daemon's own listener: the stylesheet, signed links from WHMCS, the
// admin login, then the customer's deploy page (customer.ts) and the admin pages (admin/*.ts).
// Every request gets the security headers and its session; every POST passes the CSRF check first.
import express, { type NextFunction, type Request, type Response } from 'express';
import { AdminError } from '../engine/admin.ts';
import { InputError } from '../common/errors.ts';
import { SettingError } from '../settings/settings.ts';
import {
  adminPasswordHash, checkAdminPassword, clearLoginFailures, createSession, endSession, loginBlockedFor, recordLoginFailure, widenClientSession,
} from './auth.ts';
import { csrfGuard, loginToken, newPre } from './csrf.ts';
import {
  back, clearSessionCookie, cookies, PRE_COOKIE, page, renderError, securityHeaders, sessionLoader, setPreCookie, setSessionCookie, UiError, wrap,
} from './http.ts';
import type { PageDeps } from './deps.ts';
import { consumeLink, verifyLink } from './links.ts';
import { render, uiCss } from './render.ts';
import { serviceKnown } from './reads/services.ts';
import { addCustomerPages } from './customer.ts';
import { addServicePages } from './admin/services.ts';
import { addTaskPages } from './admin/tasks.ts';
import { addFleetPages } from './admin/fleet.ts';
import { addProxmoxPages } from './admin/proxmox.ts';
import { addIpPoolPages } from './admin/ip-pools.ts';
import { addKvmProfilePages } from './admin/kvm-profiles.ts';
import { addHostingPlanPages } from './admin/hosting-plans.ts';
import { addVmPages } from './admin/vms.ts';
import { addReportPages } from './admin/reports.ts';
import { addSettingsPages } from './admin/settings.ts';
import { addTicketPages } from './admin/tickets.ts';
import { addGroupActionPages } from './admin/group-actions.ts';
import { addDnsZonePages } from './admin/dns-zones.ts';
import { embeddedPages } from './embed.ts';

/** Where the site's root sends a browser: the pages' own root, which knows the session. */
export const PAGES_HOME = '/ui/';

/** Where an admin link lands. */
export function adminPath(page: string | undefined): string {
  if (!page || page === 'overview') return '/ui/admin';
  return `/ui/admin/${page}`;
}

function clientIp(req: Request): string {
  return String(req.socket.remoteAddress ?? 'unknown');
}

export function createPagesRouter(deps: PageDeps): express.Router {
  const r = express.Router();
  r.use(securityHeaders);

  r.get('/static/ui.css', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.type('css').send(uiCss());
  });

  r.use(express.urlencoded({ extended: false, limit: '100kb', parameterLimit: 3000 }));
  r.use(sessionLoader(deps));
  r.use(csrfGuard(deps));

  r.get('/', (req, res) => {
    const s = req.uiSession;
    if (s?.kind === 'client' && s.services.length) return res.redirect(303, `/ui/service/${s.services[s.services.length - 1]}`);
    res.redirect(303, s?.kind === 'admin' ? '/ui/admin' : '/ui/login');
  });

  // --- signed links from WHMCS ---
  r.get('/link', wrap(async (req, res) => {
    const verdict = verifyLink(deps.secret, String(req.query.t ?? ''));
    if (!verdict.ok) throw new UiError(403, verdict.reason);
    const p = verdict.payload;
    let to: string;
    if (p.a === 'client') {
      if (!(await serviceKnown(deps.db, p.s!))) throw new UiError(404, 'This service is not known here (yet). Open it again from your client area in a minute.');
      if (!(await consumeLink(deps.db, p))) throw new UiError(403, 'This link was already used. Open the page again from your client area.');
      const current = req.uiSession;
      if (current?.kind === 'client') await widenClientSession(deps.db, current, p.s!);
      else if (current?.kind !== 'admin') {
        const { token } = await createSession(deps.db, 'client', 'link', [p.s!]);
        setSessionCookie(req, res, token, 'client');
      }
      to = `/ui/service/${p.s}`;
    } else {
      if (!(await consumeLink(deps.db, p))) throw new UiError(403, 'This link was already used. Open the page again from the WHMCS addon.');
      if (req.uiSession) await endSession(deps.db, req.uiSession);
      const { token } = await createSession(deps.db, 'admin', 'link');
      setSessionCookie(req, res, token, 'admin');
      to = p.p ? adminPath(p.p) : p.s ? `/ui/admin/services/${p.s}` : '/ui/admin';
    }
    // A page of our own that moves on: the session cookie (SameSite=Strict) is then sent, even
    // when the link was opened from the WHMCS site, and the token leaves the address bar.
    res.status(200).type('html').send(render('ui/link', { to }));
  }));

  // --- admin login ---
  const loginPage = async (req: Request, res: Response, status: number, error: string | null) => {
    let pre = cookies(req)[PRE_COOKIE] ?? '';
    if (!/^[A-Za-z0-9_-]{32}$/.test(pre)) {
      pre = newPre();
      setPreCookie(req, res, pre);
    }
    const noPassword = !(await adminPasswordHash(deps.db));
    await page(deps, req, res, 'login', { title: 'Admin login', loginCsrf: loginToken(deps.secret, pre), noPassword, error }, status);
  };
  r.get('/login', wrap(async (req, res) => {
    if (req.uiSession?.kind === 'admin') return back(res, '/ui/admin');
    await loginPage(req, res, 200, null);
  }));
  r.post('/login', wrap(async (req, res) => {
    const ip = clientIp(req);
    const wait = await loginBlockedFor(deps.db, ip);
    if (wait !== null) return loginPage(req, res, 429, `Too many failed logins. Try again in ${Math.ceil(wait / 60)} minute(s).`);
    const password = typeof req.body?.password === 'string' ? req.body.password : '';
    if (password === '' || password.length > 1024) return loginPage(req, res, 422, 'Enter the admin password.');
    if (!(await checkAdminPassword(deps.db, password))) {
      await recordLoginFailure(deps.db, ip);
      return loginPage(req, res, 401, 'That password is not right.');
    }
    await clearLoginFailures(deps.db, ip);
    if (req.uiSession) await endSession(deps.db, req.uiSession);
    const { token } = await createSession(deps.db, 'admin', 'password');
    setSessionCookie(req, res, token, 'admin');
    back(res, '/ui/admin');
  }));
  r.post('/logout', wrap(async (req, res) => {
    const s = req.uiSession!;
    await endSession(deps.db, s);
    clearSessionCookie(req, res);
    req.uiSession = null;
    if (s.kind === 'admin') return back(res, '/ui/login');
    await page(deps, req, res, 'error', { title: 'Logged out', message: 'You have logged out. Open your service from your client area to come back.' });
  }));

  addCustomerPages(r, deps);
  addAdminPages(r, deps);
  addErrorPages(r, deps);
  return r;
}

function addAdminPages(r: express.Router, deps: PageDeps): void {
  addServicePages(r, deps);
  addTaskPages(r, deps);
  addFleetPages(r, deps);
  addIpPoolPages(r, deps);
  addProxmoxPages(r, deps);
  addVmPages(r, deps);
  addKvmProfilePages(r, deps);
  addHostingPlanPages(r, deps);
  addReportPages(r, deps);
  addSettingsPages(r, deps);
  addTicketPages(r, deps);
  addGroupActionPages(r, deps);
  addDnsZonePages(r, deps);
}

/**
 * The admin pages for the WHMCS addon (POST /v1/admin/pages, see embed.ts): the same routes, with
 * no login, links, logout or customer pages; the session is the WHMCS admin's.
 */
export function embeddedAdminPages(deps: PageDeps) {
  const r = express.Router();
  addAdminPages(r, deps);
  addErrorPages(r, deps);
  return embeddedPages(deps, r);
}

/** What a page that cannot be shown renders: 404 for no route, the error's own page for the rest. */
function addErrorPages(r: express.Router, deps: PageDeps): void {
  r.use((req, res) => renderError(deps, req, res, 404, 'There is no such page.'));
  r.use((err: Error & { status?: number; type?: string }, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof UiError) {
      if (err.status === 401 && !req.path.startsWith('/service')) {
        if (req.method === 'GET' && !req.path.endsWith('.json')) return back(res, '/ui/login');
      }
      return renderError(deps, req, res, err.status, err.message);
    }
    if (err.type === 'entity.too.large') return renderError(deps, req, res, 413, 'The form is too large.');
    if (err instanceof InputError) return renderError(deps, req, res, err.status, err.message);
    if (err instanceof AdminError || err instanceof SettingError) return renderError(deps, req, res, 409, err.message);
    deps.logger.error(`UI error on ${req.method} ${req.path}: ${err.message}`);
    renderError(deps, req, res, 500, 'Something went wrong on our side; the daemon log has the details.');
  });
}
