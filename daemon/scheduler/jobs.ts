// The engine's own recurring jobs. Later features (ticket delivery, usage sync) add theirs.
import { enqueueTasks } from '../engine/chains.ts';
import { cleanCompleted } from '../engine/sql/delete.ts';
import { promoteStalledChains, reapExpired, releaseOrphanSlots } from '../engine/sql/reap.ts';
import { trimSlots } from '../engine/sql/targets.ts';
import type { Queue } from '../engine/queue.ts';
import type { TaskRow } from '../engine/rows.ts';
import type { TaskRegistry } from '../engine/registry.ts';
import type { SettingsCache } from '../settings/settings.ts';
import type { Job } from './scheduler.ts';
import { deliverTickets } from '../whmcs/ticket-delivery.ts';
import { T } from '../common/tables.ts';

/**
 * Takes back expired leases, frees orphaned slots and starts stalled chains. Safe to run from
 * several daemons at once (row locks and fenced updates), so a daemon also runs it at start-up.
 */
export async function recoverQueue(queue: Queue, registry: TaskRegistry, settings: SettingsCache, ctx: { log(line: string): void }, onWork: () => void): Promise<string> {
  let requeued = 0;
  let failed = 0;
  const policyFor = (row: TaskRow) => registry.policyFor(row.type, settings.retryPolicy(), row.max_attempts);
  for (;;) {
    const r = await reapExpired(queue, policyFor);
    requeued += r.requeued;
    failed += r.failed;
    if (r.requeued + r.failed < 200) break;
  }
  if (requeued || failed) ctx.log(`took back ${requeued} task(s) for retry, failed ${failed} out of attempts`);
  const slots = await releaseOrphanSlots(queue.db);
  if (slots) ctx.log(`freed ${slots} orphaned server slot(s)`);
  const trimmed = await trimSlots(queue.db);
  if (trimmed) ctx.log(`removed ${trimmed} slot(s) above lowered limits`);
  const chains = await promoteStalledChains(queue.db);
  if (chains) ctx.log(`started ${chains} waiting chain(s)`);
  if (requeued || chains || slots) onWork();
  return `requeued ${requeued}, failed ${failed}, freed ${slots} slot(s), started ${chains} chain(s)`;
}

export function engineJobs(queue: Queue, registry: TaskRegistry, settings: SettingsCache, masterKey: Buffer, onWork: () => void): Job[] {
  const { db } = queue;
  return [
    {
      name: 'deliver-tickets',
      describe: 'Sends failure tickets and notes from the outbox to WHMCS (OpenTicket, AddTicketNote), with back-off while WHMCS is unreachable',
      defaultIntervalS: 30,
      async run(ctx) {
        const r = await deliverTickets(db, settings, masterKey, ctx.log);
        if (settings.get()['tickets.enabled'] !== 'true') return `ticket delivery is off (tickets.enabled); ${r.pending} pending`;
        return `opened ${r.opened} ticket(s), added ${r.noted} note(s), ${r.failed} not delivered, ${r.pending} pending`;
      },
    },
    {
      name: 'reap-expired-leases',
      describe: 'Takes back tasks whose daemon stopped or stalled (expired lease), frees their server slots and restarts stalled chains',
      exclusive: false,
      run: (ctx) => recoverQueue(queue, registry, settings, ctx, onWork),
    },
    {
      name: 'sync-usage',
      describe: 'Queues one usage.sync task per Hestia server that holds accounts (one remote command each, whatever the number of services)',
      defaultIntervalS: 3600,
      async run(ctx) {
        const servers = await db(`${T.holdings} as h`).join(`${T.servers} as s`, 's.id', 'h.server_id')
          .where('s.driver', 'hestiacp').whereIn('h.role', ['web', 'mail', 'all', 'dns']).distinct('h.server_id').pluck('h.server_id');
        if (servers.length === 0) return 'no server holds accounts yet';
        await enqueueTasks(db, 'usage', servers.map((id: number) => ({ step: `usage.sync#${id}`, type: 'usage.sync', target: `server:${id}`, args: { server: Number(id) } })));
        onWork();
        ctx.log(`queued usage.sync on ${servers.length} server(s)`);
        return `queued ${servers.length} usage sync task(s)`;
      },
    },
    {
      name: 'check-servers',
      describe: 'Queues one server.check task per active server: reachable or not, version, OS, load, uptime',
      defaultIntervalS: 300,
      async run(ctx) {
        const servers = await db(T.servers).where('status', 'active').pluck('id');
        if (servers.length === 0) return 'no active servers';
        await enqueueTasks(db, 'health', servers.map((id: number) => ({ step: `server.check#${id}`, type: 'server.check', target: `server:${id}`, args: { server: Number(id) } })));
        onWork();
        ctx.log(`queued server.check on ${servers.length} server(s)`);
        return `queued ${servers.length} health check(s)`;
      },
    },
    {
      name: 'clean-completed-tasks',
      describe: 'Deletes finished tasks and their logs older than the retention period (queue.retention_days)',
      async run(ctx) {
        const days = Number(settings.get()['queue.retention_days']);
        const n = await cleanCompleted(queue, days * 86_400_000);
        ctx.log(`deleted ${n} finished task(s) older than ${days} day(s)`);
        return `deleted ${n} task(s)`;
      },
    },
  ];
}
