// Role-targeted HestiaCP configuration (issue 14): the hestia.conf keys a server group manages and
// their values (mod_hostbridge_hestia_config, one row per managed key; no row: "not managed"), the
// last Apply per group and server (mod_hostbridge_hestia_config_runs) and its outcome per key
// (mod_hostbridge_hestia_config_results).
import type { Knex } from 'knex';

const CONFIG = 'mod_hostbridge_hestia_config';
const RUNS = 'mod_hostbridge_hestia_config_runs';
const RESULTS = 'mod_hostbridge_hestia_config_results';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(CONFIG, (t) => {
    t.integer('group_id').unsigned().notNullable();
    t.string('config_key', 64).notNullable();
    t.string('value', 255).notNullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['group_id', 'config_key']);
  });
  await knex.schema.createTable(RUNS, (t) => {
    t.integer('group_id').unsigned().notNullable();
    t.integer('server_id').unsigned().notNullable();
    // all | web | mail | dns: which Apply button queued it.
    t.string('role', 8).notNullable();
    // queued | applied | unchanged | refused | skipped | failed
    t.string('outcome', 16).notNullable();
    t.string('message', 1000).nullable();
    t.bigInteger('queued_at').notNullable();
    t.bigInteger('finished_at').nullable();
    t.primary(['group_id', 'server_id']);
  });
  await knex.schema.createTable(RESULTS, (t) => {
    t.integer('group_id').unsigned().notNullable();
    t.integer('server_id').unsigned().notNullable();
    t.string('config_key', 64).notNullable();
    t.string('value', 255).notNullable();
    // applied | unchanged | refused
    t.string('outcome', 16).notNullable();
    t.string('message', 1000).nullable();
    t.bigInteger('at').notNullable();
    t.primary(['group_id', 'server_id', 'config_key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(RESULTS);
  await knex.schema.dropTableIfExists(RUNS);
  await knex.schema.dropTableIfExists(CONFIG);
}
