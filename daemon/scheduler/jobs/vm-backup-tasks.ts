// What the VM backup and snapshot jobs share: one client per cluster for a job run, finding a
// service's VM (never touching a VMID that is not ours), the cluster's backup storage for a node,
// and following a Proxmox task by its UPID for a bounded time — a task still running is left to
// the next run, which follows the same UPID.
import type { Knex } from 'knex';
import { errorMessage } from '../../common/errors.ts';
import type { ProxmoxClient } from '../../drivers/proxmox/index.ts';
import { parseUpid } from '../../drivers/proxmox/index.ts';
import { proxmoxClient } from '../../fleet/proxmox-access.ts';
import type { ClusterView } from '../../fleet/proxmox-clusters.ts';

/** Knobs tests lower; the defaults suit a daemon. */
export interface VmJobOptions {
  /** Longest a job run waits on Proxmox tasks before leaving them to its next run (default 240 s). */
  waitMs?: number;
  /** A run left `starting` (no UPID stored) this long ago is looked for on the node, then started again (default 120 s). */
  staleStartMs?: number;
}

export const DEFAULT_WAIT_MS = 240_000;
export const DEFAULT_STALE_START_MS = 120_000;

/** Clients opened during one job run, one per cluster, closed together at its end. */
export class Clusters {
  private readonly open = new Map<number, Promise<{ client: ProxmoxClient; cluster: ClusterView }>>();
  constructor(private readonly db: Knex, private readonly masterKey: Buffer) {}

  get(clusterId: number): Promise<{ client: ProxmoxClient; cluster: ClusterView }> {
    let p = this.open.get(clusterId);
    if (!p) {
      p = proxmoxClient(this.db, this.masterKey, clusterId);
      this.open.set(clusterId, p);
      p.catch(() => this.open.delete(clusterId));
    }
    return p;
  }

  async close(): Promise<void> {
    for (const p of this.open.values()) {
      try {
        (await p).client.close();
      } catch {
        // a cluster that could not be opened has nothing to close
      }
    }
    this.open.clear();
  }
}

/**
 * The node the service's VM is on, or a reason it is not touched: the VMID is gone from the
 * cluster, or its description does not name the service (VMIDs are handed out again).
 */
export async function locateServiceVm(client: ProxmoxClient, vmid: number, whmcsServiceId: number): Promise<{ node: string; status: string; lock: string | null } | { skip: string }> {
  const found = await client.findVm(vmid);
  if (!found) return { skip: `VMID ${vmid} is not on the cluster` };
  const config = await client.vmConfig(found.node, vmid);
  if (!String(config.description ?? '').includes(`hostbridge service ${whmcsServiceId}`)) {
    return { skip: `VMID ${vmid} on ${found.node} is not service ${whmcsServiceId}'s VM (its description does not name it); left alone` };
  }
  return { node: found.node, status: found.status, lock: found.lock ?? null };
}

/** The first enabled storage with the backups role that the node sees (its own, or a shared one). */
export function backupStorage(cluster: ClusterView, node: string): string | null {
  const st = cluster.storages.find((s) => s.roles.backups && s.enabled && s.present !== false && (s.node === null || s.node === node));
  return st ? st.storage : null;
}

export type TaskEnd = { state: 'ok'; exitstatus: string } | { state: 'failed'; exitstatus: string } | { state: 'running' } | { state: 'unknown'; why: string };

/** One read of a task's status. */
export async function taskStatus(client: ProxmoxClient, upid: string): Promise<TaskEnd> {
  const { node } = parseUpid(upid);
  try {
    const s = await client.request<{ status?: string; exitstatus?: string }>('GET', `/nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}/status`);
    if (s?.status !== 'stopped') return { state: 'running' };
    const exit = String(s.exitstatus ?? '').trim();
    return exit === 'OK' || /^WARNINGS: \d+$/.test(exit) ? { state: 'ok', exitstatus: exit } : { state: 'failed', exitstatus: exit || 'the task stopped without an exit status' };
  } catch (err) {
    return { state: 'unknown', why: errorMessage(err) };
  }
}

/** Follows a task until it ends or `untilMs` (a Date.now() deadline) passes. */
export async function followTask(client: ProxmoxClient, upid: string, untilMs: number): Promise<TaskEnd> {
  const left = untilMs - Date.now();
  if (left > 0) {
    try {
      const r = await client.waitTask(upid, { timeoutMs: left });
      return { state: 'ok', exitstatus: r.exitstatus };
    } catch {
      // Read what became of it: a failed task, one still running, or a node that does not answer.
    }
  }
  return taskStatus(client, upid);
}

/** A task of `type` for the VM started on the node since `sinceSec`: what a daemon that died before storing the UPID had started. */
export async function findStartedTask(client: ProxmoxClient, node: string, type: string, vmid: number, sinceSec: number): Promise<string | null> {
  const list = await client.request<Array<{ upid?: string; starttime?: number }>>('GET', `/nodes/${encodeURIComponent(node)}/tasks`, {
    typefilter: type, vmid, source: 'all', since: Math.max(0, Math.floor(sinceSec)), limit: 50,
  });
  const hits = (Array.isArray(list) ? list : []).filter((t) => typeof t.upid === 'string').sort((a, b) => Number(a.starttime ?? 0) - Number(b.starttime ?? 0));
  return hits[0]?.upid ?? null;
}
