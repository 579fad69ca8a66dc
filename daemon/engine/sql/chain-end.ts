// How a chain moves and ends: when a step succeeds, the steps waiting only for finished ones start
// (advanceChain); when one fails for good, the steps that depend on it are cancelled while the
// independent ones go on (failChain); once nothing can run the chain closes (finishChain, which
// calls the onChainEnd hook in the same transaction), and the service's next waiting chain starts
// (promoteNextChain).
// Fence: callers get here only through a fenced write (the step's owner token, or an admin's lock);
// closing a chain and starting the next take the service's row lock (lockService), as enqueueing
// does, so one chain runs per service however many daemons finish steps at once.
import type { Knex } from 'knex';
import { dialectOf, nowMs } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import type { ChainOutcome, QueueHooks } from '../hooks.ts';
import { MAX_ERROR, type ChainRow } from '../rows.ts';
import { dependentsOf, hasOpenSteps, readySteps, type StepNode } from '../graph.ts';
import { chainEntry, recordOperations, type OplogEntry } from './oplog.ts';

/** Serialises chain bookkeeping per service: enqueue and chain completion both take this lock. */
export async function lockService(trx: Knex.Transaction, serviceId: number): Promise<void> {
  if (dialectOf(trx) === 'mysql') await trx(T.services).where('id', serviceId).forUpdate().first('id');
}

/** A chain's steps as the graph needs them. */
async function chainSteps(trx: Knex.Transaction, chainId: number): Promise<Array<StepNode & { id: number; step: string; last_error: string | null }>> {
  return trx(T.tasks).select('id', 'step_no', 'status', 'depends_on', 'step', 'last_error').where('chain_id', chainId).orderBy('step_no');
}

/** Starts every waiting step whose dependencies have all succeeded; returns how many. */
async function startReady(trx: Knex.Transaction, chainId: number, steps: StepNode[]): Promise<number> {
  const ready = readySteps(steps);
  if (ready.length === 0) return 0;
  return trx(T.tasks).where('chain_id', chainId).whereIn('step_no', ready).where('status', 'waiting').update({ status: 'queued', run_at: nowMs(trx) });
}

/**
 * Ends the chain once no step can run any more: succeeded when every step did, else failed with
 * the failed steps' reasons (independent steps of one operation each finish before it ends).
 */
async function settleChain(trx: Knex.Transaction, hooks: QueueHooks, chainId: number, steps: Array<StepNode & { step: string; last_error: string | null }>, oplog?: OplogEntry[]): Promise<void> {
  if (hasOpenSteps(steps)) return;
  const chain = await trx(T.chains).where('id', chainId).first();
  if (!chain || (chain.state !== 'running' && chain.state !== 'waiting')) return;
  const failed = steps.filter((s) => s.status === 'failed');
  if (failed.length === 0 && steps.every((s) => s.status === 'succeeded')) return finishChain(trx, hooks, chain, 'succeeded', null, oplog);
  const error = failed.length
    ? failed.map((s) => `${s.step}: ${s.last_error ?? 'failed'}`).join('; ')
    : 'a step was cancelled';
  return finishChain(trx, hooks, chain, 'failed', error, oplog);
}

/**
 * Serialises the ends of one chain's steps: steps on different servers may finish at the same
 * moment, and each reads the others to decide what starts next, so each takes the service's row
 * (the chain's own when it has no service) before writing its own step, as enqueueing and the
 * admin operations do. Rows are locked in id order, so batches cannot deadlock each other.
 */
export async function lockChainsOf(trx: Knex.Transaction, steps: ReadonlyArray<{ service_id: number | null; chain_id: number | null; depends_on?: string | null }>): Promise<void> {
  if (dialectOf(trx) !== 'mysql') return; // SQLite's IMMEDIATE transactions already run one at a time
  // A chain in sequence (depends_on NULL) runs one step at a time: nothing to serialise.
  const chained = steps.filter((s) => s.chain_id !== null && s.depends_on !== null);
  const services = [...new Set(chained.filter((s) => s.service_id !== null).map((s) => Number(s.service_id)))].sort((a, b) => a - b);
  const chains = [...new Set(chained.filter((s) => s.service_id === null).map((s) => Number(s.chain_id)))].sort((a, b) => a - b);
  if (services.length) await trx(T.services).whereIn('id', services).orderBy('id').forUpdate().select('id');
  if (chains.length) await trx(T.chains).whereIn('id', chains).orderBy('id').forUpdate().select('id');
}

/**
 * advanceChain for many steps of chains in sequence at once (depends_on NULL, each chain's length
 * known): every next step starts in one statement, and the chains whose last step this was end
 * together (closeChains). Their Operation Log entries go to `oplog`, for the caller's one insert.
 */
export async function advanceSequences(trx: Knex.Transaction, hooks: QueueHooks,
  steps: ReadonlyArray<{ chain_id: number; service_id: number | null; step_no: number; step_count: number }>, oplog: OplogEntry[]): Promise<void> {
  const next = steps.filter((s) => s.step_no + 1 < s.step_count);
  if (next.length) {
    await trx(T.tasks).where('status', 'waiting')
      .where((b) => { for (const s of next) b.orWhere({ chain_id: s.chain_id, step_no: s.step_no + 1 }); })
      .update({ status: 'queued', run_at: nowMs(trx) });
  }
  const ended = steps.filter((s) => s.step_no + 1 >= s.step_count);
  if (ended.length) await closeChains(trx, hooks, ended, oplog);
}

/**
 * Closes these chains as succeeded in three statements however many they are (bench:queue: a
 * batch of successes ends several chains, and each statement is a round trip inside the commit
 * the next steps wait for). The services' rows are locked first and then the chains', in id
 * order, as finishChain and the admin's cancel take them; a chain no longer running (an admin
 * cancelled it) is left as it is.
 */
async function closeChains(trx: Knex.Transaction, hooks: QueueHooks, ends: ReadonlyArray<{ chain_id: number; service_id: number | null }>, oplog: OplogEntry[]): Promise<void> {
  const mysql = dialectOf(trx) === 'mysql';
  const services = [...new Set(ends.filter((e) => e.service_id !== null).map((e) => Number(e.service_id)))].sort((a, b) => a - b);
  if (mysql && services.length) await trx(T.services).whereIn('id', services).orderBy('id').forUpdate().select('id');
  const open = trx(T.chains).whereIn('id', ends.map((e) => e.chain_id)).whereIn('state', ['running', 'waiting']).orderBy('id');
  const chains: ChainRow[] = mysql ? await open.forUpdate() : await open;
  if (chains.length === 0) return;
  await trx(T.chains).whereIn('id', chains.map((c) => c.id)).update({ state: 'succeeded', active_key: null, finished_at: nowMs(trx), error: null });
  for (const chain of chains) {
    oplog.push(chainEntry(chain, 'succeeded', null));
    await afterClose(trx, hooks, chain, 'succeeded');
  }
}

/** After a step succeeded: the steps that waited only for it (and others done) start at once, or the chain ends. */
export async function advanceChain(trx: Knex.Transaction, hooks: QueueHooks, step: { chain_id: number | null; step_no: number; depends_on?: string | null }, oplog?: OplogEntry[]): Promise<void> {
  if (step.chain_id === null) return;
  if (step.depends_on === null) {
    // A chain in sequence: the next step starts, or after the last the chain succeeds.
    const started = await trx(T.tasks).where({ chain_id: step.chain_id, step_no: step.step_no + 1, status: 'waiting' }).update({ status: 'queued', run_at: nowMs(trx) });
    if (started > 0) return;
    const chain = await trx(T.chains).where('id', step.chain_id).first();
    if (chain && step.step_no + 1 >= chain.step_count) await finishChain(trx, hooks, chain, 'succeeded', null, oplog);
    return;
  }
  const steps = await chainSteps(trx, step.chain_id);
  if (await startReady(trx, step.chain_id, steps) > 0) return;
  await settleChain(trx, hooks, step.chain_id, steps, oplog);
}

/**
 * After a step failed for good: the steps that depend on it will not run; steps independent of it
 * go on (each with its own retries), and the chain fails once none is left to run.
 */
export async function failChain(trx: Knex.Transaction, hooks: QueueHooks, step: { chain_id: number; step_no: number; step: string }, reason: string): Promise<void> {
  const steps = await chainSteps(trx, step.chain_id);
  const dependents = new Set(dependentsOf(steps, step.step_no));
  const cancelled = steps.filter((s) => dependents.has(s.step_no) && (s.status === 'waiting' || s.status === 'queued'));
  if (cancelled.length) {
    await trx(T.tasks).whereIn('id', cancelled.map((s) => s.id)).whereIn('status', ['waiting', 'queued'])
      .update({ status: 'cancelled', active_key: null, finished_at: nowMs(trx), last_error: `not run: step ${step.step_no + 1} (${step.step}) failed` });
    for (const s of cancelled) s.status = 'cancelled';
  }
  // The failed step's own row carries the reason given here (force-fail and the reaper word it their way).
  for (const s of steps) if (s.step_no === step.step_no) s.last_error = reason;
  await settleChain(trx, hooks, step.chain_id, steps);
}

/**
 * Closes a chain, lets the hook say what that means for its service, and starts the service's next
 * chain. Its Operation Log entry is written now, or added to `oplog` for the caller's one insert.
 */
export async function finishChain(trx: Knex.Transaction, hooks: QueueHooks, chain: ChainRow, outcome: ChainOutcome, error: string | null, oplog?: OplogEntry[]): Promise<void> {
  if (chain.service_id !== null) await lockService(trx, chain.service_id);
  const closed = await trx(T.chains).where('id', chain.id).whereIn('state', ['running', 'waiting'])
    .update({ state: outcome, active_key: null, finished_at: nowMs(trx), error: error?.slice(0, MAX_ERROR) ?? null });
  // The Operation Log keeps the chain's end once the queue's clean-up has deleted it.
  if (closed > 0) {
    const entry = chainEntry(chain, outcome, error?.slice(0, MAX_ERROR) ?? null);
    if (oplog) oplog.push(entry);
    else await recordOperations(trx, [entry]);
  }
  await afterClose(trx, hooks, chain, outcome);
}

/** What follows a chain's close: the hook, then the service's next chain. */
async function afterClose(trx: Knex.Transaction, hooks: QueueHooks, chain: ChainRow, outcome: ChainOutcome): Promise<void> {
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
  await startReady(trx, Number(next.id), await chainSteps(trx, Number(next.id)));
  return Number(next.id);
}
