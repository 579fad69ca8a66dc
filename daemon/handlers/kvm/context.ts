// What every VM step reads before it acts: its service's stored plan, the customer's password
// (unsealed, declared a secret of the attempt), the VM row, and a client for the service's
// cluster whose requests and task logs go to the attempt's log. The VM is looked for where the
// row says it is, and found again through the cluster when it has moved since.
import type { Knex } from 'knex';
import { decryptSecret } from '../../crypto/secretbox.ts';
import { RetryableError, TerminalError } from '../../common/errors.ts';
import type { TaskContext } from '../../engine/registry.ts';
import type { FleetAccess } from '../../fleet/access.ts';
import { proxmoxClient } from '../../fleet/proxmox-access.ts';
import type { ProxmoxClient } from '../../drivers/proxmox/index.ts';
import type { VmServicePlan } from '../../pipelines/vm-plan.ts';
import { serviceById } from '../../services/store.ts';
import { setVmNode, vmRecord, type VmRecord } from '../../services/vm-store.ts';

export interface KvmDeps {
  db: Knex;
  masterKey: Buffer;
  fleet: FleetAccess;
  /** How often a task's status is polled (ms); tests lower it. */
  pollMs?: number;
}

export interface LoadedVmService {
  id: number;
  whmcsServiceId: number;
  state: string;
  plan: VmServicePlan;
  password: string;
  vm: VmRecord;
}

/** The description every hostbridge VM carries: how a VMID found on the cluster is known to be ours. */
export function vmMarker(plan: VmServicePlan): string {
  return `hostbridge service ${plan.whmcsServiceId}`;
}

export async function loadVmService(deps: KvmDeps, ctx: TaskContext): Promise<LoadedVmService> {
  const id = ctx.task.serviceId;
  if (id === null) throw new TerminalError(`${ctx.task.type} needs a service`);
  const svc = await serviceById(deps.db, id);
  if (!svc) throw new TerminalError(`service row ${id} is gone`);
  if (!svc.vmPlan) throw new TerminalError(`service ${svc.whmcsServiceId} is not a KVM service (mode ${svc.mode})`);
  if (!svc.passwordSealed) throw new TerminalError(`service ${svc.whmcsServiceId} has no stored password`);
  const vm = await vmRecord(deps.db, id);
  if (!vm) throw new TerminalError(`service ${svc.whmcsServiceId} has no VM row`);
  const password = decryptSecret(deps.masterKey, svc.passwordSealed);
  ctx.secret(password);
  return { id, whmcsServiceId: svc.whmcsServiceId, state: svc.state, plan: svc.vmPlan, password, vm };
}

export async function clusterClient(deps: KvmDeps, ctx: TaskContext, clusterId: number): Promise<ProxmoxClient> {
  const { client } = await proxmoxClient(deps.db, deps.masterKey, clusterId, {
    log: (line) => ctx.log(line), secret: (v) => ctx.secret(v), ...(deps.pollMs ? { pollMs: deps.pollMs } : {}),
  });
  return client;
}

/** The VMID holds a VM that is not this service's (VMIDs are handed out again after a destroy): it is never touched. */
export class ForeignVmError extends TerminalError {
  constructor(readonly vmid: number, readonly node: string, marker: string) {
    super(`VMID ${vmid} on ${node} holds a VM that is not this service's (its description does not name ${marker}); nothing was changed on it`);
    this.name = 'ForeignVmError';
  }
}

/** The task's service and a client for its cluster, closed once `fn` is done. */
export async function withCluster<R>(deps: KvmDeps, ctx: TaskContext, cluster: number, fn: (svc: LoadedVmService, client: ProxmoxClient) => Promise<R>): Promise<R> {
  const svc = await loadVmService(deps, ctx);
  const client = await clusterClient(deps, ctx, cluster);
  try {
    return await fn(svc, client);
  } finally {
    client.close();
  }
}

export interface LocatedVm {
  vmid: number;
  node: string;
  status: string;
  lock: string | null;
}

/**
 * Where the service's VM is now, or null when the cluster has no VM of its VMID. A VM of that id
 * that is not ours (another description) is never touched: a TerminalError says so.
 */
export async function locateVm(deps: KvmDeps, client: ProxmoxClient, svc: LoadedVmService): Promise<LocatedVm | null> {
  const vmid = svc.vm.vmid;
  if (vmid === null) return null;
  const found = await client.findVm(vmid);
  if (!found) return null;
  const config = await client.vmConfig(found.node, vmid);
  const description = String(config.description ?? '');
  if (!description.includes(vmMarker(svc.plan))) throw new ForeignVmError(vmid, found.node, vmMarker(svc.plan));
  if (found.node !== svc.vm.node) await setVmNode(deps.db, svc.id, found.node);
  return { vmid, node: found.node, status: found.status, lock: found.lock ?? null };
}

/** The VM, which must exist by now (the clone step made it), unlocked. */
export async function requireVm(deps: KvmDeps, client: ProxmoxClient, svc: LoadedVmService): Promise<LocatedVm> {
  const vm = await locateVm(deps, client, svc);
  if (!vm) throw new TerminalError(`the VM of service ${svc.whmcsServiceId} (VMID ${svc.vm.vmid ?? 'not chosen yet'}) does not exist on the cluster; run Redeploy to create it again`);
  if (vm.lock) throw new RetryableError(`VM ${vm.vmid} is locked (${vm.lock}); waiting for Proxmox to finish`);
  return vm;
}

/** One line per step that had nothing to do, in the seed's words. */
export function skip(ctx: TaskContext, what: string): { skipped: true } {
  ctx.log(`skip (no change): ${what}`);
  return { skipped: true };
}
