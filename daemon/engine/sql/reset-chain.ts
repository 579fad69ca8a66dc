// resetChain (admin; Redeploy): runs a whole chain again from its first steps (those that wait for
// nothing). Every step is idempotent, so it converges; a service busy with another operation runs
// it after that one.
// Fence: read under the service's lock; running steps are detached and their owners cleared, so
// their workers' writes match nothing.
import { inTx, nowMs } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import { detachRunning, lockedChain, reopenChain, restoreKeys } from '../admin.ts';
import { taskKey } from '../chains.ts';
import type { Queue } from '../queue.ts';
import { promoteNextChain } from './chain-end.ts';
import { dependenciesOf } from '../graph.ts';

export async function resetChain(queue: Queue, id: number): Promise<string> {
  return inTx(queue.db, async (trx) => {
    const chain = await lockedChain(trx, id);
    for (const t of await trx(T.tasks).where('chain_id', id).where('status', 'running')) await detachRunning(trx, t);
    // Clear the keys first so restoring them cannot collide with this chain's own rows.
    await trx(T.tasks).where('chain_id', id).update({ active_key: null });
    const state = await reopenChain(trx, chain);
    await restoreKeys(`chain #${id}`, async () => {
      for (const t of await trx(T.tasks).where('chain_id', id).orderBy('step_no')) {
        await trx(T.tasks).where('id', t.id).update({
          status: dependenciesOf(t).length === 0 && state === 'running' ? 'queued' : 'waiting', attempts: 0, owner: null, lease_until: null,
          run_at: nowMs(trx), started_at: null, finished_at: null, last_error: null, error_kind: null, result: null,
          active_key: taskKey(t.service_id, t.operation, t.step, t.target),
        });
      }
    });
    if (chain.service_id !== null && state === 'waiting') await promoteNextChain(trx, chain.service_id);
    return `chain #${id} (${chain.operation}) reset: ${chain.step_count} step(s) will run again from the first${state === 'waiting' ? ' after the service\'s current operation' : ''}`;
  });
}
