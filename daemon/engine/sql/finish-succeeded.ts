// finishSucceeded: records a success, frees the task's slot, keeps the attempt with its output and
// starts the chain's next steps in the same transaction, so a chain never waits for a poll.
// Fence: the chain's lock (lockChainsOf) is taken first, so two steps of one chain that finish at
// once see each other; the update names the claim's owner token and 'running': a worker that lost
// its lease matches no row, writes nothing and is told so (false).
import { dialectOf, inTx, nowMs } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import type { Queue } from '../queue.ts';
import type { AttemptRecord, Claim } from '../rows.ts';
import { fenced, releaseSlot } from './fence.ts';
import { attemptRow, insertAttempt } from './attempt-log.ts';
import { advanceChain, lockChainsOf } from './chain-end.ts';

export interface Success extends AttemptRecord {
  claim: Claim;
  result?: unknown;
}

/** Returns false, writing nothing, when the lease was lost. */
export async function finishSucceeded(queue: Queue, c: Claim, a: AttemptRecord & { result?: unknown }): Promise<boolean> {
  return inTx(queue.db, async (trx) => {
    await lockChainsOf(trx, [c]);
    const n = await fenced(trx, c).update({
      status: 'succeeded', active_key: null, owner: null, lease_until: null, finished_at: nowMs(trx), last_error: null, error_kind: null,
      result: a.result === undefined ? null : JSON.stringify(a.result),
    });
    if (n === 0) return false;
    await releaseSlot(trx, c);
    await insertAttempt(trx, c, a, 'succeeded');
    if (c.chain_id !== null) await advanceChain(trx, queue.hooks, c);
    return true;
  });
}

/**
 * Records many successes in one transaction (tasks that finished together share one commit).
 * Each is fenced on its own (id, owner) pair: returns, per item, whether it was still ours.
 */
export async function finishSucceededBatch(queue: Queue, items: Success[]): Promise<boolean[]> {
  if (items.length === 1) return [await finishSucceeded(queue, items[0].claim, items[0])];
  return inTx(queue.db, async (trx) => {
    await lockChainsOf(trx, items.map((i) => i.claim));
    // The fence, for the batch: lock (and wait for) the rows, then keep those still under our token.
    // Skipping a row that is briefly locked would drop a real success.
    const q = trx(T.tasks).select('id', 'owner').whereIn('id', items.map((i) => i.claim.id)).where('status', 'running');
    if (dialectOf(trx) === 'mysql') q.forUpdate();
    const current = new Map<number, string>((await q).map((r: { id: number; owner: string }) => [Number(r.id), r.owner]));
    const held = items.map((i) => current.get(Number(i.claim.id)) === i.claim.owner);
    const ok = items.filter((_, n) => held[n]);
    if (ok.length === 0) return held;
    await trx(T.tasks).whereIn('id', ok.map((i) => i.claim.id)).update({
      status: 'succeeded', active_key: null, owner: null, lease_until: null, finished_at: nowMs(trx), last_error: null, error_kind: null, result: null,
    });
    for (const i of ok) if (i.result !== undefined && i.result !== null) await trx(T.tasks).where('id', i.claim.id).update({ result: JSON.stringify(i.result) });
    const targeted = ok.filter((i) => i.claim.target !== null);
    if (targeted.length) {
      await trx(T.slots).whereIn('task_id', targeted.map((i) => i.claim.id)).whereIn('owner', [...new Set(targeted.map((i) => i.claim.owner))]).update({ task_id: null, owner: null });
    }
    await trx(T.attempts).insert(ok.map((i) => attemptRow(trx, i.claim, i, 'succeeded')));
    for (const i of ok) if (i.claim.chain_id !== null) await advanceChain(trx, queue.hooks, i.claim);
    return held;
  });
}
