// backup-status: follows the VM backups hostbridge started to their end (seed 003's "Backup
// Status"). A run with its UPID is followed by that UPID — whichever daemon started it — and on
// success its archive is recorded and the VM's oldest backups beyond the product's count removed;
// a run left `starting` by a daemon that died before storing the UPID is looked for in the node's
// task list and adopted, or started again when the node never ran it. Interval:
// scheduler.backup-status.interval_s (5 min).
import type { Knex } from 'knex';
import { errorMessage, TerminalError } from '../../common/errors.ts';
import { dbNow } from '../../db/connect.ts';
import { isUpid, parseUpid, type ProxmoxClient } from '../../drivers/proxmox/index.ts';
import { finishRun, liveVms, recordRunTask, runsIn, type BackupRun } from '../../services/vm-backups.ts';
import type { Job, JobContext, JobDeps } from '../scheduler.ts';
import { Clusters, DEFAULT_STALE_START_MS, DEFAULT_WAIT_MS, findStartedTask, followTask, locateServiceVm, type VmJobOptions } from './vm-backup-tasks.ts';

const tag = (r: BackupRun, whmcs?: number) => `${whmcs !== undefined ? `service ${whmcs} ` : ''}VM ${r.vmid} backup #${r.id}`;

/**
 * Starts vzdump of one VM to the run's storage and stores the UPID. Proxmox answers "OK" (no
 * task) when the VM is not on that node: the VM is found again and asked once more.
 */
export async function startVzdump(db: Knex, client: ProxmoxClient, run: BackupRun, whmcsServiceId: number, ctx: JobContext): Promise<string> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const at = await locateServiceVm(client, run.vmid, whmcsServiceId);
    if ('skip' in at) throw new TerminalError(at.skip);
    const data = await client.request<unknown>('POST', `/nodes/${encodeURIComponent(at.node)}/vzdump`, {
      vmid: String(run.vmid), storage: run.storage!, mode: 'snapshot', compress: 'zstd', 'notes-template': `hostbridge service ${whmcsServiceId} {{guestname}}`,
    });
    if (isUpid(data)) {
      await recordRunTask(db, run.id, at.node, data);
      ctx.log(`${tag(run, whmcsServiceId)}: vzdump started on ${at.node} to ${run.storage} (${data})`);
      return data;
    }
    ctx.log(`${tag(run, whmcsServiceId)}: ${at.node} answered ${JSON.stringify(data)?.slice(0, 40)} (the VM moved); looking for it again`);
  }
  throw new TerminalError(`vzdump of VM ${run.vmid} started no task: the VM is not on the node Proxmox lists it on`);
}

/** The VM's backups beyond `keep` on the storage, oldest first; protected ones are never removed. */
async function prune(client: ProxmoxClient, node: string, storage: string, vmid: number, keep: number, log: (l: string) => void): Promise<void> {
  const all = await client.listBackups(node, storage, vmid);
  let excess = all.length - keep;
  for (const b of all) {
    if (excess <= 0) break;
    if (b.protected) {
      log(`backup ${b.volid} is protected; kept`);
      continue;
    }
    await client.deleteVolume(node, storage, b.volid);
    log(`oldest backup ${b.volid} removed (the product keeps ${keep})`);
    excess--;
  }
}

/** Finds, adopts or restarts runs left `starting`, then follows every running backup until `until`. */
export async function followBackups(db: Knex, clusters: Clusters, ctx: JobContext, opts: VmJobOptions & { until: number; only?: Set<number> }): Promise<{ succeeded: number; failed: number; running: number }> {
  const out = { succeeded: 0, failed: 0, running: 0 };
  const vms = new Map((await liveVms(db)).map((v) => [v.serviceId, v]));
  const now = await dbNow(db);
  const stale = now - (opts.staleStartMs ?? DEFAULT_STALE_START_MS);
  for (const run of await runsIn(db, 'backup', ['starting'])) {
    if (opts.only && !opts.only.has(run.id)) continue;
    if ((run.startedAt ?? run.createdAt) > stale) continue;
    const vm = vms.get(run.serviceId);
    try {
      if (!vm) {
        if (await finishRun(db, run.id, 'failed', 'the service is no longer active; the backup was not started')) out.failed++;
        continue;
      }
      const { client } = await clusters.get(run.clusterId);
      const at = await locateServiceVm(client, run.vmid, vm.whmcsServiceId);
      if ('skip' in at) throw new TerminalError(at.skip);
      const found = await findStartedTask(client, at.node, 'vzdump', run.vmid, (run.startedAt ?? run.createdAt) / 1000 - 60);
      if (found) {
        await recordRunTask(db, run.id, parseUpid(found).node, found);
        ctx.log(`${tag(run, vm.whmcsServiceId)}: the vzdump a stopped daemon started was found (${found}); following it`);
      } else {
        ctx.log(`${tag(run, vm.whmcsServiceId)}: no vzdump of the VM since the run was claimed; starting it`);
        await startVzdump(db, client, run, vm.whmcsServiceId, ctx);
      }
    } catch (err) {
      if (err instanceof TerminalError) {
        if (await finishRun(db, run.id, 'failed', errorMessage(err))) out.failed++;
        ctx.log(`${tag(run, vm?.whmcsServiceId)}: failed: ${errorMessage(err)}`);
      } else {
        ctx.log(`${tag(run, vm?.whmcsServiceId)}: not started yet: ${errorMessage(err)}`);
      }
    }
  }
  for (const run of await runsIn(db, 'backup', ['running'])) {
    if (opts.only && !opts.only.has(run.id)) continue;
    const vm = vms.get(run.serviceId);
    const name = tag(run, vm?.whmcsServiceId);
    try {
      const { client } = await clusters.get(run.clusterId);
      const end = await followTask(client, run.upid!, opts.until);
      if (end.state === 'running' || end.state === 'unknown') {
        out.running++;
        ctx.log(`${name}: ${end.state === 'running' ? 'still running' : `status unknown (${end.why})`}; the next run follows ${run.upid}`);
        continue;
      }
      if (end.state === 'failed') {
        if (await finishRun(db, run.id, 'failed', `vzdump failed: ${end.exitstatus}`)) out.failed++;
        ctx.log(`${name}: vzdump failed: ${end.exitstatus}`);
        continue;
      }
      const node = run.node ?? parseUpid(run.upid!).node;
      const started = parseUpid(run.upid!).starttime;
      const archives = await client.listBackups(node, run.storage!, run.vmid);
      const made = [...archives].reverse().find((b) => (b.ctime ?? 0) >= started - 5) ?? null;
      // The product's count is kept after the new backup is safe; a product that no longer includes backups keeps the newest one.
      if (vm) await prune(client, node, run.storage!, run.vmid, Math.max(1, vm.backups), (l) => ctx.log(`${name}: ${l}`));
      if (await finishRun(db, run.id, 'succeeded', `backup finished (${end.exitstatus})${made ? `: ${made.volid}` : ''}`, made?.volid ?? null)) out.succeeded++;
      ctx.log(`${name}: finished${made ? `: ${made.volid}` : ''}`);
    } catch (err) {
      out.running++;
      ctx.log(`${name}: not recorded yet: ${errorMessage(err)}`);
    }
  }
  return out;
}

export function backupStatusJob({ db, masterKey }: Pick<JobDeps, 'db' | 'masterKey'>, opts: VmJobOptions = {}): Job {
  return {
    name: 'backup-status',
    describe: 'Follows running VM backups (vzdump) to their end, records the result and keeps the product\'s backup count',
    defaultIntervalS: 300,
    async run(ctx) {
      const clusters = new Clusters(db, masterKey);
      try {
        const r = await followBackups(db, clusters, ctx, { ...opts, until: Date.now() + (opts.waitMs ?? DEFAULT_WAIT_MS) });
        if (r.succeeded + r.failed + r.running === 0) return 'no backup running';
        return `${r.succeeded} backup(s) finished, ${r.failed} failed, ${r.running} still running`;
      } finally {
        await clusters.close();
      }
    },
  };
}
