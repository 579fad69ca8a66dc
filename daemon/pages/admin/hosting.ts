// The admin's Hosting tab of a hosting service (issue 13): one card per role the service has (web,
// mail, DNS) with its Hestia user, its server, its usage against the plan's limits (the Overview's
// gauges) and its SSL state (the SSL tab's rows); below, the customer's hosting panel tabs rendered
// for the admin. Their forms post to /ui/admin/services/:id/hosting (pages' CSRF), which runs the
// customer's own dispatcher with the admin as the actor (via ui), so the same checks apply and the
// Operation Log names the admin. After a form the tab follows the action's chain (?chain=N): its
// steps as they run (the customer panel's live answer, hosting-panel/live.ts, polled as JSON by the
// page's script), the failing step's error with a link to its task, then the tab again, refreshed.
import type { Router } from 'express';
import type { Knex } from 'knex';
import { InputError } from '../../common/errors.ts';
import { T } from '../../common/tables.ts';
import { FleetAccess } from '../../fleet/access.ts';
import { hostingContext, hostingStateRefusal, ownedHostingService, runHostingAction, type HestiaOpener, type HostingService } from '../../services/hosting-panel/dispatch.ts';
import { HOSTING_ACTIONS, HOSTING_TABS } from '../../services/hosting-panel/tabs.ts';
import { actorOf, setFlash } from '../auth.ts';
import { back, idParam, renderError, requireAdmin, UiError, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';
import { hostingBusy, visibleTabs } from '../hosting-panel/panel.ts';
import { hostingLive } from '../hosting-panel/live.ts';
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

/** A step of the chain the tab follows; the task id and error are for the admin only. */
export interface FollowedStep { no: number; label: string; status: string; word: string; taskId: number; error: string | null; href: string }

/** The chain an admin's form started, as the tab follows it. */
export interface FollowedChain {
  chainId: number;
  operation: string;
  state: string;
  /** Queued or running: the page keeps following it. */
  active: boolean;
  steps: FollowedStep[];
  done: number;
  /** Ended other than succeeded: what failed, in the admin's words, and the task to open. */
  failure: null | { text: string; href: string | null };
  /** Where the page's script polls (GET, the admin's session; the daemon's own pages only). */
  liveUrl: string;
}

const SHOWN_ERROR = 500;
const ACTIVE = ['running', 'waiting'];

/**
 * The chain #chainId of the service (null when it is not one of this service's: nothing leaks).
 * The step labels, states and words are the customer panel's live answer (hostingLive) when it shows
 * this chain, i.e. no other chain of the service is queued, running or newer; else the steps' names.
 * Each step's task id and error come from the chain's tasks: the admin opens them in Tasks.
 */
export async function followedChain(db: Knex, svc: HostingService, whmcsServiceId: number, chainId: number): Promise<FollowedChain | null> {
  const chain = await db(T.chains).where({ id: chainId, service_id: svc.id }).first('id', 'operation', 'state', 'error');
  if (!chain) return null;
  const live = await hostingLive(db, whmcsServiceId, null);
  const [fresh, tasks, other] = await Promise.all([
    db(T.chains).where('id', chainId).first('state', 'error'),
    db(T.tasks).where('chain_id', chainId).orderBy('step_no').select('id', 'step_no', 'step', 'status', 'last_error'),
    db(T.chains).where('service_id', svc.id).whereNot('id', chainId).where((q) => q.whereIn('state', ACTIVE).orWhere('id', '>', chainId)).first('id'),
  ]);
  const shown = !other && live.progress !== null && live.progress.steps.length === tasks.length ? live.progress.steps : null;
  const steps = tasks.map((t: Record<string, any>, i: number): FollowedStep => {
    const status = shown ? shown[i]!.status : String(t.status);
    return {
      no: i + 1, label: shown ? shown[i]!.label : String(t.step), status, word: shown ? shown[i]!.word : status, taskId: Number(t.id),
      error: String(t.status) === 'failed' && t.last_error ? String(t.last_error).slice(0, SHOWN_ERROR) : null, href: `/ui/admin/tasks/${Number(t.id)}`,
    };
  });
  const state = String(fresh?.state ?? chain.state);
  const active = ACTIVE.includes(state);
  let failure: FollowedChain['failure'] = null;
  if (!active && state !== 'succeeded') {
    const bad = steps.find((s) => s.error !== null) ?? steps.find((s) => s.status === 'failed');
    const why = bad?.error ?? (fresh?.error ? String(fresh.error).slice(0, SHOWN_ERROR) : null);
    const said = why ? `: ${why.replace(/[.\s]*$/, '')}.` : '.';
    const rest = bad && bad.no < steps.length ? ' The steps after it did not run.' : '';
    failure = bad
      ? { text: `Step ${bad.no} (${bad.label}) failed${said}${rest}`, href: bad.href }
      : { text: `The action ${state === 'cancelled' ? 'was cancelled' : 'failed'}${said}`, href: null };
  }
  return {
    chainId, operation: String(chain.operation), state, active, steps, done: steps.filter((s) => s.status === 'succeeded').length, failure,
    liveUrl: `/ui/admin/services/${whmcsServiceId}/hosting/live?chain=${chainId}`,
  };
}

/** The ?chain= the tab follows, or null when there is none or it is not a chain id. */
function chainParam(v: unknown): number | null {
  const n = typeof v === 'string' && /^[1-9][0-9]{0,15}$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

/** Everything the Hosting tab shows: the role cards, the customer's tabs and the chosen tab's view. */
export async function hostingAdminTab(deps: PageDeps, hestia: HestiaOpener, whmcsServiceId: number, tabKey: string, chain?: unknown): Promise<Record<string, unknown>> {
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
  const chainId = chainParam(chain);
  const [names, ssl, overview, busy, followed] = await Promise.all([
    serverNames(deps.db, [...new Set(cards.flatMap((c) => c.servers))]),
    sslTab(deps.db, whmcsServiceId),
    HOSTING_TABS[0]!.load(ctx).catch(() => null),
    hostingBusy(deps.db, svc),
    chainId === null ? null : followedChain(deps.db, svc, whmcsServiceId, chainId),
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
    domain: svc.plan.domain, state: svc.state, lock, busy: busy.busy, prog: busy.prog, readError, followed,
    // Where the page goes when the followed chain ends: this tab again, read afresh, still naming the chain.
    followedUrl: followed ? `/ui/admin/services/${whmcsServiceId}?tab=hosting&htab=${tab?.key ?? ''}&chain=${followed.chainId}` : null,
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
    const to = `/ui/admin/services/${id}?tab=hosting${tab ? `&htab=${tab}` : ''}`;
    // As act() (http.ts), but the page after it follows the chain the action queued, so its id goes in
    // the link. The dispatcher records the action itself (with the admin as actor): only the flash here.
    let chainId: number;
    try {
      const r2 = await runHostingAction({ queue: deps.queue, masterKey: deps.masterKey, hestia }, id, action, fieldsOf(body), { actor: actorOf(s), via: 'ui' }, null);
      deps.onTick?.();
      chainId = r2.chainId;
      await setFlash(deps.db, s, `Service ${id}: ${r2.message} (chain #${r2.chainId}, on the customer's behalf).`, 'ok');
    } catch (err) {
      if (!(err instanceof InputError || err instanceof UiError)) throw err;
      await setFlash(deps.db, s, err.message, 'error');
      back(res, to);
      return;
    }
    back(res, `${to}&chain=${chainId}`);
  }));

  // The followed chain's progress for the page's script: JSON, read-only, the admin's own session. In
  // WHMCS the addon embeds pages as HTML and runs no page script, so there the page reloads itself instead.
  r.get('/admin/services/:id/hosting/live', wrap(async (req, res) => {
    requireAdmin(req);
    if (req.embed) return renderError(deps, req, res, 404, 'The live progress is read by the daemon\'s own pages; in WHMCS the page refreshes itself.');
    const id = idParam(req.params.id, 'service');
    const chainId = chainParam(req.query.chain);
    if (chainId === null) throw new InputError('chain', 'must be the id of a chain of this service');
    const svc = await ownedHostingService(deps.db, id, null);
    const followed = await followedChain(deps.db, svc, id, chainId);
    if (!followed) throw new InputError('chain', `chain ${chainId} is not a chain of service ${id}`, 404);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ ok: true, ...followed });
  }));
}
