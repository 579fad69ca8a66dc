// The chains of a KVM service (seed 003), as pure functions of its stored plan: the deploy machine's
// fifteen steps, change package, terminate, suspend, unsuspend and the password. Each step acting
// on the VM runs on the Proxmox node it acts on ("pve:<cluster>:<node>", so the cluster's
// per-node limit holds across all daemons); DNS steps run on their DNS server. The VM's steps
// stay in the seed's order; only its DNS records, which need nothing but its name and addresses,
// are published beside the clone and never hold the deployment up.
import { plannedStep as step, type PlannedStep, type StepType } from './steps.ts';
import type { PlannedChain } from './plan.ts';
import type { VmPlacement } from './kvm-placement.ts';
import type { KvmPlan } from './kvm-product.ts';

/** What is stored with a KVM service (mod_hostbridge_services.params): never a secret. */
export interface VmServicePlan {
  kind: 'kvm';
  whmcsServiceId: number;
  /** The VM's host name: its forward DNS name. */
  domain: string;
  email: string;
  profileId: number;
  clusterId: number;
  template: { slug: string; vmid: number; node: string; storage: string | null };
  placement: VmPlacement;
  /** What the VM should be (from its profile and the order): every value a step compares with the VM before it acts. */
  spec: KvmPlan;
  /** The cloud-init user. */
  user: string;
  /** The DNS servers that get the VM's forward and reverse records, where they hold a matching zone. */
  dnsServers: number[];
}

export type VmOperation = 'deploy' | 'change-package' | 'terminate' | 'force-terminate' | 'suspend' | 'unsuspend' | 'change-password' | 'redeploy' | 'verify-repair'
  | 'start' | 'stop' | 'reboot';

export const pveTarget = (cluster: number, node: string) => `pve:${cluster}:${node}`;
const dnsTarget = (server: number) => `server:${server}`;

function on(plan: VmServicePlan, node: string) {
  return { target: pveTarget(plan.clusterId, node), args: { cluster: plan.clusterId, node } };
}

type VmStep = Exclude<StepType, 'kvm.ip' | 'kvm.dns' | 'kvm.dns-delete' | 'kvm.release' | 'kvm.stop'>;
const vmStep = (plan: VmServicePlan, type: VmStep, node: string, name: string = type.slice(4)): PlannedStep => {
  const t = on(plan, node);
  return step(type, name, t.target, t.args as never);
};

/** The hardware steps after the move, in the seed's order (the same steps apply a changed package). */
function configSteps(plan: VmServicePlan, node: string): PlannedStep[] {
  const steps: PlannedStep[] = [vmStep(plan, 'kvm.cpu-ram', node), vmStep(plan, 'kvm.disk-size', node), vmStep(plan, 'kvm.disk-io', node)];
  if (plan.spec.additionalDisk) steps.push(vmStep(plan, 'kvm.extra-disk', node), vmStep(plan, 'kvm.extra-disk-size', node), vmStep(plan, 'kvm.extra-disk-io', node));
  return steps;
}

/** Steps beside the VM's own: they need only its addresses, and the VM's steps never wait for them. */
const SIDE: ReadonlySet<StepType> = new Set(['kvm.dns', 'kvm.whmcs-ips']);

/** Each step waits for the one before it, except the side steps: after the addresses, beside the rest; the last step waits for them too. */
function sequence(steps: PlannedStep[]): PlannedStep[] {
  let prev: number | null = null;
  let ip: number | null = null;
  const dns: number[] = [];
  return steps.map((s, i) => {
    let deps: number[];
    if (SIDE.has(s.type)) {
      deps = ip !== null ? [ip] : prev !== null ? [prev] : [];
      dns.push(i);
    } else {
      deps = prev !== null ? [prev] : [];
      if (i === steps.length - 1) deps = [...new Set([...deps, ...dns])];
      prev = i;
    }
    if (s.type === 'kvm.ip') ip = i;
    return { ...s, dependsOn: deps.sort((a, b) => a - b) };
  });
}

function deploySteps(plan: VmServicePlan): PlannedStep[] {
  const { cloneNode, targetNode } = plan.placement;
  const steps: PlannedStep[] = [step('kvm.ip', 'ip', null, { cluster: plan.clusterId })];
  steps.push(vmStep(plan, 'kvm.clone', cloneNode));
  steps.push(step('kvm.whmcs-ips', 'whmcs-ips', null, { clear: false }));
  for (const server of plan.dnsServers) steps.push(step('kvm.dns', `dns.${server}`, dnsTarget(server), { server }));
  // The move is planned even when the nodes are the same: the step then only says so. Proxmox runs
  // the migration task on the node the VM leaves, so the step takes that node's slot; its `node`
  // argument is where the VM goes.
  steps.push({ ...vmStep(plan, 'kvm.migrate', targetNode), target: pveTarget(plan.clusterId, cloneNode) });
  steps.push(...configSteps(plan, targetNode));
  steps.push(vmStep(plan, 'kvm.network', targetNode), vmStep(plan, 'kvm.firewall', targetNode), vmStep(plan, 'kvm.cloudinit', targetNode));
  steps.push(vmStep(plan, 'kvm.start', targetNode), vmStep(plan, 'kvm.verify', targetNode));
  return steps;
}

function stop(plan: VmServicePlan, node: string, force: boolean, name = 'stop'): PlannedStep {
  const t = on(plan, node);
  return step('kvm.stop', name, t.target, { ...t.args, force });
}

function changePackageSteps(plan: VmServicePlan): PlannedStep[] {
  const node = plan.placement.targetNode;
  const steps: PlannedStep[] = [step('kvm.ip', 'ip', null, { cluster: plan.clusterId }), step('kvm.whmcs-ips', 'whmcs-ips', null, { clear: false })];
  for (const server of plan.dnsServers) steps.push(step('kvm.dns', `dns.${server}`, dnsTarget(server), { server }));
  steps.push(stop(plan, node, false));
  steps.push(...configSteps(plan, node));
  steps.push(vmStep(plan, 'kvm.network', node), vmStep(plan, 'kvm.firewall', node), vmStep(plan, 'kvm.start', node), vmStep(plan, 'kvm.verify', node));
  return steps;
}

function terminateSteps(plan: VmServicePlan): PlannedStep[] {
  const node = plan.placement.targetNode;
  const steps: PlannedStep[] = [stop(plan, node, true), vmStep(plan, 'kvm.backups-delete', node)];
  for (const server of plan.dnsServers) steps.push(step('kvm.dns-delete', `dns-delete.${server}`, dnsTarget(server), { server }));
  steps.push(vmStep(plan, 'kvm.destroy', node));
  // Only once Proxmox confirmed the VM is gone: the addresses are free for the next customer.
  steps.push(step('kvm.release', 'release', null, { cluster: plan.clusterId, force: false }));
  steps.push(step('kvm.whmcs-ips', 'whmcs-ips', null, { clear: true }));
  steps.push(step('service.close', 'service.close', null, { force: false }));
  return steps.map((s, i) => ({ ...s, dependsOn: i === 0 ? [] : [i - 1] }));
}

const only = (s: PlannedStep[]): PlannedStep[] => s.map((x, i) => ({ ...x, dependsOn: i === 0 ? [] : [i - 1] }));

/** Steps of an operation on a KVM service, with the service's state on success and on failure. */
export function planVmChain(op: VmOperation, plan: VmServicePlan): PlannedChain {
  const node = plan.placement.targetNode;
  switch (op) {
    case 'deploy':
    case 'verify-repair':
    case 'redeploy':
      return { steps: sequence(deploySteps(plan)), successState: 'active', failureState: 'failed' };
    case 'change-package':
      return { steps: sequence(changePackageSteps(plan)), successState: 'active', failureState: null };
    case 'terminate':
      return { steps: terminateSteps(plan), successState: 'terminated', failureState: 'error_terminate' };
    case 'force-terminate':
      // The admin's word that the VM is gone (seed 003's "Delete Record"): nothing is asked of the cluster.
      return {
        steps: only([step('kvm.release', 'release', null, { cluster: plan.clusterId, force: true }), step('kvm.whmcs-ips', 'whmcs-ips', null, { clear: true }), step('service.close', 'service.close', null, { force: true })]),
        successState: 'terminated', failureState: null,
      };
    case 'suspend':
      return { steps: only([stop(plan, node, false)]), successState: 'suspended', failureState: null };
    case 'unsuspend':
      return { steps: only([vmStep(plan, 'kvm.start', node), vmStep(plan, 'kvm.verify', node)]), successState: 'active', failureState: null };
    case 'start':
      return { steps: only([vmStep(plan, 'kvm.start', node), vmStep(plan, 'kvm.verify', node)]), successState: null, failureState: null };
    case 'stop':
      return { steps: only([stop(plan, node, false)]), successState: null, failureState: null };
    case 'reboot':
      return { steps: only([stop(plan, node, false), vmStep(plan, 'kvm.start', node), vmStep(plan, 'kvm.verify', node)]), successState: null, failureState: null };
    case 'change-password':
      // cloud-init sets it at the VM's next boot, suspended or not: the step says so in its log.
      return { steps: only([vmStep(plan, 'kvm.password', node)]), successState: null, failureState: null };
  }
}
