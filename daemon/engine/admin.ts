// What the admin operations (sql/retry-task.ts, cancel.ts, force-fail.ts, delete.ts,
// reset-chain.ts) share: the error they refuse with, the locked reads each begins with, and the
// steps several take (detaching a running task, restoring active keys, reopening a chain). Each
// operation runs in one transaction and, when it refuses, changes nothing.
import type { Knex } from 'knex';
import { isUniqueViolation, nowMs } from '../db/connect.ts';
import { T } from '../common/tables.ts';
import { chainKey } from './chains.ts';
import { lockService } from './sql/chain-end.ts';

export class AdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminError';
  }
}

export const FINISHED = ['succeeded', 'failed', 'cancelled'];

/** The task, read again under its service's lock, so no worker finishes its chain meanwhile. */
export async function lockedTask(trx: Knex.Transaction, id: number) {
  if (!Number.isInteger(id) || id <= 0) throw new AdminError(`task id must be a positive whole number, got ${id}`);
  const task = await trx(T.tasks).where('id', id).first();
  if (!task) throw new AdminError(`task #${id} does not exist`);
  if (task.service_id !== null) {
    await lockService(trx, task.service_id);
    return trx(T.tasks).where('id', id).first();
  }
  return task;
}

/** The chain, read again under its service's lock. */
export async function lockedChain(trx: Knex.Transaction, id: number) {
  if (!Number.isInteger(id) || id <= 0) throw new AdminError(`chain id must be a positive whole number, got ${id}`);
  const chain = await trx(T.chains).where('id', id).first();
  if (!chain) throw new AdminError(`chain #${id} does not exist`);
  if (chain.service_id !== null) await lockService(trx, chain.service_id);
  return trx(T.chains).where('id', id).first();
}

/**
 * Takes a running task from its worker: frees its slot under the worker's token. The caller's own
 * update clears the owner, which fences the worker out (its writes and lease renewals match nothing).
 */
export async function detachRunning(trx: Knex.Transaction, task: { id: number; owner: string | null; target: string | null }): Promise<void> {
  if (task.target !== null && task.owner !== null) {
    await trx(T.slots).where({ task_id: task.id, owner: task.owner }).update({ task_id: null, owner: null });
  }
}

/** Restores active keys; a collision means the same operation was queued again meanwhile. */
export async function restoreKeys(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (isUniqueViolation(err)) throw new AdminError(`${what}: the same operation is already queued or running again; finish or cancel that one first`);
    throw err;
  }
}

/** Puts a finished chain back in the running (or waiting) state under its active key. */
export async function reopenChain(trx: Knex.Transaction, chain: { id: number; service_id: number | null; operation: string; state: string }): Promise<string> {
  if (chain.state === 'running' || chain.state === 'waiting') return chain.state;
  const busy = chain.service_id !== null && (await trx(T.chains).where('service_id', chain.service_id).where('state', 'running').whereNot('id', chain.id).first('id'));
  const state = busy ? 'waiting' : 'running';
  await restoreKeys(`chain #${chain.id}`, () => trx(T.chains).where('id', chain.id).update({
    state, active_key: chainKey(chain.service_id, chain.operation), finished_at: null, error: null, started_at: state === 'running' ? nowMs(trx) : null,
  }));
  return state;
}
