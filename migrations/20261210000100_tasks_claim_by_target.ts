// A claim on MySQL reads the due tasks of each target that has a free slot, oldest first, and only
// as many as it has free slots (engine/sql/claim.ts): this index serves that read, so a claim no
// longer walks every queued task of the busy servers to find the few it can run.
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
