// Role-targeted HestiaCP configuration, the pure part: which servers of a group an Apply reaches
// and which managed keys each of them gets. A key belongs to one category (all servers, web, mail,
// DNS); a server gets a key only when the category is "all" or one of the server's own roles, and
// only the categories the Apply button names. The planner decides which servers get a task; the
// worker calls keysForServer again with the server's roles as they are when it runs, so a mail key
// never reaches a web-only node even if the node's roles changed in between.
import { plannedStep, type PlannedStep } from './steps.ts';

export type ConfigCategory = 'all' | 'web' | 'mail' | 'dns';
export type ApplyRole = ConfigCategory;
export const APPLY_ROLES: readonly ApplyRole[] = ['all', 'web', 'mail', 'dns'];

export interface ConfigServer {
  id: number;
  name: string;
  driver: 'hestiacp' | 'powerdns';
  status: string;
  caps: { web: boolean; mail: boolean; dns: boolean };
}

export interface ManagedKey { key: string; value: string; category: ConfigCategory }

/** Whether an Apply to `role` concerns a server with these roles at all. */
export function serverInRole(role: ApplyRole, caps: ConfigServer['caps']): boolean {
  return role === 'all' || caps[role];
}

/**
 * The managed keys a server gets from an Apply to `role`: the all-servers keys and the keys of the
 * server's own roles, narrowed to the role the Apply names (an Apply to mail servers pushes the
 * all-servers and the mail keys, never web or DNS keys, even to a node that also serves web).
 */
export function keysForServer(role: ApplyRole, caps: ConfigServer['caps'], managed: readonly ManagedKey[]): ManagedKey[] {
  if (!serverInRole(role, caps)) return [];
  return managed
    .filter((m) => m.category === 'all' || (caps[m.category] && (role === 'all' || role === m.category)))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export interface ApplyPlan {
  /** One task per HestiaCP server the Apply reaches. */
  steps: PlannedStep<'hestia.config'>[];
  /** Servers of the role that get no task, and why (PowerDNS has no hestia.conf; a disabled server is left alone). */
  skipped: Array<{ server: ConfigServer; reason: string }>;
}

/** The tasks of an Apply: one per server of the group in `role`, each on the server's own target. */
export function planApply(groupId: number, role: ApplyRole, servers: readonly ConfigServer[]): ApplyPlan {
  const steps: ApplyPlan['steps'] = [];
  const skipped: ApplyPlan['skipped'] = [];
  const seen = new Set<number>();
  for (const s of [...servers].sort((a, b) => a.id - b.id)) {
    if (seen.has(s.id) || !serverInRole(role, s.caps)) continue;
    seen.add(s.id);
    if (s.driver !== 'hestiacp') skipped.push({ server: s, reason: 'PowerDNS server: it has no hestia.conf' });
    else if (s.status === 'disabled') skipped.push({ server: s, reason: 'the server is disabled' });
    else steps.push(plannedStep('hestia.config', `hestia.config#${groupId}:${role}`, `server:${s.id}`, { server: s.id, group: groupId, role }));
  }
  return { steps, skipped };
}

/** What the worker does with one key: leave it (already the value), or change it. */
export function keyChanges(keys: readonly ManagedKey[], current: Readonly<Record<string, string>>): { unchanged: ManagedKey[]; change: ManagedKey[] } {
  const unchanged: ManagedKey[] = [];
  const change: ManagedKey[] = [];
  for (const k of keys) ((current[k.key] ?? '') === k.value ? unchanged : change).push(k);
  return { unchanged, change };
}
