// The chains of a service, per mode and per operation, as pure functions of its stored plan.
// Each step is one idempotent task on one target ("server:<id>", so one command runs at a time
// per node across all daemons), made with steps.ts's constructor so it carries exactly the
// arguments its type declares; a task reads the fleet's credentials and the service's password
// (both encrypted at rest) when it runs.
import { InputError } from '../common/errors.ts';
import type { AccountNames } from './names.ts';
import type { Driver, Placement } from './placement.ts';
import type { ProductPlan } from './product.ts';
import { plannedStep as step, type PlannedStep, type StepArgs, type StepType } from './steps.ts';

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
  | 'redeploy' | 'verify-repair' | 'force-terminate' | 'sync-usage'
  // A KVM service's power buttons (pipelines/vm-plan.ts); a hosting service has none.
  | 'start' | 'stop' | 'reboot';

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

/** The servers a plan refers to, by id: what the planner needs to know of the fleet. */
export type ServerRefs = Map<number, ServerRef>;

/** Every server a plan places a role on (the ids to read ServerRefs for). */
export function planServerIds(plan: ServicePlan): number[] {
  return [...new Set(holdings(plan).map((h) => h.serverId))];
}

function driverOf(servers: ServerRefs, id: number): Driver {
  const s = servers.get(id);
  if (!s) throw new Error(`server ${id} of the service is no longer in the inventory`);
  return s.driver;
}

/** A name the plan must hold for this step; its absence is a planning defect, not bad input. */
function must(value: string | null | undefined, what: string): string {
  if (!value) throw new Error(`the service's plan has no ${what}`);
  return value;
}

/** Step types that wait for every earlier step of the given types in their chain, wherever it runs. */
const NEEDS: Partial<Record<StepType, StepType[]>> = {
  // The zone publishes the DKIM record the mail domain's step reads from the mail server.
  'dns.zone': ['mail.domain'],
  // A Unified role switched off: its domain goes once the zone no longer points at it.
  'web.domain-delete': ['dns.zone'],
  'mail.domain-delete': ['dns.zone'],
};

/**
 * What each step of a chain waits for: the step before it on the same server (one node's work keeps
 * its planned order, and a node runs one command at a time anyway), every earlier step of a type
 * it needs (NEEDS), and a step on no server (closing the service) waits for all before it as all
 * after it wait for it. Steps on different servers otherwise run at the same time.
 */
export function withDependencies(steps: PlannedStep[]): PlannedStep[] {
  const lastOn = new Map<string, number>();
  let barrier: number | null = null;
  return steps.map((s, i) => {
    const deps = new Set<number>();
    if (barrier !== null) deps.add(barrier);
    if (s.target === null) {
      for (const n of lastOn.values()) deps.add(n);
      lastOn.clear();
      barrier = i;
    } else {
      const prev = lastOn.get(s.target);
      if (prev !== undefined) deps.add(prev);
      lastOn.set(s.target, i);
    }
    for (const type of NEEDS[s.type] ?? []) steps.forEach((e, j) => { if (j < i && e.type === type) deps.add(j); });
    return { ...s, dependsOn: [...deps].sort((a, b) => a - b) };
  });
}

/** Steps that change a service's state on its servers, and what its state becomes. */
export interface PlannedChain { steps: PlannedStep[]; successState: string | null; failureState: string | null }

function deploySteps(plan: ServicePlan): PlannedStep[] {
  const steps: PlannedStep[] = [];
  const { placement: p, names: n, product, domain } = plan;
  const account = (role: 'web' | 'mail' | 'all', server: number) => {
    const user = must(n.users[role], `${role} user`);
    const pkg = must(n.packages[role], `${role} package`);
    steps.push(step('account.package', `${role}.package`, target(server), { role, server, user, package: pkg }));
    steps.push(step('account.user', `${role}.user`, target(server), { server, user, package: pkg }));
  };
  if (product.mode === 'vanity' && plan.vanity) {
    const v = plan.vanity;
    if (p.web !== null) {
      account('web', p.web);
      steps.push(step('web.domain', 'web.domain', target(p.web), { server: p.web, user: must(n.users.web, 'web user'), domain }));
    }
    if (p.mail !== null) {
      steps.push(step('vanity.mailbox', 'vanity.mailbox', target(p.mail), { server: p.mail, user: must(v.mailUser, 'vanity mail user'), domain: v.parent, account: v.name }));
    }
    for (const d of p.dns) {
      steps.push(step('vanity.record', 'vanity.record', target(d), { server: d, user: v.dnsUser, zone: v.parent, record: v.name }));
    }
  } else {
    const webAt = p.unified ?? p.web;
    const mailAt = p.unified ?? p.mail;
    if (p.unified !== null) account('all', p.unified);
    if (p.web !== null) account('web', p.web);
    if (product.roles.web && webAt !== null) {
      const role = p.unified !== null ? 'all' : 'web';
      steps.push(step('web.domain', 'web.domain', target(webAt), { server: webAt, user: must(n.users[role], `${role} user`), domain }));
    }
    if (p.mail !== null) account('mail', p.mail);
    if (product.roles.mail && mailAt !== null) {
      const role = p.unified !== null ? 'all' : 'mail';
      steps.push(step('mail.domain', 'mail.domain', target(mailAt), { server: mailAt, user: must(n.users[role], `${role} user`), domain }));
    }
    for (const d of p.dns) {
      steps.push(step('dns.zone', 'dns.zone', target(d), { server: d, user: dnsUser(plan, d), domain }));
    }
  }
  // Only a plan with a hosting plan profile sets templates: without one, the chain stays as it was.
  const tplAt = p.unified ?? p.web;
  if (product.roles.web && product.hostingPlan && tplAt !== null) {
    const role = p.unified !== null ? 'all' : 'web';
    steps.push(step('web.templates', 'web.templates', target(tplAt), { server: tplAt, user: must(n.users[role], `${role} user`), domain }));
  }
  const sslAt = p.unified ?? p.web;
  if (product.roles.web && sslAt !== null) {
    const role = p.unified !== null ? 'all' : 'web';
    steps.push(step('ssl.seed', 'ssl.seed', target(sslAt), { server: sslAt, user: must(n.users[role], `${role} user`), domain }));
  }
  // mail.<domain> (+ webmail.) of the service's own mail domain; a Vanity mailbox's domain is the provider's.
  const mailSslAt = p.unified ?? p.mail;
  if (product.mode !== 'vanity' && product.roles.mail && mailSslAt !== null) {
    const role = p.unified !== null ? 'all' : 'mail';
    steps.push(step('ssl.seed', 'ssl.seed.mail', target(mailSslAt), { server: mailSslAt, user: must(n.users[role], `${role} user`), domain, role: 'mail' }));
  }
  return steps;
}

/** The steps that publish the service's DNS on one server: its zone, or its vanity record. */
export function zoneSteps(plan: ServicePlan, serverId: number): PlannedStep[] {
  return deploySteps(plan).filter((s) => s.target === target(serverId) && (s.type === 'dns.zone' || s.type === 'vanity.record'));
}

/** One step per holding, of the given task type (vanity holdings get their own types). */
function perHolding(plan: ServicePlan, servers: ServerRefs, kind: 'suspend' | 'unsuspend' | 'delete' | 'password'): PlannedStep[] {
  const steps: PlannedStep[] = [];
  for (const h of holdings(plan)) {
    const server = h.serverId;
    const t = target(server);
    if (h.role === 'mailbox') {
      const v = plan.vanity!;
      const box: StepArgs['vanity.mailbox'] = { server, user: must(v.mailUser, 'vanity mail user'), domain: v.parent, account: v.name };
      if (kind === 'delete') steps.push(step('vanity.mailbox-delete', 'vanity.mailbox-delete', t, box));
      else if (kind === 'password') steps.push(step('account.password', 'vanity.mailbox-password', t, { role: 'mailbox', ...box }));
      else steps.push(step('vanity.mailbox-state', `vanity.mailbox-${kind}`, t, { ...box, state: kind }));
    } else if (h.role === 'record') {
      const v = plan.vanity!;
      const rec: StepArgs['vanity.record'] = { server, user: v.dnsUser, zone: v.parent, record: v.name };
      if (kind === 'delete') steps.push(step('vanity.record-delete', 'vanity.record-delete', t, rec));
      else if (kind !== 'password') steps.push(step('vanity.record-state', `vanity.record-${kind}`, t, { ...rec, state: kind }));
    } else if (h.role === 'dns' && driverOf(servers, server) === 'powerdns') {
      // A PowerDNS zone has no account: suspension disables the zone itself, deletion drops it.
      if (kind === 'delete') steps.push(step('dns.zone-delete', 'dns.zone-delete', t, { server, account: h.account, domain: plan.domain }));
      else if (kind !== 'password') steps.push(step('dns.zone-state', `dns.zone-${kind}`, t, { server, user: null, domain: plan.domain, state: kind }));
    } else {
      const user = must(h.account, `${h.role} account`);
      if (kind === 'delete') steps.push(step('account.delete', `${h.role}.delete`, t, { role: h.role, server, user }));
      else if (kind === 'suspend') steps.push(step('account.suspend', `${h.role}.suspend`, t, { server, user }));
      else if (kind === 'unsuspend') steps.push(step('account.unsuspend', `${h.role}.unsuspend`, t, { server, user }));
      // DNS-only users never log in; only the accounts the customer uses get the new password.
      else if (h.role !== 'dns') steps.push(step('account.password', `${h.role}.password`, t, { role: h.role, server, user }));
      // The zone on a Hestia DNS node: v-(un)suspend-user usually took it along; the step checks and finishes it.
      if (h.role === 'dns' && (kind === 'suspend' || kind === 'unsuspend')) steps.push(step('dns.zone-state', `dns.zone-${kind}`, t, { server, user, domain: plan.domain, state: kind }));
    }
  }
  return steps;
}

/** The terminate's removal steps (a force terminate runs each once, through service.force-remove). */
export function removalSteps(plan: ServicePlan, servers: ServerRefs): PlannedStep[] {
  return perHolding(plan, servers, 'delete');
}

const REMOVES: Record<string, StepArgs['service.force-remove']['role']> = {
  'web.delete': 'web', 'mail.delete': 'mail', 'all.delete': 'all', 'dns.delete': 'dns', 'dns.zone-delete': 'dns',
  'vanity.mailbox-delete': 'mailbox', 'vanity.record-delete': 'record',
};

/** A force terminate: every removal tried once on its server, then the service closed with what is left listed. */
function forceSteps(plan: ServicePlan, servers: ServerRefs): PlannedStep[] {
  // A DNS server gone from the inventory cannot be asked: the close reports its zone as left.
  const reachable = { ...plan, placement: { ...plan.placement, dns: plan.placement.dns.filter((id) => servers.has(id)) } };
  const tries = removalSteps(reachable, servers).map((s) => {
    const role = REMOVES[s.step];
    if (!role) throw new Error(`removal step ${s.step} names no role`);
    return step('service.force-remove', `force.${s.step}`, s.target, { role, remove: s.step, server: Number(s.target!.slice('server:'.length)) });
  });
  return [...tries, close(true)];
}

function packageSteps(plan: ServicePlan): PlannedStep[] {
  const out: PlannedStep[] = [];
  for (const h of holdings(plan)) {
    const server = h.serverId;
    if (h.role === 'web' || h.role === 'mail' || h.role === 'all') {
      const pkg = must(plan.names.packages[h.role], `${h.role} package`);
      out.push(step('account.package', `${h.role}.package`, target(server), { role: h.role, server, user: must(h.account, `${h.role} account`), package: pkg, apply: true }));
      // v-change-user-package does not re-template existing domains: a profile's templates are applied to the site.
      if (h.role !== 'mail' && plan.product.roles.web && plan.product.hostingPlan) {
        out.push(step('web.templates', 'web.templates', target(server), { server, user: must(h.account, `${h.role} account`), domain: plan.domain }));
      }
    } else if (h.role === 'mailbox') {
      const v = plan.vanity!;
      out.push(step('vanity.mailbox', 'vanity.mailbox', target(server), { server, user: must(v.mailUser, 'vanity mail user'), domain: v.parent, account: v.name }));
    }
  }
  return out;
}

/** A role a package change switches on or off. */
export type SwitchedRole = 'web' | 'mail' | 'dns';

/** The roles the new package switches on and off, compared with the stored plan's. */
export function roleChanges(before: ServicePlan, after: ServicePlan): { added: SwitchedRole[]; removed: SwitchedRole[] } {
  const roles: SwitchedRole[] = ['web', 'mail', 'dns'];
  return {
    added: roles.filter((r) => !before.product.roles[r] && after.product.roles[r]),
    removed: roles.filter((r) => before.product.roles[r] && !after.product.roles[r]),
  };
}

/**
 * A package change that switches roles (one account per role; one account for both: see
 * unifiedRoleChangeSteps): the new limits on the accounts kept, each added role deployed as at
 * order time, the zone republished on every DNS server the new plan keeps (its MX/mail or web
 * records follow the roles), then the accounts of the removed roles deleted, and the holdings
 * rewritten from the new plan once all of that worked.
 */
function roleChangeSteps(before: ServicePlan, after: ServicePlan, servers: ServerRefs): PlannedStep[] {
  if (before.placement.unified !== null) return unifiedRoleChangeSteps(before, after, servers);
  const { added, removed } = roleChanges(before, after);
  const kept: ServicePlan = { ...after, placement: { ...after.placement, ...Object.fromEntries(added.map((r) => [r, r === 'dns' ? [] : null])) } };
  const addedStep = (s: PlannedStep): boolean => {
    if (s.type === 'dns.zone') return true;
    const role = s.step.split('.')[0] === 'ssl' ? (s.step === 'ssl.seed.mail' ? 'mail' : 'web') : s.step.split('.')[0];
    return added.includes(role as SwitchedRole);
  };
  const deploy = deploySteps(after).filter(addedStep);
  const dropped: ServicePlan = {
    ...before,
    placement: { web: removed.includes('web') ? before.placement.web : null, mail: removed.includes('mail') ? before.placement.mail : null, unified: null, dns: [] },
  };
  const removal = [
    ...(removed.includes('dns') ? zoneRemovalSteps(before, servers) : []),
    ...perHolding(dropped, servers, 'delete').map((s) => ({ ...s, step: `drop.${s.step}` })),
  ];
  return [...packageSteps(kept), ...deploy, ...removal, step('service.roles-applied', 'roles.applied', null, {})];
}

/**
 * The same for a service whose one Hestia user holds web and mail (Unified, or Split placed on one
 * node): the user stays, and only the switched role's domain comes or goes on its node. Adding:
 * the user's package raised first (HestiaCP refuses a domain over the package's limit), then the
 * role's domain (mail with DKIM) and the zone on every DNS server, then the role's automatic SSL.
 * Removing: the zone republished without the role's records, then the role's domain deleted (web:
 * with the user's databases and cron jobs), then the package lowered (HestiaCP refuses a package
 * below what the user holds). Both at once: the removal first, so the lowered limits fit.
 * DNS switched off: the zone deleted from every DNS server (with the DNS-only user where it has one).
 */
function unifiedRoleChangeSteps(before: ServicePlan, after: ServicePlan, servers: ServerRefs): PlannedStep[] {
  const { added, removed } = roleChanges(before, after);
  const server = after.placement.unified;
  if (server === null) throw new Error('the service\'s plan has no unified server');
  const t = target(server);
  const user = must(after.names.users.all, 'all user');
  const { domain } = after;
  const limits: PlannedStep[] = [step('account.package', 'all.package', t, { role: 'all', server, user, package: must(after.names.packages.all, 'all package'), apply: true })];
  // A kept site keeps its profile's templates; an added one gets them after its domain (below).
  if (after.product.roles.web && !added.includes('web') && after.product.hostingPlan) limits.push(step('web.templates', 'web.templates', t, { server, user, domain }));
  const deletes: PlannedStep[] = [];
  if (removed.includes('web')) deletes.push(step('web.domain-delete', 'drop.web.domain', t, { server, user, domain }));
  if (removed.includes('mail')) deletes.push(step('mail.domain-delete', 'drop.mail.domain', t, { server, user, domain }));
  const addedStep = (s: PlannedStep): boolean => {
    if (s.type === 'dns.zone') return true;
    if (s.step === 'ssl.seed.mail' || s.type === 'mail.domain') return added.includes('mail');
    if (s.step === 'ssl.seed' || s.type === 'web.domain' || s.type === 'web.templates') return added.includes('web');
    return false;
  };
  const deploy = deploySteps(after).filter(addedStep);
  const zonesGone = removed.includes('dns') ? zoneRemovalSteps(before, servers) : [];
  const applied = step('service.roles-applied', 'roles.applied', null, {});
  if (added.includes('web') || added.includes('mail')) return [...deletes, ...limits, ...deploy, ...zonesGone, applied];
  return [...deploy, ...deletes, ...limits, ...zonesGone, applied];
}

/**
 * DNS switched off: the zone off every DNS server of the plan before. Where the zone sits under one
 * of the service's own web/mail accounts on that node (Hestia keeps a domain's roles under one user
 * per node), only the zone goes and the account stays; elsewhere the DNS-only user goes with it.
 */
function zoneRemovalSteps(before: ServicePlan, servers: ServerRefs): PlannedStep[] {
  const { domain } = before;
  const own = new Set([before.names.users.all, before.names.users.web, before.names.users.mail].filter((u): u is string => !!u));
  return before.placement.dns.map((d) => {
    const holder = dnsUser(before, d);
    if (driverOf(servers, d) === 'powerdns') return step('dns.zone-delete', 'drop.dns.zone-delete', target(d), { server: d, account: null, domain });
    if (holder !== null && own.has(holder) && holder !== before.names.users.dns) return step('dns.zone-delete', 'drop.dns.zone-delete', target(d), { server: d, account: holder, domain });
    return step('account.delete', 'drop.dns.delete', target(d), { role: 'dns', server: d, user: must(holder, 'dns account') });
  });
}

function usageSteps(plan: ServicePlan): PlannedStep[] {
  const seen = new Set<number>();
  const out: PlannedStep[] = [];
  for (const h of holdings(plan)) {
    if (h.role === 'record' || seen.has(h.serverId)) continue;
    seen.add(h.serverId);
    out.push(step('usage.sync', 'usage.sync', target(h.serverId), { server: h.serverId }));
  }
  return out;
}

const close = (force: boolean): PlannedStep => step('service.close', 'service.close', null, { force });

/** What the planner must know of the service beyond its plan. */
export interface PlanState {
  /** The service is (or will be, when this chain runs) suspended: HestiaCP refuses a password change then. */
  suspended?: boolean;
  /** A password changed while suspended waits to be set on the accounts. */
  passwordPending?: boolean;
  /** A package change that switches roles: the plan before it (the chain's plan is the new one). */
  before?: ServicePlan;
}

/** Unsuspend, then the password changed meanwhile on every account the password change sets. */
function unsuspendSteps(plan: ServicePlan, servers: ServerRefs, passwordPending: boolean): PlannedStep[] {
  const steps = perHolding(plan, servers, 'unsuspend');
  if (!passwordPending) return steps;
  return [...steps, ...perHolding(plan, servers, 'password'), step('service.password-applied', 'password.applied', null, {})];
}

/** Steps of an operation, with the service state on success and on failure. */
export function planChain(op: Operation, plan: ServicePlan, servers: ServerRefs, state: PlanState = {}): PlannedChain {
  const chain = chainOf(op, plan, servers, state);
  return { ...chain, steps: withDependencies(chain.steps) };
}

function chainOf(op: Operation, plan: ServicePlan, servers: ServerRefs, state: PlanState): PlannedChain {
  switch (op) {
    case 'deploy': return { steps: deploySteps(plan), successState: 'active', failureState: 'failed' };
    case 'verify-repair': return { steps: deploySteps(plan), successState: 'active', failureState: 'failed' };
    case 'redeploy': {
      const removal = perHolding(plan, servers, 'delete').map((s) => ({ ...s, step: `reset.${s.step}` }));
      return { steps: [...removal, ...deploySteps(plan)], successState: 'active', failureState: 'failed' };
    }
    case 'suspend': return { steps: perHolding(plan, servers, 'suspend'), successState: 'suspended', failureState: null };
    case 'unsuspend': return { steps: unsuspendSteps(plan, servers, state.passwordPending === true), successState: 'active', failureState: null };
    case 'terminate': return { steps: [...perHolding(plan, servers, 'delete'), close(false)], successState: 'terminated', failureState: 'terminate-failed' };
    case 'force-terminate': return { steps: forceSteps(plan, servers), successState: 'terminated', failureState: null };
    case 'change-package': {
      const switched = state.before ? roleChanges(state.before, plan) : { added: [], removed: [] };
      if (state.before && (switched.added.length || switched.removed.length)) return { steps: roleChangeSteps(state.before, plan, servers), successState: null, failureState: null };
      return { steps: packageSteps(plan), successState: null, failureState: null };
    }
    case 'change-password': {
      // No remote call while suspended: the password is kept (sealed) and the Unsuspend sets it.
      if (state.suspended) return { steps: [step('service.password-pending', 'password.pending', null, {})], successState: null, failureState: null };
      return { steps: perHolding(plan, servers, 'password'), successState: null, failureState: null };
    }
    case 'sync-usage': return { steps: usageSteps(plan), successState: null, failureState: null };
    case 'start': case 'stop': case 'reboot':
      throw new InputError('', `${op} is a button of a KVM service (a Proxmox VM); service ${plan.whmcsServiceId} is a ${plan.product.mode} hosting service`, 409);
  }
}
