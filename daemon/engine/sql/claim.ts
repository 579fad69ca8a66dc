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
 * The tasks table, read through its (status, id) index on MySQL. Left to itself MariaDB 10.11
 * answers "queued … ORDER BY id LIMIT n" by walking the primary key from the first task ever
 * queued, finished ones included: the claim then grew with the table's history (bench:fleet: 5.3 ms
 * a claim by the end of 1,000 orders, against 1.2 ms through the index on a copy of that table).
 * SQLite's planner takes the index by itself.
 */
function queuedInIdOrder(trx: Knex.Transaction): Knex.QueryBuilder {
  return dialectOf(trx) === 'mysql' ? trx.from(trx.raw('?? FORCE INDEX (??)', [T.tasks, QUEUED_ID_INDEX])) : trx(T.tasks);
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
  // Four statements for any batch: every one is a round trip inside the transaction, and a
  // chain's next step waits for them (bench:deploy, bench:queue).
  const now = trx.raw(nowSql(trx));
  // The database's clock comes back with the candidates, and a target qualifies if it has a free
  // slot (a plain subquery read: the slot rows themselves are locked below, before use).
  const candidates: Array<TaskRow & { now_ms: number | string }> = await skipLocked(
    (scope ? trx(T.tasks) : queuedInIdOrder(trx))
      .select(...TASK_COLUMNS, trx.raw(`${nowSql(trx)} as now_ms`))
      .where('status', 'queued')
      .where('run_at', '<=', now)
      .whereIn('type', opts.types)
      .modify((q) => {
        if (!scope) return;
        q.where((b) => {
          if (scope.chains.length) b.orWhereIn('chain_id', scope.chains);
          if (scope.targets.length) b.orWhereIn('target', scope.targets);
        });
      })
      .where((b) => {
        b.whereNull('target').orWhereIn('target', trx(T.slots).distinct('target').whereNull('task_id'));
      })
      // Oldest first by id, the order the chains were placed in: a step that became ready as the
      // one before it ended keeps its order's place rather than going behind every first step
      // queued since (a burst's first services go live first, and a step another server waits
      // for, such as the mail domain whose DKIM key the zone publishes, does not wait for the
      // whole burst's first steps).
      .orderBy('id')
      // Over-fetch: several candidates may wait on one target's single slot.
      .limit(opts.limit * 4),
    trx,
  );
  if (candidates.length === 0) return [];
  const at = Number(candidates[0].now_ms);

  const wanted = [...new Set(candidates.map((c) => c.target).filter((t): t is string => t !== null))];
  const slots = new Map<string, number[]>();
  if (wanted.length) {
    const rows: Array<{ target: string; slot: number }> = await skipLocked(
      trx(T.slots).select('target', 'slot').whereIn('target', wanted).whereNull('task_id'), trx);
    for (const r of rows) (slots.get(r.target) ?? slots.set(r.target, []).get(r.target)!).push(r.slot);
  }
  const chosen: Array<{ task: TaskRow; slot: number | null }> = [];
  for (const { now_ms: _, ...task } of candidates) {
    if (chosen.length >= opts.limit) break;
    if (task.target === null) chosen.push({ task, slot: null });
    else {
      const slot = slots.get(task.target)?.pop();
      if (slot !== undefined) chosen.push({ task, slot });
    }
  }
  if (chosen.length === 0) return [];

  await trx(T.tasks).whereIn('id', chosen.map((c) => c.task.id)).update({
    status: 'running', owner: opts.owner, lease_until: at + opts.leaseMs, attempts: trx.raw('attempts + 1'), started_at: at,
  });
  const taken = chosen.filter((c) => c.slot !== null);
  if (taken.length) {
    // All the slots in one statement: each (target, slot) gets its task's id.
    const cases = taken.map(() => 'WHEN target = ? AND slot = ? THEN ?').join(' ');
    await trx(T.slots)
      .where((b) => { for (const c of taken) b.orWhere({ target: c.task.target, slot: c.slot }); })
      .update({ task_id: trx.raw(`CASE ${cases} END`, taken.flatMap((c) => [c.task.target, c.slot, c.task.id])), owner: opts.owner });
  }
  return chosen.map(({ task }) => ({ ...task, status: 'running', attempts: task.attempts + 1, owner: opts.owner, started_at: at }));
}
