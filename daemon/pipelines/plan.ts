// The chains of a service, per mode and per operation, as pure functions of its stored plan.
// Each step is one idempotent task on one target ("server:<id>", so one command runs at a time
// per node across all daemons). Arguments carry names and ids only; a task reads the fleet's
// credentials and the service's password (both encrypted at rest) when it runs.
import type { StepSpec } from '../engine/chains.ts';
import type { AccountNames } from './names.ts';
import type { Driver, Placement } from './placement.ts';
import type { ProductPlan } from './product.ts';

/** What is stored with the service (mod_hostbridge_services.params): never a secret. */
export interface ServicePlan {
  whmcsServiceId: number;
  groupId: number;
  domain: string;
  email: string;
  product: ProductPlan;
  placement: Placement;
  names: AccountNames;
  vanity: { parent: string; name: string; mailUser: string | null; dnsUser: string | null } | null;
}

export interface ServerRef { id: number; name: string; driver: Driver }

export type Operation =
  | 'deploy' | 'suspend' | 'unsuspend' | 'terminate' | 'change-package' | 'change-password'
  | 'redeploy' | 'verify-repair' | 'force-terminate' | 'sync-usage';

/** What the customer and the admin read for each step type. */
export const STEP_LABELS: Record<string, string> = {
  'account.package': 'Configuring hosting plan',
  'account.user': 'Setting up account',
  'web.domain': 'Configuring web hosting',
  'mail.domain': 'Adding mail domain with DKIM',
  'dns.zone': 'Publishing DNS zone',
  'ssl.seed': 'Requesting SSL certificate',
  'vanity.mailbox': 'Creating mailbox',
  'vanity.record': 'Publishing DNS record',
  'account.suspend': 'Suspending account',
  'account.unsuspend': 'Unsuspending account',
  'account.delete': 'Removing account',
  'dns.zone-delete': 'Removing DNS zone',
  'vanity.mailbox-state': 'Updating mailbox',
  'vanity.record-state': 'Updating DNS record',
  'vanity.mailbox-delete': 'Removing mailbox',
  'vanity.record-delete': 'Removing DNS record',
  'account.password': 'Changing password',
  'service.close': 'Closing the service',
  'usage.sync': 'Collecting usage',
};

export function stepLabel(type: string, serverName?: string | null): string {
  const label = STEP_LABELS[type] ?? type;
  return serverName ? `${label} on ${serverName}` : label;
}

const target = (id: number) => `server:${id}`;

/**
 * The Hestia user that holds the service's zone on a DNS server: the account the service already
 * has on that node when there is one (Hestia keeps a domain's web, mail and DNS under one user per
 * node), else the service's DNS user.
 */
export function dnsUser(plan: ServicePlan, serverId: number): string | null {
  const { placement: p, names: n } = plan;
  if (p.unified === serverId) return n.users.all ?? null;
  if (p.web === serverId) return n.users.web ?? null;
  if (p.mail === serverId) return n.users.mail ?? null;
  return n.users.dns ?? null;
}

/** One row of mod_hostbridge_service_servers: a role of the service on a server. */
export interface Holding { role: 'web' | 'mail' | 'all' | 'dns' | 'mailbox' | 'record'; serverId: number; account: string | null }

/** Everything the service owns, derived from its plan; written with the service row. */
export function holdings(plan: ServicePlan): Holding[] {
  const out: Holding[] = [];
  const { placement: p, names: n } = plan;
  if (plan.product.mode === 'vanity') {
    if (p.web !== null) out.push({ role: 'web', serverId: p.web, account: n.users.web ?? null });
    if (p.mail !== null && plan.vanity) out.push({ role: 'mailbox', serverId: p.mail, account: `${plan.vanity.name}@${plan.vanity.parent}` });
    for (const d of p.dns) out.push({ role: 'record', serverId: d, account: plan.vanity?.name ?? null });
    return out;
  }
  if (p.unified !== null) out.push({ role: 'all', serverId: p.unified, account: n.users.all ?? null });
  if (p.web !== null) out.push({ role: 'web', serverId: p.web, account: n.users.web ?? null });
  if (p.mail !== null) out.push({ role: 'mail', serverId: p.mail, account: n.users.mail ?? null });
  for (const d of p.dns) out.push({ role: 'dns', serverId: d, account: dnsUser(plan, d) });
  return out;
}

function driverOf(servers: Map<number, ServerRef>, id: number): Driver {
  const s = servers.get(id);
  if (!s) throw new Error(`server ${id} of the service is no longer in the inventory`);
  return s.driver;
}

function deploySteps(plan: ServicePlan, servers: Map<number, ServerRef>): StepSpec[] {
  const steps: StepSpec[] = [];
  const { placement: p, names: n, product, domain } = plan;
  const svc = plan.whmcsServiceId;
  const account = (role: 'web' | 'mail' | 'all', serverId: number) => {
    const base = { service: svc, role, server: serverId, user: n.users[role], package: n.packages[role] };
    steps.push({ step: `${role}.package`, type: 'account.package', target: target(serverId), args: base });
    steps.push({ step: `${role}.user`, type: 'account.user', target: target(serverId), args: base });
  };
  if (product.mode === 'vanity' && plan.vanity) {
    const v = plan.vanity;
    if (p.web !== null) {
      account('web', p.web);
      steps.push({ step: 'web.domain', type: 'web.domain', target: target(p.web), args: { service: svc, server: p.web, user: n.users.web, domain } });
    }
    if (p.mail !== null) {
      steps.push({ step: 'vanity.mailbox', type: 'vanity.mailbox', target: target(p.mail), args: { service: svc, server: p.mail, user: v.mailUser, domain: v.parent, account: v.name } });
    }
    for (const d of p.dns) {
      steps.push({ step: 'vanity.record', type: 'vanity.record', target: target(d), args: { service: svc, server: d, user: v.dnsUser, zone: v.parent, record: v.name } });
    }
  } else {
    const webAt = p.unified ?? p.web;
    const mailAt = p.unified ?? p.mail;
    if (p.unified !== null) account('all', p.unified);
    if (p.web !== null) account('web', p.web);
    if (product.roles.web && webAt !== null) {
      const role = p.unified !== null ? 'all' : 'web';
      steps.push({ step: 'web.domain', type: 'web.domain', target: target(webAt), args: { service: svc, server: webAt, user: n.users[role], domain } });
    }
    if (p.mail !== null) account('mail', p.mail);
    if (product.roles.mail && mailAt !== null) {
      const role = p.unified !== null ? 'all' : 'mail';
      steps.push({ step: 'mail.domain', type: 'mail.domain', target: target(mailAt), args: { service: svc, server: mailAt, user: n.users[role], domain } });
    }
    for (const d of p.dns) {
      steps.push({ step: 'dns.zone', type: 'dns.zone', target: target(d), args: { service: svc, server: d, user: dnsUser(plan, d), domain } });
    }
  }
  const sslAt = p.unified ?? p.web;
  if (product.roles.web && sslAt !== null) {
    const user = p.unified !== null ? n.users.all : n.users.web;
    steps.push({ step: 'ssl.seed', type: 'ssl.seed', target: target(sslAt), args: { service: svc, server: sslAt, user, domain } });
  }
  return steps;
}

/** The steps that publish the service's DNS on one server: its zone, or its vanity record. */
export function zoneSteps(plan: ServicePlan, servers: Map<number, ServerRef>, serverId: number): StepSpec[] {
  return deploySteps(plan, servers).filter((s) => s.target === target(serverId) && (s.type === 'dns.zone' || s.type === 'vanity.record'));
}

/** One step per holding, of the given task type (vanity holdings get their own types). */
function perHolding(plan: ServicePlan, servers: Map<number, ServerRef>, kind: 'suspend' | 'unsuspend' | 'delete' | 'password'): StepSpec[] {
  const svc = plan.whmcsServiceId;
  const steps: StepSpec[] = [];
  for (const h of holdings(plan)) {
    const args = { service: svc, server: h.serverId, role: h.role, account: h.account };
    const t = target(h.serverId);
    if (h.role === 'mailbox') {
      const v = plan.vanity!;
      const a = { ...args, user: v.mailUser, domain: v.parent, account: v.name };
      if (kind === 'delete') steps.push({ step: 'vanity.mailbox-delete', type: 'vanity.mailbox-delete', target: t, args: a });
      else if (kind === 'password') steps.push({ step: 'vanity.mailbox-password', type: 'account.password', target: t, args: a });
      else steps.push({ step: `vanity.mailbox-${kind}`, type: 'vanity.mailbox-state', target: t, args: { ...a, state: kind } });
    } else if (h.role === 'record') {
      const v = plan.vanity!;
      const a = { ...args, user: v.dnsUser, zone: v.parent, record: v.name };
      if (kind === 'delete') steps.push({ step: 'vanity.record-delete', type: 'vanity.record-delete', target: t, args: a });
      else if (kind !== 'password') steps.push({ step: `vanity.record-${kind}`, type: 'vanity.record-state', target: t, args: { ...a, state: kind } });
    } else if (h.role === 'dns' && driverOf(servers, h.serverId) === 'powerdns') {
      // A PowerDNS zone has no account: suspension is not a DNS matter, deletion drops the zone.
      if (kind === 'delete') steps.push({ step: 'dns.zone-delete', type: 'dns.zone-delete', target: t, args: { ...args, domain: plan.domain } });
    } else if (kind === 'password') {
      // DNS-only users never log in; only the accounts the customer uses get the new password.
      if (h.role !== 'dns') steps.push({ step: `${h.role}.password`, type: 'account.password', target: t, args: { ...args, user: h.account } });
    } else {
      steps.push({ step: `${h.role}.${kind}`, type: `account.${kind}`, target: t, args: { ...args, user: h.account } });
    }
  }
  return steps;
}

function packageSteps(plan: ServicePlan): StepSpec[] {
  const svc = plan.whmcsServiceId;
  const out: StepSpec[] = [];
  for (const h of holdings(plan)) {
    if (h.role === 'web' || h.role === 'mail' || h.role === 'all') {
      out.push({ step: `${h.role}.package`, type: 'account.package', target: target(h.serverId), args: { service: svc, role: h.role, server: h.serverId, user: h.account, package: plan.names.packages[h.role], apply: true } });
    } else if (h.role === 'mailbox') {
      const v = plan.vanity!;
      out.push({ step: 'vanity.mailbox', type: 'vanity.mailbox', target: target(h.serverId), args: { service: svc, server: h.serverId, user: v.mailUser, domain: v.parent, account: v.name } });
    }
  }
  return out;
}

function usageSteps(plan: ServicePlan): StepSpec[] {
  const seen = new Set<number>();
  const out: StepSpec[] = [];
  for (const h of holdings(plan)) {
    if (h.role === 'record' || seen.has(h.serverId)) continue;
    seen.add(h.serverId);
    out.push({ step: 'usage.sync', type: 'usage.sync', target: target(h.serverId), args: { server: h.serverId } });
  }
  return out;
}

const close = (plan: ServicePlan, force: boolean): StepSpec => ({ step: 'service.close', type: 'service.close', target: null, args: { service: plan.whmcsServiceId, force } });

/** Steps of an operation, with the service state on success and on failure. */
export function planChain(op: Operation, plan: ServicePlan, servers: Map<number, ServerRef>): { steps: StepSpec[]; successState: string | null; failureState: string | null } {
  switch (op) {
    case 'deploy': return { steps: deploySteps(plan, servers), successState: 'active', failureState: 'failed' };
    case 'verify-repair': return { steps: deploySteps(plan, servers), successState: 'active', failureState: 'failed' };
    case 'redeploy': {
      const removal = perHolding(plan, servers, 'delete').map((s) => ({ ...s, step: `reset.${s.step}` }));
      return { steps: [...removal, ...deploySteps(plan, servers)], successState: 'active', failureState: 'failed' };
    }
    case 'suspend': return { steps: perHolding(plan, servers, 'suspend'), successState: 'suspended', failureState: null };
    case 'unsuspend': return { steps: perHolding(plan, servers, 'unsuspend'), successState: 'active', failureState: null };
    case 'terminate': return { steps: [...perHolding(plan, servers, 'delete'), close(plan, false)], successState: 'terminated', failureState: 'terminate-failed' };
    case 'force-terminate': return { steps: [close(plan, true)], successState: 'terminated', failureState: null };
    case 'change-package': return { steps: packageSteps(plan), successState: null, failureState: null };
    case 'change-password': return { steps: perHolding(plan, servers, 'password'), successState: null, failureState: null };
    case 'sync-usage': return { steps: usageSteps(plan), successState: null, failureState: null };
  }
}
