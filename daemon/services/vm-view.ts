// The VM of a KVM service as its pages show it: what it is (host name, OS, profile, cluster, size),
// where it is (VMID, node) and its addresses. Database reads only: the power state is the one
// hostbridge last put it in (its chains), never asked of Proxmox while a page renders.
import type { Knex } from 'knex';
import { T } from '../common/tables.ts';
import { serviceAddresses } from '../fleet/ip-pools.ts';
import type { VmServicePlan } from '../pipelines/vm-plan.ts';
import { vmRecord } from './vm-store.ts';

export interface VmView {
  hostname: string;
  /** The OS template's slug (`debian-12`), and its label when the cluster still lists it. */
  os: string;
  os_label: string | null;
  profile: { id: number; name: string };
  cluster: { id: number; name: string | null };
  /** Null until the deploy machine chose it (before the clone). */
  vmid: number | null;
  /** The node the VM is on now; before the clone, null. */
  node: string | null;
  /** In words: not created yet, deploying, running, stopped, suspended (stopped), removed, … */
  state: string;
  cores: number;
  sockets: number;
  memory_mb: number;
  disks: Array<{ name: string; size_gb: number }>;
  addresses: Array<{ ip: string; family: 4 | 6; prefix: number; gateway: string | null }>;
}

/** Operations after which hostbridge left the VM running, or stopped. */
const LEAVES_RUNNING = ['deploy', 'redeploy', 'verify-repair', 'start', 'reboot', 'unsuspend', 'change-package', 'change-password', 'snapshot-rollback', 'reinstall'];
const LEAVES_STOPPED = ['stop', 'suspend', 'power-off', 'shutdown'];

/** The VM's state in words, from the service's state and the last chain that succeeded on it. */
function vmState(serviceState: string, vmid: number | null, lastSucceeded: string | null): string {
  if (serviceState === 'terminated') return 'removed';
  if (serviceState === 'suspended') return 'suspended (stopped)';
  if (serviceState === 'deploying') return vmid === null ? 'being created' : 'being deployed';
  if (serviceState === 'failed') return vmid === null ? 'not created (the deployment failed)' : 'deployment failed';
  if (vmid === null) return 'not created yet';
  if (lastSucceeded && LEAVES_STOPPED.includes(lastSucceeded)) return 'stopped';
  if (lastSucceeded && LEAVES_RUNNING.includes(lastSucceeded)) return 'running';
  return serviceState;
}

export async function vmView(db: Knex, serviceId: number, serviceState: string, plan: VmServicePlan): Promise<VmView> {
  const [vm, cluster, template, addresses, last] = await Promise.all([
    vmRecord(db, serviceId),
    db(T.pveClusters).where('id', plan.clusterId).first('name'),
    db(T.pveTemplates).where({ cluster_id: plan.clusterId, slug: plan.spec.os }).first('label'),
    serviceAddresses(db, serviceId),
    db(T.chains).where({ service_id: serviceId, state: 'succeeded' }).orderBy('id', 'desc').first('operation'),
  ]);
  const spec = plan.spec;
  const vmid = vm?.vmid ?? null;
  const disks = [{ name: 'system', size_gb: spec.systemDisk.sizeGb }];
  if (spec.additionalDisk) disks.push({ name: 'additional', size_gb: spec.additionalDisk.sizeGb });
  return {
    hostname: plan.domain, os: spec.os, os_label: template?.label ? String(template.label) : null,
    profile: { id: spec.profileId, name: spec.profileName },
    cluster: { id: plan.clusterId, name: cluster?.name ? String(cluster.name) : null },
    vmid, node: vm?.node ?? null,
    state: vmState(serviceState, vmid, last?.operation ? String(last.operation) : null),
    cores: spec.cpu.cores, sockets: spec.cpu.sockets, memory_mb: spec.memoryMb, disks,
    addresses: addresses.map((a) => ({ ip: a.ip, family: a.family, prefix: a.prefix, gateway: a.gateway })),
  };
}
