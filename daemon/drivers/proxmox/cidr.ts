// The form Proxmox's firewall stores an ipset address in: host bits masked, a full-length prefix
// dropped (`192.0.2.10/32` is kept as `192.0.2.10`), IPv6 lower-case and compressed (RFC 5952).
// An entry is removed by that stored form only (another spelling is a silent no-op), and a
// handler compares wanted and present addresses in it.
import { isIPv4, isIPv6 } from 'node:net';
import { cidr as checkCidr } from './validate.ts';

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function intToV4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

function v6ToBig(ip: string): bigint {
  let text = ip.toLowerCase();
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = v4ToInt(v4[1]!);
    text = text.slice(0, -v4[1]!.length) + `${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function bigToV6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(16 * (7 - i))) & 0xffffn));
  // The longest run of two or more zero groups becomes '::' (the first one on a tie).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** `192.0.2.10/32` → `192.0.2.10`, `192.0.2.77/24` → `192.0.2.0/24`, `2001:DB8:0::10/128` → `2001:db8::10`. */
export function cleanCidr(value: string, field = 'cidr'): string {
  checkCidr(value, field);
  const [ip, len] = value.split('/') as [string, string | undefined];
  if (isIPv4(ip)) {
    if (len === undefined || len === '32') return ip.split('.').map(Number).join('.');
    const bits = Number(len);
    const n = v4ToInt(ip);
    return `${intToV4(n - (n % 2 ** (32 - bits)))}/${bits}`;
  }
  if (!isIPv6(ip)) return value;
  const big = v6ToBig(ip);
  if (len === undefined || len === '128') return bigToV6(big);
  const bits = Number(len);
  const mask = ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n);
  return `${bigToV6(big & mask)}/${bits}`;
}
