// The hosting panel's Web settings tab: the service's web domain's backend (PHP) template, its proxy
// template and its aliases (HestiaCP's v-list-web-templates-backend / -proxy, v-change-web-domain-
// backend-tpl / -proxy-tpl, v-add-web-domain-alias / v-delete-web-domain-alias; reference §2, §8.6).
// The customer picks among the templates the node offers; an alias must be a host name under the
// service's own domain (HestiaCP takes any name not used elsewhere on the node, but an alias for a
// domain the customer does not control would let them claim someone else's site). The limit is the
// plan's web aliases (hosting plan web.aliases = the package's WEB_ALIASES), counted live from the
// domain's ALIAS list as HestiaCP counts it. The steps are planned by planWebStep (pure) and run by
// handlers/hosting/panel-web.ts, which also keeps automatic SSL's certificate names in step.
import { InputError } from '../../common/errors.ts';
import type { HestiaDriver } from '../../drivers/hestia/index.ts';
import { extrasOf } from '../../pipelines/hosting-plan.ts';
import { plannedStep, type PlannedStep } from '../../pipelines/steps.ts';
import type { HostingAction, HostingContext, HostingTab, PreparedAction } from './types.ts';

/** Where the web settings live: the web (or unified) server, the Hestia user holding the domain, the domain. */
export interface WebPlace { server: number; user: string; domain: string }

export function webPlace(svc: HostingContext['svc']): WebPlace {
  const { placement: p, names: n, domain } = svc.plan;
  const server = p.unified ?? p.web;
  const user = p.unified !== null ? n.users.all : n.users.web;
  if (server === null || !user) throw new InputError('', 'Your plan has no web hosting, so it has no web settings.', 409);
  return { server, user, domain };
}

export type TemplateKind = 'backend' | 'proxy';
const KIND_WORDS: Record<TemplateKind, string> = { backend: 'PHP (backend) template', proxy: 'proxy template' };
/** Names on the service's domain the mail role answers on (the zone points them at the mail node). */
const RESERVED = ['mail', 'webmail'];
const HOST_MAX = 253;

const printable = (s: string, max = 60) => {
  const t = s.replace(/[\x00-\x1f\x7f]/g, '?');
  return t.length > max ? `${t.slice(0, max)}…` : t;
};

/**
 * An alias as the customer types it: a label (`shop`) or a full host name under the service's
 * domain (`shop.example.com`, `a.b.example.com`); returned as the full name, lower-case. Not the
 * domain itself, not a wildcard (Let's Encrypt's HTTP check cannot cover one), not mail./webmail.
 */
export function checkAlias(domain: string, raw: string | undefined): string {
  let v = (raw ?? '').trim().toLowerCase().replace(/\.$/, '');
  if (v === '') throw new InputError('alias', 'is required');
  const d = domain.toLowerCase();
  if (v === d) throw new InputError('alias', `${d} is your site's own name, not an alias`);
  if (v.startsWith('*')) throw new InputError('alias', 'wildcard aliases are not offered: add each name you need');
  if (!v.endsWith(`.${d}`)) {
    if (v.includes('.')) throw new InputError('alias', `"${printable(v)}" is not under ${d}: an alias must be a name under your own domain, such as shop.${d}`);
    v = `${v}.${d}`;
  }
  if (v.length > HOST_MAX) throw new InputError('alias', `is ${v.length} characters long; a host name has at most ${HOST_MAX}`);
  const labels = v.slice(0, -(d.length + 1)).split('.');
  for (const l of labels) {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l)) {
      throw new InputError('alias', `"${printable(v)}" is not a host name: each part is 1-63 letters, digits and "-" (not first or last)`);
    }
  }
  if (labels.length === 1 && RESERVED.includes(labels[0]!)) throw new InputError('alias', `${v} is your mail server's name and cannot be a web alias`);
  return v;
}

/** The plan's alias limit against what the domain has; the customer's words when one more does not fit. */
export function aliasLimitRefusal(limit: number | 'unlimited', inUse: number): string | null {
  if (limit === 'unlimited' || inUse < limit) return null;
  if (limit === 0) return 'Web aliases are not part of your plan.';
  const plan = `Your plan includes ${limit} web alias${limit === 1 ? '' : 'es'}`;
  return inUse === limit ? `${plan} and ${limit === 1 ? 'it is' : `all ${limit} are`} in use.` : `${plan} and ${inUse} are in use: remove ${inUse - limit + 1} before you add another.`;
}

/**
 * A vanity site's name is one record in the provider's zone, which the customer cannot add to: an
 * alias under it would never resolve, and automatic SSL waits for every name before it renews.
 */
export function vanityRefusal(svc: HostingContext['svc']): string | null {
  if (svc.plan.product.mode !== 'vanity') return null;
  return `New aliases are not offered for ${svc.plan.domain}: its DNS is your provider's, so a new name would not reach your site.`;
}

export type WebPlan = { kind: 'backend' | 'proxy'; template: string } | { kind: 'alias-add' | 'alias-delete'; alias: string };

/** The one step of a web settings action, on the web server (pure: steps.test.ts plans it too). */
export function planWebStep(at: WebPlace, p: WebPlan): PlannedStep {
  const on = { server: at.server, user: at.user, domain: at.domain };
  const target = `server:${at.server}`;
  const one = (s: PlannedStep): PlannedStep => ({ ...s, dependsOn: [] });
  switch (p.kind) {
    case 'backend': return one(plannedStep('web.backend-tpl', 'web.backend-tpl', target, { ...on, template: p.template }));
    case 'proxy': return one(plannedStep('web.proxy-tpl', 'web.proxy-tpl', target, { ...on, template: p.template }));
    case 'alias-add': return one(plannedStep('web.alias-add', 'web.alias-add', target, { ...on, alias: p.alias }));
    case 'alias-delete': return one(plannedStep('web.alias-delete', 'web.alias-delete', target, { ...on, alias: p.alias }));
  }
}

// --- live reads ---------------------------------------------------------------------------------

interface LiveWeb {
  at: WebPlace;
  backend: string;
  proxy: string;
  aliases: string[];
  ssl: boolean;
  backends: string[];
  proxies: string[];
  limit: number | 'unlimited';
}

export const aliasesOf = (raw: string | undefined) => (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== 'none');

async function liveWeb(ctx: HostingContext): Promise<LiveWeb> {
  const at = webPlace(ctx.svc);
  const driver: HestiaDriver = await ctx.hestia(at.server);
  const [domains, backends, proxies] = await Promise.all([driver.listWebDomains(at.user), driver.listWebTemplates('backend'), driver.listWebTemplates('proxy')]);
  const d = domains[at.domain];
  if (!d) throw new InputError('', `Your web domain ${at.domain} is missing on its server; please contact support.`, 409);
  return {
    at, backend: d.BACKEND ?? '', proxy: d.PROXY ?? '', aliases: aliasesOf(d.ALIAS), ssl: d.SSL === 'yes',
    // A node without PHP-FPM or a proxy leaves the domain's field empty: nothing to choose then.
    backends: d.BACKEND ? backends : [], proxies: d.PROXY ? proxies : [],
    limit: extrasOf(ctx.svc.plan.product).web.aliases,
  };
}

// --- the tab ------------------------------------------------------------------------------------

export const webTab: HostingTab = {
  key: 'web',
  title: 'Web settings',
  role: 'web',
  async load(ctx) {
    let live: LiveWeb;
    try {
      live = await liveWeb(ctx);
    } catch (err) {
      // A plan without web is a defect (the tab is not shown then); a node that cannot be read now, or
      // a domain missing on it, shows a notice, not a broken panel.
      if (err instanceof InputError && /no web hosting/.test(err.message)) throw err;
      return { readError: true };
    }
    const vanity = vanityRefusal(ctx.svc);
    const full = vanity ?? aliasLimitRefusal(live.limit, live.aliases.length);
    const opts = (list: string[], have: string) => list.map((t) => ({ value: t, selected: t === have }));
    return {
      domain: live.at.domain,
      backend: live.backend,
      proxy: live.proxy,
      backends: opts(live.backends, live.backend),
      proxies: opts(live.proxies, live.proxy),
      hasBackend: live.backends.length > 0,
      hasProxy: live.proxies.length > 0,
      aliases: live.aliases.map((a) => ({ name: a })),
      empty: live.aliases.length === 0,
      count: live.aliases.length,
      max: live.limit === 'unlimited' ? null : live.limit,
      limitText: live.limit === 'unlimited' ? `${live.aliases.length} in use (no limit)` : `${live.aliases.length} of ${live.limit} in use`,
      full,
      canAdd: full === null,
      dnsOurs: ctx.svc.plan.placement.dns.length > 0,
    };
  },
};

// --- the actions --------------------------------------------------------------------------------

function templateAction(kind: TemplateKind): HostingAction {
  return {
    tab: 'web',
    role: 'web',
    async prepare(ctx, fields): Promise<PreparedAction> {
      const asked = (fields.template ?? '').trim();
      if (asked === '') throw new InputError('template', 'is required');
      const live = await liveWeb(ctx);
      const list = kind === 'backend' ? live.backends : live.proxies;
      const have = kind === 'backend' ? live.backend : live.proxy;
      if (list.length === 0) throw new InputError('template', `your server offers no ${KIND_WORDS[kind]} to choose`, 409);
      if (!list.includes(asked)) throw new InputError('template', `"${printable(asked)}" is not offered by your server: choose one of ${list.join(', ')}`);
      if (asked === have) throw new InputError('template', `your site already has the ${KIND_WORDS[kind]} ${asked}`, 409);
      return {
        operation: kind === 'backend' ? 'web-backend' : 'web-proxy',
        steps: [planWebStep(live.at, { kind, template: asked })],
        message: `Changing the ${KIND_WORDS[kind]} of ${live.at.domain} from ${have} to ${asked}`,
      };
    },
  };
}

const aliasAdd: HostingAction = {
  tab: 'web',
  role: 'web',
  async prepare(ctx, fields): Promise<PreparedAction> {
    const at = webPlace(ctx.svc);
    const vanity = vanityRefusal(ctx.svc);
    if (vanity) throw new InputError('', vanity, 409);
    const alias = checkAlias(at.domain, fields.alias);
    const live = await liveWeb(ctx);
    if (live.aliases.includes(alias)) throw new InputError('alias', `${alias} is already an alias of ${at.domain}`, 409);
    const full = aliasLimitRefusal(live.limit, live.aliases.length);
    if (full) throw new InputError('', full, 409);
    return { operation: 'web-alias-add', steps: [planWebStep(at, { kind: 'alias-add', alias })], message: `Adding the alias ${alias} to ${at.domain}` };
  },
};

const aliasDelete: HostingAction = {
  tab: 'web',
  role: 'web',
  async prepare(ctx, fields): Promise<PreparedAction> {
    const raw = (fields.alias ?? '').trim().toLowerCase();
    if (raw === '') throw new InputError('alias', 'is required');
    const live = await liveWeb(ctx);
    if (!live.aliases.includes(raw)) throw new InputError('alias', `"${printable(raw)}" is not an alias of ${live.at.domain}`, 404);
    return { operation: 'web-alias-delete', steps: [planWebStep(live.at, { kind: 'alias-delete', alias: raw })], message: `Removing the alias ${raw} from ${live.at.domain}` };
  },
};

export const webActions: Record<string, HostingAction> = {
  'web-backend': templateAction('backend'),
  'web-proxy': templateAction('proxy'),
  'web-alias-add': aliasAdd,
  'web-alias-delete': aliasDelete,
};
