// claimDue: takes due tasks for this worker, each with a fresh lease and the worker's owner token.
// Fence: due rows ('queued', run_at passed) are locked with SKIP LOCKED (MySQL) or under SQLite's
// IMMEDIATE transaction, and a task on a target is taken only with a free slot of that target,
// locked the same way, so per-target limits hold however many daemons claim at once.
import type { Knex } from 'knex';
import { dialectOf, inTx, nowSql } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import { TASK_COLUMNS, type Claim, type TaskRow } from '../rows.ts';
import { skipLocked } from './fence.ts';

/** The (status, target, id) index of migration 20261210000100_tasks_claim_by_target. */
const QUEUED_TARGET_INDEX = 'mod_hostbridge_tasks_queued_target';

type Candidate = TaskRow & { now_ms: number | string };
interface Picked { candidates: Candidate[]; slots: Map<string, number[]> }
interface ClaimOptions { owner: string; limit: number; leaseMs: number; types: string[] }

export async function claimDue(db: Knex, opts: ClaimOptions): Promise<Claim[]> {
  if (opts.limit <= 0 || opts.types.length === 0) return [];
  // Four statements for any batch: every one is a round trip inside the transaction, and a
  // chain's next step waits for them (bench:deploy, bench:queue).
  return inTx(db, async (trx) => {
    const { candidates, slots } = dialectOf(trx) === 'mysql' ? await pickByTarget(trx, opts) : await pickInIdOrder(trx, opts);
    if (candidates.length === 0) return [];
    const at = Number(candidates[0]!.now_ms);

    // Oldest first by id, the order the chains were placed in: a step that became ready as the
    // one before it ended keeps its order's place rather than going behind every first step
    // queued since (a burst's first services go live first, and a step another server waits
    // for, such as the mail domain whose DKIM key the zone publishes, does not wait for the
    // whole burst's first steps).
    candidates.sort((a, b) => Number(a.id) - Number(b.id));
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
  });
}

/** Due, queued tasks of the types this daemon runs (the database's clock comes back as now_ms). */
function due<Q extends Knex.QueryBuilder>(q: Q, trx: Knex.Transaction, types: string[]): Q {
  return q.where('status', 'queued').where('run_at', '<=', trx.raw(nowSql(trx))).whereIn('type', types) as Q;
}

function slotMap(rows: Array<{ target: string; slot: number | string }>): Map<string, number[]> {
  const slots = new Map<string, number[]>();
  for (const r of rows) (slots.get(r.target) ?? slots.set(r.target, []).get(r.target)!).push(Number(r.slot));
  return slots;
}

/**
 * MySQL: the free slots of the targets that have due work first, locked (SKIP LOCKED), each with
 * its target's oldest due task; then, for the `limit` targets whose oldest task is oldest, as many
 * of their due tasks as they have free slots, each target read through the (status, target, id)
 * index, plus the oldest untargeted tasks. A claim then reads a few rows per free target. Walking
 * the queued tasks in id order instead read every task of the busy servers on the way (bench:fleet,
 * after its burst: about 1,550 rows and 3.5 ms a claim with one server free).
 */
async function pickByTarget(trx: Knex.Transaction, opts: ClaimOptions): Promise<Picked> {
  const oldest = due(trx.from(trx.raw('?? FORCE INDEX (??)', [T.tasks, QUEUED_TARGET_INDEX])).min('id'), trx, opts.types)
    .where('target', trx.ref(`${T.slots}.target`));
  const free: Array<{ target: string; slot: number; first_id: number | string | null }> = await skipLocked(
    trx(T.slots).select('target', 'slot', oldest.as('first_id')).whereNull('task_id').havingNotNull('first_id'), trx);
  const firstOf = new Map<string, number>();
  for (const f of free) firstOf.set(f.target, Number(f.first_id));
  const targets = [...firstOf.keys()].sort((a, b) => firstOf.get(a)! - firstOf.get(b)!).slice(0, opts.limit);
  const slots = slotMap(free.filter((f) => firstOf.has(f.target) && targets.includes(f.target)));
  const branch = (target: string | null, n: number) => skipLocked(
    due(trx.from(trx.raw('?? FORCE INDEX (??)', [T.tasks, QUEUED_TARGET_INDEX])).select(...TASK_COLUMNS, trx.raw(`${nowSql(trx)} as now_ms`)), trx, opts.types)
      .where((b) => (target === null ? b.whereNull('target') : b.where('target', target)))
      .orderBy('id').limit(n), trx);
  // One statement: each branch in parentheses, with its own order, limit and lock.
  const parts = [branch(null, opts.limit), ...targets.map((t) => branch(t, slots.get(t)!.length))].map((q) => q.toSQL().toNative());
  const [rows] = await trx.raw(parts.map((p) => `(${p.sql})`).join(' UNION ALL '), parts.flatMap((p) => p.bindings as Knex.Value[]));
  return { candidates: rows as Candidate[], slots };
}

/**
 * SQLite (one writer at a time): the due tasks in id order whose target has a free slot, then
 * those targets' free slots. Its planner reads the queued tasks through the (status, id) index.
 */
async function pickInIdOrder(trx: Knex.Transaction, opts: ClaimOptions): Promise<Picked> {
  const candidates: Candidate[] = await due(trx(T.tasks).select(...TASK_COLUMNS, trx.raw(`${nowSql(trx)} as now_ms`)), trx, opts.types)
    .where((b) => {
      b.whereNull('target').orWhereIn('target', trx(T.slots).distinct('target').whereNull('task_id'));
    })
    .orderBy('id')
    // Over-fetch: several candidates may wait on one target's single slot.
    .limit(opts.limit * 4);
  const wanted = [...new Set(candidates.map((c) => c.target).filter((t): t is string => t !== null))];
  const slots = slotMap(wanted.length ? await trx(T.slots).select('target', 'slot').whereIn('target', wanted).whereNull('task_id') : []);
  return { candidates, slots };
}
