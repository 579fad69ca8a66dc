// Upgrading a database made by the first migration to the latest, with data in it, on SQLite and
// MariaDB: every row written under the first schema survives unchanged (but for the column a later
// migration drops on purpose), the columns later migrations add to old rows hold their defaults,
// the new tables are there and empty, and a daemon on the upgraded database picks up the work
// that was queued before the upgrade and finishes it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Knex } from 'knex';
import { createTestDb, DIALECTS, tmpDir, waitFor } from '../helpers/db.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { TEST_MASTER_KEY } from '../helpers/daemon.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import { MIGRATOR_CONFIG, migrateLatest, pendingMigrations } from '../../daemon/db/migrate.ts';
import { encryptSecret } from '../../daemon/crypto/secretbox.ts';
import { readSecretSetting, readSettings } from '../../daemon/settings/settings.ts';
import { T } from '../../daemon/common/tables.ts';

const MASTER = Buffer.from(TEST_MASTER_KEY, 'hex');

const MIGRATOR = MIGRATOR_CONFIG;

/** The tables of the first migration, and what a year of work leaves in them. */
const T1 = [T.services, T.chains, T.tasks, T.attempts, T.targets, T.slots, T.jobs, T.ticketOutbox, T.ticketNotes, T.settings] as const;
/** Tables later migrations create. */
const LATER = [T.servers, T.groups, T.members, T.groupDns, T.vanity, T.reserved, T.holdings, T.usage, T.nonces, T.dnsZones, T.usageParts, T.ssl, T.uiSessions, T.uiLinks, T.uiLoginFailures, T.serverHealth] as const;

const NOW = 1_764_000_000_000;
const PLAN = { whmcsServiceId: 4101, groupId: 2, domain: 'old-shop.example.com', placement: { web: 1, mail: 2, unified: null, dns: [3, 4] } };

async function writeFirstSchemaData(db: Knex): Promise<void> {
  // An active service deployed long ago, and one whose terminate was queued just before the upgrade.
  await db(T.services).insert([
    { id: 1, whmcs_service_id: 4101, mode: 'split', state: 'active', placement: JSON.stringify(PLAN.placement), names: JSON.stringify({ users: { web: 'oldshop-4101-web' } }), params: JSON.stringify(PLAN), created_at: NOW, updated_at: NOW + 5 },
    { id: 2, whmcs_service_id: 4102, mode: 'unified', state: 'terminating', placement: null, names: null, params: null, created_at: NOW + 10, updated_at: NOW + 20 },
  ]);
  await db(T.chains).insert([
    { id: 1, service_id: 1, operation: 'deploy', state: 'succeeded', active_key: null, success_state: 'active', failure_state: 'failed', step_count: 1, created_at: NOW, started_at: NOW + 1, finished_at: NOW + 900, error: null },
    { id: 2, service_id: 2, operation: 'terminate', state: 'running', active_key: 'service:2', success_state: 'terminated', failure_state: 'failed', step_count: 1, created_at: NOW + 20, started_at: NOW + 20, finished_at: null, error: null },
  ]);
  await db(T.tasks).insert([
    { id: 1, chain_id: 1, step_no: 0, service_id: 1, operation: 'deploy', step: 'web.user', type: 'account.user', target: 'server:1', args: JSON.stringify({ role: 'web', server: 1 }), status: 'succeeded', active_key: null, attempts: 2, max_attempts: null, run_at: NOW + 300, lease_until: null, owner: null, last_error: 'connect ECONNREFUSED', error_kind: 'retryable', result: JSON.stringify({ user: 'oldshop-4101-web' }), created_at: NOW, started_at: NOW + 300, finished_at: NOW + 900 },
    // Queued under the old schema, run after the upgrade: it needs no server.
    { id: 2, chain_id: 2, step_no: 0, service_id: 2, operation: 'terminate', step: 'service.close', type: 'service.close', target: null, args: JSON.stringify({ force: false }), status: 'queued', active_key: 'task:2', attempts: 0, max_attempts: null, run_at: NOW + 20, lease_until: null, owner: null, last_error: null, error_kind: null, result: null, created_at: NOW + 20, started_at: null, finished_at: null },
  ]);
  await db(T.attempts).insert([
    { id: 1, task_id: 1, attempt: 1, owner: 'old-daemon-a', started_at: NOW + 1, finished_at: NOW + 50, duration_ms: 49, result: 'retry', error: 'connect ECONNREFUSED', output: 'connecting…\n', retry_delay_ms: 250, next_run_at: NOW + 300 },
    { id: 2, task_id: 1, attempt: 2, owner: 'old-daemon-b', started_at: NOW + 300, finished_at: NOW + 900, duration_ms: 600, result: 'succeeded', error: null, output: 'user oldshop-4101-web added\n', retry_delay_ms: null, next_run_at: null },
  ]);
  await db(T.targets).insert({ target: 'server:1', max_concurrency: 3, updated_at: NOW });
  await db(T.slots).insert([{ target: 'server:1', slot: 0, task_id: null, owner: null }, { target: 'server:1', slot: 1, task_id: null, owner: null }]);
  await db(T.jobs).insert({ name: 'deliver-tickets', last_slot: 29_400_000, last_started_at: NOW, last_finished_at: NOW + 12, last_duration_ms: 12, last_result: 'ok', last_message: 'delivered 1 ticket', locked_by: null, locked_until: null });
  await db(T.ticketOutbox).insert({ id: 1, thread_key: 'service:1:deploy', service_id: 1, operation: 'deploy', task_id: 1, subject: 'Deployment of old-shop.example.com failed', body: 'account.user failed: connect ECONNREFUSED', state: 'delivered', whmcs_ticket_id: 88, attempts: 1, next_attempt_at: NOW + 1000, last_error: null, created_at: NOW + 1000, delivered_at: NOW + 1010 });
  await db(T.ticketNotes).insert({ id: 1, outbox_id: 1, task_id: 1, body: 'retried and succeeded', state: 'delivered', attempts: 1, next_attempt_at: NOW + 1100, last_error: null, created_at: NOW + 1100, delivered_at: NOW + 1110 });
  await db(T.settings).insert([
    { key: 'retry.max_attempts', value: '7', encrypted: false, updated_at: NOW },
    { key: 'whmcs.api_secret', value: encryptSecret(MASTER, 'old-whmcs-api-secret'), encrypted: true, updated_at: NOW },
  ]);
}

/** Every row of a table, ordered, with booleans and numbers as the dialect returns them made comparable. */
async function rows(db: Knex, table: string): Promise<Record<string, unknown>[]> {
  const all = (await db(table).select('*')) as Record<string, unknown>[];
  const norm = all.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  return norm.sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
}

for (const dialect of DIALECTS) {
  describe(`upgrade from the first migration to the latest (${dialect})`, () => {
    test('old rows survive, new columns hold their defaults, and queued work runs after the upgrade', async () => {
      const t = await createTestDb(dialect, { migrate: false });
      const dir = tmpDir('hb-upgrade-');
      try {
        const db = t.db;
        await db.migrate.up(MIGRATOR);
        assert.deepEqual(await pendingMigrations(db), MIGRATIONS.slice(1).map(([n]) => n), 'only the first migration is applied');
        assert.equal(await db.schema.hasTable(T.servers), false);
        await writeFirstSchemaData(db);
        const before: Record<string, Record<string, unknown>[]> = {};
        for (const table of T1) before[table] = await rows(db, table);

        const applied = await migrateLatest(db);
        assert.deepEqual(applied, MIGRATIONS.slice(1).map(([n]) => n));
        assert.deepEqual(await pendingMigrations(db), []);

        // Every table of the first schema holds exactly what it held, but the services' columns.
        for (const table of T1.filter((x) => x !== T.services && x !== T.tasks)) assert.deepEqual(await rows(db, table), before[table], `${table} changed in the upgrade`);
        // Old tasks gain step dependencies as NULL: "the step before", the order they were queued to run in.
        const tasks = await rows(db, T.tasks);
        assert.ok(tasks.every((task) => task.depends_on === null), 'old tasks keep their sequential order');
        assert.deepEqual(tasks.map(({ depends_on: _added, ...old }) => old), before[T.tasks], `${T.tasks} changed in the upgrade`);
        const services = await rows(db, T.services);
        assert.equal(services.length, 2);
        for (const [i, svc] of services.entries()) {
          const old = before[T.services]![i]!;
          // placement was dropped on purpose (its copy lives in params.placement); group_id came and went.
          assert.ok(!('placement' in svc) && !('group_id' in svc), `dropped columns are gone: ${Object.keys(svc).join(', ')}`);
          const { placement: _dropped, ...kept } = old;
          assert.deepEqual(Object.fromEntries(Object.keys(kept).map((k) => [k, svc[k]])), kept, `service ${old.whmcs_service_id}: an old column changed`);
          // What the later migrations add to an old row: nothing until the code writes it.
          assert.deepEqual({ client_id: svc.client_id, product_id: svc.product_id, domain: svc.domain, username: svc.username, email: svc.email, facts: svc.facts },
            { client_id: null, product_id: null, domain: null, username: null, email: null, facts: null });
        }
        assert.deepEqual(JSON.parse(String(services[0]!.params)).placement, PLAN.placement, 'the placement is still in the plan');
        for (const table of LATER) {
          assert.equal(await db.schema.hasTable(table), true, `${table} exists`);
          assert.equal((await db(table).select('*')).length, 0, `${table} starts empty`);
        }
        // The unique service id and the settings, plain and sealed, read as before.
        await assert.rejects(db(T.services).insert({ whmcs_service_id: 4101, mode: 'split', state: 'active', created_at: NOW, updated_at: NOW }));
        assert.equal((await readSettings(db))['retry.max_attempts'], '7');
        assert.equal(await readSecretSetting(db, 'whmcs.api_secret', MASTER), 'old-whmcs-api-secret');

        // A daemon on the upgraded database runs the terminate queued before the upgrade.
        const daemon = await startTestDaemon(dir, t.url, { HOSTBRIDGE_POLL_MS: '50' });
        try {
          const chain = await waitFor('the chain queued before the upgrade', async () => {
            const c = await db(T.chains).where('id', 2).first('state');
            return c && c.state !== 'running' ? c : null;
          }, 30_000);
          assert.equal(chain.state, 'succeeded', JSON.stringify(await db(T.attempts).where('task_id', 2)));
          assert.equal((await db(T.services).where('id', 2).first('state')).state, 'terminated');
          assert.equal((await db(T.services).where('id', 1).first('state')).state, 'active', 'the other service is untouched');
          assert.equal(daemon.core.settings.retryPolicy().maxAttempts, 7, 'the daemon reads the old settings');
        } finally {
          await daemon.stop();
        }
      } finally {
        await t.drop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
