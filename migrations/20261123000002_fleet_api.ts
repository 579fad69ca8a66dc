// The fleet inventory (servers with capabilities, server groups, their DNS servers, vanity parent
// domains and reserved names), what each service owns on which server, usage figures, the API's
// replay memory, and the service columns the lifecycle routes need.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mod_hostbridge_servers', (t) => {
    t.increments('id');
    t.string('name', 191).notNullable().unique();
    t.string('driver', 16).notNullable();
    t.string('hostname', 253).notNullable();
    t.string('ip', 45).notNullable();
    t.integer('port').notNullable();
    t.string('username', 64).nullable();
    t.string('auth_method', 16).notNullable();
    // Password, private key or API key, sealed with the master key (crypto/secretbox).
    t.text('credential').nullable();
    t.string('host_key_sha256', 128).nullable();
    t.string('hestia_bin', 255).nullable();
    t.boolean('cap_web').notNullable().defaultTo(false);
    t.boolean('cap_mail').notNullable().defaultTo(false);
    t.boolean('cap_dns').notNullable().defaultTo(false);
    t.string('status', 16).notNullable().defaultTo('active');
    t.integer('max_accounts').notNullable().defaultTo(0);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });

  await knex.schema.createTable('mod_hostbridge_server_groups', (t) => {
    t.increments('id');
    t.string('name', 191).notNullable().unique();
    t.string('nameservers', 1024).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });

  // Web and mail nodes of a group.
  await knex.schema.createTable('mod_hostbridge_group_servers', (t) => {
    t.integer('group_id').unsigned().notNullable();
    t.integer('server_id').unsigned().notNullable().index();
    t.primary(['group_id', 'server_id']);
  });

  // DNS servers attached to a group; one DNS server may serve many groups.
  await knex.schema.createTable('mod_hostbridge_group_dns', (t) => {
    t.integer('group_id').unsigned().notNullable();
    t.integer('server_id').unsigned().notNullable().index();
    t.primary(['group_id', 'server_id']);
  });

  await knex.schema.createTable('mod_hostbridge_vanity_domains', (t) => {
    t.increments('id');
    t.integer('group_id').unsigned().notNullable();
    t.string('domain', 253).notNullable();
    // The provider's own Hestia user holding the parent mail domain, and where it lives.
    t.integer('mail_server_id').unsigned().nullable();
    t.string('mail_user', 32).nullable();
    // The provider's Hestia user owning the parent zone on Hestia DNS nodes.
    t.string('dns_user', 32).nullable();
    t.bigInteger('created_at').notNullable();
    t.unique(['group_id', 'domain']);
  });

  await knex.schema.createTable('mod_hostbridge_reserved_names', (t) => {
    t.integer('group_id').unsigned().notNullable();
    t.string('name', 63).notNullable();
    t.primary(['group_id', 'name']);
  });

  // One row per (service, role, server): where the service's accounts live. Written with the
  // service row, read for placement load, lifecycle chains and terminate.
  await knex.schema.createTable('mod_hostbridge_service_servers', (t) => {
    t.integer('service_id').unsigned().notNullable();
    t.string('role', 8).notNullable();
    t.integer('server_id').unsigned().notNullable().index();
    t.string('account', 64).nullable();
    t.primary(['service_id', 'role', 'server_id']);
  });

  await knex.schema.createTable('mod_hostbridge_usage', (t) => {
    t.integer('service_id').unsigned().primary();
    t.integer('disk_used_mb').notNullable().defaultTo(0);
    t.integer('disk_limit_mb').notNullable().defaultTo(0);
    t.integer('bw_used_mb').notNullable().defaultTo(0);
    t.integer('bw_limit_mb').notNullable().defaultTo(0);
    t.integer('mailboxes').notNullable().defaultTo(0);
    t.integer('databases').notNullable().defaultTo(0);
    t.integer('web_domains').notNullable().defaultTo(0);
    t.bigInteger('collected_at').notNullable();
  });

  // Nonces seen inside the signature window, shared by every daemon on this database.
  await knex.schema.createTable('mod_hostbridge_api_nonces', (t) => {
    t.string('nonce', 128).primary();
    t.bigInteger('expires_at').notNullable().index();
  });

  await knex.schema.alterTable('mod_hostbridge_services', (t) => {
    t.integer('client_id').unsigned().nullable();
    t.integer('product_id').unsigned().nullable();
    t.integer('group_id').unsigned().nullable();
    t.string('domain', 253).nullable();
    t.string('username', 64).nullable();
    t.string('email', 191).nullable();
    t.index(['domain']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('mod_hostbridge_services', (t) => {
    t.dropIndex(['domain']);
    t.dropColumns('client_id', 'product_id', 'group_id', 'domain', 'username', 'email');
  });
  for (const table of ['api_nonces', 'usage', 'service_servers', 'reserved_names', 'vanity_domains', 'group_dns', 'group_servers', 'server_groups', 'servers']) {
    await knex.schema.dropTableIfExists(`mod_hostbridge_${table}`);
  }
}
