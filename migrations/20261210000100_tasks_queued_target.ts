// A finishing step hands its freed server's next task to the worker it frees, in the same
// transaction (engine/sql/finish-succeeded.ts): that read asks for the oldest queued task on one
// target, which this index answers without walking the queued tasks of every other server.
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_tasks';
const INDEX = 'mod_hostbridge_tasks_queued_target';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable(TABLE, (t) => {
    t.index(['status', 'target', 'id'], INDEX);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable(TABLE, (t) => {
    t.dropIndex(['status', 'target', 'id'], INDEX);
  });
}
