// The task engine's tables: services, chains, tasks, per-attempt logs, per-target slots,
// scheduled-job state, the ticket outbox and settings. Times are milliseconds since the epoch
// from the database clock (BIGINT), which reads the same on MySQL, MariaDB and SQLite.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mod_hostbridge_services', (t) => {
    t.increments('id');
    t.integer('whmcs_service_id').unsigned().notNullable().unique();
    t.string('mode', 16).notNullable();
    t.string('state', 24).notNullable().defaultTo('pending');
    t.text('placement').nullable();
    t.text('names').nullable();
    t.text('params').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });

  await knex.schema.createTable('mod_hostbridge_chains', (t) => {
    t.bigIncrements('id');
    t.integer('service_id').unsigned().nullable().index();
    t.string('operation', 48).notNullable();
    t.string('state', 16).notNullable();
    t.string('active_key', 191).nullable().unique();
    t.string('success_state', 24).nullable();
    t.string('failure_state', 24).nullable();
    t.integer('step_count').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('started_at').nullable();
    t.bigInteger('finished_at').nullable();
    t.text('error').nullable();
    t.index(['service_id', 'state']);
  });

  await knex.schema.createTable('mod_hostbridge_tasks', (t) => {
    t.bigIncrements('id');
    t.bigInteger('chain_id').unsigned().nullable();
    t.integer('step_no').notNullable().defaultTo(0);
    t.integer('service_id').unsigned().nullable().index();
    t.string('operation', 48).notNullable();
    t.string('step', 64).notNullable();
    t.string('type', 64).notNullable();
    t.string('target', 64).nullable();
    t.text('args').nullable();
    t.string('status', 16).notNullable();
    t.string('active_key', 191).nullable().unique();
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('max_attempts').nullable();
    t.bigInteger('run_at').notNullable();
    t.bigInteger('lease_until').nullable();
    t.string('owner', 36).nullable();
    t.text('last_error').nullable();
    t.string('error_kind', 16).nullable();
    t.text('result').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('started_at').nullable();
    t.bigInteger('finished_at').nullable();
    t.index(['status', 'run_at', 'id'], 'mod_hostbridge_tasks_due');
    t.index(['status', 'lease_until'], 'mod_hostbridge_tasks_lease');
    t.unique(['chain_id', 'step_no'], { indexName: 'mod_hostbridge_tasks_chain_step' });
  });

  await knex.schema.createTable('mod_hostbridge_task_attempts', (t) => {
    t.bigIncrements('id');
    t.bigInteger('task_id').unsigned().notNullable().index();
    t.integer('attempt').notNullable();
    t.string('owner', 36).nullable();
    t.bigInteger('started_at').nullable();
    t.bigInteger('finished_at').notNullable();
    t.integer('duration_ms').nullable();
    t.string('result', 16).notNullable();
    t.text('error').nullable();
    t.text('output', 'mediumtext').nullable();
    t.integer('retry_delay_ms').nullable();
    t.bigInteger('next_run_at').nullable();
  });

  await knex.schema.createTable('mod_hostbridge_targets', (t) => {
    t.string('target', 64).primary();
    t.integer('max_concurrency').notNullable().defaultTo(1);
    t.bigInteger('updated_at').notNullable();
  });

  await knex.schema.createTable('mod_hostbridge_target_slots', (t) => {
    t.string('target', 64).notNullable();
    t.integer('slot').notNullable();
    t.bigInteger('task_id').unsigned().nullable().index();
    t.string('owner', 36).nullable();
    t.primary(['target', 'slot']);
  });

  await knex.schema.createTable('mod_hostbridge_jobs', (t) => {
    t.string('name', 64).primary();
    t.bigInteger('last_slot').nullable();
    t.bigInteger('last_started_at').nullable();
    t.bigInteger('last_finished_at').nullable();
    t.integer('last_duration_ms').nullable();
    t.string('last_result', 16).nullable();
    t.text('last_message').nullable();
    t.string('locked_by', 64).nullable();
    t.bigInteger('locked_until').nullable();
  });

  await knex.schema.createTable('mod_hostbridge_ticket_outbox', (t) => {
    t.bigIncrements('id');
    t.string('thread_key', 191).notNullable().unique();
    t.integer('service_id').unsigned().nullable().index();
    t.string('operation', 48).notNullable();
    t.bigInteger('task_id').unsigned().nullable();
    t.string('subject', 255).notNullable();
    t.text('body').notNullable();
    t.string('state', 16).notNullable().defaultTo('pending');
    t.integer('whmcs_ticket_id').unsigned().nullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').notNullable();
    t.text('last_error').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('delivered_at').nullable();
  });

  await knex.schema.createTable('mod_hostbridge_ticket_notes', (t) => {
    t.bigIncrements('id');
    t.bigInteger('outbox_id').unsigned().notNullable().index();
    t.bigInteger('task_id').unsigned().nullable();
    t.text('body').notNullable();
    t.string('state', 16).notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').notNullable();
    t.text('last_error').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('delivered_at').nullable();
  });

  await knex.schema.createTable('mod_hostbridge_settings', (t) => {
    t.string('key', 191).primary();
    t.text('value').notNullable();
    t.boolean('encrypted').notNullable().defaultTo(false);
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['settings', 'ticket_notes', 'ticket_outbox', 'jobs', 'target_slots', 'targets', 'task_attempts', 'tasks', 'chains', 'services']) {
    await knex.schema.dropTableIfExists(`mod_hostbridge_${table}`);
  }
}
