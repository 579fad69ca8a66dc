// The chains of the customer's VM panel (issue 16) as pure functions of the service's stored plan,
// and the checks of what the customer typed: snapshot names as qemu-server takes them, a backup
// archive that is the VM's own, the backup weekdays. Like vm-plan.ts, every step on the VM runs on
// its node ("pve:<cluster>:<node>"), so the cluster's per-node limit holds across all daemons.
import { InputError } from '../common/errors.ts';
import { plannedStep as step, type PlannedStep } from './steps.ts';
import type { PlannedChain } from './plan.ts';
import { planVmChain, pveTarget, type VmServicePlan } from './vm-plan.ts';

/** The panel's own chain operations (the power buttons start/reboot and the password reuse vm-plan's). */
export type PanelOperation = 'power-off' | 'shutdown' | 'snapshot-create' | 'snapshot-rollback' | 'snapshot-delete' | 'backup-delete';

/**
 * A snapshot name: qemu-server's pve-snapshot-name (format pve-configid: a letter, then letters,
 * digits, `_` or `-`; 2–40 characters). `current` names the VM itself in the snapshot list and
 * `pending` is reserved; `vmstate` is refused too (it names a snapshot's RAM volume).
 */
export function checkSnapshotName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InputError(field, 'is required: a snapshot name (a letter, then letters, digits, "_" or "-"; 2–40 characters)');
  const v = value.trim();
  if (v.length > 40) throw new InputError(field, `is ${v.length} characters long; a snapshot name has at most 40`);
  if (!/^[A-Za-z][A-Za-z0-9_-]+$/.test(v)) throw new InputError(field, `"${v}" is not a snapshot name: it must start with a letter and hold only letters, digits, "_" or "-" (at least 2 characters)`);
  if (/^(current|pending|vmstate)$/i.test(v)) throw new InputError(field, `"${v}" is a name Proxmox reserves; choose another`);
  return v;
}

/** A snapshot's description: optional, one line of at most 200 printable characters. */
export function checkSnapshotDescription(field: string, value: unknown): string | null {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return null;
  if (typeof value !== 'string') throw new InputError(field, 'must be text');
  const v = value.trim();
  if ([...v].length > 200) throw new InputError(field, `is ${[...v].length} characters long; at most 200`);
  // Control characters (new lines included) and invisible formatting characters have no place in a one-line note.
  if (/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(v)) throw new InputError(field, 'must be one line of printable characters');
  return v;
}

/** A vzdump archive of a VM: `<storage>:backup/vzdump-qemu-<vmid>-<date>.vma[.zst|.gz|.lzo]` (what vm-backups.ts takes for a restore). */
const VOLID = /^([A-Za-z][A-Za-z0-9_.-]{0,63}):backup\/vzdump-qemu-(\d+)-[A-Za-z0-9_.-]+$/;

/** One of the VM's own backup archives, by its volid; another VM's archive is refused naming the field. */
export function checkBackupVolid(field: string, value: unknown, vmid: number): { volid: string; storage: string } {
  if (typeof value !== 'string' || value.trim() === '') throw new InputError(field, 'is required: the backup archive, e.g. backups:backup/vzdump-qemu-101-2026_12_06-10_00_00.vma.zst');
  const v = value.trim();
  const m = VOLID.exec(v);
  if (!m || v.length > 255) throw new InputError(field, `"${v.slice(0, 120)}" is not a VM backup archive (<storage>:backup/vzdump-qemu-<vmid>-….vma[.zst|.gz|.lzo])`);
  if (Number(m[2]) !== vmid) throw new InputError(field, `"${v.slice(0, 120)}" is not a backup of your VPS`);
  return { volid: v, storage: m[1]! };
}

/** The backup days as a form sends them: a comma list (`mon,wed,fri`; empty for none). */
export function splitBackupDays(value: unknown): string[] {
  if (value === undefined || value === null) throw new InputError('days', 'is required: a comma-separated list of weekdays (mon, tue, wed, thu, fri, sat, sun), or empty for none');
  if (typeof value !== 'string') throw new InputError('days', 'must be a comma-separated list of weekdays');
  return value.split(',').map((d) => d.trim()).filter((d) => d !== '');
}

/** What the panel's chains carry besides the plan. */
export interface PanelChainArgs {
  /** The snapshot, for the snapshot operations. */
  snapshot?: { name: string; description: string | null };
  /** The archive, for backup-delete. */
  volid?: string;
}

const only = (s: PlannedStep[]): PlannedStep[] => s.map((x, i) => ({ ...x, dependsOn: i === 0 ? [] : [i - 1] }));

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new InputError(what, 'is required');
  return value;
}

/** Steps of one panel operation; the service's state stays as it is whether it succeeds or fails. */
export function planPanelChain(op: PanelOperation, plan: VmServicePlan, args: PanelChainArgs = {}): PlannedChain {
  const node = plan.placement.targetNode;
  const target = pveTarget(plan.clusterId, node);
  const at = { cluster: plan.clusterId, node };
  const keep = (steps: PlannedStep[]): PlannedChain => ({ steps: only(steps), successState: null, failureState: null });
  switch (op) {
    case 'power-off':
      return keep([step('kvm.power-off', 'power-off', target, at)]);
    case 'shutdown':
      return keep([step('kvm.shutdown', 'shutdown', target, at)]);
    case 'snapshot-create': {
      const s = need(args.snapshot, 'name');
      return keep([step('kvm.snapshot', 'snapshot', target, { ...at, name: s.name, ...(s.description ? { description: s.description } : {}) })]);
    }
    case 'snapshot-rollback':
      // The VM runs after a rollback, as after a restore: a snapshot without RAM leaves it stopped.
      return keep([
        step('kvm.snapshot-rollback', 'rollback', target, { ...at, name: need(args.snapshot, 'name').name }),
        step('kvm.start', 'start', target, at), step('kvm.verify', 'verify', target, at),
      ]);
    case 'snapshot-delete':
      return keep([step('kvm.snapshot-delete', 'snapshot-delete', target, { ...at, name: need(args.snapshot, 'name').name })]);
    case 'backup-delete':
      return keep([step('kvm.backup-delete', 'backup-delete', target, { ...at, volid: need(args.volid, 'volid') })]);
  }
}

/** The template a reinstall clones: the OS the customer picked, as the cluster's inventory lists it. */
export interface ReinstallTemplate { slug: string; vmid: number; node: string; storage: string | null }

/**
 * The plan after a reinstall: the new OS and its template, cloned on the template's node; the VM
 * keeps its node, disks' storages, addresses, host name and VMID (the VM row keeps it).
 */
export function reinstallPlan(plan: VmServicePlan, t: ReinstallTemplate): VmServicePlan {
  return {
    ...plan,
    template: { slug: t.slug, vmid: t.vmid, node: t.node, storage: t.storage },
    placement: { ...plan.placement, cloneNode: t.node },
    spec: { ...plan.spec, os: t.slug },
  };
}

/** The deploy's steps a reinstall leaves out: the addresses, their record in WHMCS and DNS stay as they are. */
const KEPT_AS_IS: ReadonlySet<string> = new Set(['kvm.ip', 'kvm.whmcs-ips', 'kvm.dns']);

/**
 * A fresh install over the VM (`plan` is reinstallPlan's): stopped hard and destroyed, then the
 * deploy's own steps from the clone on — the same VMID (the clone takes the stored one), moved to
 * its node, its hardware, network, firewall (with the customer's rules and ISO again) and cloud-init
 * (with the new password), started and
 * checked. Run in order. A failure leaves the service failed: its Retry (the deploy) finishes it.
 */
export function planReinstallChain(plan: VmServicePlan): PlannedChain {
  const node = plan.placement.targetNode;
  const target = pveTarget(plan.clusterId, node);
  const at = { cluster: plan.clusterId, node };
  const rest = planVmChain('deploy', plan).steps.filter((s) => !KEPT_AS_IS.has(s.type)).flatMap(({ dependsOn: _, ...s }) => {
    const deployStep = s as PlannedStep;
    // The new VM's firewall carries no rules and no ISO: the customer's own (kept by the daemon) are applied again.
    if (deployStep.type !== 'kvm.firewall') return [deployStep];
    return [deployStep, step('kvm.firewall-rules', 'firewall-rules', target, at), step('kvm.iso', 'iso', target, at)];
  });
  return {
    steps: only([step('kvm.power-off', 'power-off', target, at), step('kvm.destroy', 'destroy', target, at), ...rest]),
    successState: null, failureState: 'failed',
  };
}
