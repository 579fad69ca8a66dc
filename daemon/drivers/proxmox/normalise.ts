// Proxmox's answers made regular: numbers that arrive as strings (nextid, memory since PVE 8.1,
// sometimes counters), 0/1 booleans, comma lists, stats an offline node leaves out.
import { ProxmoxRetryableError } from './errors.ts';
import type { PveBackup, PveNode, PveStorage, PveVmLocation, PveVmStatus } from './types.ts';

type Obj = Record<string, unknown>;

export function num(v: unknown, dflt = 0): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return dflt;
}

function optNum(v: unknown): number | undefined {
  const n = num(v, NaN);
  return Number.isNaN(n) ? undefined : n;
}

function bool(v: unknown): boolean {
  return v === true || v === 1 || v === '1';
}

function optStr(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function list(data: unknown, what: string): Obj[] {
  if (!Array.isArray(data)) throw new ProxmoxRetryableError(`Proxmox ${what}: expected a list, got ${typeof data}`, { status: null, proxmoxMessage: 'unexpected answer', call: what });
  return data.filter((x): x is Obj => !!x && typeof x === 'object');
}

export function object(data: unknown, what: string): Obj {
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new ProxmoxRetryableError(`Proxmox ${what}: expected an object, got ${Array.isArray(data) ? 'a list' : typeof data}`, { status: null, proxmoxMessage: 'unexpected answer', call: what });
  }
  return data as Obj;
}

/** GET /cluster/nextid answers a string ("105"). */
export function vmidOf(data: unknown, what: string): number {
  const n = num(data, NaN);
  if (!Number.isInteger(n) || n < 100) throw new ProxmoxRetryableError(`Proxmox ${what}: "${String(data)}" is not a VMID`, { status: null, proxmoxMessage: 'unexpected answer', call: what });
  return n;
}

export function pveNode(o: Obj): PveNode {
  const status = o.status === 'online' || o.status === 'offline' ? o.status : 'unknown';
  const n: PveNode = {
    node: String(o.node ?? ''),
    status,
    cpu: num(o.cpu),
    maxcpu: num(o.maxcpu),
    mem: num(o.mem),
    maxmem: num(o.maxmem),
    disk: num(o.disk),
    maxdisk: num(o.maxdisk),
    uptime: num(o.uptime),
  };
  const fp = optStr(o.ssl_fingerprint);
  if (fp) n.ssl_fingerprint = fp;
  return n;
}

export function pveStorage(o: Obj): PveStorage {
  return {
    storage: String(o.storage ?? ''),
    type: String(o.type ?? ''),
    content: String(o.content ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    // A storage the node lists without these flags is enabled and active.
    enabled: o.enabled === undefined ? true : bool(o.enabled),
    active: o.active === undefined ? true : bool(o.active),
    shared: bool(o.shared),
    total: num(o.total),
    used: num(o.used),
    avail: num(o.avail),
  };
}

export function vmLocation(o: Obj): PveVmLocation {
  const v: PveVmLocation = { node: String(o.node ?? ''), status: String(o.status ?? 'unknown') };
  const name = optStr(o.name);
  if (name) v.name = name;
  const template = optNum(o.template);
  if (template !== undefined) v.template = template;
  const lock = optStr(o.lock);
  if (lock) v.lock = lock;
  return v;
}

export function vmStatus(o: Obj, vmid: number): PveVmStatus {
  const ha = o.ha && typeof o.ha === 'object' ? (o.ha as Obj) : {};
  const s: PveVmStatus = {
    vmid: num(o.vmid, vmid),
    status: String(o.status ?? 'unknown'),
    uptime: num(o.uptime),
    cpus: num(o.cpus),
    cpu: num(o.cpu),
    mem: num(o.mem),
    maxmem: num(o.maxmem),
    disk: num(o.disk),
    maxdisk: num(o.maxdisk),
    netin: num(o.netin),
    netout: num(o.netout),
    haManaged: bool(ha.managed),
  };
  for (const k of ['name', 'qmpstatus', 'lock', 'tags'] as const) {
    const v = optStr(o[k]);
    if (v) s[k] = v;
  }
  return s;
}

/**
 * A VM config: values stay as Proxmox sends them (property strings), except `memory`, which PVE
 * 8.1+ sends as a string ("2048" or "current=2048"): it becomes the number of MiB.
 */
export function vmConfig(o: Obj): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'number' || typeof v === 'string') out[k] = v;
    else if (typeof v === 'boolean') out[k] = v ? 1 : 0;
  }
  if (typeof out.memory === 'string') {
    const m = /^(?:current=)?(\d+)(?:,|$)/.exec(out.memory);
    if (m) out.memory = Number(m[1]);
  }
  return out;
}

export function backup(o: Obj): PveBackup {
  const b: PveBackup = { volid: String(o.volid ?? '') };
  const size = optNum(o.size);
  if (size !== undefined) b.size = size;
  const ctime = optNum(o.ctime);
  if (ctime !== undefined) b.ctime = ctime;
  const notes = optStr(o.notes);
  if (notes) b.notes = notes;
  if (o.protected !== undefined) b.protected = bool(o.protected);
  return b;
}
