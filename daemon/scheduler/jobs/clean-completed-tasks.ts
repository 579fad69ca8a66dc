// clean-completed-tasks: deletes finished tasks and their logs once they are older than the
// retention (queue.retention_days). Interval: scheduler.clean-completed-tasks.interval_s (1 h).
import type { Job, JobDeps } from '../scheduler.ts';
import { cleanCompleted } from '../../engine/sql/delete.ts';

export function cleanCompletedTasksJob({ queue, settings }: Pick<JobDeps, 'queue' | 'settings'>): Job {
  return {
    name: 'clean-completed-tasks',
    describe: 'Deletes finished tasks and their logs older than the retention period (queue.retention_days)',
    async run(ctx) {
      const days = Number(settings.get()['queue.retention_days']);
      const n = await cleanCompleted(queue, days * 86_400_000);
      ctx.log(`deleted ${n} finished task(s) older than ${days} day(s)`);
      return `deleted ${n} task(s)`;
    },
  };
}
