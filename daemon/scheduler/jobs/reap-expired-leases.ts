// reap-expired-leases: the queue's recovery. Takes back tasks whose daemon died or stalled, frees
// their server slots and starts stalled chains. Interval: scheduler.reap-expired-leases.interval_s
// (15 s); every daemon also runs recoverQueue once at start-up.
import { promoteStalledChains, reapExpired, releaseOrphanSlots } from '../../engine/sql/reap.ts';
import { trimSlots } from '../../engine/sql/targets.ts';
import type { Queue } from '../../engine/queue.ts';
import type { TaskRow } from '../../engine/rows.ts';
import type { TaskRegistry } from '../../engine/registry.ts';
import type { SettingsCache } from '../../settings/settings.ts';
import type { Job, JobDeps } from '../scheduler.ts';

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

export function reapExpiredLeasesJob({ queue, registry, settings, onWork }: Pick<JobDeps, 'queue' | 'registry' | 'settings' | 'onWork'>): Job {
  return {
    name: 'reap-expired-leases',
    describe: 'Takes back tasks whose daemon stopped or stalled (expired lease), frees their server slots and restarts stalled chains',
    // Overlapping runs are safe, and a lock left by a daemon that died mid-run must not hold recovery back.
    exclusive: false,
    run: (ctx) => recoverQueue(queue, registry, settings, ctx, onWork),
  };
}
