// The Task Queue: filters (status, type, service, server), per-task retry / force-fail / cancel,
// and the bulk controls (delete finished by status, clean completed, force-fail stuck), each
// through the engine's admin operations. A task's page shows every attempt's (masked) log.
import type { Router } from 'express';
import { retryTask } from '../../engine/sql/retry-task.ts';
import { cancelTask } from '../../engine/sql/cancel.ts';
import { forceFailStuck, forceFailTask } from '../../engine/sql/force-fail.ts';
import { cleanCompleted, deleteTasks } from '../../engine/sql/delete.ts';
import { act, backTo, idParam, page, requireAdmin, UiError, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';
import { pageNo } from './services.ts';
import { TASK_STATUSES, TASKS_PAGE, taskDetail, taskQueuePage, type TaskFilters } from '../reads/tasks.ts';

function wholeNumber(value: unknown, field: string, min: number, max: number): number {
  const s = String(value ?? '').trim();
  if (!/^\d{1,9}$/.test(s) || Number(s) < min || Number(s) > max) throw new UiError(422, `${field} must be a whole number between ${min} and ${max}; nothing was changed.`);
  return Number(s);
}

export function addTaskPages(r: Router, deps: PageDeps): void {
  const { db } = deps;

  r.get('/admin/tasks', wrap(async (req, res) => {
    requireAdmin(req);
    const f: TaskFilters = {
      status: TASK_STATUSES.includes(String(req.query.status ?? '')) ? String(req.query.status) : '',
      type: /^[a-z][a-z0-9_.:-]{0,63}$/.test(String(req.query.type ?? '')) ? String(req.query.type) : '',
      service: /^[1-9][0-9]{0,9}$/.test(String(req.query.service ?? '')) ? String(req.query.service) : '',
      server: /^[1-9][0-9]{0,9}$/.test(String(req.query.server ?? '')) ? String(req.query.server) : '',
    };
    const pageN = pageNo(req.query.page);
    const queue = await taskQueuePage(db, f, pageN);
    const query = new URLSearchParams(Object.entries(f).filter(([, v]) => v !== '')).toString();
    const pageLink = (n: number) => `/ui/admin/tasks?${new URLSearchParams({ ...Object.fromEntries(new URLSearchParams(query)), page: String(n) })}`;
    await page(deps, req, res, 'admin-tasks', {
      title: 'Task Queue', nav: 'tasks', f, statuses: TASK_STATUSES, ...queue,
      here: `/ui/admin/tasks${query ? `?${query}` : ''}`, pageN,
      prev: pageN > 1 ? pageLink(pageN - 1) : null, next: pageN * TASKS_PAGE < queue.total ? pageLink(pageN + 1) : null,
    });
  }));

  r.get('/admin/tasks/:id', wrap(async (req, res) => {
    requireAdmin(req);
    const id = idParam(req.params.id, 'task');
    const task = await taskDetail(db, id);
    if (!task) throw new UiError(404, `Task #${id} does not exist (it may have been cleaned up).`);
    await page(deps, req, res, 'admin-task', { title: `Task #${id}`, nav: 'tasks', ...task, here: `/ui/admin/tasks/${id}` });
  }));

  const ops = { retry: retryTask, 'force-fail': (q: PageDeps['queue'], id: number) => forceFailTask(q, id), cancel: cancelTask } as const;
  for (const [op, fn] of Object.entries(ops)) {
    r.post(`/admin/tasks/:id/${op}`, wrap(async (req, res) => {
      const s = requireAdmin(req);
      const id = idParam(req.params.id, 'task');
      await act(deps, s, res, backTo(req.body?.back, `/ui/admin/tasks/${id}`), async () => {
        const msg = await fn(deps.queue, id);
        deps.onTick?.();
        return msg;
      });
    }));
  }

  r.post('/admin/tasks/delete', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const raw = req.body?.status;
    const statuses = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
    await act(deps, s, res, backTo(req.body?.back, '/ui/admin/tasks'), async () => {
      if (statuses.length === 0) throw new UiError(422, 'Tick at least one of succeeded, failed, cancelled; nothing was deleted.');
      const n = await deleteTasks(deps.queue, statuses);
      return `Deleted ${n} ${statuses.join('/')} task(s) with their logs.`;
    });
  }));

  r.post('/admin/tasks/clean', wrap(async (req, res) => {
    const s = requireAdmin(req);
    await act(deps, s, res, backTo(req.body?.back, '/ui/admin/tasks'), async () => {
      const days = wholeNumber(req.body?.days, 'Older than (days)', 0, 3650);
      const n = await cleanCompleted(deps.queue, days * 86_400_000);
      return `Cleaned ${n} finished task(s) older than ${days} day(s).`;
    });
  }));

  r.post('/admin/tasks/force-fail-stuck', wrap(async (req, res) => {
    const s = requireAdmin(req);
    await act(deps, s, res, backTo(req.body?.back, '/ui/admin/tasks'), async () => {
      const minutes = wholeNumber(req.body?.minutes, 'Older than (minutes)', 1, 525_600);
      const ids = await forceFailStuck(deps.queue, minutes * 60_000);
      if (ids.length) deps.onTick?.();
      return ids.length ? `Force-failed ${ids.length} stuck task(s): ${ids.map((i) => `#${i}`).join(', ')}.` : `No task has been stuck for more than ${minutes} minute(s).`;
    });
  }));
}
