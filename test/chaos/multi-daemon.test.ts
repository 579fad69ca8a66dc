// Several daemon processes on one MariaDB database over 5,000 tasks: no task runs twice at
// once, no target runs more tasks at once than its limit, a service's steps run in parallel only
// where its chain's graph allows (no step starts before the steps it depends on ended), and every
// task finishes.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createTestDb, waitFor, type TestDb } from '../helpers/db.ts';
import { daemonEnv, startDaemonProcess, type DaemonProcess } from '../helpers/daemon.ts';
import { createServiceWithChain, enqueueTasks } from '../../daemon/engine/chains.ts';
import { setTargetLimit } from '../../daemon/engine/sql/targets.ts';
import { T } from '../../daemon/common/tables.ts';
import { openLedger, TEST_SERVE } from '../helpers/task-types.ts';
import { maxOverlap } from '../helpers/intervals.ts';

const DAEMONS = 3;
const CHAINS = 900; // × 5 steps
const STEPS = 5;
// Each chain is a small graph: two roots on different targets, a step after each, a join after both.
const DEPS: number[][] = [[], [], [0], [1], [2, 3]];
const LOOSE = 500; // standalone tasks, half of them without a target
const TARGETS = 12;
const LIMITS: Record<string, number> = { 'node-0': 2, 'node-1': 3 }; // the others keep the default of 1

describe('several daemons on one MariaDB database', () => {
  let t: TestDb;
  const daemons: DaemonProcess[] = [];
  before(async () => {
    t = await createTestDb('mysql');
  });
  after(async () => {
    await Promise.all(daemons.map((d) => d.kill('SIGKILL')));
    await t.drop();
  });

  test(`${DAEMONS} daemons, ${CHAINS * STEPS + LOOSE} tasks: exclusive runs, limits held, all finished`, { timeout: 600_000 }, async (ctx) => {
    const ledger = path.join(t.dir, 'runs.sqlite');
    for (const [target, limit] of Object.entries(LIMITS)) await setTargetLimit(t.db, target, limit);
    for (let s = 0; s < CHAINS; s++) {
      await createServiceWithChain(t.db, { whmcsServiceId: 50_000 + s, mode: 'split' }, {
        operation: 'create', successState: 'active',
        steps: Array.from({ length: STEPS }, (_, j) => ({
          step: `step-${j}`, type: 'builtin.ledger', target: `node-${(s * 3 + j) % TARGETS}`, dependsOn: DEPS[j],
          // The roots hold a little longer, so parallel branches of one service get to overlap.
          args: { ledger, key: `svc-${s}/${j}`, holdMs: j < 2 ? 4 : (s + j) % 3, trace: true },
        })),
      });
    }
    await enqueueTasks(t.db, 'loose', Array.from({ length: LOOSE }, (_, i) => ({
      step: `loose-${i}`, type: 'builtin.ledger', target: i % 2 ? `node-${i % TARGETS}` : null,
      args: { ledger, key: `loose-${i}`, holdMs: i % 2, trace: true },
    })));
    const total = CHAINS * STEPS + LOOSE;

    const started = Date.now();
    for (let i = 0; i < DAEMONS; i++) {
      daemons.push(await startDaemonProcess(daemonEnv(t.url, { HOSTBRIDGE_CONCURRENCY: '8', HOSTBRIDGE_LEASE_MS: '10000', HOSTBRIDGE_POLL_MS: '20' }), path.join(t.dir, `daemon-${i}.log`), 30_000, TEST_SERVE));
    }
    await waitFor('all tasks to finish', async () => Number(((await t.db(T.tasks).whereNot('status', 'succeeded').count({ n: '*' }).first()) as { n: number }).n) === 0, 480_000, 250);
    const seconds = (Date.now() - started) / 1000;
    await Promise.all(daemons.map((d) => d.kill('SIGTERM')));

    const runs = openLedger(ledger).prepare('SELECT task_id, target, service_id, pid, started, ended FROM runs').all() as Array<{ task_id: number; target: string | null; service_id: number | null; pid: number; started: number; ended: number }>;
    assert.equal((await t.db(T.tasks).where('status', 'succeeded')).length, total);
    assert.ok(runs.every((r) => r.ended !== null), 'a run never ended');

    const group = <K>(key: (r: (typeof runs)[number]) => K) => {
      const m = new Map<K, typeof runs>();
      for (const r of runs) (m.get(key(r)) ?? m.set(key(r), []).get(key(r))!).push(r);
      return m;
    };
    // No task runs twice at once (and none ran twice at all: nothing was interrupted).
    for (const [id, rs] of group((r) => r.task_id)) assert.equal(maxOverlap(rs), 1, `task ${id} ran twice at once`);
    // Per-target limits, recorded and asserted.
    const observed: Record<string, number> = {};
    for (const [target, rs] of group((r) => r.target)) {
      if (target === null) continue;
      observed[target] = maxOverlap(rs);
      assert.ok(observed[target] <= (LIMITS[target] ?? 1), `${target} ran ${observed[target]} tasks at once, limit ${LIMITS[target] ?? 1}`);
    }
    // A service's steps overlap only where the graph allows: no step starts before the steps it
    // depends on ended; independent branches did run at the same time.
    const stepOf = new Map((await t.db(T.tasks).whereNotNull('chain_id').select('id', 'step_no')).map((r: { id: number; step_no: number }) => [Number(r.id), Number(r.step_no)]));
    let parallel = 0;
    for (const [sid, rs] of group((r) => r.service_id)) {
      if (sid === null) continue;
      const run = new Map(rs.map((r) => [stepOf.get(Number(r.task_id))!, r]));
      for (const [j, r] of run) {
        // 1 ms of slack: the runs are stamped by different processes' clocks.
        for (const d of DEPS[j]!) assert.ok(r.started >= run.get(d)!.ended - 1, `service ${sid}: step ${j} started before step ${d}, which it depends on, ended`);
      }
      if (maxOverlap(rs) > 1) parallel++;
    }
    assert.ok(parallel > 0, 'no service ran two independent steps at once');
    // Every effect once; the work was shared by the daemons.
    const dup = openLedger(ledger).prepare('SELECT count(*) AS n FROM (SELECT key FROM effects GROUP BY key HAVING count(*) > 1)').get() as { n: number };
    assert.equal(dup.n, 0);
    const perDaemon = [...group((r) => r.pid).values()].map((rs) => rs.length);
    assert.equal(perDaemon.length, DAEMONS, 'a daemon did no work');
    assert.equal(runs.length, total);
    ctx.diagnostic(`${DAEMONS} daemons finished ${total} tasks in ${seconds.toFixed(1)} s (${Math.round(total / seconds)} tasks/s); runs per daemon ${perDaemon.join(' / ')}; max concurrent per target ${JSON.stringify(observed)}; ${parallel} services ran independent steps at once, none out of order`);
  });
});
