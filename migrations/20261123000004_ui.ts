// The pages' own state: admin and customer sessions (the cookie holds a random token, the table
// only its SHA-256), the signed links already opened (each opens once), and failed logins for the
// rate limit. Times are milliseconds since the epoch, like every other table.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mod_hostbridge_ui_sessions', (t) => {
    // SHA-256 (hex) of the cookie's token: a copy of the table opens no session.
    t.string('id', 64).primary();
    // admin | client
    t.string('kind', 8).notNullable();
    // For a client session: the WHMCS service ids it may see, comma-separated.
    t.string('scope', 1024).nullable();
    // password | link
    t.string('via', 8).notNullable();
    t.string('csrf', 64).notNullable();
    // A one-shot message for the next page (the result of the last form).
    t.text('flash').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable().index();
  });

  await knex.schema.createTable('mod_hostbridge_ui_links', (t) => {
    t.string('jti', 32).primary();
    t.bigInteger('expires_at').notNullable().index();
  });

  await knex.schema.createTable('mod_hostbridge_ui_login_failures', (t) => {
    t.bigIncrements('id');
    t.string('ip', 64).notNullable();
    t.bigInteger('at').notNullable();
    t.index(['ip', 'at']);
    t.index(['at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['ui_login_failures', 'ui_links', 'ui_sessions']) await knex.schema.dropTableIfExists(`mod_hostbridge_${table}`);
}
