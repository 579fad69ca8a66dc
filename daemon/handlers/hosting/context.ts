// What every hosting task reads before it acts: its service's stored plan, the customer's password
// (unsealed in memory, declared as a secret so no log shows it) and the facts earlier steps left.
import type { Knex } from 'knex';
import { decryptSecret } from '../../crypto/secretbox.ts';
import { T } from '../../common/tables.ts';
import { TerminalError } from '../../common/errors.ts';
import type { TaskContext } from '../../engine/registry.ts';
import type { FleetAccess } from '../../fleet/access.ts';
import type { ServicePlan } from '../../pipelines/plan.ts';
import type { Quota } from '../../pipelines/product.ts';
import { hasHestiaCode } from '../../drivers/hestia/index.ts';

export interface HostingDeps {
  db: Knex;
  masterKey: Buffer;
  fleet: FleetAccess;
}

export interface ServiceFacts {
  dkim?: { name: string; value: string; ttl: number };
}

export interface LoadedService {
  id: number;
  state: string;
  plan: ServicePlan;
  password: string;
  facts: ServiceFacts;
}

export async function loadService(deps: HostingDeps, ctx: TaskContext): Promise<LoadedService> {
  const id = ctx.task.serviceId;
  if (id === null) throw new TerminalError(`${ctx.task.type} needs a service`);
  const row = await deps.db(T.services).where('id', id).first();
  if (!row) throw new TerminalError(`service row ${id} is gone`);
  const names = JSON.parse(row.names ?? '{}') as { password_sealed?: string };
  if (!names.password_sealed) throw new TerminalError(`service ${row.whmcs_service_id} has no stored password`);
  const password = decryptSecret(deps.masterKey, names.password_sealed);
  ctx.secret(password);
  return { id, state: row.state, plan: JSON.parse(row.params) as ServicePlan, password, facts: row.facts ? JSON.parse(row.facts) : {} };
}

/** Merges facts into the service row (read-modify-write under the service's one-step-at-a-time rule). */
export async function saveFacts(deps: HostingDeps, serviceId: number, more: ServiceFacts): Promise<void> {
  await deps.db.transaction(async (trx) => {
    const row = await trx(T.services).where('id', serviceId).first('facts');
    const facts = { ...(row?.facts ? JSON.parse(row.facts) : {}), ...more };
    await trx(T.services).where('id', serviceId).update({ facts: JSON.stringify(facts) });
  });
}

/** The value of a lookup, or null when Hestia says the object does not exist. */
export async function orMissing<R>(fn: () => Promise<R>): Promise<R | null> {
  try {
    return await fn();
  } catch (err) {
    if (hasHestiaCode(err, 'E_NOTEXIST')) return null;
    throw err;
  }
}

export function hestiaQuota(q: Quota): string {
  return q === 'unlimited' ? 'unlimited' : String(q);
}

/** A mailbox for the Hestia account's contact: the customer's e-mail, else hostmaster of the domain. */
export function contactEmail(plan: ServicePlan): string {
  return /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}$/.test(plan.email) ? plan.email : `hostmaster@${plan.domain}`;
}
