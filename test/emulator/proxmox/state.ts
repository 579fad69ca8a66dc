// The emulated cluster: nodes, storages and their volumes, VMs (config, pending changes, power
// state), the per-VM flock that tasks hold, and the lookups every endpoint starts from.
import { createHash, randomUUID } from 'node:crypto';
import { ApiError, die } from './errors.ts';
import { formatSize, printNet, randomMac } from './props.ts';
import type { EmulatedVm, EmulatorNodeSpec, EmulatorStorageSpec, EmulatorTemplateSpec } from './types.ts';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

export interface Bridge { iface: string; ports: string; cidr: string; gateway?: string }
export interface NodeState { name: string; maxcpu: number; maxmem: number; online: boolean; bootedAt: number; bridges: Bridge[]; ip: string }
export interface StorageState { storage: string; type: EmulatorStorageSpec['type']; content: string[]; shared: boolean; nodes: string[]; total: number }
export interface Volume { volid: string; storage: string; volname: string; vmid: number; size: number; format: string; content: 'images' | 'backup' | 'iso'; ctime: number; notes?: string; protected?: boolean }

export interface SnapshotMeta { name: string; snaptime: number; description: string; vmstate: 0 | 1; parent?: string; config: Record<string, string | number> }

/** One VM. `lock` and `template` are views of the config keys of the same name. */
export class VmState implements EmulatedVm {
  status: 'running' | 'stopped' = 'stopped';
  pending: Record<string, string | number> = {};
  pendingDelete = new Set<string>();
  firewall = { options: {} as Record<string, string | number>, ipsets: new Map<string, Array<{ cidr: string; comment?: string; nomatch?: boolean }>>() };
  snapmeta: SnapshotMeta[] = [];
  startedAt = 0;
  paused = false;
  readonly createdAt = nowSec();
  /** Cloud-init values the config drive was last generated from (undefined: never generated). */
  ciGenerated?: Record<string, string | number>;
  constructor(public vmid: number, public node: string, public config: Record<string, string | number>) {}
  get template(): boolean { return Number(this.config.template ?? 0) === 1; }
  get lock(): string | null { return this.config.lock === undefined ? null : String(this.config.lock); }
  set lock(v: string | null) { if (v === null) delete this.config.lock; else this.config.lock = v; }
  get snapshots(): string[] { return this.snapmeta.map((s) => s.name); }
  /** SHA-1 over the config as it would be written, pending section included (PVE's digest). */
  digest(): string {
    const body = Object.keys(this.config).sort().map((k) => `${k}: ${this.config[k]}`).join('\n');
    const pend = Object.keys(this.pending).sort().map((k) => `${k}: ${this.pending[k]}`).join('\n');
    return createHash('sha1').update(`${body}\n[PENDING]\n${pend}\ndelete: ${[...this.pendingDelete].join(',')}`).digest('hex');
  }
  memoryMiB(): number { return memoryOf(this.config.memory); }
  cpus(): number { return Number(this.config.sockets ?? 1) * Number(this.config.cores ?? 1); }
}

/** `memory` is `2048` or `current=2048` (a property string since PVE 8.1); the default is 512. */
export function memoryOf(v: string | number | undefined): number {
  if (v === undefined) return 512;
  const m = /(?:^|current=)(\d+)/.exec(String(v));
  return m ? Number(m[1]) : 512;
}

export function lockFileError(vmid: number): ApiError {
  return new ApiError(500, `can't lock file '/var/lock/qemu-server/lock-${vmid}.conf' - got timeout`);
}

/** flock(2) on /var/lock/qemu-server/lock-<id>.conf: many shared holders or one exclusive. */
class Flock { shared = 0; exclusive = false }

export class Cluster {
  readonly nodes = new Map<string, NodeState>();
  readonly storages = new Map<string, StorageState>();
  readonly vms = new Map<number, VmState>();
  /** Volumes per location: the storage id when shared, `storage@node` when local. */
  readonly volumes = new Map<string, Map<string, Volume>>();
  private readonly flocks = new Map<string, Flock>();
  readonly clusterName = 'emulated';
  /** The certificate fingerprint every node reports (one certificate serves them all here). */
  nodeFingerprint = '';

  constructor(nodes: EmulatorNodeSpec[], storages: EmulatorStorageSpec[], templates: EmulatorTemplateSpec[]) {
    nodes.forEach((n, i) => {
      this.nodes.set(n.name, {
        name: n.name, maxcpu: n.maxcpu ?? 8, maxmem: (n.maxmemMb ?? 32768) * MiB, online: n.online ?? true,
        bootedAt: Math.floor(Date.now() / 1000) - 86400 * (3 + i), ip: `192.0.2.${11 + i}`,
        bridges: [
          { iface: 'vmbr0', ports: 'eno1', cidr: `192.0.2.${11 + i}/24`, gateway: '192.0.2.1' },
          { iface: 'vmbr1', ports: 'eno2', cidr: `10.10.0.${11 + i}/24` },
        ],
      });
    });
    for (const s of storages) {
      const dflt = s.type === 'dir' ? 100 : 500;
      this.storages.set(s.storage, {
        storage: s.storage, type: s.type, content: s.content.split(',').map((c) => c.trim()).filter(Boolean),
        shared: s.shared ?? (s.type === 'nfs' || s.type === 'rbd'), nodes: s.nodes ?? [...this.nodes.keys()], total: (s.totalGb ?? dflt) * GiB,
      });
    }
    for (const t of templates) this.addTemplate(t);
  }

  private addTemplate(t: EmulatorTemplateSpec): void {
    if (!this.nodes.has(t.node)) throw new Error(`template ${t.vmid}: unknown node ${t.node}`);
    const st = this.storages.get(t.storage);
    if (!st) throw new Error(`template ${t.vmid}: unknown storage ${t.storage}`);
    const size = (t.diskGb ?? 2) * GiB;
    const fmt = defaultFormat(st);
    const volname = st.type === 'dir' || st.type === 'nfs' ? `${t.vmid}/base-${t.vmid}-disk-0.${fmt}` : `base-${t.vmid}-disk-0`;
    this.putVolume(t.node, { volid: `${t.storage}:${volname}`, storage: t.storage, volname, vmid: t.vmid, size, format: fmt, content: 'images', ctime: nowSec() });
    const config: Record<string, string | number> = {
      name: t.name, template: 1, memory: '2048', cores: 2, sockets: 1, ostype: 'l26', cpu: 'x86-64-v2-AES', agent: 1,
      scsihw: 'virtio-scsi-single', boot: 'order=scsi0', serial0: 'socket', vga: 'serial0',
      scsi0: `${t.storage}:${volname},iothread=1,size=${formatSize(size)}`,
      net0: printNet({ model: 'virtio', macaddr: randomMac(), rest: new Map([['bridge', 'vmbr0'], ['firewall', '1']]) }),
      smbios1: `uuid=${randomUUID()}`, vmgenid: randomUUID(), meta: `creation-qemu=9.2.0,ctime=${nowSec()}`,
    };
    if (t.cloudinit ?? true) {
      const ci = cloudinitVolume(st, t.vmid);
      this.putVolume(t.node, ci);
      config.ide2 = `${ci.volid},media=cdrom`;
      config.ipconfig0 = 'ip=dhcp';
    }
    this.vms.set(t.vmid, new VmState(t.vmid, t.node, config));
  }

  // -- lookups (each fails the way the real API does) --

  node(name: string): NodeState {
    const n = this.nodes.get(name);
    if (!n) die(`no such cluster node '${name}'`);
    return n;
  }

  /** PVE::QemuConfig->load_config on `node`: the file lives under nodes/<node>/qemu-server/. */
  vm(node: string, vmid: number): VmState {
    const vm = this.vms.get(vmid);
    if (!vm || vm.node !== node) die(`Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`);
    return vm;
  }

  /** PVE::Storage::storage_check_enabled (+ node check). */
  storage(id: string, node?: string): StorageState {
    const s = this.storages.get(id);
    if (!s) die(`storage '${id}' does not exist`);
    if (node && !s.nodes.includes(node)) die(`storage '${id}' is not available on node '${node}'`);
    return s;
  }

  storagesOn(node: string): StorageState[] { return [...this.storages.values()].filter((s) => s.nodes.includes(node)); }

  locKey(storage: string, node: string): string {
    const s = this.storage(storage);
    return s.shared ? storage : `${storage}@${node}`;
  }

  volumesAt(storage: string, node: string): Map<string, Volume> {
    const key = this.locKey(storage, node);
    let m = this.volumes.get(key);
    if (!m) { m = new Map(); this.volumes.set(key, m); }
    return m;
  }

  putVolume(node: string, v: Volume): void { this.volumesAt(v.storage, node).set(v.volname, v); }

  findVolume(node: string, volid: string): Volume | undefined {
    const [storage, volname] = splitVolid(volid);
    if (!storage || !this.storages.has(storage)) return undefined;
    return this.volumesAt(storage, node).get(volname!);
  }

  freeVolume(node: string, volid: string): void {
    const [storage, volname] = splitVolid(volid);
    if (storage && this.storages.has(storage)) this.volumesAt(storage, node).delete(volname!);
  }

  used(storage: string, node: string): number {
    let sum = 0;
    for (const v of this.volumesAt(storage, node).values()) sum += v.size;
    return sum;
  }

  /** A fresh `vm-<id>-disk-N` on `storage` (the lowest free N). */
  allocVolume(node: string, storage: string, vmid: number, size: number, format?: string): Volume {
    const st = this.storage(storage, node);
    if (!st.content.includes('images')) die(`storage '${storage}' does not support content-type 'images'`);
    if (this.used(storage, node) + size > st.total) die(`no space left on storage '${storage}' (requested ${formatSize(size)})`);
    const fmt = format && formatsOf(st).includes(format) ? format : defaultFormat(st);
    const file = st.type === 'dir' || st.type === 'nfs';
    const vols = this.volumesAt(storage, node);
    for (let n = 0; ; n++) {
      const base = `vm-${vmid}-disk-${n}`;
      const volname = file ? `${vmid}/${base}.${fmt}` : base;
      if ([...vols.keys()].some((k) => k.endsWith(base) || k.endsWith(`${base}.${fmt}`) || k === volname)) continue;
      const v: Volume = { volid: `${storage}:${volname}`, storage, volname, vmid, size, format: fmt, content: 'images', ctime: nowSec() };
      vols.set(volname, v);
      return v;
    }
  }

  // -- flock --

  /** Take the VM's flock, waiting up to `waitMs` like PVE's lock_file (then "got timeout"). */
  flock(vmid: number, mode: 'shared' | 'exclusive', waitMs: number): Promise<() => void> {
    return this.lockFile(`vm:${vmid}`, mode, waitMs, () => lockFileError(vmid));
  }

  /** /var/lock/pve-manager/pve-storage-<id>: allocations on one storage take turns. */
  storageLock(storage: string, node: string, waitMs: number): Promise<() => void> {
    return this.lockFile(`storage:${this.locKey(storage, node)}`, 'exclusive', waitMs,
      () => new ApiError(500, `can't lock file '/var/lock/pve-manager/pve-storage-${storage}' - got timeout`));
  }

  private async lockFile(key: string, mode: 'shared' | 'exclusive', waitMs: number, timeout: () => Error): Promise<() => void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const f = this.flocks.get(key) ?? new Flock();
      this.flocks.set(key, f);
      const free = mode === 'shared' ? !f.exclusive : !f.exclusive && f.shared === 0;
      if (free) {
        if (mode === 'shared') f.shared++; else f.exclusive = true;
        let released = false;
        return () => {
          if (released) return;
          released = true;
          if (mode === 'shared') f.shared--; else f.exclusive = false;
        };
      }
      if (Date.now() >= deadline) throw timeout();
      await new Promise((r) => setTimeout(r, Math.min(25, Math.max(1, deadline - Date.now()))));
    }
  }
}

/** The config-drive volume of a VM on a storage: vm-<id>-cloudinit (qcow2 in a directory). */
export function cloudinitVolume(st: StorageState, vmid: number): Volume {
  const file = st.type === 'dir' || st.type === 'nfs';
  const volname = file ? `${vmid}/vm-${vmid}-cloudinit.qcow2` : `vm-${vmid}-cloudinit`;
  return { volid: `${st.storage}:${volname}`, storage: st.storage, volname, vmid, size: 4 * MiB, format: file ? 'qcow2' : 'raw', content: 'images', ctime: nowSec() };
}

export function splitVolid(volid: string): [string | undefined, string | undefined] {
  const i = volid.indexOf(':');
  return i < 0 ? [undefined, undefined] : [volid.slice(0, i), volid.slice(i + 1)];
}

export function formatsOf(st: StorageState): string[] {
  return st.type === 'dir' || st.type === 'nfs' ? ['raw', 'qcow2', 'vmdk'] : ['raw'];
}
export function defaultFormat(st: StorageState): string {
  return st.type === 'dir' || st.type === 'nfs' ? 'qcow2' : 'raw';
}

export const nowSec = () => Math.floor(Date.now() / 1000);
