// sync-usage: queues one usage.sync task per Hestia server that holds accounts; each task reads
// every account's usage on its server with one remote command. Interval: scheduler.sync-usage.interval_s (1 h).
import type { Job, JobDeps } from '../scheduler.ts';
import { enqueueTasks } from '../../engine/chains.ts';
import { plannedStep } from '../../pipelines/steps.ts';
import { T } from '../../common/tables.ts';

export function syncUsageJob({ db, onWork }: Pick<JobDeps, 'db' | 'onWork'>): Job {
  return {
    name: 'sync-usage',
    describe: 'Queues one usage.sync task per Hestia server that holds accounts (one remote command each, whatever the number of services)',
    defaultIntervalS: 3600,
    async run(ctx) {
      const servers = await db(`${T.holdings} as h`).join(`${T.servers} as s`, 's.id', 'h.server_id')
        .where('s.driver', 'hestiacp').whereIn('h.role', ['web', 'mail', 'all', 'dns']).distinct('h.server_id').pluck('h.server_id');
      if (servers.length === 0) return 'no server holds accounts yet';
      await enqueueTasks(db, 'usage', servers.map((id: number) => plannedStep('usage.sync', `usage.sync#${id}`, `server:${id}`, { server: Number(id) })));
      onWork();
      ctx.log(`queued usage.sync on ${servers.length} server(s)`);
      return `queued ${servers.length} usage sync task(s)`;
    },
  };
}
