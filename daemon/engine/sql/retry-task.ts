// retryTask (admin): runs a queued task now, or re-opens a failed or cancelled one with a fresh
// attempt budget; a task of a chain re-opens its chain, which resumes from that step (the steps
// not run because it failed wait for it again; a step whose own dependency failed is refused).
// Fence: the task is read under its service's lock (lockedTask), and a running task is refused:
// only its worker, through its owner token, may finish it.
import { inTx, nowMs } from '../../db/connect.ts';
import { dependenciesOf, dependentsOf } from '../graph.ts';
import { T } from '../../common/tables.ts';
import { AdminError, lockedTask, reopenChain, restoreKeys } from '../admin.ts';
import { taskKey } from '../chains.ts';
import type { Queue } from '../queue.ts';

interface ChainStep {
  id: number; step_no: number; status: string; depends_on: string | null; step: string;
  service_id: number | null; operation: string; target: string | null;
}

export async function retryTask(queue: Queue, id: number): Promise<string> {
  return inTx(queue.db, async (trx) => {
    const task = await lockedTask(trx, id);
    if (task.status === 'running') throw new AdminError(`task #${id} is running; wait for it or cancel it first`);
    if (task.status === 'queued') {
      await trx(T.tasks).where('id', id).update({ run_at: nowMs(trx) });
      return `task #${id} will run now`;
    }
    if (task.status === 'waiting') throw new AdminError(`task #${id} waits for an earlier step of its chain; retry that step instead`);
    if (task.status === 'succeeded') throw new AdminError(`task #${id} already succeeded; reset its chain to run it again`);
    if (task.chain_id === null) {
      await restoreKeys(`task #${id}`, () => trx(T.tasks).where('id', id).update({
        status: 'queued', attempts: 0, run_at: nowMs(trx), finished_at: null, active_key: taskKey(null, task.operation, task.step, task.target),
      }));
      return `task #${id} queued again`;
    }
    const steps: ChainStep[] = await trx(T.tasks).select('id', 'step_no', 'status', 'depends_on', 'step', 'service_id', 'operation', 'target').where('chain_id', task.chain_id);
    const byNo = new Map(steps.map((s) => [s.step_no, s]));
    const unmet = dependenciesOf(task).map((d) => byNo.get(d)).find((d) => d && (d.status === 'failed' || d.status === 'cancelled'));
    if (unmet) throw new AdminError(`task #${id} waits for step ${unmet.step_no + 1} (${unmet.step}, task #${unmet.id}), which ${unmet.status === 'failed' ? 'failed' : 'was cancelled'}; retry that step instead`);
    const chain = await trx(T.chains).where('id', task.chain_id).first();
    const state = await reopenChain(trx, chain);
    const ready = dependenciesOf(task).every((d) => byNo.get(d)?.status === 'succeeded');
    const reopened = new Set(dependentsOf(steps, task.step_no));
    await restoreKeys(`task #${id}`, async () => {
      await trx(T.tasks).where('id', id).update({
        status: state === 'running' && ready ? 'queued' : 'waiting', attempts: 0, run_at: nowMs(trx), finished_at: null,
        active_key: taskKey(task.service_id, task.operation, task.step, task.target),
      });
      // The steps that were not run because this one failed wait for it again.
      for (const later of steps.filter((s) => reopened.has(s.step_no) && (s.status === 'cancelled' || s.status === 'failed'))) {
        await trx(T.tasks).where('id', later.id).update({
          status: 'waiting', attempts: 0, finished_at: null, last_error: null, active_key: taskKey(later.service_id, later.operation, later.step, later.target),
        });
      }
    });
    return `task #${id} queued again; chain #${chain.id} resumes from step ${task.step_no + 1}${state === 'waiting' ? ' after the service\'s current operation' : ''}`;
  });
}
