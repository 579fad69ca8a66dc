// Property strings (`key=value,key=value` with an optional default key first), sizes, MAC
// addresses and the sshkeys encoding: the small formats inside VM config values.
import { randomBytes } from 'node:crypto';

export type PropMap = Map<string, string>;

/** Split `a=1,b=2`; a first item without '=' belongs to `defaultKey`. Throws a message on bad syntax. */
export function parseProps(value: string, defaultKey?: string): PropMap {
  const out: PropMap = new Map();
  value.split(',').forEach((part, i) => {
    if (part === '') throw new Error('empty property');
    const eq = part.indexOf('=');
    let k: string; let v: string;
    if (eq < 0) {
      if (i !== 0 || !defaultKey) throw new Error(`value without key, but schema does not define a default key`);
      k = defaultKey; v = part;
    } else { k = part.slice(0, eq); v = part.slice(eq + 1); }
    if (out.has(k)) throw new Error(`duplicate key in comma-separated list property: ${k}`);
    out.set(k, v);
  });
  return out;
}

export function printProps(m: PropMap, first?: string): string {
  const parts: string[] = [];
  if (first && m.has(first)) parts.push(m.get(first)!);
  for (const [k, v] of m) if (k !== first) parts.push(`${k}=${v}`);
  return parts.join(',');
}

const UNIT: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `32G`, `10752M`, `512` (bytes) → bytes; undefined when malformed. */
export function parseSize(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(s);
  return m ? Math.round(Number(m[1]) * UNIT[m[2]!]!) : undefined;
}

/** The largest unit that divides the size exactly, as PVE::JSONSchema::format_size prints it. */
export function formatSize(bytes: number): string {
  for (const u of ['T', 'G', 'M', 'K'] as const) {
    if (bytes % UNIT[u]! === 0) return `${bytes / UNIT[u]!}${u}`;
  }
  return String(bytes);
}

/** A random locally-administered-free MAC under Proxmox's OUI BC:24:11 (the PVE ≥ 8 default prefix). */
export function randomMac(): string {
  const b = randomBytes(3);
  return ['BC', '24', '11', ...[...b].map((x) => x.toString(16).toUpperCase().padStart(2, '0'))].join(':');
}

// -- NICs ---------------------------------------------------------------------------------------

export const NIC_MODELS = ['e1000', 'e1000-82540em', 'e1000-82544gc', 'e1000-82545em', 'e1000e', 'i82551', 'i82557b', 'i82559er', 'ne2k_isa', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio', 'vmxnet3'];
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export interface Nic { model: string; macaddr: string; rest: PropMap }

/** Parse and check a netN value; a missing MAC is generated (what PVE does on every write). */
export function parseNet(value: string): Nic {
  // `virtio=AA:BB:..` names model and MAC at once; a bare `virtio` is the default key `model`.
  const p = parseProps(value, 'model');
  let model: string | undefined; let mac: string | undefined;
  for (const [k, v] of [...p]) {
    if (NIC_MODELS.includes(k)) {
      if (model) throw new Error(`duplicate model '${k}'`);
      model = k; if (v !== '') mac = v; p.delete(k);
    }
  }
  if (p.has('model')) { if (model) throw new Error('duplicate model'); model = p.get('model')!; p.delete('model'); if (!NIC_MODELS.includes(model)) throw new Error(`model: value '${model}' does not have a value in the enumeration '${NIC_MODELS.join(', ')}'`); }
  if (p.has('macaddr')) { mac = p.get('macaddr')!; p.delete('macaddr'); }
  if (!model) throw new Error("model: property is missing and it is not optional");
  if (mac !== undefined && !MAC_RE.test(mac)) throw new Error(`macaddr: value does not look like a valid MAC address`);
  for (const [k, v] of p) {
    const e = checkNicKey(k, v);
    if (e) throw new Error(`${k}: ${e}`);
  }
  return { model, macaddr: (mac ?? randomMac()).toUpperCase(), rest: p };
}

function checkNicKey(k: string, v: string): string | undefined {
  const int = (min: number, max: number) => (!/^\d+$/.test(v) ? `type check ('integer') failed - got '${v}'` : Number(v) < min ? `value must have a minimum value of ${min}` : Number(v) > max ? `value must have a maximum value of ${max}` : undefined);
  const bool = () => (/^(0|1|true|false|yes|no|on|off)$/i.test(v) ? undefined : `type check ('boolean') failed - got '${v}'`);
  switch (k) {
    case 'bridge': return /^[-_.\w\d]+$/.test(v) ? undefined : 'value does not match the regex pattern';
    case 'tag': return int(1, 4094);
    case 'rate': return /^\d+(\.\d+)?$/.test(v) ? undefined : `type check ('number') failed - got '${v}'`;
    case 'firewall': case 'link_down': return bool();
    case 'mtu': return int(1, 65520);
    case 'queues': return int(0, 64);
    case 'trunks': return /^\d+(-\d+)?(;\d+(-\d+)?)*$/.test(v) ? undefined : 'value does not match the regex pattern';
    default: return 'property is not defined in schema and the schema does not allow additional properties';
  }
}

export function printNet(n: Nic): string {
  return [`${n.model}=${n.macaddr}`, ...[...n.rest].map(([k, v]) => `${k}=${v}`)].join(',');
}

// -- drives -------------------------------------------------------------------------------------

export const DRIVE_KEY = /^(scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|sata[0-5]|ide[0-3]|efidisk0|tpmstate0)$/;
const DRIVE_OPTS = new Set(['size', 'media', 'format', 'cache', 'discard', 'iothread', 'ssd', 'backup', 'replicate', 'serial', 'aio', 'detect_zeroes', 'snapshot', 'ro', 'rerror', 'werror', 'import-from', 'efitype', 'pre-enrolled-keys', 'version', 'wwn', 'shared', 'model', 'product', 'vendor', 'queues',
  'iops', 'iops_rd', 'iops_wr', 'iops_max', 'iops_rd_max', 'iops_wr_max', 'iops_max_length', 'iops_rd_max_length', 'iops_wr_max_length',
  'mbps', 'mbps_rd', 'mbps_wr', 'mbps_max', 'mbps_rd_max', 'mbps_wr_max', 'bps', 'bps_rd', 'bps_wr']);

export interface Drive { file: string; opts: PropMap }

export function parseDrive(value: string): Drive {
  const p = parseProps(value, 'file');
  const file = p.get('file');
  if (!file) throw new Error('file: property is missing and it is not optional');
  p.delete('file');
  for (const [k, v] of p) {
    if (!DRIVE_OPTS.has(k)) throw new Error(`${k}: property is not defined in schema and the schema does not allow additional properties`);
    if (/^(iops|bps)/.test(k) && !/^\d+$/.test(v)) throw new Error(`${k}: type check ('integer') failed - got '${v}'`);
    if (/^mbps/.test(k) && !/^\d+(\.\d+)?$/.test(v)) throw new Error(`${k}: type check ('number') failed - got '${v}'`);
    if (k === 'size' && parseSize(v) === undefined) throw new Error(`size: unable to parse size '${v}'`);
  }
  return { file, opts: p };
}

export function printDrive(d: Drive): string {
  return [d.file, ...[...d.opts].map(([k, v]) => `${k}=${v}`)].join(',');
}

export const isCdrom = (d: Drive) => d.opts.get('media') === 'cdrom' || d.file === 'cdrom' || d.file === 'none';
export const isCloudinit = (d: Drive) => /(^|[:/])vm-\d+-cloudinit(\.\w+)?$/.test(d.file) || /:cloudinit$/.test(d.file);
/** `storage:N` allocates a new N GiB volume (PVE's NEW_DISK_RE). */
export const NEW_DISK = /^(?:([^/:\s]+):)?(\d+(?:\.\d+)?)$/;

// -- sshkeys ------------------------------------------------------------------------------------

/** PVE's `urlencoded` format: only these characters may appear in the value. */
export const URLENCODED = /^[-%a-zA-Z0-9_.!~*'()]*$/;

/** URI-unescape like URI::Escape::uri_unescape (no '+' handling, invalid escapes left as they are). */
export function uriUnescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) { bytes.push(parseInt(s.slice(i + 1, i + 3), 16)); i += 2; }
    else bytes.push(...Buffer.from(s[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

const KEY_TYPES = ['ssh-rsa', 'ssh-dss', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com'];

/** What `ssh-keygen -l` accepts, line by line: a known type followed by a base64 blob that names the same type. */
export function sshKeysValid(text: string): boolean {
  for (const line of text.split('\n')) {
    if (/^\s*$/.test(line)) continue;
    const words = line.trim().split(/\s+/);
    const at = words.findIndex((w) => KEY_TYPES.includes(w));
    if (at < 0 || !words[at + 1]) return false;
    const b64 = words[at + 1]!;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false;
    const blob = Buffer.from(b64, 'base64');
    if (blob.length < 4) return false;
    const len = blob.readUInt32BE(0);
    if (len + 4 > blob.length || blob.subarray(4, 4 + len).toString('latin1') !== words[at]) return false;
  }
  return true;
}
