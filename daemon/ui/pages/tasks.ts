// The Task Queue: filters (status, type, service, server), per-task retry / force-fail / cancel,
// and the bulk controls (delete finished by status, clean completed, force-fail stuck), each
// through the engine's admin operations. A task's page shows every attempt's (masked) log.
import type { Router } from 'express';
import { T } from '../../common/tables.ts';
import { retryTask } from '../../engine/sql/retry-task.ts';
import { cancelTask } from '../../engine/sql/cancel.ts';
import { forceFailStuck, forceFailTask } from '../../engine/sql/force-fail.ts';
import { cleanCompleted, deleteTasks } from '../../engine/sql/delete.ts';
import { readSettings } from '../../settings/settings.ts';
import { globalMasker } from '../../log/mask.ts';
import { act, backTo, idParam, page, requireAdmin, UiError, wrap, type UiDeps } from '../http.ts';
import { pageNo, serverNames } from './services.ts';

type Row = Record<string, any>;
const PAGE = 50;
export const TASK_STATUSES = ['waiting', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];
const FINISHED = ['succeeded', 'failed', 'cancelled'];
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function wholeNumber(value: unknown, field: string, min: number, max: number): number {
  const s = String(value ?? '').trim();
  if (!/^\d{1,9}$/.test(s) || Number(s) < min || Number(s) > max) throw new UiError(422, `${field} must be a whole number between ${min} and ${max}; nothing was changed.`);
  return Number(s);
}

export function addTaskPages(r: Router, deps: UiDeps): void {
  const { db } = deps;

  r.get('/admin/tasks', wrap(async (req, res) => {
    requireAdmin(req);
    const f = {
      status: TASK_STATUSES.includes(String(req.query.status ?? '')) ? String(req.query.status) : '',
      type: /^[a-z][a-z0-9_.:-]{0,63}$/.test(String(req.query.type ?? '')) ? String(req.query.type) : '',
      service: /^[1-9][0-9]{0,9}$/.test(String(req.query.service ?? '')) ? String(req.query.service) : '',
      server: /^[1-9][0-9]{0,9}$/.test(String(req.query.server ?? '')) ? String(req.query.server) : '',
    };
    const pageN = pageNo(req.query.page);
    const base = db(`${T.tasks} as t`).leftJoin(`${T.services} as s`, 's.id', 't.service_id').modify((b) => {
      if (f.status) b.where('t.status', f.status);
      if (f.type) b.where('t.type', f.type);
      if (f.service) b.where('s.whmcs_service_id', Number(f.service));
      if (f.server) b.where('t.target', `server:${f.server}`);
    });
    const [rows, count, types, counts, servers] = await Promise.all([
      base.clone().select('t.*', 's.whmcs_service_id', 's.domain').orderBy('t.id', 'desc').limit(PAGE).offset((pageN - 1) * PAGE),
      base.clone().count({ n: '*' }),
      db(T.tasks).distinct('type').orderBy('type'),
      db(T.tasks).select('status').count({ n: '*' }).groupBy('status').orderBy('status'),
      db(T.servers).select('id', 'name').orderBy('name'),
    ]);
    const name = await serverNames(db);
    const total = Number(count[0]?.n ?? 0);
    const query = new URLSearchParams(Object.entries(f).filter(([, v]) => v !== '')).toString();
    const settings = await readSettings(db);
    await page(deps, req, res, 'admin-tasks', {
      title: 'Task Queue', nav: 'tasks', f, statuses: TASK_STATUSES, types: types.map((t: Row) => t.type), counts,
      servers: servers.map((s: Row) => ({ id: Number(s.id), name: s.name })),
      tasks: rows.map((t: Row) => ({
        ...t, server: name(t.target), created_at: num(t.created_at), started_at: num(t.started_at), finished_at: num(t.finished_at),
        canRetry: ['queued', 'failed', 'cancelled'].includes(t.status), canFail: ['queued', 'running'].includes(t.status),
        max: t.max_attempts === null ? '' : Number(t.max_attempts) === 0 ? '∞' : Number(t.max_attempts),
      })),
      here: `/ui/admin/tasks${query ? `?${query}` : ''}`, total, pageN,
      prev: pageN > 1 ? `/ui/admin/tasks?${new URLSearchParams({ ...Object.fromEntries(new URLSearchParams(query)), page: String(pageN - 1) })}` : null,
      next: pageN * PAGE < total ? `/ui/admin/tasks?${new URLSearchParams({ ...Object.fromEntries(new URLSearchParams(query)), page: String(pageN + 1) })}` : null,
      retentionDays: settings['queue.retention_days'],
    });
  }));

  r.get('/admin/tasks/:id', wrap(async (req, res) => {
    requireAdmin(req);
    const id = idParam(req.params.id, 'task');
    const t: Row | undefined = await db(`${T.tasks} as t`).leftJoin(`${T.services} as s`, 's.id', 't.service_id').where('t.id', id)
      .first('t.*', 's.whmcs_service_id', 's.domain');
    if (!t) throw new UiError(404, `Task #${id} does not exist (it may have been cleaned up).`);
    const [attempts, chain] = await Promise.all([
      db(T.attempts).where('task_id', id).orderBy('id', 'asc'),
      t.chain_id === null ? Promise.resolve(null) : db(T.chains).where('id', t.chain_id).first(),
    ]);
    const name = await serverNames(db);
    let args = '';
    if (t.args) {
      try {
        args = JSON.stringify(JSON.parse(t.args), null, 2);
      } catch {
        args = String(t.args);
      }
    }
    await page(deps, req, res, 'admin-task', {
      title: `Task #${id}`, nav: 'tasks',
      t: { ...t, server: name(t.target), created_at: num(t.created_at), started_at: num(t.started_at), finished_at: num(t.finished_at), run_at: num(t.run_at) },
      chain, args: globalMasker.mask(args.slice(0, 20000)),
      canRetry: ['queued', 'failed', 'cancelled'].includes(t.status), canFail: ['queued', 'running'].includes(t.status), canCancel: !FINISHED.includes(t.status),
      // Task logs are masked by the engine when written; masking again on the way out costs nothing.
      attempts: attempts.map((a: Row) => ({
        ...a, started_at: num(a.started_at), finished_at: num(a.finished_at), next_run_at: num(a.next_run_at),
        output: globalMasker.mask(String(a.output ?? '')), error: a.error === null ? null : globalMasker.mask(String(a.error)),
      })),
      here: `/ui/admin/tasks/${id}`,
    });
  }));

  const ops = { retry: retryTask, 'force-fail': (q: UiDeps['queue'], id: number) => forceFailTask(q, id), cancel: cancelTask } as const;
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
