// Reads of a service's chains and tasks and of what the emulated fleet holds for it, for the
// end-to-end tests that check an operation arriving in the middle of another.
import type { Knex } from 'knex';
import { nodeSummary, type EmulatedFleet } from './fleet.ts';

export interface ChainRow { id: number; operation: string; state: string; error: string | null; created_at: number; started_at: number | null; finished_at: number | null }
export interface TaskRow { id: number; chain_id: number; step: string; type: string; status: string; attempts: number; last_error: string | null; finished_at: number | null }

export async function serviceRow(db: Knex, whmcsServiceId: number): Promise<{ id: number; state: string; names: string | null } | undefined> {
  return db('mod_hostbridge_services').where('whmcs_service_id', whmcsServiceId).first('id', 'state', 'names');
}

/** The service's chains, oldest first, timestamps as numbers. */
export async function chainsOf(db: Knex, whmcsServiceId: number): Promise<ChainRow[]> {
  const svc = await serviceRow(db, whmcsServiceId);
  if (!svc) return [];
  const rows = await db('mod_hostbridge_chains').where('service_id', svc.id).orderBy('id')
    .select('id', 'operation', 'state', 'error', 'created_at', 'started_at', 'finished_at');
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return rows.map((r: any) => ({ ...r, id: Number(r.id), created_at: Number(r.created_at), started_at: n(r.started_at), finished_at: n(r.finished_at) }));
}

export async function tasksOfChain(db: Knex, chainId: number): Promise<TaskRow[]> {
  const rows = await db('mod_hostbridge_tasks').where('chain_id', chainId).orderBy('step_no')
    .select('id', 'chain_id', 'step', 'type', 'status', 'attempts', 'last_error', 'finished_at');
  return rows.map((r: any) => ({ ...r, id: Number(r.id), chain_id: Number(r.chain_id), attempts: Number(r.attempts), finished_at: r.finished_at === null ? null : Number(r.finished_at) }));
}

/**
 * Every place the fleet holds something named after the service (its Hestia users and packages,
 * its domain as a web or mail domain or zone), as "node: kind name", sorted.
 */
export function fleetHoldings(fleet: EmulatedFleet, names: { users: Record<string, string>; packages: Record<string, string> }, domain: string): string[] {
  const out: string[] = [];
  const users = new Set(Object.values(names.users));
  const packages = new Set(Object.values(names.packages));
  for (const [node, s] of Object.entries(nodeSummary(fleet))) {
    for (const u of s.users) if (users.has(u)) out.push(`${node}: user ${u}`);
    for (const p of s.packages) if (packages.has(p)) out.push(`${node}: package ${p}`);
    for (const [kind, list] of [['web', s.web], ['mail', s.mail], ['zone', s.zones]] as const) {
      for (const [owner, domains] of Object.entries(list)) if (domains.includes(domain)) out.push(`${node}: ${kind} ${domain} (${owner})`);
    }
  }
  return out.sort();
}
