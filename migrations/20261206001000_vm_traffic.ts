// VM traffic per billing period, from Proxmox's RRD data (filled by the statistics work).
// Two tables: the bytes in and out per (service, calendar month), and per service the time up to
// which RRD samples are counted. The collector moves that time forward with a conditional update in
// the transaction that adds the bytes, so a rerun or a second daemon never counts a sample twice.
import type { Knex } from 'knex';

const TRAFFIC = 'mod_hostbridge_vm_traffic';
const CURSOR = 'mod_hostbridge_vm_traffic_cursor';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(TRAFFIC, (t) => {
    t.increments('id');
    t.integer('service_id').unsigned().notNullable();
    // The billing period: a calendar month in UTC, "2026-12".
    t.string('period', 7).notNullable();
    // Bytes, as sums of average bytes/s × seconds: fractional, kept exact rather than rounded per run.
    t.double('bytes_in').notNullable().defaultTo(0);
    t.double('bytes_out').notNullable().defaultTo(0);
    t.bigInteger('updated_at').notNullable();
    t.unique(['service_id', 'period']);
  });
  await knex.schema.createTable(CURSOR, (t) => {
    t.integer('service_id').unsigned().notNullable().primary();
    // Unix seconds: every RRD second up to here is counted.
    t.bigInteger('counted_until').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(CURSOR);
  await knex.schema.dropTableIfExists(TRAFFIC);
}
