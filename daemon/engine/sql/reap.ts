// Recovery after a daemon died or stalled: reapExpired takes back tasks whose lease ran out (each
// counts as a failed, retryable attempt, logged as 'lost'); releaseOrphanSlots and
// promoteStalledChains are safety nets for slots and chains the normal path should have freed.
// Fence: a running row is reaped only once its lease has passed, locked with SKIP LOCKED, and
// failed through the same owner-token fence as a worker's own failure; the dead worker, should it
// wake, then matches nothing.
import type { Knex } from 'knex';
import { inTx, nowMs } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import type { RetryPolicy } from '../retry.ts';
import type { Queue } from '../queue.ts';
import { TASK_COLUMNS, type Claim, type TaskRow } from '../rows.ts';
import { skipLocked } from './fence.ts';
import { failClaim } from './finish-failed.ts';
import { lockService, promoteNextChain } from './chain-end.ts';

export const LEASE_EXPIRED = 'lease expired: the daemon running this attempt stopped or stalled before finishing it';

/** Takes back up to `limit` tasks whose lease ran out; each counts as a failed, retryable attempt. */
export async function reapExpired(queue: Queue, policyFor: (row: TaskRow) => RetryPolicy, limit = 200): Promise<{ requeued: number; failed: number }> {
  return inTx(queue.db, async (trx) => {
    const rows: TaskRow[] = await skipLocked(
      trx(T.tasks).select(...TASK_COLUMNS, 'owner', 'started_at').where('status', 'running').where('lease_until', '<', nowMs(trx)).orderBy('id').limit(limit),
      trx,
    );
    let requeued = 0;
    let failed = 0;
    for (const row of rows) {
      // The dead worker's own token: the reaper writes through the same fence it would have.
      const claim = { ...row, owner: row.owner ?? '' } as Claim;
      const outcome = await failClaim(trx, queue.hooks, claim, {
        output: '', durationMs: 0, error: LEASE_EXPIRED, kind: 'retryable', policy: policyFor(row), attemptResult: 'lost',
      });
      if (outcome === 'retry') requeued++;
      else if (outcome === 'failed') failed++;
    }
    return { requeued, failed };
  });
}

/**
 * Frees slots whose task no longer runs under that owner (a safety net beside the fenced releases).
 * Two statements, not one UPDATE with the check as its subquery: MariaDB reads an UPDATE's subquery
 * from a snapshot taken before the statement waited for a locked slot row, so a slot that a claim
 * was committing meanwhile looked orphaned and was freed under it (two tasks then ran on a server
 * with one slot). One SELECT reads both tables from one snapshot; each slot is then freed only if
 * it still holds what was read (a claim's owner token is never reused).
 */
export async function releaseOrphanSlots(db: Knex): Promise<number> {
  const orphans: Array<{ target: string; slot: number; task_id: number; owner: string | null }> = await db(T.slots)
    .select('target', 'slot', 'task_id', 'owner')
    .whereNotNull('task_id')
    .whereNotExists(function (this: Knex.QueryBuilder) {
      this.select(db.raw('1')).from(`${T.tasks} as t`)
        .whereRaw(`t.id = ${T.slots}.task_id`).whereRaw(`t.owner = ${T.slots}.owner`).where('t.status', 'running');
    });
  let freed = 0;
  for (const o of orphans) {
    const q = db(T.slots).where({ target: o.target, slot: o.slot, task_id: o.task_id });
    freed += await (o.owner === null ? q.whereNull('owner') : q.where('owner', o.owner)).update({ task_id: null, owner: null });
  }
  return freed;
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
