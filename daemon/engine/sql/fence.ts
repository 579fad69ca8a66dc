// The fences the engine's operations stand on. Every write after a claim names the task's owner
// token and its 'running' status, so a worker that lost its lease matches nothing and changes
// nothing. Reads that pick work lock their rows with SKIP LOCKED on MySQL; on SQLite every
// transaction begins IMMEDIATE (db/connect.ts), which serialises them instead.
import type { Knex } from 'knex';
import { dialectOf } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';

/** This task, still running, still under this owner token: the only row a worker may write. */
export function fenced(trx: Knex.Transaction, c: { id: number; owner: string }) {
  return trx(T.tasks).where({ id: c.id, owner: c.owner, status: 'running' });
}

/** Locks the rows read, skipping those another daemon holds (MySQL); SQLite is already serialised. */
export function skipLocked<Q extends Knex.QueryBuilder>(q: Q, db: Knex): Q {
  return dialectOf(db) === 'mysql' ? (q.forUpdate().skipLocked() as Q) : q;
}

/** Frees the target slot this claim holds, fenced by the same owner token. */
export async function releaseSlot(trx: Knex.Transaction, c: { id: number; owner: string; target: string | null }): Promise<void> {
  if (c.target !== null) await trx(T.slots).where({ task_id: c.id, owner: c.owner }).update({ task_id: null, owner: null });
}
