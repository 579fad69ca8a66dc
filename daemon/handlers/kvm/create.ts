// The first steps of a VM (seed 003): its addresses from the pools, the clone of its template with
// a VMID chosen once and stored before the clone, and the offline move to the node the plan chose.
// Proxmox's nextid reserves nothing: the VMID is claimed in our table first (two daemons cannot
// both win it), then checked free on the cluster; a VM already holding it that is not ours is
// never touched, the next id is tried instead.
import type { TaskRegistry } from '../../engine/registry.ts';
import { RetryableError, TerminalError } from '../../common/errors.ts';
import { allocateAddresses } from '../../fleet/ip-pools.ts';
import { isAlreadyExists } from '../../drivers/proxmox/index.ts';
import { claimVmid, clearVmid, highestVmid, setVmNode } from '../../services/vm-store.ts';
import { registerStep } from './timed.ts';
import { ForeignVmError, loadVmService, locateVm, vmMarker, withCluster, type KvmDeps, type LoadedVmService, type LocatedVm } from './context.ts';
import type { ProxmoxClient } from '../../drivers/proxmox/index.ts';

/**
 * The service's VM if the cluster has it. A stored VMID that now holds someone else's VM (created
 * between our claim and our clone) is given back, and the next attempt chooses another.
 */
async function ownVm(deps: KvmDeps, client: ProxmoxClient, svc: LoadedVmService): Promise<LocatedVm | null> {
  try {
    return await locateVm(deps, client, svc);
  } catch (err) {
    if (!(err instanceof ForeignVmError)) throw err;
    await clearVmid(deps.db, svc.id, err.vmid);
    throw new RetryableError(`VMID ${err.vmid} was taken on the cluster by a VM that is not ours; another id is chosen on the next attempt`);
  }
}

/** How many ids a clone step tries before it gives up for this attempt (each taken by someone else). */
const VMID_TRIES = 20;

/** The engine's policy for the VM machines: no attempt limit (seed 003); the back-off and its cap are the settings' (retry.base_ms, retry.cap_ms). */
export const VM_POLICY = { maxAttempts: 0 } as const;

export function registerVmCreateHandlers(registry: TaskRegistry, deps: KvmDeps): void {
  registerStep(deps, registry, 'kvm.ip', 'Allocates the VM\'s IPv4 and IPv6 addresses from the pools of its cluster, bridge and VLAN.', async (ctx, a) => {
    const svc = await loadVmService(deps, ctx);
    const { spec, placement } = svc.plan;
    if (spec.ips.v4 + spec.ips.v6 === 0) return { addresses: [] };
    const got = await allocateAddresses(deps.db, svc.id, { clusterId: a.cluster, node: placement.targetNode, bridge: spec.network.bridge, vlan: spec.network.vlan }, { v4: spec.ips.v4, v6: spec.ips.v6 });
    for (const g of got) ctx.log(`IPv${g.family} ${g.ip}/${g.prefix} from pool ${g.poolName}${g.gateway ? `, gateway ${g.gateway}` : ''}`);
    return { addresses: got.map((g) => g.ip) };
  }, VM_POLICY);

  registerStep(deps, registry, 'kvm.clone', 'Clones the template into the service\'s VM under a VMID stored before the clone.', (ctx, a) => withCluster(deps, ctx, a.cluster, async (svc, client) => {
    const { plan } = svc;
    // Check: a VM made by an earlier attempt (its clone may still be running).
    const existing = await ownVm(deps, client, svc);
    if (existing) {
      if (existing.lock === 'clone') throw new RetryableError(`VM ${existing.vmid} is still being cloned on ${existing.node}`);
      ctx.log(`VM ${existing.vmid} exists on ${existing.node}: cloned by an earlier attempt`);
      return { vmid: existing.vmid, node: existing.node };
    }
    const vmid = svc.vm.vmid ?? await chooseVmid(deps, ctx, client, svc.id, a.cluster);
    const full = plan.spec.cloneMode === 'full';
    ctx.log(`cloning template ${plan.template.vmid} (${plan.template.slug}) on ${a.node} into VM ${vmid} (${full ? 'full' : 'linked'} clone)`);
    try {
      await client.clone(a.node, plan.template.vmid, {
        newid: vmid, name: plan.spec.hostname, description: vmMarker(plan), full,
        ...(full && plan.placement.systemStorage && plan.placement.targetNode === a.node ? { storage: plan.placement.systemStorage } : {}),
      });
    } catch (err) {
      // A VM of this id appeared between our check and the clone: ours (an earlier request whose
      // answer was lost) is adopted on the next attempt; anyone else's makes us take another id.
      if (isAlreadyExists(err)) {
        const mine = await ownVm(deps, client, { ...svc, vm: { ...svc.vm, vmid } });
        throw new RetryableError(mine ? `VM ${vmid} exists already, made by an earlier request of this service; it is taken over on the next attempt` : `VMID ${vmid} was taken while we cloned; another id is chosen on the next attempt`);
      }
      throw err;
    }
    // Verify: the VM is there, ours, on the template's node.
    const made = await locateVm(deps, client, { ...svc, vm: { ...svc.vm, vmid } });
    if (!made) throw new RetryableError(`the clone of VM ${vmid} finished but the cluster does not list it yet`);
    await setVmNode(deps.db, svc.id, made.node);
    ctx.log(`VM ${vmid} cloned on ${made.node}`);
    return { vmid, node: made.node };
  }), VM_POLICY);

  registerStep(deps, registry, 'kvm.migrate', 'Moves the VM offline to the node the plan chose, disks remapped to its storage.', (ctx, a) => withCluster(deps, ctx, a.cluster, async (svc, client) => {
    const vm = await locateVm(deps, client, svc);
    if (!vm) throw new TerminalError(`the VM of service ${svc.whmcsServiceId} does not exist yet: the clone step must run first`);
    if (vm.node === a.node) {
      ctx.log(vm.node === svc.plan.placement.cloneNode ? `skip (no change): the VM stays on ${vm.node} (${svc.plan.placement.reason})` : `the VM is on ${vm.node} already`);
      return { node: vm.node, moved: false };
    }
    if (vm.lock) throw new RetryableError(`VM ${vm.vmid} is locked (${vm.lock}); waiting before the move`);
    if (vm.status === 'running') throw new TerminalError(`VM ${vm.vmid} is running on ${vm.node}; the deployment moves it offline only`);
    const storage = svc.plan.placement.systemStorage;
    ctx.log(`moving VM ${vm.vmid} from ${vm.node} to ${a.node}${storage ? ` (disks to ${storage})` : ''}`);
    await client.migrate(vm.node, vm.vmid, { target: a.node, ...(storage ? { targetstorage: storage } : {}) });
    const after = await client.findVm(vm.vmid);
    if (after?.node !== a.node) throw new RetryableError(`VM ${vm.vmid} is on ${after?.node ?? 'no node'} after its move to ${a.node}`);
    await setVmNode(deps.db, svc.id, a.node);
    ctx.log(`VM ${vm.vmid} is on ${a.node}`);
    return { node: a.node, moved: true };
  }), VM_POLICY);
}

/**
 * A VMID for the service, stored before it is used: the cluster's next free id or one above the
 * highest we hold, claimed in our table (unique per cluster), then checked free on the cluster.
 */
async function chooseVmid(deps: KvmDeps, ctx: { log(line: string): void }, client: { nextId(vmid?: number): Promise<number | null> }, serviceId: number, clusterId: number): Promise<number> {
  let candidate = Math.max(Number(await client.nextId()), (await highestVmid(deps.db, clusterId)) + 1, 100);
  for (let i = 0; i < VMID_TRIES; i++, candidate++) {
    if (!(await claimVmid(deps.db, serviceId, candidate))) continue; // another service holds it
    let free: number | null;
    try {
      free = await client.nextId(candidate);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      free = null;
    }
    if (free === candidate) {
      ctx.log(`VMID ${candidate} chosen and stored`);
      return candidate;
    }
    // Proxmox has a VM of that id that we did not make: give it back and try the next.
    await clearVmid(deps.db, serviceId, candidate);
    ctx.log(`VMID ${candidate} is taken on the cluster by a VM that is not ours; trying ${candidate + 1}`);
  }
  throw new RetryableError(`no free VMID found in ${VMID_TRIES} tries from ${candidate - VMID_TRIES}`);
}
