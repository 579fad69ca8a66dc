// Due tasks are claimed oldest first, by the order their chains were placed in: a chain's next step,
// queued when the step before it ended, goes before the first steps of chains placed after it on
// the same server, instead of behind every one of them (a burst's first orders finish first).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { recordingHooks } from '../helpers/engine.ts';
import { enqueueChain } from '../../daemon/engine/chains.ts';
import { claimDue } from '../../daemon/engine/sql/claim.ts';
import { finishSucceeded } from '../../daemon/engine/sql/finish-succeeded.ts';
import { T } from '../../daemon/common/tables.ts';

for (const dialect of DIALECTS) {
  describe(`claim order on ${dialect}`, () => {
    let t: TestDb;
    before(async () => { t = await createTestDb(dialect); });
    after(async () => t.drop());

    const claimOne = async () => {
      const [c] = await claimDue(t.db, { owner: 'w', limit: 1, leaseMs: 60_000, types: ['builtin.noop'] });
      assert.ok(c, 'nothing to claim');
      return c;
    };

    test("a chain's next step on a server runs before the first steps of later chains there", async () => {
      const steps = (n: number) => Array.from({ length: n }, (_, i) => ({ step: `s${i}`, type: 'builtin.noop', target: 'srv-order' }));
      const first = await enqueueChain(t.db, { operation: 'first', steps: steps(3) });
      const later = [];
      for (let i = 0; i < 3; i++) later.push(await enqueueChain(t.db, { operation: `later${i}`, steps: steps(1) }));
      const ran: string[] = [];
      for (let i = 0; i < 6; i++) {
        const c = await claimOne();
        ran.push(`${c.operation}/${c.step}`);
        // The next step becomes due now, after the later chains' first steps were queued.
        await new Promise((r) => setTimeout(r, 5));
        await finishSucceeded({ db: t.db, hooks: recordingHooks() }, c, { output: '', durationMs: 1 });
      }
      assert.deepEqual(ran, ['first/s0', 'first/s1', 'first/s2', 'later0/s0', 'later1/s0', 'later2/s0']);
      const queuedAt = await t.db(T.tasks).where('chain_id', first.chainId).orderBy('step_no').pluck('run_at');
      const laterAt = Number(await t.db(T.tasks).where('chain_id', later[0]!.chainId).first().then((r) => r.run_at));
      assert.ok(Number(queuedAt[1]) > laterAt, 'the step ran first although it became due after the later chain was queued');
    });

    test('a task not yet due waits, whatever its age', async () => {
      const old = await enqueueChain(t.db, { operation: 'backoff', steps: [{ step: 'one', type: 'builtin.noop', target: 'srv-due' }] });
      await t.db(T.tasks).where('chain_id', old.chainId).update({ run_at: Date.now() + 3_600_000 });
      await enqueueChain(t.db, { operation: 'fresh', steps: [{ step: 'one', type: 'builtin.noop', target: 'srv-due' }] });
      const c = await claimOne();
      assert.equal(c.operation, 'fresh');
    });
  });
}

describe('a claim on MariaDB with a long history', () => {
  let t: TestDb;
  before(async () => { t = await createTestDb('mysql', { poolMax: 1 }); });
  after(async () => t.drop());

  test('reads the queued tasks through the (status, id) index, not every finished task before them', async () => {
    // 10,000 finished tasks, then 20,000 queued: with most rows queued, MariaDB's optimizer takes
    // the primary key for "ORDER BY id LIMIT", which walks every finished task first.
    const now = Date.now();
    for (let i = 0; i < 30; i++) {
      await t.db(T.tasks).insert(Array.from({ length: 1000 }, (_, j) => ({
        operation: 'history', step: `s${i * 1000 + j}`, type: 'builtin.noop', target: null, status: i < 10 ? 'succeeded' : 'queued',
        active_key: null, attempts: i < 10 ? 1 : 0, run_at: now, created_at: now,
      })));
    }
    await t.db.raw(`ANALYZE TABLE ${T.tasks}`);
    // One connection (poolMax 1): the session's handler counters are the claim's own reads.
    const reads = async () => {
      const [rows] = await t.db.raw("SHOW SESSION STATUS LIKE 'Handler_read%'");
      return (rows as Array<{ Variable_name: string; Value: string }>).reduce((s, r) => s + Number(r.Value), 0);
    };
    const before = await reads();
    const [c] = await claimDue(t.db, { owner: 'w', limit: 1, leaseMs: 60_000, types: ['builtin.noop'] });
    const read = (await reads()) - before;
    assert.equal(c?.step, 's10000', 'the oldest queued task');
    assert.ok(read < 200, `the claim read ${read} index entries and rows`);
  });
});
