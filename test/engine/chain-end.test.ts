// The chain-end hooks run inside the engine's own transaction: what they see is the engine's write
// not yet committed, and when one throws, the engine's write is undone with it. Which hook runs
// for which ending: success, failure (with the ticket hook), cancel and force-fail (without it).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { recordingHooks } from '../helpers/engine.ts';
import { createServiceWithChain, enqueueChain } from '../../daemon/engine/chains.ts';
import { claimDue } from '../../daemon/engine/sql/claim.ts';
import { finishSucceeded, finishSucceededBatch } from '../../daemon/engine/sql/finish-succeeded.ts';
import { finishFailed } from '../../daemon/engine/sql/finish-failed.ts';
import { cancelChain } from '../../daemon/engine/sql/cancel.ts';
import { forceFailTask } from '../../daemon/engine/sql/force-fail.ts';
import type { QueueHooks } from '../../daemon/engine/hooks.ts';
import { T } from '../../daemon/common/tables.ts';

const policy = { maxAttempts: 5, baseMs: 0, capMs: 0, jitter: 0 };
const refuse = async () => {
  throw new Error('hook refused');
};

for (const dialect of DIALECTS) {
  describe(`chain-end hooks on ${dialect}`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDb(dialect);
    });
    after(async () => t.drop());

    let nextService = 800;
    const twoSteps = () => createServiceWithChain(t.db, { whmcsServiceId: ++nextService, mode: 'split' }, {
      operation: 'create', successState: 'active', failureState: 'failed',
      steps: [{ step: 'first', type: 'builtin.noop', target: 'srv-hooks' }, { step: 'second', type: 'builtin.noop' }],
    });
    const claimNext = async (owner: string) => {
      const [c] = await claimDue(t.db, { owner, limit: 1, leaseMs: 60_000, types: ['builtin.noop'] });
      assert.ok(c, 'nothing to claim');
      return c;
    };
    const state = async (chainId: number) => (await t.db(T.chains).where('id', chainId).first()).state;
    const attempts = async (taskId: number) => (await t.db(T.attempts).where('task_id', taskId)).length;

    test('finishSucceeded: onChainEnd sees the chain closed in the same transaction; a throwing hook undoes the success', async () => {
      const r = await twoSteps();
      await finishSucceeded({ db: t.db, hooks: recordingHooks() }, await claimNext('w'), { output: 'one', durationMs: 1 });
      const last = await claimNext('w');
      assert.equal(last.step, 'second');

      await assert.rejects(finishSucceeded({ db: t.db, hooks: { onChainEnd: refuse, onTaskFailed: refuse } }, last, { output: 'two', durationMs: 1 }), /hook refused/);
      const row = await t.db(T.tasks).where('id', last.id).first();
      assert.deepEqual([row.status, row.owner], ['running', 'w'], 'the success was rolled back with the hook');
      assert.equal(await attempts(last.id), 0);
      assert.equal(await state(r.chainId), 'running');
      assert.equal((await t.db(T.slots).where('target', 'srv-hooks').first()).task_id, null);

      const seen: string[] = [];
      const hooks: QueueHooks = {
        async onChainEnd(trx: Knex.Transaction, chain, outcome) {
          seen.push(`${outcome}:${(await trx(T.chains).where('id', chain.id).first()).state}:${chain.successState}`);
        },
        onTaskFailed: refuse,
      };
      assert.equal(await finishSucceeded({ db: t.db, hooks }, last, { output: 'two', durationMs: 1 }), true);
      assert.deepEqual(seen, ['succeeded:succeeded:active']);
      assert.equal(await state(r.chainId), 'succeeded');
    });

    test('finishFailed: a terminal failure calls onChainEnd then onTaskFailed; a throwing ticket hook undoes the failure', async () => {
      const r = await twoSteps();
      const c = await claimNext('w');
      const failure = { output: 'tried', durationMs: 2, error: 'invalid domain name', kind: 'terminal' as const, policy };
      await assert.rejects(finishFailed({ db: t.db, hooks: { ...recordingHooks(), onTaskFailed: refuse } }, c, failure), /hook refused/);
      assert.equal((await t.db(T.tasks).where('id', c.id).first()).status, 'running');
      assert.equal((await t.db(T.tasks).where({ chain_id: r.chainId, step_no: 1 }).first()).status, 'waiting');
      assert.equal(await state(r.chainId), 'running');
      assert.equal(await attempts(c.id), 0);

      const hooks = recordingHooks();
      assert.equal(await finishFailed({ db: t.db, hooks }, c, failure), 'failed');
      assert.deepEqual(hooks.chainEnds.map((e) => [e.chain.id, e.chain.failureState, e.outcome]), [[r.chainId, 'failed', 'failed']]);
      assert.equal(hooks.failures.length, 1);
      assert.deepEqual({ ...hooks.failures[0] }, {
        taskId: Number(c.id), chainId: r.chainId, serviceId: r.serviceId, operation: 'create', step: 'first', type: 'builtin.noop',
        target: 'srv-hooks', attempts: 1, reason: 'invalid domain name', terminal: true,
      });
      assert.equal((await t.db(T.chains).where('id', r.chainId).first()).error, 'first: invalid domain name');
    });

    test('a retry ends nothing: no hook runs', async () => {
      const r = await twoSteps();
      const hooks = recordingHooks();
      const c = await claimNext('w');
      assert.equal(await finishFailed({ db: t.db, hooks }, c, { output: '', durationMs: 1, error: 'ECONNRESET', kind: 'retryable', policy }), 'retry');
      assert.deepEqual([hooks.chainEnds, hooks.failures], [[], []]);
      assert.equal(await state(r.chainId), 'running');
      await cancelChain({ db: t.db, hooks }, r.chainId);
    });

    test('cancel ends the chain as cancelled, force-fail as failed; neither calls the ticket hook', async () => {
      const cancelled = await twoSteps();
      const hooks = recordingHooks();
      await claimNext('w');
      assert.match(await cancelChain({ db: t.db, hooks }, cancelled.chainId), /cancelled: 2 unfinished step/);
      const failed = await twoSteps();
      const c = await claimNext('w');
      assert.equal(c.chain_id, failed.chainId);
      await forceFailTask({ db: t.db, hooks }, c.id, 'node gone');
      assert.deepEqual(hooks.chainEnds.map((e) => [e.chain.id, e.outcome]), [[cancelled.chainId, 'cancelled'], [failed.chainId, 'failed']]);
      assert.deepEqual(hooks.failures, []);
      assert.equal((await t.db(T.chains).where('id', failed.chainId).first()).error, 'first: node gone');
    });

    test('successes recorded together end their chains together: each closes once, with its hook and its log entry, and its service\'s next chain starts', async () => {
      const oneStep = (target: string) => createServiceWithChain(t.db, { whmcsServiceId: ++nextService, mode: 'split' }, {
        operation: 'create', successState: 'active', failureState: 'failed', steps: [{ step: 'only', type: 'builtin.noop', target }],
      });
      const a = await oneStep('srv-batch-a');
      const next = await enqueueChain(t.db, { serviceId: a.serviceId, operation: 'suspend', successState: 'suspended', steps: [{ step: 'lock', type: 'builtin.noop' }] });
      assert.equal(next.state, 'waiting');
      const b = await oneStep('srv-batch-b');
      const longer = await createServiceWithChain(t.db, { whmcsServiceId: ++nextService, mode: 'split' }, {
        operation: 'create', steps: [{ step: 'first', type: 'builtin.noop', target: 'srv-batch-c' }, { step: 'second', type: 'builtin.noop' }],
      });
      const ours = new Set([a.chainId, b.chainId, longer.chainId]);
      const claims = (await claimDue(t.db, { owner: 'batch', limit: 50, leaseMs: 60_000, types: ['builtin.noop'] })).filter((c) => ours.has(Number(c.chain_id)));
      assert.equal(claims.length, 3);

      const hooks = recordingHooks();
      const held = await finishSucceededBatch({ db: t.db, hooks }, claims.map((claim) => ({ claim, output: '', durationMs: 1 })));
      assert.deepEqual(held, [true, true, true]);
      assert.deepEqual([await state(a.chainId), await state(b.chainId), await state(longer.chainId), await state(next.chainId)], ['succeeded', 'succeeded', 'running', 'running']);
      assert.deepEqual(hooks.chainEnds.map((e) => [e.chain.id, e.chain.successState, e.outcome]).sort(), [[a.chainId, 'active', 'succeeded'], [b.chainId, 'active', 'succeeded']].sort());
      assert.equal((await t.db(T.tasks).where({ chain_id: next.chainId, step_no: 0 }).first()).status, 'queued', "the service's waiting chain started");
      assert.equal((await t.db(T.tasks).where({ chain_id: longer.chainId, step_no: 1 }).first()).status, 'queued');
      const logged = await t.db(T.oplog).whereIn('chain_id', [...ours]).select('kind', 'chain_id', 'result', 'domain');
      assert.deepEqual(logged.filter((l) => l.kind === 'chain').map((l) => [Number(l.chain_id), l.result]).sort(), [[a.chainId, 'succeeded'], [b.chainId, 'succeeded']].sort());
      assert.equal(logged.filter((l) => l.kind === 'attempt').length, 3);
    });
  });
}
