// Due tasks are claimed oldest first by id (the order their chains were placed in), not by the time
// each became due: a step that becomes ready when the one before it ends keeps its order's place
// instead of going behind every first step queued since (engine/sql/claim.ts). This index serves
// that order among the queued rows.
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_tasks';
const INDEX = 'mod_hostbridge_tasks_queued_id';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable(TABLE, (t) => {
    t.index(['status', 'id'], INDEX);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable(TABLE, (t) => {
    t.dropIndex(['status', 'id'], INDEX);
  });
}
