// Power: start (a running VM is left alone, a paused one is resumed), verify that it runs and is
// not paused, and stop — an ACPI shutdown that falls back to a hard stop, or for a terminate the
// seed's windows: shut down for up to 120 s, then stop hard within 60 s more.
import type { TaskRegistry } from '../../engine/registry.ts';
import { RetryableError } from '../../common/errors.ts';
import { isAlreadyRunning } from '../../drivers/proxmox/index.ts';
import { registerStep } from './timed.ts';
import { locateVm, requireVm, skip, withCluster, type KvmDeps } from './context.ts';
import { VM_POLICY } from './create.ts';

export function registerVmPowerHandlers(registry: TaskRegistry, deps: KvmDeps): void {
  registerStep(deps, registry, 'kvm.start', 'Starts the VM (a running VM is left as it is, a paused one is resumed).', (ctx, a) => withCluster(deps, ctx, a.cluster, async (svc, client) => {
    const vm = await requireVm(deps, client, svc);
    const status = await client.vmStatus(vm.node, vm.vmid);
    if (status.status === 'running' && status.qmpstatus === 'paused') {
      // Proxmox says "running" for a paused VM (qm suspend, or stopped on an I/O error): its guest is frozen until resumed.
      await client.waitTask(await client.startTask('POST', `/nodes/${encodeURIComponent(vm.node)}/qemu/${vm.vmid}/status/resume`));
      ctx.log(`VM ${vm.vmid} was paused; resumed on ${vm.node}`);
      return { resumed: true };
    }
    if (status.status === 'running') return skip(ctx, `VM ${vm.vmid} is running`);
    try {
      await client.start(vm.node, vm.vmid);
    } catch (err) {
      if (!isAlreadyRunning(err)) throw err;
    }
    ctx.log(`VM ${vm.vmid} started on ${vm.node}`);
    return { started: true };
  }), VM_POLICY);

  registerStep(deps, registry, 'kvm.verify', 'Checks that the VM reports running, not paused.', (ctx, a) => withCluster(deps, ctx, a.cluster, async (svc, client) => {
    const vm = await requireVm(deps, client, svc);
    const status = await client.vmStatus(vm.node, vm.vmid);
    if (status.status !== 'running' || status.qmpstatus === 'paused') throw new RetryableError(`VM ${vm.vmid} reports ${status.status}${status.qmpstatus ? ` (${status.qmpstatus})` : ''}, not running yet`);
    ctx.log(`VM ${vm.vmid} is running on ${vm.node}`);
    return { running: true, node: vm.node };
    // Seed 003 waits a few ticks for the guest: a VM that does not come up after six checks fails the step, with a ticket.
  }), { ...VM_POLICY, maxAttempts: 6 });

  registerStep(deps, registry, 'kvm.stop', 'Stops the VM: a shutdown, then a hard stop if it does not go down.', (ctx, a) => withCluster(deps, ctx, a.cluster, async (svc, client) => {
    const vm = await locateVm(deps, client, svc);
    if (!vm) return skip(ctx, 'the service has no VM on the cluster');
    if (vm.lock) throw new RetryableError(`VM ${vm.vmid} is locked (${vm.lock}); waiting before it is stopped`);
    if ((await client.vmStatus(vm.node, vm.vmid)).status === 'stopped') return skip(ctx, `VM ${vm.vmid} is stopped`);
    const [graceful, hard] = a.force ? [120, 60] : [60, 30];
    try {
      ctx.log(`shutting VM ${vm.vmid} down (up to ${graceful} s)`);
      await client.shutdown(vm.node, vm.vmid, { timeout: graceful });
    } catch (err) {
      ctx.log(`the shutdown did not finish (${(err as Error).message}); stopping VM ${vm.vmid} hard`);
      await client.stop(vm.node, vm.vmid, { timeout: hard });
    }
    const after = await client.vmStatus(vm.node, vm.vmid);
    if (after.status !== 'stopped') throw new RetryableError(`VM ${vm.vmid} still reports ${after.status} after the stop`);
    ctx.log(`VM ${vm.vmid} is stopped`);
    return { stopped: true };
  }), VM_POLICY);
}
