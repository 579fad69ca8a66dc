// The admin pages inside WHMCS (Addons › hostbridge): the addon fetches a page over the signed API
// (POST /v1/admin/pages) for the WHMCS admin who is logged in, and echoes it inside WHMCS's admin
// page. The same route handlers and templates as /ui render it, in the layout's embedded form (no
// html/head/login chrome, the stylesheet scoped under .hostbridge-ui); its links and forms are
// rewritten to point at addonmodules.php?module=hostbridge&page=…, and a form the admin sends
// comes back through the addon, which checks WHMCS's own CSRF token before forwarding it. The
// daemon trusts the signed request and names the WHMCS admin as the actor in the Operation Log.
import querystring from 'node:querystring';
import express, { type NextFunction, type Request, type Response } from 'express';
import { InputError } from '../common/errors.ts';
import { whmcsAdminSession, type WhmcsAdmin } from './auth.ts';
import type { PageDeps } from './deps.ts';
import { uiCss } from './render.ts';

export interface Embedding {
  /** The addon's own link, WHMCS's `modulelink` (addonmodules.php?module=hostbridge). */
  base: string;
  /** WHMCS's CSRF token for this admin's session: the forms carry it as `token`. */
  token: string;
}

declare module 'express-serve-static-core' {
  interface Request { embed?: Embedding }
}

/** What the addon sends: who is asking, and for what (the page, its query, a form's raw body). */
export interface EmbeddedRequest {
  admin: WhmcsAdmin;
  method: 'GET' | 'POST';
  page: string;
  query: string;
  form: string;
  token: string;
  base: string;
}

export const DEFAULT_BASE = 'addonmodules.php?module=hostbridge';
/** The addon's page names: a path under /ui/admin, e.g. `services/12`, `tasks/7/retry`, `log`. */
const PAGE = /^[a-z0-9][a-z0-9/_-]{0,99}$/;
const BASE = /^[A-Za-z0-9_./-]{1,200}\.php\?module=[a-z0-9_]{1,50}$/;
/** Query parameters that belong to WHMCS's URL, not to the page: `page` is the page's name, so the pages' own `page` (paging) travels as `pg`. */
const WHMCS_PARAMS = new Set(['module', 'page', 'token']);

function text(body: Record<string, unknown>, field: string, max: number, required = false): string {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) throw new InputError(field, 'is required');
    return '';
  }
  if (typeof v !== 'string') throw new InputError(field, 'must be a string');
  if (v.length > max) throw new InputError(field, `must be at most ${max} characters`);
  return v;
}

/** The addon's request, checked: a bad one is refused with the field it names, before anything runs. */
export function checkEmbeddedRequest(raw: unknown): EmbeddedRequest {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError('', 'the body must be a JSON object');
  const body = raw as Record<string, unknown>;
  const a = body.admin as Record<string, unknown> | undefined;
  if (!a || typeof a !== 'object' || Array.isArray(a)) throw new InputError('admin', 'is required: the WHMCS admin (id and username) this page is for');
  if (!Number.isInteger(a.id) || (a.id as number) < 1 || (a.id as number) > 2147483647) throw new InputError('admin.id', 'must be WHMCS\'s admin id, a positive whole number');
  if (typeof a.username !== 'string' || !/^[^\0-\x1f\x7f]{1,100}$/.test(a.username)) throw new InputError('admin.username', 'must be the WHMCS admin\'s username, 1–100 printable characters');
  const method = body.method === undefined ? 'GET' : body.method;
  if (method !== 'GET' && method !== 'POST') throw new InputError('method', 'must be GET or POST');
  const page = text(body, 'page', 100);
  if (page !== '' && !PAGE.test(page)) throw new InputError('page', `"${page.slice(0, 40)}" is not a page name (letters, digits, / - _)`);
  const base = text(body, 'base', 200) || DEFAULT_BASE;
  if (!BASE.test(base)) throw new InputError('base', 'must be WHMCS\'s module link, like addonmodules.php?module=hostbridge');
  return {
    admin: { id: a.id as number, username: a.username }, method, page, base,
    query: text(body, 'query', 4000), form: text(body, 'form', 100_000), token: text(body, 'token', 200),
  };
}

/** The /ui path of an addon page name: `` and `services` are the Services list, the rest is under /ui/admin. */
export function pathOf(page: string): string {
  return page === '' || page === 'services' || page === 'overview' ? '/admin' : `/admin/${page}`;
}

/** The addon's link for a /ui/admin path (with its query): `/ui/admin/tasks?status=failed&page=2` → `base&page=tasks&status=failed&pg=2`. */
export function addonLink(base: string, uiPath: string): string {
  const [p, q = ''] = uiPath.split(/\?(.*)/s, 2) as [string, string?];
  const rest = p.replace(/^\/ui\/admin\/?/, '');
  const parts = [`page=${rest === '' ? 'services' : rest.split('/').map(encodeURIComponent).join('/')}`];
  for (const [k, v] of new URLSearchParams(q)) parts.push(`${encodeURIComponent(k === 'page' ? 'pg' : k)}=${encodeURIComponent(v)}`);
  return `${base}&${parts.join('&')}`;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#x27;': "'", '&#x60;': '`', '&#x3D;': '=' };
const unescape = (s: string) => s.replace(/&(amp|lt|gt|quot|#x27|#x60|#x3D);/g, (m) => ENTITIES[m]!);
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A rendered page as WHMCS shows it: links and form targets under /ui/admin point at the addon; a
 * GET form (a filter) carries the module and page as hidden fields, since the browser replaces an
 * action's query; the CSRF field is WHMCS's `token`; other /ui links (the customer's page) are
 * dropped, as the browser has no daemon session. The scoped stylesheet goes first.
 */
export function embedHtml(html: string, base: string): string {
  let out = html.replace(/<form method="get" action="(\/ui\/admin[^"]*)"([^>]*)>/g, (_m, action: string, rest: string) => {
    const link = addonLink(base, unescape(action));
    const params = new URLSearchParams(link.slice(link.indexOf('?') + 1));
    const hidden = ['module', 'page'].map((k) => `<input type="hidden" name="${k}" value="${escape(params.get(k) ?? '')}">`).join('');
    return `<form method="get" action="${escape(link.slice(0, link.indexOf('?')))}"${rest}>${hidden}`;
  });
  out = out.replace(/(href|action)="(\/ui\/admin[^"]*)"/g, (_m, attr: string, v: string) => `${attr}="${escape(addonLink(base, unescape(v)))}"`);
  out = out.replace(/<a [^>]*href="\/ui\/[^"]*"[^>]*>(.*?)<\/a>/g, '');
  out = out.replace(/ name="_csrf" /g, ' name="token" ');
  return `<style>${scopedCss()}</style>\n${out}`;
}

let scoped: string | null = null;
/** ui.css with every rule under .hostbridge-ui, so WHMCS's admin theme around the page is untouched. */
export function scopedCss(): string {
  scoped ??= scopeCss(uiCss(), '.hostbridge-ui');
  return scoped;
}

/** Prefixes every selector of a (simple, comment-free after stripping) stylesheet; :root, html and body become the scope itself. */
export function scopeCss(css: string, scope: string): string {
  const src = css.replace(/\/\*[\s\S]*?\*\//g, '');
  let out = '';
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{', i);
    if (open < 0) break;
    const head = src.slice(i, open).trim();
    if (head.startsWith('@')) {
      // A block of rules (@media): scope what is inside.
      let depth = 1;
      let j = open + 1;
      while (j < src.length && depth > 0) {
        if (src[j] === '{') depth++;
        else if (src[j] === '}') depth--;
        j++;
      }
      out += `${head} {\n${scopeCss(src.slice(open + 1, j - 1), scope)}}\n`;
      i = j;
      continue;
    }
    const close = src.indexOf('}', open);
    const selectors = head.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
      if (s === ':root' || s === 'html' || s === 'body') return scope;
      return `${scope} ${s}`;
    });
    out += `${selectors.join(', ')} {${src.slice(open + 1, close)}}\n`;
    i = close + 1;
  }
  return out;
}

/** The form's body as express.urlencoded would give it (a repeated field is an array), without WHMCS's token. */
function formBody(raw: string): Record<string, unknown> {
  const parsed = querystring.parse(raw, '&', '=', { maxKeys: 3000 }) as Record<string, unknown>;
  delete parsed.token;
  delete parsed._csrf;
  return parsed;
}

/** The page's query as the /ui route reads it: WHMCS's own parameters left out, `pg` back to `page`. */
function pageQuery(raw: string): string {
  const out = new URLSearchParams();
  for (const [k, v] of new URLSearchParams(raw)) {
    if (WHMCS_PARAMS.has(k)) continue;
    out.append(k === 'pg' ? 'page' : k, v);
  }
  const s = out.toString();
  return s ? `?${s}` : '';
}

/**
 * The API's handler for POST /v1/admin/pages (behind the signature): runs the addon's request
 * through the admin pages' own routes, as the WHMCS admin, and answers JSON — the page
 * (`{ok, status, title, html}`) or where a form sends the admin next (`{ok, status: 303, location}`).
 */
export function embeddedPages(deps: PageDeps, pages: express.Router) {
  return (body: unknown, req: Request, res: Response, next: NextFunction): void => {
    let r: EmbeddedRequest;
    try {
      r = checkEmbeddedRequest(body);
    } catch (err) {
      return next(err);
    }
    whmcsAdminSession(deps.db, r.admin).then((session) => {
      req.uiSession = session;
      req.embed = { base: r.base, token: r.token };
      req.method = r.method;
      req.url = pathOf(r.page) + pageQuery(r.query);
      req.body = r.method === 'POST' ? formBody(r.form) : {};
      pages(req, res, next);
    }, next);
  };
}
