// The Operation Log (mod_hostbridge_operation_log) as the engine writes it: one row per finished
// attempt and per finished chain, in the transaction that finishes it (a rolled-back finish leaves
// none), naming the server and the service as they were, errors masked; it outlives the queue's
// clean-up, the page's read filters it by kind, service and server; pruning removes only rows
// older than the retention, in batches.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { recordingHooks, testEngine } from '../helpers/engine.ts';
import { createServiceWithChain } from '../../daemon/engine/chains.ts';
import { claimDue } from '../../daemon/engine/sql/claim.ts';
import { finishSucceeded } from '../../daemon/engine/sql/finish-succeeded.ts';
import { cleanCompleted } from '../../daemon/engine/sql/delete.ts';
import { pruneOperationLog, recordOperations } from '../../daemon/engine/sql/oplog.ts';
import { operationLog } from '../../daemon/pages/reads/reports.ts';
import { pruneOperationLogJob } from '../../daemon/scheduler/jobs/prune-operation-log.ts';
import { cleanCompletedTasksJob } from '../../daemon/scheduler/jobs/clean-completed-tasks.ts';
import { SettingsCache, writeSetting } from '../../daemon/settings/settings.ts';
import { globalMasker, MASK } from '../../daemon/log/mask.ts';
import { T } from '../../daemon/common/tables.ts';
import type { Queue } from '../../daemon/engine/queue.ts';

const DAY = 86_400_000;
const SECRET = 'oplog-Secret-Pa55word-42';
globalMasker.add(SECRET);

for (const dialect of DIALECTS) {
  describe(`the Operation Log on ${dialect}`, () => {
    let t: TestDb;
    let queue: Queue;
    const ids = { webA: 0, webB: 0, cluster: 0 };
    before(async () => {
      t = await createTestDb(dialect);
      queue = { db: t.db, hooks: recordingHooks() };
      const now = Date.now();
      const server = (name: string) => ({ name, driver: 'hestia', hostname: `${name}.example.net`, ip: '192.0.2.10', port: 22, auth_method: 'password', created_at: now, updated_at: now });
      await t.db(T.servers).insert([server('web-a'), server('web-b')]);
      ids.webA = Number((await t.db(T.servers).where('name', 'web-a').first('id')).id);
      ids.webB = Number((await t.db(T.servers).where('name', 'web-b').first('id')).id);
      await t.db(T.pveClusters).insert({ name: 'lab', credential_kind: 'token', auth_id: 'root@pam!hb', credential: 'sealed', fingerprint_sha256: 'AA', created_at: now, updated_at: now });
      ids.cluster = Number((await t.db(T.pveClusters).where('name', 'lab').first('id')).id);
    });
    after(async () => t.drop());

    const withDomain = async (whmcsServiceId: number, domain: string, steps: Parameters<typeof createServiceWithChain>[2]['steps']) => {
      const r = await createServiceWithChain(t.db, { whmcsServiceId, mode: 'split' }, { operation: 'create', successState: 'active', failureState: 'failed', steps });
      await t.db(T.services).where('id', r.serviceId).update({ domain });
      return r;
    };
    const log = async () => t.db(T.oplog).orderBy('id');

    test('each finished attempt and chain is one row, as the queue has it; the log outlives the clean-up and filters by service and server', async () => {
      const a = await withDomain(9101, 'shop-a.example.com', [
        { step: 'web.user', type: 'builtin.flaky', target: `server:${ids.webA}`, args: { failTimes: 1, message: 'connect ECONNREFUSED' } },
        { step: 'vm.clone', type: 'builtin.noop', target: `pve:${ids.cluster}:node1` },
      ]);
      const b = await withDomain(9102, 'shop-b.example.com', [
        { step: 'web.user', type: 'builtin.flaky', target: `server:${ids.webB}`, args: { failTimes: 1, terminal: true, message: `login refused for password ${SECRET}` } },
      ]);
      const { engine } = testEngine(queue, { retry: { maxAttempts: 5, baseMs: 10, capMs: 20, jitter: 0 } });
      engine.start();
      try {
        await waitFor('both chains to end', async () => (await t.db(T.chains).whereIn('id', [a.chainId, b.chainId]).whereIn('state', ['succeeded', 'failed'])).length === 2);
      } finally {
        await engine.stop(5000);
      }

      // Every attempt of the queue has its row, with the same facts.
      const attempts = await t.db(`${T.attempts} as a`).join(`${T.tasks} as k`, 'k.id', 'a.task_id').whereIn('k.chain_id', [a.chainId, b.chainId])
        .select('a.task_id', 'a.attempt', 'a.result', 'a.started_at', 'a.duration_ms', 'a.error', 'k.type', 'k.step', 'k.target', 'k.operation').orderBy('a.id');
      const rows = await log();
      const attemptRows = rows.filter((r) => r.kind === 'attempt');
      assert.equal(attemptRows.length, 4, JSON.stringify(attemptRows));
      // By task and attempt: steps of different services finish in transactions that may interleave.
      const byAttempt = (l: unknown[][]) => l.sort((p, q) => Number(p[0]) - Number(q[0]) || Number(p[1]) - Number(q[1]));
      assert.deepEqual(byAttempt(attemptRows.map((r) => [Number(r.task_id), r.attempt, r.result, Number(r.started_at), r.duration_ms, r.type, r.step, r.target, r.operation])),
        byAttempt(attempts.map((x) => [Number(x.task_id), x.attempt, x.result, Number(x.started_at), x.duration_ms, x.type, x.step, x.target, x.operation])));
      assert.deepEqual(attemptRows.map((r) => r.result).sort(), ['failed', 'retry', 'succeeded', 'succeeded']);
      for (const r of attemptRows) assert.ok(Number(r.finished_at) >= Number(r.started_at) && Number(r.at) === Number(r.finished_at), JSON.stringify(r));

      // The server and the service as they were.
      const first = attemptRows.find((r) => r.target === `server:${ids.webA}`)!;
      assert.deepEqual([first.server_id, first.target_name, first.service_id, first.whmcs_service_id, first.domain], [ids.webA, 'web-a', a.serviceId, 9101, 'shop-a.example.com']);
      const node = attemptRows.find((r) => r.target === `pve:${ids.cluster}:node1`)!;
      assert.deepEqual([node.server_id, node.target_name], [null, 'node1 (lab)']);

      // The chains, each once, with their state, step count and error; the secret masked.
      const chainRows = rows.filter((r) => r.kind === 'chain');
      assert.deepEqual(chainRows.map((r) => [Number(r.chain_id), r.result, r.step_count, r.whmcs_service_id]).sort(), [[a.chainId, 'succeeded', 2, 9101], [b.chainId, 'failed', 1, 9102]].sort());
      const failed = chainRows.find((r) => r.result === 'failed')!;
      assert.match(failed.error, /web\.user: login refused for password \*{8}/);
      const failedAttempt = attemptRows.find((r) => r.result === 'failed')!;
      assert.ok(!JSON.stringify(rows).includes(SECRET), 'no secret in the log');
      assert.ok(failedAttempt.error.includes(MASK));
      // A chain's end comes after the attempt that ended it.
      const lastOfA = attemptRows.filter((r) => r.whmcs_service_id === 9101).at(-1)!;
      assert.ok(Number(chainRows.find((r) => Number(r.chain_id) === a.chainId)!.id) > Number(lastOfA.id));

      // A server renamed later: the log keeps the name it had.
      await t.db(T.servers).where('id', ids.webA).update({ name: 'web-a-renamed' });
      // The queue's clean-up (the engine's operation, and the job) deletes the tasks; the log stays whole.
      const before = await log();
      assert.ok((await cleanCompleted(queue, 0)) >= 3);
      assert.equal((await t.db(T.tasks).whereIn('chain_id', [a.chainId, b.chainId])).length, 0);
      assert.equal((await t.db(T.chains).whereIn('id', [a.chainId, b.chainId])).length, 0);
      const settings = new SettingsCache(t.db);
      await cleanCompletedTasksJob({ queue, settings }).run({ log: () => {} });
      assert.deepEqual(await log(), before);

      // The page's read: by service, by server (a Proxmox node too), by kind; newest first.
      const svcA = await operationLog(t.db, { kind: 'all', service: 9101, target: null }, 1);
      assert.deepEqual(svcA.entries.map((e) => e.service), [9101, 9101, 9101, 9101]);
      assert.deepEqual(svcA.entries.map((e) => (e.chain ? 'chain' : 'attempt')), ['chain', 'attempt', 'attempt', 'attempt']);
      assert.ok(svcA.entries.every((e, i) => i === 0 || svcA.entries[i - 1]!.at >= e.at));
      assert.deepEqual(svcA.entries.filter((e) => e.target === `server:${ids.webA}`).map((e) => e.server), ['web-a', 'web-a'], 'the name it had when the work ran');
      const onB = await operationLog(t.db, { kind: 'all', service: null, target: `server:${ids.webB}` }, 1);
      assert.deepEqual(onB.entries.map((e) => [e.service, e.server, e.result]), [[9102, 'web-b', 'failed']]);
      const onNode = await operationLog(t.db, { kind: 'attempts', service: null, target: `pve:${ids.cluster}:node1` }, 1);
      assert.deepEqual(onNode.entries.map((e) => [e.service, e.server, e.what]), [[9101, 'node1 (lab)', 'builtin.noop']]);
      const chainsOfB = await operationLog(t.db, { kind: 'chains', service: 9102, target: null }, 1);
      assert.deepEqual(chainsOfB.entries.map((e) => [e.what, e.result, e.detail]), [['create', 'failed', '1 step(s)']]);
      assert.equal((await operationLog(t.db, { kind: 'actions', service: 9101, target: null }, 1)).entries.length, 0);
      assert.equal((await operationLog(t.db, { kind: 'all', service: 4242, target: null }, 1)).entries.length, 0);
    });

    test('a finish that rolls back leaves no row; a batch of successes writes one row each', async () => {
      const r = await withDomain(9103, 'rollback.example.com', [{ step: 'one', type: 'builtin.noop', target: `server:${ids.webA}` }]);
      const [c] = await claimDue(t.db, { owner: 'w', limit: 1, leaseMs: 60_000, types: ['builtin.noop'] });
      assert.ok(c);
      const refuse = async () => {
        throw new Error('hook refused');
      };
      const count = async () => Number((await t.db(T.oplog).where('whmcs_service_id', 9103).count({ n: '*' }))[0]!.n);
      await assert.rejects(finishSucceeded({ db: t.db, hooks: { onChainEnd: refuse, onTaskFailed: refuse } }, c, { output: '', durationMs: 3 }), /hook refused/);
      assert.equal(await count(), 0, 'the attempt and the chain end rolled back with their rows');
      assert.equal(await finishSucceeded(queue, c, { output: '', durationMs: 3 }), true);
      assert.deepEqual((await t.db(T.oplog).where('whmcs_service_id', 9103).orderBy('id')).map((x) => [x.kind, x.result, Number(x.chain_id)]),
        [['attempt', 'succeeded', r.chainId], ['chain', 'succeeded', r.chainId]]);
      // A lost lease (the same claim again) writes nothing.
      assert.equal(await finishSucceeded(queue, c, { output: '', durationMs: 3 }), false);
      assert.equal(await count(), 2);
    });

    test('pruning removes only entries older than oplog.retention_days, in batches', async () => {
      await t.db(T.oplog).delete();
      const now = Date.now();
      const entry = (ageDays: number, n: number) => ({ kind: 'action' as const, finishedAt: now - ageDays * DAY, actor: 'tester', via: 'password', result: 'done', message: `age ${ageDays} #${n}` });
      await recordOperations(t.db, [...[400, 400, 380, 366].map(entry), ...[364, 30, 0].map(entry)]);
      // Older than 366 days go, two rows per batch here; the rest stay.
      assert.equal(await pruneOperationLog(t.db, 366 * DAY - 60_000, 2), 4);
      assert.deepEqual((await t.db(T.oplog).orderBy('at').pluck('message')), ['age 364 #0', 'age 30 #1', 'age 0 #2']);
      // The job follows the setting.
      await writeSetting(t.db, 'oplog.retention_days', '7');
      const settings = new SettingsCache(t.db);
      await settings.refresh();
      const lines: string[] = [];
      assert.equal(await pruneOperationLogJob({ db: t.db, settings }).run({ log: (l) => lines.push(l) }), 'deleted 2 entries');
      assert.deepEqual(lines, ['deleted 2 Operation Log entries older than 7 day(s)']);
      assert.deepEqual((await t.db(T.oplog).pluck('message')), ['age 0 #2']);
      await assert.rejects(writeSetting(t.db, 'oplog.retention_days', '0'), /oplog\.retention_days: must be a whole number between 1 and 3650/);
    });
  });
}
