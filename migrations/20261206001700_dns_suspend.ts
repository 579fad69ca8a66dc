// What a force terminate could not remove (a node down, a refusal), kept for later cleanup after
// the service's own rows are gone: the role, the server and the account, until an admin marks
// it cleaned up on the DNS Zones page. Suspended zones need no column: mod_hostbridge_dns_zones'
// state says "suspended".
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_leftovers';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.bigIncrements('id');
    t.integer('whmcs_service_id').unsigned().notNullable().index();
    t.string('domain', 253).notNullable();
    // web | mail | all | dns | mailbox | record
    t.string('role', 16).notNullable();
    t.integer('server_id').unsigned().notNullable();
    t.string('server', 191).notNullable();
    t.string('account', 191).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('cleaned_at').nullable().index();
    t.string('cleaned_by', 200).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(TABLE);
}
