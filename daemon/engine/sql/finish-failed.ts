// finishFailed: records a failed attempt. A retryable one goes back to 'queued' after its back-off;
// a terminal one, or the last allowed, fails the task, cancels what depends on it, ends the chain
// when nothing else can run, and calls the onTaskFailed hook (the ticket intent), all in one
// transaction. Every attempt is kept with its output and error.
// Fence: the chain's lock (lockChainsOf) is taken first, as a success takes it; the update names
// the claim's owner token and 'running': a worker that lost its lease matches no row, writes
// nothing and is told so ('lost').
import type { Knex } from 'knex';
import { dbNow, inTx, nowMs } from '../../db/connect.ts';
import type { ErrorKind } from '../../common/errors.ts';
import { hasAttemptsLeft, retryDelayMs, type RetryPolicy } from '../retry.ts';
import type { QueueHooks } from '../hooks.ts';
import type { Queue } from '../queue.ts';
import { MAX_ERROR, type AttemptRecord, type Claim } from '../rows.ts';
import { fenced, releaseSlot } from './fence.ts';
import { insertAttempt } from './attempt-log.ts';
import { failChain, lockChainsOf } from './chain-end.ts';

export type FailureOutcome = 'retry' | 'failed' | 'lost';

export interface Failure extends AttemptRecord {
  error: string;
  kind: ErrorKind;
  policy: RetryPolicy;
  /** How the attempt log names the attempt: 'lost' for a lease that ran out. */
  attemptResult?: 'lost';
}

export async function finishFailed(queue: Queue, c: Claim, a: Failure): Promise<FailureOutcome> {
  return inTx(queue.db, (trx) => failClaim(trx, queue.hooks, c, a));
}

/** finishFailed inside the caller's transaction (the reaper fails many in one). */
export async function failClaim(trx: Knex.Transaction, hooks: QueueHooks, c: Claim, a: Failure): Promise<FailureOutcome> {
  const error = a.error.slice(0, MAX_ERROR);
  await lockChainsOf(trx, [c]);
  if (a.kind === 'retryable' && hasAttemptsLeft(a.policy, c.attempts)) {
    const delay = retryDelayMs(a.policy, c.attempts);
    // One reading of the clock: the attempt's end and the retry's time are exactly `delay` apart.
    const now = await dbNow(trx);
    const n = await fenced(trx, c).update({
      status: 'queued', owner: null, lease_until: null, run_at: now + delay, last_error: error, error_kind: a.kind,
    });
    if (n === 0) return 'lost';
    await releaseSlot(trx, c);
    await insertAttempt(trx, c, a, a.attemptResult ?? 'retry', { error, retry_delay_ms: delay, next_run_at: now + delay, finished_at: now });
    return 'retry';
  }
  const n = await fenced(trx, c).update({
    status: 'failed', active_key: null, owner: null, lease_until: null, finished_at: nowMs(trx), last_error: error, error_kind: a.kind,
  });
  if (n === 0) return 'lost';
  await releaseSlot(trx, c);
  await insertAttempt(trx, c, a, a.attemptResult ?? 'failed', { error });
  const reason = a.kind === 'terminal' ? error : `${error} (gave up after ${c.attempts} attempt${c.attempts === 1 ? '' : 's'})`;
  if (c.chain_id !== null) await failChain(trx, hooks, { chain_id: c.chain_id, step_no: c.step_no, step: c.step }, reason);
  await hooks.onTaskFailed(trx, {
    taskId: Number(c.id), chainId: c.chain_id === null ? null : Number(c.chain_id), serviceId: c.service_id === null ? null : Number(c.service_id),
    operation: c.operation, step: c.step, type: c.type, target: c.target, attempts: c.attempts, reason, terminal: a.kind === 'terminal',
  });
  return 'failed';
}
