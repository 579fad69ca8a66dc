// proxmox-health: asks every Proxmox VE cluster, in turn, for its version, nodes (status, CPU,
// RAM, disk), storages, bridges and guests, and writes what it saw to the inventory (discovery
// and health in one pass). A cluster that does not answer is marked offline with the reason; one
// with a node down, degraded. The calls are read-only and short, so the job makes them itself
// rather than queueing tasks. Interval: scheduler.proxmox-health.interval_s (300 s, like check-servers).
import type { Job, JobDeps } from '../scheduler.ts';
import { syncAllClusters } from '../../fleet/proxmox-clusters.ts';

export function proxmoxHealthJob({ db, masterKey }: Pick<JobDeps, 'db' | 'masterKey'>): Job {
  return {
    name: 'proxmox-health',
    describe: 'Reads each Proxmox VE cluster: version, node status, CPU, RAM, storage use, VM count; finds new nodes, storages and bridges',
    defaultIntervalS: 300,
    async run(ctx) {
      const results = await syncAllClusters(db, masterKey, ctx.log);
      if (results.length === 0) return 'no Proxmox clusters';
      const count = (s: string) => results.filter((r) => r.status === s).length;
      return `checked ${results.length} cluster(s): ${count('online')} online, ${count('degraded')} degraded, ${count('offline')} offline`;
    },
  };
}
