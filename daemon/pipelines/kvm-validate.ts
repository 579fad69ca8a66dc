// Rules for what a KVM order brings in from WHMCS and what a KVM profile holds: the VM's host name,
// the customer's SSH public keys, the VM password, sizes and limits, and the Proxmox names (bridge,
// storage, node, OS slug). Each checker returns the normalised value or throws an InputError that
// names the field and says what is allowed, so a hostile value is refused before a plan exists,
// long before any Proxmox call. Ranges follow what Proxmox VE accepts (docs/proxmox-products.md),
// narrowed where a hosting product never needs more.
import { domainToASCII, domainToUnicode } from 'node:url';
import { InputError } from '../common/errors.ts';
import { printable } from './validate.ts';

/** Inclusive ranges of every number a KVM plan carries. Units as the names say. */
export const KVM_LIMITS = {
  memoryMb: { min: 16, max: 4 * 1024 * 1024 },
  balloonMb: { min: 0, max: 4 * 1024 * 1024 },
  cores: { min: 1, max: 512 },
  sockets: { min: 1, max: 16 },
  diskGb: { min: 1, max: 64 * 1024 },
  /** An additional disk of 0 GiB means "none" where a size is given as a configurable option. */
  extraDiskGb: { min: 0, max: 64 * 1024 },
  iops: { min: 0, max: 1_000_000 },
  mbps: { min: 0, max: 100_000 },
  /** The NIC's rate limit, in megabytes per second as Proxmox reads it (not megabits). */
  rateMbps: { min: 0, max: 100_000 },
  vlan: { min: 1, max: 4094 },
  ipv4: { min: 0, max: 256 },
  ipv6: { min: 0, max: 256 },
  bandwidthGb: { min: 0, max: 1_000_000_000 },
  snapshots: { min: 0, max: 100 },
  backups: { min: 0, max: 100 },
  clusterId: { min: 1, max: 2147483647 },
} as const;
export type KvmLimit = keyof typeof KVM_LIMITS;

const range = (l: KvmLimit) => `${KVM_LIMITS[l].min.toLocaleString('en')}–${KVM_LIMITS[l].max.toLocaleString('en')}`;

/** A whole number within the limit's range; from a JSON number or a decimal string. */
export function checkWhole(field: string, value: unknown, limit: KvmLimit, unit = ''): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d{1,16}\s*$/.test(value) ? Number(value) : NaN;
  const { min, max } = KVM_LIMITS[limit];
  const u = unit ? ` ${unit}` : '';
  if (!Number.isSafeInteger(n)) throw new InputError(field, `"${printable(String(value))}" must be a whole number from ${range(limit)}${u}`);
  if (n < min || n > max) throw new InputError(field, `${n}${u} is out of range: from ${range(limit)}${u}`);
  return n;
}

/** A decimal number (MB/s limits) with at most 3 decimals, within the limit's range. */
export function checkDecimal(field: string, value: unknown, limit: KvmLimit, unit = ''): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d{1,9}(\.\d{1,3})?\s*$/.test(value) ? Number(value) : NaN;
  const { min, max } = KVM_LIMITS[limit];
  const u = unit ? ` ${unit}` : '';
  if (!Number.isFinite(n)) throw new InputError(field, `"${printable(String(value))}" must be a number from ${range(limit)}${u} (at most 3 decimals)`);
  if (n < min || n > max) throw new InputError(field, `${n}${u} is out of range: from ${range(limit)}${u}`);
  if (Math.abs(Math.round(n * 1000) - n * 1000) > 1e-6) throw new InputError(field, `${n} has more than 3 decimals`);
  return n;
}

/** A disk or NIC limit: null, or 0, means none (Proxmox leaves the key out). */
export function checkLimit(field: string, value: unknown, limit: 'iops' | 'mbps' | 'rateMbps'): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = limit === 'iops' ? checkWhole(field, value, limit, 'operations/s') : checkDecimal(field, value, limit, 'MB/s');
  return n === 0 ? null : n;
}

export function checkVlan(field: string, value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  return checkWhole(field, value, 'vlan');
}

// --- names ---------------------------------------------------------------------------------

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Characters a person cannot see or that reorder text: refused in anything shown or sent on. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/**
 * The VM's host name: Proxmox's VM name, which cloud-init makes the guest's hostname (an FQDN is
 * split into host and domain). DNS-name rules: ASCII only (an IDN arrives in its xn-- form, so a
 * look-alike Unicode name cannot pass), labels of 1–63 letters, digits and inner "-", at most 253
 * characters, no trailing dot, not all digits (not an IP address). Returned lower-cased.
 */
export function checkHostname(field: string, value: string): string {
  const raw = String(value);
  const h = raw.trim().toLowerCase();
  const bad = (why: string): never => { throw new InputError(field, `"${printable(raw)}" ${why}`); };
  if (h.length === 0) bad('is empty; give the VM a host name such as vps1.example.com');
  if (h.length > 253) bad(`is ${h.length} characters long; a host name has at most 253`);
  if (/[^\x21-\x7e]/.test(h)) bad('must be ASCII letters, digits, "-" and "." only; write an internationalised name in its xn-- form');
  if (h.startsWith('-')) bad('must not start with "-"');
  const labels = h.split('.');
  for (const label of labels) {
    if (label.length === 0) bad('has an empty label (".." or a leading or trailing ".")');
    if (label.length > 63) bad(`has a label of ${label.length} characters; at most 63 are allowed`);
    if (!LABEL.test(label)) bad(`has a label "${printable(label)}" that is not letters, digits and inner "-"`);
    if (/^..--/.test(label) && !/^xn--/.test(label)) bad(`has a label "${label}" with "--" in 3rd and 4th place, reserved for xn-- names`);
    // An xn-- label must be real punycode that encodes back to itself: no made-up A-labels.
    if (/^xn--/.test(label)) {
      const unicode = domainToUnicode(label);
      if (unicode === '' || domainToASCII(unicode) !== label) bad(`has a label "${label}" that is not valid punycode`);
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) bad('ends in a number; an IP address is not a host name');
  return h;
}

/** A Proxmox storage id (local-lvm, ceph_pool.1): a letter, then letters, digits, "-", "_", "."; not ending in a sign. */
export function checkStorage(field: string, value: unknown): string {
  const v = typeof value === 'string' ? value.trim() : '';
  if (!/^[A-Za-z](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/.test(v)) {
    throw new InputError(field, `"${printable(String(value ?? ''))}" is not a Proxmox storage id (a letter, then letters, digits, "-", "_" or ".", ending in a letter or digit, at most 64)`);
  }
  return v;
}

/** A Linux bridge or SDN vnet name (vmbr0, vmbr1.20 is not one: the VLAN is its own setting). */
export function checkBridge(field: string, value: unknown): string {
  const v = typeof value === 'string' ? value.trim() : '';
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,14}$/.test(v)) {
    throw new InputError(field, `"${printable(String(value ?? ''))}" is not a bridge name (a letter, then letters, digits, "-" or "_", at most 15 in all, such as vmbr0; give a VLAN in its own field)`);
  }
  return v;
}

/** A Proxmox node name: one DNS label. */
export function checkNode(field: string, value: unknown): string {
  const v = typeof value === 'string' ? value.trim() : '';
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(v)) {
    throw new InputError(field, `"${printable(String(value ?? ''))}" is not a Proxmox node name (letters, digits and inner "-", at most 63)`);
  }
  return v;
}

/** The QEMU CPU model: kvm64, host, x86-64-v2-AES, custom-mine… */
export function checkCpuType(field: string, value: unknown): string {
  const v = typeof value === 'string' ? value.trim() : '';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/.test(v)) throw new InputError(field, `"${printable(String(value ?? ''))}" is not a CPU type (such as host, kvm64 or x86-64-v2-AES)`);
  return v;
}

/** An OS template slug (debian-12, ubuntu-24.04): what the templates inventory names a template by. */
export function checkOsSlug(field: string, value: unknown): string {
  const v = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!/^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/.test(v)) {
    throw new InputError(field, `"${printable(String(value ?? ''))}" is not an OS slug (lower-case letters, digits, ".", "_" and "-", such as debian-12, at most 64)`);
  }
  return v;
}

/** A profile's name: a slug, because WHMCS products and the CLI refer to profiles by it. */
export function checkProfileName(field: string, value: unknown): string {
  const v = typeof value === 'string' ? value.trim() : '';
  if (!/^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$/.test(v) || /^\d+$/.test(v)) {
    throw new InputError(field, `"${printable(String(value ?? ''))}" must be a slug: lower-case letters, digits, "-" and "_", not only digits, at most 64 (such as vps-small)`);
  }
  return v;
}

// --- the VM password -----------------------------------------------------------------------

/**
 * The VM's password (cloud-init cipassword): 8–128 characters, any printable character including
 * quotes, backslashes and spaces (they travel as JSON and form values, never through a shell), but
 * no control, format or line-separator character.
 */
export function checkVmPassword(field: string, value: string): string {
  const chars = [...String(value)];
  if (chars.length < 8) throw new InputError(field, `is ${chars.length} characters long; a VM password needs at least 8`);
  if (chars.length > 128) throw new InputError(field, `is ${chars.length} characters long; a VM password has at most 128`);
  const i = chars.findIndex((c) => INVISIBLE.test(c));
  if (i >= 0) throw new InputError(field, `has a control or invisible character (U+${chars[i]!.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) at position ${i + 1}; use printable characters only`);
  return String(value);
}

// --- SSH public keys -----------------------------------------------------------------------

export const SSH_KEYS_MAX = 20;
export const SSH_KEYS_MAX_BYTES = 16 * 1024;

/** Each accepted key type and the strings its blob holds after the type: [curve name?]. */
const KEY_TYPES: Record<string, { parts: number; curve?: string; check?: (parts: Buffer[]) => string | null }> = {
  'ssh-ed25519': { parts: 2, check: (p) => (p[1]!.length === 32 ? null : 'its ed25519 public key is not 32 bytes') },
  'ssh-rsa': { parts: 3, check: (p) => (rsaBits(p[2]!) >= 1024 ? null : `its RSA modulus has ${rsaBits(p[2]!)} bits; at least 1024 are needed (2048 or more is advised)`) },
  'ecdsa-sha2-nistp256': { parts: 3, curve: 'nistp256' },
  'ecdsa-sha2-nistp384': { parts: 3, curve: 'nistp384' },
  'ecdsa-sha2-nistp521': { parts: 3, curve: 'nistp521' },
  'sk-ssh-ed25519@openssh.com': { parts: 3, check: (p) => (p[1]!.length === 32 ? null : 'its ed25519 public key is not 32 bytes') },
  'sk-ecdsa-sha2-nistp256@openssh.com': { parts: 4, curve: 'nistp256' },
};
export const SSH_KEY_TYPES: readonly string[] = Object.keys(KEY_TYPES);

function rsaBits(n: Buffer): number {
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  if (i === n.length) return 0;
  return (n.length - i) * 8 - Math.clz32(n[i]!) + 24;
}

/** The length-prefixed strings of an SSH key blob (RFC 4253 §6.6), or null when it does not parse whole. */
function blobParts(blob: Buffer): Buffer[] | null {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) return null;
    const len = blob.readUInt32BE(at);
    at += 4;
    if (len > blob.length - at) return null;
    parts.push(blob.subarray(at, at + len));
    at += len;
  }
  return parts;
}

/** Why one line is not an acceptable public key, or null. */
function keyProblem(type: string, b64: string): string | null {
  const spec = KEY_TYPES[type];
  if (!spec) return `starts with "${printable(type.slice(0, 40))}", which is not a public key type this accepts (${SSH_KEY_TYPES.join(', ')}); authorized_keys options and certificates are not accepted`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return 'has a key part that is not base64';
  const blob = Buffer.from(b64, 'base64');
  if (blob.toString('base64') !== b64) return 'has a key part that is not canonical base64';
  const parts = blobParts(blob);
  if (!parts || parts.length === 0) return 'has a key part that does not decode to an SSH public key';
  const inner = parts[0]!.toString('latin1');
  if (inner !== type) return `says "${type}" but its key part holds a "${printable(inner.slice(0, 40))}" key`;
  if (parts.length !== spec.parts) return `has a ${type} key part of the wrong shape (${parts.length} fields, ${spec.parts} expected)`;
  if (spec.curve && parts[1]!.toString('latin1') !== spec.curve) return `names the curve "${printable(parts[1]!.toString('latin1').slice(0, 20))}", not ${spec.curve}`;
  return spec.check ? spec.check(parts) : null;
}

/**
 * The customer's OpenSSH public keys, one per line: `type base64 [comment]`. Blank lines are
 * dropped and a browser's CRLF line ends count as line ends; any other CR, NUL or control
 * character is refused (it could end a line of authorized_keys early or hide text). Each key must
 * be of a known type, decode, and carry that same type inside. At most 20 keys and 16 KB.
 * Returns the keys normalised (single spaces, no duplicates), in their order.
 */
export function checkSshKeys(field: string, value: string): string[] {
  const text = String(value).replace(/\r\n/g, '\n');
  if (Buffer.byteLength(text, 'utf8') > SSH_KEYS_MAX_BYTES) throw new InputError(field, `is ${Buffer.byteLength(text, 'utf8')} bytes; at most ${SSH_KEYS_MAX_BYTES} (16 KB) of keys are accepted`);
  const lines = text.split('\n');
  const keys: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const at = `line ${i + 1}`;
    const ctl = [...line].find((c) => c !== '\t' && INVISIBLE.test(c));
    if (ctl !== undefined) {
      const what = ctl === '\r' ? 'a carriage return (CR) that is not part of a line end' : ctl === '\0' ? 'a NUL byte' : `a control or invisible character (U+${ctl.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
      throw new InputError(field, `${at} has ${what}; give one OpenSSH public key per line and nothing else`);
    }
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const [type, b64, ...comment] = trimmed.split(/[ \t]+/);
    if (!b64) throw new InputError(field, `${at} "${printable(trimmed)}" is not "type base64 [comment]" (such as ssh-ed25519 AAAAC3Nza… you@laptop)`);
    const problem = keyProblem(type!, b64);
    if (problem) throw new InputError(field, `${at} ${problem}`);
    const key = [type, b64, ...comment].join(' ');
    if (seen.has(`${type} ${b64}`)) continue;
    seen.add(`${type} ${b64}`);
    keys.push(key);
    if (keys.length > SSH_KEYS_MAX) throw new InputError(field, `has more than ${SSH_KEYS_MAX} keys; at most ${SSH_KEYS_MAX} are accepted`);
  }
  return keys;
}
