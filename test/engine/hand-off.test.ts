// A success hands its freed slot to the next due task on the same server, claimed in the same
// commit (finishSucceededBatch's handOff), and to nothing else.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { recordingHooks } from '../helpers/engine.ts';
import { enqueueTasks } from '../../daemon/engine/chains.ts';
import { claimDue } from '../../daemon/engine/sql/claim.ts';
import { finishSucceededBatch } from '../../daemon/engine/sql/finish-succeeded.ts';
import type { Queue } from '../../daemon/engine/queue.ts';
import { T } from '../../daemon/common/tables.ts';

const TYPES = ['builtin.noop'];

for (const dialect of DIALECTS) {
  describe(`slot hand-off on ${dialect}`, () => {
    let t: TestDb;
    let queue: Queue;
    before(async () => {
      t = await createTestDb(dialect);
      queue = { db: t.db, hooks: recordingHooks() };
    });
    after(async () => t.drop());

    test('the next task on the freed server starts in the same commit; a task on another server does not', async () => {
      await enqueueTasks(t.db, 'handoff', [
        { step: 'first', type: 'builtin.noop', target: 'srv-h1' },
        { step: 'second', type: 'builtin.noop', target: 'srv-h1' },
        { step: 'elsewhere', type: 'builtin.noop', target: 'srv-h2' },
      ]);
      // srv-h2's task is taken by another worker first, so only srv-h1 matters below.
      const claims = await claimDue(t.db, { owner: 'worker-a', limit: 2, leaseMs: 60_000, types: TYPES });
      const first = claims.find((c) => c.step === 'first')!;
      assert.ok(first, 'the first task on srv-h1 is claimed');
      assert.deepEqual(claims.map((c) => c.step).sort(), ['elsewhere', 'first']);
      await enqueueTasks(t.db, 'handoff2', [{ step: 'third', type: 'builtin.noop', target: 'srv-h2' }]);

      const { held, handedOff } = await finishSucceededBatch(queue, [{ claim: first, output: '', durationMs: 1 }],
        { owner: 'worker-b', limit: 8, leaseMs: 60_000, types: TYPES });
      assert.deepEqual(held, [true]);
      assert.deepEqual(handedOff.map((c) => c.step), ['second'], 'only the freed server\'s next task is handed off');
      const second = await t.db(T.tasks).where({ operation: 'handoff', step: 'second' }).first();
      assert.equal(second.status, 'running');
      assert.equal(second.owner, 'worker-b');
      assert.equal(handedOff[0]!.attempts, 1);
      const slot = await t.db(T.slots).where('target', 'srv-h1').first();
      assert.equal(Number(slot.task_id), Number(second.id), 'the slot goes straight to the next task');
      assert.equal(slot.owner, 'worker-b');
      const third = await t.db(T.tasks).where({ operation: 'handoff2', step: 'third' }).first();
      assert.equal(third.status, 'queued', 'srv-h2 is busy and was not freed: its queued task waits');
    });

    test('a success whose lease was lost hands nothing off', async () => {
      await enqueueTasks(t.db, 'lost', [
        { step: 'one', type: 'builtin.noop', target: 'srv-l' },
        { step: 'two', type: 'builtin.noop', target: 'srv-l' },
      ]);
      const [one] = await claimDue(t.db, { owner: 'worker-c', limit: 1, leaseMs: 60_000, types: TYPES });
      assert.equal(one!.step, 'one');
      // The task was taken back meanwhile (its owner token is no longer worker-c's).
      await t.db(T.tasks).where('id', one!.id).update({ owner: 'someone-else' });
      const { held, handedOff } = await finishSucceededBatch(queue, [{ claim: one!, output: '', durationMs: 1 }],
        { owner: 'worker-d', limit: 8, leaseMs: 60_000, types: TYPES });
      assert.deepEqual(held, [false]);
      assert.deepEqual(handedOff, []);
      assert.equal((await t.db(T.tasks).where({ operation: 'lost', step: 'two' }).first()).status, 'queued');
    });
  });
}
