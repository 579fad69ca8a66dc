// Admin operations on the queue: retry now, cancel, force-fail (one task or every stuck one),
// delete or clean finished tasks, reset a chain (redeploy). Each runs in one transaction and
// refuses, with a reason and without changing anything, what it cannot do safely.
import type { Knex } from 'knex';
import { inTx, isUniqueViolation, nowMs, nowSql } from '../db/connect.ts';
import { chainKey, taskKey } from './chains.ts';
import { finishChain, lockService, promoteNextChain } from './queries.ts';
import { T } from '../common/tables.ts';

export class AdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminError';
  }
}

const FINISHED = ['succeeded', 'failed', 'cancelled'];

async function getTask(trx: Knex.Transaction, id: number) {
  if (!Number.isInteger(id) || id <= 0) throw new AdminError(`task id must be a positive whole number, got ${id}`);
  const task = await trx(T.tasks).where('id', id).first();
  if (!task) throw new AdminError(`task #${id} does not exist`);
  if (task.service_id !== null) {
    await lockService(trx, task.service_id);
    return trx(T.tasks).where('id', id).first();
  }
  return task;
}

async function getChain(trx: Knex.Transaction, id: number) {
  if (!Number.isInteger(id) || id <= 0) throw new AdminError(`chain id must be a positive whole number, got ${id}`);
  const chain = await trx(T.chains).where('id', id).first();
  if (!chain) throw new AdminError(`chain #${id} does not exist`);
  if (chain.service_id !== null) await lockService(trx, chain.service_id);
  return trx(T.chains).where('id', id).first();
}

/** Stops a running task: clearing its owner fences out the worker running it, and frees its slot. */
async function detachRunning(trx: Knex.Transaction, task: { id: number; owner: string | null; target: string | null }): Promise<void> {
  if (task.target !== null && task.owner !== null) {
    await trx(T.slots).where({ task_id: task.id, owner: task.owner }).update({ task_id: null, owner: null });
  }
}

async function restoreKeys(trx: Knex.Transaction, what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (isUniqueViolation(err)) throw new AdminError(`${what}: the same operation is already queued or running again; finish or cancel that one first`);
    throw err;
  }
}

/** Runs a queued task now, or re-opens a failed or cancelled one with a fresh attempt budget. */
export async function retryTask(db: Knex, id: number): Promise<string> {
  return inTx(db, async (trx) => {
    const task = await getTask(trx, id);
    if (task.status === 'queued') {
      await trx(T.tasks).where('id', id).update({ run_at: nowMs(trx) });
      return `task #${id} will run now`;
    }
    if (task.status === 'running') throw new AdminError(`task #${id} is running; wait for it or cancel it first`);
    if (task.status === 'waiting') throw new AdminError(`task #${id} waits for an earlier step of its chain; retry that step instead`);
    if (task.status === 'succeeded') throw new AdminError(`task #${id} already succeeded; reset its chain to run it again`);
    if (task.chain_id === null) {
      await restoreKeys(trx, `task #${id}`, () => trx(T.tasks).where('id', id).update({
        status: 'queued', attempts: 0, run_at: nowMs(trx), finished_at: null, active_key: taskKey(null, task.operation, task.step, task.target),
      }));
      return `task #${id} queued again`;
    }
    const chain = await trx(T.chains).where('id', task.chain_id).first();
    const state = await reopenChain(trx, chain);
    await restoreKeys(trx, `task #${id}`, async () => {
      await trx(T.tasks).where('id', id).update({
        status: state === 'running' ? 'queued' : 'waiting', attempts: 0, run_at: nowMs(trx), finished_at: null,
        active_key: taskKey(task.service_id, task.operation, task.step, task.target),
      });
      for (const later of await trx(T.tasks).where('chain_id', task.chain_id).where('step_no', '>', task.step_no).whereIn('status', ['cancelled', 'failed'])) {
        await trx(T.tasks).where('id', later.id).update({
          status: 'waiting', attempts: 0, finished_at: null, last_error: null, active_key: taskKey(later.service_id, later.operation, later.step, later.target),
        });
      }
    });
    return `task #${id} queued again; chain #${chain.id} resumes from step ${task.step_no + 1}${state === 'waiting' ? ' after the service\'s current operation' : ''}`;
  });
}

/** Puts a finished chain back in the running (or waiting) state under its active key. */
async function reopenChain(trx: Knex.Transaction, chain: { id: number; service_id: number | null; operation: string; state: string }): Promise<string> {
  if (chain.state === 'running' || chain.state === 'waiting') return chain.state;
  const busy = chain.service_id !== null && (await trx(T.chains).where('service_id', chain.service_id).where('state', 'running').whereNot('id', chain.id).first('id'));
  const state = busy ? 'waiting' : 'running';
  await restoreKeys(trx, `chain #${chain.id}`, () => trx(T.chains).where('id', chain.id).update({
    state, active_key: chainKey(chain.service_id, chain.operation), finished_at: null, error: null, started_at: state === 'running' ? nowMs(trx) : null,
  }));
  return state;
}

/** Cancels a task; a task in a chain cancels its whole chain (later steps depend on it). */
export async function cancelTask(db: Knex, id: number): Promise<string> {
  const chainId = await inTx(db, async (trx) => {
    const task = await getTask(trx, id);
    if (FINISHED.includes(task.status)) throw new AdminError(`task #${id} has already finished (${task.status})`);
    if (task.chain_id !== null) return Number(task.chain_id);
    await detachRunning(trx, task);
    await trx(T.tasks).where('id', id).update({ status: 'cancelled', owner: null, lease_until: null, active_key: null, finished_at: nowMs(trx), last_error: 'cancelled by an admin' });
    return null;
  });
  if (chainId === null) return `task #${id} cancelled`;
  return cancelChain(db, chainId);
}

export async function cancelChain(db: Knex, id: number): Promise<string> {
  return inTx(db, async (trx) => {
    const chain = await getChain(trx, id);
    if (FINISHED.includes(chain.state)) throw new AdminError(`chain #${id} has already finished (${chain.state})`);
    const open = await trx(T.tasks).where('chain_id', id).whereNotIn('status', FINISHED);
    for (const t of open) await detachRunning(trx, t);
    await trx(T.tasks).where('chain_id', id).whereNotIn('status', FINISHED)
      .update({ status: 'cancelled', owner: null, lease_until: null, active_key: null, finished_at: nowMs(trx), last_error: 'cancelled by an admin' });
    await finishChain(trx, chain, 'cancelled', 'cancelled by an admin');
    return `chain #${id} (${chain.operation}) cancelled: ${open.length} unfinished step(s) will not run`;
  });
}

/** Fails a queued or running task at once (a node that is gone for good). No ticket: an admin asked for it. */
export async function forceFailTask(db: Knex, id: number, reason = 'force-failed by an admin'): Promise<string> {
  return inTx(db, async (trx) => {
    const task = await getTask(trx, id);
    if (!['queued', 'running'].includes(task.status)) throw new AdminError(`task #${id} is ${task.status}; only queued or running tasks can be force-failed`);
    await forceFailWithin(trx, task, reason);
    return `task #${id} failed: ${reason}`;
  });
}

async function forceFailWithin(trx: Knex.Transaction, task: { id: number; chain_id: number | null; step_no: number; step: string; owner: string | null; target: string | null }, reason: string) {
  await detachRunning(trx, task);
  await trx(T.tasks).where('id', task.id).update({
    status: 'failed', owner: null, lease_until: null, active_key: null, finished_at: nowMs(trx), last_error: reason, error_kind: 'terminal',
  });
  if (task.chain_id === null) return;
  await trx(T.tasks).where('chain_id', task.chain_id).whereIn('status', ['waiting', 'queued'])
    .update({ status: 'cancelled', active_key: null, finished_at: nowMs(trx), last_error: `not run: step ${task.step_no + 1} (${task.step}) failed` });
  const chain = await trx(T.chains).where('id', task.chain_id).first();
  if (chain) await finishChain(trx, chain, 'failed', `${task.step}: ${reason}`);
}

/**
 * Fails every stuck task: running for longer than olderThanMs, or still retrying olderThanMs after
 * it was created. Returns the ids failed.
 */
export async function forceFailStuck(db: Knex, olderThanMs: number): Promise<number[]> {
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) throw new AdminError(`the age of a stuck task must be a positive duration, got ${olderThanMs}`);
  const cutoff = db.raw(`${nowSql(db)} - ?`, [Math.round(olderThanMs)]);
  const stuck = await db(T.tasks).select('id')
    .where((b) => b.where('status', 'running').where('started_at', '<', cutoff))
    .orWhere((b) => b.where('status', 'queued').where('attempts', '>', 0).where('created_at', '<', cutoff));
  const failed: number[] = [];
  for (const { id } of stuck as Array<{ id: number }>) {
    try {
      await inTx(db, async (trx) => {
        const task = await getTask(trx, Number(id));
        if (!['queued', 'running'].includes(task.status)) return;
        await forceFailWithin(trx, task, `force-failed as stuck (no success within ${Math.round(olderThanMs / 1000)} s)`);
        failed.push(Number(id));
      });
    } catch (err) {
      if (!(err instanceof AdminError)) throw err;
    }
  }
  return failed;
}

/** Deletes finished tasks with the given statuses, with their attempt logs and emptied chains. */
export async function deleteTasks(db: Knex, statuses: string[], olderThanMs = 0): Promise<number> {
  const bad = statuses.filter((s) => !FINISHED.includes(s));
  if (statuses.length === 0 || bad.length) throw new AdminError(`only finished tasks can be deleted (statuses ${FINISHED.join(', ')}), got ${bad.join(', ') || 'none'}`);
  let total = 0;
  for (;;) {
    const deleted = await inTx(db, async (trx) => {
      const ids = (await trx(T.tasks).select('id').whereIn('status', statuses)
        .where('finished_at', '<=', trx.raw(`${nowSql(trx)} - ?`, [Math.round(olderThanMs)]))
        // A task of a chain that is still open stays: the chain's history is still being written.
        .where((b) => b.whereNull('chain_id').orWhereNotExists(function (this: Knex.QueryBuilder) {
          this.select(trx.raw('1')).from(`${T.chains} as c`).whereRaw(`c.id = ${T.tasks}.chain_id`).whereIn('c.state', ['running', 'waiting']);
        }))
        .limit(1000)).map((r: { id: number }) => r.id);
      if (ids.length === 0) return 0;
      await trx(T.attempts).whereIn('task_id', ids).delete();
      await trx(T.tasks).whereIn('id', ids).delete();
      await trx(T.chains).whereIn('state', FINISHED).whereNotExists(function (this: Knex.QueryBuilder) {
        this.select(trx.raw('1')).from(`${T.tasks} as t`).whereRaw(`t.chain_id = ${T.chains}.id`);
      }).delete();
      return ids.length;
    });
    total += deleted;
    if (deleted < 1000) return total;
  }
}

/** Removes every finished task older than the retention period. */
export async function cleanCompleted(db: Knex, olderThanMs: number): Promise<number> {
  return deleteTasks(db, FINISHED, olderThanMs);
}

/** Runs a whole chain again from its first step (Redeploy): every step is idempotent, so it converges. */
export async function resetChain(db: Knex, id: number): Promise<string> {
  return inTx(db, async (trx) => {
    const chain = await getChain(trx, id);
    for (const t of await trx(T.tasks).where('chain_id', id).where('status', 'running')) await detachRunning(trx, t);
    // Clear the keys first so restoring them cannot collide with this chain's own rows.
    await trx(T.tasks).where('chain_id', id).update({ active_key: null });
    const state = await reopenChain(trx, chain);
    await restoreKeys(trx, `chain #${id}`, async () => {
      for (const t of await trx(T.tasks).where('chain_id', id).orderBy('step_no')) {
        await trx(T.tasks).where('id', t.id).update({
          status: t.step_no === 0 && state === 'running' ? 'queued' : 'waiting', attempts: 0, owner: null, lease_until: null,
          run_at: nowMs(trx), started_at: null, finished_at: null, last_error: null, error_kind: null, result: null,
          active_key: taskKey(t.service_id, t.operation, t.step, t.target),
        });
      }
    });
    if (chain.service_id !== null && state === 'waiting') await promoteNextChain(trx, chain.service_id);
    return `chain #${id} (${chain.operation}) reset: ${chain.step_count} step(s) will run again from the first${state === 'waiting' ? ' after the service\'s current operation' : ''}`;
  });
}
