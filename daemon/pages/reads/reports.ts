// What the Operation Log and Statistics read: the log's own table (mod_hostbridge_operation_log,
// written by the engine as work finishes, so it outlives the queue's clean-up), filtered and paged
// newest first; and usage against limits per service (one page, the totals counted by the database).
import type { Knex } from 'knex';
import { T } from '../../common/tables.ts';
import { globalMasker } from '../../log/mask.ts';
import { readSettings } from '../../settings/settings.ts';

type Row = Record<string, any>;
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const n = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));

export const LOG_PAGE = 50;
export const LOG_MAX_PAGE = 200;
export const STATS_PAGE = 100;

export type LogKind = 'all' | 'chains' | 'attempts' | 'actions';
export const LOG_KINDS: readonly LogKind[] = ['all', 'chains', 'attempts', 'actions'];
const KIND_OF: Record<Exclude<LogKind, 'all'>, string> = { chains: 'chain', attempts: 'attempt', actions: 'action' };

/** The log's filters, each checked: a WHMCS service id, a task target ("server:7", "pve:1:node2"). */
export interface LogFilters { kind: LogKind; service: number | null; target: string | null }

/** One page of the log, newest first, and whether an older page exists. */
export async function operationLog(db: Knex, f: LogFilters, page: number) {
  const rows: Row[] = await db(T.oplog).modify((b) => {
    if (f.kind !== 'all') b.where('kind', KIND_OF[f.kind]);
    if (f.service !== null) b.where('whmcs_service_id', f.service);
    if (f.target !== null) b.where('target', f.target);
  }).orderBy('at', 'desc').orderBy('id', 'desc').limit(LOG_PAGE + 1).offset((page - 1) * LOG_PAGE);
  const entries = rows.slice(0, LOG_PAGE).map((r) => {
    const base = {
      at: Number(r.at), chain: r.kind === 'chain', action: r.kind === 'action', result: String(r.result), actor: r.actor ?? null,
      service: num(r.whmcs_service_id), domain: r.domain ?? null, server: r.target_name ?? null, target: r.target ?? null,
      started_at: num(r.started_at), finished_at: num(r.finished_at), error: r.error ? globalMasker.mask(String(r.error)) : null,
    };
    if (r.kind === 'chain') return { ...base, id: num(r.chain_id), what: r.operation, detail: `${n(r.step_count)} step(s)` };
    if (r.kind === 'action') return { ...base, id: Number(r.id), what: r.actor && /^WHMCS client /.test(String(r.actor)) ? 'customer action' : 'admin action', detail: globalMasker.mask(String(r.message ?? '')) };
    return { ...base, id: num(r.task_id), what: r.type, detail: `attempt ${n(r.attempt)} · ${r.operation} · ${r.step}` };
  });
  return { entries, more: rows.length > LOG_PAGE };
}

/**
 * What the server filter offers: the servers (by id), and the Proxmox nodes tasks run on, as
 * their targets name them ("pve:<cluster>:<node>"), with the log's current retention.
 */
export async function operationLogChoices(db: Knex) {
  const [servers, nodes, settings] = await Promise.all([
    db(T.servers).select('id', 'name').orderBy('name'),
    db(`${T.pveNodes} as n`).join(`${T.pveClusters} as c`, 'c.id', 'n.cluster_id').select('n.cluster_id', 'n.name', 'c.name as cluster').orderBy(['c.name', 'n.name']),
    readSettings(db),
  ]);
  return {
    targets: [
      ...servers.map((s: Row) => ({ value: String(s.id), label: String(s.name) })),
      ...nodes.map((p: Row) => ({ value: `pve:${Number(p.cluster_id)}:${p.name}`, label: `${p.name} (${p.cluster})` })),
    ],
    retentionDays: Number(settings['oplog.retention_days']),
  };
}

const OVER_LIMIT = '((u.disk_limit_mb > 0 and u.disk_used_mb > u.disk_limit_mb) or (u.bw_limit_mb > 0 and u.bw_used_mb > u.bw_limit_mb))';

/**
 * One page of usage per live service, with Web and Mail columns from the per-role parts, and the
 * totals over every live service. Paged: a fleet of 10,000 services is STATS_PAGE rows, not 10,000.
 * `over` keeps the services past a limit.
 */
export async function usageStatistics(db: Knex, over: boolean, page: number) {
  const live = () => db(`${T.services} as s`).leftJoin(`${T.usage} as u`, 'u.service_id', 's.id').whereNot('s.state', 'terminated');
  const [totals, rows] = await Promise.all([
    // Aliases are unquoted in raw SQL: none may be a reserved word of either dialect (DATABASES is MariaDB's).
    live().first(db.raw(`count(*) as services, count(u.collected_at) as collected, coalesce(sum(u.disk_used_mb), 0) as disk, coalesce(sum(u.bw_used_mb), 0) as bw,
        coalesce(sum(u.mailboxes), 0) as mailboxes, coalesce(sum(u.databases), 0) as database_n, coalesce(sum(case when ${OVER_LIMIT} then 1 else 0 end), 0) as over_n`)),
    (over ? live().whereRaw(OVER_LIMIT) : live()).select('s.id as sid', 's.whmcs_service_id', 's.domain', 's.state', 's.mode', 'u.*').orderBy('s.whmcs_service_id')
      .limit(STATS_PAGE + 1).offset((page - 1) * STATS_PAGE),
  ]);
  const more = rows.length > STATS_PAGE;
  rows.splice(STATS_PAGE);
  const parts = rows.length === 0 ? [] : await db(T.usageParts).whereIn('service_id', rows.map((r: Row) => r.sid))
    .select('service_id', 'role').sum({ disk: 'disk_mb', bw: 'bw_mb', mailboxes: 'mailboxes', databases: 'databases', domains: 'web_domains' })
    .groupBy('service_id', 'role');
  const byService = new Map<number, Record<string, Row>>();
  for (const p of parts as Row[]) {
    const m = byService.get(Number(p.service_id)) ?? {};
    m[p.role] = p;
    byService.set(Number(p.service_id), m);
  }
  const services = rows.map((r: Row) => {
    const p = byService.get(Number(r.sid)) ?? {};
    const web = [p.web, p.all].filter(Boolean);
    const mail = [p.mail].filter(Boolean);
    const total = (list: Row[], k: string) => list.reduce((a, x) => a + n(x[k]), 0);
    const collected = r.collected_at !== null && r.collected_at !== undefined;
    return {
      id: Number(r.whmcs_service_id), domain: r.domain, state: r.state, mode: r.mode, collected, collected_at: num(r.collected_at), split: !!(p.web || p.mail || p.all),
      web: { disk: total(web, 'disk'), bw: total(web, 'bw'), databases: total(web, 'databases'), domains: total(web, 'domains') },
      mail: { disk: total(mail, 'disk'), mailboxes: total(mail, 'mailboxes') + (p.all ? n(p.all.mailboxes) : 0) },
      disk_used: n(r.disk_used_mb), disk_limit: n(r.disk_limit_mb), bw_used: n(r.bw_used_mb), bw_limit: n(r.bw_limit_mb),
      mailboxes: n(r.mailboxes), databases: n(r.databases),
      over: (n(r.disk_limit_mb) > 0 && n(r.disk_used_mb) > n(r.disk_limit_mb)) || (n(r.bw_limit_mb) > 0 && n(r.bw_used_mb) > n(r.bw_limit_mb)),
    };
  });
  return {
    services, more,
    summary: {
      services: n(totals?.services), collected: n(totals?.collected), disk: n(totals?.disk), bw: n(totals?.bw),
      mailboxes: n(totals?.mailboxes), databases: n(totals?.database_n), over: n(totals?.over_n),
    },
  };
}
