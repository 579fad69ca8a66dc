import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createTestDb, DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { recordingHooks, testEngine } from '../helpers/engine.ts';
import { enqueueTasks } from '../../daemon/engine/chains.ts';
import { claimDue } from '../../daemon/engine/sql/claim.ts';
import { finishSucceeded } from '../../daemon/engine/sql/finish-succeeded.ts';
import { finishFailed } from '../../daemon/engine/sql/finish-failed.ts';
import { reapExpired } from '../../daemon/engine/sql/reap.ts';
import { setTargetLimit } from '../../daemon/engine/sql/targets.ts';
import type { Queue } from '../../daemon/engine/queue.ts';
import { T } from '../../daemon/common/tables.ts';
import { openLedger } from '../helpers/task-types.ts';
import { maxOverlap } from '../helpers/intervals.ts';

const policy = { maxAttempts: 5, baseMs: 0, capMs: 0, jitter: 0 };

for (const dialect of DIALECTS) {
  describe(`leases, fencing and per-target limits on ${dialect}`, () => {
    let t: TestDb;
    // Tasks of no service: hooks that only record, so a test can prove a fenced-out write called none.
    const hooks = recordingHooks();
    let queue: Queue;
    before(async () => {
      t = await createTestDb(dialect);
      queue = { db: t.db, hooks };
    });
    after(async () => t.drop());

    test('a worker whose lease expired cannot overwrite the work of the next', async () => {
      await enqueueTasks(t.db, 'fence', [{ step: 'only', type: 'builtin.noop', target: 'srv-fence' }]);
      const [a] = await claimDue(t.db, { owner: 'owner-a', limit: 1, leaseMs: 60_000, types: ['builtin.noop'] });
      assert.ok(a);
      // Worker A stalls; its lease runs out and the reaper takes the task back.
      await t.db(T.tasks).where('id', a.id).update({ lease_until: 1 });
      assert.deepEqual(await reapExpired(queue, () => policy), { requeued: 1, failed: 0 });
      const [b] = await claimDue(t.db, { owner: 'owner-b', limit: 1, leaseMs: 60_000, types: ['builtin.noop'] });
      assert.equal(b.id, a.id);
      assert.equal(b.attempts, 2);
      // A wakes up and reports: nothing it writes lands.
      assert.equal(await finishSucceeded(queue, a, { output: 'from a', durationMs: 1 }), false);
      assert.equal(await finishFailed(queue, a, { output: 'from a', durationMs: 1, error: 'x', kind: 'terminal', policy }), 'lost');
      assert.deepEqual(hooks.failures, [], 'a fenced-out failure calls no hook');
      let row = await t.db(T.tasks).where('id', a.id).first();
      assert.equal(row.status, 'running');
      assert.equal(row.owner, 'owner-b');
      const slot = await t.db(T.slots).where('target', 'srv-fence').first();
      assert.equal(slot.owner, 'owner-b');
      assert.equal(await finishSucceeded(queue, b, { output: 'from b', durationMs: 1 }), true);
      row = await t.db(T.tasks).where('id', a.id).first();
      assert.equal(row.status, 'succeeded');
      const attempts = await t.db(T.attempts).where('task_id', a.id).orderBy('attempt');
      assert.deepEqual(attempts.map((x) => [x.attempt, x.result]), [[1, 'lost'], [2, 'succeeded']]);
      assert.equal(attempts[1].output, 'from b');
      assert.equal((await t.db(T.slots).where('target', 'srv-fence').first()).task_id, null);
    });

    test('a target never runs more tasks at once than its limit', async () => {
      const ledger = path.join(t.dir, 'limits-ledger.sqlite');
      await setTargetLimit(t.db, 'srv-two', 2);
      const steps = [];
      for (let i = 0; i < 12; i++) steps.push({ step: `one-${i}`, type: 'builtin.ledger', target: 'srv-one', args: { ledger, key: `one-${i}`, holdMs: 15, trace: true } });
      for (let i = 0; i < 12; i++) steps.push({ step: `two-${i}`, type: 'builtin.ledger', target: 'srv-two', args: { ledger, key: `two-${i}`, holdMs: 15, trace: true } });
      await enqueueTasks(t.db, 'limits', steps);
      const { engine } = testEngine(queue, { concurrency: 8 });
      engine.start();
      await waitFor('all limit tasks', async () => Number(((await t.db(T.tasks).where('operation', 'limits').whereNot('status', 'succeeded').count({ n: '*' }).first()) as { n: number }).n) === 0);
      await engine.stop();
      const runs = openLedger(ledger).prepare('SELECT target, started, ended FROM runs').all() as Array<{ target: string; started: number; ended: number }>;
      assert.equal(runs.length, 24);
      assert.equal(maxOverlap(runs.filter((r) => r.target === 'srv-one')), 1);
      // Two may run together on srv-two, never three.
      assert.equal(maxOverlap(runs.filter((r) => r.target === 'srv-two')), 2);
    });

    test('a task of a type this daemon does not know is left for a daemon that does', async () => {
      await enqueueTasks(t.db, 'foreign', [{ step: 'x', type: 'proxmox.clone' }]);
      const claimed = await claimDue(t.db, { owner: 'o', limit: 5, leaseMs: 1000, types: ['builtin.noop'] });
      assert.equal(claimed.filter((c) => c.type === 'proxmox.clone').length, 0);
      assert.equal((await t.db(T.tasks).where('type', 'proxmox.clone').first()).status, 'queued');
    });
  });
}
