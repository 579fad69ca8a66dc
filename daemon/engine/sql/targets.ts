// Per-target limits: each target (a server, e.g. "hestia:7") has one slot row per task allowed on
// it at once, across all daemons. ensureTargets creates them at the default limit, setTargetLimit
// changes it, trimSlots removes the free slots above a lowered limit.
// Fence: a slot is taken only by claimDue, in its claiming transaction, and freed only under the
// owner token that took it; here only free slots (task_id null) are ever removed.
import type { Knex } from 'knex';
import { inTx, nowMs } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';

/**
 * Targets known to exist, per database (its connection settings). A target row and its slots are
 * never deleted (only free slots above a lowered limit), so once seen committed a target needs no
 * more reads: every chain enqueued after its first saves that round trip.
 */
const knownTargets = new WeakMap<object, Set<string>>();

function knownOf(trx: Knex.Transaction): Set<string> {
  const key = (trx.client as { config: object }).config;
  return knownTargets.get(key) ?? knownTargets.set(key, new Set()).get(key)!;
}

/** Makes sure each target has its slot rows (its concurrency limit), creating them at the default limit. */
export async function ensureTargets(trx: Knex.Transaction, targets: string[], defaultLimit: number): Promise<void> {
  const cache = knownOf(trx);
  const unique = [...new Set(targets)].filter((t) => !cache.has(t));
  if (unique.length === 0) return;
  const known = new Set((await trx(T.targets).select('target').whereIn('target', unique)).map((r: { target: string }) => r.target));
  for (const target of unique.filter((t) => !known.has(t))) {
    await trx(T.targets).insert({ target, max_concurrency: defaultLimit, updated_at: nowMs(trx) }).onConflict('target').ignore();
    const slots = Array.from({ length: defaultLimit }, (_, slot) => ({ target, slot, task_id: null, owner: null }));
    await trx(T.slots).insert(slots).onConflict(['target', 'slot']).ignore();
  }
  // Remembered only once this transaction has committed: a rolled-back insert made nothing.
  const committed = (trx as { executionPromise?: Promise<unknown> }).executionPromise;
  committed?.then(() => { for (const t of unique) cache.add(t); }, () => {});
}

/** Sets how many tasks may run at once on a target, across all daemons. */
export async function setTargetLimit(db: Knex, target: string, limit: number): Promise<{ busyAboveLimit: number }> {
  if (!Number.isInteger(limit) || limit < 1 || limit > 64) throw new Error(`concurrency limit for ${target} must be a whole number between 1 and 64, got ${limit}`);
  return inTx(db, async (trx) => {
    await trx(T.targets).insert({ target, max_concurrency: limit, updated_at: nowMs(trx) }).onConflict('target').merge(['max_concurrency', 'updated_at']);
    const slots = Array.from({ length: limit }, (_, slot) => ({ target, slot, task_id: null, owner: null }));
    await trx(T.slots).insert(slots).onConflict(['target', 'slot']).ignore();
    // A slot still held stays until its task finishes; trimSlots removes it then.
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
