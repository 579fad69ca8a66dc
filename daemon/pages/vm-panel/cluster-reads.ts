// What the customer's panel reads from Proxmox while it renders: the VM's live status, its snapshots,
// its backup archives and its RRD series. One client per panel request, through the cluster's
// pinned access (fleet/proxmox-access.ts), each read bounded in time: a cluster that does not
// answer makes that box say "cannot be read right now", never a failed page.
import type { Knex } from 'knex';
import { errorMessage } from '../../common/errors.ts';
import type { ProxmoxClient, PveBackup, PveVmStatus } from '../../drivers/proxmox/index.ts';
import { proxmoxClient } from '../../fleet/proxmox-access.ts';
import type { ClusterView } from '../../fleet/proxmox-clusters.ts';
import { backupStorage } from '../../scheduler/jobs/vm-backup-tasks.ts';

/** Longest the panel waits on one Proxmox read (the module's whole call has 10 s). */
export const READ_TIMEOUT_MS = 3500;

/** A read's answer, or why it has none (shown to the customer as "cannot be read right now"). */
export type Read<T> = { ok: true; value: T } | { ok: false; why: string };

export interface Snapshot { name: string; description: string; snaptime: number | null; parent: string | null }
export interface RrdPoint { time: number; [key: string]: number }

function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The VM of one service on its cluster, opened once for the reads of one panel request. */
export class VmReads {
  private opened: Promise<{ client: ProxmoxClient; cluster: ClusterView; node: string }> | null = null;

  constructor(private readonly db: Knex, private readonly masterKey: Buffer, private readonly at: { clusterId: number; vmid: number; node: string | null }) {}

  /** The client and the node the VM is on now (the cluster's resources say; the VM row may lag a move). */
  private open() {
    this.opened ??= (async () => {
      const { client, cluster } = await bounded(proxmoxClient(this.db, this.masterKey, this.at.clusterId), READ_TIMEOUT_MS);
      try {
        const found = await bounded(client.findVm(this.at.vmid), READ_TIMEOUT_MS);
        if (!found) throw new Error(`VM ${this.at.vmid} is not on the cluster`);
        return { client, cluster, node: found.node };
      } catch (err) {
        client.close();
        throw err;
      }
    })();
    return this.opened;
  }

  private async read<T>(fn: (c: { client: ProxmoxClient; cluster: ClusterView; node: string }) => Promise<T>): Promise<Read<T>> {
    try {
      const c = await this.open();
      return { ok: true, value: await bounded(fn(c), READ_TIMEOUT_MS) };
    } catch (err) {
      return { ok: false, why: errorMessage(err) };
    }
  }

  status(): Promise<Read<PveVmStatus>> {
    return this.read(({ client, node }) => client.vmStatus(node, this.at.vmid));
  }

  /** The snapshots, oldest first; Proxmox's `current` entry (the VM itself) is not one. */
  snapshots(): Promise<Read<Snapshot[]>> {
    return this.read(async ({ client, node }) => {
      const raw = await client.request<unknown>('GET', `/nodes/${encodeURIComponent(node)}/qemu/${this.at.vmid}/snapshot`);
      return (Array.isArray(raw) ? raw : [])
        .filter((s): s is Record<string, unknown> => typeof s === 'object' && s !== null && typeof (s as { name?: unknown }).name === 'string' && (s as { name: string }).name !== 'current')
        .map((s) => ({
          name: String(s.name), description: typeof s.description === 'string' ? s.description : '',
          snaptime: Number.isFinite(Number(s.snaptime)) ? Number(s.snaptime) : null, parent: typeof s.parent === 'string' ? s.parent : null,
        }))
        .sort((a, b) => (a.snaptime ?? 0) - (b.snaptime ?? 0));
    });
  }

  /** The VM's backup archives on the cluster's backup storage for its node, newest first. */
  backups(): Promise<Read<{ storage: string | null; archives: PveBackup[] }>> {
    return this.read(async ({ client, cluster, node }) => {
      const storage = backupStorage(cluster, node);
      if (!storage) return { storage: null, archives: [] };
      const archives = await client.listBackups(node, storage, this.at.vmid);
      return { storage, archives: [...archives].sort((a, b) => (b.ctime ?? 0) - (a.ctime ?? 0)) };
    });
  }

  /** The RRD series of a timeframe (AVERAGE), samples in time order with their numeric keys. */
  rrd(timeframe: string): Promise<Read<RrdPoint[]>> {
    return this.read(async ({ client, node }) => {
      const raw = await client.request<unknown>('GET', `/nodes/${encodeURIComponent(node)}/qemu/${this.at.vmid}/rrddata`, { timeframe, cf: 'AVERAGE' });
      const out: RrdPoint[] = [];
      for (const s of Array.isArray(raw) ? raw : []) {
        if (typeof s !== 'object' || s === null || !Number.isFinite(Number((s as { time?: unknown }).time))) continue;
        const p: RrdPoint = { time: Number((s as { time: unknown }).time) };
        for (const [k, v] of Object.entries(s as Record<string, unknown>)) if (k !== 'time' && typeof v === 'number' && Number.isFinite(v)) p[k] = v;
        out.push(p);
      }
      return out.sort((a, b) => a.time - b.time);
    });
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    try {
      (await this.opened).client.close();
    } catch {
      // nothing was opened
    }
  }
}
