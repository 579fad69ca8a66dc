// The customer's VM panel, network and media (issue 16): what the customer asked for, kept by the
// daemon so a step can make the VM equal to it (and run again to the same end). Three tables:
// mod_hostbridge_vm_iso (the ISO image wanted in the VM's CD-ROM drive, NULL for none; one row per
// service), mod_hostbridge_vm_firewall_rules (the VM's firewall rules in order, one row per rule)
// and mod_hostbridge_vm_rdns (the PTR name wanted for one of the VM's addresses; no row: the VM's
// host name).
import type { Knex } from 'knex';

const ISO = 'mod_hostbridge_vm_iso';
const RULES = 'mod_hostbridge_vm_firewall_rules';
const RDNS = 'mod_hostbridge_vm_rdns';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(ISO, (t) => {
    t.integer('service_id').unsigned().primary();
    t.string('volid', 255).nullable();
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable(RULES, (t) => {
    t.increments('id');
    t.integer('service_id').unsigned().notNullable();
    // 0 first: Proxmox's rule position.
    t.integer('pos').unsigned().notNullable();
    t.string('action', 8).notNullable();
    t.string('direction', 4).notNullable();
    t.string('proto', 16).nullable();
    t.string('dport', 128).nullable();
    t.string('source', 64).nullable();
    t.string('comment', 512).nullable();
    t.bigInteger('updated_at').notNullable();
    t.unique(['service_id', 'pos']);
  });
  await knex.schema.createTable(RDNS, (t) => {
    t.integer('service_id').unsigned().notNullable();
    // Canonical text (formatIp), as mod_hostbridge_ip_addresses holds it.
    t.string('ip', 45).notNullable();
    t.string('name', 253).notNullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['service_id', 'ip']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(RDNS);
  await knex.schema.dropTableIfExists(RULES);
  await knex.schema.dropTableIfExists(ISO);
}
