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

export function place(plan: ProductPlan, group: GroupFleet): Placement {
  const out: Placement = { web: null, mail: null, unified: null, dns: [] };
  const m = group.members;
  if (plan.mode === 'unified') {
    const both = plan.roles.web && plan.roles.mail;
    const label = both ? 'both the Web and Mail capabilities' : plan.roles.web ? 'the Web capability' : 'the Mail capability';
    out.unified = need(group, label, leastLoaded(m, (s) => hestia(s) && (!plan.roles.web || s.caps.web) && (!plan.roles.mail || s.caps.mail)));
  } else {
    if (plan.roles.web) out.web = need(group, 'the Web capability', leastLoaded(m, (s) => hestia(s) && s.caps.web));
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
