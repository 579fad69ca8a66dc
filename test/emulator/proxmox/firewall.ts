// Per-VM firewall: options and IP sets (/nodes/{node}/qemu/{vmid}/firewall/...). Entries are
// normalised as pve-firewall does (host bits masked, a /32 or /128 suffix dropped), so an entry
// added as 192.0.2.10/32 is addressed afterwards as 192.0.2.10.
import { createHash } from 'node:crypto';
import type { Ctx } from './context.ts';
import { die, paramError } from './errors.ts';
import type { Router } from './http.ts';
import { NODE, opt, validate, VMID } from './schema.ts';
import type { VmState } from './state.ts';

type Entry = { cidr: string; comment?: string; nomatch?: boolean };

const IPSET_NAME = { type: 'string' as const, pattern: /^[A-Za-z][A-Za-z0-9\-_]+$/, minLength: 2, maxLength: 64 };
const CIDR = { type: 'string' as const, maxLength: 512 };
const LOG = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog'];
const OPTIONS = {
  enable: opt({ type: 'boolean' as const }), ipfilter: opt({ type: 'boolean' as const }), macfilter: opt({ type: 'boolean' as const }),
  dhcp: opt({ type: 'boolean' as const }), ndp: opt({ type: 'boolean' as const }), radv: opt({ type: 'boolean' as const }),
  policy_in: opt({ type: 'string' as const, enum: ['ACCEPT', 'REJECT', 'DROP'] }), policy_out: opt({ type: 'string' as const, enum: ['ACCEPT', 'REJECT', 'DROP'] }),
  log_level_in: opt({ type: 'string' as const, enum: LOG }), log_level_out: opt({ type: 'string' as const, enum: LOG }),
};

function digestOf(list: Array<Record<string, unknown>>): string {
  const sha = createHash('sha1');
  for (const e of list) for (const k of Object.keys(e).sort()) if (e[k] !== undefined) sha.update(`${k}:${String(e[k])}\n`);
  return sha.digest('hex');
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function v6ToBig(ip: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(ip) || (ip.match(/::/g) ?? []).length > 1) return undefined;
  const [head, tail] = ip.includes('::') ? ip.split('::') as [string, string] : [ip, undefined];
  const h = head ? head.split(':') : []; const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  if (fill < 0 || (tail === undefined && h.length !== 8)) return undefined;
  const groups = [...h, ...Array(fill).fill('0'), ...t];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}
function bigToV6(n: bigint): string {
  const g: string[] = [];
  for (let i = 7; i >= 0; i--) g.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  let best = -1; let len = 0;
  for (let i = 0; i < 8; i++) { let j = i; while (j < 8 && g[j] === '0') j++; if (j - i > len && j - i > 1) { best = i; len = j - i; } }
  if (best < 0) return g.join(':');
  return `${g.slice(0, best).join(':')}::${g.slice(best + len).join(':')}`;
}

/** clean_cidr + parse_ip_or_cidr: mask host bits, drop /32 and /128, refuse anything else. */
export function normaliseCidr(cidr: string): string {
  const [ip, len, extra] = cidr.split('/');
  const bad = () => paramError({ cidr: 'value does not look like a valid IP address or CIDR network' });
  if (extra !== undefined || !ip || (len !== undefined && !/^\d+$/.test(len))) bad();
  if (IPV4.test(ip!)) {
    if (len === undefined) return ip!;
    const bits = Number(len);
    if (bits > 32) bad();
    const n = ip!.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    const masked = bits === 0 ? 0 : (n - (n % 2 ** (32 - bits)));
    const s = [24, 16, 8, 0].map((sh) => Math.floor(masked / 2 ** sh) % 256).join('.');
    return bits === 32 ? s : `${s}/${bits}`;
  }
  const big = v6ToBig(ip!);
  if (big === undefined) return bad();
  if (len === undefined) return bigToV6(big);
  const bits = Number(len);
  if (bits > 128) bad();
  const mask = bits === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n);
  const s = bigToV6(big & mask);
  return bits === 128 ? s : `${s}/${bits}`;
}

export function firewallRoutes(r: Router, ctx: Ctx): void {
  const c = ctx.cluster;
  const base = '/nodes/{node}/qemu/{vmid}/firewall';
  const vmOf = (p: Record<string, unknown>): VmState => c.vm(String(p.node), Number(p.vmid));
  const setOf = (vm: VmState, name: string): Entry[] => {
    const s = vm.firewall.ipsets.get(name);
    if (!s) die(`no such IPSet '${name}'`);
    return s;
  };
  const withDigest = (list: Entry[]) => {
    const plain = list.map((e) => ({ cidr: e.cidr, ...(e.comment !== undefined ? { comment: e.comment } : {}), ...(e.nomatch ? { nomatch: 1 } : {}) }));
    const digest = digestOf(plain);
    return { digest, list: plain.map((e) => ({ ...e, digest })) };
  };
  const comments = new WeakMap<VmState, Map<string, string>>();
  const commentsOf = (vm: VmState) => { let m = comments.get(vm); if (!m) { m = new Map(); comments.set(vm, m); } return m; };
  const setList = (vm: VmState) => {
    const items = [...vm.firewall.ipsets.keys()].sort().map((name) => ({ name, ...(commentsOf(vm).has(name) ? { comment: commentsOf(vm).get(name) } : {}) }));
    const digest = digestOf(items);
    return { digest, list: items.map((e) => ({ ...e, digest })) };
  };

  r.add('GET', base, (req) => { vmOf(validate({ node: NODE, vmid: VMID }, req.params)); return ['rules', 'aliases', 'ipset', 'options', 'log', 'refs'].map((name) => ({ name })); });

  // The rules: firewall-rules.ts.

  r.add('GET', `${base}/options`, (req) => {
    const vm = vmOf(validate({ node: NODE, vmid: VMID }, req.params));
    const o = vm.firewall.options;
    return { ...o, digest: digestOf([o]) };
  });

  r.add('PUT', `${base}/options`, (req) => {
    const p = validate({ node: NODE, vmid: VMID, delete: opt({ type: 'string', maxLength: 4096 }), digest: opt({ type: 'string', maxLength: 64 }), ...OPTIONS }, req.params);
    const vm = vmOf(p);
    if (p.digest && p.digest !== digestOf([vm.firewall.options])) die('detected modified configuration - file changed by other user? Try again.');
    for (const k of String(p.delete ?? '').split(/[,;\s]+/).filter(Boolean)) {
      if (!(k in OPTIONS)) paramError({ delete: `unknown option '${k}'` });
      delete vm.firewall.options[k];
    }
    for (const k of Object.keys(OPTIONS)) if (p[k] !== undefined) vm.firewall.options[k] = p[k]!;
    return null;
  });

  r.add('GET', `${base}/ipset`, (req) => setList(vmOf(validate({ node: NODE, vmid: VMID }, req.params))).list);

  r.add('POST', `${base}/ipset`, (req) => {
    const p = validate({ node: NODE, vmid: VMID, name: IPSET_NAME, comment: opt({ type: 'string' }), digest: opt({ type: 'string', maxLength: 64 }), rename: opt(IPSET_NAME) }, req.params);
    const vm = vmOf(p);
    const name = String(p.name);
    const sets = vm.firewall.ipsets;
    if (p.rename !== undefined) {
      const from = String(p.rename);
      if (p.digest && p.digest !== setList(vm).digest) die('detected modified configuration - file changed by other user? Try again.');
      if (!sets.has(from)) paramError({ name: `IPSet '${from}' does not exist` });
      if (sets.has(name) && name !== from) paramError({ name: `IPSet '${name}' does already exist` });
      const data = sets.get(from)!; sets.delete(from); sets.set(name, data);
      const cm = commentsOf(vm); const old = cm.get(from); cm.delete(from);
      if (old !== undefined) cm.set(name, old);
      if (p.comment !== undefined) cm.set(name, String(p.comment));
      return null;
    }
    if (sets.has(name)) paramError({ name: `IPSet '${name}' already exists` });
    sets.set(name, []);
    if (p.comment !== undefined) commentsOf(vm).set(name, String(p.comment));
    return null;
  });

  r.add('GET', `${base}/ipset/{name}`, (req) => {
    const p = validate({ node: NODE, vmid: VMID, name: IPSET_NAME }, req.params);
    return withDigest(setOf(vmOf(p), String(p.name))).list;
  });

  r.add('DELETE', `${base}/ipset/{name}`, (req) => {
    const p = validate({ node: NODE, vmid: VMID, name: IPSET_NAME, force: opt({ type: 'boolean' }) }, req.params);
    const vm = vmOf(p);
    const name = String(p.name);
    const set = setOf(vm, name);
    if (set.length && !p.force) die(`IPSet '${name}' is not empty`);
    vm.firewall.ipsets.delete(name);
    commentsOf(vm).delete(name);
    return null;
  });

  r.add('POST', `${base}/ipset/{name}`, (req) => {
    const p = validate({ node: NODE, vmid: VMID, name: IPSET_NAME, cidr: CIDR, comment: opt({ type: 'string' }), nomatch: opt({ type: 'boolean' }) }, req.params);
    const set = setOf(vmOf(p), String(p.name));
    const cidr = normaliseCidr(String(p.cidr));
    if (set.some((e) => e.cidr === cidr)) paramError({ cidr: `address '${cidr}' already exists` });
    if (/\/0+$/.test(cidr)) paramError({ cidr: 'a zero prefix is not allowed in ipset entries' });
    const e: Entry = { cidr };
    if (p.nomatch) e.nomatch = true;
    if (p.comment) e.comment = String(p.comment);
    set.unshift(e);
    return null;
  });

  r.add('GET', `${base}/ipset/{name}/{cidr*}`, (req) => {
    const p = validate({ node: NODE, vmid: VMID, name: IPSET_NAME, cidr: CIDR }, req.params);
    const { list } = withDigest(setOf(vmOf(p), String(p.name)));
    const e = list.find((x) => x.cidr === p.cidr);
    if (!e) paramError({ cidr: 'no such IP/Network' });
    return e;
  });

  r.add('PUT', `${base}/ipset/{name}/{cidr*}`, (req) => {
    const p = validate({ node: NODE, vmid: VMID, name: IPSET_NAME, cidr: CIDR, comment: opt({ type: 'string' }), nomatch: opt({ type: 'boolean' }), digest: opt({ type: 'string', maxLength: 64 }) }, req.params);
    const set = setOf(vmOf(p), String(p.name));
    if (p.digest && p.digest !== withDigest(set).digest) die('detected modified configuration - file changed by other user? Try again.');
    const e = set.find((x) => x.cidr === p.cidr);
    if (!e) paramError({ cidr: 'no such IP/Network' });
    if (p.nomatch) e.nomatch = true; else delete e.nomatch;
    if (p.comment !== undefined && p.comment !== '') e.comment = String(p.comment); else delete e.comment;
    return null;
  });

  r.add('DELETE', `${base}/ipset/{name}/{cidr*}`, (req) => {
    const p = validate({ node: NODE, vmid: VMID, name: IPSET_NAME, cidr: CIDR, digest: opt({ type: 'string', maxLength: 64 }) }, req.params);
    const set = setOf(vmOf(p), String(p.name));
    if (p.digest && p.digest !== withDigest(set).digest) die('detected modified configuration - file changed by other user? Try again.');
    // Removing an entry that is not there (e.g. '192.0.2.10/32' for the stored '192.0.2.10') is a silent no-op.
    const i = set.findIndex((x) => x.cidr === p.cidr);
    if (i >= 0) set.splice(i, 1);
    return null;
  });
}
