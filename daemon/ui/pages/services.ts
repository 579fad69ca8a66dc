// The admin's service pages: the list of services (with queue and fleet counts), and the service
// panel with its Deploy tab (status, progress, timeline of the latest chains, Redeploy) and its
// Tasks tab (every task of the service, each opening its attempt logs).
import type { Router } from 'express';
import { T } from '../../common/tables.ts';
import { serviceOperation } from '../../services/lifecycle.ts';
import { act, idParam, page, requireAdmin, wrap, type UiDeps } from '../http.ts';
import { progressOf, viewOf } from './customer.ts';

type Row = Record<string, any>;
const PAGE = 50;
const STATES = ['pending', 'deploying', 'active', 'suspended', 'failed', 'terminate-failed', 'terminated'];

export function pageNo(v: unknown): number {
  const n = Number(v ?? 1);
  return Number.isInteger(n) && n >= 1 && n <= 10000 ? n : 1;
}

/** Server names by id, and a task target ("server:3") as a name. */
export async function serverNames(db: UiDeps['db']): Promise<(target: string | null) => string> {
  const rows: Row[] = await db(T.servers).select('id', 'name');
  const by = new Map(rows.map((r) => [Number(r.id), String(r.name)]));
  return (target) => {
    if (!target) return '—';
    if (target.startsWith('server:')) return by.get(Number(target.slice(7))) ?? `#${target.slice(7)} (removed)`;
    return target;
  };
}

export function addServicePages(r: Router, deps: UiDeps): void {
  const { db } = deps;

  r.get('/admin', wrap(async (req, res) => {
    requireAdmin(req);
    const state = STATES.includes(String(req.query.state ?? '')) ? String(req.query.state) : '';
    const q = String(req.query.q ?? '').trim().slice(0, 100);
    const pageN = pageNo(req.query.page);
    const base = db(T.services).modify((b) => {
      if (state) b.where('state', state);
      if (q) b.where((w) => w.where('domain', 'like', `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`).orWhere('whmcs_service_id', /^\d{1,10}$/.test(q) ? Number(q) : -1));
    });
    const [rows, count, byState, byStatus, servers] = await Promise.all([
      base.clone().orderBy('whmcs_service_id', 'desc').limit(PAGE).offset((pageN - 1) * PAGE),
      base.clone().count({ n: '*' }),
      db(T.services).select('state').count({ n: '*' }).groupBy('state').orderBy('state'),
      db(T.tasks).select('status').count({ n: '*' }).groupBy('status').orderBy('status'),
      db(T.servers).count({ n: '*' }),
    ]);
    const total = Number(count[0]?.n ?? 0);
    await page(deps, req, res, 'admin-services', {
      title: 'Services', nav: 'overview', services: rows, byState, byStatus, servers: Number(servers[0]?.n ?? 0),
      states: STATES, state, q, pageN, total, prev: pageN > 1 ? pageN - 1 : null, next: pageN * PAGE < total ? pageN + 1 : null,
    });
  }));

  r.get('/admin/services/:id', wrap(async (req, res) => {
    requireAdmin(req);
    const id = idParam(req.params.id, 'service');
    const v = await viewOf(db, id);
    const tab = req.query.tab === 'tasks' ? 'tasks' : 'deploy';
    const svc: Row = await db(T.services).where('whmcs_service_id', id).first();
    const name = await serverNames(db);
    const [chains, tasks, counts] = await Promise.all([
      db(T.chains).where('service_id', svc.id).orderBy('id', 'desc').limit(15),
      tab === 'tasks' ? db(T.tasks).where('service_id', svc.id).orderBy('id', 'desc').limit(300) : Promise.resolve([] as Row[]),
      db(T.tasks).where('service_id', svc.id).select('status').count({ n: '*' }).groupBy('status').orderBy('status'),
    ]);
    await page(deps, req, res, 'admin-service', {
      title: `Service ${id}`, nav: 'overview', v, prog: progressOf(v), tab, deployTab: tab === 'deploy', tasksTab: tab === 'tasks',
      counts, taskCount: counts.reduce((a: number, c: Row) => a + Number(c.n), 0),
      chains: chains.map((c: Row) => ({ ...c, created_at: Number(c.created_at), started_at: c.started_at === null ? null : Number(c.started_at), finished_at: c.finished_at === null ? null : Number(c.finished_at) })),
      steps: (v.progress?.steps ?? []),
      tasks: tasks.map((t: Row) => ({
        ...t, server: name(t.target), created_at: Number(t.created_at), started_at: t.started_at === null ? null : Number(t.started_at),
        finished_at: t.finished_at === null ? null : Number(t.finished_at), max: t.max_attempts === null ? '' : Number(t.max_attempts) === 0 ? '∞' : Number(t.max_attempts),
      })),
    });
  }));

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
