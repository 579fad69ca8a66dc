// The end of a VM (seed 003, "Terminate Process"): its backups removed (best effort), the VM
// destroyed with purge — the one phase that can fail the terminate — and only once Proxmox no
// longer lists the VM, its addresses go back to the pools and its VMID stops being ours. A VMID
// that now holds someone else's VM is never destroyed (VMIDs are reused right after a destroy).
import type { TaskRegistry } from '../../engine/registry.ts';
import { RetryableError, TerminalError } from '../../common/errors.ts';
import { releaseServiceAddresses } from '../../fleet/ip-pools.ts';
import { deleteVmRow } from '../../services/vm-store.ts';
import { registerStep } from './timed.ts';
import { clusterClient, loadVmService, locateVm, skip, withCluster, type KvmDeps } from './context.ts';
import { VM_POLICY } from './create.ts';

export function registerVmTeardownHandlers(registry: TaskRegistry, deps: KvmDeps): void {
  registerStep(deps, registry, 'kvm.backups-delete', 'Removes the VM\'s backup archives from the node\'s backup storages (best effort).', (ctx, a) => withCluster(deps, ctx, a.cluster, async (svc, client) => {
    const vm = await locateVm(deps, client, svc);
    if (!vm) return skip(ctx, 'the service has no VM on the cluster');
    let removed = 0;
    let failed = 0;
    for (const st of await client.storages(vm.node, 'backup')) {
      try {
        for (const b of await client.listBackups(vm.node, st.storage, vm.vmid)) {
          try {
            await client.deleteVolume(vm.node, st.storage, b.volid);
            removed++;
            ctx.log(`backup ${b.volid} removed`);
          } catch (err) {
            failed++;
            ctx.log(`backup ${b.volid} not removed: ${(err as Error).message}`);
          }
        }
      } catch (err) {
        failed++;
        ctx.log(`backups on ${st.storage} not listed: ${(err as Error).message}`);
      }
    }
    if (!removed && !failed) ctx.log('the VM has no backups');
    return { removed, failed };
  }), VM_POLICY);

  registerStep(deps, registry, 'kvm.destroy', 'Destroys the VM with purge (stopped first) and checks the cluster no longer lists it.', (ctx, a) => withCluster(deps, ctx, a.cluster, async (svc, client) => {
    const vm = await locateVm(deps, client, svc);
    if (!vm) {
      ctx.log(svc.vm.vmid === null ? 'the service never had a VM' : `VM ${svc.vm.vmid} is gone from the cluster`);
      return { destroyed: false };
    }
    if (vm.status === 'running') {
      ctx.log(`VM ${vm.vmid} still runs: stopping it hard before the delete`);
      await client.stop(vm.node, vm.vmid, { timeout: 60 });
    }
    ctx.log(`destroying VM ${vm.vmid} on ${vm.node} (purge)`);
    await client.destroy(vm.node, vm.vmid, { purge: true, destroyUnreferencedDisks: true });
    if (await client.findVm(vm.vmid)) throw new RetryableError(`VM ${vm.vmid} is still listed after its delete`);
    ctx.log(`VM ${vm.vmid} destroyed`);
    return { destroyed: true };
  }), { ...VM_POLICY, maxAttempts: 3 });

  registerStep(deps, registry, 'kvm.release', 'Gives the VM\'s addresses back to their pools once Proxmox no longer lists the VM.', async (ctx, a) => {
    const svc = await loadVmService(deps, ctx);
    if (a.force) {
      if (svc.vm.vmid !== null) ctx.log(`force terminate: VM ${svc.vm.vmid} on ${svc.vm.node ?? 'its node'} is not checked; if it still exists it keeps running with addresses that may be handed out again — remove it on the cluster by hand`);
    } else if (svc.vm.vmid !== null) {
      const client = await clusterClient(deps, ctx, a.cluster);
      try {
        const found = await client.findVm(svc.vm.vmid);
        // Ours still there: the addresses stay allocated. Someone else's VM on a reused id: ours is gone.
        if (found && (await locateVm(deps, client, svc).catch((err) => { if (err instanceof TerminalError) return null; throw err; }))) {
          throw new TerminalError(`VM ${svc.vm.vmid} still exists on ${found.node}: its addresses stay allocated until it is gone`);
        }
      } finally {
        client.close();
      }
    }
    const n = await releaseServiceAddresses(deps.db, svc.id);
    await deleteVmRow(deps.db, svc.id);
    ctx.log(n ? `${n} address(es) returned to their pools` : 'the service held no addresses');
    return { released: n };
  }, VM_POLICY);
}
