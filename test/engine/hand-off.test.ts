// A finishing worker takes its next task in the finishing transaction: its chain's next step, and
// (when asked) the next task on the server it freed. It takes only what a claim could take (due,
// of a type it runs, on a server with a free slot), at most one task per success, and a worker
// whose lease was lost takes nothing.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createTestDb, DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { recordingHooks, testEngine } from '../helpers/engine.ts';
import { openLedger } from '../helpers/task-types.ts';
import { maxOverlap } from '../helpers/intervals.ts';
import { enqueueChain } from '../../daemon/engine/chains.ts';
import { claimDue } from '../../daemon/engine/sql/claim.ts';
import { finishAndHandOff, type HandOff } from '../../daemon/engine/sql/finish-succeeded.ts';
import type { Claim } from '../../daemon/engine/rows.ts';
import { T } from '../../daemon/common/tables.ts';

const TYPES = ['builtin.noop'];

for (const dialect of DIALECTS) {
  describe(`hand-off on ${dialect}`, () => {
    let t: TestDb;
    before(async () => { t = await createTestDb(dialect); });
    after(async () => t.drop());

    const queue = () => ({ db: t.db, hooks: recordingHooks() });
    const handOff = (over: Partial<HandOff> = {}): HandOff => ({ owner: 'next', limit: 8, leaseMs: 60_000, types: TYPES, servers: true, ...over });
    const claim = async (operation: string): Promise<Claim> => {
      const claims = await claimDue(t.db, { owner: 'first', limit: 50, leaseMs: 60_000, types: TYPES });
      const c = claims.find((x) => x.operation === operation);
      assert.ok(c, `${operation} was not claimed`);
      // Leave the other claims as they were: only this test's task runs.
      const others = claims.filter((x) => x !== c).map((x) => x.id);
      if (others.length) {
        await t.db(T.tasks).whereIn('id', others).update({ status: 'queued', owner: null, lease_until: null, attempts: t.db.raw('attempts - 1') });
        await t.db(T.slots).whereIn('task_id', others).update({ task_id: null, owner: null });
      }
      return c;
    };
    const finish = (c: Claim, h: HandOff | null) => finishAndHandOff(queue(), [{ claim: c, output: '', durationMs: 1 }], h);
    const slotOf = async (taskId: number) => t.db(T.slots).where('task_id', taskId).first();

    test("the chain's next step starts in the finishing transaction, with its server's slot", async () => {
      const chain = await enqueueChain(t.db, { operation: 'seq', steps: [
        { step: 'web', type: 'builtin.noop', target: 'ho-web' }, { step: 'dns', type: 'builtin.noop', target: 'ho-dns' },
      ] });
      const { held, next } = await finish(await claim('seq'), handOff());
      assert.deepEqual(held, [true]);
      assert.equal(next.length, 1);
      assert.equal(next[0].chain_id, chain.chainId);
      assert.equal(next[0].step, 'dns');
      assert.equal(next[0].owner, 'next');
      assert.equal(next[0].attempts, 1);
      const row = await t.db(T.tasks).where('id', next[0].id).first();
      assert.equal(row.status, 'running');
      assert.equal(row.owner, 'next');
      assert.ok(Number(row.lease_until) > Date.now());
      const slot = await slotOf(next[0].id);
      assert.equal(slot?.target, 'ho-dns');
      assert.equal(slot?.owner, 'next');
    });

    test("the freed server's next task, from another chain, only when servers are asked for", async () => {
      await enqueueChain(t.db, { operation: 'a1', steps: [{ step: 'one', type: 'builtin.noop', target: 'ho-srv' }] });
      await enqueueChain(t.db, { operation: 'a2', steps: [{ step: 'one', type: 'builtin.noop', target: 'ho-srv' }] });
      await enqueueChain(t.db, { operation: 'a3', steps: [{ step: 'one', type: 'builtin.noop', target: 'ho-srv' }] });
      const first = await finish(await claim('a1'), handOff());
      assert.deepEqual(first.next.map((c) => c.operation), ['a2'], 'the oldest task waiting for the freed server');
      const second = await finish(first.next[0], handOff({ servers: false }));
      assert.deepEqual(second.held, [true]);
      assert.deepEqual(second.next, [], 'without servers, only the chain is looked at');
      const a3 = await t.db(T.tasks).where('operation', 'a3').first();
      assert.equal(a3.status, 'queued');
    });

    test('takes nothing on a server whose slot another task holds, nothing not yet due, nothing of a type it does not run', async () => {
      await enqueueChain(t.db, { operation: 'b', steps: [
        { step: 'one', type: 'builtin.noop', target: 'hb-a' }, { step: 'two', type: 'builtin.noop', target: 'hb-busy' },
      ] });
      await enqueueChain(t.db, { operation: 'busy', steps: [{ step: 'one', type: 'builtin.noop', target: 'hb-busy' }] });
      await claim('busy'); // holds hb-busy's only slot
      await enqueueChain(t.db, { operation: 'later', steps: [{ step: 'one', type: 'builtin.noop', target: 'hb-a' }] });
      await t.db(T.tasks).where('operation', 'later').update({ run_at: Date.now() + 3_600_000 });
      await enqueueChain(t.db, { operation: 'other', steps: [{ step: 'one', type: 'builtin.other', target: 'hb-a' }] });
      const { next } = await finish(await claim('b'), handOff());
      assert.deepEqual(next, []);
      const two = await t.db(T.tasks).where({ operation: 'b', step: 'two' }).first();
      assert.equal(two.status, 'queued', "the chain's next step waits for its server");
    });

    test('never more than its limit; all it may take, up to the limit; a lost lease takes nothing', async () => {
      for (const op of ['c1', 'c2', 'c3', 'c4']) await enqueueChain(t.db, { operation: op, steps: [{ step: 'one', type: 'builtin.noop', target: 'hc-srv' }] });
      await t.db(T.slots).insert([{ target: 'hc-srv', slot: 1, task_id: null, owner: null }, { target: 'hc-srv', slot: 2, task_id: null, owner: null }]);
      const c1 = await claim('c1');
      assert.deepEqual((await finish(c1, handOff({ limit: 1 }))).next.map((c) => c.operation), ['c2'], 'one, the oldest, though two more wait with free slots');
      const c3 = await claim('c3');
      assert.deepEqual((await finish(c3, handOff({ limit: 8 }))).next.map((c) => c.operation), ['c4'], 'every task that has a free slot, under the limit');
      const c4 = await t.db(T.tasks).where('operation', 'c4').first();
      assert.equal(c4.status, 'running');
      assert.deepEqual((await finish({ ...c4, owner: 'next' }, handOff({ limit: 0 }))).next, []);

      await enqueueChain(t.db, { operation: 'lost', steps: [{ step: 'one', type: 'builtin.noop', target: 'hc-lost' }, { step: 'two', type: 'builtin.noop', target: 'hc-lost' }] });
      const lost = await claim('lost');
      await t.db(T.tasks).where('id', lost.id).update({ owner: 'someone-else' });
      const r = await finish(lost, handOff());
      assert.deepEqual(r, { held: [false], next: [] });
      assert.equal((await t.db(T.tasks).where({ operation: 'lost', step: 'two' }).first()).status, 'waiting');
    });

    test('an engine that hands off never runs more than its concurrency, nor two tasks at once on one server', async () => {
      const ledger = path.join(t.dir, 'hand-off-ledger.sqlite');
      // Chains of three steps over four servers, more chains than workers: finishing steps hand
      // their workers both their chains' next steps and their servers' next tasks.
      for (let c = 0; c < 12; c++) {
        await enqueueChain(t.db, { operation: `he-${c}`, steps: [0, 1, 2].map((i) => ({
          step: `s${i}`, type: 'builtin.ledger', target: `he-srv-${(c + i) % 4}`, args: { ledger, key: `he-${c}-${i}`, holdMs: 10, trace: true },
        })) });
      }
      const { engine } = testEngine(queue(), { concurrency: 3 });
      engine.start();
      await waitFor('every chain done', async () => Number(((await t.db(T.tasks).where('operation', 'like', 'he-%').whereNot('status', 'succeeded').count({ n: '*' }).first()) as { n: number }).n) === 0);
      await engine.stop();
      const runs = openLedger(ledger).prepare('SELECT target, started, ended FROM runs').all() as Array<{ target: string; started: number; ended: number }>;
      assert.equal(runs.length, 36);
      assert.ok(engine.stats.handedOff > 0, 'some tasks were handed off');
      assert.ok(maxOverlap(runs) <= 3, `at most 3 tasks at once, saw ${maxOverlap(runs)}`);
      for (let i = 0; i < 4; i++) assert.equal(maxOverlap(runs.filter((r) => r.target === `he-srv-${i}`)), 1, `he-srv-${i}`);
      assert.equal(Number(((await t.db(T.slots).where('target', 'like', 'he-srv-%').whereNotNull('task_id').count({ n: '*' }).first()) as { n: number }).n), 0, 'every slot free');
    });
  });
}
