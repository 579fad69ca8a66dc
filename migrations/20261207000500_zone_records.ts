// The customer's own DNS records (the hosting panel's DNS tab): what the daemon keeps and adds to
// the records the deployment manages each time a service's zone is converged on a DNS server. A
// row is written only once every DNS server of the service holds the record (the panel's chain
// publishes first, then saves), so a refused or failed publish never leaves a row behind.
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_zone_records';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.increments('id');
    t.integer('service_id').unsigned().notNullable().index();
    // Relative to the zone: "@" for the apex.
    t.string('name', 253).notNullable();
    // A, AAAA, CNAME, MX, TXT, SRV, CAA
    t.string('type', 8).notNullable();
    // In the zone host contract's normal form (daemon/dns/records.ts): TXT without quotes, host names without the dot.
    t.text('value').notNullable();
    // MX and SRV only.
    t.integer('priority').nullable();
    // Seconds; null: the DNS server's default.
    t.integer('ttl').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(TABLE);
}
