// forceFailTask and forceFailStuck (admin): fail a queued or running task at once (a server gone
// for good), or every task running, or still retrying, for longer than a given time. The chain
// fails through the onChainEnd hook; onTaskFailed is not called: no ticket, the admin knows.
// Fence: read under the service's lock, and only while still queued or running; a running task is
// detached and its owner cleared, so its worker's writes match nothing.
import type { Knex } from 'knex';
import { inTx, nowMs, nowSql } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import { AdminError, detachRunning, lockedTask } from '../admin.ts';
import type { QueueHooks } from '../hooks.ts';
import type { Queue } from '../queue.ts';
import { failChain } from './chain-end.ts';

const FAILABLE = ['queued', 'running'];

export async function forceFailTask(queue: Queue, id: number, reason = 'force-failed by an admin'): Promise<string> {
  return inTx(queue.db, async (trx) => {
    const task = await lockedTask(trx, id);
    if (!FAILABLE.includes(task.status)) throw new AdminError(`task #${id} is ${task.status}; only queued or running tasks can be force-failed`);
    await forceFailWithin(trx, queue.hooks, task, reason);
    return `task #${id} failed: ${reason}`;
  });
}

/**
 * Fails every stuck task: running for longer than olderThanMs, or still retrying olderThanMs after
 * it was created. Each in its own transaction; returns the ids failed.
 */
export async function forceFailStuck(queue: Queue, olderThanMs: number): Promise<number[]> {
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) throw new AdminError(`the age of a stuck task must be a positive duration, got ${olderThanMs}`);
  const { db } = queue;
  const cutoff = db.raw(`${nowSql(db)} - ?`, [Math.round(olderThanMs)]);
  const stuck = await db(T.tasks).select('id')
    .where((b) => b.where('status', 'running').where('started_at', '<', cutoff))
    .orWhere((b) => b.where('status', 'queued').where('attempts', '>', 0).where('created_at', '<', cutoff));
  const failed: number[] = [];
  for (const { id } of stuck as Array<{ id: number }>) {
    try {
      await inTx(db, async (trx) => {
        const task = await lockedTask(trx, Number(id));
        // It may have finished since the list was read.
        if (!FAILABLE.includes(task.status)) return;
        await forceFailWithin(trx, queue.hooks, task, `force-failed as stuck (no success within ${Math.round(olderThanMs / 1000)} s)`);
        failed.push(Number(id));
      });
    } catch (err) {
      if (!(err instanceof AdminError)) throw err;
    }
  }
  return failed;
}

async function forceFailWithin(
  trx: Knex.Transaction, hooks: QueueHooks, task: { id: number; chain_id: number | null; step_no: number; step: string; owner: string | null; target: string | null }, reason: string,
): Promise<void> {
  await detachRunning(trx, task);
  await trx(T.tasks).where('id', task.id).update({
    status: 'failed', owner: null, lease_until: null, active_key: null, finished_at: nowMs(trx), last_error: reason, error_kind: 'terminal',
  });
  if (task.chain_id !== null) await failChain(trx, hooks, { chain_id: task.chain_id, step_no: task.step_no, step: task.step }, reason);
}
