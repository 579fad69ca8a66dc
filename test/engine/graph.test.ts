// Chains as small graphs: steps that wait for nothing start together, a step starts when every
// step it names has succeeded, a failure cancels only what depends on it while independent steps
// go on with their own retries, and the chain ends (one ticket thread) once nothing can run.
// Admin retry and reset follow the same graph. Run through the queue's operations (claim,
// finish) so every transition is deterministic, and once through the real worker for overlap.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { createTestDb, DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { testEngine } from '../helpers/engine.ts';
import { createServiceWithChain, EnqueueError, type StepSpec } from '../../daemon/engine/chains.ts';
import { claimDue } from '../../daemon/engine/sql/claim.ts';
import { finishSucceeded } from '../../daemon/engine/sql/finish-succeeded.ts';
import { finishFailed } from '../../daemon/engine/sql/finish-failed.ts';
import { retryTask } from '../../daemon/engine/sql/retry-task.ts';
import { resetChain } from '../../daemon/engine/sql/reset-chain.ts';
import { dependentsOf, lanesOf, readySteps, dependencyProblem, storedDependencies } from '../../daemon/engine/graph.ts';
import { AdminError } from '../../daemon/engine/admin.ts';
import type { Queue } from '../../daemon/engine/queue.ts';
import type { Claim } from '../../daemon/engine/rows.ts';
import { daemonQueue } from '../../daemon/runtime.ts';
import { T } from '../../daemon/common/tables.ts';

const terminal = { maxAttempts: 5, baseMs: 0, capMs: 0, jitter: 0 };

describe('the step graph (pure)', () => {
  const rows = (deps: Array<number[] | null>, status: string[] = []) =>
    deps.map((d, i) => ({ step_no: i, status: status[i] ?? 'waiting', depends_on: d === null ? null : JSON.stringify(d) }));

  test('a step with no stored list waits for the one before; ready steps are those whose dependencies all succeeded', () => {
    assert.deepEqual(readySteps(rows([null, null, null], ['succeeded', 'waiting', 'waiting'])), [1]);
    assert.deepEqual(readySteps(rows([[], [], [0, 1]], ['succeeded', 'running', 'waiting'])), []);
    assert.deepEqual(readySteps(rows([[], [], [0, 1]], ['succeeded', 'succeeded', 'waiting'])), [2]);
  });

  test('dependents are found through other steps, and only those', () => {
    // 0 → 1 → 3, 2 alone, 4 needs 2 and 3
    const g = rows([[], [0], [], [1], [2, 3]]);
    assert.deepEqual(dependentsOf(g, 0), [1, 3, 4]);
    assert.deepEqual(dependentsOf(g, 2), [4]);
    assert.deepEqual(dependentsOf(g, 4), []);
  });

  test('lanes: a chain in sequence is one lane; parallel branches get their own and a step continues its dependency\'s lane', () => {
    assert.deepEqual([...lanesOf(rows([null, null, null])).values()], [0, 0, 0]);
    // A sequence across servers stays one lane.
    const across = rows([null, null, null]).map((r, i) => ({ ...r, target: `server:${i}` }));
    assert.deepEqual([...lanesOf(across).values()], [0, 0, 0]);
    // A Split deployment: web 0→1→2→9, mail 3→4→5, zones 6,7,8 on three DNS servers after the mail domain 5.
    const targets = ['web', 'web', 'web', 'mail', 'mail', 'mail', 'ns1', 'ns2', 'pdns', 'web'];
    const split = rows([[], [0], [1], [], [3], [4], [5], [5], [5], [2]]).map((r, i) => ({ ...r, target: targets[i]! }));
    assert.deepEqual([...lanesOf(split).entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l), [0, 0, 0, 1, 1, 1, 2, 3, 4, 0], 'one lane per server');
    // Closing the service (no server) after a terminate's parallel removals continues one of their lanes.
    const terminate = rows([[], [], [], [0, 1, 2]]).map((r, i) => ({ ...r, target: ['web', 'mail', 'ns1', null][i]! }));
    assert.deepEqual([...lanesOf(terminate).values()], [0, 1, 2, 0]);
  });

  test('stored form: a chain in sequence stores NULL for every step; a graph stores every step\'s list', () => {
    assert.deepEqual(storedDependencies([{}, {}, { dependsOn: [1] }]), [null, null, null]);
    assert.deepEqual(storedDependencies([{ dependsOn: [] }, { dependsOn: [] }, { dependsOn: [1, 0] }]), ['[]', '[]', '[0,1]']);
    assert.deepEqual(storedDependencies([{}, { dependsOn: [] }, {}]), ['[]', '[]', '[1]']);
  });

  test('dependencies name earlier steps only, each once', () => {
    assert.equal(dependencyProblem(2, [0, 1]), null);
    assert.match(dependencyProblem(1, [1])!, /not an earlier step/);
    assert.match(dependencyProblem(1, [-1])!, /not an earlier step/);
    assert.match(dependencyProblem(3, [0, 0])!, /twice/);
  });
});

for (const dialect of DIALECTS) {
  describe(`chains as graphs on ${dialect}`, () => {
    let t: TestDb;
    let queue: Queue;
    before(async () => {
      t = await createTestDb(dialect);
      // The daemon's real hooks: the service's state and the ticket thread are what is checked.
      queue = daemonQueue(t.db);
    });
    after(async () => t.drop());

    let nextService = 7100;
    // web (a) → ssl (a); mail (b) → zone on c and d, each after the mail step.
    const graph: StepSpec[] = [
      { step: 'web', type: 'builtin.noop', target: 'gr-a', dependsOn: [] },
      { step: 'mail', type: 'builtin.noop', target: 'gr-b', dependsOn: [] },
      { step: 'zone-c', type: 'builtin.noop', target: 'gr-c', dependsOn: [1] },
      { step: 'zone-d', type: 'builtin.noop', target: 'gr-d', dependsOn: [1] },
      { step: 'ssl', type: 'builtin.noop', target: 'gr-a', dependsOn: [0] },
    ];
    const enqueue = (steps: StepSpec[] = graph) => createServiceWithChain(t.db, { whmcsServiceId: ++nextService, mode: 'split' }, {
      operation: 'deploy', successState: 'active', failureState: 'failed', steps,
    });
    const statuses = async (chainId: number) =>
      (await t.db(T.tasks).where('chain_id', chainId).orderBy('step_no')).map((r: { step: string; status: string }) => `${r.step}:${r.status}`);
    const claimAll = async (chainId: number): Promise<Claim[]> =>
      (await claimDue(t.db, { owner: `w${Math.random()}`, limit: 10, leaseMs: 60_000, types: ['builtin.noop'] })).filter((c) => Number(c.chain_id) === chainId);
    const succeed = (c: Claim) => finishSucceeded(queue, c, { output: '', durationMs: 1 });
    const fail = (c: Claim, kind: 'terminal' | 'retryable', error: string, maxAttempts = 5) =>
      finishFailed(queue, c, { output: '', durationMs: 1, error, kind, policy: { ...terminal, maxAttempts } });
    const chain = async (id: number) => t.db(T.chains).where('id', id).first();
    const tickets = async (serviceId: number) => t.db('mod_hostbridge_ticket_outbox').where('service_id', serviceId);

    test('steps that wait for nothing start together; a step starts when all it names succeeded; the chain succeeds after the last', async () => {
      const r = await enqueue();
      assert.deepEqual(await statuses(r.chainId), ['web:queued', 'mail:queued', 'zone-c:waiting', 'zone-d:waiting', 'ssl:waiting']);
      const first = await claimAll(r.chainId);
      assert.deepEqual(first.map((c) => c.step).sort(), ['mail', 'web'], 'both roots are claimed in one go');
      await succeed(first.find((c) => c.step === 'mail')!);
      assert.deepEqual(await statuses(r.chainId), ['web:running', 'mail:succeeded', 'zone-c:queued', 'zone-d:queued', 'ssl:waiting']);
      const zones = await claimAll(r.chainId);
      assert.deepEqual(zones.map((c) => c.step).sort(), ['zone-c', 'zone-d'], 'the zones run while the web step still runs');
      for (const z of zones) await succeed(z);
      assert.equal((await chain(r.chainId)).state, 'running', 'the chain is not done while a step runs');
      await succeed(first.find((c) => c.step === 'web')!);
      const [ssl] = await claimAll(r.chainId);
      assert.equal(ssl.step, 'ssl');
      await succeed(ssl);
      assert.equal((await chain(r.chainId)).state, 'succeeded');
      assert.equal((await t.db(T.services).where('id', r.serviceId).first()).state, 'active');
    });

    test('a failure cancels only its dependents; the independent steps finish first; then the chain fails with one ticket', async () => {
      const r = await enqueue();
      const first = await claimAll(r.chainId);
      assert.equal(await fail(first.find((c) => c.step === 'web')!, 'terminal', 'v-add-user: user exists with another owner'), 'failed');
      assert.deepEqual(await statuses(r.chainId), ['web:failed', 'mail:running', 'zone-c:waiting', 'zone-d:waiting', 'ssl:cancelled']);
      assert.equal((await chain(r.chainId)).state, 'running', 'mail and the zones do not depend on the web step');
      assert.equal((await t.db(T.services).where('id', r.serviceId).first()).state, 'pending');
      await succeed(first.find((c) => c.step === 'mail')!);
      for (const z of await claimAll(r.chainId)) await succeed(z);
      const ended = await chain(r.chainId);
      assert.equal(ended.state, 'failed');
      assert.match(ended.error, /^web: v-add-user: user exists with another owner$/);
      assert.equal((await t.db(T.services).where('id', r.serviceId).first()).state, 'failed');
      assert.equal((await tickets(r.serviceId)).length, 1);
      const ssl = await t.db(T.tasks).where({ chain_id: r.chainId, step: 'ssl' }).first();
      assert.equal(ssl.last_error, 'not run: step 1 (web) failed');
    });

    test('two independent steps fail on different servers: each retries on its own, one ticket thread for the operation, and an admin retry completes it', async () => {
      const r = await enqueue();
      let [web, mail] = ['web', 'mail'].map(() => null as Claim | null);
      // Round 1: both fail retryably; each goes back to the queue on its own, nothing is cancelled.
      for (const c of await claimAll(r.chainId)) {
        assert.equal(await fail(c, 'retryable', `${c.step} node: connection refused`, 2), 'retry');
      }
      assert.deepEqual(await statuses(r.chainId), ['web:queued', 'mail:queued', 'zone-c:waiting', 'zone-d:waiting', 'ssl:waiting']);
      // Round 2: the mail step fails its last attempt first; the web step is still retrying.
      const second = await claimAll(r.chainId);
      web = second.find((c) => c.step === 'web')!;
      mail = second.find((c) => c.step === 'mail')!;
      assert.equal(web.attempts, 2);
      assert.equal(mail.attempts, 2);
      assert.equal(await fail(mail, 'retryable', 'mail node: connection refused', 2), 'failed');
      assert.deepEqual(await statuses(r.chainId), ['web:running', 'mail:failed', 'zone-c:cancelled', 'zone-d:cancelled', 'ssl:waiting']);
      assert.equal((await chain(r.chainId)).state, 'running', 'the web step still runs: the chain waits for it');
      assert.equal(await fail(web, 'retryable', 'web node: connection refused', 2), 'failed');
      const ended = await chain(r.chainId);
      assert.equal(ended.state, 'failed');
      assert.match(ended.error, /web: web node: connection refused/);
      assert.match(ended.error, /mail: mail node: connection refused/);
      const outbox = await tickets(r.serviceId);
      assert.equal(outbox.length, 1, 'one ticket for the operation');
      assert.equal((await t.db('mod_hostbridge_ticket_notes').where('outbox_id', outbox[0].id)).length, 1, 'the second failure is a note on it');

      // A cancelled zone cannot be retried before the mail step it waits for.
      const zone = await t.db(T.tasks).where({ chain_id: r.chainId, step: 'zone-c' }).first();
      await assert.rejects(retryTask(queue, zone.id), (e: unknown) => e instanceof AdminError && /waits for step 2 \(mail/.test((e as Error).message));
      // Retrying each failed step reopens the chain and what it blocked, and the chain completes.
      await retryTask(queue, mail.id);
      await retryTask(queue, web.id);
      assert.deepEqual(await statuses(r.chainId), ['web:queued', 'mail:queued', 'zone-c:waiting', 'zone-d:waiting', 'ssl:waiting']);
      for (let round = 0; round < 4 && (await chain(r.chainId)).state === 'running'; round++) {
        for (const c of await claimAll(r.chainId)) await succeed(c);
      }
      assert.equal((await chain(r.chainId)).state, 'succeeded');
      assert.equal((await t.db(T.services).where('id', r.serviceId).first()).state, 'active');
    });

    test('two branches that finish at the same moment in two transactions still start the step that joins them, and end the chain', async () => {
      // Each finish reads the chain's other steps after writing its own: without one lock per
      // service, each could read the other as still running and neither would start the join.
      const stuck: number[] = [];
      for (let i = 0; i < 40; i++) {
        const r = await enqueue([
          { step: 'left', type: 'builtin.noop', target: `gr-l${i % 4}`, dependsOn: [] },
          { step: 'right', type: 'builtin.noop', target: `gr-r${i % 4}`, dependsOn: [] },
          { step: 'join', type: 'builtin.noop', target: null, dependsOn: [0, 1] },
        ]);
        const both = await claimAll(r.chainId);
        assert.equal(both.length, 2);
        await Promise.all(both.map((c) => succeed(c)));
        if ((await t.db(T.tasks).where({ chain_id: r.chainId, step: 'join' }).first()).status !== 'queued') stuck.push(r.chainId);
        else for (const c of await claimAll(r.chainId)) await succeed(c);
      }
      assert.deepEqual(stuck, [], 'chains whose join was never started');
      // And two last steps finishing together end their chain once.
      for (let i = 0; i < 20; i++) {
        const r = await enqueue([
          { step: 'left', type: 'builtin.noop', target: `gr-l${i % 4}`, dependsOn: [] },
          { step: 'right', type: 'builtin.noop', target: `gr-r${i % 4}`, dependsOn: [] },
        ]);
        await Promise.all((await claimAll(r.chainId)).map((c) => succeed(c)));
        assert.equal((await chain(r.chainId)).state, 'succeeded', `chain ${r.chainId} did not end`);
      }
    });

    if (dialect === 'mysql') {
      // A step's finish takes its service's row lock before it writes its task (lockChainsOf), as
      // an admin's cancel or force-fail takes them: the other order could deadlock with those.
      const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const adminHolding = async (serviceId: number, whileHeld: (admin: Knex.Transaction) => Promise<void>) => {
        const admin = await t.db.transaction();
        try {
          await admin(T.services).where('id', serviceId).forUpdate().first('id');
          await whileHeld(admin);
          await admin.commit();
        } catch (err) {
          await admin.rollback().catch(() => {});
          throw err;
        }
      };

      // Two roots and their join (a chain in sequence runs one step at a time and takes no lock),
      // on targets of their own, so that no other test's running step holds their slots.
      const joinGraph = (n: number): StepSpec[] => [
        { step: 'a', type: 'builtin.noop', target: `lk-a-${n}`, dependsOn: [] },
        { step: 'b', type: 'builtin.noop', target: `lk-b-${n}`, dependsOn: [] },
        { step: 'c', type: 'builtin.noop', target: `lk-c-${n}`, dependsOn: [0, 1] },
      ];

      test("a step's finish waits for its service's lock before it writes, then goes through", async () => {
        const r = await enqueue(joinGraph(1));
        const roots = await claimAll(r.chainId);
        const a = roots.find((c) => c.step === 'a')!;
        assert.ok(a, 'step a is claimed');
        assert.notEqual(a.depends_on, null, 'a step of a graph');
        let finishing!: Promise<boolean>;
        await adminHolding(r.serviceId, async () => {
          finishing = succeed(a);
          await pause(300);
          assert.equal((await t.db(T.tasks).where('id', a.id).first()).status, 'running', 'nothing written while the service is held');
        });
        assert.equal(await finishing, true);
        assert.deepEqual(await statuses(r.chainId), ['a:succeeded', 'b:running', 'c:waiting']);
        await succeed(roots.find((c) => c.step === 'b')!);
        for (const c of await claimAll(r.chainId)) await succeed(c);
        assert.equal((await chain(r.chainId)).state, 'succeeded');
      });

      test("an admin who holds the service and then changes the running step never deadlocks with the step's finish", async () => {
        const r = await enqueue(joinGraph(2));
        const roots = await claimAll(r.chainId);
        const a = roots.find((c) => c.step === 'a')!;
        assert.ok(a, 'step a is claimed');
        let finishing!: Promise<boolean>;
        await adminHolding(r.serviceId, async (admin) => {
          finishing = succeed(a);
          await pause(300);
          // As a cancel does it. The finish waits for the service and holds nothing else, so the
          // task's row is free (in the other order each would wait for the other: a deadlock).
          await admin(T.tasks).where('id', a.id).update({ status: 'cancelled', owner: null, lease_until: null });
          await admin(T.slots).where('task_id', a.id).update({ task_id: null, owner: null });
        });
        assert.equal(await finishing, false, 'the step is no longer this worker\'s: its finish writes nothing');
        assert.deepEqual(await statuses(r.chainId), ['a:cancelled', 'b:running', 'c:waiting']);
        await succeed(roots.find((c) => c.step === 'b')!); // frees lk-b-2's slot
      });
    }

    test('a reset starts every step that waits for nothing again', async () => {
      const r = await enqueue();
      for (let round = 0; round < 4; round++) for (const c of await claimAll(r.chainId)) await succeed(c);
      assert.equal((await chain(r.chainId)).state, 'succeeded');
      await resetChain(queue, r.chainId);
      assert.deepEqual(await statuses(r.chainId), ['web:queued', 'mail:queued', 'zone-c:waiting', 'zone-d:waiting', 'ssl:waiting']);
      for (let round = 0; round < 4; round++) for (const c of await claimAll(r.chainId)) await succeed(c);
      assert.equal((await chain(r.chainId)).state, 'succeeded');
    });

    test('a dependency on a later or the same step is refused before anything is written', async () => {
      const before = (await t.db(T.chains).count('* as n').first())!.n;
      await assert.rejects(enqueue([{ step: 'a', type: 'builtin.noop', dependsOn: [] }, { step: 'b', type: 'builtin.noop', dependsOn: [1] }]),
        (e: unknown) => e instanceof EnqueueError && /step 2 \(b\): dependsOn names step 1, which is not an earlier step/.test((e as Error).message));
      assert.equal((await t.db(T.chains).count('* as n').first())!.n, before);
    });

    test('the worker runs independent steps on different servers at the same time, and a dependent one after both', async () => {
      const { engine, registry } = testEngine(queue, { concurrency: 4 });
      const spans = new Map<string, [number, number]>();
      registry.register({
        name: 'test.hold', description: 'holds its server for a moment',
        async run(ctx) {
          const start = Date.now();
          await new Promise((res) => setTimeout(res, 300));
          spans.set(ctx.task.step, [start, Date.now()]);
        },
      });
      const r = await enqueue([
        { step: 'left', type: 'test.hold', target: 'gr-left', dependsOn: [] },
        { step: 'right', type: 'test.hold', target: 'gr-right', dependsOn: [] },
        { step: 'join', type: 'test.hold', target: 'gr-left', dependsOn: [0, 1] },
      ]);
      engine.start();
      try {
        await waitFor('chain to succeed', async () => (await chain(r.chainId))?.state === 'succeeded');
      } finally {
        await engine.stop();
      }
      const [l, rt, j] = ['left', 'right', 'join'].map((s) => spans.get(s)!);
      assert.ok(l[0] < rt[1] && rt[0] < l[1], `left ${l} and right ${rt} overlap`);
      assert.ok(j[0] >= Math.max(l[1], rt[1]), `join ${j} starts after both`);
    });
  });
}
