// prune-operation-log: deletes Operation Log entries older than its own retention
// (oplog.retention_days, 365 days by default), a thousand rows per transaction. The log is kept
// apart from the queue: clean-completed-tasks never touches it, and this job touches nothing else.
// Interval: scheduler.prune-operation-log.interval_s (1 h).
import type { Job, JobDeps } from '../scheduler.ts';
import { pruneOperationLog } from '../../engine/sql/oplog.ts';

export function pruneOperationLogJob({ db, settings }: Pick<JobDeps, 'db' | 'settings'>): Job {
  return {
    name: 'prune-operation-log',
    describe: 'Deletes Operation Log entries older than its retention period (oplog.retention_days)',
    defaultIntervalS: 3600,
    async run(ctx) {
      const days = Number(settings.get()['oplog.retention_days']);
      const n = await pruneOperationLog(db, days * 86_400_000);
      ctx.log(`deleted ${n} Operation Log entr${n === 1 ? 'y' : 'ies'} older than ${days} day(s)`);
      return `deleted ${n} entr${n === 1 ? 'y' : 'ies'}`;
    },
  };
}
