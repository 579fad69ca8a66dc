// clean-completed-tasks: finished tasks (succeeded, failed, cancelled) older than the retention go,
// with their attempt logs; younger ones and unfinished ones stay, whatever their age.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { enqueueTasks } from '../../daemon/engine/chains.ts';
import { Scheduler } from '../../daemon/scheduler/scheduler.ts';
import { cleanCompletedTasksJob } from '../../daemon/scheduler/jobs/clean-completed-tasks.ts';
import { SettingsCache, writeSetting } from '../../daemon/settings/settings.ts';
import { T } from '../../daemon/common/tables.ts';
import { daemonQueue } from '../../daemon/runtime.ts';

const DAY = 86_400_000;

for (const dialect of DIALECTS) {
  describe(`clean-completed-tasks on ${dialect}`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDb(dialect);
    });
    after(async () => t.drop());

    /** One task per step, then each put in the state given, finished `ageDays` ago. */
    const seed = async (operation: string, rows: Array<{ step: string; status: string; ageDays: number }>) => {
      await enqueueTasks(t.db, operation, rows.map((r) => ({ step: r.step, type: 'test.any' })));
      const ids = new Map<string, number>();
      for (const r of rows) {
        const task = await t.db(T.tasks).where({ operation, step: r.step }).first('id');
        const at = Date.now() - r.ageDays * DAY;
        const finished = ['succeeded', 'failed', 'cancelled'].includes(r.status);
        await t.db(T.tasks).where('id', task.id).update({
          status: r.status, created_at: at, run_at: at, finished_at: finished ? at : null, ...(finished ? { active_key: null } : {}),
          ...(r.status === 'running' ? { owner: 'some-daemon', lease_until: Date.now() + 60_000, attempts: 1, started_at: at } : {}),
        });
        await t.db(T.attempts).insert({ task_id: task.id, attempt: 1, owner: 'some-daemon', started_at: at, finished_at: at, duration_ms: 1, result: r.status === 'succeeded' ? 'succeeded' : 'failed', output: 'a log line' });
        ids.set(r.step, Number(task.id));
      }
      return ids;
    };
    const left = async (operation: string) => (await t.db(T.tasks).where('operation', operation).orderBy('step').pluck('step')).sort();

    test('deletes only finished tasks older than queue.retention_days, with their logs', async () => {
      const ids = await seed('clean', [
        { step: 'old-succeeded', status: 'succeeded', ageDays: 40 },
        { step: 'old-failed', status: 'failed', ageDays: 31 },
        { step: 'old-cancelled', status: 'cancelled', ageDays: 400 },
        { step: 'young-succeeded', status: 'succeeded', ageDays: 29 },
        { step: 'old-queued', status: 'queued', ageDays: 90 },
        { step: 'old-running', status: 'running', ageDays: 90 },
      ]);
      const lines: string[] = [];
      const settings = new SettingsCache(t.db);
      const scheduler = new Scheduler(t.db, settings, 'test-daemon', [cleanCompletedTasksJob({ queue: daemonQueue(t.db), settings })]);
      const r = await scheduler.runNow('clean-completed-tasks', (l) => lines.push(l));
      assert.equal(r.result, 'ok', r.message);
      assert.equal(r.message, 'deleted 3 task(s)');
      assert.deepEqual(lines, ['clean-completed-tasks: deleted 3 finished task(s) older than 30 day(s)']);
      assert.deepEqual(await left('clean'), ['old-queued', 'old-running', 'young-succeeded']);
      const gone = ['old-succeeded', 'old-failed', 'old-cancelled'].map((s) => ids.get(s)!);
      assert.equal((await t.db(T.attempts).whereIn('task_id', gone)).length, 0, 'the attempt logs of deleted tasks go with them');
      assert.equal((await t.db(T.attempts).whereIn('task_id', [...ids.values()])).length, 3);
    });

    test('follows a changed retention', async () => {
      await t.db(T.attempts).delete();
      await t.db(T.tasks).delete();
      await seed('retention', [
        { step: 'three-days', status: 'succeeded', ageDays: 3 },
        { step: 'one-day', status: 'failed', ageDays: 1 },
      ]);
      await writeSetting(t.db, 'queue.retention_days', '2');
      const settings = new SettingsCache(t.db);
      await settings.refresh();
      const job = cleanCompletedTasksJob({ queue: daemonQueue(t.db), settings });
      assert.equal(await job.run({ log: () => {} }), 'deleted 1 task(s)');
      assert.deepEqual(await left('retention'), ['one-day']);
    });
  });
}
