// The customer panel's network and media actions (issue 16), as pure functions: checking what the
// customer typed (an ISO from the product's list, firewall rules within Proxmox's rule schema and
// the product's count, a reverse DNS name) and the chain that makes the VM match it. Nothing here
// reads a database or talks to a server; the caller passes in the product's list and the plan.
import { InputError } from '../common/errors.ts';
import { formatIp, ipField } from './ip-ranges.ts';
import { plannedStep as step, type PlannedStep } from './steps.ts';
import type { PlannedChain } from './plan.ts';
import { pveTarget, type VmServicePlan } from './vm-plan.ts';

// -- ISO ---------------------------------------------------------------------------------------

/** The ISO asked for, exactly as the product lists it (a Proxmox volid, e.g. local:iso/debian-12.iso). */
export function checkIsoChoice(field: string, volid: unknown, allowed: readonly string[]): string {
  if (typeof volid !== 'string' || volid.trim() === '') throw new InputError(field, 'choose an ISO image from the list');
  if (!allowed.includes(volid)) {
    throw new InputError(field, allowed.length
      ? `"${volid.slice(0, 80)}" is not one of the ISO images this product offers`
      : 'this product offers no ISO image');
  }
  return volid;
}

// -- firewall rules ----------------------------------------------------------------------------

export const RULE_ACTIONS = ['ACCEPT', 'DROP', 'REJECT'] as const;
export const RULE_DIRECTIONS = ['in', 'out'] as const;
/** Protocols a customer's rule may name (their /etc/protocols names, as Proxmox takes them). */
export const RULE_PROTOCOLS = ['tcp', 'udp', 'icmp', 'icmpv6', 'sctp', 'gre', 'esp', 'ah'] as const;
/** Protocols whose rules may name a destination port (the others have no ports). */
const PORT_PROTOCOLS: ReadonlySet<string> = new Set(['tcp', 'udp', 'sctp']);
/** iptables' multiport match takes at most 15 ports, a range counting as two (pve-firewall refuses more). */
const MAX_PORTS = 15;
const MAX_COMMENT = 128;

/** One firewall rule the customer keeps on the VM: always enabled, in the order of the list. */
export interface WantedRule {
  action: (typeof RULE_ACTIONS)[number];
  type: (typeof RULE_DIRECTIONS)[number];
  proto?: string;
  /** Ports and ranges as Proxmox stores them: `22`, `80:85`, `80,443`. */
  dport?: string;
  /** An address or a network in canonical form (`192.0.2.10`, `2001:db8::/64`). */
  source?: string;
  comment?: string;
}

const RULE_KEYS: ReadonlySet<string> = new Set(['action', 'type', 'proto', 'dport', 'source', 'comment']);

/** A destination port list in Proxmox's form, or an InputError naming the field. */
export function checkPorts(field: string, raw: unknown): string {
  const text = typeof raw === 'number' ? String(raw) : raw;
  if (typeof text !== 'string' || text.trim() === '') throw new InputError(field, 'must be a port (1–65535) or a range such as 8000:8080');
  const items = text.trim().split(',');
  let count = 0;
  const out = items.map((item) => {
    const m = /^\s*(\d{1,5})(?:\s*[:-]\s*(\d{1,5}))?\s*$/.exec(item);
    if (!m) throw new InputError(field, `"${item.slice(0, 40)}" is not a port or a range (e.g. 22, 8000:8080)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? null : Number(m[2]);
    for (const p of [a, b]) if (p !== null && (p < 1 || p > 65535)) throw new InputError(field, `port ${p} is out of range (1–65535)`);
    if (b !== null && b <= a) throw new InputError(field, `the range ${a}:${b} must go from a lower to a higher port`);
    count += b === null ? 1 : 2;
    return b === null ? String(a) : `${a}:${b}`;
  });
  if (count > MAX_PORTS) throw new InputError(field, `at most ${MAX_PORTS} ports in one rule (a range counts as two)`);
  return out.join(',');
}

/** An address or a network, canonical; host bits must be zero (Proxmox refuses them). */
export function checkSource(field: string, raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new InputError(field, 'must be an IPv4 or IPv6 address or network (CIDR)');
  const [ip, len, extra] = raw.trim().split('/');
  if (extra !== undefined) throw new InputError(field, `"${raw.slice(0, 60)}" is not an address or a network`);
  const a = ipField(field, ip!);
  if (len === undefined) return formatIp(a);
  const bits = a.family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(len) || Number(len) < 1 || Number(len) > bits) throw new InputError(field, `the prefix /${len.slice(0, 10)} must be from 1 to ${bits}`);
  const n = Number(len);
  const hostMask = (1n << BigInt(bits - n)) - 1n;
  if ((a.value & hostMask) !== 0n) throw new InputError(field, `${raw.trim()} has host bits set: write the network's first address`);
  return n === bits ? formatIp(a) : `${formatIp(a)}/${n}`;
}

/** A comment: printable text (the panel escapes it), no control characters (Proxmox keeps it on one line of a config file). */
export function checkComment(field: string, raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') throw new InputError(field, 'must be text');
  const text = raw.trim();
  if (text === '') return undefined;
  if (/\p{Cc}/u.test(text)) throw new InputError(field, 'must be one line of text without control characters');
  if ([...text].length > MAX_COMMENT) throw new InputError(field, `at most ${MAX_COMMENT} characters`);
  return text;
}

function oneRule(field: string, raw: unknown): WantedRule {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(field, 'each rule must be an object with action and type');
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) throw new InputError(`${field}.${k}`, `is not a rule field (action, type, proto, dport, source, comment)`);
  const action = typeof r.action === 'string' ? r.action.trim().toUpperCase() : '';
  if (!(RULE_ACTIONS as readonly string[]).includes(action)) throw new InputError(`${field}.action`, `must be ${RULE_ACTIONS.join(', ')}`);
  const type = typeof r.type === 'string' ? r.type.trim().toLowerCase() : '';
  if (!(RULE_DIRECTIONS as readonly string[]).includes(type)) throw new InputError(`${field}.type`, 'must be in or out');
  const rule: WantedRule = { action: action as WantedRule['action'], type: type as WantedRule['type'] };
  if (r.proto !== undefined && r.proto !== null && r.proto !== '') {
    const proto = typeof r.proto === 'string' ? r.proto.trim().toLowerCase() : '';
    if (!(RULE_PROTOCOLS as readonly string[]).includes(proto)) throw new InputError(`${field}.proto`, `must be one of ${RULE_PROTOCOLS.join(', ')}`);
    rule.proto = proto;
  }
  if (r.dport !== undefined && r.dport !== null && r.dport !== '') {
    if (!rule.proto || !PORT_PROTOCOLS.has(rule.proto)) throw new InputError(`${field}.dport`, 'a port needs the protocol tcp, udp or sctp');
    rule.dport = checkPorts(`${field}.dport`, r.dport);
  }
  if (r.source !== undefined && r.source !== null && r.source !== '') rule.source = checkSource(`${field}.source`, r.source);
  const comment = checkComment(`${field}.comment`, r.comment);
  if (comment !== undefined) rule.comment = comment;
  return rule;
}

/**
 * The rules the customer sent (the JSON text of an array), checked field by field against
 * Proxmox's rule schema and the product's allowance (`max`; 0 allows none, not even an empty list).
 */
export function parseFirewallRules(field: string, text: unknown, max: number): WantedRule[] {
  if (max <= 0) throw new InputError(field, 'this product does not let you manage firewall rules');
  if (typeof text !== 'string' || text.trim() === '') throw new InputError(field, 'must be a JSON list of rules ([] for none)');
  let list: unknown;
  try { list = JSON.parse(text); } catch { throw new InputError(field, 'is not valid JSON'); }
  if (!Array.isArray(list)) throw new InputError(field, 'must be a JSON list of rules');
  if (list.length > max) throw new InputError(field, `${list.length} rules: this product allows at most ${max}`);
  return list.map((r, i) => oneRule(`${field}.${i}`, r));
}

/** A rule as Proxmox lists it (GET …/firewall/rules), the fields a comparison reads. */
export type ListedRule = Record<string, unknown>;

/** The fields of a rule hostbridge writes, and those it clears (every other field a rule may carry). */
const RULE_FIELDS = ['action', 'type', 'proto', 'dport', 'source', 'comment'] as const;
const FOREIGN_FIELDS = ['dest', 'sport', 'macro', 'iface', 'log', 'icmp-type'] as const;

/** Whether the listed rule is the wanted one, enabled, with nothing else set. */
export function sameRule(have: ListedRule, want: WantedRule): boolean {
  const text = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : String(v));
  if (Number(have.enable ?? 0) !== 1) return false;
  if (RULE_FIELDS.some((k) => text(have[k]) !== want[k])) return false;
  // A log level of nolog is the same as none.
  return FOREIGN_FIELDS.every((k) => text(have[k]) === undefined || (k === 'log' && have[k] === 'nolog'));
}

/** The parameters of a PUT or POST that make a rule the wanted one: its fields, and `delete` for the rest. */
export function ruleParams(want: WantedRule): { set: Record<string, string | number>; clear: string[] } {
  const set: Record<string, string | number> = { type: want.type, action: want.action, enable: 1 };
  const clear: string[] = [...FOREIGN_FIELDS];
  for (const k of ['proto', 'dport', 'source', 'comment'] as const) {
    if (want[k] !== undefined) set[k] = want[k]!;
    else clear.push(k);
  }
  return { set, clear };
}

// -- reverse DNS -------------------------------------------------------------------------------

/**
 * A PTR name: letters, digits and hyphens in dot-separated labels of 1–63 characters, no hyphen at
 * either end of a label, at least two labels, 253 characters at most; one trailing dot is allowed
 * and dropped. Lower case, as the DNS compares it. '' (reset) is returned as null.
 */
export function checkPtrName(field: string, raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string') throw new InputError(field, 'must be a host name');
  let name = raw.trim().toLowerCase();
  if (name === '') return null;
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length > 253) throw new InputError(field, 'a host name has at most 253 characters');
  const labels = name.split('.');
  if (labels.length < 2) throw new InputError(field, `"${raw.slice(0, 60)}" is not a fully qualified host name (e.g. mail.example.com)`);
  for (const l of labels) {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l)) {
      throw new InputError(field, `"${raw.slice(0, 60)}" is not a host name: only letters, digits, hyphens and dots, each label 1–63 characters not starting or ending with a hyphen`);
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1]!)) throw new InputError(field, 'a host name does not end in a number');
  return name;
}

// -- chains ------------------------------------------------------------------------------------

export type ExtrasOperation = 'iso-mount' | 'iso-unmount' | 'firewall-rules' | 'rdns';

/**
 * The chain of an action: one step on the VM's node for the ISO and the firewall rules, and the
 * VM's DNS step on each DNS server for reverse DNS (each independent of the others). The service's
 * state stays as it is.
 */
export function planExtrasChain(op: ExtrasOperation, plan: VmServicePlan): PlannedChain {
  const node = plan.placement.targetNode;
  const onVm = { cluster: plan.clusterId, node };
  let steps: PlannedStep[];
  switch (op) {
    case 'iso-mount':
    case 'iso-unmount':
      steps = [step('kvm.iso', 'iso', pveTarget(plan.clusterId, node), onVm)];
      break;
    case 'firewall-rules':
      steps = [step('kvm.firewall-rules', 'firewall-rules', pveTarget(plan.clusterId, node), onVm)];
      break;
    case 'rdns':
      steps = plan.dnsServers.map((server) => step('kvm.dns', `dns.${server}`, `server:${server}`, { server }));
      break;
  }
  return { steps: steps.map((s) => ({ ...s, dependsOn: [] })), successState: null, failureState: null };
}
