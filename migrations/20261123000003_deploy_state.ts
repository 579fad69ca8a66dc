// What deployments learn and leave behind: facts a later step needs (the DKIM record a mail step
// read, for the DNS steps), each zone's deploy state on each DNS server, usage per server and
// role (summed into mod_hostbridge_usage), and the auto-SSL seeds.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('mod_hostbridge_services', (t) => {
    t.text('facts').nullable();
  });

  await knex.schema.createTable('mod_hostbridge_dns_zones', (t) => {
    t.integer('service_id').unsigned().notNullable();
    t.integer('server_id').unsigned().notNullable().index();
    t.string('zone', 253).notNullable();
    // deployed | removed | failed
    t.string('state', 16).notNullable();
    t.string('records_sha256', 64).nullable();
    t.integer('records').notNullable().defaultTo(0);
    t.text('last_error').nullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['service_id', 'server_id', 'zone']);
  });

  await knex.schema.createTable('mod_hostbridge_usage_parts', (t) => {
    t.integer('service_id').unsigned().notNullable();
    t.integer('server_id').unsigned().notNullable();
    t.string('role', 8).notNullable();
    t.integer('disk_mb').notNullable().defaultTo(0);
    t.integer('bw_mb').notNullable().defaultTo(0);
    t.integer('mailboxes').notNullable().defaultTo(0);
    t.integer('databases').notNullable().defaultTo(0);
    t.integer('web_domains').notNullable().defaultTo(0);
    t.bigInteger('collected_at').notNullable();
    t.primary(['service_id', 'server_id', 'role']);
  });

  await knex.schema.createTable('mod_hostbridge_ssl', (t) => {
    t.integer('service_id').unsigned().notNullable();
    t.string('domain', 253).notNullable();
    t.integer('server_id').unsigned().notNullable();
    t.string('user', 32).notNullable();
    // waiting-dns | issued | frozen
    t.string('state', 16).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('next_check_at').notNullable().index();
    t.text('last_error').nullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['service_id', 'domain']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['ssl', 'usage_parts', 'dns_zones']) await knex.schema.dropTableIfExists(`mod_hostbridge_${table}`);
  await knex.schema.alterTable('mod_hostbridge_services', (t) => {
    t.dropColumn('facts');
  });
}
