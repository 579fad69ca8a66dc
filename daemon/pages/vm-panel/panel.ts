// The customer's VM panel inside the WHMCS client area (issue 16): one tab's HTML, rendered here and
// carried by the module (POST /v1/services/{id}/panel), so the customer's browser only ever talks to
// WHMCS. Every form posts to the module's VmAction custom function with WHMCS's CSRF token; every
// link is a WHMCS client-area link. What the product allows (its KVM profile's client features)
// decides the tabs; a suspended service or an action in progress disables every form and says why.
import type { Knex } from 'knex';
import { InputError } from '../../common/errors.ts';
import { T } from '../../common/tables.ts';
import { getKvmProfile } from '../../fleet/kvm-profiles.ts';
import { serviceView, type ServiceView } from '../../services/reads.ts';
import { serviceByWhmcsId, type ServiceRecord } from '../../services/store.ts';
import { backupDays, runsOfService, WEEKDAYS } from '../../services/vm-backups.ts';
import { CLIENT_FEATURES, panelSettingsOf, type ClientFeature, type ClientPanelSettings } from '../../services/vm-panel-types.ts';
import { vmRecord } from '../../services/vm-store.ts';
import { progressOf } from '../progress.ts';
import { formatTime, render } from '../render.ts';
import { VmReads } from './cluster-reads.ts';
import { panelExtras } from './extras.ts';
import { buildGraphs, GRAPH_H, GRAPH_TIMEFRAMES, GRAPH_W, type GraphTimeframe } from './graphs.ts';

/** The tabs in order, each shown when the product allows its feature (null: always). */
export const PANEL_TABS: ReadonlyArray<{ id: string; label: string; feature: ClientFeature | null }> = [
  { id: 'overview', label: 'Overview', feature: null },
  { id: 'snapshots', label: 'Snapshots', feature: 'snapshots' },
  { id: 'backups', label: 'Backups', feature: 'backups' },
  { id: 'graphs', label: 'Graphs', feature: 'graphs' },
  { id: 'reinstall', label: 'Reinstall', feature: 'reinstall' },
  { id: 'network', label: 'Network', feature: null },
  { id: 'firewall', label: 'Firewall', feature: 'firewall' },
  { id: 'iso', label: 'ISO', feature: 'iso' },
  { id: 'password', label: 'Password', feature: 'password' },
  { id: 'console', label: 'Console', feature: 'console' },
];

export interface PanelRequest {
  /** The WHMCS client logged in (the module passes $params['userid']); it must own the service. */
  client_id: number;
  tab: string;
  /** The product details page the links and forms go back to (clientarea.php?action=productdetails&id=N). */
  base?: string;
  /** WHMCS's CSRF token of the client's session, put in every form. */
  token?: string;
  timeframe?: string;
}

const ACTIVE_RUN = ['queued', 'starting', 'running'];

/** The KVM service of a WHMCS id as its owner sees it: another client's service is "not found", like WHMCS says. */
export async function ownedVmService(db: Knex, whmcsServiceId: number, clientId: number | undefined): Promise<ServiceRecord> {
  const svc = await serviceByWhmcsId(db, whmcsServiceId);
  // A row written without its client (older orders) is left to WHMCS, which has checked the owner already.
  if (!svc || (clientId !== undefined && svc.clientId !== null && svc.clientId !== clientId)) throw new InputError('', `service ${whmcsServiceId} was not found`, 404);
  if (svc.mode !== 'kvm' || !svc.vmPlan) throw new InputError('', `service ${whmcsServiceId} is not a virtual server`, 409);
  return svc;
}

export async function settingsOf(db: Knex, svc: ServiceRecord): Promise<ClientPanelSettings> {
  const profile = await getKvmProfile(db, svc.vmPlan!.spec.profileId);
  return profile ? panelSettingsOf(profile) : { features: [...CLIENT_FEATURES], isos: [], firewallRules: 0 };
}

/** What runs on the VM now, in the customer's words, or null: a chain of the service, or a backup or restore. */
export interface Busy {
  busy: boolean;
  message: string | null;
  prog: ReturnType<typeof progressOf>;
  chainState: string | null;
  view: ServiceView;
}

export async function busyOf(db: Knex, svc: ServiceRecord): Promise<Busy> {
  const view = await serviceView(db, svc.whmcsServiceId);
  const prog = progressOf(view);
  const base = { prog, chainState: view.progress?.state ?? null, view };
  if (prog.phase === 'busy' || prog.phase === 'deploying') {
    return { ...base, busy: true, message: `${labelOfOperation(prog.operation)} is in progress${prog.current ? `: ${prog.current}` : ''}.` };
  }
  const run = (await runsOfService(db, svc.id, 5)).find((r) => ACTIVE_RUN.includes(r.state));
  if (run) return { ...base, busy: true, message: run.kind === 'restore' ? 'A backup is being restored.' : 'A backup is being taken.' };
  return { ...base, busy: false, message: null };
}

function labelOfOperation(op: string | null): string {
  const words: Record<string, string> = {
    deploy: 'The deployment', redeploy: 'A rebuild', start: 'A start', stop: 'A stop', shutdown: 'A shutdown', reboot: 'A reboot',
    suspend: 'A suspension', unsuspend: 'A reactivation', 'change-package': 'A package change', 'change-password': 'A password change',
  };
  return op ? words[op] ?? `The action "${op}"` : 'An action';
}

/** Why the service's state keeps the forms off, or null (an action in progress says so in its own box). */
function stateLockOf(state: string): string | null {
  if (state === 'suspended') return 'This service is suspended, so its virtual server cannot be changed. Please contact us or pay the open invoice to reactivate it.';
  if (state === 'deploying') return 'Your virtual server is still being set up.';
  if (state !== 'active') return `This service is ${state}; its virtual server cannot be changed.`;
  return null;
}

const bytesText = (n: number | undefined) => {
  if (n === undefined || !Number.isFinite(n)) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = n;
  while (x >= 1024 && i < u.length - 1) {
    x /= 1024;
    i++;
  }
  return `${i === 0 || x >= 10 ? Math.round(x) : x.toFixed(1)} ${u[i]}`;
};

const uptimeText = (s: number) => (s >= 86400 ? `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h` : s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min` : `${Math.floor(s / 60)} min`);

export async function renderVmPanel(deps: { db: Knex; masterKey: Buffer }, whmcsServiceId: number, req: PanelRequest): Promise<{ html: string; refresh_s: number | null }> {
  const { db, masterKey } = deps;
  const svc = await ownedVmService(db, whmcsServiceId, req.client_id);
  const settings = await settingsOf(db, svc);
  const allowed = (f: ClientFeature | null) => f === null || settings.features.includes(f);
  const tabs = PANEL_TABS.filter((t) => allowed(t.feature));
  const tabId = tabs.some((t) => t.id === req.tab) ? req.tab : 'overview';
  const base = req.base ?? `clientarea.php?action=productdetails&id=${whmcsServiceId}`;
  const busy = await busyOf(db, svc);
  const lockNote = stateLockOf(svc.state);
  const vm = busy.view.vm!;
  const row = await vmRecord(db, svc.id);
  const spec = svc.vmPlan!.spec;
  const reads = row?.vmid ? new VmReads(db, masterKey, { clusterId: row.clusterId, vmid: row.vmid, node: row.node }) : null;
  const data: Record<string, unknown> = {
    tab: tabId, tabs: tabs.map((t) => ({ ...t, active: t.id === tabId, href: `${base}&hbtab=${t.id}` })),
    is: { [tabId]: true }, vm, lock: lockNote !== null || busy.busy, lockNote, busy: busy.busy, busyMessage: busy.message, prog: busy.prog,
    token: req.token ?? '', action: `${base}&modop=custom&a=VmAction`, liveUrl: `${base}&modop=custom&a=VmLive`,
    consoleUrl: `${base}&modop=custom&a=VmConsole`, tabUrl: `${base}&hbtab=${tabId}`,
    can: Object.fromEntries(CLIENT_FEATURES.map((f) => [f, settings.features.includes(f)])), noVm: !reads,
  };
  try {
    if (reads) await fillTab(tabId, data, { db, svc, reads, settings, spec, base, timeframe: req.timeframe, whmcsServiceId });
  } finally {
    await reads?.close();
  }
  const html = render('whmcs/vm-panel', data).trim() + '\n';
  return { html, refresh_s: busy.busy ? 5 : null };
}

interface TabContext {
  db: Knex;
  svc: ServiceRecord;
  reads: VmReads;
  settings: ClientPanelSettings;
  spec: NonNullable<ServiceRecord['vmPlan']>['spec'];
  base: string;
  timeframe: string | undefined;
  whmcsServiceId: number;
}

async function fillTab(tab: string, data: Record<string, unknown>, c: TabContext): Promise<void> {
  switch (tab) {
    case 'overview': {
      const st = await c.reads.status();
      data.live = st.ok ? {
        status: st.value.status, name: st.value.name ?? null, uptime: st.value.uptime > 0 ? uptimeText(st.value.uptime) : '—', cpu: `${(st.value.cpu * 100).toFixed(1)} %`,
        mem: `${bytesText(st.value.mem)} of ${bytesText(st.value.maxmem)}`, disk: `${bytesText(st.value.maxdisk)}`,
        net: `${bytesText(st.value.netin)} in · ${bytesText(st.value.netout)} out`,
      } : null;
      data.liveError = st.ok ? null : st.why;
      return;
    }
    case 'snapshots': {
      const list = await c.reads.snapshots();
      data.snapshots = list.ok ? list.value.map((s) => ({ ...s, taken: s.snaptime ? formatTime(s.snaptime * 1000) : '—' })) : null;
      data.readError = list.ok ? null : list.why;
      data.quota = c.spec.snapshots;
      data.full = list.ok && list.value.length >= c.spec.snapshots;
      return;
    }
    case 'backups': {
      const [list, days, runs] = await Promise.all([c.reads.backups(), backupDays(c.db, c.svc.id), runsOfService(c.db, c.svc.id, 10)]);
      data.backups = list.ok ? list.value.archives.map((b) => ({
        volid: b.volid, file: b.volid.split('/').pop(), size: bytesText(b.size), taken: b.ctime ? formatTime(b.ctime * 1000) : '—', protected: !!b.protected,
      })) : null;
      data.readError = list.ok ? null : list.why;
      data.quota = c.spec.backups;
      data.days = WEEKDAYS.map((d, i) => ({ day: d, on: days.includes(i) }));
      data.runs = runs.map((r) => ({ kind: r.kind, state: r.state, started: formatTime(r.startedAt ?? r.createdAt), finished: formatTime(r.finishedAt) }));
      return;
    }
    case 'graphs': {
      const tf: GraphTimeframe = (GRAPH_TIMEFRAMES as readonly string[]).includes(c.timeframe ?? '') ? c.timeframe as GraphTimeframe : 'hour';
      const rrd = await c.reads.rrd(tf);
      data.timeframes = GRAPH_TIMEFRAMES.map((t) => ({ id: t, active: t === tf, href: `${c.base}&hbtab=graphs&hbtf=${t}` }));
      data.timeframe = tf;
      data.graphs = rrd.ok ? buildGraphs(rrd.value).map((g) => ({ ...g, fromText: formatTime(g.from * 1000), toText: formatTime(g.to * 1000) })) : null;
      data.readError = rrd.ok ? null : rrd.why;
      data.w = GRAPH_W;
      data.h = GRAPH_H;
      return;
    }
    case 'reinstall':
      data.oses = await reinstallChoices(c);
      return;
    case 'network':
    case 'firewall':
    case 'iso': {
      const x = await panelExtras(c.db, c.whmcsServiceId);
      const vm = data.vm as { addresses: Array<{ ip: string }> };
      data.addresses = vm.addresses.map((a) => ({ ...a, rdns: x.rdns.get(a.ip)?.name ?? null, customRdns: x.rdns.get(a.ip)?.custom ?? false }));
      data.rules = x.firewallRules.map((r) => ({ ...r, text: Object.entries(r).filter(([k]) => k !== 'comment').map(([k, v]) => `${k}=${v}`).join(' ') }));
      data.rulesLimit = c.settings.firewallRules;
      data.rulesJson = JSON.stringify(x.firewallRules, null, 2);
      data.isos = c.settings.isos.map((i) => ({ volid: i, name: i.split('/').pop(), mounted: i === x.iso }));
      data.mountedIso = x.iso;
      return;
    }
    default:
  }
}

/** The product's OS templates the cluster offers now, by their label; the installed one first chosen. */
async function reinstallChoices(c: TabContext): Promise<Array<{ slug: string; label: string; current: boolean }>> {
  const p = await getKvmProfile(c.db, c.spec.profileId);
  const rows = await c.db(T.pveTemplates).where('cluster_id', c.svc.vmPlan!.clusterId).whereIn('slug', p ? p.os_templates : [c.spec.os]).select('slug', 'label', 'enabled');
  return rows.filter((r: Record<string, unknown>) => !!Number(r.enabled)).map((r: Record<string, unknown>) => ({ slug: String(r.slug), label: String(r.label || r.slug), current: r.slug === c.spec.os }))
    .sort((a, b) => a.label.localeCompare(b.label));
}
