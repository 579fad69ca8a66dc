// E-mails to WHMCS clients through the External API's SendEmail, kept until WHMCS takes them (filled by the e-mail work).
// A row is written in the transaction of what causes the e-mail; its dedupe key makes the intent
// idempotent. Merge fields are stored as JSON and never hold a password.
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_email_outbox';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.increments('id');
    t.string('dedupe_key', 191).notNullable().unique();
    t.integer('whmcs_service_id').unsigned().notNullable();
    // vm-ready | backup-restored: the WHMCS template is named in the settings when it is sent.
    t.string('template', 32).notNullable();
    t.text('vars').notNullable();
    // pending | delivered | refused
    t.string('state', 16).notNullable();
    t.integer('attempts').unsigned().notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').notNullable();
    t.text('last_error').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('delivered_at').nullable();
    t.index(['state', 'next_attempt_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(TABLE);
}
