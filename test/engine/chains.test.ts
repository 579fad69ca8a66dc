import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { testEngine } from '../helpers/engine.ts';
import type { Queue } from '../../daemon/engine/queue.ts';
import { createServiceWithChain, enqueueChain, EnqueueError } from '../../daemon/engine/chains.ts';
import { T } from '../../daemon/common/tables.ts';
import { daemonQueue } from '../../daemon/runtime.ts';

for (const dialect of DIALECTS) {
  describe(`chains on ${dialect}`, () => {
    let t: TestDb;
    // The service's state at each chain's end is checked: the daemon's real hooks.
    let queue: Queue;
    before(async () => {
      t = await createTestDb(dialect);
      queue = daemonQueue(t.db);
    });
    after(async () => t.drop());

    test('a 5-step chain runs its steps in order, each as soon as the one before succeeds', async () => {
      // A poll interval far longer than the whole chain: only completion wake-ups can move it.
      const { engine } = testEngine(queue, { pollMs: 60_000 });
      const steps = ['package', 'user', 'domain', 'mail', 'dns'].map((step, i) => ({
        step, type: 'builtin.sleep', target: `hestia:${i % 2}`, args: { ms: 30 },
      }));
      const r = await createServiceWithChain(t.db, { whmcsServiceId: 101, mode: 'split', names: { web: 'cust-web' } },
        { operation: 'create', steps, successState: 'active', failureState: 'failed' });
      assert.equal(r.created, true);
      assert.equal(r.serviceCreated, true);
      const t0 = Date.now();
      engine.start();
      engine.wake();
      await waitFor('chain to succeed', async () => (await t.db(T.chains).where('id', r.chainId).first())?.state === 'succeeded', 10_000, 5);
      const elapsed = Date.now() - t0;
      await engine.stop();

      const tasks = await t.db(T.tasks).where('chain_id', r.chainId).orderBy('step_no');
      assert.deepEqual(tasks.map((x) => x.step), ['package', 'user', 'domain', 'mail', 'dns']);
      assert.ok(tasks.every((x) => x.status === 'succeeded' && x.attempts === 1 && x.active_key === null));
      for (let i = 1; i < tasks.length; i++) {
        assert.ok(Number(tasks[i].started_at) >= Number(tasks[i - 1].finished_at), `step ${i} started before step ${i - 1} finished`);
      }
      // 5 × 30 ms of work; without a tick or poll between steps it is done well under a second.
      assert.ok(elapsed < 2000, `chain took ${elapsed} ms`);
      const service = await t.db(T.services).where('id', r.serviceId).first();
      assert.equal(service.state, 'active');
      assert.deepEqual(JSON.parse(service.names), { web: 'cust-web' });
      const attempts = await t.db(T.attempts).whereIn('task_id', tasks.map((x) => x.id)).orderBy('id');
      assert.equal(attempts.length, 5);
      assert.ok(attempts.every((a) => a.result === 'succeeded' && /sleeping 30 ms/.test(a.output) && a.duration_ms >= 25));
    });

    test('the same request twice enqueues nothing new while the first is active', async () => {
      const spec = { whmcsServiceId: 202, mode: 'split' };
      const chain = { operation: 'create', steps: [{ step: 'a', type: 'builtin.noop' }, { step: 'b', type: 'builtin.noop' }] };
      const first = await createServiceWithChain(t.db, spec, chain);
      const second = await createServiceWithChain(t.db, spec, chain);
      assert.equal(second.created, false);
      assert.equal(second.serviceCreated, false);
      assert.equal(second.chainId, first.chainId);
      assert.equal(await count(t, T.services, { whmcs_service_id: 202 }), 1);
      assert.equal(await count(t, T.tasks, { service_id: first.serviceId }), 2);
    });

    test('operations of one service run one after another', async () => {
      const { engine } = testEngine(queue, { concurrency: 8 });
      const create = await createServiceWithChain(t.db, { whmcsServiceId: 303, mode: 'unified' },
        { operation: 'create', steps: [1, 2, 3].map((i) => ({ step: `s${i}`, type: 'builtin.sleep', args: { ms: 40 } })), successState: 'active' });
      const suspend = await enqueueChain(t.db, { serviceId: create.serviceId, operation: 'suspend', steps: [{ step: 'suspend-web', type: 'builtin.sleep', args: { ms: 10 } }], successState: 'suspended' });
      assert.equal(suspend.state, 'waiting');
      engine.start();
      await waitFor('suspend chain', async () => (await t.db(T.chains).where('id', suspend.chainId).first())?.state === 'succeeded');
      await engine.stop();
      const createTasks = await t.db(T.tasks).where('chain_id', create.chainId);
      const suspendTask = await t.db(T.tasks).where('chain_id', suspend.chainId).first();
      assert.ok(Number(suspendTask.started_at) >= Math.max(...createTasks.map((x) => Number(x.finished_at))));
      assert.equal((await t.db(T.services).where('id', create.serviceId).first()).state, 'suspended');
    });

    test('a malformed chain is refused with a reason and writes nothing', async () => {
      const before = await count(t, T.tasks, {});
      await assert.rejects(enqueueChain(t.db, { operation: 'Bad Op', steps: [{ step: 'a', type: 'builtin.noop' }] }), (e: Error) => e instanceof EnqueueError && /operation "Bad Op"/.test(e.message));
      await assert.rejects(enqueueChain(t.db, { operation: 'op', steps: [] }), /has no steps/);
      await assert.rejects(enqueueChain(t.db, { operation: 'op', steps: [{ step: 'a', type: 'builtin.noop', target: '-rf' }] }), /target "-rf"/);
      await assert.rejects(enqueueChain(t.db, { operation: 'op', steps: [{ step: 'a', type: 'builtin.noop' }, { step: 'a', type: 'builtin.noop' }] }), /appears twice/);
      await assert.rejects(createServiceWithChain(t.db, { whmcsServiceId: -1, mode: 'split' }, { operation: 'create', steps: [{ step: 'a', type: 'builtin.noop' }] }), /whmcsServiceId/);
      assert.equal(await count(t, T.tasks, {}), before);
    });
  });
}

async function count(t: TestDb, table: string, where: Record<string, unknown>): Promise<number> {
  const row = await t.db(table).where(where).count({ n: '*' }).first();
  return Number((row as { n: number }).n);
}
