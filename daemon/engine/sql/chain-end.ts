// How a chain moves and ends: the next step starts when one succeeds (advanceChain), the chain
// fails with a step (failChain) or closes (finishChain, which calls the onChainEnd hook in the same
// transaction), and the service's next waiting chain starts (promoteNextChain).
// Fence: callers get here only through a fenced write (the step's owner token, or an admin's lock);
// closing a chain and starting the next take the service's row lock (lockService), as enqueueing
// does, so one chain runs per service however many daemons finish steps at once.
import type { Knex } from 'knex';
import { dialectOf, nowMs } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import type { ChainOutcome, QueueHooks } from '../hooks.ts';
import { MAX_ERROR, type ChainRow } from '../rows.ts';

/** Serialises chain bookkeeping per service: enqueue and chain completion both take this lock. */
export async function lockService(trx: Knex.Transaction, serviceId: number): Promise<void> {
  if (dialectOf(trx) === 'mysql') await trx(T.services).where('id', serviceId).forUpdate().first('id');
}

/** After a step succeeded: its next step becomes runnable at once, or the chain succeeds. */
export async function advanceChain(trx: Knex.Transaction, hooks: QueueHooks, step: { chain_id: number | null; step_no: number }): Promise<void> {
  const started = await trx(T.tasks).where({ chain_id: step.chain_id, step_no: step.step_no + 1, status: 'waiting' }).update({ status: 'queued', run_at: nowMs(trx) });
  if (started > 0) return;
  const chain = await trx(T.chains).where('id', step.chain_id).first();
  if (chain && step.step_no + 1 >= chain.step_count) await finishChain(trx, hooks, chain, 'succeeded', null);
}

/** After a step failed for good: the chain's later steps will not run, and the chain fails. */
export async function failChain(trx: Knex.Transaction, hooks: QueueHooks, step: { chain_id: number; step_no: number; step: string }, reason: string): Promise<void> {
  await trx(T.tasks).where('chain_id', step.chain_id).whereIn('status', ['waiting', 'queued'])
    .update({ status: 'cancelled', active_key: null, finished_at: nowMs(trx), last_error: `not run: step ${step.step_no + 1} (${step.step}) failed` });
  const chain = await trx(T.chains).where('id', step.chain_id).first();
  if (chain) await finishChain(trx, hooks, chain, 'failed', `${step.step}: ${reason}`);
}

/** Closes a chain, lets the hook say what that means for its service, and starts the service's next chain. */
export async function finishChain(trx: Knex.Transaction, hooks: QueueHooks, chain: ChainRow, outcome: ChainOutcome, error: string | null): Promise<void> {
  if (chain.service_id !== null) await lockService(trx, chain.service_id);
  await trx(T.chains).where('id', chain.id).whereIn('state', ['running', 'waiting'])
    .update({ state: outcome, active_key: null, finished_at: nowMs(trx), error: error?.slice(0, MAX_ERROR) ?? null });
  await hooks.onChainEnd(trx, {
    id: Number(chain.id), serviceId: chain.service_id === null ? null : Number(chain.service_id), operation: chain.operation,
    successState: chain.success_state, failureState: chain.failure_state,
    createdAt: Number(chain.created_at), startedAt: chain.started_at === null ? null : Number(chain.started_at),
  }, outcome);
  if (chain.service_id !== null) await promoteNextChain(trx, chain.service_id);
}

/** One chain runs per service at a time; the next waiting one starts when none is running. */
export async function promoteNextChain(trx: Knex.Transaction, serviceId: number): Promise<number | null> {
  const running = await trx(T.chains).where({ service_id: serviceId, state: 'running' }).first('id');
  if (running) return null;
  const next = await trx(T.chains).where({ service_id: serviceId, state: 'waiting' }).orderBy('id').first('id');
  if (!next) return null;
  await trx(T.chains).where('id', next.id).update({ state: 'running', started_at: nowMs(trx) });
  await trx(T.tasks).where({ chain_id: next.id, step_no: 0, status: 'waiting' }).update({ status: 'queued', run_at: nowMs(trx) });
  return Number(next.id);
}
