// One-time links to a VM's browser console (daemon/console): the link carries a random token, the
// table only its SHA-256, so a copy of the table opens no console. A link is taken once, by the
// first WebSocket upgrade that marks used_at while it is unused and unexpired (one conditional
// UPDATE: two daemons cannot both take it). Times are milliseconds since the epoch.
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_console_links';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.increments('id');
    // SHA-256 (hex) of the token in the link's URL fragment.
    t.string('token_hash', 64).notNullable().unique();
    // hostbridge's service row (not WHMCS's id) and the WHMCS client the link was made for (0: an admin).
    t.integer('service_id').unsigned().notNullable().index();
    t.integer('client_id').unsigned().notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable().index();
    t.bigInteger('used_at').nullable();
    // The daemon that took it (host:pid:random), for the log.
    t.string('used_by', 100).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(TABLE);
}
