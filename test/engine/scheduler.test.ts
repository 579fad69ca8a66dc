import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { Scheduler, type Job } from '../../daemon/scheduler/scheduler.ts';
import { SettingsCache } from '../../daemon/settings/settings.ts';
import { T } from '../../daemon/common/tables.ts';

for (const dialect of DIALECTS) {
  describe(`scheduler on ${dialect}`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDb(dialect);
    });
    after(async () => t.drop());

    test('two daemons never run the same job for the same slot; last run and lock are readable', async () => {
      const runs: Array<{ owner: string; slot: number; at: number }> = [];
      const job = (owner: string): Job => ({
        name: 'every-second', describe: 'test job', defaultIntervalS: 1,
        async run(ctx) {
          // The slot this run won, as the database recorded it.
          const { last_slot: slot } = await t.db(T.jobs).where('name', 'every-second').first('last_slot');
          runs.push({ owner, slot: Number(slot), at: Date.now() });
          ctx.log('working');
          await new Promise((r) => setTimeout(r, 30));
          return `ran on ${owner}`;
        },
      });
      const a = new Scheduler(t.db, new SettingsCache(t.db), 'daemon-a', [job('daemon-a')]);
      const b = new Scheduler(t.db, new SettingsCache(t.db), 'daemon-b', [job('daemon-b')]);
      const lines: string[] = [];
      // Both hammer the scheduler, a pass every 15 ms each, far more often than the job's interval,
      // until it has run in three slots (however long a loaded machine takes to get there).
      const RUNS = 3;
      const started = Date.now();
      const deadline = started + 30_000;
      await Promise.all([a, b].map(async (s) => {
        while (runs.length < RUNS && Date.now() < deadline) {
          await s.pass((l) => lines.push(l));
          await new Promise((r) => setTimeout(r, 15));
        }
      }));
      const elapsedMs = Date.now() - started;
      assert.ok(runs.length >= RUNS, `the 1 s job ran ${runs.length} times in ${elapsedMs} ms`);
      const rows = await t.db(T.jobs).where('name', 'every-second');
      assert.equal(rows.length, 1);
      const slots = runs.map((r) => r.slot);
      assert.equal(new Set(slots).size, slots.length, `a slot ran twice: ${slots.join(', ')}`);
      // Once per second at most: no more runs than the seconds the hammering touched (an interval
      // of n whole seconds touches at most n + 2 of them).
      assert.ok(runs.length <= Math.floor(elapsedMs / 1000) + 2, `${runs.length} runs in ${elapsedMs} ms of a 1 s job`);
      for (let i = 1; i < slots.length; i++) assert.ok(slots[i] > slots[i - 1], 'slots must move forward');
      assert.ok(lines.some((l) => l === 'every-second: working'));
      const [state] = await a.status();
      assert.equal(state.name, 'every-second');
      assert.equal(state.intervalS, 1);
      assert.equal(state.lastResult, 'ok');
      assert.match(state.lastMessage!, /^ran on daemon-[ab]$/);
      assert.equal(state.lockedBy, null);
      assert.ok(state.lastDurationMs! >= 25);
    });

    test('a job held by another daemon is refused by run-task until clear-locks', async () => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const slow: Job = { name: 'slow-job', describe: 'blocks', defaultIntervalS: 3600, async run() { await held; return 'done'; } };
      const a = new Scheduler(t.db, new SettingsCache(t.db), 'daemon-a', [slow]);
      const b = new Scheduler(t.db, new SettingsCache(t.db), 'daemon-b', [{ ...slow, run: async () => 'b ran' }]);
      const running = a.runNow('slow-job', () => {});
      const state = await waitFor('daemon-a to hold the lock of slow-job', async () => {
        const [s] = await b.status();
        return s.lockedBy === 'daemon-a' && s;
      }, 10_000);
      assert.ok(state.lockedUntil! > Date.now());
      await assert.rejects(b.runNow('slow-job', () => {}), /slow-job is running on daemon-a .*clear-locks/);
      const passed = await b.pass();
      assert.equal(passed[0].ran, false);
      assert.deepEqual(await b.clearLocks(), ['slow-job']);
      const r = await b.runNow('slow-job', () => {});
      assert.equal(r.message, 'b ran');
      release();
      await running;
      await assert.rejects(b.runNow('no-such-job', () => {}), /unknown job "no-such-job"; jobs are slow-job/);
    });
  });
}
