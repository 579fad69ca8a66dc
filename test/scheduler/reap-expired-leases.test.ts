// reap-expired-leases: a task whose lease ran out (its daemon died) is taken back for retry, or
// failed when it has no attempt left; its server slot is freed; a task under a live lease stays.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { enqueueTasks } from '../../daemon/engine/chains.ts';
import { claimDue } from '../../daemon/engine/sql/claim.ts';
import { LEASE_EXPIRED } from '../../daemon/engine/sql/reap.ts';
import { TaskRegistry } from '../../daemon/engine/registry.ts';
import { Scheduler } from '../../daemon/scheduler/scheduler.ts';
import { reapExpiredLeasesJob } from '../../daemon/scheduler/jobs/reap-expired-leases.ts';
import { SettingsCache } from '../../daemon/settings/settings.ts';
import { T } from '../../daemon/common/tables.ts';
import { daemonQueue } from '../../daemon/runtime.ts';

for (const dialect of DIALECTS) {
  describe(`reap-expired-leases on ${dialect}`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDb(dialect);
    });
    after(async () => t.drop());

    test('requeues a task whose lease ran out, fails one out of attempts, leaves a live lease alone', async () => {
      await enqueueTasks(t.db, 'reap', [
        { step: 'expired', type: 'test.dies', target: 'srv-reap' },
        { step: 'last-attempt', type: 'test.dies-last', maxAttempts: 1 },
        { step: 'alive', type: 'test.lives', target: 'srv-live' },
      ]);
      // A daemon that dies holds two tasks under a lease of 1 ms; a live one holds a third for a minute.
      assert.equal((await claimDue(t.db, { owner: 'dead-daemon', limit: 2, leaseMs: 1, types: ['test.dies', 'test.dies-last'] })).length, 2);
      assert.equal((await claimDue(t.db, { owner: 'live-daemon', limit: 1, leaseMs: 60_000, types: ['test.lives'] })).length, 1);
      await new Promise((r) => setTimeout(r, 50));

      let woken = 0;
      const lines: string[] = [];
      const settings = new SettingsCache(t.db);
      const scheduler = new Scheduler(t.db, settings, 'test-daemon', [reapExpiredLeasesJob({ queue: daemonQueue(t.db), registry: new TaskRegistry(), settings, onWork: () => woken++ })]);
      const r = await scheduler.runNow('reap-expired-leases', (l) => lines.push(l));
      assert.equal(r.result, 'ok', r.message);
      assert.match(r.message!, /^requeued 1, failed 1, /);
      assert.ok(lines.includes('reap-expired-leases: took back 1 task(s) for retry, failed 1 out of attempts'), lines.join('\n'));
      assert.equal(woken, 1, 'a requeued task wakes the engine');

      const task = async (step: string) => t.db(T.tasks).where({ operation: 'reap', step }).first();
      const expired = await task('expired');
      assert.equal(expired.status, 'queued');
      assert.equal(expired.owner, null);
      assert.equal(expired.lease_until, null);
      assert.equal(expired.last_error, LEASE_EXPIRED);
      const lost = await t.db(T.attempts).where('task_id', expired.id);
      assert.deepEqual(lost.map((a) => [a.attempt, a.result, a.owner]), [[1, 'lost', 'dead-daemon']]);
      const slot = await t.db(T.slots).where('target', 'srv-reap').first();
      assert.equal(slot.task_id, null, 'the dead daemon\'s server slot is freed');

      const last = await task('last-attempt');
      assert.equal(last.status, 'failed');
      assert.equal(last.last_error, LEASE_EXPIRED);

      const alive = await task('alive');
      assert.equal(alive.status, 'running');
      assert.equal(alive.owner, 'live-daemon');
      assert.equal(Number((await t.db(T.slots).where('target', 'srv-live').first()).task_id), Number(alive.id));

      // Nothing more to take back: a second run changes nothing.
      assert.match(await reapExpiredLeasesJob({ queue: daemonQueue(t.db), registry: new TaskRegistry(), settings, onWork: () => woken++ }).run({ log: () => {} }), /^requeued 0, failed 0, /);
      assert.equal(woken, 1);
    });
  });
}
