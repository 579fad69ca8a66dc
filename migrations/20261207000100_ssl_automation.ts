// Automatic SSL (issue 14): what the ssl-check worker keeps per certificate. A row is one
// certificate of one role of a service: `domain` is the certificate's first name (web: the web
// domain; mail: mail.<domain>), `names` all its names. The cadence reads checks (fast mode),
// failures (the rate-limit guard) and frozen_until; the pages read the last check's line and what
// the server serves (not_after, issuer). States: waiting-dns | issuing | issued | failed | frozen | custom.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('mod_hostbridge_ssl', (t) => {
    t.string('role', 8).notNullable().defaultTo('web');
    t.text('names').nullable();
    t.integer('checks').notNullable().defaultTo(0);
    t.integer('failures').notNullable().defaultTo(0);
    t.bigInteger('frozen_until').nullable();
    t.bigInteger('not_after').nullable();
    t.string('issuer', 255).nullable();
    t.bigInteger('last_check_at').nullable();
    t.text('last_result').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('mod_hostbridge_ssl', (t) => {
    for (const c of ['role', 'names', 'checks', 'failures', 'frozen_until', 'not_after', 'issuer', 'last_check_at', 'last_result']) t.dropColumn(c);
  });
}
