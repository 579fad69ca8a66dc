import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { testEngine } from '../helpers/engine.ts';
import { createServiceWithChain, enqueueTasks } from '../../daemon/engine/chains.ts';
import { T } from '../../daemon/common/tables.ts';
import { AdminError } from '../../daemon/engine/admin.ts';
import { retryTask } from '../../daemon/engine/sql/retry-task.ts';
import { cancelChain, cancelTask } from '../../daemon/engine/sql/cancel.ts';
import { forceFailStuck, forceFailTask } from '../../daemon/engine/sql/force-fail.ts';
import { cleanCompleted, deleteTasks } from '../../daemon/engine/sql/delete.ts';
import { resetChain } from '../../daemon/engine/sql/reset-chain.ts';
import type { Queue } from '../../daemon/engine/queue.ts';
import { daemonQueue } from '../../daemon/runtime.ts';

for (const dialect of DIALECTS) {
  describe(`admin operations on ${dialect}`, () => {
    let t: TestDb;
    // The service's state after a cancel, and no ticket after a force-fail: the daemon's real hooks.
    let queue: Queue;
    before(async () => {
      t = await createTestDb(dialect);
      queue = daemonQueue(t.db);
    });
    after(async () => t.drop());

    const chainState = async (id: number) => (await t.db(T.chains).where('id', id).first()).state;
    const task = async (chainId: number, stepNo: number) => t.db(T.tasks).where({ chain_id: chainId, step_no: stepNo }).first();

    test('cancelling a running chain fences out its worker and starts the service\'s next operation', async () => {
      const { engine } = testEngine(queue, { leaseMs: 600 });
      const create = await createServiceWithChain(t.db, { whmcsServiceId: 701, mode: 'split' }, {
        operation: 'create', steps: [{ step: 'slow', type: 'builtin.sleep', args: { ms: 3000 }, target: 'srv-c' }, { step: 'after', type: 'builtin.noop' }],
      });
      const terminate = await createServiceWithChain(t.db, { whmcsServiceId: 701, mode: 'split' }, {
        operation: 'terminate', steps: [{ step: 'remove', type: 'builtin.noop', target: 'srv-c' }], successState: 'terminated',
      });
      assert.equal(terminate.state, 'waiting');
      engine.start();
      await waitFor('slow step to run', async () => (await task(create.chainId, 0)).status === 'running');
      assert.match(await cancelTask(queue, (await task(create.chainId, 0)).id), /cancelled: 2 unfinished step/);
      engine.wake();
      await waitFor('terminate to finish', async () => (await chainState(terminate.chainId)) === 'succeeded');
      // The sleeping worker learns at its next lease renewal that the task is no longer its own.
      await waitFor('the cancelled worker to stop', async () => engine.stats.lost >= 1, 5000);
      await engine.stop();
      assert.equal(await chainState(create.chainId), 'cancelled');
      assert.equal((await task(create.chainId, 0)).status, 'cancelled');
      assert.equal((await task(create.chainId, 1)).status, 'cancelled');
      assert.equal((await t.db(T.services).where('whmcs_service_id', 701).first()).state, 'terminated');
      await assert.rejects(cancelChain(queue, create.chainId), /already finished/);
    });

    test('retry now runs a task waiting for its back-off at once', async () => {
      const { engine } = testEngine(queue, { retry: { baseMs: 600_000, capMs: 600_000, jitter: 0 } });
      const r = await createServiceWithChain(t.db, { whmcsServiceId: 702, mode: 'split' }, { operation: 'create', steps: [{ step: 'flaky', type: 'builtin.flaky', args: { failTimes: 1 } }] });
      engine.start();
      await waitFor('first failure', async () => (await task(r.chainId, 0)).attempts === 1 && (await task(r.chainId, 0)).status === 'queued');
      assert.ok(Number((await task(r.chainId, 0)).run_at) > Date.now() + 500_000);
      assert.match(await retryTask(queue, (await task(r.chainId, 0)).id), /will run now/);
      engine.wake();
      await waitFor('chain to succeed', async () => (await chainState(r.chainId)) === 'succeeded', 5000);
      await engine.stop();
    });

    test('force-fail stuck fails long-running and long-retrying tasks, and nothing else', async () => {
      const { engine } = testEngine(queue, { retry: { baseMs: 600_000, capMs: 600_000 } });
      const running = await createServiceWithChain(t.db, { whmcsServiceId: 703, mode: 'split' }, { operation: 'create', steps: [{ step: 'hang', type: 'builtin.sleep', args: { ms: 60_000 } }, { step: 'next', type: 'builtin.noop' }] });
      const retrying = await createServiceWithChain(t.db, { whmcsServiceId: 704, mode: 'split' }, { operation: 'create', steps: [{ step: 'gone', type: 'builtin.flaky', args: { failTimes: 99 } }] });
      engine.start();
      await waitFor('both stuck', async () => (await task(running.chainId, 0)).status === 'running' && (await task(retrying.chainId, 0)).attempts === 1);
      await new Promise((r) => setTimeout(r, 600));
      const fresh = await createServiceWithChain(t.db, { whmcsServiceId: 705, mode: 'split' }, { operation: 'create', steps: [{ step: 'later', type: 'builtin.sleep', args: { ms: 60_000 } }] });
      await waitFor('fresh running', async () => (await task(fresh.chainId, 0)).status === 'running');
      const failed = await forceFailStuck(queue, 500);
      assert.deepEqual(failed.sort(), [(await task(running.chainId, 0)).id, (await task(retrying.chainId, 0)).id].map(Number).sort());
      assert.equal(await chainState(running.chainId), 'failed');
      assert.equal((await task(running.chainId, 1)).status, 'cancelled');
      assert.equal(await chainState(retrying.chainId), 'failed');
      assert.equal((await task(fresh.chainId, 0)).status, 'running');
      await forceFailTask(queue, (await task(fresh.chainId, 0)).id);
      assert.equal((await task(fresh.chainId, 0)).status, 'failed');
      await engine.stop(200);
      // Admin force-fails open no ticket; the admin already knows.
      assert.equal((await t.db('mod_hostbridge_ticket_outbox').whereIn('service_id', [running.serviceId, retrying.serviceId])).length, 0);
      await assert.rejects(forceFailTask(queue, (await task(fresh.chainId, 0)).id), /only queued or running/);
    });

    test('reset runs a finished chain again from its first step', async () => {
      const { engine } = testEngine(queue);
      const r = await createServiceWithChain(t.db, { whmcsServiceId: 706, mode: 'split' }, { operation: 'create', steps: ['a', 'b', 'c'].map((step) => ({ step, type: 'builtin.noop' })), successState: 'active' });
      engine.start();
      await waitFor('first run', async () => (await chainState(r.chainId)) === 'succeeded');
      assert.match(await resetChain(queue, r.chainId), /3 step\(s\) will run again/);
      engine.wake();
      await waitFor('second run', async () => (await chainState(r.chainId)) === 'succeeded');
      await engine.stop();
      const ids = (await t.db(T.tasks).where('chain_id', r.chainId)).map((x) => x.id);
      const attempts = await t.db(T.attempts).whereIn('task_id', ids);
      assert.equal(attempts.length, 6);
    });

    test('delete and clean remove finished tasks only; bad input changes nothing', async () => {
      const before = await t.db(T.tasks).whereNotIn('status', ['succeeded', 'failed', 'cancelled']).count({ n: '*' }).first();
      await assert.rejects(deleteTasks(queue, ['running']), (e: Error) => e instanceof AdminError && /only finished tasks/.test(e.message));
      await assert.rejects(retryTask(queue, 999_999), /does not exist/);
      await assert.rejects(retryTask(queue, -3), /positive whole number/);
      await enqueueTasks(t.db, 'cleanup', [{ step: 'keep-queued', type: 'no.such.type' }]);
      const removed = await deleteTasks(queue, ['cancelled']);
      assert.ok(removed >= 2);
      assert.equal((await t.db(T.tasks).where('status', 'cancelled')).length, 0);
      assert.equal(await cleanCompleted(queue, 3_600_000), 0); // nothing is an hour old yet
      await cleanCompleted(queue, 0);
      const left = await t.db(T.tasks).select('status');
      assert.ok(left.every((x) => !['succeeded', 'failed', 'cancelled'].includes(x.status)));
      assert.equal(Number((await t.db(T.tasks).whereNotIn('status', ['succeeded', 'failed', 'cancelled']).count({ n: '*' }).first() as { n: number }).n), Number((before as { n: number }).n) + 1);
      const orphans = await t.db(T.attempts).whereNotIn('task_id', t.db(T.tasks).select('id'));
      assert.equal(orphans.length, 0);
    });
  });
}
