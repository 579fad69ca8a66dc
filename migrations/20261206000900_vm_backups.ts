// Backups and snapshots of VMs: per-VM backup days, the backup and restore tasks followed to the end (filled by the backups work)
// Two tables. mod_hostbridge_vm_backup_days: the weekdays a VM is backed up on (one row per
// service). mod_hostbridge_vm_backup_runs: one row per backup or restore hostbridge starts. Its
// unique run_key (`backup:<service>:<day>` for a scheduled backup, `restore:<service>:<id>`)
// makes a second daemon or a rerun find the run instead of starting another; active_key
// (`<service>`, NULL once the run ended) allows one running backup or restore per VM. The UPID is
// written before the task is waited on, so a successor daemon follows the same Proxmox task.
import type { Knex } from 'knex';

const DAYS = 'mod_hostbridge_vm_backup_days';
const RUNS = 'mod_hostbridge_vm_backup_runs';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(DAYS, (t) => {
    t.integer('service_id').unsigned().primary();
    // Weekday numbers 0 (Sunday) … 6, comma-separated in order; '' for none.
    t.string('days', 32).notNullable();
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable(RUNS, (t) => {
    t.increments('id');
    t.integer('service_id').unsigned().notNullable().index();
    t.string('kind', 16).notNullable();
    t.string('origin', 16).notNullable();
    t.string('run_key', 128).notNullable().unique();
    t.string('active_key', 64).nullable().unique();
    t.integer('cluster_id').unsigned().notNullable();
    t.integer('vmid').unsigned().notNullable();
    t.string('node', 64).nullable();
    t.string('storage', 64).nullable();
    // The archive: restored from (restore) or written (backup, once known).
    t.string('volid', 255).nullable();
    t.string('upid', 255).nullable();
    // queued → starting → running → succeeded | failed
    t.string('state', 16).notNullable().index();
    t.text('result').nullable();
    t.bigInteger('started_at').nullable();
    t.bigInteger('finished_at').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(RUNS);
  await knex.schema.dropTableIfExists(DAYS);
}
