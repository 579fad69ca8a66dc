// The customer's hosting panel inside the WHMCS client area (issue 13): one tab's HTML, rendered here
// and carried by the module (POST /v1/services/{id}/hosting-panel), so the customer's browser only
// talks to WHMCS. Tabs are shown for the roles the product has (tabs.ts, dispatch.ts roleOn); the
// tab's view model is read live by tab.load; a suspended service or an action in progress disables
// every form and says why; the running chain's progress is shown and followed (the VM panel's partial
// and script). Forms post to the module's HostingAction function with WHMCS's CSRF token.
import type { Knex } from 'knex';
import { hostingBusyWith, hostingContext, hostingStateRefusal, ownedHostingService, roleOn, type HestiaOpener, type HostingService } from '../../services/hosting-panel/dispatch.ts';
import { HOSTING_TABS } from '../../services/hosting-panel/tabs.ts';
import { render } from '../render.ts';
import { busyOf } from '../vm-panel/panel.ts';

export interface HostingPanelRequest {
  /** The WHMCS client logged in (the module passes $params['userid']); it must own the service. */
  client_id: number;
  tab: string;
  /** The product details page the links and forms go back to (clientarea.php?action=productdetails&id=N). */
  base?: string;
  /** WHMCS's CSRF token of the client's session, put in every form. */
  token?: string;
}

export interface HostingPanelDeps { db: Knex; hestia: HestiaOpener }

/** The tabs this service's product shows, in order. */
export function visibleTabs(svc: HostingService) {
  return HOSTING_TABS.filter((t) => roleOn(svc.plan, t.role));
}

/** What runs on the service now, for the panel and its live poll. */
export async function hostingBusy(db: Knex, svc: HostingService) {
  const [b, what] = await Promise.all([busyOf(db, svc), hostingBusyWith(db, svc.id)]);
  const message = what ? `Your hosting is busy with ${what}${b.prog.current ? `: ${b.prog.current}` : ''}.` : null;
  return { busy: what !== null, message, prog: b.prog, chainState: b.chainState };
}

export async function renderHostingPanel(deps: HostingPanelDeps, whmcsServiceId: number, req: HostingPanelRequest): Promise<{ html: string; refresh_s: number | null }> {
  const svc = await ownedHostingService(deps.db, whmcsServiceId, req.client_id);
  const tabs = visibleTabs(svc);
  const tab = tabs.find((t) => t.key === req.tab) ?? tabs[0]!;
  // Only the module's own page: a base that is anything else falls back to it.
  const base = typeof req.base === 'string' && /^clientarea\.php\?action=productdetails&id=\d+$/.test(req.base) ? req.base : `clientarea.php?action=productdetails&id=${whmcsServiceId}`;
  const token = typeof req.token === 'string' ? req.token.replace(/[^A-Za-z0-9]/g, '') : '';
  const busy = await hostingBusy(deps.db, svc);
  // The forms are off while suspended or busy; the busy reason is the progress box's own title.
  const lockNote = hostingStateRefusal(svc.state);
  let view: Record<string, unknown> = {};
  let readError = false;
  try {
    view = await tab.load(hostingContext(deps.db, svc, deps.hestia));
  } catch {
    readError = true;
  }
  const data: Record<string, unknown> = {
    tab: tab.key, partial: `hp-${tab.key}`, view, readError, domain: svc.plan.domain,
    tabs: tabs.map((t) => ({ key: t.key, title: t.title, active: t.key === tab.key, href: `${base}&hbtab=${t.key}` })),
    lock: lockNote !== null || busy.busy, lockNote, busy: busy.busy, busyMessage: busy.message, prog: busy.prog, failed: svc.state === 'failed' && !busy.busy,
    token, base, action: `${base}&hbtab=${tab.key}&modop=custom&a=HostingAction`, liveUrl: `${base}&modop=custom&a=HostingLive`, tabUrl: `${base}&hbtab=${tab.key}`,
  };
  const html = render('whmcs/hosting-panel', data).trim() + '\n';
  return { html, refresh_s: busy.busy ? 5 : null };
}
