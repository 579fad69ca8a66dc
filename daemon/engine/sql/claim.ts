// claimDue: takes due tasks for this worker, each with a fresh lease and the worker's owner token.
// Fence: due rows ('queued', run_at passed) are locked with SKIP LOCKED (MySQL) or under SQLite's
// IMMEDIATE transaction, and a task on a target is taken only with a free slot of that target,
// locked the same way, so per-target limits hold however many daemons claim at once.
import type { Knex } from 'knex';
import { dialectOf, inTx, nowSql } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import { TASK_COLUMNS, type Claim, type TaskRow } from '../rows.ts';

/** The (status, target, id) index of migration 20261210000100_tasks_claim_by_target. */
const QUEUED_TARGET_INDEX = 'mod_hostbridge_tasks_queued_target';

type Candidate = TaskRow & { now_ms: number | string };
interface Picked { candidates: Candidate[]; slots: Map<string, number[]> }
interface ClaimOptions { owner: string; limit: number; leaseMs: number; types: string[] }
interface Chosen { task: TaskRow; slot: number | null }

/**
 * Every statement is a round trip inside the transaction, and a chain's next step waits for them
 * (bench:deploy, bench:queue, bench:fleet): on MySQL a claim is one read and one write; on SQLite,
 * whose one writer makes each a local call, two of each.
 */
export async function claimDue(db: Knex, opts: ClaimOptions): Promise<Claim[]> {
  if (opts.limit <= 0 || opts.types.length === 0) return [];
  return inTx(db, async (trx) => {
    const mysql = dialectOf(trx) === 'mysql';
    const { candidates, slots } = mysql ? await pickByTarget(trx, opts) : await pickInIdOrder(trx, opts);
    if (candidates.length === 0) return [];
    const at = Number(candidates[0]!.now_ms);
    const chosen = choose(candidates, slots, opts.limit);
    if (chosen.length === 0) return [];
    const lease = { owner: opts.owner, leaseUntil: at + opts.leaseMs, at };
    if (mysql) await takeTogether(trx, chosen, lease);
    else await takeApart(trx, chosen, lease);
    return chosen.map(({ task }) => ({ ...task, status: 'running', attempts: task.attempts + 1, owner: opts.owner, started_at: at }));
  });
}

/**
 * Oldest first by id, the order the chains were placed in: a step that became ready as the one
 * before it ended keeps its order's place rather than going behind every first step queued since
 * (a burst's first services go live first, and a step another server waits for, such as the mail
 * domain whose DKIM key the zone publishes, does not wait for the whole burst's first steps).
 * A targeted task needs a free slot of its target.
 */
function choose(candidates: Candidate[], slots: Map<string, number[]>, limit: number): Chosen[] {
  const seen = new Set<number>();
  const chosen: Chosen[] = [];
  for (const { now_ms: _, ...task } of [...candidates].sort((a, b) => Number(a.id) - Number(b.id))) {
    if (chosen.length >= limit) break;
    if (seen.has(Number(task.id))) continue;
    seen.add(Number(task.id));
    if (task.target === null) chosen.push({ task, slot: null });
    else {
      const slot = slots.get(task.target)?.pop();
      if (slot !== undefined) chosen.push({ task, slot });
    }
  }
  return chosen;
}

function slotMap(rows: Array<{ target: string; slot: number | string }>): Map<string, number[]> {
  const slots = new Map<string, number[]>();
  for (const r of rows) (slots.get(r.target) ?? slots.set(r.target, []).get(r.target)!).push(Number(r.slot));
  return slots;
}

/** `?, ?, …` for a list. */
const marks = (list: readonly unknown[]) => list.map(() => '?').join(', ');

/**
 * MySQL, one statement: each free slot of a server with due work, locked (SKIP LOCKED) together
 * with its server's oldest due task, read through the (status, target, id) index; beside them the
 * oldest untargeted due tasks. So a claim reads a few rows per free server, however many tasks wait
 * for the busy ones: walking the queued tasks in id order read every task of a busy server on its
 * way (bench:fleet after its burst: about 1,550 rows and 3.5 ms a claim with one server free). A
 * server allowed more than one task at once, with more than one slot free, has its next due tasks
 * read by one more statement.
 */
async function pickByTarget(trx: Knex.Transaction, opts: ClaimOptions): Promise<Picked> {
  const now = nowSql(trx);
  const cols = TASK_COLUMNS.map((c) => `t.${c}`).join(', ');
  const types = marks(opts.types);
  const sql = `(SELECT s.target AS slot_target, s.slot AS slot_no, ${cols}, ${now} AS now_ms
      FROM ${T.slots} s JOIN ${T.tasks} t ON t.id = (
        SELECT MIN(q.id) FROM ${T.tasks} q FORCE INDEX (${QUEUED_TARGET_INDEX})
        WHERE q.status = 'queued' AND q.target = s.target AND q.run_at <= ${now} AND q.type IN (${types}))
      WHERE s.task_id IS NULL
      FOR UPDATE SKIP LOCKED)
    UNION ALL
    (SELECT NULL, NULL, ${cols}, ${now}
      FROM ${T.tasks} t FORCE INDEX (${QUEUED_TARGET_INDEX})
      WHERE t.status = 'queued' AND t.target IS NULL AND t.run_at <= ${now} AND t.type IN (${types})
      ORDER BY t.id LIMIT ?
      FOR UPDATE SKIP LOCKED)`;
  const [rows] = await trx.raw(sql, [...opts.types, ...opts.types, opts.limit]);
  const found = rows as Array<Candidate & { slot_target: string | null; slot_no: number | null }>;
  const slots = slotMap(found.filter((r) => r.slot_target !== null).map((r) => ({ target: r.slot_target!, slot: r.slot_no! })));
  const candidates: Candidate[] = found.map(({ slot_target: _t, slot_no: _s, ...task }) => task);

  // The servers with more than one slot free, among those whose oldest task could be taken now.
  const firsts = candidates.filter((c) => c.target !== null).sort((a, b) => Number(a.id) - Number(b.id)).slice(0, opts.limit);
  const wider = [...new Set(firsts.map((c) => c.target!))].filter((t) => slots.get(t)!.length > 1);
  if (wider.length) {
    const branch = (target: string, n: number) => trx.from(trx.raw('?? FORCE INDEX (??)', [T.tasks, QUEUED_TARGET_INDEX]))
      .select(...TASK_COLUMNS, trx.raw(`${now} as now_ms`))
      .where('status', 'queued').where('target', target).where('run_at', '<=', trx.raw(now)).whereIn('type', opts.types)
      .orderBy('id').limit(n).forUpdate().skipLocked().toSQL().toNative();
    const parts = wider.map((t) => branch(t, slots.get(t)!.length));
    const [more] = await trx.raw(parts.map((p) => `(${p.sql})`).join(' UNION ALL '), parts.flatMap((p) => p.bindings as Knex.Value[]));
    candidates.push(...(more as Candidate[]));
  }
  return { candidates, slots };
}

/** MySQL: the tasks and their slots in one statement, each slot joined to its task by a CASE on the task's id. */
async function takeTogether(trx: Knex.Transaction, chosen: Chosen[], lease: { owner: string; leaseUntil: number; at: number }): Promise<void> {
  const taken = chosen.filter((c) => c.slot !== null);
  const slotOf = taken.length ? `CASE t.id ${taken.map(() => 'WHEN ? THEN ?').join(' ')} END` : 'NULL';
  const sql = `UPDATE ${T.tasks} t LEFT JOIN ${T.slots} s ON s.target = t.target AND s.slot = ${slotOf}
    SET t.status = 'running', t.owner = ?, t.lease_until = ?, t.attempts = t.attempts + 1, t.started_at = ?, s.task_id = t.id, s.owner = ?
    WHERE t.id IN (${marks(chosen)})`;
  await trx.raw(sql, [
    ...taken.flatMap((c) => [c.task.id, c.slot]), lease.owner, lease.leaseUntil, lease.at, lease.owner, ...chosen.map((c) => c.task.id),
  ]);
}

/**
 * SQLite (one writer at a time): the due tasks in id order whose target has a free slot, then
 * those targets' free slots. Its planner reads the queued tasks through the (status, id) index.
 */
async function pickInIdOrder(trx: Knex.Transaction, opts: ClaimOptions): Promise<Picked> {
  const candidates: Candidate[] = await trx(T.tasks).select(...TASK_COLUMNS, trx.raw(`${nowSql(trx)} as now_ms`))
    .where('status', 'queued').where('run_at', '<=', trx.raw(nowSql(trx))).whereIn('type', opts.types)
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

/** SQLite: the tasks, then their slots (each (target, slot) gets its task's id). */
async function takeApart(trx: Knex.Transaction, chosen: Chosen[], lease: { owner: string; leaseUntil: number; at: number }): Promise<void> {
  await trx(T.tasks).whereIn('id', chosen.map((c) => c.task.id)).update({
    status: 'running', owner: lease.owner, lease_until: lease.leaseUntil, attempts: trx.raw('attempts + 1'), started_at: lease.at,
  });
  const taken = chosen.filter((c) => c.slot !== null);
  if (taken.length === 0) return;
  const cases = taken.map(() => 'WHEN target = ? AND slot = ? THEN ?').join(' ');
  await trx(T.slots)
    .where((b) => { for (const c of taken) b.orWhere({ target: c.task.target, slot: c.slot }); })
    .update({ task_id: trx.raw(`CASE ${cases} END`, taken.flatMap((c) => [c.task.target, c.slot, c.task.id])), owner: lease.owner });
}
