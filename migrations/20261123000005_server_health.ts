// What the last health check of each server saw: reachable or not, its HestiaCP or PowerDNS
// version, OS, load, uptime, CPU, RAM and root-disk use. Written by the server.check task, read by the pages.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mod_hostbridge_server_health', (t) => {
    t.integer('server_id').unsigned().primary();
    t.boolean('ok').notNullable();
    t.string('version', 64).nullable();
    t.string('os', 128).nullable();
    t.string('load', 64).nullable();
    t.integer('uptime_min').nullable();
    t.integer('cpus').nullable();
    t.float('cpu_pct').nullable();
    t.integer('mem_total_mb').nullable();
    t.integer('mem_used_mb').nullable();
    t.string('disk_size', 16).nullable();
    t.string('disk_used', 16).nullable();
    t.float('disk_pct').nullable();
    t.text('error').nullable();
    t.bigInteger('checked_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_hostbridge_server_health');
}
