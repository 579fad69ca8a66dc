// Every scheduled job the daemon runs, in the order a scheduler pass runs them. A new job is a
// file of its own in this folder, listed here, with its interval setting in settings/settings.ts.
import type { Job, JobDeps } from '../scheduler.ts';
import { deliverTicketsJob } from './deliver-tickets.ts';
import { reapExpiredLeasesJob } from './reap-expired-leases.ts';
import { syncUsageJob } from './sync-usage.ts';
import { checkServersJob } from './check-servers.ts';
import { cleanCompletedTasksJob } from './clean-completed-tasks.ts';
import { proxmoxHealthJob } from './proxmox-health.ts';
import { processVmsJob } from './process-vms.ts';
import { removeSnapshotsJob } from './remove-snapshots.ts'; import { scheduleBackupsJob } from './schedule-backups.ts'; import { backupStatusJob } from './backup-status.ts'; import { restoreBackupsJob } from './restore-backups.ts';
import { collectStatisticsJob } from './collect-statistics.ts';
import { deliverEmailsJob } from './deliver-emails.ts';
import { pruneOperationLogJob } from './prune-operation-log.ts';
import { sslCheckJob } from './ssl-check.ts';
import { sslCustomExpiryJob } from './ssl-custom-expiry.ts';

export { recoverQueue } from './reap-expired-leases.ts';

export function scheduledJobs(deps: JobDeps): Job[] {
  return [
    deliverTicketsJob(deps),
    reapExpiredLeasesJob(deps),
    syncUsageJob(deps),
    checkServersJob(deps),
    cleanCompletedTasksJob(deps),
    proxmoxHealthJob(deps),
    processVmsJob(deps),
    removeSnapshotsJob(deps), scheduleBackupsJob(deps), backupStatusJob(deps), restoreBackupsJob(deps),
    collectStatisticsJob(deps),
    deliverEmailsJob(deps),
    pruneOperationLogJob(deps),
    sslCheckJob(deps),
    sslCustomExpiryJob(deps),
  ];
}
