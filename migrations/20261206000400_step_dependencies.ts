// Chains as small graphs: a step names the earlier steps (by step number) it waits for, so steps
// on different servers that do not depend on each other run at the same time. NULL keeps the
// landed meaning, "the step before", so chains written before this migration run as they did.
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_tasks';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable(TABLE, (t) => {
    // A JSON array of step numbers of the same chain, each lower than the step's own: "[0,3]".
    t.string('depends_on', 1024).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable(TABLE, (t) => t.dropColumn('depends_on'));
}
