// Customers' own certificates (issue 14 item 2): one per role of a service, with its private key
// sealed with the master key (AES-256-GCM, daemon/crypto/secretbox.ts) and never stored in clear.
// The facts the pages and the expiry warning read (names, issuer, dates, fingerprint) sit beside
// it, so nothing needs the key to show or warn. warned_fingerprint is the certificate the expiry
// e-mail was queued for: a new upload (another fingerprint) is warned about again.
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_ssl_custom';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.integer('service_id').unsigned().notNullable();
    // web | mail
    t.string('role', 8).notNullable();
    // The automatic-SSL row it replaces (mod_hostbridge_ssl.domain): the web domain, or mail.<domain>.
    t.string('domain', 253).notNullable();
    t.integer('server_id').unsigned().notNullable();
    t.string('user', 32).notNullable();
    // A chain of a few certificates fits in 64 KiB per field; MEDIUMTEXT leaves room for the sealed key's base64.
    t.text('cert_pem', 'mediumtext').notNullable();
    t.text('chain_pem', 'mediumtext').notNullable();
    t.text('key_sealed', 'mediumtext').notNullable();
    t.string('fingerprint256', 95).notNullable();
    t.text('names').notNullable();
    t.string('subject', 500).notNullable();
    t.string('issuer', 500).notNullable();
    t.boolean('self_signed').notNullable().defaultTo(false);
    t.bigInteger('not_before').notNullable();
    t.bigInteger('not_after').notNullable().index();
    t.bigInteger('uploaded_at').notNullable();
    t.string('uploaded_by', 200).notNullable();
    // installing | installed | removing
    t.string('state', 16).notNullable();
    t.text('last_error').nullable();
    t.bigInteger('warned_at').nullable();
    t.string('warned_fingerprint', 95).nullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['service_id', 'role']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(TABLE);
}
