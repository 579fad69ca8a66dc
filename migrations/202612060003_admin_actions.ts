// What admins did on the pages, and who: each form's result (a retry, a saved server, settings)
// with its actor, the WHMCS admin's name for the pages embedded in WHMCS, or the daemon's own
// login. The Operation Log lists them beside the chains and task attempts.
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_admin_actions';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.bigIncrements('id');
    t.bigInteger('at').notNullable().index();
    // "WHMCS admin jane (#3)", "daemon admin (password)", "daemon admin (signed link)"
    t.string('actor', 200).notNullable();
    // whmcs | password | link
    t.string('via', 8).notNullable();
    t.boolean('ok').notNullable();
    // The page's own message for the result (what was done, or why it was refused).
    t.text('message').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(TABLE);
}
