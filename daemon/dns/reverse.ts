// Reverse DNS names, as pure functions: the in-addr.arpa / ip6.arpa zone that covers an address
// for a prefix, and the address's PTR name in it. IPv4 zones are cut on octets (/8, /16, /24; no
// classless delegation), IPv6 zones on nibbles (any multiple of 4, e.g. /48 or /64).
import { isIPv4, isIPv6 } from 'node:net';
import { InputError } from '../common/errors.ts';

export interface ReverseName {
  /** The reverse zone, e.g. `2.0.192.in-addr.arpa`. */
  zone: string;
  /** The PTR record's name relative to that zone, e.g. `10` (the contract's record names are relative). */
  name: string;
  /** The PTR name in full, e.g. `10.2.0.192.in-addr.arpa`. */
  fqdn: string;
}

/** The 32 hexadecimal nibbles of an IPv6 address, most significant first (embedded IPv4 tails included). */
export function ipv6Nibbles(ip: string): string[] {
  if (!isIPv6(ip)) throw new InputError('ip', `"${ip}" is not an IPv6 address`);
  let text = ip.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, null];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === null ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((g) => g.padStart(4, '0').split(''));
}

/** RFC 5952 text form (lower case, leading zeros dropped, the longest run of zero groups as `::`). */
export function canonicalIPv6(ip: string): string {
  const n = ipv6Nibbles(ip);
  const groups = Array.from({ length: 8 }, (_, i) => parseInt(n.slice(i * 4, i * 4 + 4).join(''), 16).toString(16));
  let best = -1; let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function checkPrefix(prefix: number, family: 4 | 6): void {
  if (!Number.isInteger(prefix)) throw new InputError('prefix', 'must be a whole number of bits');
  if (family === 4 && ![8, 16, 24].includes(prefix)) throw new InputError('prefix', `an IPv4 reverse zone is cut on an octet: /8, /16 or /24, not /${prefix} (classless delegation is not supported)`);
  if (family === 6 && (prefix < 4 || prefix > 124 || prefix % 4 !== 0)) throw new InputError('prefix', `an IPv6 reverse zone is cut on a nibble: a multiple of 4 from /4 to /124, not /${prefix}`);
}

/** The reverse zone covering `ip` at `prefix` bits, and the PTR name of `ip` in it. */
export function reverseName(ip: string, prefix: number): ReverseName {
  if (isIPv4(ip)) {
    checkPrefix(prefix, 4);
    const labels = ip.split('.').map((o) => String(Number(o))).reverse();
    const hostLabels = 4 - prefix / 8;
    const zone = [...labels.slice(hostLabels), 'in-addr', 'arpa'].join('.');
    const name = labels.slice(0, hostLabels).join('.');
    return { zone, name, fqdn: `${name}.${zone}` };
  }
  if (isIPv6(ip)) {
    checkPrefix(prefix, 6);
    const labels = ipv6Nibbles(ip).reverse();
    const hostLabels = 32 - prefix / 4;
    const zone = [...labels.slice(hostLabels), 'ip6', 'arpa'].join('.');
    const name = labels.slice(0, hostLabels).join('.');
    return { zone, name, fqdn: `${name}.${zone}` };
  }
  throw new InputError('ip', `"${ip}" is not an IPv4 or IPv6 address`);
}

/** The reverse zone of a network in CIDR form (`192.0.2.0/24`, `2001:db8::/48`); host bits must be zero. */
export function reverseZone(cidr: string): string {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(cidr.trim());
  if (!m) throw new InputError('network', `"${cidr}" is not a network in CIDR form (address/prefix)`);
  const [ip, prefix] = [m[1]!, Number(m[2])];
  const { zone, name } = reverseName(ip, prefix);
  if (!/^[0.]+$/.test(name)) throw new InputError('network', `${cidr} has host bits set: the network of that address is not ${ip}`);
  return zone;
}
