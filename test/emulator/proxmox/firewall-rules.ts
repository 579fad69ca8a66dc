// A VM's firewall rules (/nodes/{node}/qemu/{vmid}/firewall/rules) and the cluster's security
// groups (/cluster/firewall/groups, names only: a group rule on a VM must name one). As
// pve-firewall's API does it (API2/Firewall/Rules.pm, Firewall.pm verify_rule; read, not copied):
// the list carries each rule's `pos` and the digest of the list; a new rule goes first (position
// 0: `pos` on create is accepted and not used) and is disabled unless `enable` is given; PUT
// rules/{pos} changes fields (`delete` removes them) or, with `moveto`, moves the rule before that
// position (to the end when past it); every change may send the digest it read, and a stale one is
// refused. The digest covers the rules only (Proxmox's covers the VM's whole firewall file).
import { createHash } from 'node:crypto';
import type { Ctx } from './context.ts';
import { die, paramError } from './errors.ts';
import type { Router } from './http.ts';
import { NODE, opt, type Params, validate, VMID } from './schema.ts';
import type { VmState } from './state.ts';

type Rule = Record<string, string | number>;

const NAME = /^[A-Za-z][A-Za-z0-9\-_]+$/;
const LOG = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog'];
/** /etc/protocols names pve-firewall takes (a number 0–255 is taken too). */
const PROTOCOLS = new Set(['tcp', 'udp', 'icmp', 'icmpv6', 'ipv6-icmp', 'igmp', 'ggp', 'ipencap', 'st', 'egp', 'igp', 'pup', 'hmp', 'xns-idp', 'rdp', 'iso-tp4', 'dccp', 'xtp', 'ddp', 'idpr-cmtp', 'ipv6', 'ipv6-route', 'ipv6-frag', 'idrp', 'rsvp', 'gre', 'esp', 'ah', 'skip', 'ipv6-nonxt', 'ipv6-opts', 'vmtp', 'eigrp', 'ospf', 'ax.25', 'ipip', 'etherip', 'encap', 'pim', 'ipcomp', 'vrrp', 'l2tp', 'isis', 'sctp', 'fc', 'mobility-header', 'udplite', 'mpls-in-ip', 'manet', 'hip', 'shim6', 'wesp', 'rohc']);
const WITH_PORTS = new Set(['tcp', 'udp', 'dccp', 'sctp', 'udplite']);
/** A few /etc/services names a port may be given as. */
const SERVICES: Record<string, number> = { ssh: 22, smtp: 25, domain: 53, http: 80, pop3: 110, imap: 143, https: 443, submission: 587, imaps: 993, pop3s: 995, mysql: 3306 };
const MACROS = new Set(['SSH', 'HTTP', 'HTTPS', 'DNS', 'Ping', 'SMTP', 'IMAP', 'IMAPS', 'POP3', 'POP3S', 'MySQL', 'Web']);
/** Rule fields in the order pve-firewall lists them. */
const FIELDS = ['type', 'action', 'macro', 'iface', 'source', 'dest', 'proto', 'dport', 'sport', 'icmp-type', 'log', 'comment'] as const;

const RULE_PROPS = {
  action: opt({ type: 'string' as const, pattern: NAME, maxLength: 20 }), type: opt({ type: 'string' as const, enum: ['in', 'out', 'group', 'forward'] }),
  enable: opt({ type: 'integer' as const, min: 0 }), comment: opt({ type: 'string' as const }), dest: opt({ type: 'string' as const, maxLength: 512 }),
  source: opt({ type: 'string' as const, maxLength: 512 }), proto: opt({ type: 'string' as const }), dport: opt({ type: 'string' as const }),
  sport: opt({ type: 'string' as const }), 'icmp-type': opt({ type: 'string' as const }), iface: opt({ type: 'string' as const, pattern: /^net\d+$/, maxLength: 20 }),
  log: opt({ type: 'string' as const, enum: LOG }), macro: opt({ type: 'string' as const, maxLength: 128 }), digest: opt({ type: 'string' as const, maxLength: 64 }),
  pos: opt({ type: 'integer' as const, min: 0 }),
};

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]+$/;

function v4Num(ip: string): number { return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0); }

/** One address, network or range; its family, or an error message. */
function addressFamily(item: string, vm: VmState): { family?: 4 | 6; error?: string } {
  if (item.startsWith('+')) {
    const name = item.slice(1).replace(/^(dc|guest)\//, '');
    return vm.firewall.ipsets.has(name) ? {} : { error: `no such ipset '${name}'` };
  }
  const range = item.split('-');
  if (range.length === 2) {
    const [a, b] = range as [string, string];
    if (IPV4.test(a) && IPV4.test(b)) return v4Num(a) <= v4Num(b) ? { family: 4 } : { error: `invalid IP range '${item}'` };
    return { error: `invalid IP range '${item}'` };
  }
  const [ip, len, extra] = item.split('/');
  if (extra !== undefined || !ip) return { error: `invalid IP address or CIDR '${item}'` };
  if (IPV4.test(ip)) {
    if (len === undefined) return { family: 4 };
    if (!/^\d+$/.test(len) || Number(len) > 32) return { error: `invalid IP address or CIDR '${item}'` };
    const bits = Number(len);
    // Net::IP refuses a network with host bits set.
    if (bits < 32 && v4Num(ip) % 2 ** (32 - bits) !== 0) return { error: `invalid IP address or CIDR '${item}'` };
    return { family: 4 };
  }
  if (IPV6.test(ip) && ip.includes(':') && (ip.match(/::/g) ?? []).length <= 1) {
    if (len !== undefined && (!/^\d+$/.test(len) || Number(len) > 128)) return { error: `invalid IP address or CIDR '${item}'` };
    return { family: 6 };
  }
  return { error: `invalid IP address or CIDR '${item}'` };
}

function addressList(field: string, text: string, vm: VmState, errors: Record<string, string>): 4 | 6 | undefined {
  const fams = new Set<number>();
  for (const item of text.split(',')) {
    const r = addressFamily(item.trim(), vm);
    if (r.error) { errors[field] = r.error; return undefined; }
    if (r.family) fams.add(r.family);
  }
  if (fams.size > 1) { errors[field] = 'you can\'t mix IPv4 and IPv6 addresses in one list'; return undefined; }
  return fams.size ? ([...fams][0] as 4 | 6) : undefined;
}

function portList(text: string): string | undefined {
  let count = 0;
  for (const item of text.split(',')) {
    const m = /^(\w[\w-]*)(?::(\w[\w-]*))?$/.exec(item.trim());
    if (!m) return `invalid port '${item}'`;
    const num = (s: string) => (/^\d+$/.test(s) ? Number(s) : SERVICES[s]);
    const a = num(m[1]!);
    if (a === undefined) return `invalid port '${m[1]}'`;
    if (a > 65535) return `invalid port '${a}'`;
    if (m[2] !== undefined) {
      const b = num(m[2]);
      if (b === undefined || b > 65535) return `invalid port '${m[2]}'`;
      if (b < a) return `invalid port range '${item}'`;
      count += 2;
    } else count++;
  }
  return count > 15 ? 'too many entries in port list (> 15 numbers)' : undefined;
}

/** verify_rule: every problem of the rule, at once, as a 400. */
function verifyRule(rule: Rule, vm: VmState, groups: ReadonlySet<string>): void {
  const errors: Record<string, string> = {};
  const type = String(rule.type ?? '');
  const action = String(rule.action ?? '');
  if (type === 'forward') errors.type = "'forward' rules are not allowed on the guest level";
  else if (type === 'group') {
    if (!groups.has(action)) errors.action = `security group '${action}' does not exist`;
  } else if (!['ACCEPT', 'DROP', 'REJECT'].includes(action)) errors.action = `unknown action '${action}'`;
  if (rule.macro !== undefined && !MACROS.has(String(rule.macro))) errors.macro = `unknown macro '${rule.macro}'`;
  const proto = rule.proto === undefined ? undefined : String(rule.proto);
  if (proto !== undefined && !PROTOCOLS.has(proto) && !(/^\d+$/.test(proto) && Number(proto) <= 255)) errors.proto = `unknown protocol '${proto}'`;
  for (const k of ['dport', 'sport'] as const) {
    if (rule[k] === undefined) continue;
    const e = portList(String(rule[k]));
    if (e) errors[k] = e;
    if (!proto) errors.proto = `missing property - '${k}' requires this property`;
    else if (!WITH_PORTS.has(proto)) errors[k] = `protocol '${proto}' does not support ports`;
  }
  if (rule['icmp-type'] !== undefined && !['icmp', 'icmpv6', 'ipv6-icmp'].includes(proto ?? '')) errors.proto = "missing property - 'icmp-type' requires 'icmp' or 'icmpv6'";
  const fams = (['source', 'dest'] as const).map((k) => (rule[k] === undefined ? undefined : addressList(k, String(rule[k]), vm, errors)));
  if (fams[0] && fams[1] && fams[0] !== fams[1]) errors.dest = 'source and destination are of different IP versions';
  if (Object.keys(errors).length) paramError(errors);
}

function digestOf(rules: Rule[]): string {
  const sha = createHash('sha1');
  for (const r of rules) sha.update(`${FIELDS.map((k) => `${k}=${r[k] ?? ''}`).join('|')}|enable=${r.enable ?? ''}\n`);
  return sha.digest('hex');
}

export function firewallRuleRoutes(r: Router, ctx: Ctx): void {
  const c = ctx.cluster;
  const base = '/nodes/{node}/qemu/{vmid}/firewall/rules';
  const lists = new WeakMap<VmState, Rule[]>();
  const groups = new Set<string>();
  const rulesOf = (vm: VmState) => { let l = lists.get(vm); if (!l) { l = []; lists.set(vm, l); } return l; };
  const vmOf = (p: Params) => c.vm(String(p.node), Number(p.vmid));
  const checkDigest = (rules: Rule[], digest: string | number | undefined) => {
    if (digest !== undefined && digest !== digestOf(rules)) die('detected modified configuration - file changed by other user? Try again.');
  };
  const listed = (rules: Rule[], pos: number, digest: string): Record<string, unknown> => {
    const rule = rules[pos]!;
    const out: Record<string, unknown> = { pos };
    for (const k of FIELDS) if (rule[k] !== undefined) out[k] = rule[k];
    if (rule.enable !== undefined) out.enable = rule.enable;
    const v = ['source', 'dest'].map((k) => String(rule[k] ?? '')).find((s) => s !== '' && !s.startsWith('+'));
    if (v) out.ipversion = v.includes(':') ? 6 : 4;
    out.digest = digest;
    return out;
  };
  const at = (rules: Rule[], pos: number): Rule => {
    const rule = rules[pos];
    if (!rule) paramError({ pos: `no rule at position ${pos}` });
    return rule;
  };
  const copy = (to: Rule, p: Params) => { for (const k of [...FIELDS, 'enable'] as const) if (p[k] !== undefined) to[k] = p[k]!; };

  r.add('GET', '/cluster/firewall/groups', () => [...groups].sort().map((group) => ({ group, digest: digestOf([]) })));
  r.add('POST', '/cluster/firewall/groups', (req) => {
    const p = validate({ group: { type: 'string', pattern: NAME, maxLength: 18 }, comment: opt({ type: 'string' }), digest: opt({ type: 'string', maxLength: 64 }), rename: opt({ type: 'string' }) }, req.params);
    if (groups.has(String(p.group))) die(`security group '${p.group}' already exists`);
    groups.add(String(p.group));
    return null;
  });

  r.add('GET', base, (req) => {
    const rules = rulesOf(vmOf(validate({ node: NODE, vmid: VMID }, req.params)));
    const digest = digestOf(rules);
    return rules.map((_, i) => listed(rules, i, digest));
  });

  r.add('POST', base, (req) => {
    const p = validate({ node: NODE, vmid: VMID, ...RULE_PROPS }, req.params);
    if (p.action === undefined) paramError({ action: 'property is missing and it is not optional' });
    if (p.type === undefined) paramError({ type: 'property is missing and it is not optional' });
    const vm = vmOf(p);
    const rules = rulesOf(vm);
    checkDigest(rules, p.digest);
    const rule: Rule = {};
    copy(rule, p);
    verifyRule(rule, vm, groups);
    if (rule.enable === undefined) rule.enable = 0;
    rules.unshift(rule);
    return null;
  });

  r.add('GET', `${base}/{pos}`, (req) => {
    const p = validate({ node: NODE, vmid: VMID, pos: { type: 'integer', min: 0 } }, req.params);
    const rules = rulesOf(vmOf(p));
    at(rules, Number(p.pos));
    return listed(rules, Number(p.pos), digestOf(rules));
  });

  r.add('PUT', `${base}/{pos}`, (req) => {
    const p = validate({
      node: NODE, vmid: VMID, ...RULE_PROPS, pos: { type: 'integer', min: 0 }, moveto: opt({ type: 'integer', min: 0 }), delete: opt({ type: 'string', maxLength: 4096 }),
    }, req.params);
    const vm = vmOf(p);
    const rules = rulesOf(vm);
    checkDigest(rules, p.digest);
    const pos = Number(p.pos);
    const rule = at(rules, pos);
    if (p.moveto !== undefined) {
      // Other arguments are ignored: the rule goes before the rule now at `moveto`, or last.
      const moveto = Number(p.moveto);
      const next: Rule[] = [];
      rules.forEach((x, i) => {
        if (i === pos) return;
        if (i === moveto) next.push(rule);
        next.push(x);
      });
      if (moveto >= rules.length) next.push(rule);
      rules.splice(0, rules.length, ...next);
      return null;
    }
    const changed: Rule = { ...rule };
    copy(changed, p);
    for (const k of String(p.delete ?? '').split(/[,;\s]+/).filter(Boolean)) {
      if (k === 'type' || k === 'action') paramError({ delete: `unable to delete required option '${k}'` });
      if (!(FIELDS as readonly string[]).includes(k) && k !== 'enable') paramError({ delete: `unknown option '${k}'` });
      delete changed[k];
    }
    verifyRule(changed, vm, groups);
    rules[pos] = changed;
    return null;
  });

  r.add('DELETE', `${base}/{pos}`, (req) => {
    const p = validate({ node: NODE, vmid: VMID, pos: { type: 'integer', min: 0 }, digest: opt({ type: 'string', maxLength: 64 }) }, req.params);
    const rules = rulesOf(vmOf(p));
    checkDigest(rules, p.digest);
    at(rules, Number(p.pos));
    rules.splice(Number(p.pos), 1);
    return null;
  });
}
