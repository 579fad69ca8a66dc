// Secrets the customer typed in the hosting panel (a mailbox, database or FTP password): sealed with
// the master key when the action is queued, keyed by its chain and the secret's name, taken by the
// step that needs it and deleted when the chain ends. Never in task args, logs or the Operation Log.
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_panel_secrets';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.increments('id');
    t.bigInteger('chain_id').notNullable();
    t.string('name', 64).notNullable();
    t.text('sealed').notNullable();
    t.bigInteger('created_at').notNullable();
    t.unique(['chain_id', 'name']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(TABLE);
}
