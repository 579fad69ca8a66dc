// A daemon killed with SIGKILL at random points, again and again: no task is lost or stuck,
// every chain completes once a daemon runs again, and a check-then-act step applies its
// effect exactly once, however many times it is re-run.
//
// Leases are long (LEASE_MS): a live daemon renews every third of it, so only a process that went
// two thirds of a lease without running could lose a task it is still running (a loaded machine
// stalls for a second, not for ten). Waiting out such a lease after every kill would take minutes,
// so once a daemon's process has exited the test expires its leases itself — the state its
// database would reach LEASE_MS later, when nothing of that process can still act — and the next
// daemon takes those tasks back as lost and re-runs them, as it would after the wait.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTestDb, DIALECTS, expireRunningLeases, waitFor, type TestDb } from '../helpers/db.ts';
import { daemonEnv, startDaemonProcess } from '../helpers/daemon.ts';
import { createServiceWithChain } from '../../daemon/engine/chains.ts';
import { T } from '../../daemon/common/tables.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { openLedger, TEST_SERVE } from '../helpers/task-types.ts';

// 25 kills per dialect: each lands on a few running tasks, so 70 to 100 attempts die, at every step
// of the chain graph (asserted below; every fifth kill waits for a join to be running), and 10 to 50
// re-runs find their effect already applied (the test needs one). HOSTBRIDGE_TEST_KILLS for a longer soak.
const KILLS = Number(process.env.HOSTBRIDGE_TEST_KILLS ?? 25);
const STEPS = 5;
// Each chain is a small graph: two roots on different servers, a step after each, a join after both.
const DEPS: number[][] = [[], [], [0], [1], [2, 3]];
const LEASE_MS = 15_000;

for (const dialect of DIALECTS) {
  describe(`SIGKILL during runs on ${dialect}`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDb(dialect);
      await writeSetting(t.db, 'scheduler.reap-expired-leases.interval_s', '1');
    });
    after(async () => t.drop());

    test(`${KILLS} kills at random points lose nothing and apply every effect once`, { timeout: 600_000 }, async (ctx) => {
      const ledger = path.join(t.dir, 'remote-ledger.sqlite');
      const env = daemonEnv(t.url, { HOSTBRIDGE_LEASE_MS: String(LEASE_MS), HOSTBRIDGE_SCHEDULER_INTERVAL: '1', HOSTBRIDGE_CONCURRENCY: '4', HOSTBRIDGE_POLL_MS: '50' });
      const logFile = path.join(t.dir, 'daemons.log');
      let services = 0;
      const addServices = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const s = ++services;
          await createServiceWithChain(t.db, { whmcsServiceId: 10_000 + s, mode: 'split' }, {
            operation: 'create', successState: 'active', failureState: 'failed',
            steps: Array.from({ length: STEPS }, (_, j) => ({
              step: `step-${j}`, type: 'builtin.ledger', target: `node-${(s + j) % 4}`, dependsOn: DEPS[j],
              args: { ledger, key: `svc-${s}/step-${j}`, holdMs: 5 + ((s * 7 + j * 13) % 40) },
            })),
          });
        }
      };
      const unfinished = async () => Number(((await t.db(T.tasks).whereNot('status', 'succeeded').count({ n: '*' }).first()) as { n: number }).n);
      await addServices(40);

      let killsMidTask = 0;
      for (let k = 0; k < KILLS; k++) {
        // Keep the daemon busy at every kill.
        if ((await unfinished()) < 60) await addServices(20);
        const d = await startDaemonProcess(env, logFile, 30_000, TEST_SERVE);
        // Killed tasks hold their server's slot until the new daemon takes them back, so it may
        // idle for a moment: wait until it runs a task, then kill at a random point of that work.
        // A daemon killed that soon mostly runs roots and the steps after them, so every fifth kill
        // waits for a join (the last step) to run, and lands within its check-then-act.
        const atJoin = k % 5 === 4;
        const busyBy = Date.now() + (atJoin ? 20_000 : 10_000);
        const runningNow = () => t.db(T.tasks).where('status', 'running').where('lease_until', '>', Date.now() + 500)
          .modify((q) => { if (atJoin) q.where('step_no', STEPS - 1); }).first('id');
        while (Date.now() < busyBy && !(await runningNow())) {
          await new Promise((r) => setTimeout(r, atJoin ? 2 : 10));
        }
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * (atJoin ? 5 : 120))));
        await d.kill('SIGKILL');
        // A task still marked running under a live lease was running when the process died (the
        // leases of earlier daemons were expired below).
        const running = await t.db(T.tasks).where('status', 'running').where('lease_until', '>', Date.now() + 300).first('id');
        if (running) killsMidTask++;
        // The process has exited (kill resolves on its exit): nothing of it can still act, so its
        // leases are expired now instead of LEASE_MS from now. No other daemon runs.
        await expireRunningLeases(t.db);
      }

      const started = Date.now();
      const d = await startDaemonProcess(env, logFile, 30_000, TEST_SERVE);
      await waitFor('every chain to finish', async () => (await unfinished()) === 0, 120_000, 200);
      const convergeMs = Date.now() - started;
      await d.kill('SIGTERM');

      const tasks = await t.db(T.tasks).select('id', 'status', 'attempts', 'chain_id', 'step_no', 'args');
      const chains = await t.db(T.chains).select('id', 'state');
      assert.equal(tasks.length, services * STEPS);
      assert.ok(chains.every((c) => c.state === 'succeeded'), 'a chain did not succeed');
      assert.equal((await t.db(T.services).whereNot('state', 'active')).length, 0);
      assert.equal((await t.db(T.slots).whereNotNull('task_id')).length, 0, 'a server slot is still held');
      assert.equal((await t.db('mod_hostbridge_ticket_outbox')).length, 0);

      // Each effect exactly once, and in chain order.
      const ledgerDb = openLedger(ledger);
      const effects = ledgerDb.prepare('SELECT key, count(*) AS n, min(at) AS at FROM effects GROUP BY key').all() as Array<{ key: string; n: number; at: number }>;
      assert.equal(effects.length, tasks.length, 'an effect is missing');
      const twice = effects.filter((e) => e.n !== 1);
      if (twice.length) {
        // Say who applied them, and whether a live daemon lost a lease (a stall of two thirds of LEASE_MS).
        const rows = ledgerDb.prepare(`SELECT key, task_id, attempt, pid, at FROM effects WHERE key IN (${twice.map(() => '?').join(', ')}) ORDER BY key, at`).all(...twice.map((e) => e.key));
        const stalls = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => /lost its lease while running|cannot renew task leases/.test(l));
        assert.fail(`${twice.length} effects were applied more than once: ${JSON.stringify(rows.slice(0, 8))}; live daemons that lost a lease: ${stalls.length ? stalls.slice(0, 5).join(' | ') : 'none'}`);
      }
      // The case that makes "once" mean something: an attempt applied the effect and died before
      // its success was recorded, and a later attempt found the effect and did not apply it again.
      const attemptsOf = new Map(tasks.map((x) => [Number(x.id), Number(x.attempts)]));
      const appliedBy = ledgerDb.prepare('SELECT task_id, attempt FROM effects').all() as Array<{ task_id: number; attempt: number }>;
      const foundApplied = appliedBy.filter((e) => e.attempt < attemptsOf.get(Number(e.task_id))!).length;
      const at = new Map(effects.map((e) => [e.key, e.at]));
      for (let s = 1; s <= services; s++) {
        for (let j = 1; j < STEPS; j++) {
          for (const d of DEPS[j]!) assert.ok(at.get(`svc-${s}/step-${j}`)! >= at.get(`svc-${s}/step-${d}`)!, `service ${s} ran step ${j} before step ${d}, which it depends on`);
        }
      }
      const lost = Number(((await t.db(T.attempts).where('result', 'lost').count({ n: '*' }).first()) as { n: number }).n);
      // The kills landed all over the chain: on a root, the steps after them and the join alike.
      const stepsOf = (rows: unknown[]) => [...new Set(rows.map(Number))].sort((a, b) => a - b);
      const lostSteps = stepsOf(await t.db(`${T.attempts} as a`).join(`${T.tasks} as x`, 'x.id', 'a.task_id').where('a.result', 'lost').pluck('x.step_no'));
      assert.deepEqual(lostSteps, stepsOf(tasks.map((x) => x.step_no)), `kills interrupted only steps ${lostSteps.join(', ')} of the chain`);
      const reruns = tasks.reduce((sum, x) => sum + x.attempts - 1, 0);
      assert.ok(killsMidTask >= KILLS / 2, `only ${killsMidTask} of ${KILLS} kills hit a running task`);
      assert.ok(lost > 0 && reruns > 0, 'no kill interrupted a task');
      assert.ok(foundApplied > 0, `no re-run found its effect already applied (${reruns} re-runs): the check-then-act was never put to the test`);
      ctx.diagnostic(`${dialect}: ${KILLS} SIGKILLs (${killsMidTask} of them with a task mid-run); ${services} chains, ${tasks.length} tasks; ${lost} attempts lost and retried (at steps ${lostSteps.join(', ')}), ${reruns} re-runs, ${foundApplied} of them after the effect was applied; every effect applied once; converged ${convergeMs} ms after the last restart`);
    });
  });
}
