// Proxmox property strings as the VM steps read and write them: a drive ("local-lvm:vm-101-disk-0,
// size=32G,iops_rd=500") and a NIC ("virtio=BC:24:11:..,bridge=vmbr0,tag=20,rate=12.5,firewall=1").
// A changed value is written back with every other key the string had, so nothing is lost (a NIC
// without its MAC would get a new one).
import type { KvmDiskPlan } from '../../pipelines/kvm-product.ts';

export interface PropString {
  /** The leading value without a key (a drive's volume), or null. */
  head: string | null;
  /** The keys in their order. */
  keys: Array<[string, string]>;
}

export function parseProps(value: string): PropString {
  const parts = value.split(',');
  let head: string | null = null;
  const keys: Array<[string, string]> = [];
  parts.forEach((p, i) => {
    const eq = p.indexOf('=');
    if (eq < 0) {
      if (i === 0) head = p;
      else keys.push([p, '']);
    } else {
      keys.push([p.slice(0, eq), p.slice(eq + 1)]);
    }
  });
  return { head, keys };
}

export function propValue(p: PropString, key: string): string | null {
  return p.keys.find(([k]) => k === key)?.[1] ?? null;
}

/** Sets (or, with null, removes) keys, keeping the others and their order. */
export function withProps(p: PropString, changes: Record<string, string | null>): PropString {
  const keys = p.keys.filter(([k]) => !(k in changes) || changes[k] !== null).map(([k, v]): [string, string] => [k, k in changes ? changes[k]! : v]);
  for (const [k, v] of Object.entries(changes)) if (v !== null && !keys.some(([kk]) => kk === k)) keys.push([k, v]);
  return { head: p.head, keys };
}

export function formatProps(p: PropString): string {
  return [...(p.head !== null ? [p.head] : []), ...p.keys.map(([k, v]) => (v === '' ? k : `${k}=${v}`))].join(',');
}

/** A size as Proxmox writes it ("32G", "512M", "1T", bytes without a unit) in GiB. */
export function sizeGb(size: string | null): number | null {
  if (size === null) return null;
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/i.exec(size.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2]!.toUpperCase();
  const factor = unit === 'T' ? 1024 : unit === 'G' ? 1 : unit === 'M' ? 1 / 1024 : unit === 'K' ? 1 / 1024 ** 2 : 1 / 1024 ** 3;
  return n * factor;
}

const DISK_BUSES = ['scsi', 'virtio', 'sata', 'ide'] as const;

/** Whether a config key is a disk slot (scsi0, virtio1, …). */
export function isDiskKey(key: string): boolean {
  return /^(scsi|virtio|sata|ide)\d+$/.test(key);
}

/** A real disk (not the cloud-init drive, not a CD-ROM). */
export function isDataDisk(value: string): boolean {
  const p = parseProps(value);
  return p.head !== null && !/cloudinit/.test(p.head) && propValue(p, 'media') !== 'cdrom' && p.head !== 'none';
}

/** The system disk: the first disk in the boot order, else the first data disk on the first bus. */
export function systemDiskKey(config: Record<string, string | number>): string | null {
  const boot = String(config.boot ?? '');
  const order = /order=([^,]+)/.exec(boot)?.[1]?.split(';') ?? [];
  for (const k of order) if (isDiskKey(k) && typeof config[k] === 'string' && isDataDisk(config[k] as string)) return k;
  for (const bus of DISK_BUSES) {
    for (let i = 0; i < 31; i++) {
      const k = `${bus}${i}`;
      if (typeof config[k] === 'string' && isDataDisk(config[k] as string)) return k;
    }
  }
  return null;
}

/** The additional disk's slot: the next free slot on the system disk's bus. */
export function additionalDiskKey(config: Record<string, string | number>, systemKey: string): string {
  const bus = /^[a-z]+/.exec(systemKey)![0];
  const n = Number(systemKey.slice(bus.length));
  for (let i = n + 1; i < 31; i++) {
    const k = `${bus}${i}`;
    if (config[k] === undefined) return k;
  }
  throw new Error(`no free ${bus} slot for the additional disk`);
}

const LIMIT_KEYS: Array<[keyof KvmDiskPlan, string]> = [['iopsRd', 'iops_rd'], ['iopsWr', 'iops_wr'], ['mbpsRd', 'mbps_rd'], ['mbpsWr', 'mbps_wr']];

/** The drive's limit keys that differ from the spec: key → new value (null removes it). */
export function limitChanges(drive: PropString, spec: KvmDiskPlan): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [field, key] of LIMIT_KEYS) {
    const want = spec[field] as number | null;
    const have = propValue(drive, key);
    if (want === null || want === 0) {
      if (have !== null) out[key] = null;
    } else if (have === null || Number(have) !== want) {
      out[key] = String(want);
    }
  }
  return out;
}

/** The NIC's keys that differ from the network spec (the model=MAC key is kept as it is). `rateMbps` is MB/s, as Proxmox reads `rate`. */
export function nicChanges(nic: PropString, want: { bridge: string; vlan: number | null; rateMbps: number | null; firewall: boolean }): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (propValue(nic, 'bridge') !== want.bridge) out.bridge = want.bridge;
  const tag = propValue(nic, 'tag');
  if (want.vlan === null ? tag !== null : tag === null || Number(tag) !== want.vlan) out.tag = want.vlan === null ? null : String(want.vlan);
  const rate = propValue(nic, 'rate');
  if (want.rateMbps === null ? rate !== null : rate === null || Number(rate) !== want.rateMbps) out.rate = want.rateMbps === null ? null : String(want.rateMbps);
  const fw = want.firewall ? '1' : null;
  if ((propValue(nic, 'firewall') === '1' ? '1' : null) !== fw) out.firewall = fw;
  return out;
}
