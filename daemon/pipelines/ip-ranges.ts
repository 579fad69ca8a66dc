// Address arithmetic for the IP pools, as pure functions on BigInt: parsing and canonical text
// (IPv4 dotted decimal, IPv6 in RFC 5952 form), networks in CIDR form, allocatable ranges inside
// them, and the lowest free address of a range given the sorted addresses already taken. Nothing
// here enumerates a range: an IPv6 /64 has 2^64 addresses, so sizes are BigInt and gaps are found
// by walking the (few) taken addresses, never the free ones.
import { InputError } from '../common/errors.ts';

export type Family = 4 | 6;

export interface Addr { family: Family; value: bigint }
export interface Cidr { family: Family; base: bigint; bits: number }
/** first..last inclusive, of one family. */
export interface Range { first: bigint; last: bigint }

export const familyBits = (f: Family): number => (f === 4 ? 32 : 128);
const maxOf = (f: Family): bigint => (1n << BigInt(familyBits(f))) - 1n;

function parseV4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    // No leading zeros: "010" is octal to some tools and decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return null;
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

function parseV6(text: string): bigint | null {
  if (!/^[0-9A-Fa-f:.]{2,45}$/.test(text)) return null;
  let body = text;
  if (body.includes('.')) {
    // An embedded IPv4 tail (::ffff:192.0.2.1) stands for the last two groups.
    const at = body.lastIndexOf(':');
    const v4 = parseV4(body.slice(at + 1));
    if (v4 === null) return null;
    body = `${body.slice(0, at + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): bigint[] | null => {
    if (s === '') return [];
    const out: bigint[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
      out.push(BigInt('0x' + g));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || rest === null) return null;
  const given = head.length + rest.length;
  let all: bigint[];
  if (halves.length === 2) {
    if (given > 7) return null; // "::" stands for at least one group
    all = [...head, ...Array<bigint>(8 - given).fill(0n), ...rest];
  } else {
    if (given !== 8) return null;
    all = head;
  }
  return all.reduce((v, g) => (v << 16n) | g, 0n);
}

/** The address, or null when the text is not an IPv4 or IPv6 address (no zone ids, no prefix). */
export function parseIp(text: string): Addr | null {
  const s = text.trim();
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === null ? null : { family: 6, value: v };
  }
  const v = parseV4(s);
  return v === null ? null : { family: 4, value: v };
}

/** The address, or an InputError naming the field. */
export function ipField(field: string, text: string, family?: Family): Addr {
  const a = parseIp(text);
  if (!a) throw new InputError(field, `"${text.slice(0, 60)}" is not an IPv4 or IPv6 address`);
  if (family && a.family !== family) throw new InputError(field, `${text} is an IPv${a.family} address; this pool is IPv${family}`);
  return a;
}

/** Canonical text: dotted decimal, or RFC 5952 (lower case, no leading zeros, the longest run of two or more zero groups as "::", the first on a tie). */
export function formatIp(a: Addr): string {
  if (a.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((a.value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => (a.value >> BigInt(112 - i * 16)) & 0xffffn);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0n) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0n) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (g: bigint[]) => g.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** The canonical text of an address, or null when it is not one. */
export function canonicalIp(text: string): string | null {
  const a = parseIp(text);
  return a ? formatIp(a) : null;
}

/** A sortable key: fixed-width lower-case hex (8 digits for IPv4, 32 for IPv6), so text order is numeric order. */
export function ipKey(a: Addr): string {
  return a.value.toString(16).padStart(a.family === 4 ? 8 : 32, '0');
}

export function fromKey(family: Family, key: string): Addr {
  return { family, value: BigInt('0x' + key) };
}

/** A network in CIDR form; host bits must be zero (203.0.113.5/24 is refused, naming 203.0.113.0/24). */
export function cidrField(field: string, text: string): Cidr {
  const m = /^([^/\s]+)\/([0-9]{1,3})$/.exec(text.trim());
  if (!m) throw new InputError(field, `"${text.slice(0, 60)}" is not a network in CIDR form (address/prefix, e.g. 203.0.113.0/24 or 2001:db8:1::/64)`);
  const a = parseIp(m[1]!);
  if (!a) throw new InputError(field, `"${m[1]!.slice(0, 60)}" is not an IPv4 or IPv6 address`);
  const bits = Number(m[2]);
  if (bits > familyBits(a.family)) throw new InputError(field, `/${bits} is longer than an IPv${a.family} address (at most /${familyBits(a.family)})`);
  const base = a.value & netMask(a.family, bits);
  if (base !== a.value) throw new InputError(field, `${text.trim()} has host bits set: the network is ${formatCidr({ family: a.family, base, bits })}`);
  return { family: a.family, base, bits };
}

function netMask(f: Family, bits: number): bigint {
  const host = BigInt(familyBits(f) - bits);
  return maxOf(f) ^ ((1n << host) - 1n);
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.base })}/${c.bits}`;
}

export function cidrLast(c: Cidr): bigint {
  return c.base | ((1n << BigInt(familyBits(c.family) - c.bits)) - 1n);
}

export function inCidr(c: Cidr, a: Addr): boolean {
  return a.family === c.family && a.value >= c.base && a.value <= cidrLast(c);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.base <= cidrLast(b) && b.base <= cidrLast(a);
}

/** `first-last` or a single address, inside the network. */
export function rangeField(field: string, text: string, net: Cidr): Range {
  const parts = text.split('-').map((s) => s.trim());
  if (parts.length > 2 || parts.some((p) => p === '')) throw new InputError(field, `"${text.slice(0, 100)}" is not a range: write first-last (e.g. 203.0.113.10-203.0.113.99) or one address`);
  const first = ipField(field, parts[0]!, net.family);
  const last = parts.length === 2 ? ipField(field, parts[1]!, net.family) : first;
  if (!inCidr(net, first) || !inCidr(net, last)) throw new InputError(field, `${text.trim()} is not inside the network ${formatCidr(net)}`);
  if (first.value > last.value) throw new InputError(field, `${formatIp(first)} comes after ${formatIp(last)}: write the lower address first`);
  if (net.family === 4 && net.bits <= 30 && (first.value === net.base || last.value === cidrLast(net))) {
    throw new InputError(field, `${text.trim()} includes the network or broadcast address of ${formatCidr(net)}`);
  }
  return { first: first.value, last: last.value };
}

export function formatRange(family: Family, r: Range): string {
  const f = formatIp({ family, value: r.first });
  return r.first === r.last ? f : `${f}-${formatIp({ family, value: r.last })}`;
}

/**
 * The allocatable addresses of a network when no ranges are given: IPv4 without the network and
 * broadcast addresses (a /31 or /32 keeps all of its addresses, RFC 3021), IPv6 without the
 * subnet-router anycast address (the all-zero host, RFC 4291); both without the gateway.
 */
export function defaultRanges(net: Cidr, gateway: bigint | null): Range[] {
  let first = net.base;
  let last = cidrLast(net);
  if (net.family === 4 && net.bits <= 30) { first += 1n; last -= 1n; }
  if (net.family === 6 && net.bits <= 127) first += 1n;
  return gateway === null ? [{ first, last }] : without([{ first, last }], gateway);
}

/** The ranges with one address taken out (a range holding it is split in two). */
export function without(ranges: Range[], value: bigint): Range[] {
  const out: Range[] = [];
  for (const r of ranges) {
    if (value < r.first || value > r.last) { out.push(r); continue; }
    if (r.first < value) out.push({ first: r.first, last: value - 1n });
    if (value < r.last) out.push({ first: value + 1n, last: r.last });
  }
  return out;
}

/** Sorted by first address; an error naming the field when two overlap. */
export function sortedRanges(field: string, family: Family, ranges: Range[]): Range[] {
  const s = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  for (let i = 1; i < s.length; i++) {
    if (s[i]!.first <= s[i - 1]!.last) throw new InputError(field, `${formatRange(family, s[i - 1]!)} and ${formatRange(family, s[i]!)} overlap`);
  }
  return s;
}

export function rangesSize(ranges: Range[]): bigint {
  return ranges.reduce((n, r) => n + (r.last - r.first + 1n), 0n);
}

export function inRanges(ranges: Range[], value: bigint): boolean {
  return ranges.some((r) => value >= r.first && value <= r.last);
}

/**
 * One step of the gap search: the lowest value in cursor..last that is not among `taken` (sorted
 * ascending, every value ≥ cursor, a batch of what lies in cursor..last), or, when the batch is
 * full and has no gap, where the next batch starts. `complete` says the batch held everything up
 * to `last`.
 */
export function gapIn(cursor: bigint, last: bigint, taken: bigint[], complete: boolean): { free: bigint } | { next: bigint } | null {
  let c = cursor;
  for (const t of taken) {
    if (t > last) break;
    if (t > c) return { free: c };
    if (t === c) c += 1n;
  }
  if (!complete) return { next: c };
  return c <= last ? { free: c } : null;
}

/** The lowest address of the ranges not among `taken` (sorted ascending), or null when every one is taken. */
export function lowestFree(ranges: Range[], taken: bigint[]): bigint | null {
  for (const r of ranges) {
    const g = gapIn(r.first, r.last, taken.filter((t) => t >= r.first && t <= r.last), true);
    if (g && 'free' in g) return g.free;
  }
  return null;
}

/** How a BigInt count reads: exact up to a million, then as a power of two or in scientific form. */
export function countText(n: bigint): string {
  if (n < 1_000_000n) return String(n);
  const bits = n.toString(2).length - 1;
  if (n === 1n << BigInt(bits)) return `2^${bits}`;
  return Number(n).toExponential(2).replace('e+', 'e');
}
