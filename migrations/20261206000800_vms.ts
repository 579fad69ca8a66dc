// The VM behind each KVM service: its cluster, the VMID chosen once before the clone, and the node
// it is on now. The unique (cluster_id, vmid) key is what keeps two daemons from handing out one
// VMID: Proxmox's /cluster/nextid reserves nothing.
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_vms';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.increments('id');
    t.integer('service_id').unsigned().notNullable().unique();
    t.integer('cluster_id').unsigned().notNullable();
    t.integer('vmid').unsigned().nullable();
    // Where the VM is now: the template's node after the clone, the target node after the move.
    t.string('node', 64).nullable();
    // A VMID freed by a terminate is not handed out again by us until the row goes.
    t.unique(['cluster_id', 'vmid']);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable(TABLE);
}
