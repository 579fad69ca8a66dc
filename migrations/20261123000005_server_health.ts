// What the last health check of each server saw: reachable or not, its HestiaCP or PowerDNS
// version, OS, load and uptime. Written by the server.check task, read by the pages.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mod_hostbridge_server_health', (t) => {
    t.integer('server_id').unsigned().primary();
    t.boolean('ok').notNullable();
    t.string('version', 64).nullable();
    t.string('os', 128).nullable();
    t.string('load', 64).nullable();
    t.integer('uptime_min').nullable();
    t.text('error').nullable();
    t.bigInteger('checked_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_hostbridge_server_health');
}
