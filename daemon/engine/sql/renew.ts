// renewLeases: extends the leases a worker still holds, every third of the lease's length.
// Fence: only rows still 'running' under one of the worker's owner tokens move; an id missing from
// the answer was lost (reaped or cancelled), and the worker aborts that task's handler.
import type { Knex } from 'knex';
import { nowSql } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';

/** Returns the ids of the tasks still held. */
export async function renewLeases(db: Knex, held: Array<{ id: number; owner: string }>, leaseMs: number): Promise<Set<number>> {
  if (held.length === 0) return new Set();
  const ids = held.map((h) => h.id);
  const owners = [...new Set(held.map((h) => h.owner))];
  // A task can hold only one owner token at a time, so "id among ours and owner among ours" means ours.
  const ours = () => db(T.tasks).where('status', 'running').whereIn('id', ids).whereIn('owner', owners);
  await ours().update({ lease_until: db.raw(`${nowSql(db)} + ?`, [Math.round(leaseMs)]) });
  const still = await ours().select('id');
  return new Set(still.map((r: { id: number }) => Number(r.id)));
}
