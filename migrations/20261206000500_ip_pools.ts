// IP pools for Proxmox VMs and the addresses handed out of them. A pool is a network on one
// cluster's bridge (and VLAN), with the ranges it may hand out. An address has a row only while it
// is allocated to a service, reserved by an admin or being released: a range is never written out.
// The unique key on the address text is what keeps two daemons from handing out one address.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mod_hostbridge_ip_pools', (t) => {
    t.increments('id');
    t.string('name', 191).notNullable().unique();
    // The Proxmox cluster of the inventory (no foreign key: the clusters are kept elsewhere).
    t.integer('cluster_id').unsigned().notNullable();
    // NULL: any node of the cluster.
    t.string('node', 63).nullable();
    t.string('bridge', 15).notNullable();
    t.integer('vlan').unsigned().nullable();
    t.tinyint('family').unsigned().notNullable();
    // Canonical CIDR text, and the allocatable ranges as JSON [["first","last"], ...] (canonical text).
    t.string('network', 49).notNullable();
    t.text('ranges').notNullable();
    t.string('gateway', 39).nullable();
    // The prefix length the VM is configured with.
    t.tinyint('prefix').unsigned().notNullable();
    // Comma-separated resolver addresses.
    t.string('resolvers', 512).notNullable().defaultTo('');
    t.boolean('enabled').notNullable().defaultTo(true);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['cluster_id', 'bridge']);
  });

  await knex.schema.createTable('mod_hostbridge_ip_addresses', (t) => {
    t.increments('id');
    t.integer('pool_id').unsigned().notNullable();
    // Canonical text (dotted IPv4, RFC 5952 IPv6): one address is in one place.
    t.string('ip', 39).notNullable().unique();
    // Fixed-width hex of the address (8 or 32 digits): text order is address order, for the gap search.
    t.string('ip_key', 32).notNullable();
    t.tinyint('family').unsigned().notNullable();
    // allocated | reserved | releasing
    t.string('status', 16).notNullable();
    // hostbridge's service row id (NULL for an admin's reservation).
    t.integer('service_id').unsigned().nullable().index();
    t.string('note', 255).nullable();
    t.bigInteger('allocated_at').notNullable();
    t.index(['pool_id', 'ip_key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mod_hostbridge_ip_addresses');
  await knex.schema.dropTableIfExists('mod_hostbridge_ip_pools');
}
