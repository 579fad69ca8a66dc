// The Operation Log (chains and task attempts, newest first, paged) and Statistics (usage against
// limits per service, split into Web and Mail columns). Database reads only (reads/reports.ts).
import type { Router } from 'express';
import { page, requireAdmin, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';
import { pageNo } from './services.ts';
import { LOG_MAX_PAGE, operationLog, STATS_PAGE, usageStatistics, type LogKind } from '../reads/reports.ts';

export function addReportPages(r: Router, deps: PageDeps): void {
  const { db } = deps;

  r.get('/admin/log', wrap(async (req, res) => {
    requireAdmin(req);
    const asked = String(req.query.kind);
    const kind: LogKind = asked === 'chains' || asked === 'attempts' || asked === 'actions' ? asked : 'all';
    const pageN = Math.min(pageNo(req.query.page), LOG_MAX_PAGE);
    const log = await operationLog(db, kind, pageN);
    await page(deps, req, res, 'admin-log', {
      title: 'Operation Log', nav: 'log', kind, entries: log.entries, pageN,
      kinds: [{ key: 'all', label: 'Everything' }, { key: 'chains', label: 'Operations (chains)' }, { key: 'attempts', label: 'Task attempts' }, { key: 'actions', label: 'Admin actions' }].map((k) => ({ ...k, active: k.key === kind })),
      prev: pageN > 1 ? pageN - 1 : null, next: log.more && pageN < LOG_MAX_PAGE ? pageN + 1 : null,
    });
  }));

  r.get('/admin/statistics', wrap(async (req, res) => {
    requireAdmin(req);
    const over = req.query.over === '1';
    const pageN = pageNo(req.query.page);
    const { services, more, summary } = await usageStatistics(db, over, pageN);
    const shown = over ? summary.over : summary.services;
    await page(deps, req, res, 'admin-statistics', {
      title: 'Statistics', nav: 'statistics', services, over, pageN,
      prev: pageN > 1 ? pageN - 1 : null, next: more ? pageN + 1 : null,
      first: shown === 0 ? 0 : (pageN - 1) * STATS_PAGE + 1, last: (pageN - 1) * STATS_PAGE + services.length, shown, summary,
    });
  }));
}
