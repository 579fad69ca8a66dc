// KVM product profiles kept by the daemon: what a WHMCS KVM product (configoption15) deploys.
// The name and the cluster are columns (looked up, unique, counted when a cluster is removed);
// the VM's shape is one JSON document, always read and written whole and checked by the daemon
// (pipelines/kvm-product.ts normaliseKvmProfile) on every write, so a new profile field needs no
// migration. cluster_id names mod_hostbridge_pve_clusters.id, without a foreign key.
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_kvm_profiles';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.increments('id');
    t.string('name', 64).notNullable().unique();
    t.integer('cluster_id').unsigned().notNullable().index();
    t.text('spec').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(TABLE);
}
