// remove-snapshots: deletes the snapshots of hostbridge's VMs that are older than the snapshot
// lifetime (seed 003's "Remove Snapshots"; proxmox.snapshot_lifetime_days, 0 keeps them all). A
// snapshot's age is its snaptime; the `current` entry of the list is the VM itself, never a
// snapshot. The job lock keeps two daemons from deleting the same snapshot; a snapshot already
// gone when its delete runs is logged and skipped. Interval: scheduler.remove-snapshots.interval_s (1 h).
import { dbNow } from '../../db/connect.ts';
import { errorMessage } from '../../common/errors.ts';
import { liveVms } from '../../services/vm-backups.ts';
import type { Job, JobDeps } from '../scheduler.ts';
import { Clusters, DEFAULT_WAIT_MS, followTask, locateServiceVm, type VmJobOptions } from './vm-backup-tasks.ts';

interface Snapshot { name: string; snaptime?: number }

export function removeSnapshotsJob({ db, masterKey, settings }: Pick<JobDeps, 'db' | 'masterKey' | 'settings'>, opts: VmJobOptions = {}): Job {
  return {
    name: 'remove-snapshots',
    describe: 'Deletes VM snapshots older than the snapshot lifetime (proxmox.snapshot_lifetime_days)',
    defaultIntervalS: 3600,
    async run(ctx) {
      const days = Number(settings.get()['proxmox.snapshot_lifetime_days'] ?? 0);
      if (!(days > 0)) return 'the snapshot lifetime is 0: snapshots are kept';
      const vms = await liveVms(db);
      if (vms.length === 0) return 'no VMs';
      const cutoff = Math.floor((await dbNow(db)) / 1000) - days * 86_400;
      const until = Date.now() + (opts.waitMs ?? DEFAULT_WAIT_MS);
      const clusters = new Clusters(db, masterKey);
      let removed = 0;
      let failed = 0;
      try {
        for (const vm of vms) {
          const tag = `service ${vm.whmcsServiceId} VM ${vm.vmid}`;
          try {
            const { client } = await clusters.get(vm.clusterId);
            const at = await locateServiceVm(client, vm.vmid, vm.whmcsServiceId);
            if ('skip' in at) {
              ctx.log(`${tag}: ${at.skip}`);
              continue;
            }
            const list = await client.request<Snapshot[]>('GET', `/nodes/${encodeURIComponent(at.node)}/qemu/${vm.vmid}/snapshot`);
            const old = (Array.isArray(list) ? list : [])
              .filter((s) => s.name !== 'current' && typeof s.snaptime === 'number' && s.snaptime < cutoff)
              .sort((a, b) => Number(a.snaptime) - Number(b.snaptime));
            for (const s of old) {
              const age = `${new Date(Number(s.snaptime) * 1000).toISOString()}`;
              const upid = await client.startTask('DELETE', `/nodes/${encodeURIComponent(at.node)}/qemu/${vm.vmid}/snapshot/${encodeURIComponent(s.name)}`);
              const end = await followTask(client, upid, until);
              if (end.state === 'ok') {
                removed++;
                ctx.log(`${tag}: snapshot ${s.name} (taken ${age}) removed`);
              } else if (end.state === 'failed' && /does not exist/.test(end.exitstatus)) {
                ctx.log(`${tag}: snapshot ${s.name} was already gone`);
              } else {
                failed++;
                ctx.log(`${tag}: snapshot ${s.name} not removed: ${end.state === 'failed' ? end.exitstatus : end.state === 'running' ? `still being removed (${upid})` : end.why}`);
              }
            }
          } catch (err) {
            failed++;
            ctx.log(`${tag}: snapshots not checked: ${errorMessage(err)}`);
          }
        }
      } finally {
        await clusters.close();
      }
      return `${removed} snapshot(s) older than ${days} day(s) removed${failed ? `, ${failed} problem(s) (see the log)` : ''} on ${vms.length} VM(s)`;
    },
  };
}
