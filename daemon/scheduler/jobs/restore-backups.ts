// restore-backup: runs the restores queued with POST /v1/services/{id}/backups/restore and follows
// them to their end (seed 003's "Restore Backup"). A queued run is claimed by one daemon (a
// conditional UPDATE), the VM is stopped, the archive restored over it (POST /nodes/{node}/qemu
// with archive and force: a `qmrestore` task) with the UPID stored before it is waited on, then the
// VM is started; the run's success and the customer's "Backup restored" e-mail are written in one
// transaction. A successor daemon follows the stored UPID, or — for a run left `starting` — finds
// the task in the node's task list before it would start one. Interval:
// scheduler.restore-backup.interval_s (5 min).
import type { Knex } from 'knex';
import { errorMessage, TerminalError } from '../../common/errors.ts';
import { dbNow } from '../../db/connect.ts';
import { parseUpid, type ProxmoxClient } from '../../drivers/proxmox/index.ts';
import { serviceById } from '../../services/store.ts';
import { claimQueuedRun, finishRun, recordRunTask, runsIn, type BackupRun } from '../../services/vm-backups.ts';
import { queueEmail } from '../../whmcs/email-outbox.ts';
import type { Job, JobContext, JobDeps } from '../scheduler.ts';
import { Clusters, DEFAULT_STALE_START_MS, DEFAULT_WAIT_MS, findStartedTask, followTask, locateServiceVm, type VmJobOptions } from './vm-backup-tasks.ts';

const tag = (r: BackupRun, whmcs?: number) => `${whmcs !== undefined ? `service ${whmcs} ` : ''}VM ${r.vmid} restore #${r.id}`;

/** Stops the VM and starts the restore of the run's archive over it; stores the UPID. */
async function startRestore(db: Knex, client: ProxmoxClient, run: BackupRun, whmcsServiceId: number, ctx: JobContext): Promise<void> {
  const name = tag(run, whmcsServiceId);
  const at = await locateServiceVm(client, run.vmid, whmcsServiceId);
  if ('skip' in at) throw new TerminalError(at.skip);
  const archives = await client.listBackups(at.node, run.storage!, run.vmid);
  if (!archives.some((b) => b.volid === run.volid)) throw new TerminalError(`the archive ${run.volid} is not among the VM's backups on ${run.storage} (seen from ${at.node})`);
  if (at.lock) throw new Error(`VM ${run.vmid} is locked (${at.lock}); the restore waits for Proxmox to finish`);
  if (at.status === 'running') {
    ctx.log(`${name}: stopping the VM`);
    await client.stop(at.node, run.vmid);
  }
  const upid = await client.startTask('POST', `/nodes/${encodeURIComponent(at.node)}/qemu`, { vmid: run.vmid, archive: run.volid!, force: 1 });
  await recordRunTask(db, run.id, at.node, upid);
  ctx.log(`${name}: restoring ${run.volid} on ${at.node} (${upid})`);
}

/**
 * After a restore: the VM started and seen running (a running VM is left alone) — unless the
 * service is suspended, whose VM stays stopped until Unsuspend.
 */
async function ensureRunning(client: ProxmoxClient, run: BackupRun, whmcsServiceId: number, suspended: boolean): Promise<string> {
  const at = await locateServiceVm(client, run.vmid, whmcsServiceId);
  if ('skip' in at) throw new TerminalError(at.skip);
  if (suspended) return `${at.node} (stopped: the service is suspended)`;
  if (at.status !== 'running') await client.start(at.node, run.vmid);
  const st = await client.vmStatus(at.node, run.vmid);
  if (st.status !== 'running') throw new Error(`VM ${run.vmid} is ${st.status} after its start`);
  return at.node;
}

export async function followRestores(db: Knex, clusters: Clusters, ctx: JobContext, opts: VmJobOptions & { until: number }): Promise<{ succeeded: number; failed: number; running: number; started: number }> {
  const out = { succeeded: 0, failed: 0, running: 0, started: 0 };
  const now = await dbNow(db);
  const stale = now - (opts.staleStartMs ?? DEFAULT_STALE_START_MS);
  const fail = async (r: BackupRun, why: string, whmcs?: number) => {
    if (await finishRun(db, r.id, 'failed', why)) out.failed++;
    ctx.log(`${tag(r, whmcs)}: failed: ${why}`);
  };

  // Queued restores, and ones a stopped daemon left between its claim and storing the UPID.
  const toStart: BackupRun[] = [];
  for (const r of await runsIn(db, 'restore', ['queued'])) if (await claimQueuedRun(db, r.id)) toStart.push(r);
  const stalled = (await runsIn(db, 'restore', ['starting'])).filter((r) => !toStart.some((s) => s.id === r.id) && (r.startedAt ?? r.createdAt) <= stale);
  for (const r of [...toStart, ...stalled]) {
    const svc = await serviceById(db, r.serviceId);
    const whmcs = svc?.whmcsServiceId;
    try {
      if (!svc || !['active', 'suspended'].includes(svc.state)) {
        await fail(r, `the service is ${svc?.state ?? 'gone'}; nothing was restored`, whmcs);
        continue;
      }
      const { client } = await clusters.get(r.clusterId);
      if (stalled.includes(r)) {
        const at = await locateServiceVm(client, r.vmid, svc.whmcsServiceId);
        if ('skip' in at) throw new TerminalError(at.skip);
        const found = await findStartedTask(client, at.node, 'qmrestore', r.vmid, (r.startedAt ?? r.createdAt) / 1000 - 60);
        if (found) {
          await recordRunTask(db, r.id, parseUpid(found).node, found);
          ctx.log(`${tag(r, whmcs)}: the restore a stopped daemon started was found (${found}); following it`);
          continue;
        }
      }
      await startRestore(db, client, r, svc.whmcsServiceId, ctx);
      out.started++;
    } catch (err) {
      if (err instanceof TerminalError) await fail(r, errorMessage(err), whmcs);
      else ctx.log(`${tag(r, whmcs)}: not started yet: ${errorMessage(err)}`);
    }
  }

  for (const r of await runsIn(db, 'restore', ['running'])) {
    const svc = await serviceById(db, r.serviceId);
    const whmcs = svc?.whmcsServiceId;
    const name = tag(r, whmcs);
    try {
      const { client } = await clusters.get(r.clusterId);
      const end = await followTask(client, r.upid!, opts.until);
      if (end.state === 'running' || end.state === 'unknown') {
        out.running++;
        ctx.log(`${name}: ${end.state === 'running' ? 'still running' : `status unknown (${end.why})`}; the next run follows ${r.upid}`);
        continue;
      }
      if (end.state === 'failed') {
        // The VM is started again as it was, if it still can be.
        if (svc) await ensureRunning(client, r, svc.whmcsServiceId, svc.state === 'suspended').catch((e) => ctx.log(`${name}: the VM was not started again: ${errorMessage(e)}`));
        await fail(r, `the restore failed: ${end.exitstatus}`, whmcs);
        continue;
      }
      if (!svc) {
        await fail(r, 'the service row is gone; the VM was restored but not started', whmcs);
        continue;
      }
      const node = await ensureRunning(client, r, svc.whmcsServiceId, svc.state === 'suspended');
      const plan = svc.vmPlan;
      const finishedAt = new Date(await dbNow(db)).toISOString();
      const ended = await db.transaction(async (trx) => {
        if (!(await finishRun(trx, r.id, 'succeeded', `restored ${r.volid} (${end.exitstatus}); the VM is on ${node}`))) return false;
        await queueEmail(trx, {
          whmcsServiceId: svc.whmcsServiceId, template: 'backup-restored', dedupeKey: `restore:${r.id}`,
          vars: { hostname: plan?.domain ?? '', vmid: String(r.vmid), backup_file: r.volid ?? '', restored_at: finishedAt },
        });
        return true;
      });
      if (ended) out.succeeded++;
      ctx.log(`${name}: ${r.volid} restored; the VM is on ${node}${ended ? '; "Backup restored" e-mail queued' : ''}`);
    } catch (err) {
      out.running++;
      ctx.log(`${name}: not finished yet: ${errorMessage(err)}`);
    }
  }
  return out;
}

export function restoreBackupsJob({ db, masterKey }: Pick<JobDeps, 'db' | 'masterKey'>, opts: VmJobOptions = {}): Job {
  return {
    name: 'restore-backup',
    describe: 'Starts queued VM restores and follows them to the end: the VM started, the result recorded, the "Backup restored" e-mail sent',
    defaultIntervalS: 300,
    async run(ctx) {
      const clusters = new Clusters(db, masterKey);
      try {
        const r = await followRestores(db, clusters, ctx, { ...opts, until: Date.now() + (opts.waitMs ?? DEFAULT_WAIT_MS) });
        if (r.started + r.succeeded + r.failed + r.running === 0) return 'no restore queued or running';
        return `${r.started} restore(s) started, ${r.succeeded} finished, ${r.failed} failed, ${r.running} still running`;
      } finally {
        await clusters.close();
      }
    },
  };
}
