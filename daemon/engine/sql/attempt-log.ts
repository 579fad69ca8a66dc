// The attempt log: one row per attempt, written in the transaction that records its outcome,
// with the end of what the step printed, its duration, its result and (on failure) its error;
// and its Operation Log entry (oplog.ts), in the same transaction.
import type { Knex } from 'knex';
import { nowMs } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import { MAX_OUTPUT, type AttemptRecord, type Claim } from '../rows.ts';
import { attemptEntry, recordOperations } from './oplog.ts';

/** The attempt row of a claim; `extra` adds the error, the retry delay, or its own finish time. */
export function attemptRow(trx: Knex.Transaction, c: Claim, a: AttemptRecord, result: string, extra: Record<string, unknown> = {}) {
  return {
    task_id: c.id, attempt: c.attempts, owner: c.owner, started_at: c.started_at, finished_at: nowMs(trx),
    duration_ms: Math.round(a.durationMs), result, output: a.output ? a.output.slice(-MAX_OUTPUT) : null, ...extra,
  };
}

export async function insertAttempt(trx: Knex.Transaction, c: Claim, a: AttemptRecord, result: string, extra: Record<string, unknown> = {}): Promise<void> {
  await trx(T.attempts).insert(attemptRow(trx, c, a, result, extra));
  await recordOperations(trx, [attemptEntry(c, a, result, extra)]);
}
