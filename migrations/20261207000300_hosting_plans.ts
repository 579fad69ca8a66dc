// Hosting plan profiles kept by the daemon: every HestiaCP package limit and web template a hosting
// product (configoption16, "Hosting plan") deploys. The name is a column (looked up, unique); the
// limits are one JSON document, always read and written whole and checked by the daemon
// (pipelines/hosting-plan.ts normaliseHostingPlan) on every write, so a new field needs no migration.
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_hosting_plans';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.increments('id');
    t.string('name', 64).notNullable().unique();
    t.text('spec').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(TABLE);
}
