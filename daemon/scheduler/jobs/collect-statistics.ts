// collect-statistics: adds each KVM service's network traffic since the last collection, from its
// VM's RRD data on the node it is on now, to the month's figures (GET /v1/usage, WHMCS metric
// billing). Interval: scheduler.collect-statistics.interval_s (1 h). Safe to run twice or from two
// daemons at once: every sample is counted once (services/vm-traffic.ts).
import type { Job, JobDeps } from '../scheduler.ts';
import { collectTraffic } from '../../services/vm-traffic.ts';

export function collectStatisticsJob({ db, masterKey }: Pick<JobDeps, 'db' | 'masterKey'>): Job {
  return {
    name: 'collect-statistics',
    describe: 'Adds each VM\'s network traffic (in and out) since the last run, from Proxmox\'s RRD data, to its monthly figures for usage billing',
    defaultIntervalS: 3600,
    async run(ctx) {
      const r = await collectTraffic(db, masterKey, ctx.log);
      if (r.vms === 0) return 'no VM to collect';
      return `traffic of ${r.vms} VM(s): ${r.updated} updated, ${r.vms - r.updated - r.raced - r.failed} unchanged${r.raced ? `, ${r.raced} already counted by another run` : ''}${r.failed ? `, ${r.failed} failed` : ''}`;
    },
  };
}
