// What every hosting task reads before it acts: its service's stored plan, the customer's password
// (unsealed in memory, declared as a secret so no log shows it) and the facts earlier steps left,
// all through the service store.
import type { Knex } from 'knex';
import { decryptSecret } from '../../crypto/secretbox.ts';
import { TerminalError } from '../../common/errors.ts';
import type { TaskContext } from '../../engine/registry.ts';
import type { FleetAccess } from '../../fleet/access.ts';
import type { ServicePlan } from '../../pipelines/plan.ts';
import type { Quota } from '../../pipelines/product.ts';
import { hasHestiaCode } from '../../drivers/hestia/index.ts';
import { saveFacts as saveServiceFacts, serviceById, type ServiceFacts } from '../../services/store.ts';

export interface HostingDeps {
  db: Knex;
  masterKey: Buffer;
  fleet: FleetAccess;
}

export interface LoadedService {
  id: number;
  state: string;
  plan: ServicePlan;
  password: string;
  facts: ServiceFacts;
}

/** The task's service, its plan and its password (unsealed, and declared a secret of this attempt). */
export async function loadService(deps: HostingDeps, ctx: TaskContext): Promise<LoadedService> {
  const id = ctx.task.serviceId;
  if (id === null) throw new TerminalError(`${ctx.task.type} needs a service`);
  const svc = await serviceById(deps.db, id);
  if (!svc) throw new TerminalError(`service row ${id} is gone`);
  if (!svc.plan) throw new TerminalError(`service ${svc.whmcsServiceId} has no stored plan`);
  if (!svc.passwordSealed) throw new TerminalError(`service ${svc.whmcsServiceId} has no stored password`);
  const password = decryptSecret(deps.masterKey, svc.passwordSealed);
  ctx.secret(password);
  return { id, state: svc.state, plan: svc.plan, password, facts: svc.facts };
}

/** Merges facts into the service row (services/store.ts). */
export async function saveFacts(deps: HostingDeps, serviceId: number, more: ServiceFacts): Promise<void> {
  await saveServiceFacts(deps.db, serviceId, more);
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
