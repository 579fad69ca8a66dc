// The Operation Log (finished attempts, chains and admin/customer actions from its own table,
// newest first, paged, filtered by kind, service and server) and Statistics (usage against limits
// per service, split into Web and Mail columns). Database reads only (reads/reports.ts).
import type { Router } from 'express';
import { page, requireAdmin, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';
import { pageNo } from './services.ts';
import { LOG_KINDS, LOG_MAX_PAGE, operationLog, operationLogChoices, STATS_PAGE, usageStatistics, type LogFilters, type LogKind } from '../reads/reports.ts';

const KIND_LABELS: Record<LogKind, string> = { all: 'Everything', chains: 'Operations (chains)', attempts: 'Task attempts', actions: 'Admin actions' };
const SERVICE = /^[1-9][0-9]{0,9}$/;
const SERVER = /^[1-9][0-9]{0,9}$/;
// A Proxmox node as a task's target names it: pve:<cluster id>:<node name> (a host name).
const PVE_NODE = /^pve:[1-9][0-9]{0,9}:[A-Za-z0-9]([A-Za-z0-9.-]{0,48}[A-Za-z0-9])?$/;

/** The filters as asked (text, for the form and the links) and as checked; each bad one is named. */
export function logFilters(query: Record<string, unknown>): { asked: { kind: string; service: string; server: string }; f: LogFilters; problems: string[] } {
  const text = (k: string) => (typeof query[k] === 'string' ? String(query[k]).trim() : '');
  const asked = { kind: text('kind'), service: text('service'), server: text('server') };
  const problems: string[] = [];
  let kind: LogKind = 'all';
  if (asked.kind !== '') {
    if ((LOG_KINDS as readonly string[]).includes(asked.kind)) kind = asked.kind as LogKind;
    else problems.push(`kind must be one of ${LOG_KINDS.join(', ')}; got "${asked.kind.slice(0, 30)}".`);
  }
  let service: number | null = null;
  if (asked.service !== '') {
    if (SERVICE.test(asked.service) && Number(asked.service) <= 2_147_483_647) service = Number(asked.service);
    else problems.push(`service must be a WHMCS service id (a whole number from 1); got "${asked.service.slice(0, 30)}".`);
  }
  let target: string | null = null;
  if (asked.server !== '') {
    if (SERVER.test(asked.server) && Number(asked.server) <= 2_147_483_647) target = `server:${asked.server}`;
    else if (PVE_NODE.test(asked.server)) target = asked.server;
    else problems.push(`server must be a server's id or a Proxmox node (pve:<cluster id>:<node>), as the list offers; got "${asked.server.slice(0, 30)}".`);
  }
  return { asked: { ...asked, kind }, f: { kind, service, target }, problems };
}

export function addReportPages(r: Router, deps: PageDeps): void {
  const { db } = deps;

  r.get('/admin/log', wrap(async (req, res) => {
    requireAdmin(req);
    const { asked, f, problems } = logFilters(req.query as Record<string, unknown>);
    const pageN = Math.min(pageNo(req.query.page), LOG_MAX_PAGE);
    const choices = await operationLogChoices(db);
    // A bad filter shows the page with what was wrong, nothing listed (a 400, never a 500).
    const log = problems.length ? { entries: [], more: false } : await operationLog(db, f, pageN);
    const link = (changes: Record<string, string>) => {
      const q = new URLSearchParams(Object.entries({ kind: asked.kind === 'all' ? '' : asked.kind, service: asked.service, server: asked.server, ...changes }).filter(([, v]) => v !== ''));
      const s = q.toString();
      return `/ui/admin/log${s ? `?${s}` : ''}`;
    };
    const targets = choices.targets.map((t) => ({ ...t, selected: t.value === asked.server }));
    if (asked.server !== '' && !targets.some((t) => t.selected) && problems.length === 0) targets.push({ value: asked.server, label: `${asked.server} (not in the inventory now)`, selected: true });
    await page(deps, req, res, 'admin-log', {
      title: 'Operation Log', nav: 'log', kind: asked.kind, entries: log.entries, pageN, asked, problems, targets,
      filtered: asked.service !== '' || asked.server !== '', retentionDays: choices.retentionDays,
      kinds: LOG_KINDS.map((k) => ({ key: k, label: KIND_LABELS[k], active: k === asked.kind, href: link({ kind: k === 'all' ? '' : k }) })),
      prev: pageN > 1 ? link({ page: String(pageN - 1) }) : null, next: log.more && pageN < LOG_MAX_PAGE ? link({ page: String(pageN + 1) }) : null,
      clear: link({ service: '', server: '' }),
    }, problems.length ? 400 : 200);
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
