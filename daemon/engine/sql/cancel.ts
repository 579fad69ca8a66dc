// cancelTask and cancelChain (admin): a task in a chain cancels its whole chain (later steps
// depend on it); the chain ends as 'cancelled' through the onChainEnd hook, and the service's
// next waiting chain starts.
// Fence: read under the service's lock; a running task is detached and its owner cleared, so its
// worker's writes match nothing and it learns at its next lease renewal to stop.
import { inTx, nowMs } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import { AdminError, detachRunning, FINISHED, lockedChain, lockedTask } from '../admin.ts';
import type { Queue } from '../queue.ts';
import { finishChain } from './chain-end.ts';

const CANCELLED = { status: 'cancelled', owner: null, lease_until: null, active_key: null, last_error: 'cancelled by an admin' };

export async function cancelTask(queue: Queue, id: number): Promise<string> {
  const chainId = await inTx(queue.db, async (trx) => {
    const task = await lockedTask(trx, id);
    if (FINISHED.includes(task.status)) throw new AdminError(`task #${id} has already finished (${task.status})`);
    if (task.chain_id !== null) return Number(task.chain_id);
    await detachRunning(trx, task);
    await trx(T.tasks).where('id', id).update({ ...CANCELLED, finished_at: nowMs(trx) });
    return null;
  });
  if (chainId === null) return `task #${id} cancelled`;
  return cancelChain(queue, chainId);
}

export async function cancelChain(queue: Queue, id: number): Promise<string> {
  return inTx(queue.db, async (trx) => {
    const chain = await lockedChain(trx, id);
    if (FINISHED.includes(chain.state)) throw new AdminError(`chain #${id} has already finished (${chain.state})`);
    const open = await trx(T.tasks).where('chain_id', id).whereNotIn('status', FINISHED);
    for (const t of open) await detachRunning(trx, t);
    await trx(T.tasks).where('chain_id', id).whereNotIn('status', FINISHED).update({ ...CANCELLED, finished_at: nowMs(trx) });
    await finishChain(trx, queue.hooks, chain, 'cancelled', 'cancelled by an admin');
    return `chain #${id} (${chain.operation}) cancelled: ${open.length} unfinished step(s) will not run`;
  });
}
