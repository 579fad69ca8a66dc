// The VM's addresses in its WHMCS service (dedicatedip, assignedips): written once they are
// allocated, cleared once they are released. Without the WHMCS API configured the step says so and
// succeeds: the addresses are on the service's page in hostbridge either way.
import type { TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { serviceAddresses } from '../../fleet/ip-pools.ts';
import { serviceById } from '../../services/store.ts';
import { serviceIpFields, writeServiceIps } from '../../whmcs/service-ips.ts';
import { registerStep } from './timed.ts';
import type { KvmDeps } from './context.ts';
import { VM_POLICY } from './create.ts';

export function registerVmWhmcsHandlers(registry: TaskRegistry, deps: KvmDeps): void {
  registerStep(deps, registry, 'kvm.whmcs-ips', 'Writes the VM\'s addresses to its WHMCS service (dedicatedip, assignedips), or clears them.', async (ctx, a) => {
    // The service row only: after a terminate's release the VM row is gone.
    const svc = ctx.task.serviceId === null ? null : await serviceById(deps.db, ctx.task.serviceId);
    if (!svc) throw new TerminalError('kvm.whmcs-ips needs a service');
    const fields = a.clear ? { dedicatedip: '', assignedips: '' } : serviceIpFields(await serviceAddresses(deps.db, svc.id));
    const written = await writeServiceIps(deps.db, deps.masterKey, svc.whmcsServiceId, fields);
    if (!written) {
      ctx.log('the WHMCS API is not configured (Settings → WHMCS): the addresses are not written to the WHMCS service');
      return { written: false };
    }
    ctx.log(a.clear ? `WHMCS service ${svc.whmcsServiceId}: dedicated IP and assigned IPs cleared` : `WHMCS service ${svc.whmcsServiceId}: dedicated IP ${fields.dedicatedip || 'none'}, ${fields.assignedips.split('\n').filter(Boolean).length} assigned IP(s)`);
    return { written: true };
  }, VM_POLICY);
}
