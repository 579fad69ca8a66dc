// check-servers: queues one server.check task per active server (reachable or not, version, OS,
// load, uptime). Interval: scheduler.check-servers.interval_s (300 s).
import type { Job, JobDeps } from '../scheduler.ts';
import { enqueueTasks } from '../../engine/chains.ts';
import { plannedStep } from '../../pipelines/steps.ts';
import { T } from '../../common/tables.ts';

export function checkServersJob({ db, onWork }: Pick<JobDeps, 'db' | 'onWork'>): Job {
  return {
    name: 'check-servers',
    describe: 'Queues one server.check task per active server: reachable or not, version, OS, load, uptime',
    defaultIntervalS: 300,
    async run(ctx) {
      const servers = await db(T.servers).where('status', 'active').pluck('id');
      if (servers.length === 0) return 'no active servers';
      await enqueueTasks(db, 'health', servers.map((id: number) => plannedStep('server.check', `server.check#${id}`, `server:${id}`, { server: Number(id) })));
      onWork();
      ctx.log(`queued server.check on ${servers.length} server(s)`);
      return `queued ${servers.length} health check(s)`;
    },
  };
}
