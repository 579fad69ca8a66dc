// The Operation Log (issue 14): one row per finished task attempt, finished chain and admin or
// customer action, with the server and service named as they were, kept for oplog.retention_days
// whatever the queue's clean-up deletes. The engine writes a row in the transaction that finishes
// what it mirrors (daemon/engine/sql/oplog.ts). Upgrading copies the history still in the queue
// (finished chains, every attempt, the admin actions), so an upgrade loses nothing.
import type { Knex } from 'knex';

const TABLE = 'mod_hostbridge_operation_log';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.bigIncrements('id');
    // When it finished (an action: when it was done); newest first on the page.
    t.bigInteger('at').notNullable();
    // attempt | chain | action
    t.string('kind', 8).notNullable();
    // The queue's ids at the time: gone from the queue once it is cleaned up, kept here to read.
    t.bigInteger('chain_id').unsigned().nullable();
    t.bigInteger('task_id').unsigned().nullable();
    t.string('operation', 48).nullable();
    t.string('type', 64).nullable();
    t.string('step', 64).nullable();
    // The task's target ("server:7", "pve:1:node2"), the server's id, and its name as it was.
    t.string('target', 64).nullable();
    t.integer('server_id').unsigned().nullable();
    t.string('target_name', 255).nullable();
    // The service as it was: hostbridge's id, WHMCS's id and the domain.
    t.integer('service_id').unsigned().nullable();
    t.integer('whmcs_service_id').unsigned().nullable();
    t.string('domain', 253).nullable();
    t.integer('attempt').nullable();
    t.integer('step_count').nullable();
    t.bigInteger('started_at').nullable();
    t.bigInteger('finished_at').nullable();
    t.integer('duration_ms').nullable();
    // An attempt: succeeded | retry | failed | lost; a chain: succeeded | failed | cancelled; an action: done | refused.
    t.string('result', 16).notNullable();
    // Masked when written (daemon/log/mask.ts), as the queue's own text is.
    t.text('error').nullable();
    // An action: who ("WHMCS admin jane (#3)", "WHMCS client #12", "daemon admin (password login)"), through what, and what the page said.
    t.string('actor', 200).nullable();
    t.string('via', 8).nullable();
    t.text('message').nullable();
    // Newest first overall, and per kind, per service and per server (the page's filters).
    t.index(['at', 'id'], 'mod_hostbridge_oplog_at');
    t.index(['kind', 'at', 'id'], 'mod_hostbridge_oplog_kind');
    t.index(['whmcs_service_id', 'at', 'id'], 'mod_hostbridge_oplog_service');
    t.index(['target', 'at', 'id'], 'mod_hostbridge_oplog_target');
  });
  await copyHistory(knex);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(TABLE);
}

/**
 * The history the queue still holds, in one statement, oldest first (at the same moment an attempt
 * before the chain it ended); then each target's server named once per distinct target.
 */
async function copyHistory(knex: Knex): Promise<void> {
  const cols = ['at', 'kind', 'chain_id', 'task_id', 'operation', 'type', 'step', 'target', 'service_id', 'whmcs_service_id', 'domain',
    'attempt', 'step_count', 'started_at', 'finished_at', 'duration_ms', 'result', 'error', 'actor', 'via', 'message'];
  const attempts = `SELECT a.finished_at AS at, 'attempt' AS kind, t.chain_id, a.task_id, t.operation, t.type, t.step, t.target, t.service_id, s.whmcs_service_id, s.domain,
      a.attempt, NULL AS step_count, a.started_at, a.finished_at, a.duration_ms, a.result, a.error, NULL AS actor, NULL AS via, NULL AS message, 0 AS ord, a.id AS src
    FROM mod_hostbridge_task_attempts a JOIN mod_hostbridge_tasks t ON t.id = a.task_id LEFT JOIN mod_hostbridge_services s ON s.id = t.service_id`;
  const chains = `SELECT c.finished_at AS at, 'chain' AS kind, c.id AS chain_id, NULL AS task_id, c.operation, NULL AS type, NULL AS step, NULL AS target, c.service_id, s.whmcs_service_id, s.domain,
      NULL AS attempt, c.step_count, c.started_at, c.finished_at, NULL AS duration_ms, c.state AS result, c.error, NULL AS actor, NULL AS via, NULL AS message, 1 AS ord, c.id AS src
    FROM mod_hostbridge_chains c LEFT JOIN mod_hostbridge_services s ON s.id = c.service_id
    WHERE c.state IN ('succeeded', 'failed', 'cancelled') AND c.finished_at IS NOT NULL`;
  const actions = `SELECT x.at, 'action' AS kind, NULL AS chain_id, NULL AS task_id, NULL AS operation, NULL AS type, NULL AS step, NULL AS target, NULL AS service_id, NULL AS whmcs_service_id, NULL AS domain,
      NULL AS attempt, NULL AS step_count, NULL AS started_at, NULL AS finished_at, NULL AS duration_ms, CASE WHEN x.ok <> 0 THEN 'done' ELSE 'refused' END AS result, NULL AS error,
      x.actor, x.via, x.message, 2 AS ord, x.id AS src
    FROM mod_hostbridge_admin_actions x`;
  await knex.raw(`INSERT INTO ${TABLE} (${cols.join(', ')})
    SELECT ${cols.join(', ')} FROM (${attempts} UNION ALL ${chains} UNION ALL ${actions}) h ORDER BY at, ord, src`);

  const targets = (await knex(TABLE).distinct('target').whereNotNull('target')).map((r: { target: string }) => String(r.target));
  for (const target of targets) {
    const server = /^server:(\d+)$/.exec(target);
    const pve = /^pve:(\d+):(.+)$/.exec(target);
    let name = target;
    let serverId: number | null = null;
    if (server) {
      serverId = Number(server[1]);
      const row = await knex('mod_hostbridge_servers').where('id', serverId).first('name');
      name = row ? String(row.name) : `#${serverId} (removed)`;
    } else if (pve) {
      const row = await knex('mod_hostbridge_pve_clusters').where('id', Number(pve[1])).first('name');
      name = `${pve[2]} (${row ? String(row.name) : `cluster #${pve[1]}`})`;
    }
    await knex(TABLE).where('target', target).update({ server_id: serverId, target_name: name.slice(0, 255) });
  }
}
