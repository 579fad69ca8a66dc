// The Operation Log's migration on a database with history in the queue (SQLite and MariaDB): the
// finished chains, every attempt and the admin actions are copied, oldest first, with the server
// and the service named; open chains are not (the engine logs them when they end); down drops the
// table, and up again copies the same history.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { createTestDb, DIALECTS } from '../helpers/db.ts';
import { MIGRATOR_CONFIG, migrateLatest, pendingMigrations } from '../../daemon/db/migrate.ts';
import { T } from '../../daemon/common/tables.ts';

const MINE = '20261206001500_operation_log';
const MIGRATOR = MIGRATOR_CONFIG;
const NOW = 1_765_000_000_000;

async function writeHistory(db: Knex): Promise<void> {
  await db(T.servers).insert({ id: 1, name: 'web-1', driver: 'hestia', hostname: 'web-1.example.net', ip: '192.0.2.1', port: 22, auth_method: 'password', created_at: NOW, updated_at: NOW });
  await db(T.pveClusters).insert({ id: 3, name: 'lab', credential_kind: 'token', auth_id: 'root@pam!hb', credential: 'sealed', fingerprint_sha256: 'AA', created_at: NOW, updated_at: NOW });
  await db(T.services).insert([
    { id: 1, whmcs_service_id: 7001, mode: 'split', state: 'active', domain: 'one.example.com', created_at: NOW, updated_at: NOW },
    { id: 2, whmcs_service_id: 7002, mode: 'kvm', state: 'provisioning', domain: 'vm.example.com', created_at: NOW, updated_at: NOW },
  ]);
  await db(T.chains).insert([
    { id: 1, service_id: 1, operation: 'create', state: 'succeeded', step_count: 2, created_at: NOW, started_at: NOW + 1, finished_at: NOW + 500, error: null },
    { id: 2, service_id: 2, operation: 'create', state: 'failed', step_count: 1, created_at: NOW + 600, started_at: NOW + 600, finished_at: NOW + 900, error: 'vm.clone: no space left' },
    { id: 3, service_id: 2, operation: 'reboot', state: 'running', active_key: 'service:2', step_count: 1, created_at: NOW + 1000, started_at: NOW + 1000, finished_at: null, error: null },
  ]);
  const task = (id: number, chain: number, stepNo: number, service: number, step: string, target: string, status: string) => ({
    id, chain_id: chain, step_no: stepNo, service_id: service, operation: chain === 3 ? 'reboot' : 'create', step, type: step, target, status, attempts: 1, run_at: NOW, created_at: NOW,
  });
  await db(T.tasks).insert([
    task(1, 1, 0, 1, 'web.user', 'server:1', 'succeeded'), task(2, 1, 1, 1, 'dns.zone', 'server:99', 'succeeded'),
    task(3, 2, 0, 2, 'vm.clone', 'pve:3:node2', 'failed'), task(4, 3, 0, 2, 'vm.reboot', 'pve:3:node2', 'running'),
  ]);
  await db(T.attempts).insert([
    { id: 1, task_id: 1, attempt: 1, owner: 'd', started_at: NOW + 1, finished_at: NOW + 100, duration_ms: 99, result: 'retry', error: 'connect ECONNREFUSED', output: 'x' },
    { id: 2, task_id: 1, attempt: 2, owner: 'd', started_at: NOW + 200, finished_at: NOW + 300, duration_ms: 100, result: 'succeeded', error: null, output: 'y' },
    { id: 3, task_id: 2, attempt: 1, owner: 'd', started_at: NOW + 300, finished_at: NOW + 500, duration_ms: 200, result: 'succeeded', error: null, output: 'z' },
    { id: 4, task_id: 3, attempt: 1, owner: 'd', started_at: NOW + 600, finished_at: NOW + 900, duration_ms: 300, result: 'failed', error: 'no space left', output: null },
  ]);
  await db(T.adminActions).insert([
    { id: 1, at: NOW + 950, actor: 'WHMCS admin jane (#3)', via: 'whmcs', ok: true, message: 'Task #3 queued again.' },
    { id: 2, at: NOW + 960, actor: 'daemon admin (password login)', via: 'password', ok: false, message: 'task #9 does not exist' },
  ]);
}

const view = async (db: Knex) => (await db(T.oplog).orderBy('id')).map((r) => [Number(r.at), r.kind, r.chain_id === null ? null : Number(r.chain_id), r.task_id === null ? null : Number(r.task_id),
  r.operation, r.step, r.target, r.server_id, r.target_name, r.whmcs_service_id, r.domain, r.attempt, r.step_count, r.duration_ms, r.result, r.error, r.actor, r.message]);

const EXPECTED = [
  [NOW + 100, 'attempt', 1, 1, 'create', 'web.user', 'server:1', 1, 'web-1', 7001, 'one.example.com', 1, null, 99, 'retry', 'connect ECONNREFUSED', null, null],
  [NOW + 300, 'attempt', 1, 1, 'create', 'web.user', 'server:1', 1, 'web-1', 7001, 'one.example.com', 2, null, 100, 'succeeded', null, null, null],
  [NOW + 500, 'attempt', 1, 2, 'create', 'dns.zone', 'server:99', 99, '#99 (removed)', 7001, 'one.example.com', 1, null, 200, 'succeeded', null, null, null],
  [NOW + 500, 'chain', 1, null, 'create', null, null, null, null, 7001, 'one.example.com', null, 2, null, 'succeeded', null, null, null],
  [NOW + 900, 'attempt', 2, 3, 'create', 'vm.clone', 'pve:3:node2', null, 'node2 (lab)', 7002, 'vm.example.com', 1, null, 300, 'failed', 'no space left', null, null],
  [NOW + 900, 'chain', 2, null, 'create', null, null, null, null, 7002, 'vm.example.com', null, 1, null, 'failed', 'vm.clone: no space left', null, null],
  [NOW + 950, 'action', null, null, null, null, null, null, null, null, null, null, null, null, 'done', null, 'WHMCS admin jane (#3)', 'Task #3 queued again.'],
  [NOW + 960, 'action', null, null, null, null, null, null, null, null, null, null, null, null, 'refused', null, 'daemon admin (password login)', 'task #9 does not exist'],
];

for (const dialect of DIALECTS) {
  describe(`the Operation Log's migration (${dialect})`, () => {
    test('copies the finished history oldest first, names servers and services; down drops the table, up copies it again', async () => {
      const t = await createTestDb(dialect, { migrate: false });
      try {
        const db = t.db;
        while ((await pendingMigrations(db))[0] !== MINE) await db.migrate.up(MIGRATOR);
        assert.equal(await db.schema.hasTable(T.oplog), false);
        await writeHistory(db);
        await db.migrate.up(MIGRATOR);
        assert.equal((await pendingMigrations(db))[0] !== MINE, true);
        assert.deepEqual(await view(db), EXPECTED);

        await db.migrate.down(MIGRATOR);
        assert.equal(await db.schema.hasTable(T.oplog), false, 'down drops the table');
        assert.equal((await db(T.attempts).count({ n: '*' }))[0]!.n == 4, true, 'the queue is untouched');
        await db.migrate.up(MIGRATOR);
        assert.deepEqual(await view(db), EXPECTED);
        // The rest of the migrations apply on top.
        await migrateLatest(db);
        assert.deepEqual(await pendingMigrations(db), []);
      } finally {
        await t.drop();
      }
    });
  });
}
