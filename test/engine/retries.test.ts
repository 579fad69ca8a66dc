import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { testEngine } from '../helpers/engine.ts';
import { createServiceWithChain } from '../../daemon/engine/chains.ts';
import { T } from '../../daemon/common/tables.ts';
import { retryTask } from '../../daemon/engine/sql/retry-task.ts';
import type { Queue } from '../../daemon/engine/queue.ts';
import { retryDelayRange } from '../../daemon/engine/retry.ts';
import { daemonQueue } from '../../daemon/runtime.ts';

for (const dialect of DIALECTS) {
  describe(`retries and failure tickets on ${dialect}`, () => {
    let t: TestDb;
    // The service's state and the ticket intent are what these tests check: the daemon's real hooks.
    let queue: Queue;
    before(async () => {
      t = await createTestDb(dialect);
      queue = daemonQueue(t.db);
    });
    after(async () => t.drop());

    const chainFailing = (whmcsServiceId: number, failArgs: Record<string, unknown>) => createServiceWithChain(t.db, { whmcsServiceId, mode: 'split' }, {
      operation: 'create', successState: 'active', failureState: 'failed',
      steps: [
        { step: 'web-user', type: 'builtin.noop', target: 'hestia:1' },
        { step: 'web-domain', type: 'builtin.flaky', target: 'hestia:1', args: failArgs },
        { step: 'mail-user', type: 'builtin.noop', target: 'hestia:2' },
      ],
    });

    test('a failing step retries with the computed delays, then fails with one outbox row; failing again adds a note', async () => {
      const { engine, policy } = testEngine(queue, { retry: { maxAttempts: 4, baseMs: 60, capMs: 150, jitter: 0.2 } });
      const r = await chainFailing(501, { failTimes: 100, message: 'connect ECONNREFUSED 192.0.2.7:22' });
      engine.start();
      await waitFor('chain to fail', async () => (await t.db(T.chains).where('id', r.chainId).first())?.state === 'failed');

      const failing = await t.db(T.tasks).where({ chain_id: r.chainId, step_no: 1 }).first();
      assert.equal(failing.status, 'failed');
      assert.equal(failing.attempts, 4);
      assert.match(failing.last_error, /ECONNREFUSED/);
      const attempts = await t.db(T.attempts).where('task_id', failing.id).orderBy('attempt');
      assert.deepEqual(attempts.map((a) => a.result), ['retry', 'retry', 'retry', 'failed']);
      for (let i = 0; i < 3; i++) {
        // min(cap, base·2^n) ± 20 %: 60, 120, then the 150 ms cap.
        const [lo, hi] = retryDelayRange(policy, i + 1);
        const d = attempts[i].retry_delay_ms;
        assert.ok(d >= lo && d <= hi, `delay ${i + 1} = ${d}, expected ${lo}–${hi}`);
        assert.equal(Number(attempts[i].next_run_at) - Number(attempts[i].finished_at), d);
        const gap = Number(attempts[i + 1].started_at) - Number(attempts[i].finished_at);
        assert.ok(gap >= d, `attempt ${i + 2} started ${gap} ms after attempt ${i + 1}, before its ${d} ms delay`);
      }
      assert.deepEqual([retryDelayRange(policy, 1), retryDelayRange(policy, 2), retryDelayRange(policy, 3)], [[48, 72], [96, 144], [120, 180]]);

      const later = await t.db(T.tasks).where({ chain_id: r.chainId, step_no: 2 }).first();
      assert.equal(later.status, 'cancelled');
      assert.equal((await t.db(T.services).where('id', r.serviceId).first()).state, 'failed');
      const outbox = await t.db('mod_hostbridge_ticket_outbox');
      assert.equal(outbox.length, 1);
      assert.equal(outbox[0].service_id, r.serviceId);
      assert.equal(outbox[0].operation, 'create');
      assert.match(outbox[0].subject, /create failed for service #501/);
      assert.match(outbox[0].body, /web-domain/);
      assert.match(outbox[0].body, /ECONNREFUSED/);
      assert.equal((await t.db('mod_hostbridge_ticket_notes')).length, 0);

      // The admin retries; it fails again: a note on the same thread, not a second ticket.
      assert.match(await retryTask(queue, failing.id), /resumes from step 2/);
      engine.wake();
      await waitFor('chain to fail again', async () => {
        const c = await t.db(T.chains).where('id', r.chainId).first();
        const task = await t.db(T.tasks).where('id', failing.id).first();
        return c.state === 'failed' && task.attempts === 4 && task.status === 'failed';
      });
      await engine.stop();
      assert.equal((await t.db('mod_hostbridge_ticket_outbox')).length, 1);
      const notes = await t.db('mod_hostbridge_ticket_notes');
      assert.equal(notes.length, 1);
      assert.equal(notes[0].outbox_id, outbox[0].id);
      assert.match(notes[0].body, /failed again/);
      assert.equal(await t.db(T.attempts).where('task_id', failing.id).count({ n: '*' }).first().then((x) => Number((x as { n: number }).n)), 8);
    });

    test('a terminal error fails at once, without retries', async () => {
      const { engine } = testEngine(queue);
      const r = await chainFailing(502, { failTimes: 100, terminal: true, message: 'invalid domain name' });
      engine.start();
      await waitFor('chain to fail', async () => (await t.db(T.chains).where('id', r.chainId).first())?.state === 'failed');
      await engine.stop();
      const failing = await t.db(T.tasks).where({ chain_id: r.chainId, step_no: 1 }).first();
      assert.equal(failing.attempts, 1);
      assert.equal(failing.error_kind, 'terminal');
      assert.equal((await t.db('mod_hostbridge_ticket_outbox').where('service_id', r.serviceId)).length, 1);
    });

    test('a retryable failure that recovers completes the chain and opens no ticket', async () => {
      const { engine } = testEngine(queue, { retry: { baseMs: 20, capMs: 50 } });
      const r = await chainFailing(503, { failTimes: 2 });
      engine.start();
      await waitFor('chain to succeed', async () => (await t.db(T.chains).where('id', r.chainId).first())?.state === 'succeeded');
      await engine.stop();
      const task = await t.db(T.tasks).where({ chain_id: r.chainId, step_no: 1 }).first();
      assert.equal(task.attempts, 3);
      assert.equal((await t.db('mod_hostbridge_ticket_outbox').where('service_id', r.serviceId)).length, 0);
      assert.equal((await t.db(T.services).where('id', r.serviceId).first()).state, 'active');
    });

    test('a secret declared by a task never reaches its log or error', async () => {
      const { engine, registry } = testEngine(queue);
      registry.register({
        name: 'test.leaky', description: 'prints and fails with a password',
        policy: { maxAttempts: 1 },
        async run(ctx) {
          const password = 'Sup3r-S3cret-pw';
          ctx.secret(password);
          ctx.log(`v-add-user cust ${password} cust@example.com`);
          throw new Error(`command failed: v-add-user cust ${password}`);
        },
      });
      const r = await createServiceWithChain(t.db, { whmcsServiceId: 504, mode: 'split' }, { operation: 'create', steps: [{ step: 'user', type: 'test.leaky' }] });
      engine.start();
      await waitFor('chain to fail', async () => (await t.db(T.chains).where('id', r.chainId).first())?.state === 'failed');
      await engine.stop();
      const task = await t.db(T.tasks).where('chain_id', r.chainId).first();
      const attempt = await t.db(T.attempts).where('task_id', task.id).first();
      const ticket = await t.db('mod_hostbridge_ticket_outbox').where('service_id', r.serviceId).first();
      for (const text of [task.last_error, attempt.output, attempt.error, ticket.body, (await t.db(T.chains).where('id', r.chainId).first()).error]) {
        assert.ok(!text.includes('Sup3r-S3cret-pw'), `secret leaked into: ${text}`);
        assert.match(text, /\*{8}/);
      }
    });
  });
}
