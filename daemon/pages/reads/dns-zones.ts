// What the DNS Zones page reads: every zone a hosting service publishes (its DNS holdings), with
// each DNS server's state, record count and last change. The state comes from the zone's row
// (published, suspended, removed) unless a zone step of the service on that server is still to
// run or was the last to fail: then that step says it (publishing, suspending, removing, failed).
import type { Knex } from 'knex';
import { T } from '../../common/tables.ts';
import { globalMasker } from '../../log/mask.ts';

type Row = Record<string, any>;

export const ZONES_PAGE = 50;
export const ZONE_STATES = ['published', 'publishing', 'suspended', 'suspending', 'unsuspending', 'removing', 'removed', 'failed', 'not published'] as const;
export type ZoneState = (typeof ZONE_STATES)[number];

/** The task types that change a service's zone on a server. */
const ZONE_TASKS = ['dns.zone', 'dns.zone-state', 'dns.zone-delete', 'dns.record-publish'];
const PENDING = ['waiting', 'queued', 'running'];

export interface ZoneOnServer {
  serverId: number; server: string; state: ZoneState; badge: string; records: number | null;
  updatedAt: number | null; error: string | null; taskId: number | null;
}
export interface ZoneRow {
  serviceId: number; whmcsServiceId: number; zone: string; serviceState: string;
  servers: ZoneOnServer[]; records: number | null; updatedAt: number | null; busy: boolean;
}

/** The badge class (ui.css) of a zone state. */
function badgeOf(s: ZoneState): string {
  if (s === 'published') return 'active';
  if (s === 'failed') return 'failed';
  if (s === 'suspended' || s === 'removed' || s === 'not published') return 'suspended';
  return 'running';
}

/** What a pending zone task is doing. */
function pendingState(type: string, args: Row | null): ZoneState {
  if (type === 'dns.zone-delete') return 'removing';
  if (type === 'dns.zone-state') return args?.state === 'unsuspend' ? 'unsuspending' : 'suspending';
  return 'publishing';
}

function parse(v: unknown): Row | null {
  try {
    const a = typeof v === 'string' ? JSON.parse(v) : v;
    return a && typeof a === 'object' ? a as Row : null;
  } catch {
    return null;
  }
}

/** One zone on one server, from its row and the service's latest zone task there. */
function stateOf(row: Row | undefined, task: Row | undefined): { state: ZoneState; error: string | null } {
  if (task && PENDING.includes(String(task.status))) return { state: pendingState(String(task.type), parse(task.args)), error: null };
  if (task && task.status === 'failed') return { state: 'failed', error: task.last_error ? globalMasker.mask(String(task.last_error)).slice(0, 500) : null };
  if (!row) return { state: 'not published', error: null };
  const s = String(row.state);
  // pending: a customer's record change waits for this server (it was down); its retry publishes it.
  return { state: s === 'deployed' ? 'published' : s === 'suspended' ? 'suspended' : s === 'removed' ? 'removed' : s === 'pending' ? 'publishing' : 'failed', error: row.last_error ?? null };
}

/** Every zone (newest service first), each with its DNS servers; filtered in memory, since the state is derived. */
async function allZones(db: Knex): Promise<ZoneRow[]> {
  const [held, rows, latest] = await Promise.all([
    db(`${T.holdings} as h`).join(`${T.services} as s`, 's.id', 'h.service_id').leftJoin(`${T.servers} as v`, 'v.id', 'h.server_id')
      .where('h.role', 'dns').whereNot('s.state', 'terminated')
      .select('h.service_id', 'h.server_id', 's.whmcs_service_id', 's.domain', 's.state', 'v.name')
      .orderBy([{ column: 's.whmcs_service_id', order: 'desc' }, { column: 'v.name' }]),
    db(T.dnsZones).select('service_id', 'server_id', 'zone', 'state', 'records', 'last_error', 'updated_at'),
    db(T.tasks).whereIn('type', ZONE_TASKS).whereNotNull('service_id').groupBy('service_id', 'target').select('service_id', 'target').max({ id: 'id' }),
  ]);
  const tasks: Row[] = latest.length ? await db(T.tasks).whereIn('id', latest.map((r: Row) => Number(r.id)))
    .select('id', 'service_id', 'target', 'type', 'args', 'status', 'last_error', 'created_at', 'finished_at') : [];
  const rowBy = new Map(rows.map((r: Row) => [`${r.service_id}@${r.server_id}`, r]));
  const taskBy = new Map(tasks.map((t: Row) => [`${t.service_id}@${String(t.target).replace(/^server:/, '')}`, t]));
  const zones = new Map<number, ZoneRow>();
  for (const h of held as Row[]) {
    const key = `${h.service_id}@${h.server_id}`;
    const row = rowBy.get(key);
    const task = taskBy.get(key);
    const { state, error } = stateOf(row, task);
    const at = Math.max(Number(row?.updated_at ?? 0), Number(task?.finished_at ?? task?.created_at ?? 0)) || null;
    const z = zones.get(Number(h.service_id)) ?? {
      serviceId: Number(h.service_id), whmcsServiceId: Number(h.whmcs_service_id), zone: String(row?.zone ?? h.domain), serviceState: String(h.state),
      servers: [], records: null, updatedAt: null, busy: false,
    };
    z.servers.push({
      serverId: Number(h.server_id), server: h.name ? String(h.name) : `#${h.server_id} (removed)`, state, badge: badgeOf(state),
      records: row ? Number(row.records) : null, updatedAt: at, error, taskId: task ? Number(task.id) : null,
    });
    if (row) z.records = Math.max(z.records ?? 0, Number(row.records));
    if (at) z.updatedAt = Math.max(z.updatedAt ?? 0, at);
    if (badgeOf(state) === 'running') z.busy = true;
    zones.set(z.serviceId, z);
  }
  return [...zones.values()];
}

export interface ZoneFilters { server: number | null; state: string; page: number }

/** One page of zones with the filter choices: the DNS servers, and the zones counted by per-server state. */
export async function dnsZonesPage(db: Knex, f: ZoneFilters) {
  const [zones, servers] = await Promise.all([
    allZones(db),
    db(T.servers).where('cap_dns', 1).orderBy('name').select('id', 'name'),
  ]);
  const counts = new Map<string, number>();
  for (const z of zones) for (const s of z.servers) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  const matching = zones.filter((z) => z.servers.some((s) => (f.server === null || s.serverId === f.server) && (!f.state || s.state === f.state)));
  const start = (f.page - 1) * ZONES_PAGE;
  return {
    zones: matching.slice(start, start + ZONES_PAGE), total: matching.length,
    servers: servers.map((s: Row) => ({ id: Number(s.id), name: String(s.name) })),
    byState: ZONE_STATES.filter((s) => counts.has(s)).map((s) => ({ state: s, badge: badgeOf(s), n: counts.get(s)! })),
  };
}

/** What force terminates left on servers and nobody has marked cleaned up yet, newest first (at most 200). */
export async function leftoversToClean(db: Knex) {
  const rows: Row[] = await db(T.leftovers).whereNull('cleaned_at').orderBy('id', 'desc').limit(200);
  return rows.map((r) => ({
    id: Number(r.id), whmcsServiceId: Number(r.whmcs_service_id), domain: String(r.domain), role: String(r.role),
    server: String(r.server), account: r.account === null ? null : String(r.account), createdAt: Number(r.created_at),
  }));
}

/** Marks one leftover cleaned up (the admin removed it by hand); returns what it was, or null when there is none to mark. */
export async function markLeftoverCleaned(db: Knex, id: number, by: string, at: number): Promise<{ role: string; server: string; account: string | null; domain: string } | null> {
  const row: Row | undefined = await db(T.leftovers).where('id', id).whereNull('cleaned_at').first();
  if (!row) return null;
  const n = await db(T.leftovers).where('id', id).whereNull('cleaned_at').update({ cleaned_at: at, cleaned_by: by.slice(0, 200) });
  return n ? { role: String(row.role), server: String(row.server), account: row.account ?? null, domain: String(row.domain) } : null;
}
