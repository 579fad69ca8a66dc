// The Operation Log (chains and task attempts, newest first, paged) and Statistics (usage against
// limits per service, split into Web and Mail columns). Database reads only.
import type { Router } from 'express';
import { T } from '../../common/tables.ts';
import { globalMasker } from '../../log/mask.ts';
import { page, requireAdmin, wrap, type UiDeps } from '../http.ts';
import { pageNo, serverNames } from './services.ts';

type Row = Record<string, any>;
const PAGE = 50;
const MAX_PAGE = 200;
const STATS_PAGE = 100;
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export function addReportPages(r: Router, deps: UiDeps): void {
  const { db } = deps;

  r.get('/admin/log', wrap(async (req, res) => {
    requireAdmin(req);
    const kind = ['chains', 'attempts'].includes(String(req.query.kind)) ? String(req.query.kind) : 'all';
    const pageN = Math.min(pageNo(req.query.page), MAX_PAGE);
    const want = pageN * PAGE + 1;
    const [chains, attempts] = await Promise.all([
      kind === 'attempts' ? Promise.resolve([] as Row[]) : db(`${T.chains} as c`).leftJoin(`${T.services} as s`, 's.id', 'c.service_id')
        .select('c.*', 's.whmcs_service_id', 's.domain').orderByRaw('coalesce(c.finished_at, c.started_at, c.created_at) desc').orderBy('c.id', 'desc').limit(want),
      kind === 'chains' ? Promise.resolve([] as Row[]) : db(`${T.attempts} as a`).join(`${T.tasks} as t`, 't.id', 'a.task_id').leftJoin(`${T.services} as s`, 's.id', 't.service_id')
        .select('a.id', 'a.task_id', 'a.attempt', 'a.started_at', 'a.finished_at', 'a.duration_ms', 'a.result', 'a.error', 't.type', 't.step', 't.operation', 't.target', 's.whmcs_service_id', 's.domain')
        .orderBy('a.finished_at', 'desc').orderBy('a.id', 'desc').limit(want),
    ]);
    const name = await serverNames(db);
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
    ].sort((x, y) => y.at - x.at || y.id - x.id);
    const slice = entries.slice((pageN - 1) * PAGE, pageN * PAGE);
    await page(deps, req, res, 'admin-log', {
      title: 'Operation Log', nav: 'log', kind, entries: slice, pageN,
      kinds: [{ key: 'all', label: 'Everything' }, { key: 'chains', label: 'Operations (chains)' }, { key: 'attempts', label: 'Task attempts' }].map((k) => ({ ...k, active: k.key === kind })),
      prev: pageN > 1 ? pageN - 1 : null, next: entries.length > pageN * PAGE && pageN < MAX_PAGE ? pageN + 1 : null,
    });
  }));

  r.get('/admin/statistics', wrap(async (req, res) => {
    requireAdmin(req);
    // Paged, with the summary counted by the database: a fleet of 10,000 services is one page of
    // STATS_PAGE rows, not a 10,000-row table. "over" keeps the services past a limit.
    const over = req.query.over === '1';
    const pageN = pageNo(req.query.page);
    const overLimit = "((u.disk_limit_mb > 0 and u.disk_used_mb > u.disk_limit_mb) or (u.bw_limit_mb > 0 and u.bw_used_mb > u.bw_limit_mb))";
    const live = () => db(`${T.services} as s`).leftJoin(`${T.usage} as u`, 'u.service_id', 's.id').whereNot('s.state', 'terminated');
    const [totals, rows] = await Promise.all([
      live().first(db.raw(`count(*) as services, count(u.collected_at) as collected, coalesce(sum(u.disk_used_mb), 0) as disk, coalesce(sum(u.bw_used_mb), 0) as bw,
          coalesce(sum(u.mailboxes), 0) as mailboxes, coalesce(sum(u.databases), 0) as databases, coalesce(sum(case when ${overLimit} then 1 else 0 end), 0) as over_n`)),
      (over ? live().whereRaw(overLimit) : live()).select('s.id as sid', 's.whmcs_service_id', 's.domain', 's.state', 's.mode', 'u.*').orderBy('s.whmcs_service_id')
        .limit(STATS_PAGE + 1).offset((pageN - 1) * STATS_PAGE),
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
    const n = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
    const services = rows.map((r: Row) => {
      const p = byService.get(Number(r.sid)) ?? {};
      const web = [p.web, p.all].filter(Boolean);
      const mail = [p.mail].filter(Boolean);
      const sum = (list: Row[], k: string) => list.reduce((a, x) => a + n(x[k]), 0);
      const collected = r.collected_at !== null && r.collected_at !== undefined;
      return {
        id: Number(r.whmcs_service_id), domain: r.domain, state: r.state, mode: r.mode, collected, collected_at: num(r.collected_at), split: !!(p.web || p.mail || p.all),
        web: { disk: sum(web, 'disk'), bw: sum(web, 'bw'), databases: sum(web, 'databases'), domains: sum(web, 'domains') },
        mail: { disk: sum(mail, 'disk'), mailboxes: sum(mail, 'mailboxes') + (p.all ? n(p.all.mailboxes) : 0) },
        disk_used: n(r.disk_used_mb), disk_limit: n(r.disk_limit_mb), bw_used: n(r.bw_used_mb), bw_limit: n(r.bw_limit_mb),
        mailboxes: n(r.mailboxes), databases: n(r.databases),
        over: (n(r.disk_limit_mb) > 0 && n(r.disk_used_mb) > n(r.disk_limit_mb)) || (n(r.bw_limit_mb) > 0 && n(r.bw_used_mb) > n(r.bw_limit_mb)),
      };
    });
    const shown = over ? n(totals?.over_n) : n(totals?.services);
    await page(deps, req, res, 'admin-statistics', {
      title: 'Statistics', nav: 'statistics', services, over, pageN,
      prev: pageN > 1 ? pageN - 1 : null, next: more ? pageN + 1 : null,
      first: shown === 0 ? 0 : (pageN - 1) * STATS_PAGE + 1, last: (pageN - 1) * STATS_PAGE + services.length, shown,
      summary: {
        services: n(totals?.services), collected: n(totals?.collected), disk: n(totals?.disk), bw: n(totals?.bw),
        mailboxes: n(totals?.mailboxes), databases: n(totals?.databases), over: n(totals?.over_n),
      },
    });
  }));
}
