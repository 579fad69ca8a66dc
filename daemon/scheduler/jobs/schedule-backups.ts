// schedule-backup: backs up each VM on its backup days (seed 003's "Schedule Backup"; days set
// with PUT /v1/services/{id}/backup-days, in UTC). The day's run row is written first — its key
// `backup:<service>:<day>` is unique, so a second daemon, a rerun or an overlapping run finds it
// and starts nothing — then vzdump is started on the VM's node to the cluster's storage with the
// backups role, its UPID stored, and the task followed (backup-status finishes what this run does
// not). Interval: scheduler.schedule-backup.interval_s (1 h).
import { errorMessage, TerminalError } from '../../common/errors.ts';
import { dbNow } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import { claimScheduledBackup, finishRun, liveVms, utcDay, WEEKDAYS } from '../../services/vm-backups.ts';
import type { Job, JobDeps } from '../scheduler.ts';
import { followBackups, startVzdump } from './backup-status.ts';
import { backupStorage, Clusters, DEFAULT_WAIT_MS, locateServiceVm, type VmJobOptions } from './vm-backup-tasks.ts';

export function scheduleBackupsJob({ db, masterKey }: Pick<JobDeps, 'db' | 'masterKey'>, opts: VmJobOptions = {}): Job {
  return {
    name: 'schedule-backup',
    describe: 'Starts each VM\'s backup on its backup days, once per VM and day, keeping the product\'s backup count',
    defaultIntervalS: 3600,
    async run(ctx) {
      const until = Date.now() + (opts.waitMs ?? DEFAULT_WAIT_MS);
      const { day, weekday } = utcDay(await dbNow(db));
      const due = (await liveVms(db)).filter((v) => v.days.includes(weekday));
      if (due.length === 0) return `no VM is backed up on ${WEEKDAYS[weekday]}`;
      const done = new Set((await db(T.vmBackupRuns).whereIn('run_key', due.map((v) => `backup:${v.serviceId}:${day}`)).pluck('service_id')).map(Number));
      const clusters = new Clusters(db, masterKey);
      const started = new Set<number>();
      let skipped = 0;
      try {
        for (const vm of due) {
          const name = `service ${vm.whmcsServiceId} VM ${vm.vmid}`;
          if (done.has(vm.serviceId)) {
            skipped++;
            continue;
          }
          if (vm.backups <= 0) {
            ctx.log(`${name}: the product includes no backups; skipped`);
            continue;
          }
          try {
            const { client, cluster } = await clusters.get(vm.clusterId);
            const at = await locateServiceVm(client, vm.vmid, vm.whmcsServiceId);
            if ('skip' in at) {
              ctx.log(`${name}: ${at.skip}`);
              continue;
            }
            if (at.lock) {
              ctx.log(`${name}: the VM is locked (${at.lock}); the next run tries again`);
              continue;
            }
            const storage = backupStorage(cluster, at.node);
            if (!storage) {
              ctx.log(`${name}: no storage with the backups role on ${at.node} (cluster ${cluster.name}); give one that role`);
              continue;
            }
            const run = await claimScheduledBackup(db, { serviceId: vm.serviceId, day, clusterId: vm.clusterId, vmid: vm.vmid, node: at.node, storage });
            if (!run) {
              skipped++;
              ctx.log(`${name}: backed up today already, or a backup or restore of it runs; nothing started`);
              continue;
            }
            try {
              await startVzdump(db, client, run, vm.whmcsServiceId, ctx);
              started.add(run.id);
            } catch (err) {
              // A refusal ends the day's run; anything else leaves it `starting` for backup-status to find or start.
              if (err instanceof TerminalError) await finishRun(db, run.id, 'failed', errorMessage(err));
              ctx.log(`${name}: backup not started: ${errorMessage(err)}`);
            }
          } catch (err) {
            ctx.log(`${name}: ${errorMessage(err)}`);
          }
        }
        const r = started.size ? await followBackups(db, clusters, ctx, { ...opts, until, only: started }) : { succeeded: 0, failed: 0, running: 0 };
        return `${started.size} backup(s) started (${r.succeeded} finished, ${r.failed} failed, ${r.running} still running), ${skipped} already done today, of ${due.length} VM(s) due on ${WEEKDAYS[weekday]}`;
      } finally {
        await clusters.close();
      }
    },
  };
}
