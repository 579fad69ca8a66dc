// Where a new service's roles go: the least-loaded active node of the group with the capability
// (ties to the lower id, so the choice is repeatable), and every active DNS server attached to
// the group. Pure: the caller reads the fleet and the loads inside the order's transaction.
import type { ProductPlan } from './product.ts';
import { InputError } from '../common/errors.ts';

export type Driver = 'hestiacp' | 'powerdns';

export interface FleetServer {
  id: number;
  name: string;
  driver: Driver;
  ip: string;
  caps: { web: boolean; mail: boolean; dns: boolean };
  status: string;
  maxAccounts: number;
  /** Services that already hold an account on this server. */
  load: number;
}

export interface VanityParent {
  domain: string;
  mailServerId: number | null;
  mailUser: string | null;
  dnsUser: string | null;
}

export interface GroupFleet {
  id: number;
  name: string;
  nameservers: string[];
  members: FleetServer[];
  dns: FleetServer[];
  vanity: VanityParent[];
  reserved: string[];
}

export interface Placement {
  web: number | null;
  mail: number | null;
  /** Unified (or Split on a group whose only mail node is its web node): one account for web and mail. */
  unified: number | null;
  dns: number[];
}

function usable(s: FleetServer): boolean {
  return s.status === 'active' && (s.maxAccounts <= 0 || s.load < s.maxAccounts);
}

export function leastLoaded(servers: FleetServer[], want: (s: FleetServer) => boolean): FleetServer | null {
  let best: FleetServer | null = null;
  for (const s of servers) {
    if (!want(s) || !usable(s)) continue;
    if (!best || s.load < best.load || (s.load === best.load && s.id < best.id)) best = s;
  }
  return best;
}

function need(group: GroupFleet, what: string, s: FleetServer | null): number {
  if (!s) throw new InputError('server_group_id', `server group "${group.name}" has no active HestiaCP server with ${what} and room for another account`);
  return s.id;
}

const hestia = (s: FleetServer) => s.driver === 'hestiacp';

// Two-label public suffixes (publicsuffix.org) under which HestiaCP's get_base_domain keeps three labels.
const TWO_PART_SUFFIXES = new Set([
  'co.uk', 'org.uk', 'me.uk', 'ac.uk', 'gov.uk', 'ltd.uk', 'plc.uk', 'net.uk', 'com.au', 'net.au', 'org.au', 'edu.au',
  'co.nz', 'net.nz', 'org.nz', 'co.jp', 'ne.jp', 'or.jp', 'com.br', 'net.br', 'org.br', 'co.za', 'org.za', 'com.cn',
  'net.cn', 'org.cn', 'com.mx', 'co.in', 'net.in', 'org.in', 'com.tr', 'co.il', 'com.sg', 'com.hk', 'com.ar', 'co.kr',
]);

/** HestiaCP's base domain of a name (func/domain.sh get_base_domain): the last two labels, three under a two-label public suffix. */
export function baseDomain(name: string): string {
  const labels = name.toLowerCase().split('.');
  const two = labels.slice(-2).join('.');
  return TWO_PART_SUFFIXES.has(two) && labels.length >= 3 ? labels.slice(-3).join('.') : two;
}

/**
 * The HestiaCP nodes that hold a vanity parent as another user's object, when that parent is a
 * base domain (`mysites.net`, not `sites.example.net`): its shared mail domain and its zone on
 * every HestiaCP DNS server of the group. With ENFORCE_SUBDOMAIN_OWNERSHIP=yes (HestiaCP's
 * default) such a node refuses the vanity site `<name>.<parent>` as a web domain of the
 * service's own user (v-add-web-domain → is_base_domain_owner → exit 4).
 */
export function vanityParentHolders(group: GroupFleet, parentDomain: string): Map<number, string> {
  const held = new Map<number, string>();
  const parent = group.vanity.find((v) => v.domain === parentDomain);
  if (!parent || baseDomain(`x.${parent.domain}`) !== parent.domain.toLowerCase()) return held;
  const note = (id: number, what: string) => held.set(id, held.has(id) ? `${held.get(id)} and ${what}` : what);
  const all = group.members.concat(group.dns);
  const mail = all.find((s) => s.id === parent.mailServerId);
  if (mail && hestia(mail)) note(mail.id, `its mail domain (user ${parent.mailUser ?? '?'})`);
  for (const s of group.dns) if (hestia(s) && s.caps.dns) note(s.id, `its DNS zone (user ${parent.dnsUser ?? '?'})`);
  return held;
}

export function place(plan: ProductPlan, group: GroupFleet): Placement {
  const out: Placement = { web: null, mail: null, unified: null, dns: [] };
  const m = group.members;
  if (plan.mode === 'unified') {
    const both = plan.roles.web && plan.roles.mail;
    const label = both ? 'both the Web and Mail capabilities' : plan.roles.web ? 'the Web capability' : 'the Mail capability';
    out.unified = need(group, label, leastLoaded(m, (s) => hestia(s) && (!plan.roles.web || s.caps.web) && (!plan.roles.mail || s.caps.mail)));
  } else {
    if (plan.roles.web) out.web = need(group, 'the Web capability', plan.mode === 'vanity' && plan.vanity ? vanityWebNode(group, plan.vanity) : leastLoaded(m, (s) => hestia(s) && s.caps.web));
    if (plan.roles.mail && plan.mode === 'split') {
      // Split keeps web and mail apart: another mail node is preferred to the web node.
      const apart = leastLoaded(m, (s) => hestia(s) && s.caps.mail && s.id !== out.web);
      out.mail = apart ? apart.id : need(group, 'the Mail capability', leastLoaded(m, (s) => hestia(s) && s.caps.mail));
      if (out.mail === out.web) {
        // HestiaCP keeps a domain's web, mail and DNS under one user per node: when the group has
        // no other mail node, the service gets one account for both on this node.
        out.unified = out.web;
        out.web = null;
        out.mail = null;
      }
    }
  }
  if (plan.mode === 'vanity' && plan.vanity) {
    const parent = group.vanity.find((v) => v.domain === plan.vanity!.parent);
    if (!parent) throw new InputError('config_options.vanity_domain', `"${plan.vanity.parent}" is not a vanity domain of server group "${group.name}"`);
    if (group.reserved.includes(plan.vanity.name)) throw new InputError('custom_fields.vanity_name', `"${plan.vanity.name}" is a reserved name in server group "${group.name}"; choose another`);
    if (plan.roles.mail) {
      const mail = m.concat(group.dns).find((s) => s.id === parent.mailServerId);
      if (!mail || !parent.mailUser) throw new InputError('config_options.vanity_domain', `vanity domain ${parent.domain} has no shared mail server and user configured`);
      if (mail.status !== 'active') throw new InputError('config_options.vanity_domain', `the shared mail server of ${parent.domain} (${mail.name}) is ${mail.status}`);
      out.mail = mail.id;
    }
  }
  // DNS is never gated by quota; a group without DNS servers simply skips it.
  if (plan.roles.dns) out.dns = group.dns.filter((s) => s.caps.dns && s.status === 'active').map((s) => s.id).sort((a, b) => a - b);
  return out;
}

/**
 * The web node of a vanity site: the least-loaded one that does not hold the parent under
 * another user (see vanityParentHolders). When only such nodes have room, the order is refused
 * here rather than failing on the node after its account was made.
 */
function vanityWebNode(group: GroupFleet, vanity: { name: string; parent: string }): FleetServer | null {
  const web = (s: FleetServer) => hestia(s) && s.caps.web;
  const holders = vanityParentHolders(group, vanity.parent);
  const free = leastLoaded(group.members, (s) => web(s) && !holders.has(s.id));
  if (free || !leastLoaded(group.members, web)) return free;
  const blocked = group.members.filter((s) => web(s) && usable(s) && holders.has(s.id));
  const site = `${vanity.name}.${vanity.parent}`;
  throw new InputError('config_options.vanity_domain',
    `the vanity site ${site} cannot be placed in server group "${group.name}": every web node with room holds ${vanity.parent} under another HestiaCP user ` +
    `(${blocked.map((s) => `${s.name}: ${holders.get(s.id)}`).join('; ')}), and HestiaCP refuses a web domain under a base domain another user holds ` +
    `while ENFORCE_SUBDOMAIN_OWNERSHIP=yes, its default ("Unable to add ${site}. ${vanity.parent} belongs to a different user"). ` +
    `Fix: add to the group a web node that holds neither ${vanity.parent}'s mail domain nor its zone, or move them to servers that are not web nodes of the group. ` +
    `hostbridge cannot read a node's ENFORCE_SUBDOMAIN_OWNERSHIP, so it assumes the default (see docs/drivers.md)`);
}

/**
 * A service's placement after a package change that switches roles: the roles it keeps stay
 * where they are, a removed role's server is dropped, and an added role is placed as at order time
 * (least-loaded node with the capability; mail apart from the web node). A Split service keeps one
 * account per role, so an added role that could only share the web or mail node is refused. A
 * service with one account for web and mail (Unified) keeps its node: an added web or mail role
 * goes to that account, so the node must have the role's capability. `was`: the roles before.
 */
export function placeSwitchedRoles(before: Placement, plan: ProductPlan, group: GroupFleet, was?: ProductPlan['roles']): Placement {
  const m = group.members;
  const out: Placement = { ...before, dns: [...before.dns] };
  if (before.unified !== null) {
    const node = m.find((s) => s.id === before.unified);
    for (const role of ['web', 'mail'] as const) {
      if (!plan.roles[role] || was?.[role]) continue;
      const cap = role === 'web' ? 'Web' : 'Mail';
      if (!node) throw new InputError('product', `the ${role} role cannot be added: the service's node (server ${before.unified}) is no longer a member of server group "${group.name}" (a Unified service keeps web and mail under one account on one node)`, 409);
      if (!node.caps[role]) throw new InputError('product', `the ${role} role cannot be added: the service's node ${node.name} does not have the ${cap} capability (a Unified service keeps web and mail under one account on one node; tick ${cap} on the server or keep the role off)`, 409);
    }
    if (!plan.roles.dns) out.dns = [];
    else if (out.dns.length === 0) out.dns = group.dns.filter((s) => s.caps.dns && s.status === 'active').map((s) => s.id).sort((a, b) => a - b);
    return out;
  }
  if (!plan.roles.web) out.web = null;
  if (!plan.roles.mail) out.mail = null;
  if (!plan.roles.dns) out.dns = [];
  if (plan.roles.web && out.web === null) {
    const web = leastLoaded(m, (s) => hestia(s) && s.caps.web && s.id !== out.mail);
    if (!web) throw new InputError('product', `the web role cannot be added: server group "${group.name}" has no active HestiaCP web node with room other than the service's mail node (a Split service keeps web and mail under separate accounts on separate nodes)`, 409);
    out.web = web.id;
  }
  if (plan.roles.mail && out.mail === null) {
    const mail = leastLoaded(m, (s) => hestia(s) && s.caps.mail && s.id !== out.web);
    if (!mail) throw new InputError('product', `the mail role cannot be added: server group "${group.name}" has no active HestiaCP mail node with room other than the service's web node (a Split service keeps web and mail under separate accounts on separate nodes)`, 409);
    out.mail = mail.id;
  }
  if (plan.roles.dns && out.dns.length === 0) out.dns = group.dns.filter((s) => s.caps.dns && s.status === 'active').map((s) => s.id).sort((a, b) => a - b);
  return out;
}
