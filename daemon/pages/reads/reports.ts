// What the Operation Log and Statistics read: chains and task attempts merged newest first, and
// usage against limits per service (one page, the totals counted by the database).
import type { Knex } from 'knex';
import { T } from '../../common/tables.ts';
import { globalMasker } from '../../log/mask.ts';
import { serverNames } from './services.ts';

type Row = Record<string, any>;
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const n = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));

export const LOG_PAGE = 50;
export const LOG_MAX_PAGE = 200;
export const STATS_PAGE = 100;

export type LogKind = 'all' | 'chains' | 'attempts' | 'actions';

/** Entries of the log up to the end of the given page (and one more, to know whether a next page exists). */
export async function operationLog(db: Knex, kind: LogKind, page: number) {
  const want = page * LOG_PAGE + 1;
  const [chains, attempts, name, actions] = await Promise.all([
    kind === 'attempts' || kind === 'actions' ? Promise.resolve([] as Row[]) : db(`${T.chains} as c`).leftJoin(`${T.services} as s`, 's.id', 'c.service_id')
      .select('c.*', 's.whmcs_service_id', 's.domain').orderByRaw('coalesce(c.finished_at, c.started_at, c.created_at) desc').orderBy('c.id', 'desc').limit(want),
    kind === 'chains' || kind === 'actions' ? Promise.resolve([] as Row[]) : db(`${T.attempts} as a`).join(`${T.tasks} as t`, 't.id', 'a.task_id').leftJoin(`${T.services} as s`, 's.id', 't.service_id')
      .select('a.id', 'a.task_id', 'a.attempt', 'a.started_at', 'a.finished_at', 'a.duration_ms', 'a.result', 'a.error', 't.type', 't.step', 't.operation', 't.target', 's.whmcs_service_id', 's.domain')
      .orderBy('a.finished_at', 'desc').orderBy('a.id', 'desc').limit(want),
    serverNames(db),
    // What admins did on the pages, and who (the WHMCS admin's name for the pages in WHMCS).
    kind === 'all' || kind === 'actions' ? db(T.adminActions).orderBy('at', 'desc').orderBy('id', 'desc').limit(want) : Promise.resolve([] as Row[]),
  ]);
  const entries = [
    ...chains.map((c: Row) => ({
      chain: true, at: Number(c.finished_at ?? c.started_at ?? c.created_at), id: Number(c.id), what: c.operation, result: c.state,
      service: c.whmcs_service_id, domain: c.domain, started_at: num(c.started_at), finished_at: num(c.finished_at), detail: `${c.step_count} step(s)`,
      error: c.error ? globalMasker.mask(String(c.error)) : null,
    })),
    ...attempts.map((a: Row) => ({
      chain: false, at: Number(a.finished_at), id: Number(a.task_id), what: a.type, result: a.result, service: a.whmcs_service_id, domain: a.domain,
      started_at: num(a.started_at), finished_at: num(a.finished_at), detail: `attempt ${a.attempt} · ${a.step} · ${name(a.target)}`,
      error: a.error ? globalMasker.mask(String(a.error)) : null,
    })),
    ...actions.map((a: Row) => ({
      chain: false, action: true, at: Number(a.at), id: Number(a.id), what: 'admin action', result: a.ok === true || Number(a.ok) === 1 ? 'done' : 'refused',
      actor: String(a.actor), service: null, domain: null, started_at: null, finished_at: null, detail: globalMasker.mask(String(a.message)), error: null,
    })),
  ].sort((x, y) => y.at - x.at || y.id - x.id);
  return { entries: entries.slice((page - 1) * LOG_PAGE, page * LOG_PAGE), more: entries.length > page * LOG_PAGE };
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
