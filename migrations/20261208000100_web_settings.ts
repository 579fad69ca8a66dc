// The customer's choices in the hosting panel's Web settings tab, one row per service and role (web):
// the PHP (backend) and proxy templates they picked, which every later web.templates step (deploy,
// redeploy, package change) keeps while the web server still offers them, instead of the plan's
// default; and the aliases whose A record the service's zone publishes (written once every DNS
// server of the service holds it, so every later converge of the zone keeps it).
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_web_settings';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.integer('service_id').unsigned().notNullable();
    // web (a Unified service's one user holds the web domain too)
    t.string('role', 8).notNullable();
    // HestiaCP template names (1-66 characters); null: the plan's default applies.
    t.string('backend_template', 66).nullable();
    t.string('proxy_template', 66).nullable();
    // Comma-separated full host names under the service's domain, each published as an A record.
    t.text('dns_aliases').nullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['service_id', 'role']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(TABLE);
}
