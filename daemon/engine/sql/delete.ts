// deleteTasks and cleanCompleted (admin, and the clean-completed-tasks job): delete finished tasks
// with their attempt logs, and the finished chains left empty, a thousand rows per transaction.
// Fence: only rows in a finished state, and none of a chain still open (its history is still
// being written); no worker holds a finished row, so nothing here can race a worker.
import type { Knex } from 'knex';
import { inTx, nowSql } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import { AdminError, FINISHED } from '../admin.ts';
import type { Queue } from '../queue.ts';

/** Deletes finished tasks with the given statuses that finished at least olderThanMs ago. */
export async function deleteTasks(queue: Queue, statuses: string[], olderThanMs = 0): Promise<number> {
  const bad = statuses.filter((s) => !FINISHED.includes(s));
  if (statuses.length === 0 || bad.length) throw new AdminError(`only finished tasks can be deleted (statuses ${FINISHED.join(', ')}), got ${bad.join(', ') || 'none'}`);
  let total = 0;
  for (;;) {
    const deleted = await inTx(queue.db, async (trx) => {
      const ids = (await trx(T.tasks).select('id').whereIn('status', statuses)
        .where('finished_at', '<=', trx.raw(`${nowSql(trx)} - ?`, [Math.round(olderThanMs)]))
        .where((b) => b.whereNull('chain_id').orWhereNotExists(function (this: Knex.QueryBuilder) {
          this.select(trx.raw('1')).from(`${T.chains} as c`).whereRaw(`c.id = ${T.tasks}.chain_id`).whereIn('c.state', ['running', 'waiting']);
        }))
        .limit(1000)).map((r: { id: number }) => r.id);
      if (ids.length === 0) return 0;
      await trx(T.attempts).whereIn('task_id', ids).delete();
      await trx(T.tasks).whereIn('id', ids).delete();
      await trx(T.chains).whereIn('state', FINISHED).whereNotExists(function (this: Knex.QueryBuilder) {
        this.select(trx.raw('1')).from(`${T.tasks} as t`).whereRaw(`t.chain_id = ${T.chains}.id`);
      }).delete();
      return ids.length;
    });
    total += deleted;
    if (deleted < 1000) return total;
  }
}

/** Removes every finished task older than the retention period. */
export async function cleanCompleted(queue: Queue, olderThanMs: number): Promise<number> {
  return deleteTasks(queue, FINISHED, olderThanMs);
}
