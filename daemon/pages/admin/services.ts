// The admin's service pages: the list of services (with queue and fleet counts), and the service
// panel with its Deploy tab (status, progress, the latest chain's timeline with a bar per step on
// one time axis, the latest chains, Redeploy) and its
// Tasks tab (every task of the service, each opening its attempt logs), its SSL tab (ssl.ts) and,
// for a hosting service, its Hosting tab (hosting.ts).
import type { Router } from 'express';
import { serviceOperation } from '../../services/lifecycle.ts';
import { act, idParam, page, requireAdmin, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';
import { viewOf } from '../customer.ts';
import { progressOf } from '../progress.ts';
import { AXIS, timelineOf } from '../timeline.ts';
import { SERVICE_STATES, SERVICES_PAGE, serviceHistory, servicesPage } from '../reads/services.ts';
import { addSslPages, sslTab } from './ssl.ts';
import { addHostingPages, hostingAdminTab, pageHestia } from './hosting.ts';

/** The page number asked for (1 when it is not a sensible one). */
export function pageNo(v: unknown): number {
  const n = Number(v ?? 1);
  return Number.isInteger(n) && n >= 1 && n <= 10000 ? n : 1;
}

export function addServicePages(r: Router, deps: PageDeps): void {
  const { db } = deps;
  const hestia = pageHestia(deps);
  const hostingData = async (id: number, htab: string, chain: unknown) => {
    const hosting = await hostingAdminTab(deps, hestia, id, htab, chain);
    return { hosting, action: hosting.action };
  };

  r.get('/admin', wrap(async (req, res) => {
    requireAdmin(req);
    const state = SERVICE_STATES.includes(String(req.query.state ?? '')) ? String(req.query.state) : '';
    const q = String(req.query.q ?? '').trim().slice(0, 100);
    const pageN = pageNo(req.query.page);
    const found = await servicesPage(db, { state, q, page: pageN });
    await page(deps, req, res, 'admin-services', {
      title: 'Services', nav: 'overview', ...found,
      states: SERVICE_STATES, state, q, pageN, prev: pageN > 1 ? pageN - 1 : null, next: pageN * SERVICES_PAGE < found.total ? pageN + 1 : null,
    });
  }));

  r.get('/admin/services/:id', wrap(async (req, res) => {
    requireAdmin(req);
    const id = idParam(req.params.id, 'service');
    const v = await viewOf(db, id);
    const hasHosting = v.mode !== 'kvm';
    const tab = req.query.tab === 'tasks' ? 'tasks' : req.query.tab === 'ssl' ? 'ssl' : req.query.tab === 'hosting' && hasHosting ? 'hosting' : 'deploy';
    const history = await serviceHistory(db, id, tab === 'tasks');
    await page(deps, req, res, 'admin-service', {
      title: `Service ${id}`, nav: 'overview', id, v, prog: progressOf(v), tab, deployTab: tab === 'deploy', tasksTab: tab === 'tasks', sslTab: tab === 'ssl',
      ...history, timeline: timelineOf(v.progress?.steps ?? [], Date.now()), axis: AXIS,
      ...(tab === 'ssl' ? { ssl: await sslTab(db, id) } : {}), hasSsl: v.mode !== 'kvm',
      hasHosting, hostingTab: tab === 'hosting', ...(tab === 'hosting' ? await hostingData(id, String(req.query.htab ?? ''), req.query.chain) : {}),
    });
  }));

  addSslPages(r, deps);
  addHostingPages(r, deps, hestia);

  for (const op of ['redeploy', 'verify-repair'] as const) {
    r.post(`/admin/services/:id/${op}`, wrap(async (req, res) => {
      const s = requireAdmin(req);
      const id = idParam(req.params.id, 'service');
      await act(deps, s, res, `/ui/admin/services/${id}`, async () => {
        const answer = await serviceOperation(deps.queue, deps.masterKey, op, id, {});
        if (answer.created) deps.onTick?.();
        const what = op === 'redeploy' ? 'Redeploy' : 'Verify & Repair';
        if (answer.chain_id === null) return `${what}: ${answer.message ?? 'nothing to do'}`;
        return answer.created ? `${what} queued as chain #${answer.chain_id}.` : `${what} is already queued (chain #${answer.chain_id}); nothing new was added.`;
      });
    }));
  }
}
