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

describe('a claim on MariaDB while most queued tasks wait for busy servers', () => {
  let t: TestDb;
  before(async () => { t = await createTestDb('mysql', { poolMax: 1 }); });
  after(async () => t.drop());

  test('reads only the due tasks of the servers with a free slot, as many as their free slots, oldest first', async () => {
    // 20 busy servers (their one slot held) with 250 queued tasks each; then, newer, 3 tasks on each
    // of three free servers, two of which allow 2 tasks at once. Walking the queued tasks in id order
    // read the 5,000 of the busy servers before reaching any of these.
    const now = Date.now();
    const busy = Array.from({ length: 20 }, (_, i) => `server:busy${i}`);
    const free = ['server:free-a', 'server:free-b', 'server:free-c'];
    const limits: Record<string, number> = { 'server:free-a': 2, 'server:free-b': 1, 'server:free-c': 2 };
    await t.db(T.targets).insert([...busy, ...free].map((target) => ({ target, max_concurrency: limits[target] ?? 1, updated_at: now })));
    await t.db(T.slots).insert([
      ...busy.map((target) => ({ target, slot: 0, task_id: 1, owner: 'elsewhere' })),
      ...free.flatMap((target) => Array.from({ length: limits[target]! }, (_, slot) => ({ target, slot, task_id: null, owner: null }))),
    ]);
    const row = (target: string, step: string, runAt = now) => ({
      operation: 'busy-fleet', step, type: 'builtin.noop', target, status: 'queued', active_key: null, attempts: 0, run_at: runAt, created_at: now,
    });
    for (let i = 0; i < 5; i++) {
      await t.db(T.tasks).insert(Array.from({ length: 1000 }, (_, j) => row(busy[(i * 1000 + j) % 20]!, `b${i * 1000 + j}`)));
    }
    // free-c's oldest task is in back-off: its next one is due, and goes first there.
    await t.db(T.tasks).insert([
      row('server:free-c', 'c0', now + 3_600_000),
      ...[0, 1, 2].flatMap((n) => [row('server:free-a', `a${n}`), row('server:free-b', `b-${n}`), row('server:free-c', `c${n + 1}`)]),
    ]);
    await t.db.raw(`ANALYZE TABLE ${T.tasks}`);
    const reads = async () => {
      const [rows] = await t.db.raw("SHOW SESSION STATUS LIKE 'Handler_read%'");
      return (rows as Array<{ Variable_name: string; Value: string }>).reduce((s, r) => s + Number(r.Value), 0);
    };
    const before = await reads();
    const claims = await claimDue(t.db, { owner: 'w', limit: 8, leaseMs: 60_000, types: ['builtin.noop'] });
    const read = (await reads()) - before;
    assert.deepEqual(claims.map((c) => `${c.target} ${c.step}`), [
      'server:free-a a0', 'server:free-b b-0', 'server:free-c c1', 'server:free-a a1', 'server:free-c c2',
    ], 'each free slot took its server\'s oldest due task, in id order');
    assert.ok(read < 300, `the claim read ${read} index entries and rows`);
    const held = await t.db(T.slots).whereIn('target', free).whereNotNull('task_id').orderBy(['target', 'slot']).select('target', 'task_id');
    assert.equal(held.length, 5, 'every free slot is now held');
    assert.deepEqual(new Set(held.map((h: { task_id: number }) => Number(h.task_id))), new Set(claims.map((c) => Number(c.id))));

    // With room for two tasks only, the two servers whose oldest due task is oldest get them.
    await t.db(T.tasks).whereIn('id', claims.map((c) => c.id)).update({ status: 'succeeded' });
    await t.db(T.slots).whereIn('target', free).update({ task_id: null, owner: null });
    const two = await claimDue(t.db, { owner: 'w', limit: 2, leaseMs: 60_000, types: ['builtin.noop'] });
    assert.deepEqual(two.map((c) => `${c.target} ${c.step}`), ['server:free-b b-1', 'server:free-a a2'], 'free-c\'s oldest due task, c3, is the newest of the three');
  });
});

describe('a claim on MariaDB, in statements', () => {
  let t: TestDb;
  before(async () => { t = await createTestDb('mysql'); });
  after(async () => t.drop());

  test('one read and one write inside its transaction, whatever the batch, when each server takes one task at a time', async () => {
    const now = Date.now();
    const servers = ['server:one-a', 'server:one-b', 'server:one-c'];
    await t.db(T.targets).insert(servers.map((target) => ({ target, max_concurrency: 1, updated_at: now })));
    await t.db(T.slots).insert(servers.map((target) => ({ target, slot: 0, task_id: null, owner: null })));
    await t.db(T.tasks).insert([...servers, ...servers, null, null].map((target, i) => ({
      operation: 'statements', step: `s${i}`, type: 'builtin.noop', target, status: 'queued', active_key: null, attempts: 0, run_at: now, created_at: now,
    })));
    const sent: string[] = [];
    const count = (q: { sql: string }) => { if (!/^(BEGIN|COMMIT|ROLLBACK)/i.test(q.sql.trim())) sent.push(q.sql); };
    t.db.on('query', count);
    const claims = await claimDue(t.db, { owner: 'w', limit: 8, leaseMs: 60_000, types: ['builtin.noop'] });
    t.db.off('query', count);
    assert.deepEqual(claims.map((c) => c.step), ['s0', 's1', 's2', 's6', 's7'], 'each server\'s oldest task and the untargeted ones');
    assert.equal(sent.length, 2, sent.join('\n---\n'));
    const slots = await t.db(T.slots).whereIn('target', servers).orderBy('target').select('target', 'task_id', 'owner');
    assert.deepEqual(slots.map((s: { task_id: number; owner: string }) => [Number(s.task_id), s.owner]),
      claims.filter((c) => c.target !== null).sort((a, b) => String(a.target).localeCompare(String(b.target))).map((c) => [Number(c.id), 'w']));
    const rows = await t.db(T.tasks).whereIn('id', claims.map((c) => c.id)).select('status', 'owner', 'attempts', 'lease_until', 'started_at');
    for (const r of rows) {
      assert.equal(r.status, 'running');
      assert.equal(r.owner, 'w');
      assert.equal(Number(r.attempts), 1);
      assert.equal(Number(r.lease_until) - Number(r.started_at), 60_000);
    }
  });
});
