// reapExpired and its fellow recovery operations: a task whose lease ran out is taken back as a
// lost attempt and retried, or failed with its chain (and the onTaskFailed hook) when it was its
// last; a live lease is left alone; orphaned slots are freed and stalled chains started.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { recordingHooks } from '../helpers/engine.ts';
import { createServiceWithChain } from '../../daemon/engine/chains.ts';
import { claimDue } from '../../daemon/engine/sql/claim.ts';
import { LEASE_EXPIRED, promoteStalledChains, reapExpired, releaseOrphanSlots } from '../../daemon/engine/sql/reap.ts';
import type { Queue } from '../../daemon/engine/queue.ts';
import { T } from '../../daemon/common/tables.ts';

const policy = (maxAttempts: number) => () => ({ maxAttempts, baseMs: 0, capMs: 0, jitter: 0 });

for (const dialect of DIALECTS) {
  describe(`reaping expired leases on ${dialect}`, () => {
    let t: TestDb;
    const hooks = recordingHooks();
    let queue: Queue;
    before(async () => {
      t = await createTestDb(dialect);
      queue = { db: t.db, hooks };
    });
    after(async () => t.drop());

    const claimAs = async (owner: string, leaseMs: number) => {
      const [c] = await claimDue(t.db, { owner, limit: 1, leaseMs, types: ['builtin.noop'] });
      assert.ok(c, `${owner} claimed nothing`);
      return c;
    };
    const expire = (id: number) => t.db(T.tasks).where('id', id).update({ lease_until: 1 });

    test('an expired lease is a lost attempt, retried; on the last attempt the task and its chain fail', async () => {
      const r = await createServiceWithChain(t.db, { whmcsServiceId: 901, mode: 'split' }, {
        operation: 'create', failureState: 'failed',
        steps: [{ step: 'first', type: 'builtin.noop', target: 'srv-reap' }, { step: 'second', type: 'builtin.noop' }],
      });
      const a = await claimAs('dead-a', 60_000);
      assert.deepEqual(await reapExpired(queue, policy(2)), { requeued: 0, failed: 0 }, 'a live lease is left alone');
      await expire(a.id);
      assert.deepEqual(await reapExpired(queue, policy(2)), { requeued: 1, failed: 0 });
      let row = await t.db(T.tasks).where('id', a.id).first();
      assert.equal(row.status, 'queued');
      assert.equal(row.owner, null);
      assert.equal((await t.db(T.slots).where('target', 'srv-reap').first()).task_id, null, 'the slot is free again');
      assert.equal(hooks.chainEnds.length + hooks.failures.length, 0, 'a retry ends nothing');

      const b = await claimAs('dead-b', 60_000);
      assert.equal(b.id, a.id);
      await expire(b.id);
      assert.deepEqual(await reapExpired(queue, policy(2)), { requeued: 0, failed: 1 });
      row = await t.db(T.tasks).where('id', a.id).first();
      assert.equal(row.status, 'failed');
      const attempts = await t.db(T.attempts).where('task_id', a.id).orderBy('attempt');
      assert.deepEqual(attempts.map((x) => [x.attempt, x.owner, x.result, x.error]), [[1, 'dead-a', 'lost', LEASE_EXPIRED], [2, 'dead-b', 'lost', LEASE_EXPIRED]]);
      assert.equal((await t.db(T.tasks).where({ chain_id: r.chainId, step_no: 1 }).first()).status, 'cancelled');
      assert.equal((await t.db(T.chains).where('id', r.chainId).first()).state, 'failed');
      assert.deepEqual(hooks.chainEnds.map((e) => [e.chain.id, e.chain.serviceId, e.chain.failureState, e.outcome]), [[r.chainId, r.serviceId, 'failed', 'failed']]);
      assert.equal(hooks.failures.length, 1);
      const f = hooks.failures[0];
      assert.deepEqual([f.taskId, f.chainId, f.serviceId, f.operation, f.step, f.target, f.attempts, f.terminal], [Number(a.id), r.chainId, r.serviceId, 'create', 'first', 'srv-reap', 2, false]);
      assert.match(f.reason, /^lease expired: .* \(gave up after 2 attempts\)$/);
    });

    test('releaseOrphanSlots frees a slot whose task no longer runs under its owner, and no other', async () => {
      await createServiceWithChain(t.db, { whmcsServiceId: 902, mode: 'split' }, { operation: 'create', steps: [{ step: 'held', type: 'builtin.noop', target: 'srv-orphan' }] });
      await t.db(T.slots).insert({ target: 'srv-ghost', slot: 0, task_id: 999_999, owner: 'ghost' });
      const live = await claimAs('alive', 60_000);
      assert.equal(await releaseOrphanSlots(t.db), 1);
      assert.equal((await t.db(T.slots).where('target', 'srv-ghost').first()).task_id, null);
      const held = await t.db(T.slots).where('target', 'srv-orphan').first();
      assert.deepEqual([Number(held.task_id), held.owner], [Number(live.id), 'alive']);
    });

    // MariaDB only: SQLite runs one writer at a time, so a claim cannot commit while the statement waits.
    if (dialect === 'mysql') test('releaseOrphanSlots leaves alone a slot taken by a claim that commits while it waits for the row', async () => {
      // A slot scanned first makes the statement read the tasks table before it meets the slot the
      // open claim holds; once that claim commits, its task runs under the slot's owner and the slot
      // is not an orphan, whatever the statement read of the tasks before it waited.
      await createServiceWithChain(t.db, { whmcsServiceId: 904, mode: 'split' }, { operation: 'create', steps: [{ step: 'first', type: 'builtin.noop', target: 'srv-race-a' }] });
      const first = await claimAs('alive-a', 60_000);
      const r = await createServiceWithChain(t.db, { whmcsServiceId: 905, mode: 'split' }, { operation: 'create', steps: [{ step: 'raced', type: 'builtin.noop', target: 'srv-race-b' }] });
      const task = await t.db(T.tasks).where('chain_id', r.chainId).first('id');
      const claim = await t.db.transaction();
      let released: Promise<number> | null = null;
      try {
        // What claimDue writes for a claim, held open.
        await claim(T.tasks).where('id', task.id).update({ status: 'running', owner: 'racer', lease_until: Date.now() + 60_000, attempts: 1, started_at: Date.now() });
        await claim(T.slots).where({ target: 'srv-race-b', slot: 0 }).update({ task_id: task.id, owner: 'racer' });
        // Started while the claim is open; the claim commits once the statement waits on its row lock
        // (as an UPDATE over the slots did) or has already answered (as a plain read does).
        let answered = false;
        released = releaseOrphanSlots(t.db).finally(() => { answered = true; });
        let waited = false;
        for (let i = 0; i < 150 && !waited && !answered; i++) {
          const [rows] = await t.db.raw('SELECT COUNT(*) AS n FROM information_schema.INNODB_LOCK_WAITS');
          waited = Number((rows as Array<{ n: number }>)[0].n) > 0;
          if (!waited) await new Promise((res) => setTimeout(res, 20));
        }
        assert.ok(waited || answered, 'releaseOrphanSlots neither waited nor answered in 3 s');
        await claim.commit();
      } catch (err) {
        await claim.rollback().catch(() => {});
        throw err;
      }
      assert.equal(await released, 0, 'no slot was an orphan');
      const held = await t.db(T.slots).where('target', 'srv-race-b').first();
      assert.deepEqual([Number(held.task_id), held.owner], [Number(task.id), 'racer'], 'the claimed slot is still held');
      assert.equal(Number((await t.db(T.slots).where('target', 'srv-race-a').first()).task_id), Number(first.id));
    });

    test('promoteStalledChains starts a waiting chain whose service runs none', async () => {
      const first = await createServiceWithChain(t.db, { whmcsServiceId: 903, mode: 'split' }, { operation: 'create', steps: [{ step: 'a', type: 'builtin.noop' }] });
      const next = await createServiceWithChain(t.db, { whmcsServiceId: 903, mode: 'split' }, { operation: 'suspend', steps: [{ step: 'b', type: 'builtin.noop' }] });
      assert.equal(next.state, 'waiting');
      assert.equal(await promoteStalledChains(t.db), 0, 'nothing to start while the first chain runs');
      // The first chain ended without starting the next (as if that write had been lost).
      await t.db(T.chains).where('id', first.chainId).update({ state: 'cancelled', active_key: null });
      assert.equal(await promoteStalledChains(t.db), 1);
      assert.equal((await t.db(T.chains).where('id', next.chainId).first()).state, 'running');
      assert.equal((await t.db(T.tasks).where('chain_id', next.chainId).first()).status, 'queued');
    });
  });
}
