// Read-only views of services for the WHMCS module: a service's state and deployment progress,
// usage figures, and the account list of Server Sync. Database reads only, no remote call.
import type { Knex } from 'knex';
import { T } from '../common/tables.ts';
import { stepLabel } from '../pipelines/steps.ts';
import { dependenciesOf, lanesOf } from '../engine/graph.ts';
import { InputError } from '../common/errors.ts';
import { serviceByWhmcsId } from './store.ts';
import { vmView, type VmView } from './vm-view.ts';
import { trafficOf, type VmTraffic } from './vm-traffic.ts';
import { sslRolesOf } from './ssl-auto.ts';

type Row = Record<string, any>;

export interface StepView {
  /** The step's number from 1, as the engine's messages count ("not run: step 4 (…) failed"). */
  no: number;
  /** The numbers (from 1) of the steps it waits for. */
  after: number[];
  /** Its lane when the chain is drawn: steps in different lanes may run at the same time. */
  lane: number;
  step: string;
  label: string;
  server: string | null;
  status: string;
  attempts: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
}

export interface ServiceView {
  whmcs_service_id: number;
  mode: string;
  state: string;
  domain: string | null;
  username: string | null;
  product_id: number | null;
  client_id: number | null;
  created_at: number;
  updated_at: number;
  accounts: Array<{ role: string; server: string; account: string | null }>;
  progress: null | {
    chain_id: number;
    operation: string;
    state: string;
    done: number;
    total: number;
    /** Every step running now (else every step ready to run), joined with " · ". */
    current: string | null;
    error: string | null;
    steps: StepView[];
  };
  recent: Array<{ label: string; status: string; at: number }>;
  /** A KVM service's VM (mode kvm); absent for hosting services. */
  vm?: VmView | null;
  /** A hosting service's certificates (automatic SSL), per role, in the customer's words; absent for KVM. */
  ssl?: Array<{ role: string; domain: string; names: string[]; state: string; line: string; custom: boolean; frozen: boolean }>;
}

const SHOWN_ERROR = 500;

/** What a chain is doing now: every running step (steps on different servers run at the same time), else every step ready to start. */
export function happeningNow(steps: readonly StepView[]): string | null {
  const running = steps.filter((s) => s.status === 'running' || s.status === 'retrying');
  const now = running.length > 0 ? running : steps.filter((s) => s.status === 'queued');
  return now.length > 0 ? now.map((s) => s.label).join(' · ') : null;
}

export async function serviceView(db: Knex, whmcsServiceId: number): Promise<ServiceView> {
  const svc = await serviceByWhmcsId(db, whmcsServiceId);
  if (!svc) throw new InputError('', `service ${whmcsServiceId} is not known to hostbridge`, 404);
  const [servers, held, chain] = await Promise.all([
    db(T.servers).select('id', 'name'),
    db(T.holdings).where('service_id', svc.id).orderBy(['role', 'server_id']),
    // The chain running now, else the next one waiting, else the last one that ran.
    db(T.chains).where('service_id', svc.id).orderByRaw(`case state when 'running' then 0 when 'waiting' then 1 else 2 end`)
      .orderByRaw(`case when state = 'waiting' then id else -id end`).first(),
  ]);
  const nameOf = new Map<number, string>(servers.map((s: Row) => [Number(s.id), String(s.name)]));
  const vm = svc.mode === 'kvm' && svc.vmPlan ? await vmView(db, svc.id, svc.state, svc.vmPlan) : null;
  // A VM's steps run on its Proxmox node ("pve:<cluster>:<node>"); its address steps on the cluster's pools.
  const serverName = (target: string | null, type?: string, args?: unknown) => {
    if (target?.startsWith('server:')) return nameOf.get(Number(target.slice(7))) ?? target;
    // The move holds the slot of the node it leaves (Proxmox runs its task there); it is named by where the VM goes.
    if (type === 'kvm.migrate') {
      const to = (typeof args === 'string' ? JSON.parse(args) : args as { node?: string } | null)?.node;
      if (typeof to === 'string') return to;
    }
    if (target?.startsWith('pve:')) return target.split(':').slice(2).join(':') || target;
    if (vm && (type === 'kvm.ip' || type === 'kvm.release')) return vm.cluster.name;
    return null;
  };
  // A finished SSL set-up step says where its certificate is now (waiting for DNS, issued, frozen until …), not a bare "done".
  const ssl = svc.mode === 'kvm' ? [] : await sslRolesOf(db, svc.id);
  const sslWord = (t: Row) => {
    if (t.type !== 'ssl.seed' || t.status !== 'succeeded') return null;
    return ssl.find((r) => r.role === (String(t.step).endsWith('.mail') ? 'mail' : 'web'))?.short ?? null;
  };
  // One label per task wherever it is shown (the steps and the recent activity).
  const labelOf = (t: Row) => {
    const label = stepLabel(t.type, serverName(t.target, t.type, t.args));
    const word = sslWord(t);
    return word ? `${label}: ${word}` : label;
  };
  let progress: ServiceView['progress'] = null;
  if (chain) {
    const tasks: Row[] = await db(T.tasks).where('chain_id', chain.id).orderBy('step_no');
    const lanes = lanesOf(tasks.map((t) => ({ step_no: Number(t.step_no), depends_on: t.depends_on ?? null, target: t.target ?? null })));
    const steps = tasks.map((t): StepView => ({
      no: Number(t.step_no) + 1, after: dependenciesOf({ step_no: Number(t.step_no), depends_on: t.depends_on ?? null }).map((d) => d + 1),
      lane: lanes.get(Number(t.step_no)) ?? 0, step: t.step, label: labelOf(t), server: serverName(t.target, t.type, t.args), status: t.status,
      attempts: Number(t.attempts), started_at: t.started_at === null ? null : Number(t.started_at),
      finished_at: t.finished_at === null ? null : Number(t.finished_at), error: t.last_error ? String(t.last_error).slice(0, SHOWN_ERROR) : null,
    }));
    progress = {
      chain_id: Number(chain.id), operation: chain.operation, state: chain.state, done: steps.filter((s) => s.status === 'succeeded').length,
      total: steps.length, current: happeningNow(steps), error: chain.error ? String(chain.error).slice(0, SHOWN_ERROR) : null, steps,
    };
  }
  const recentRows: Row[] = await db(T.tasks).where('service_id', svc.id).orderBy('id', 'desc').limit(10);
  return {
    whmcs_service_id: whmcsServiceId, mode: svc.mode, state: svc.state, domain: svc.domain ?? svc.plan?.domain ?? null, username: svc.username,
    product_id: svc.productId, client_id: svc.clientId, created_at: svc.createdAt, updated_at: svc.updatedAt,
    accounts: held.map((h: Row) => ({ role: h.role, server: nameOf.get(Number(h.server_id)) ?? `#${h.server_id}`, account: h.account })),
    progress,
    recent: recentRows.map((t) => ({ label: labelOf(t), status: t.status, at: Number(t.finished_at ?? t.started_at ?? t.created_at) })),
    ...(vm ? { vm } : {}),
    ...(svc.mode === 'kvm' ? {} : { ssl: ssl.map((r) => ({ role: r.role, domain: r.domain, names: r.names, state: r.state, line: r.customerLine, custom: r.state === 'custom' || r.custom !== null, frozen: r.frozen })) }),
  };
}

export interface UsageView {
  whmcs_service_id: number;
  username: string | null;
  domain: string | null;
  disk_used_mb: number;
  disk_limit_mb: number;
  bw_used_mb: number;
  bw_limit_mb: number;
  collected_at: number | null;
  metrics: { disk_mb: number; bandwidth_mb: number; mailboxes: number; databases: number; web_domains: number; traffic_in_mb?: number; traffic_out_mb?: number; traffic_total_mb?: number };
  /** KVM services only: this month's network traffic from the VM's RRD data (services/vm-traffic.ts). */
  traffic?: { period: string; in_bytes: number; out_bytes: number; total_bytes: number };
}

/**
 * One page of the usage list: the services after `after` (a WHMCS service id), in that order, at
 * most `limit` of them. The API writes the list a page at a time (routes.ts), so 10,000 services
 * never sit in memory at once.
 */
export async function usagePage(db: Knex, whmcsServiceIds: number[] | null, after: number, limit: number): Promise<UsageView[]> {
  let q = db(T.services).leftJoin(`${T.usage} as u`, 'u.service_id', `${T.services}.id`)
    .whereNot(`${T.services}.state`, 'terminated').where(`${T.services}.whmcs_service_id`, '>', after)
    .select(`${T.services}.whmcs_service_id`, `${T.services}.username`, `${T.services}.domain`, 'u.*', `${T.services}.mode as service_mode`, `${T.services}.id as service_row_id`)
    .orderBy(`${T.services}.whmcs_service_id`).limit(limit);
  if (whmcsServiceIds) q = q.whereIn(`${T.services}.whmcs_service_id`, whmcsServiceIds);
  const rows: Row[] = await q;
  const n = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
  const traffic = await trafficOf(db, rows.filter((r) => r.service_mode === 'kvm').map((r) => Number(r.service_row_id)));
  return rows.map((r) => withTraffic(traffic.get(Number(r.service_row_id)), {
    whmcs_service_id: Number(r.whmcs_service_id), username: r.username, domain: r.domain,
    disk_used_mb: n(r.disk_used_mb), disk_limit_mb: n(r.disk_limit_mb), bw_used_mb: n(r.bw_used_mb), bw_limit_mb: n(r.bw_limit_mb),
    collected_at: r.collected_at === null || r.collected_at === undefined ? null : Number(r.collected_at),
    metrics: { disk_mb: n(r.disk_used_mb), bandwidth_mb: n(r.bw_used_mb), mailboxes: n(r.mailboxes), databases: n(r.databases), web_domains: n(r.web_domains) },
  }));
}

/** A KVM service's figures: its month's traffic as bandwidth (MB of 1024² bytes) and as the three traffic metrics. Hosting rows pass unchanged. */
function withTraffic(t: VmTraffic | undefined, v: UsageView): UsageView {
  if (!t) return v;
  const mb = (b: number) => Math.round((b / 1048576) * 1000) / 1000;
  const total = t.bytesIn + t.bytesOut;
  return {
    ...v, bw_used_mb: Math.round(total / 1048576), collected_at: t.collectedAt,
    metrics: { ...v.metrics, bandwidth_mb: mb(total), traffic_in_mb: mb(t.bytesIn), traffic_out_mb: mb(t.bytesOut), traffic_total_mb: mb(total) },
    traffic: { period: t.period, in_bytes: Math.round(t.bytesIn), out_bytes: Math.round(t.bytesOut), total_bytes: Math.round(total) },
  };
}

export interface AccountView {
  whmcs_service_id: number;
  domain: string | null;
  username: string | null;
  email: string | null;
  product_id: number | null;
  state: string;
  primary_ip: string | null;
  created_at: string;
}

function sqlDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** One page of the accounts list for Server Sync, as usagePage pages the usage. */
export async function accountsPage(db: Knex, after: number, limit: number): Promise<AccountView[]> {
  // The web server's address comes with each row from a subquery rather than from a second list
  // of every holding matched in memory.
  const primaryIp = db(`${T.holdings} as h`).join(`${T.servers} as s`, 's.id', 'h.server_id')
    .whereRaw(`h.service_id = ${T.services}.id`).whereIn('h.role', ['web', 'all']).orderBy('h.server_id').limit(1).select('s.ip');
  // Only the listed columns: a service's plan (params) is kilobytes, and this lists every service.
  const rows: Row[] = await db(T.services).whereIn('state', ['active', 'suspended', 'deploying']).where('whmcs_service_id', '>', after)
    .orderBy('whmcs_service_id').limit(limit)
    .select('whmcs_service_id', 'domain', 'username', 'email', 'product_id', 'state', 'created_at', primaryIp.as('primary_ip'));
  return rows.map((r: Row) => ({
    whmcs_service_id: Number(r.whmcs_service_id), domain: r.domain, username: r.username, email: r.email,
    product_id: r.product_id === null ? null : Number(r.product_id), state: r.state, primary_ip: r.primary_ip === null || r.primary_ip === undefined ? null : String(r.primary_ip),
    created_at: sqlDate(Number(r.created_at)),
  }));
}
