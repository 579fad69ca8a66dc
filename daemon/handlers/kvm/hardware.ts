// The VM's hardware, one step per part in seed 003's order: CPU and RAM, the system disk's size
// and I/O limits, the additional disk (created, sized, limited), the NIC. Each step reads the VM's
// configuration first and acts only on a difference ("skip (no change)" otherwise), so the same
// steps serve the deployment and a package change. Disks only grow: a smaller size is skipped and
// said so, never an error.
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import { RetryableError, TerminalError } from '../../common/errors.ts';
import type { ProxmoxClient } from '../../drivers/proxmox/index.ts';
import type { KvmDiskPlan } from '../../pipelines/kvm-product.ts';
import { registerStep } from './timed.ts';
import { requireVm, skip, withCluster, type KvmDeps, type LoadedVmService, type LocatedVm } from './context.ts';
import { VM_POLICY } from './create.ts';
import {
  additionalDiskKey, formatProps, isDataDisk, limitChanges, nicChanges, parseProps, propValue, sizeGb, systemDiskKey, withProps,
} from './props.ts';

type Config = Record<string, string | number>;

interface OnVm {
  svc: LoadedVmService;
  client: ProxmoxClient;
  vm: LocatedVm;
  config: Config;
}

/** Loads the service, finds its VM (unlocked) and reads its configuration; the client is closed after `fn`. */
async function onVm<R>(deps: KvmDeps, ctx: TaskContext, cluster: number, fn: (v: OnVm) => Promise<R>): Promise<R> {
  return withCluster(deps, ctx, cluster, async (svc, client) => {
    const vm = await requireVm(deps, client, svc);
    return fn({ svc, client, vm, config: await client.vmConfig(vm.node, vm.vmid) });
  });
}

function systemKey(config: Config, vmid: number): string {
  const key = systemDiskKey(config);
  if (!key) throw new TerminalError(`VM ${vmid} has no system disk (its template has none): fix the template`);
  return key;
}

/**
 * The additional disk's slot: the first data disk after the system disk on its bus (what this step
 * made; the cloud-init drive and CD-ROMs do not count), else the first free slot there.
 */
function extraKey(config: Config, sysKey: string): { key: string; exists: boolean } {
  const bus = /^[a-z]+/.exec(sysKey)![0];
  for (let i = Number(sysKey.slice(bus.length)) + 1; i < 31; i++) {
    const value = config[`${bus}${i}`];
    if (typeof value === 'string' && isDataDisk(value)) return { key: `${bus}${i}`, exists: true };
  }
  return { key: additionalDiskKey(config, sysKey), exists: false };
}

async function growDisk(ctx: TaskContext, v: OnVm, key: string, want: number, what: string): Promise<unknown> {
  const drive = parseProps(String(v.config[key]));
  const have = sizeGb(propValue(drive, 'size'));
  if (have !== null && have >= want) {
    if (have > want) ctx.log(`skip: ${what} ${key} is ${have} GB, larger than the plan's ${want} GB (Proxmox cannot shrink a disk)`);
    else skip(ctx, `${what} ${key} is ${want} GB`);
    return { key, sizeGb: have, resized: false };
  }
  ctx.log(`growing ${what} ${key} from ${have ?? '?'} GB to ${want} GB`);
  await v.client.resize(v.vm.node, v.vm.vmid, key, `${want}G`);
  const after = sizeGb(propValue(parseProps(String((await v.client.vmConfig(v.vm.node, v.vm.vmid))[key] ?? '')), 'size'));
  if (after === null || after < want) throw new RetryableError(`${what} ${key} is ${after ?? '?'} GB after the resize to ${want} GB`);
  return { key, sizeGb: after, resized: true };
}

async function diskLimits(ctx: TaskContext, v: OnVm, key: string, spec: KvmDiskPlan, what: string): Promise<unknown> {
  const drive = parseProps(String(v.config[key]));
  const changes = limitChanges(drive, spec);
  if (Object.keys(changes).length === 0) return skip(ctx, `${what} ${key} I/O limits`);
  const value = formatProps(withProps(drive, changes));
  ctx.log(`${what} ${key} I/O limits: ${Object.entries(changes).map(([k, x]) => `${k}=${x ?? 'unlimited'}`).join(', ')}`);
  await v.client.updateConfig(v.vm.node, v.vm.vmid, { [key]: value });
  const after = parseProps(String((await v.client.vmConfig(v.vm.node, v.vm.vmid))[key] ?? ''));
  if (Object.keys(limitChanges(after, spec)).length) throw new RetryableError(`${what} ${key} does not show the new I/O limits yet`);
  return { key, changed: Object.keys(changes) };
}

export function registerVmHardwareHandlers(registry: TaskRegistry, deps: KvmDeps): void {
  registerStep(deps, registry, 'kvm.cpu-ram', 'Sets the VM\'s sockets, cores and memory (and balloon) from the plan.', (ctx, a) => onVm(deps, ctx, a.cluster, async (v) => {
    const s = v.svc.plan.spec;
    const want: Record<string, number> = { sockets: s.cpu.sockets, cores: s.cpu.cores, memory: s.memoryMb };
    if (s.balloonMb !== null) want.balloon = s.balloonMb;
    const have = (k: string, dflt: number) => (v.config[k] === undefined ? dflt : Number(String(v.config[k]).replace(/^current=/, '')));
    const defaults: Record<string, number> = { sockets: 1, cores: 1, memory: 512, balloon: s.memoryMb };
    const changed = Object.fromEntries(Object.entries(want).filter(([k, x]) => have(k, defaults[k]!) !== x));
    if (Object.keys(changed).length === 0) return skip(ctx, `${s.cpu.sockets} socket(s) × ${s.cpu.cores} core(s), ${s.memoryMb} MB`);
    ctx.log(`setting ${Object.entries(changed).map(([k, x]) => `${k}=${x}`).join(', ')}`);
    await v.client.updateConfig(v.vm.node, v.vm.vmid, changed);
    const after = await v.client.vmConfig(v.vm.node, v.vm.vmid);
    const wrong = Object.entries(changed).filter(([k, x]) => Number(String(after[k]).replace(/^current=/, '')) !== x);
    if (wrong.length) throw new RetryableError(`the VM's configuration still shows ${wrong.map(([k]) => `${k}=${after[k]}`).join(', ')}`);
    return { changed };
  }), VM_POLICY);

  registerStep(deps, registry, 'kvm.disk-size', 'Grows the system disk to the plan\'s size (never shrinks).', (ctx, a) => onVm(deps, ctx, a.cluster, (v) =>
    growDisk(ctx, v, systemKey(v.config, v.vm.vmid), v.svc.plan.spec.systemDisk.sizeGb, 'system disk')), VM_POLICY);

  registerStep(deps, registry, 'kvm.disk-io', 'Sets the system disk\'s iops and MB/s limits.', (ctx, a) => onVm(deps, ctx, a.cluster, (v) =>
    diskLimits(ctx, v, systemKey(v.config, v.vm.vmid), v.svc.plan.spec.systemDisk, 'system disk')), VM_POLICY);

  registerStep(deps, registry, 'kvm.extra-disk', 'Creates the additional disk on its storage when the VM has none.', (ctx, a) => onVm(deps, ctx, a.cluster, async (v) => {
    const extra = v.svc.plan.spec.additionalDisk;
    if (!extra) return skip(ctx, 'the plan has no additional disk');
    const sys = systemKey(v.config, v.vm.vmid);
    const slot = extraKey(v.config, sys);
    if (slot.exists) return skip(ctx, `the additional disk ${slot.key} exists`);
    const storage = v.svc.plan.placement.additionalStorage ?? extra.storage;
    if (!storage) throw new TerminalError('the plan names no storage for the additional disk and no storage of the cluster has the additional-disk role');
    ctx.log(`creating the additional disk ${slot.key}: ${extra.sizeGb} GB on ${storage}`);
    await v.client.updateConfig(v.vm.node, v.vm.vmid, { [slot.key]: `${storage}:${extra.sizeGb}` });
    const after = await v.client.vmConfig(v.vm.node, v.vm.vmid);
    if (typeof after[slot.key] !== 'string') throw new RetryableError(`the VM does not show the additional disk ${slot.key} yet`);
    return { key: slot.key, storage };
  }), VM_POLICY);

  registerStep(deps, registry, 'kvm.extra-disk-size', 'Grows the additional disk to the plan\'s size (never shrinks).', (ctx, a) => onVm(deps, ctx, a.cluster, async (v) => {
    const extra = v.svc.plan.spec.additionalDisk;
    if (!extra) return skip(ctx, 'the plan has no additional disk');
    const slot = extraKey(v.config, systemKey(v.config, v.vm.vmid));
    if (!slot.exists) throw new TerminalError('the VM has no additional disk: the step that creates it must run first');
    return growDisk(ctx, v, slot.key, extra.sizeGb, 'additional disk');
  }), VM_POLICY);

  registerStep(deps, registry, 'kvm.extra-disk-io', 'Sets the additional disk\'s iops and MB/s limits.', (ctx, a) => onVm(deps, ctx, a.cluster, async (v) => {
    const extra = v.svc.plan.spec.additionalDisk;
    if (!extra) return skip(ctx, 'the plan has no additional disk');
    const slot = extraKey(v.config, systemKey(v.config, v.vm.vmid));
    if (!slot.exists) throw new TerminalError('the VM has no additional disk: the step that creates it must run first');
    return diskLimits(ctx, v, slot.key, extra, 'additional disk');
  }), VM_POLICY);

  registerStep(deps, registry, 'kvm.network', 'Sets the NIC\'s bridge, VLAN tag and rate limit, with the firewall flag on (its MAC kept).', (ctx, a) => onVm(deps, ctx, a.cluster, async (v) => {
    const n = v.svc.plan.spec.network;
    const current = typeof v.config.net0 === 'string' ? parseProps(v.config.net0) : null;
    // A template without a NIC gets one; an existing NIC keeps its model and MAC (rewriting it without the MAC would make a new one).
    const nic = current ?? parseProps(n.model);
    const changes = nicChanges(nic, n);
    if (current && Object.keys(changes).length === 0) return skip(ctx, `net0 on ${n.bridge}${n.vlan !== null ? ` tag ${n.vlan}` : ''}`);
    const value = formatProps(withProps(nic, changes));
    ctx.log(`net0: ${value}`);
    await v.client.updateConfig(v.vm.node, v.vm.vmid, { net0: value });
    const after = await v.client.vmConfig(v.vm.node, v.vm.vmid);
    if (typeof after.net0 !== 'string' || Object.keys(nicChanges(parseProps(after.net0), n)).length) throw new RetryableError(`the VM's net0 reads "${String(after.net0)}" after the change`);
    return { net0: after.net0 };
  }), VM_POLICY);
}
