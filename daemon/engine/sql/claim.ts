// claimDue: takes due tasks for this worker, each with a fresh lease and the worker's owner token.
// Fence: due rows ('queued', run_at passed) are locked with SKIP LOCKED (MySQL) or under SQLite's
// IMMEDIATE transaction, and a task on a target is taken only with a free slot of that target,
// locked the same way, so per-target limits hold however many daemons claim at once.
import type { Knex } from 'knex';
import { dialectOf, inTx, nowSql } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import { TASK_COLUMNS, type Claim, type TaskRow } from '../rows.ts';
import { skipLocked } from './fence.ts';

/** The (status, id) index of migration 20261209000100_tasks_claim_order. */
const QUEUED_ID_INDEX = 'mod_hostbridge_tasks_queued_id';

/**
 * The tasks table as `t`, read through its (status, id) index on MySQL. Left to itself MariaDB
 * 10.11 answers "queued … ORDER BY id LIMIT n" by walking the primary key from the first task ever
 * queued, finished ones included: the claim then grew with the table's history (bench:fleet: 5.3 ms
 * a claim by the end of 1,000 orders, against 1.2 ms through the index on a copy of that table).
 * SQLite's planner takes the index by itself. A hand-off's scoped read goes by its own indexes.
 */
function tasksAsT(trx: Knex.Transaction, inIdOrder: boolean): Knex.QueryBuilder {
  return inIdOrder && dialectOf(trx) === 'mysql'
    ? trx.from(trx.raw('?? AS t FORCE INDEX (??)', [T.tasks, QUEUED_ID_INDEX]))
    : trx.from(`${T.tasks} as t`);
}

/**
 * Joins each task to the free slots of its target (`s`). On MySQL by the slots' primary key, named:
 * with few slot rows MariaDB otherwise joins through a join buffer, which sorts every queued task
 * before the LIMIT (test/engine/claim-order.test.ts: 40,024 rows read for a claim of one).
 */
function withFreeSlots(trx: Knex.Transaction, q: Knex.QueryBuilder): void {
  if (dialectOf(trx) === 'mysql') q.joinRaw('LEFT JOIN ?? AS s FORCE INDEX (PRIMARY) ON s.target = t.target AND s.task_id IS NULL', [T.slots]);
  else q.leftJoin(`${T.slots} as s`, (j) => { j.on('s.target', 't.target').andOnNull('s.task_id'); });
}

export interface ClaimOptions {
  owner: string;
  limit: number;
  leaseMs: number;
  types: string[];
}

/**
 * Where a hand-off looks (takeDue's scope): the next steps of these chains, and the tasks waiting
 * for these targets, whose slots the same transaction has just freed.
 */
export interface HandOffScope {
  chains: number[];
  targets: string[];
}

export async function claimDue(db: Knex, opts: ClaimOptions): Promise<Claim[]> {
  if (opts.limit <= 0 || opts.types.length === 0) return [];
  return inTx(db, (trx) => takeDue(trx, opts));
}

/**
 * claimDue's work inside a transaction of the caller's. With a scope it looks only there: a
 * finishing transaction hands the work its end made possible to the worker it frees
 * (finish-succeeded.ts), read through the chain and (status, target, id) indexes instead of a walk
 * of every queued task.
 */
export async function takeDue(trx: Knex.Transaction, opts: ClaimOptions, scope?: HandOffScope): Promise<Claim[]> {
  if (opts.limit <= 0 || opts.types.length === 0) return [];
  if (scope && scope.chains.length === 0 && scope.targets.length === 0) return [];
  // Two statements for any batch on MySQL (each a round trip inside the transaction, and a
  // chain's next step waits for them: bench:deploy, bench:queue): the candidates with their
  // targets' free slots, then the tasks and the slots they take.
  const now = trx.raw(nowSql(trx));
  // Each candidate comes with a free slot of its target, if any (one row per free slot), locked
  // with it; the database's clock comes back with them.
  const candidates: Array<TaskRow & { free_slot: number | null; now_ms: number | string }> = await skipLocked(
    tasksAsT(trx, !scope)
      .modify((q) => withFreeSlots(trx, q))
      .select(...TASK_COLUMNS.map((c) => `t.${c}`), 's.slot as free_slot', trx.raw(`${nowSql(trx)} as now_ms`))
      .where('t.status', 'queued')
      .where('t.run_at', '<=', now)
      .whereIn('t.type', opts.types)
      .where((b) => { b.whereNull('t.target').orWhereNotNull('s.slot'); })
      .modify((q) => {
        if (!scope) return;
        q.where((b) => {
          if (scope.chains.length) b.orWhereIn('t.chain_id', scope.chains);
          if (scope.targets.length) b.orWhereIn('t.target', scope.targets);
        });
      })
      // Oldest first by id, the order the chains were placed in: a step that became ready as the
      // one before it ended keeps its order's place rather than going behind every first step
      // queued since (a burst's first services go live first, and a step another server waits
      // for, such as the mail domain whose DKIM key the zone publishes, does not wait for the
      // whole burst's first steps).
      .orderBy('t.id')
      // Over-fetch: several candidates may wait on one target's single slot.
      .limit(opts.limit * 4),
    trx,
  );
  if (candidates.length === 0) return [];
  const at = Number(candidates[0].now_ms);

  const chosen: Array<{ task: TaskRow; slot: number | null }> = [];
  const tasks = new Set<number>();
  const slots = new Set<string>();
  for (const { now_ms: _, free_slot: slot, ...task } of candidates) {
    if (chosen.length >= opts.limit) break;
    if (tasks.has(Number(task.id))) continue;
    if (task.target !== null) {
      const key = `${task.target}\u0000${slot}`;
      if (slot === null || slots.has(key)) continue;
      slots.add(key);
    }
    tasks.add(Number(task.id));
    chosen.push({ task, slot: task.target === null ? null : slot });
  }
  if (chosen.length === 0) return [];
  await markClaimed(trx, chosen, { owner: opts.owner, leaseUntil: at + opts.leaseMs, at });
  return chosen.map(({ task }) => ({ ...task, status: 'running', attempts: task.attempts + 1, owner: opts.owner, started_at: at }));
}

/** The chosen tasks run under this owner token and lease, each holding its slot. */
async function markClaimed(trx: Knex.Transaction, chosen: Array<{ task: TaskRow; slot: number | null }>, to: { owner: string; leaseUntil: number; at: number }): Promise<void> {
  const ids = chosen.map((c) => c.task.id);
  const taken = chosen.filter((c) => c.slot !== null);
  if (dialectOf(trx) === 'mysql') {
    // One statement: each task, and the slot it takes (joined on its target and the slot chosen).
    const slotOf = taken.length ? `CASE t.id ${taken.map(() => 'WHEN ? THEN ?').join(' ')} ELSE NULL END` : 'NULL';
    await trx.raw(`UPDATE ${T.tasks} t LEFT JOIN ${T.slots} s ON s.target = t.target AND s.slot = ${slotOf}
      SET t.status = 'running', t.owner = ?, t.lease_until = ?, t.attempts = t.attempts + 1, t.started_at = ?, s.task_id = t.id, s.owner = ?
      WHERE t.id IN (${ids.map(() => '?').join(', ')})`,
    [...taken.flatMap((c) => [c.task.id, c.slot]), to.owner, to.leaseUntil, to.at, to.owner, ...ids]);
    return;
  }
  await trx(T.tasks).whereIn('id', ids).update({ status: 'running', owner: to.owner, lease_until: to.leaseUntil, attempts: trx.raw('attempts + 1'), started_at: to.at });
  if (taken.length) {
    // All the slots in one statement: each (target, slot) gets its task's id.
    const cases = taken.map(() => 'WHEN target = ? AND slot = ? THEN ?').join(' ');
    await trx(T.slots)
      .where((b) => { for (const c of taken) b.orWhere({ target: c.task.target, slot: c.slot }); })
      .update({ task_id: trx.raw(`CASE ${cases} END`, taken.flatMap((c) => [c.task.target, c.slot, c.task.id])), owner: to.owner });
  }
}
