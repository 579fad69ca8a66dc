// The task types of a KVM service's VM (pipelines/vm-plan.ts plans them): creation, hardware,
// guest setup, power, DNS and teardown.
import type { TaskRegistry } from '../../engine/registry.ts';
import type { KvmDeps } from './context.ts';
import { registerVmCreateHandlers } from './create.ts';
import { registerVmHardwareHandlers } from './hardware.ts';
import { registerVmGuestHandlers } from './guest.ts';
import { registerVmPowerHandlers } from './power.ts';
import { registerVmDnsHandlers } from './dns.ts';
import { registerVmTeardownHandlers } from './teardown.ts';
import { registerVmWhmcsHandlers } from './whmcs.ts';
import { registerVmPanelHandlers } from './panel.ts';
import { registerVmExtrasHandlers } from './extras.ts';

export type { KvmDeps } from './context.ts';

export function registerKvmHandlers(registry: TaskRegistry, deps: KvmDeps): TaskRegistry {
  registerVmCreateHandlers(registry, deps);
  registerVmHardwareHandlers(registry, deps);
  registerVmGuestHandlers(registry, deps);
  registerVmPowerHandlers(registry, deps);
  registerVmDnsHandlers(registry, deps);
  registerVmTeardownHandlers(registry, deps);
  registerVmWhmcsHandlers(registry, deps);
  registerVmPanelHandlers(registry, deps);
  registerVmExtrasHandlers(registry, deps);
  return registry;
}
