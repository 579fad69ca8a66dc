// The VM row of a KVM service (mod_hostbridge_vms): its cluster, its VMID and the node it is on.
// A VMID is stored before the clone that uses it and never chosen twice: the unique
// (cluster_id, vmid) key decides between two daemons, since Proxmox's nextid reserves nothing.
import type { Knex } from 'knex';
import { T } from '../common/tables.ts';
import { isUniqueViolation, nowMs } from '../db/connect.ts';

type Db = Knex | Knex.Transaction;
type Row = Record<string, any>;

export interface VmRecord {
  serviceId: number;
  clusterId: number;
  vmid: number | null;
  node: string | null;
}

const record = (r: Row): VmRecord => ({ serviceId: Number(r.service_id), clusterId: Number(r.cluster_id), vmid: r.vmid === null ? null : Number(r.vmid), node: r.node ?? null });

export async function vmRecord(db: Db, serviceId: number): Promise<VmRecord | null> {
  const r = await db(T.vms).where('service_id', serviceId).first();
  return r ? record(r) : null;
}

/** The service's VM row, written with its order: no VMID yet. An existing row keeps its VMID when it stays on its cluster. */
export async function writeVmRow(trx: Knex.Transaction, serviceId: number, clusterId: number): Promise<void> {
  const now = nowMs(trx);
  const had = await trx(T.vms).where('service_id', serviceId).first();
  if (!had) {
    await trx(T.vms).insert({ service_id: serviceId, cluster_id: clusterId, vmid: null, node: null, created_at: now, updated_at: now });
  } else if (Number(had.cluster_id) !== clusterId) {
    await trx(T.vms).where('service_id', serviceId).update({ cluster_id: clusterId, vmid: null, node: null, updated_at: now });
  }
}

/** The highest VMID hostbridge holds on a cluster (0 when none). */
export async function highestVmid(db: Db, clusterId: number): Promise<number> {
  const r = await db(T.vms).where('cluster_id', clusterId).max({ m: 'vmid' }).first();
  return r?.m === null || r?.m === undefined ? 0 : Number(r.m);
}

/**
 * Stores `vmid` as the service's VM id if the service has none and no other service holds it.
 * False when another service (of any daemon) took it first: try the next one.
 */
export async function claimVmid(db: Knex, serviceId: number, vmid: number): Promise<boolean> {
  try {
    const n = await db(T.vms).where('service_id', serviceId).whereNull('vmid').update({ vmid, updated_at: nowMs(db) });
    return n === 1;
  } catch (err) {
    if (isUniqueViolation(err)) return false;
    throw err;
  }
}

/** Gives a VMID back before anything was created with it (Proxmox already had a VM of that id). */
export async function clearVmid(db: Knex, serviceId: number, vmid: number): Promise<void> {
  await db(T.vms).where({ service_id: serviceId, vmid }).update({ vmid: null, node: null, updated_at: nowMs(db) });
}

export async function setVmNode(db: Knex, serviceId: number, node: string): Promise<void> {
  await db(T.vms).where('service_id', serviceId).update({ node, updated_at: nowMs(db) });
}

/** Once Proxmox confirmed the VM is gone: its VMID is no longer ours. */
export async function deleteVmRow(db: Db, serviceId: number): Promise<void> {
  await db(T.vms).where('service_id', serviceId).del();
}
