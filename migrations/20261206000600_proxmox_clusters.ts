// Proxmox VE clusters in the fleet inventory: a cluster (its API token or password sealed, its
// certificate pinned by fingerprint, its per-node task limit and last health), its API endpoints in
// failover order, and what discovery found on it — nodes, storages (with the roles the admin gives
// them), bridges (with the VLANs the admin allows) — plus the admin's templates per OS.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mod_hostbridge_pve_clusters', (t) => {
    t.increments('id');
    t.string('name', 191).notNullable().unique();
    // token: auth_id is user@realm!tokenid; password: auth_id is user@realm. The secret is sealed (crypto/secretbox).
    t.string('credential_kind', 8).notNullable();
    t.string('auth_id', 191).notNullable();
    t.text('credential').notNullable();
    // SHA-256 of the API's certificate, upper-case hex pairs joined by ':' as the PVE GUI shows it.
    t.string('fingerprint_sha256', 95).notNullable();
    t.integer('max_tasks_per_node').notNullable().defaultTo(2);
    t.string('status', 16).notNullable().defaultTo('unknown');
    t.string('version', 64).nullable();
    t.integer('vm_count').nullable();
    t.bigInteger('last_checked_at').nullable();
    t.text('last_error').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });

  // Tried in position order: the first that answers serves the call.
  await knex.schema.createTable('mod_hostbridge_pve_endpoints', (t) => {
    t.increments('id');
    t.integer('cluster_id').unsigned().notNullable();
    t.integer('position').notNullable();
    t.string('host', 253).notNullable();
    t.integer('port').notNullable();
    t.unique(['cluster_id', 'position']);
  });

  await knex.schema.createTable('mod_hostbridge_pve_nodes', (t) => {
    t.increments('id');
    t.integer('cluster_id').unsigned().notNullable();
    t.string('name', 64).notNullable();
    t.string('status', 16).notNullable().defaultTo('unknown');
    // The admin may keep a node out of placement.
    t.boolean('enabled').notNullable().defaultTo(true);
    // Still listed by the cluster at the last discovery.
    t.boolean('present').notNullable().defaultTo(true);
    t.integer('maxcpu').nullable();
    t.float('cpu').nullable();
    t.bigInteger('maxmem').nullable();
    t.bigInteger('mem').nullable();
    t.bigInteger('maxdisk').nullable();
    t.bigInteger('disk').nullable();
    t.integer('uptime').nullable();
    t.integer('vm_count').nullable();
    t.bigInteger('checked_at').nullable();
    t.unique(['cluster_id', 'name']);
  });

  // A shared storage is one row with node '' (every node sees it); a local one is a row per node.
  await knex.schema.createTable('mod_hostbridge_pve_storages', (t) => {
    t.increments('id');
    t.integer('cluster_id').unsigned().notNullable();
    t.string('node', 64).notNullable().defaultTo('');
    t.string('storage', 64).notNullable();
    t.string('type', 32).notNullable();
    t.string('content', 255).notNullable().defaultTo('');
    t.boolean('shared').notNullable().defaultTo(false);
    t.boolean('enabled').notNullable().defaultTo(true);
    t.boolean('active').notNullable().defaultTo(true);
    t.boolean('present').notNullable().defaultTo(true);
    t.bigInteger('total').nullable();
    t.bigInteger('used').nullable();
    t.bigInteger('avail').nullable();
    // What the admin lets hostbridge put there.
    t.boolean('role_templates').notNullable().defaultTo(false);
    t.boolean('role_system').notNullable().defaultTo(false);
    t.boolean('role_additional').notNullable().defaultTo(false);
    t.boolean('role_backups').notNullable().defaultTo(false);
    t.bigInteger('checked_at').nullable();
    t.unique(['cluster_id', 'node', 'storage']);
  });

  // A bridge by name across the cluster, with the nodes that have it. vlans: '' none (untagged
  // only), 'any', or ids and ranges such as '10,20,100-110'.
  await knex.schema.createTable('mod_hostbridge_pve_bridges', (t) => {
    t.increments('id');
    t.integer('cluster_id').unsigned().notNullable();
    t.string('iface', 64).notNullable();
    t.text('nodes').notNullable();
    t.text('vlans').notNullable();
    t.boolean('present').notNullable().defaultTo(true);
    t.unique(['cluster_id', 'iface']);
  });

  await knex.schema.createTable('mod_hostbridge_pve_templates', (t) => {
    t.increments('id');
    t.integer('cluster_id').unsigned().notNullable();
    t.string('slug', 64).notNullable();
    t.string('label', 191).notNullable();
    t.integer('vmid').unsigned().notNullable();
    t.string('node', 64).notNullable();
    t.string('storage', 64).notNullable();
    t.boolean('cloud_init').notNullable().defaultTo(true);
    t.boolean('enabled').notNullable().defaultTo(true);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.unique(['cluster_id', 'slug']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['templates', 'bridges', 'storages', 'nodes', 'endpoints', 'clusters']) {
    await knex.schema.dropTableIfExists(`mod_hostbridge_pve_${table}`);
  }
}
