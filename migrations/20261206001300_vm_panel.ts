// The customer's VM panel (issue 16): who asked for a backup or a restore. A run the panel queues
// (a backup taken now, a restore) carries its requester in mod_hostbridge_vm_backup_runs.requested_by
// ("WHMCS client #7", or the admin's name when an admin acted for the customer); a scheduled backup
// and a run queued through the signed API leave it NULL. The chains the panel queues are recorded
// with their actor in mod_hostbridge_admin_actions, as the admin pages' own actions are.
import type { Knex } from 'knex';

const RUNS = 'mod_hostbridge_vm_backup_runs';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable(RUNS, (t) => {
    t.string('requested_by', 200).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable(RUNS, (t) => {
    t.dropColumn('requested_by');
  });
}
