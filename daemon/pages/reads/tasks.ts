// What the Task Queue pages read: a filtered page of tasks with their service and server, the
// filter choices, and one task with its chain and every attempt. Logs, errors and arguments are
// masked on the way out (the engine masked them when it wrote them; again costs nothing).
import type { Knex } from 'knex';
import { T } from '../../common/tables.ts';
import { dependenciesOf } from '../../engine/graph.ts';
import { globalMasker } from '../../log/mask.ts';
import { readSettings } from '../../settings/settings.ts';
import { maxAttempts, serverNames } from './services.ts';
import { undeliveredTickets } from '../../whmcs/ticket-refusals.ts';

type Row = Record<string, any>;
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export const TASK_STATUSES = ['waiting', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];
export const TASKS_PAGE = 50;
const FINISHED = ['succeeded', 'failed', 'cancelled'];

/** Filters of the queue, each '' or a value already checked. */
export interface TaskFilters { status: string; type: string; service: string; server: string }

/** Which of the engine's admin operations the page offers for a task in this status. */
function actions(status: string) {
  return { canRetry: ['queued', 'failed', 'cancelled'].includes(status), canFail: ['queued', 'running'].includes(status), canCancel: !FINISHED.includes(status) };
}

/** One page of the queue, newest first, with the counts, task types and servers the filters offer. */
export async function taskQueuePage(db: Knex, f: TaskFilters, page: number) {
  const base = db(`${T.tasks} as t`).leftJoin(`${T.services} as s`, 's.id', 't.service_id').modify((b) => {
    if (f.status) b.where('t.status', f.status);
    if (f.type) b.where('t.type', f.type);
    if (f.service) b.where('s.whmcs_service_id', Number(f.service));
    if (f.server) b.where('t.target', `server:${f.server}`);
  });
  const [rows, count, types, counts, servers, name, settings, tickets] = await Promise.all([
    base.clone().select('t.*', 's.whmcs_service_id', 's.domain').orderBy('t.id', 'desc').limit(TASKS_PAGE).offset((page - 1) * TASKS_PAGE),
    base.clone().count({ n: '*' }),
    db(T.tasks).distinct('type').orderBy('type'),
    db(T.tasks).select('status').count({ n: '*' }).groupBy('status').orderBy('status'),
    db(T.servers).select('id', 'name').orderBy('name'),
    serverNames(db),
    readSettings(db),
    undeliveredTickets(db),
  ]);
  return {
    // Failure tickets WHMCS refused or has not taken yet, so a refusal is seen where failures are looked at.
    tickets,
    tasks: rows.map((t: Row) => {
      const { canRetry, canFail } = actions(t.status);
      return { ...t, server: name(t.target), created_at: num(t.created_at), started_at: num(t.started_at), finished_at: num(t.finished_at), canRetry, canFail, max: maxAttempts(t) };
    }),
    total: Number(count[0]?.n ?? 0), types: types.map((t: Row) => String(t.type)), counts,
    servers: servers.map((s: Row) => ({ id: Number(s.id), name: s.name })),
    retentionDays: settings['queue.retention_days'],
  };
}

/** One task with its service, chain, arguments and every attempt's log; null when it is gone. */
export async function taskDetail(db: Knex, id: number) {
  const t: Row | undefined = await db(`${T.tasks} as t`).leftJoin(`${T.services} as s`, 's.id', 't.service_id').where('t.id', id)
    .first('t.*', 's.whmcs_service_id', 's.domain');
  if (!t) return null;
  const [attempts, chain, name] = await Promise.all([
    db(T.attempts).where('task_id', id).orderBy('id', 'asc'),
    t.chain_id === null ? Promise.resolve(null) : db(T.chains).where('id', t.chain_id).first(),
    serverNames(db),
  ]);
  let args = '';
  if (t.args) {
    try {
      args = JSON.stringify(JSON.parse(t.args), null, 2);
    } catch {
      args = String(t.args);
    }
  }
  return {
    // Numbered from 1, as the engine's messages and the service timeline count steps.
    t: { ...t, no: Number(t.step_no) + 1, after: t.chain_id === null ? [] : dependenciesOf({ step_no: Number(t.step_no), depends_on: t.depends_on ?? null }).map((d) => d + 1), server: name(t.target), created_at: num(t.created_at), started_at: num(t.started_at), finished_at: num(t.finished_at), run_at: num(t.run_at) },
    chain, args: globalMasker.mask(args.slice(0, 20000)), ...actions(t.status),
    attempts: attempts.map((a: Row) => ({
      ...a, started_at: num(a.started_at), finished_at: num(a.finished_at), next_run_at: num(a.next_run_at),
      output: globalMasker.mask(String(a.output ?? '')), error: a.error === null ? null : globalMasker.mask(String(a.error)),
    })),
  };
}
