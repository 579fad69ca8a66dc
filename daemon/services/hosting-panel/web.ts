// The hosting panel's Web settings tab: the service's web domain's backend (PHP) template, its proxy
// template and its aliases (HestiaCP's v-list-web-templates-backend / -proxy, v-change-web-domain-
// backend-tpl / -proxy-tpl, v-add-web-domain-alias / v-delete-web-domain-alias; reference §2, §8.6).
// The customer picks among the templates the node offers; an alias must be a host name under the
// service's own domain (HestiaCP takes any name not used elsewhere on the node, but an alias for a
// domain the customer does not control would let them claim someone else's site). The limit is the
// plan's web aliases (hosting plan web.aliases = the package's WEB_ALIASES), counted live from the
// domain's ALIAS list as HestiaCP counts it. The steps are planned by planWebStep (pure) and run by
// handlers/hosting/panel-web.ts, which also keeps automatic SSL's certificate names in step.
// An alias in the service's own zone gets an A record (the web server's address) on every DNS server
// of the service, published after the alias and removed with it (planAliasDns); an alias the zone
// cannot hold gets none, and the tab tells the customer to point it at the server's address.
import { InputError } from '../../common/errors.ts';
import { T } from '../../common/tables.ts';
import type { HestiaDriver } from '../../drivers/hestia/index.ts';
import { extrasOf } from '../../pipelines/hosting-plan.ts';
import { dnsUser } from '../../pipelines/plan.ts';
import { zoneRecords } from '../../pipelines/records.ts';
import { plannedStep, type PlannedStep } from '../../pipelines/steps.ts';
import type { HostingAction, HostingContext, HostingTab, PreparedAction } from './types.ts';
import { storedRecords } from './dns.ts';
import { aliasInZone, webSettings } from './web-settings.ts';

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

/** The service's zone and its DNS servers (each with the Hestia user holding the zone), or null: a vanity site or a plan without DNS has no zone of its own. */
export function aliasZone(svc: HostingContext['svc']): { domain: string; servers: Array<{ server: number; user: string | null }> } | null {
  const plan = svc.plan;
  if (plan.product.mode === 'vanity') return null;
  const servers = [...new Set(plan.placement.dns)].map((server) => ({ server, user: dnsUser(plan, server) }));
  return servers.length ? { domain: plan.domain, servers } : null;
}

/** Names the zone's managed records already use (www, mail…): an alias there keeps them and gets no A of its own. */
export const MANAGED_NAMES = new Set(zoneRecords({ domain: 'x.invalid', webIp: '192.0.2.1', mailIp: '192.0.2.1', nameservers: [], dkim: 'x' }).map((r) => r.name));

/**
 * After the alias step (index `after` in the chain): the alias's A record published on each DNS
 * server side by side, then saved once all hold it (pure: steps.test.ts plans it too).
 */
export function planAliasDns(zone: NonNullable<ReturnType<typeof aliasZone>>, alias: string, change: 'add' | 'delete', after: number): PlannedStep[] {
  const publish = zone.servers.map(({ server, user }) => ({
    ...plannedStep('web.alias-dns', `web.alias-dns.${server}`, `server:${server}`, { server, user, domain: zone.domain, alias, change }), dependsOn: [after],
  }));
  const save = { ...plannedStep('web.alias-dns-save', 'web.alias-dns-save', null, { domain: zone.domain, alias, change }), dependsOn: publish.map((_, i) => after + 1 + i) };
  return [...publish, save];
}

/** Whether the zone publishes an A record for the alias: inside it, and the name neither the zone's own (www) nor holding the customer's records (they decide where it points). */
async function aliasGetsRecord(ctx: HostingContext, zone: NonNullable<ReturnType<typeof aliasZone>>, alias: string): Promise<boolean> {
  const name = aliasInZone(zone.domain, alias);
  if (name === null || MANAGED_NAMES.has(name)) return false;
  return !(await storedRecords(ctx.db, ctx.svc.id)).some((r) => r.name === name);
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

const STATE_WORDS: Record<string, string> = { deployed: 'published', pending: 'pending', failed: 'failed', removed: 'removed', suspended: 'suspended' };

/** Each alias's DNS as the tab shows it: its A record's state per DNS server (as the DNS tab shows the zone's), or where to point it. */
async function aliasDns(ctx: HostingContext, at: WebPlace, aliases: string[]): Promise<{ of: (alias: string) => Record<string, unknown>; orphans: string[] }> {
  const zone = aliasZone(ctx.svc);
  const ids = zone?.servers.map((s) => s.server) ?? [];
  const [settings, web, zones, servers, own] = await Promise.all([
    webSettings(ctx.db, ctx.svc.id),
    ctx.db(T.servers).where('id', at.server).first('ip'),
    zone ? ctx.db(T.dnsZones).where({ service_id: ctx.svc.id, zone: zone.domain }).select('server_id', 'state') : Promise.resolve([]),
    ids.length ? ctx.db(T.servers).whereIn('id', ids).select('id', 'name') : Promise.resolve([]),
    aliases.length && zone ? storedRecords(ctx.db, ctx.svc.id) : Promise.resolve([]),
  ]);
  const ip = web?.ip ? String(web.ip) : null;
  const perServer = ids.map((server) => {
    const state = String(zones.find((z: { server_id: number }) => Number(z.server_id) === server)?.state ?? 'pending');
    return { server: String(servers.find((x: { id: number }) => Number(x.id) === server)?.name ?? `server ${server}`), state: STATE_WORDS[state] ?? state };
  });
  // Records of aliases the site no longer has (a redeploy starts the web domain afresh): listed so they can be removed or the alias added again.
  const orphans = settings.dnsAliases.filter((a) => !aliases.includes(a));
  const of = (alias: string): Record<string, unknown> => {
    const name = zone ? aliasInZone(zone.domain, alias) : null;
    if (orphans.includes(alias)) return { dnsState: 'orphan', servers: perServer, pointAt: null, dnsNote: `your site no longer answers on ${alias}: add the alias again, or remove it to drop its DNS record` };
    if (settings.dnsAliases.includes(alias)) return { dnsState: 'published', servers: perServer, pointAt: null, dnsNote: null };
    if (name !== null && MANAGED_NAMES.has(name)) return { dnsState: 'zone', servers: [], pointAt: null, dnsNote: 'answered by your domain\'s DNS records' };
    const why = !zone ? 'your domain\'s DNS is not hosted with your plan'
      : name === null ? `it is not in your domain ${zone.domain}`
        : own.some((r) => r.name === name) ? 'it has DNS records of your own'
          : 'it has no DNS record here';
    return { dnsState: 'point', servers: [], pointAt: ip, dnsNote: `${why}: point ${alias} at ${ip ?? 'your web server'} (an A record) where its DNS is kept` };
  };
  return { of, orphans };
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
    const dns = await aliasDns(ctx, live.at, live.aliases);
    return {
      domain: live.at.domain,
      backend: live.backend,
      proxy: live.proxy,
      backends: opts(live.backends, live.backend),
      proxies: opts(live.proxies, live.proxy),
      hasBackend: live.backends.length > 0,
      hasProxy: live.proxies.length > 0,
      aliases: [...live.aliases, ...dns.orphans].map((a) => ({ name: a, ...dns.of(a) })),
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
    const steps = [planWebStep(at, { kind: 'alias-add', alias })];
    const zone = aliasZone(ctx.svc);
    const record = zone !== null && (await aliasGetsRecord(ctx, zone, alias));
    if (record) steps.push(...planAliasDns(zone, alias, 'add', 0));
    return { operation: 'web-alias-add', steps, message: `Adding the alias ${alias} to ${at.domain}${record ? ' and its DNS record' : ''}` };
  },
};

const aliasDelete: HostingAction = {
  tab: 'web',
  role: 'web',
  async prepare(ctx, fields): Promise<PreparedAction> {
    const raw = (fields.alias ?? '').trim().toLowerCase();
    if (raw === '') throw new InputError('alias', 'is required');
    const live = await liveWeb(ctx);
    const zone = aliasZone(ctx.svc);
    const record = zone !== null && (await webSettings(ctx.db, ctx.svc.id)).dnsAliases.includes(raw);
    // An alias whose DNS record outlived it on the site (a redeploy) can still be removed: its record goes.
    if (!live.aliases.includes(raw) && !record) throw new InputError('alias', `"${printable(raw)}" is not an alias of ${live.at.domain}`, 404);
    const steps = [planWebStep(live.at, { kind: 'alias-delete', alias: raw })];
    if (record) steps.push(...planAliasDns(zone, raw, 'delete', 0));
    return { operation: 'web-alias-delete', steps, message: `Removing the alias ${raw} from ${live.at.domain}${record ? ' and its DNS record' : ''}` };
  },
};

export const webActions: Record<string, HostingAction> = {
  'web-backend': templateAction('backend'),
  'web-proxy': templateAction('proxy'),
  'web-alias-add': aliasAdd,
  'web-alias-delete': aliasDelete,
};
