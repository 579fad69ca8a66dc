// finishSucceeded: records a success, frees the task's slot, keeps the attempt with its output and
// starts the chain's next steps in the same transaction, so a chain never waits for a poll.
// Fence: the chain's lock (lockChainsOf) is taken first, so two steps of one chain that finish at
// once see each other; the update names the claim's owner token and 'running': a worker that lost
// its lease matches no row, writes nothing and is told so (false).
// Every statement is a round trip inside the transaction and the chain's next step waits for the
// commit (bench:queue, bench:deploy): on MySQL the task and its slot change in one statement, and
// the next steps of chains in sequence start in one statement for the whole batch. With a hand-off
// the same transaction claims the finishing workers' next tasks (takeDue), under the claim's fences.
import type { Knex } from 'knex';
import { dialectOf, inTx, nowMs, nowSql } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import type { Queue } from '../queue.ts';
import type { AttemptRecord, Claim } from '../rows.ts';
import { attemptRow } from './attempt-log.ts';
import { advanceChain, advanceSequences, lockChainsOf } from './chain-end.ts';
import { attemptEntry, recordOperations, type OplogEntry } from './oplog.ts';
import { takeDue, type ClaimOptions } from './claim.ts';

export interface Success extends AttemptRecord {
  claim: Claim;
  result?: unknown;
}

/** A success's columns, whichever statement writes them. */
const DONE = { status: 'succeeded', active_key: null, owner: null, lease_until: null, last_error: null, error_kind: null } as const;

/**
 * Marks these tasks succeeded and frees their slots; `fence` adds the owner and 'running' checks
 * to the statement (one task, not locked before). Returns how many task rows changed.
 */
async function markSucceeded(trx: Knex.Transaction, items: Success[], fence: boolean): Promise<number> {
  const ids = items.map((i) => i.claim.id);
  const result = (i: Success) => (i.result === undefined || i.result === null ? null : JSON.stringify(i.result));
  if (dialectOf(trx) === 'mysql') {
    // One statement for the tasks and the slots they hold (joined on task id and owner token).
    const results = items.filter((i) => result(i) !== null);
    const resultSql = results.length ? `CASE t.id ${results.map(() => 'WHEN ? THEN ?').join(' ')} ELSE NULL END` : 'NULL';
    const done = Object.keys(DONE).map((k) => `t.${k} = ?`).join(', ');
    const sql = `UPDATE ${T.tasks} t LEFT JOIN ${T.slots} s ON s.task_id = t.id AND s.owner = t.owner
      SET ${done}, t.finished_at = ${nowSql(trx)}, t.result = ${resultSql}, s.task_id = NULL, s.owner = NULL
      WHERE t.id IN (${ids.map(() => '?').join(', ')})${fence ? " AND t.owner = ? AND t.status = 'running'" : ''}`;
    const bindings = [...Object.values(DONE), ...results.flatMap((i) => [i.claim.id, result(i)]), ...ids, ...(fence ? [items[0].claim.owner] : [])];
    const [header] = await trx.raw(sql, bindings);
    // A slot row counts too; a task row is there whenever anything changed (the slot joins on it).
    return Math.min(items.length, Number((header as { affectedRows: number }).affectedRows));
  }
  let q = trx(T.tasks).whereIn('id', ids);
  if (fence) q = q.where({ owner: items[0].claim.owner, status: 'running' });
  const n = await q.update({ ...DONE, finished_at: nowMs(trx), result: null });
  if (n === 0) return 0;
  for (const i of items) if (result(i) !== null) await trx(T.tasks).where('id', i.claim.id).update({ result: result(i) });
  const targeted = items.filter((i) => i.claim.target !== null);
  if (targeted.length) {
    await trx(T.slots).whereIn('task_id', targeted.map((i) => i.claim.id)).whereIn('owner', [...new Set(targeted.map((i) => i.claim.owner))]).update({ task_id: null, owner: null });
  }
  return n;
}

/** The chains move on: those in sequence together, graphs each on its own (they read their steps). */
async function advance(trx: Knex.Transaction, queue: Queue, ok: Success[], stepCounts: Map<number, number> | null, oplog: OplogEntry[]): Promise<void> {
  const chained = ok.filter((i) => i.claim.chain_id !== null);
  const sequences = stepCounts ? chained.filter((i) => i.claim.depends_on === null && stepCounts.has(Number(i.claim.id))) : [];
  if (sequences.length) {
    await advanceSequences(trx, queue.hooks, sequences.map((i) => ({
      chain_id: Number(i.claim.chain_id), service_id: i.claim.service_id === null ? null : Number(i.claim.service_id), step_no: i.claim.step_no,
      step_count: stepCounts!.get(Number(i.claim.id))!,
    })), oplog);
  }
  for (const i of chained) if (!sequences.includes(i)) await advanceChain(trx, queue.hooks, i.claim, oplog);
}

/** Returns false, writing nothing, when the lease was lost. */
export async function finishSucceeded(queue: Queue, c: Claim, a: AttemptRecord & { result?: unknown }): Promise<boolean> {
  return (await finishSucceededBatch(queue, [{ ...a, claim: c }]))[0];
}

/**
 * Records many successes in one transaction (tasks that finished together share one commit).
 * Each is fenced on its own (id, owner) pair: returns, per item, whether it was still ours.
 */
export async function finishSucceededBatch(queue: Queue, items: Success[]): Promise<boolean[]> {
  return (await finishAndHandOff(queue, items, null)).held;
}

/**
 * What the workers that finished take next, claimed in their finishing transaction: the steps
 * their chains just started and, with `servers`, the next tasks on the servers they freed. Up to
 * `limit` tasks: the engine gives one for each task finishing and one for each idle worker, so it
 * never runs more than its concurrency.
 */
export interface HandOff extends ClaimOptions {
  servers: boolean;
}

/**
 * finishSucceededBatch, and in the same transaction the hand-off: a worker that would otherwise
 * wait for the dispatcher's next claim (its own transaction, up to CLAIM_GAP_MS later) starts its
 * chain's next step, or its server's next task, as soon as this commits.
 */
export async function finishAndHandOff(queue: Queue, items: Success[], handOff: HandOff | null): Promise<{ held: boolean[]; next: Claim[] }> {
  if (items.length === 0) return { held: [], next: [] };
  let next: Claim[] = [];
  const held = await inTx(queue.db, async (trx) => {
    next = [];
    await lockChainsOf(trx, items.map((i) => i.claim));
    let held: boolean[];
    let stepCounts: Map<number, number> | null = null;
    if (items.length === 1) {
      // One task: the fenced update itself says whether it was still ours.
      held = [(await markSucceeded(trx, items, true)) > 0];
    } else {
      // The fence, for the batch: lock (and wait for) the rows, then keep those still under our
      // token (skipping a row that is briefly locked would drop a real success). The chain's
      // length comes along, unlocked, for chains in sequence.
      const q = trx(`${T.tasks} as t`).select('t.id', 't.owner', trx(T.chains).select('step_count').whereRaw(`${T.chains}.id = t.chain_id`).as('step_count'))
        .whereIn('t.id', items.map((i) => i.claim.id)).where('t.status', 'running');
      if (dialectOf(trx) === 'mysql') q.forUpdate();
      const rows: Array<{ id: number; owner: string; step_count: number | null }> = await q;
      const current = new Map(rows.map((r) => [Number(r.id), r.owner]));
      stepCounts = new Map(rows.filter((r) => r.step_count !== null).map((r) => [Number(r.id), Number(r.step_count)]));
      held = items.map((i) => current.get(Number(i.claim.id)) === i.claim.owner);
    }
    const ok = items.filter((_, n) => held[n]);
    if (ok.length === 0) return held;
    if (items.length > 1) await markSucceeded(trx, ok, false);
    await trx(T.attempts).insert(ok.map((i) => attemptRow(trx, i.claim, i, 'succeeded')));
    // The attempts' entries and those of the chains that end here, in one statement after the chains moved.
    const oplog = ok.map((i) => attemptEntry(i.claim, i, 'succeeded'));
    await advance(trx, queue, ok, stepCounts, oplog);
    await recordOperations(trx, oplog);
    if (handOff) {
      const chains = [...new Set(ok.filter((i) => i.claim.chain_id !== null).map((i) => Number(i.claim.chain_id)))];
      const targets = handOff.servers ? [...new Set(ok.filter((i) => i.claim.target !== null).map((i) => i.claim.target!))] : [];
      next = await takeDue(trx, handOff, { chains, targets });
    }
    return held;
  });
  return { held, next };
}
