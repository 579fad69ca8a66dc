// The admin's Hosting tab of a hosting service (issue 13): one card per role the service has (web,
// mail, DNS) with its Hestia user, its server, its usage against the plan's limits (the Overview's
// gauges) and its SSL state (the SSL tab's rows); below, the customer's hosting panel tabs rendered
// for the admin. Their forms post to /ui/admin/services/:id/hosting (pages' CSRF), which runs the
// customer's own dispatcher with the admin as the actor (via ui), so the same checks apply and the
// Operation Log names the admin.
import type { Router } from 'express';
import type { Knex } from 'knex';
import { InputError } from '../../common/errors.ts';
import { FleetAccess } from '../../fleet/access.ts';
import { hostingContext, hostingStateRefusal, ownedHostingService, runHostingAction, type HestiaOpener, type HostingService } from '../../services/hosting-panel/dispatch.ts';
import { HOSTING_ACTIONS, HOSTING_TABS } from '../../services/hosting-panel/tabs.ts';
import { actorOf } from '../auth.ts';
import { act, idParam, requireAdmin, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';
import { hostingBusy, visibleTabs } from '../hosting-panel/panel.ts';
import { sslTab } from './ssl.ts';

/** How long one page read of a node may take before the tab says it cannot be read now. */
const PAGE_READ_MS = 15_000;

/** The gauges each role's card shows (the Overview's keys); disk is the plan's whole. */
const ROLE_GAUGES: Readonly<Record<string, readonly string[]>> = {
  web: ['disk', 'bandwidth', 'domains', 'databases', 'ftp', 'cron'],
  mail: ['mailboxes'],
  dns: [],
};

type Gauge = { key: string };

export function pageHestia(deps: PageDeps): HestiaOpener {
  let fleet: FleetAccess | null = null;
  return async (serverId) => {
    // The daemon's own SSH pool; a second one only where the app was built without it (tests).
    fleet ??= deps.fleet ?? new FleetAccess(deps.db, deps.masterKey, deps.logger);
    const io = { log: (line: string) => deps.logger.debug(`admin hosting tab read: ${line}`), signal: AbortSignal.timeout(PAGE_READ_MS) };
    return (await fleet.hestia(serverId, io)).driver;
  };
}

async function serverNames(db: Knex, ids: number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db('mod_hostbridge_servers').whereIn('id', ids).select('id', 'name');
  return new Map(rows.map((s: { id: number; name: string }) => [Number(s.id), String(s.name)]));
}

/** The roles the service has, each with its Hestia user and server(s). */
function roleCardsOf(svc: HostingService) {
  const { placement: p, names: n, product } = svc.plan;
  const out: Array<{ role: 'web' | 'mail' | 'dns'; title: string; user: string | null; servers: number[] }> = [];
  const web = p.unified ?? p.web;
  const mail = p.unified ?? p.mail;
  const uni = p.unified !== null;
  if (product.roles.web && web !== null) out.push({ role: 'web', title: 'Web', user: (uni ? n.users.all : n.users.web) ?? null, servers: [web] });
  if (product.roles.mail && mail !== null) out.push({ role: 'mail', title: 'Mail', user: (uni ? n.users.all : n.users.mail) ?? null, servers: [mail] });
  if (product.roles.dns && p.dns.length > 0) out.push({ role: 'dns', title: 'DNS', user: n.users.dns ?? null, servers: [...p.dns] });
  return out;
}

/** Everything the Hosting tab shows: the role cards, the customer's tabs and the chosen tab's view. */
export async function hostingAdminTab(deps: PageDeps, hestia: HestiaOpener, whmcsServiceId: number, tabKey: string): Promise<Record<string, unknown>> {
  let svc: HostingService;
  try {
    svc = await ownedHostingService(deps.db, whmcsServiceId, null);
  } catch (err) {
    // Not placed yet (pending) or not hosting: the tab says why instead of failing the page.
    if (err instanceof InputError) return { error: err.message };
    throw err;
  }
  const ctx = hostingContext(deps.db, svc, hestia);
  const cards = roleCardsOf(svc);
  const [names, ssl, overview, busy] = await Promise.all([
    serverNames(deps.db, [...new Set(cards.flatMap((c) => c.servers))]),
    sslTab(deps.db, whmcsServiceId),
    HOSTING_TABS[0]!.load(ctx).catch(() => null),
    hostingBusy(deps.db, svc),
  ]);
  const gauges = ((overview?.gauges ?? []) as Gauge[]);
  const tabs = visibleTabs(svc).filter((t) => t.key !== 'overview');
  const tab = tabs.find((t) => t.key === tabKey) ?? tabs[0] ?? null;
  let view: Record<string, unknown> = {};
  let readError = false;
  if (tab) {
    try {
      view = await tab.load(ctx);
    } catch {
      readError = true;
    }
  }
  // The admin acts as the customer would: the same state and busy locks (the dispatcher enforces them too).
  const lock = hostingStateRefusal(svc.state) ?? (busy.busy ? `${busy.message} The actions are available again when it ends.` : null);
  return {
    domain: svc.plan.domain, state: svc.state, lock, busy: busy.busy, prog: busy.prog, readError,
    cards: cards.map((c) => ({
      ...c, servers: c.servers.map((id) => ({ id, name: names.get(id) ?? `#${id}` })),
      gauges: gauges.filter((g) => ROLE_GAUGES[c.role]!.includes(g.key)),
      ssl: ssl.filter((s) => String(s.role) === c.role),
    })),
    tabs: tabs.map((t) => ({ key: t.key, title: t.title, active: t.key === tab?.key, href: `/ui/admin/services/${whmcsServiceId}?tab=hosting&htab=${t.key}` })),
    tab: tab?.key ?? null, partial: tab ? `hp-${tab.key}` : null, view,
    collectedAt: overview?.collectedAt ?? null,
    // The customer's partials post their forms to @root.action (docs/hosting-panel.md, "Writing a tab").
    action: `/ui/admin/services/${whmcsServiceId}/hosting`,
  };
}

/** The form's hosting panel fields (hbf_name → name), as the module forwards them. */
function fieldsOf(body: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) {
    const m = /^hbf_([a-z][a-z0-9_]{0,39})$/.exec(k);
    if (!m) continue;
    if (typeof v !== 'string') throw new InputError(m[1]!, 'must be one value');
    if (v.length > 4096) throw new InputError(m[1]!, 'must be at most 4096 characters');
    out[m[1]!] = v;
  }
  return out;
}

export function addHostingPages(r: Router, deps: PageDeps, hestia: HestiaOpener): void {
  r.post('/admin/services/:id/hosting', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'service');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const action = typeof body.hb_action === 'string' ? body.hb_action.slice(0, 40) : '';
    const tab = typeof body.htab === 'string' && /^[a-z-]{1,20}$/.test(body.htab) ? body.htab : (Object.hasOwn(HOSTING_ACTIONS, action) ? HOSTING_ACTIONS[action]!.tab : '');
    await act(deps, s, res, `/ui/admin/services/${id}?tab=hosting${tab ? `&htab=${tab}` : ''}`, async () => {
      const r2 = await runHostingAction({ queue: deps.queue, masterKey: deps.masterKey, hestia }, id, action, fieldsOf(body), { actor: actorOf(s), via: 'ui' }, null);
      deps.onTick?.();
      return `Service ${id}: ${r2.message} (chain #${r2.chainId}, on the customer's behalf).`;
    }, { logged: true });
  }));
}
