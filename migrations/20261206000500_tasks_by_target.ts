// Due tasks by server: a success hands its freed slot to the next due task on the same server,
// claimed in its own transaction (sql/claim.ts, claimWithin with targets). Without this index that
// read walked every queued task in run_at order, locking and skipping each, to find the few on one
// server (a 1,000-order burst queues thousands).
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_tasks';
const INDEX = 'mod_hostbridge_tasks_target_due';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable(TABLE, (t) => t.index(['target', 'status', 'run_at', 'id'], INDEX));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable(TABLE, (t) => t.dropIndex(['target', 'status', 'run_at', 'id'], INDEX));
}
