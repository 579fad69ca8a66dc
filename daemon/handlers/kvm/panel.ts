// The steps of the customer's VM panel (issue 16): a hard power-off, an ACPI shutdown without the
// hard-stop fallback, snapshots (take, roll back, delete) and deleting one of the VM's backups.
// Each reads first and does nothing when the work is done ("skip (no change)"), acts, then reads
// again to verify, so a step run twice — after a lost answer or a daemon's death — is harmless.
import type { TaskRegistry } from '../../engine/registry.ts';
import { RetryableError, TerminalError, errorMessage } from '../../common/errors.ts';
import { checkBackupVolid } from '../../pipelines/vm-panel-plan.ts';
import { registerStep } from './timed.ts';
import { locateVm, requireVm, skip, withCluster, type KvmDeps } from './context.ts';
import { VM_POLICY } from './create.ts';

/** How long the guest gets to shut down on the power button before the step gives up (seconds). */
const SHUTDOWN_S = 120;

export function registerVmPanelHandlers(registry: TaskRegistry, deps: KvmDeps): void {
  registerStep(deps, registry, 'kvm.power-off', 'Stops the VM at once, as pulling its power cord would (no shutdown first).', (ctx, a) => withCluster(deps, ctx, a.cluster, async (svc, client) => {
    const vm = await locateVm(deps, client, svc);
    // Nothing to stop (a reinstall run again after its destroy): as the deploy's own stop step does.
    if (!vm) return skip(ctx, 'the service has no VM on the cluster');
    if (vm.lock) throw new RetryableError(`VM ${vm.vmid} is locked (${vm.lock}); waiting before it is stopped`);
    if ((await client.vmStatus(vm.node, vm.vmid)).status === 'stopped') return skip(ctx, `VM ${vm.vmid} is stopped`);
    ctx.log(`stopping VM ${vm.vmid} on ${vm.node} (hard stop)`);
    await client.stop(vm.node, vm.vmid, { timeout: 60 });
    const after = await client.vmStatus(vm.node, vm.vmid);
    if (after.status !== 'stopped') throw new RetryableError(`VM ${vm.vmid} still reports ${after.status} after the stop`);
    ctx.log(`VM ${vm.vmid} is stopped`);
    return { stopped: true };
  }), VM_POLICY);

  registerStep(deps, registry, 'kvm.shutdown', `Asks the guest to shut down (ACPI) and waits up to ${SHUTDOWN_S} s; a guest that ignores it is left running, never stopped hard.`, (ctx, a) => withCluster(deps, ctx, a.cluster, async (svc, client) => {
    const vm = await locateVm(deps, client, svc);
    if (!vm) throw new TerminalError(`the VM of service ${svc.whmcsServiceId} does not exist on the cluster`);
    if (vm.lock) throw new RetryableError(`VM ${vm.vmid} is locked (${vm.lock}); waiting before it is shut down`);
    if ((await client.vmStatus(vm.node, vm.vmid)).status === 'stopped') return skip(ctx, `VM ${vm.vmid} is stopped`);
    ctx.log(`asking the guest of VM ${vm.vmid} to shut down (up to ${SHUTDOWN_S} s; no hard stop)`);
    try {
      await client.shutdown(vm.node, vm.vmid, { timeout: SHUTDOWN_S, forceStop: false });
    } catch (err) {
      const now = await client.vmStatus(vm.node, vm.vmid).catch(() => null);
      if (now?.status === 'running') {
        // Retrying would only ask the same guest again: the customer chooses Stop instead.
        throw new TerminalError(`the guest of VM ${vm.vmid} did not shut down (${errorMessage(err)}); it is still running — use Stop to power it off`);
      }
      if (now === null) throw err;
    }
    const after = await client.vmStatus(vm.node, vm.vmid);
    if (after.status !== 'stopped') throw new RetryableError(`VM ${vm.vmid} still reports ${after.status} after the shutdown`);
    ctx.log(`VM ${vm.vmid} is shut down`);
    return { stopped: true };
  }), { maxAttempts: 3 });

  registerStep(deps, registry, 'kvm.snapshot', 'Takes a snapshot of the VM under the customer\'s name, within the product\'s snapshot count.', (ctx, a) => withCluster(deps, ctx, a.cluster, async (svc, client) => {
    const vm = await requireVm(deps, client, svc);
    const have = await client.snapshots(vm.node, vm.vmid);
    if (have.some((s) => s.name === a.name)) return skip(ctx, `snapshot ${a.name} of VM ${vm.vmid} exists`);
    const limit = svc.plan.spec.snapshots;
    if (have.length >= limit) throw new TerminalError(`VM ${vm.vmid} has ${have.length} snapshot(s), the product allows ${limit}; snapshot ${a.name} was not taken`);
    ctx.log(`taking snapshot ${a.name} of VM ${vm.vmid} on ${vm.node}`);
    try {
      await client.createSnapshot(vm.node, vm.vmid, a.name, a.description ? { description: a.description } : {});
    } catch (err) {
      // An earlier attempt's snapshot finished after all: the name is taken by ours.
      if (!/already used/.test(errorMessage(err))) throw err;
    }
    if (!(await client.snapshots(vm.node, vm.vmid)).some((s) => s.name === a.name)) throw new RetryableError(`snapshot ${a.name} is not listed after it was taken`);
    ctx.log(`snapshot ${a.name} of VM ${vm.vmid} taken`);
    return { snapshot: a.name };
  }), { ...VM_POLICY, maxAttempts: 5 });

  registerStep(deps, registry, 'kvm.snapshot-rollback', 'Rolls the VM back to one of its snapshots.', (ctx, a) => withCluster(deps, ctx, a.cluster, async (svc, client) => {
    const vm = await requireVm(deps, client, svc);
    if (!(await client.snapshots(vm.node, vm.vmid)).some((s) => s.name === a.name)) throw new TerminalError(`VM ${vm.vmid} has no snapshot ${a.name} (deleted meanwhile?); nothing was rolled back`);
    // A rollback run again after a lost answer only returns to the same snapshot: safe to repeat.
    ctx.log(`rolling VM ${vm.vmid} back to snapshot ${a.name}`);
    await client.rollbackSnapshot(vm.node, vm.vmid, a.name);
    const parent = (await client.vmConfig(vm.node, vm.vmid)).parent;
    if (String(parent ?? '') !== a.name) throw new RetryableError(`VM ${vm.vmid} is based on ${parent ? `snapshot ${parent}` : 'no snapshot'} after the rollback to ${a.name}`);
    ctx.log(`VM ${vm.vmid} is back at snapshot ${a.name}`);
    return { rolledBack: a.name };
  }), { ...VM_POLICY, maxAttempts: 5 });

  registerStep(deps, registry, 'kvm.snapshot-delete', 'Deletes one of the VM\'s snapshots.', (ctx, a) => withCluster(deps, ctx, a.cluster, async (svc, client) => {
    const vm = await requireVm(deps, client, svc);
    if (!(await client.snapshots(vm.node, vm.vmid)).some((s) => s.name === a.name)) return skip(ctx, `VM ${vm.vmid} has no snapshot ${a.name}`);
    ctx.log(`deleting snapshot ${a.name} of VM ${vm.vmid}`);
    try {
      await client.deleteSnapshot(vm.node, vm.vmid, a.name);
    } catch (err) {
      if (!/does not exist/.test(errorMessage(err))) throw err;
    }
    if ((await client.snapshots(vm.node, vm.vmid)).some((s) => s.name === a.name)) throw new RetryableError(`snapshot ${a.name} is still listed after its delete`);
    ctx.log(`snapshot ${a.name} of VM ${vm.vmid} deleted`);
    return { deleted: a.name };
  }), { ...VM_POLICY, maxAttempts: 5 });

  registerStep(deps, registry, 'kvm.backup-delete', 'Deletes one of the VM\'s own backup archives.', (ctx, a) => withCluster(deps, ctx, a.cluster, async (svc, client) => {
    const vm = await locateVm(deps, client, svc);
    if (!vm) throw new TerminalError(`the VM of service ${svc.whmcsServiceId} does not exist on the cluster`);
    // Checked again here: the task's volid must name this VM, whoever queued it.
    let storage: string;
    try {
      storage = checkBackupVolid('volid', a.volid, vm.vmid).storage;
    } catch (err) {
      throw new TerminalError(errorMessage(err));
    }
    const found = (await client.listBackups(vm.node, storage, vm.vmid)).find((b) => b.volid === a.volid);
    if (!found) return skip(ctx, `backup ${a.volid} is not on ${storage}`);
    if (found.protected) throw new TerminalError(`backup ${a.volid} is protected on the cluster; it was not deleted`);
    ctx.log(`deleting backup ${a.volid}`);
    await client.deleteVolume(vm.node, storage, a.volid);
    if ((await client.listBackups(vm.node, storage, vm.vmid)).some((b) => b.volid === a.volid)) throw new RetryableError(`backup ${a.volid} is still listed after its delete`);
    ctx.log(`backup ${a.volid} deleted`);
    return { deleted: a.volid };
  }), { ...VM_POLICY, maxAttempts: 5 });
}
