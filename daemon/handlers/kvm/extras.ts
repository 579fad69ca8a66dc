// The customer panel's steps on the VM (issue 16): its CD-ROM drive holds the ISO the customer
// chose (or nothing), and its firewall rules equal the list the customer keeps. Each step reads
// what the daemon keeps (services/vm-network-store.ts), compares it with the VM, changes only what
// differs and reads the VM again to confirm: run twice, the second run changes nothing.
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import { RetryableError, TerminalError } from '../../common/errors.ts';
import type { ProxmoxClient } from '../../drivers/proxmox/index.ts';
import { ruleParams, sameRule, type WantedRule } from '../../pipelines/vm-extras-plan.ts';
import { wantedIso, wantedRules } from '../../services/vm-network-store.ts';
import { registerStep } from './timed.ts';
import { requireVm, skip, withCluster, type KvmDeps, type LoadedVmService, type LocatedVm } from './context.ts';
import { VM_POLICY } from './create.ts';
import { parseProps, propValue } from './props.ts';

// -- ISO ---------------------------------------------------------------------------------------

/**
 * The IDE slots a customer's CD-ROM may take, in order: ide2 (Proxmox's usual CD-ROM), then the
 * others. A cloud-init drive is a CD-ROM too, often on ide2 (Proxmox's cloud-init guide puts it
 * there): it is never taken.
 */
const CD_SLOTS = ['ide2', 'ide0', 'ide1', 'ide3'] as const;

const isCloudinit = (head: string | null) => head !== null && (/:cloudinit$/.test(head) || /(^|[:/])vm-\d+-cloudinit(\.\w+)?$/.test(head));

/** Whether a drive value is a CD-ROM drive that is not the cloud-init drive: the one an ISO goes in. */
export function isIsoDrive(value: string | number | undefined): boolean {
  if (typeof value !== 'string') return false;
  const p = parseProps(value);
  return !isCloudinit(p.head) && (propValue(p, 'media') === 'cdrom' || p.head === 'none' || p.head === 'cdrom');
}

/** The slot of the VM's CD-ROM drive (an existing one first, else the first free IDE slot), or null when all four are taken. */
export function isoSlot(config: Record<string, string | number>): { slot: string; exists: boolean } | null {
  for (const k of CD_SLOTS) if (isIsoDrive(config[k])) return { slot: k, exists: true };
  for (const k of CD_SLOTS) if (config[k] === undefined) return { slot: k, exists: false };
  return null;
}

/** The volume in a CD-ROM drive value, null for an empty drive. */
function mediumOf(value: string | number | undefined): string | null {
  if (typeof value !== 'string') return null;
  const head = parseProps(value).head;
  return head === null || head === 'none' || head === 'cdrom' ? null : head;
}

/**
 * The boot value with the CD-ROM drive after the devices already in its `order` (null when it is
 * there already, or when the value has no order list: Proxmox's legacy order tries every CD-ROM).
 * A VM boots only from the devices in its order, so an ISO outside it could not be booted; after
 * the disk, the VM still boots its disk, and the ISO is picked from the boot menu (or booted when
 * the disk is not bootable).
 */
export function bootWithCdrom(boot: string | number | undefined, slot: string): string | null {
  const text = String(boot ?? '');
  const m = /(^|,)order=([^,]*)/.exec(text);
  if (!m) return null;
  const order = m[2]!.split(';').filter(Boolean);
  if (order.includes(slot)) return null;
  return `${text.slice(0, m.index)}${m[1]}order=${[...order, slot].join(';')}${text.slice(m.index + m[0].length)}`;
}

export interface IsoState {
  /** The CD-ROM drive's slot (e.g. ide2), null when the VM has none. */
  slot: string | null;
  /** The ISO in the drive now, null when it is empty. */
  mounted: string | null;
  /** A change Proxmox keeps for the VM's next start (a drive added while it runs): the ISO it will hold, or null for none. */
  pending?: string | null;
}

/** What the VM's CD-ROM drive holds, as Proxmox shows it, for the panel. */
export async function isoState(client: ProxmoxClient, node: string, vmid: number): Promise<IsoState> {
  const current = await client.vmConfig(node, vmid, { current: true });
  const withPending = await client.vmConfig(node, vmid);
  const slot = isoSlot(withPending);
  if (!slot || !slot.exists) return { slot: null, mounted: null };
  const mounted = mediumOf(current[slot.slot]);
  const next = mediumOf(withPending[slot.slot]);
  return next === mounted && current[slot.slot] !== undefined ? { slot: slot.slot, mounted } : { slot: slot.slot, mounted, pending: next };
}

// -- firewall rules ----------------------------------------------------------------------------

type Listed = Record<string, unknown> & { pos: number };

const describe = (r: WantedRule) => `${r.type} ${r.action}${r.proto ? ` ${r.proto}` : ''}${r.dport ? ` port ${r.dport}` : ''}${r.source ? ` from ${r.source}` : ''}`;
const sameGroup = (a: Listed, b: Listed) => a.action === b.action && Number(a.enable ?? 0) === Number(b.enable ?? 0) && String(a.iface ?? '') === String(b.iface ?? '');

/**
 * Makes the VM's rule list [its security-group rules, then the customer's rules]. Security groups
 * (type group) are the provider's: they stay, first, in their order. Every other rule is the
 * customer's list: rules differing are rewritten in place, extra ones deleted from the end, missing
 * ones added and moved to the end. Each change sends the digest just read.
 */
async function convergeRules(ctx: TaskContext, client: ProxmoxClient, vm: LocatedVm, want: WantedRule[]): Promise<{ changed: number }> {
  const read = () => client.firewallRules(vm.node, vm.vmid);
  let { rules, digest } = await read();
  const groups = rules.filter((r) => r.type === 'group');
  const ok = (list: Listed[]) => list.length === groups.length + want.length
    && groups.every((g, i) => list[i]!.type === 'group' && sameGroup(list[i]!, g))
    && want.every((w, i) => sameRule(list[groups.length + i]!, w));
  if (ok(rules)) return { changed: 0 };
  let changed = 0;
  const refresh = async () => { ({ rules, digest } = await read()); changed++; };
  // The security groups first, in their order.
  for (let k = 0; k < groups.length; k++) {
    if (rules[k]!.type === 'group' && sameGroup(rules[k]!, groups[k]!)) continue;
    const at = rules.findIndex((r, i) => i > k && r.type === 'group' && sameGroup(r, groups[k]!));
    if (at < 0) throw new RetryableError('the VM\'s security-group rules changed while the step ran');
    ctx.log(`security group ${String(groups[k]!.action)} stays ahead of the customer's rules: moved from position ${at} to ${k}`);
    await client.updateFirewallRule(vm.node, vm.vmid, at, { moveto: k }, digest);
    await refresh();
  }
  const g = groups.length;
  const customer = () => rules.length - g;
  for (let i = 0; i < Math.min(want.length, customer()); i++) {
    if (sameRule(rules[g + i]!, want[i]!)) continue;
    const p = ruleParams(want[i]!);
    ctx.log(`rule ${i + 1}: ${describe(want[i]!)} (rewritten at position ${g + i})`);
    await client.updateFirewallRule(vm.node, vm.vmid, g + i, { set: p.set, clear: p.clear }, digest);
    await refresh();
  }
  while (customer() > want.length) {
    const pos = rules.length - 1;
    ctx.log(`rule at position ${pos} (${String(rules[pos]!.type)} ${String(rules[pos]!.action)}) removed: not in the customer's list`);
    await client.deleteFirewallRule(vm.node, vm.vmid, pos, digest);
    await refresh();
  }
  for (let i = customer(); i < want.length; i++) {
    const p = ruleParams(want[i]!);
    ctx.log(`rule ${i + 1}: ${describe(want[i]!)} (added)`);
    // Proxmox puts a new rule first; it is then moved to the end of the list.
    await client.createFirewallRule(vm.node, vm.vmid, p.set, digest);
    await refresh();
    if (rules.length > 1) {
      await client.updateFirewallRule(vm.node, vm.vmid, 0, { moveto: rules.length }, digest);
      await refresh();
    }
  }
  if (!ok(rules)) throw new RetryableError(`the VM's firewall rules differ from the customer's list after the change (${rules.length} rules, ${g + want.length} wanted)`);
  return { changed };
}

async function onVm<R>(deps: KvmDeps, ctx: TaskContext, cluster: number, fn: (svc: LoadedVmService, client: ProxmoxClient, vm: LocatedVm) => Promise<R>): Promise<R> {
  return withCluster(deps, ctx, cluster, async (svc, client) => fn(svc, client, await requireVm(deps, client, svc)));
}

export function registerVmExtrasHandlers(registry: TaskRegistry, deps: KvmDeps): void {
  registerStep(deps, registry, 'kvm.iso', 'Puts the ISO the customer chose in the VM\'s CD-ROM drive, or empties it.', (ctx, a) => onVm(deps, ctx, a.cluster, async (svc, client, vm) => {
    const want = await wantedIso(deps.db, svc.id);
    const config = await client.vmConfig(vm.node, vm.vmid);
    const slot = isoSlot(config);
    if (!slot) throw new TerminalError(`VM ${vm.vmid} has no CD-ROM drive and no free IDE slot for one (ide0–ide3 are taken); free one in Proxmox`);
    if (!slot.exists && want === null) return skip(ctx, 'the VM has no CD-ROM drive: nothing to eject');
    const value = `${want ?? 'none'},media=cdrom`;
    const changes: Record<string, string> = {};
    if (!slot.exists || mediumOf(config[slot.slot]) !== want) changes[slot.slot] = value;
    const boot = want === null ? null : bootWithCdrom(config.boot, slot.slot);
    if (boot !== null) changes.boot = boot;
    if (Object.keys(changes).length === 0) return skip(ctx, `${slot.slot} already holds ${want ?? 'no ISO'}`);
    if (changes[slot.slot]) ctx.log(`${slot.slot}: ${want ? `insert ${want}` : 'eject'}${slot.exists ? '' : ' (a new CD-ROM drive)'}`);
    if (boot !== null) ctx.log(`boot order: ${boot} (the disk first; the ISO from the boot menu)`);
    await client.updateConfig(vm.node, vm.vmid, changes);
    const after = await client.vmConfig(vm.node, vm.vmid);
    if (mediumOf(after[slot.slot]) !== want || !isIsoDrive(after[slot.slot])) throw new RetryableError(`${slot.slot} reads "${String(after[slot.slot] ?? '')}" after the change, not ${value}`);
    if (boot !== null && String(after.boot ?? '') !== boot) throw new RetryableError(`the boot order reads "${String(after.boot ?? '')}" after the change, not ${boot}`);
    const live = await client.vmConfig(vm.node, vm.vmid, { current: true });
    const pending = mediumOf(live[slot.slot]) !== want || live[slot.slot] === undefined;
    // Proxmox changes the medium of an existing drive at once, but adds an IDE drive to a running VM only at its next start.
    if (pending) ctx.log(`${slot.slot} is a pending change: it takes effect when the VM is next started (stop and start it, or reboot it from the panel)`);
    return { slot: slot.slot, volid: want, pending };
  }), VM_POLICY);

  registerStep(deps, registry, 'kvm.firewall-rules', 'Makes the VM\'s firewall rules equal to the customer\'s list (the provider\'s security groups stay first).', (ctx, a) => onVm(deps, ctx, a.cluster, async (svc, client, vm) => {
    const want = await wantedRules(deps.db, svc.id);
    const r = await convergeRules(ctx, client, vm, want);
    if (r.changed === 0) return skip(ctx, `the VM's firewall rules already match the customer's ${want.length} rule(s)`);
    ctx.log(`the VM's firewall rules match the customer's ${want.length} rule(s)`);
    return { rules: want.length, changes: r.changed };
  }), VM_POLICY);
}
