// The task engine's SQL, as a few named operations. Each runs in a short transaction:
//   claimDue        — take due tasks with a lease and an owner token (SKIP LOCKED on MySQL,
//                     serialised by BEGIN IMMEDIATE on SQLite), honouring per-target slots;
//   renewLeases     — extend the leases a worker still holds;
//   finishSucceeded — record success, free the slot, start the chain's next step at once;
//   finishFailed    — schedule a retry with back-off, or fail terminally: chain failed and a
//                     ticket intent written in the same transaction;
//   reapExpired     — take back tasks whose lease ran out (their daemon died or stalled).
// Every write after the claim names the owner token, so a worker that lost its lease changes nothing.
import type { Knex } from 'knex';
import { dbNow, dialectOf, inTx, nowMs, nowSql } from '../db/connect.ts';
import { hasAttemptsLeft, retryDelayMs, type RetryPolicy } from './retry.ts';
import type { ErrorKind } from '../common/errors.ts';
import { recordTicketIntent } from '../whmcs/ticket-outbox.ts';
import { T } from '../common/tables.ts';

export interface TaskRow {
  id: number;
  chain_id: number | null;
  step_no: number;
  service_id: number | null;
  operation: string;
  step: string;
  type: string;
  target: string | null;
  args: string | null;
  status: string;
  attempts: number;
  max_attempts: number | null;
  owner: string | null;
  started_at: number | null;
}

/** A task this worker holds: the row as claimed, with the owner token that fences every later write. */
export interface Claim extends TaskRow {
  owner: string;
}

const MAX_OUTPUT = 256 * 1024;
const MAX_ERROR = 8 * 1024;

function forUpdate<Q extends Knex.QueryBuilder>(q: Q, db: Knex): Q {
  return dialectOf(db) === 'mysql' ? (q.forUpdate().skipLocked() as Q) : q;
}

const plus = (db: Knex, ms: number) => db.raw(`${nowSql(db)} + ?`, [Math.round(ms)]);

export async function claimDue(db: Knex, opts: { owner: string; limit: number; leaseMs: number; types: string[] }): Promise<Claim[]> {
  if (opts.limit <= 0 || opts.types.length === 0) return [];
  return inTx(db, async (trx) => {
    const now = await dbNow(trx);
    // Targets with a free slot (a plain read: the slot rows are locked below, before use).
    const freeTargets = (await trx(T.slots).distinct('target').whereNull('task_id')).map((r: { target: string }) => r.target);
    const candidates: TaskRow[] = await forUpdate(
      trx(T.tasks)
        .select('id', 'chain_id', 'step_no', 'service_id', 'operation', 'step', 'type', 'target', 'args', 'status', 'attempts', 'max_attempts')
        .where('status', 'queued')
        .where('run_at', '<=', now)
        .whereIn('type', opts.types)
        .where((b) => {
          b.whereNull('target');
          if (freeTargets.length) b.orWhereIn('target', freeTargets);
        })
        .orderBy([{ column: 'run_at' }, { column: 'id' }])
        // Over-fetch: several candidates may wait on one target's single slot.
        .limit(opts.limit * 4),
      trx,
    );
    if (candidates.length === 0) return [];

    const wanted = [...new Set(candidates.map((c) => c.target).filter((t): t is string => t !== null))];
    const slots = new Map<string, number[]>();
    if (wanted.length) {
      const rows: Array<{ target: string; slot: number }> = await forUpdate(
        trx(T.slots).select('target', 'slot').whereIn('target', wanted).whereNull('task_id'), trx);
      for (const r of rows) (slots.get(r.target) ?? slots.set(r.target, []).get(r.target)!).push(r.slot);
    }
    const chosen: Array<{ task: TaskRow; slot: number | null }> = [];
    for (const task of candidates) {
      if (chosen.length >= opts.limit) break;
      if (task.target === null) chosen.push({ task, slot: null });
      else {
        const slot = slots.get(task.target)?.pop();
        if (slot !== undefined) chosen.push({ task, slot });
      }
    }
    if (chosen.length === 0) return [];

    await trx(T.tasks).whereIn('id', chosen.map((c) => c.task.id)).update({
      status: 'running', owner: opts.owner, lease_until: now + opts.leaseMs, attempts: trx.raw('attempts + 1'), started_at: now,
    });
    for (const c of chosen) {
      if (c.slot !== null) await trx(T.slots).where({ target: c.task.target, slot: c.slot }).update({ task_id: c.task.id, owner: opts.owner });
    }
    return chosen.map(({ task }) => ({ ...task, status: 'running', attempts: task.attempts + 1, owner: opts.owner, started_at: now }));
  });
}

/** Extends the leases still held; returns the ids of those held. A missing id was lost (reaped or cancelled). */
export async function renewLeases(db: Knex, held: Array<{ id: number; owner: string }>, leaseMs: number): Promise<Set<number>> {
  if (held.length === 0) return new Set();
  const ids = held.map((h) => h.id);
  const owners = [...new Set(held.map((h) => h.owner))];
  // A task can hold only one owner token at a time, so "id among ours and owner among ours" means ours.
  await db(T.tasks).where('status', 'running').whereIn('id', ids).whereIn('owner', owners).update({ lease_until: plus(db, leaseMs) });
  const still = await db(T.tasks).select('id').where('status', 'running').whereIn('id', ids).whereIn('owner', owners);
  return new Set(still.map((r: { id: number }) => Number(r.id)));
}

export interface AttemptRecord {
  output: string;
  durationMs: number;
}

function fenced(trx: Knex.Transaction, c: { id: number; owner: string }) {
  return trx(T.tasks).where({ id: c.id, owner: c.owner, status: 'running' });
}

async function releaseSlot(trx: Knex.Transaction, c: Claim): Promise<void> {
  if (c.target !== null) await trx(T.slots).where({ task_id: c.id, owner: c.owner }).update({ task_id: null, owner: null });
}

async function insertAttempt(trx: Knex.Transaction, c: Claim, a: AttemptRecord, result: string, extra: Record<string, unknown> = {}): Promise<void> {
  await trx(T.attempts).insert({
    task_id: c.id, attempt: c.attempts, owner: c.owner, started_at: c.started_at, finished_at: nowMs(trx),
    duration_ms: Math.round(a.durationMs), result, output: a.output ? a.output.slice(-MAX_OUTPUT) : null, ...extra,
  });
}

/** Records success. Returns false, writing nothing, when the lease was lost. */
export async function finishSucceeded(db: Knex, c: Claim, a: AttemptRecord & { result?: unknown }): Promise<boolean> {
  return inTx(db, async (trx) => {
    const n = await fenced(trx, c).update({
      status: 'succeeded', active_key: null, owner: null, lease_until: null, finished_at: nowMs(trx), last_error: null, error_kind: null,
      result: a.result === undefined ? null : JSON.stringify(a.result),
    });
    if (n === 0) return false;
    await releaseSlot(trx, c);
    await insertAttempt(trx, c, a, 'succeeded');
    if (c.chain_id !== null) await advanceChain(trx, c);
    return true;
  });
}

/**
 * Records many successes in one transaction (tasks that finished together share one commit).
 * Each is fenced on its own (id, owner) pair: returns, per item, whether it was still ours.
 */
export async function finishSucceededBatch(db: Knex, items: Array<{ claim: Claim } & AttemptRecord & { result?: unknown }>): Promise<boolean[]> {
  if (items.length === 1) return [await finishSucceeded(db, items[0].claim, items[0])];
  return inTx(db, async (trx) => {
    const ids = items.map((i) => i.claim.id);
    // Lock (and wait for) the rows: skipping a row that is briefly locked would drop a real success.
    const q = trx(T.tasks).select('id', 'owner').whereIn('id', ids).where('status', 'running');
    if (dialectOf(trx) === 'mysql') q.forUpdate();
    const current = new Map<number, string>((await q).map((r: { id: number; owner: string }) => [Number(r.id), r.owner]));
    const held = items.map((i) => current.get(Number(i.claim.id)) === i.claim.owner);
    const ok = items.filter((_, n) => held[n]);
    if (ok.length === 0) return held;
    await trx(T.tasks).whereIn('id', ok.map((i) => i.claim.id)).update({
      status: 'succeeded', active_key: null, owner: null, lease_until: null, finished_at: nowMs(trx), last_error: null, error_kind: null, result: null,
    });
    for (const i of ok) if (i.result !== undefined && i.result !== null) await trx(T.tasks).where('id', i.claim.id).update({ result: JSON.stringify(i.result) });
    const targeted = ok.filter((i) => i.claim.target !== null);
    if (targeted.length) {
      await trx(T.slots).whereIn('task_id', targeted.map((i) => i.claim.id)).whereIn('owner', [...new Set(targeted.map((i) => i.claim.owner))]).update({ task_id: null, owner: null });
    }
    await trx(T.attempts).insert(ok.map((i) => ({
      task_id: i.claim.id, attempt: i.claim.attempts, owner: i.claim.owner, started_at: i.claim.started_at, finished_at: nowMs(trx),
      duration_ms: Math.round(i.durationMs), result: 'succeeded', output: i.output ? i.output.slice(-MAX_OUTPUT) : null,
    })));
    for (const i of ok) if (i.claim.chain_id !== null) await advanceChain(trx, i.claim);
    return held;
  });
}

async function advanceChain(trx: Knex.Transaction, c: Claim): Promise<void> {
  const started = await trx(T.tasks).where({ chain_id: c.chain_id, step_no: c.step_no + 1, status: 'waiting' }).update({ status: 'queued', run_at: nowMs(trx) });
  if (started > 0) return;
  const chain = await trx(T.chains).where('id', c.chain_id).first();
  if (chain && c.step_no + 1 >= chain.step_count) await finishChain(trx, chain, 'succeeded', null);
}

interface ChainRow { id: number; service_id: number | null; state: string; success_state: string | null; failure_state: string | null; step_count: number }

/** Closes a chain, sets its service's state, and starts the service's next waiting chain. */
export async function finishChain(trx: Knex.Transaction, chain: ChainRow, state: 'succeeded' | 'failed' | 'cancelled', error: string | null): Promise<void> {
  if (chain.service_id !== null) await lockService(trx, chain.service_id);
  await trx(T.chains).where('id', chain.id).whereIn('state', ['running', 'waiting'])
    .update({ state, active_key: null, finished_at: nowMs(trx), error: error?.slice(0, MAX_ERROR) ?? null });
  if (chain.service_id === null) return;
  const serviceState = state === 'succeeded' ? chain.success_state : state === 'failed' ? chain.failure_state : null;
  if (serviceState) await trx(T.services).where('id', chain.service_id).update({ state: serviceState, updated_at: nowMs(trx) });
  await promoteNextChain(trx, chain.service_id);
}

/** Serialises chain bookkeeping per service: enqueue and chain completion both take this lock. */
export async function lockService(trx: Knex.Transaction, serviceId: number): Promise<void> {
  if (dialectOf(trx) === 'mysql') await trx(T.services).where('id', serviceId).forUpdate().first('id');
}

/** One chain runs per service at a time; the next waiting one starts when none is running. */
export async function promoteNextChain(trx: Knex.Transaction, serviceId: number): Promise<number | null> {
  const running = await trx(T.chains).where({ service_id: serviceId, state: 'running' }).first('id');
  if (running) return null;
  const next = await trx(T.chains).where({ service_id: serviceId, state: 'waiting' }).orderBy('id').first('id');
  if (!next) return null;
  await trx(T.chains).where('id', next.id).update({ state: 'running', started_at: nowMs(trx) });
  await trx(T.tasks).where({ chain_id: next.id, step_no: 0, status: 'waiting' }).update({ status: 'queued', run_at: nowMs(trx) });
  return Number(next.id);
}

export type FailureOutcome = 'retry' | 'failed' | 'lost';

/** Records a failed attempt: a retry after back-off, or a terminal failure. 'lost' when the lease was. */
export async function finishFailed(
  db: Knex, c: Claim, a: AttemptRecord & { error: string; kind: ErrorKind; policy: RetryPolicy; attemptResult?: string },
): Promise<FailureOutcome> {
  return inTx(db, (trx) => failWithin(trx, c, a));
}

async function failWithin(
  trx: Knex.Transaction, c: Claim, a: AttemptRecord & { error: string; kind: ErrorKind; policy: RetryPolicy; attemptResult?: string },
): Promise<FailureOutcome> {
  const error = a.error.slice(0, MAX_ERROR);
  if (a.kind === 'retryable' && hasAttemptsLeft(a.policy, c.attempts)) {
    const delay = retryDelayMs(a.policy, c.attempts);
    // One reading of the clock: the attempt's end and the retry's time are exactly `delay` apart.
    const now = await dbNow(trx);
    const n = await fenced(trx, c).update({
      status: 'queued', owner: null, lease_until: null, run_at: now + delay, last_error: error, error_kind: a.kind,
    });
    if (n === 0) return 'lost';
    await releaseSlot(trx, c);
    await insertAttempt(trx, c, a, a.attemptResult ?? 'retry', { error, retry_delay_ms: delay, next_run_at: now + delay, finished_at: now });
    return 'retry';
  }
  const n = await fenced(trx, c).update({
    status: 'failed', active_key: null, owner: null, lease_until: null, finished_at: nowMs(trx), last_error: error, error_kind: a.kind,
  });
  if (n === 0) return 'lost';
  await releaseSlot(trx, c);
  await insertAttempt(trx, c, a, a.attemptResult === 'lost' ? 'lost' : 'failed', { error });
  const reason = a.kind === 'terminal' ? error : `${error} (gave up after ${c.attempts} attempt${c.attempts === 1 ? '' : 's'})`;
  let service: { whmcs_service_id: number; mode: string } | undefined;
  if (c.chain_id !== null) {
    await trx(T.tasks).where('chain_id', c.chain_id).whereIn('status', ['waiting', 'queued'])
      .update({ status: 'cancelled', active_key: null, finished_at: nowMs(trx), last_error: `not run: step ${c.step_no + 1} (${c.step}) failed` });
    const chain = await trx(T.chains).where('id', c.chain_id).first();
    if (chain) await finishChain(trx, chain, 'failed', `${c.step}: ${reason}`);
  }
  if (c.service_id !== null) service = await trx(T.services).where('id', c.service_id).first('whmcs_service_id', 'mode');
  await recordTicketIntent(trx, await dbNow(trx), c.service_id, {
    operation: c.operation, step: c.step, taskId: c.id, type: c.type, target: c.target, attempts: c.attempts,
    error: reason, terminal: a.kind === 'terminal', whmcsServiceId: service?.whmcs_service_id ?? null, mode: service?.mode ?? null,
  });
  return 'failed';
}


export const LEASE_EXPIRED = 'lease expired: the daemon running this attempt stopped or stalled before finishing it';

/** Takes back tasks whose lease ran out; each counts as a failed, retryable attempt. */
export async function reapExpired(db: Knex, policyFor: (row: TaskRow) => RetryPolicy, limit = 200): Promise<{ requeued: number; failed: number }> {
  return inTx(db, async (trx) => {
    const rows: TaskRow[] = await forUpdate(
      trx(T.tasks).select('id', 'chain_id', 'step_no', 'service_id', 'operation', 'step', 'type', 'target', 'args', 'status', 'attempts', 'max_attempts', 'owner', 'started_at')
        .where('status', 'running').where('lease_until', '<', nowMs(trx)).orderBy('id').limit(limit),
      trx,
    );
    let requeued = 0;
    let failed = 0;
    for (const row of rows) {
      const claim = { ...row, owner: row.owner ?? '' } as Claim;
      const outcome = await failWithin(trx, claim, {
        output: '', durationMs: 0, error: LEASE_EXPIRED, kind: 'retryable', policy: policyFor(row), attemptResult: 'lost',
      });
      if (outcome === 'retry') requeued++;
      else if (outcome === 'failed') failed++;
    }
    return { requeued, failed };
  });
}

/** Frees slots whose task no longer runs under that owner (a safety net beside the fenced releases). */
export async function releaseOrphanSlots(db: Knex): Promise<number> {
  return db(T.slots).whereNotNull('task_id')
    .whereNotExists(function (this: Knex.QueryBuilder) {
      this.select(db.raw('1')).from(`${T.tasks} as t`)
        .whereRaw(`t.id = ${T.slots}.task_id`).whereRaw(`t.owner = ${T.slots}.owner`).where('t.status', 'running');
    })
    .update({ task_id: null, owner: null });
}

/** Starts waiting chains of services that have no running chain (a safety net; normally done on completion). */
export async function promoteStalledChains(db: Knex): Promise<number> {
  const rows = await db(`${T.chains} as c`).distinct('c.service_id').where('c.state', 'waiting').whereNotNull('c.service_id')
    .whereNotExists(function (this: Knex.QueryBuilder) {
      this.select(db.raw('1')).from(`${T.chains} as r`).whereRaw('r.service_id = c.service_id').where('r.state', 'running');
    });
  let n = 0;
  for (const r of rows as Array<{ service_id: number }>) {
    const started = await inTx(db, async (trx) => {
      await lockService(trx, r.service_id);
      return promoteNextChain(trx, r.service_id);
    });
    if (started !== null) n++;
  }
  return n;
}

/** Makes sure each target has its slot rows (its concurrency limit), creating them at the default limit. */
export async function ensureTargets(trx: Knex.Transaction, targets: string[], defaultLimit: number): Promise<void> {
  const unique = [...new Set(targets)];
  if (unique.length === 0) return;
  const known = new Set((await trx(T.targets).select('target').whereIn('target', unique)).map((r: { target: string }) => r.target));
  for (const target of unique.filter((t) => !known.has(t))) {
    await trx(T.targets).insert({ target, max_concurrency: defaultLimit, updated_at: nowMs(trx) }).onConflict('target').ignore();
    const slots = Array.from({ length: defaultLimit }, (_, slot) => ({ target, slot, task_id: null, owner: null }));
    await trx(T.slots).insert(slots).onConflict(['target', 'slot']).ignore();
  }
}

/** Sets how many tasks may run at once on a target, across all daemons. */
export async function setTargetLimit(db: Knex, target: string, limit: number): Promise<{ busyAboveLimit: number }> {
  if (!Number.isInteger(limit) || limit < 1 || limit > 64) throw new Error(`concurrency limit for ${target} must be a whole number between 1 and 64, got ${limit}`);
  return inTx(db, async (trx) => {
    await trx(T.targets).insert({ target, max_concurrency: limit, updated_at: nowMs(trx) }).onConflict('target').merge(['max_concurrency', 'updated_at']);
    const slots = Array.from({ length: limit }, (_, slot) => ({ target, slot, task_id: null, owner: null }));
    await trx(T.slots).insert(slots).onConflict(['target', 'slot']).ignore();
    await trx(T.slots).where('target', target).where('slot', '>=', limit).whereNull('task_id').delete();
    const busy = await trx(T.slots).where('target', target).where('slot', '>=', limit).count({ n: '*' }).first();
    return { busyAboveLimit: Number((busy as { n: number }).n) };
  });
}

/** Removes free slot rows above a target's limit once the tasks that held them have finished. */
export async function trimSlots(db: Knex): Promise<number> {
  return db(T.slots).whereNull('task_id')
    .whereExists(function (this: Knex.QueryBuilder) {
      this.select(db.raw('1')).from(`${T.targets} as g`).whereRaw(`g.target = ${T.slots}.target`).whereRaw(`${T.slots}.slot >= g.max_concurrency`);
    })
    .delete();
}

