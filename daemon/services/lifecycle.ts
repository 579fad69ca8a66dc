// What each WHMCS module call does to the database: check the body, read what the plan needs
// once, plan (pure, pipelines/), and write the service row with its chain in one transaction.
// Nothing here talks to a server; the tasks do that later.
import type { Knex } from 'knex';
import { dialectOf, inTx, isUniqueViolation } from '../db/connect.ts';
import { encryptSecret } from '../crypto/secretbox.ts';
import { enqueueChainIn, type EnqueueResult } from '../engine/chains.ts';
import { T } from '../common/tables.ts';
import { cancelChain } from '../engine/sql/cancel.ts';
import { lockService } from '../engine/sql/chain-end.ts';
import type { Queue } from '../engine/queue.ts';
import { InputError } from '../common/errors.ts';
import { checkBody } from '../common/bodies.ts';
import { accountsPlaced, loadGroupFleet, serverRefs } from '../fleet/inventory.ts';
import { placeSwitchedRoles, type GroupFleet } from '../pipelines/placement.ts';
import { orderDomain, planOrder } from '../pipelines/order.ts';
import { holdings, planChain, planServerIds, zoneSteps, type Holding, type Operation, type PlanState, type PlannedChain, type ServicePlan } from '../pipelines/plan.ts';
import type { ProductInput, ProductPlan } from '../pipelines/product.ts';
import { resolveHostingProduct } from '../fleet/hosting-plans.ts';
import {
  orderClaims, serviceByWhmcsId, servicesHoldingOn, setPasswordPending, setState, updatePassword, updatePlan, writeHoldings, writeService, type ServiceRecord,
} from './store.ts';
import type { CreateBody, LifecycleAnswer } from './answers.ts';
import { createVmService, isKvmOrder, vmServiceOperation } from './vm-lifecycle.ts';

export type { CreateBody, LifecycleAnswer } from './answers.ts';

type Row = Record<string, any>;
const ACTIVE_CHAIN = ['running', 'waiting'];

async function enqueue(trx: Knex.Transaction, serviceId: number, op: Operation, chain: PlannedChain, freshService = false): Promise<EnqueueResult | null> {
  if (chain.steps.length === 0) return null;
  return enqueueChainIn(trx, { serviceId, operation: op, steps: chain.steps, successState: chain.successState, failureState: chain.failureState }, 1, { freshService });
}

/** An existing service's chain: one read of the servers its plan names, then pure planning. */
async function planFor(trx: Knex.Transaction, op: Operation, plan: ServicePlan, state: PlanState = {}): Promise<PlannedChain> {
  // A role switched off is removed from the servers of the plan before the change.
  const ids = state.before ? [...new Set([...planServerIds(plan), ...planServerIds(state.before)])] : planServerIds(plan);
  return planChain(op, plan, await serverRefs(trx, ids), state);
}

/**
 * Whether the service will be suspended when a chain queued now runs: chains run one at a time in
 * order, so the latest Suspend or Unsuspend still to run decides, else the service's state.
 */
async function suspendedWhenQueued(trx: Knex.Transaction, svc: ServiceRecord): Promise<boolean> {
  const last: Row | undefined = await trx(T.chains).where('service_id', svc.id).whereIn('state', ACTIVE_CHAIN)
    .whereIn('operation', ['suspend', 'unsuspend']).orderBy('id', 'desc').first('operation');
  return last ? last.operation === 'suspend' : svc.state === 'suspended';
}

function planOf(svc: ServiceRecord): ServicePlan {
  if (!svc.plan) throw new InputError('', `service ${svc.whmcsServiceId} has no stored plan; run CreateAccount to provision it again`, 409);
  return svc.plan;
}

/**
 * CreateAccount. `cleared`: what must succeed before anything is written (the API spends the
 * request's nonce there); it is awaited beside the order's reads, not before them.
 */
export async function createService(db: Knex, masterKey: Buffer, raw: unknown, cleared: Promise<unknown> = Promise.resolve()): Promise<LifecycleAnswer> {
  const body = checkBody<CreateBody>('CreateService', raw);
  // A KVM product (configoption1 "kvm") is a Proxmox VM: its own planning and chains.
  if (isKvmOrder(body.product)) {
    await cleared;
    return createVmService(db, masterKey, body);
  }
  const input: ProductInput = { product: body.product, config_options: body.config_options ?? {}, custom_fields: body.custom_fields ?? {} };
  const product = await resolveHostingProduct(db, input);
  const groupId = body.server_group_id;
  if (groupId === undefined || groupId === null) throw new InputError('server_group_id', 'a hosting product needs its Server group (Module Settings, the second setting)', 422);
  const domain = orderDomain(product, body.domain);
  const sealed = encryptSecret(masterKey, body.password);
  for (let attempt = 1; ; attempt++) {
    try {
      // The group is read before the transaction, its reads at once on the pool: a plain read
      // either way (the transaction's own would not lock them), and the order waits one round trip.
      // On MySQL/MariaDB the service's own claims are read beside them: under READ COMMITTED that
      // read takes no lock inside the transaction either, and the unique keys settle a race (the
      // retry below reads again). SQLite reads them inside, where its one writer serialises them.
      const early = dialectOf(db) === 'mysql';
      const [group, claims] = await Promise.all([
        loadGroupFleet(db, groupId), early ? orderClaims(db, body.whmcs_service_id, domain) : null, cleared,
      ]);
      const placed: number[] = [];
      const answer = await inTx(db, (trx) => createIn(trx, body, product, domain, sealed, group, claims, placed));
      // Committed: the next orders' placement counts these accounts before it reads them again.
      accountsPlaced(db, placed);
      return answer;
    } catch (err) {
      // Two identical CreateAccounts at once: the loser finds the winner's row on the next pass.
      if (attempt < 3 && isUniqueViolation(err)) continue;
      throw err;
    }
  }
}

async function createIn(
  trx: Knex.Transaction, body: CreateBody, product: ProductPlan, domain: string, sealed: string, group: GroupFleet | null,
  claims: Awaited<ReturnType<typeof orderClaims>> | null, placed: number[],
): Promise<LifecycleAnswer> {
  placed.length = 0; // a transaction run again starts over
  const whmcsServiceId = body.whmcs_service_id;
  const { existing, domainHolder } = claims ?? await orderClaims(trx, whmcsServiceId, domain);
  if (existing && existing.state !== 'terminated') {
    if (existing.mode !== product.mode) {
      throw new InputError('product.configoption1', `service ${whmcsServiceId} was created in ${existing.mode} mode; the mode is locked and cannot become ${product.mode}`, 409);
    }
    const chain: Row | undefined = await trx(T.chains).where('service_id', existing.id).whereIn('state', ACTIVE_CHAIN).orderBy('id').first('id');
    // Only a service whose deployment failed is deployed again; anything else is already there.
    if (existing.state === 'failed' && !chain) {
      const r = await enqueue(trx, existing.id, 'deploy', await planFor(trx, 'deploy', planOf(existing)));
      await setState(trx, existing.id, 'deploying');
      return { ok: true, whmcs_service_id: whmcsServiceId, chain_id: r?.chainId ?? null, state: 'deploying', created: true };
    }
    return { ok: true, whmcs_service_id: whmcsServiceId, chain_id: chain ? Number(chain.id) : null, state: existing.state, created: false, message: 'the service already exists; nothing was changed' };
  }

  if (domainHolder !== null) throw new InputError(product.vanity ? 'custom_fields.vanity_name' : 'domain', `${domain} is already served by service ${domainHolder}`, 409);
  if (!group) throw new InputError('server_group_id', `server group ${body.server_group_id} does not exist in hostbridge (check the product's Server group setting)`, 422);
  const order = planOrder({ whmcsServiceId, domain, email: body.email ?? '' }, product, group);
  // A terminated service created again starts over with a fresh plan.
  const serviceId = await writeService(trx, whmcsServiceId, {
    plan: order.plan, state: 'deploying', passwordSealed: sealed, clientId: body.client_id, productId: body.product_id,
    username: body.username ?? null, email: body.email ?? null,
  }, existing?.id);
  // A row this transaction inserted holds nothing yet and has no chain: both checks are skipped.
  const fresh = existing === null;
  await writeHoldings(trx, serviceId, order.holdings, fresh);
  placed.push(...order.holdings.map((h) => h.serverId));
  const r = await enqueue(trx, serviceId, 'deploy', order.chain, fresh);
  return { ok: true, whmcs_service_id: whmcsServiceId, chain_id: r?.chainId ?? null, state: 'deploying', created: true };
}

const SCHEMA_OF: Record<Exclude<Operation, 'deploy'>, 'SuspendService' | 'ChangePackage' | 'ChangePassword' | 'Empty'> = {
  suspend: 'SuspendService', unsuspend: 'Empty', terminate: 'Empty', 'change-package': 'ChangePackage', 'change-password': 'ChangePassword',
  redeploy: 'Empty', 'verify-repair': 'Empty', 'force-terminate': 'Empty', 'sync-usage': 'Empty',
  start: 'Empty', stop: 'Empty', reboot: 'Empty',
};

/** Any lifecycle call on an existing service: suspend, terminate, change package, buttons… */
export async function serviceOperation(queue: Queue, masterKey: Buffer, op: Exclude<Operation, 'deploy'>, whmcsServiceId: number, raw: unknown): Promise<LifecycleAnswer> {
  const { db } = queue;
  const body = checkBody<Record<string, any>>(SCHEMA_OF[op], raw);
  const known = await knownService(db, whmcsServiceId);
  if (known.mode === 'kvm') {
    if (op === 'sync-usage') return { ok: true, whmcs_service_id: whmcsServiceId, chain_id: null, state: known.state, created: false, message: 'a VM has no hosting usage to collect' };
    return vmServiceOperation(queue, masterKey, op, known, body);
  }
  const newProduct = op === 'change-package'
    ? await resolveHostingProduct(db, { product: body.product, config_options: body.config_options ?? {}, custom_fields: body.custom_fields ?? {} })
    : null;
  // A package change that switches a role on places it: the group is read as at order time.
  const group = newProduct && known.plan && switchesRoles(known.plan.product, newProduct) ? await loadGroupFleet(db, known.plan.groupId) : null;
  const sealed = op === 'change-password' ? encryptSecret(masterKey, body.password) : null;

  if (op === 'force-terminate') {
    // The node may be gone: whatever is still running for the service is cancelled first.
    const svc = await knownService(db, whmcsServiceId);
    const open = await db(T.chains).where('service_id', svc.id).whereIn('state', ACTIVE_CHAIN).whereNot('operation', 'force-terminate').pluck('id');
    for (const chainId of open) await cancelChain(queue, Number(chainId));
  }

  return inTx(db, async (trx) => {
    // Locked before it is read: a concurrent Unsuspend and ChangePassword see each other's password state.
    await lockService(trx, (await knownService(trx, whmcsServiceId)).id);
    const svc = await knownService(trx, whmcsServiceId);
    const answer = (chainId: number | null, created: boolean, state: string, message?: string): LifecycleAnswer => ({ ok: true, whmcs_service_id: whmcsServiceId, chain_id: chainId, state, created, ...(message ? { message } : {}) });
    if (svc.state === 'terminated') {
      if (op === 'terminate' || op === 'force-terminate') return answer(null, false, 'terminated', 'the service is already terminated');
      throw new InputError('', `service ${whmcsServiceId} is terminated; run CreateAccount to provision it again`, 409);
    }
    let plan = planOf(svc);
    const state: PlanState = { passwordPending: svc.passwordPending };
    if (newProduct) {
      if (newProduct.mode !== svc.mode) throw new InputError('product.configoption1', `the deployment mode is locked at creation: service ${whmcsServiceId} is ${svc.mode}, the new package says ${newProduct.mode}; nothing was changed`, 409);
      if (switchesRoles(plan.product, newProduct)) {
        const next = switchedPlan(plan, newProduct, group, whmcsServiceId);
        // The switch is planned against what the service holds now: not while other work may change it.
        const busy: Row | undefined = await trx(T.chains).where('service_id', svc.id).whereIn('state', ACTIVE_CHAIN).orderBy('id').first('id', 'operation');
        if (svc.state !== 'active' || busy) {
          const why = busy ? `its ${busy.operation} (chain ${busy.id}) has not finished` : `it is ${svc.state}`;
          throw new InputError('product', `the new package switches roles of service ${whmcsServiceId}, which is done only on an active service with nothing running: ${why}; send the package change again when it is done; nothing was changed`, 409);
        }
        state.before = plan;
        plan = next;
        // Added roles count as held from now (a failed chain leaves them for Verify & Repair or Terminate);
        // removed ones stay held until their accounts are gone (service.roles-applied rewrites the rows).
        await writeHoldings(trx, svc.id, unionHoldings(holdings(plan), holdings(state.before)));
      } else {
        plan = { ...plan, product: newProduct };
      }
      await updatePlan(trx, svc.id, plan, body.product_id ?? svc.productId);
    }
    if (sealed) {
      // HestiaCP refuses to change a suspended user's password: the new one waits for the Unsuspend.
      state.suspended = await suspendedWhenQueued(trx, svc);
      await updatePassword(trx, svc.id, sealed, state.suspended);
    }
    // A terminated service's accounts are gone: a password that waited for them is dropped.
    if ((op === 'terminate' || op === 'force-terminate') && svc.passwordPending) await setPasswordPending(trx, svc.id, false);
    const r = await enqueue(trx, svc.id, op, await planFor(trx, op, plan, state));
    if (!r) return answer(null, false, svc.state, 'nothing to do for this service');
    if (state.suspended) return answer(r.chainId, r.created, svc.state, 'the service is suspended: the new password is kept and set on its accounts when it is unsuspended');
    return answer(r.chainId, r.created, svc.state);
  });
}

function switchesRoles(before: ProductPlan, after: ProductPlan): boolean {
  return before.roles.web !== after.roles.web || before.roles.mail !== after.roles.mail || before.roles.dns !== after.roles.dns;
}

/**
 * The plan after a package change that switches roles on or off. A Split service places an added
 * role on a node of its own; a Unified service (or a Split one placed with one account) adds or
 * removes the role's domain on its one account's node. A Vanity service's mailbox and record live
 * in the provider's accounts: its roles are fixed. (A mode change is refused before this.)
 */
function switchedPlan(plan: ServicePlan, product: ProductPlan, group: GroupFleet | null, whmcsServiceId: number): ServicePlan {
  const b = plan.product.roles;
  const a = product.roles;
  const what = `web ${b.web}→${a.web}, mail ${b.mail}→${a.mail}, dns ${b.dns}→${a.dns}`;
  if (plan.product.mode === 'vanity') {
    throw new InputError('product', `the new package switches roles of service ${whmcsServiceId} (${what}): a Vanity service's roles are fixed at creation; nothing was changed`, 409);
  }
  if (!a.web && !a.mail) throw new InputError('product', `the new package leaves service ${whmcsServiceId} neither web nor mail (${what}); nothing was changed`, 422);
  if (!group) throw new InputError('product', `server group ${plan.groupId} of service ${whmcsServiceId} no longer exists in hostbridge; nothing was changed`, 409);
  return { ...plan, product, placement: placeSwitchedRoles(plan.placement, product, group, b) };
}

function unionHoldings(a: Holding[], b: Holding[]): Holding[] {
  const key = (h: Holding) => `${h.role}:${h.serverId}`;
  const seen = new Set(a.map(key));
  return [...a, ...b.filter((h) => !seen.has(key(h)))];
}

async function knownService(db: Knex | Knex.Transaction, whmcsServiceId: number): Promise<ServiceRecord> {
  const svc = await serviceByWhmcsId(db, whmcsServiceId);
  if (!svc) throw new InputError('', `service ${whmcsServiceId} is not known to hostbridge (run CreateAccount first)`, 404);
  return svc;
}

/**
 * Publishes every zone (and vanity record) a DNS server should hold again, e.g. after the server
 * was rebuilt: one short chain per service, which waits behind anything the service is running.
 * One read of the services, then pure planning (a zone step names its server, not its driver).
 */
export async function redeployZones(db: Knex, serverId: number): Promise<{ server_id: number; services: number; chains: number[] }> {
  const server = await db(T.servers).where('id', serverId).first('id', 'cap_dns');
  if (!server) throw new InputError('', `server ${serverId} does not exist`, 404);
  if (!server.cap_dns) throw new InputError('', `server ${serverId} does not have the DNS capability`, 409);
  const services = (await servicesHoldingOn(db, serverId, ['dns', 'record'])).filter((s) => s.plan);
  const chains: number[] = [];
  for (const svc of services) {
    const steps = zoneSteps(svc.plan!, serverId);
    if (steps.length === 0) continue;
    const res = await inTx(db, (trx) => enqueueChainIn(trx, { serviceId: svc.id, operation: `dns-redeploy:${serverId}`, steps }));
    chains.push(res.chainId);
  }
  return { server_id: serverId, services: services.length, chains };
}

/** Each zone's deploy state on each DNS server (optionally one server). */
export async function zoneStates(db: Knex, serverId?: number): Promise<Array<Record<string, unknown>>> {
  let q = db(`${T.dnsZones} as z`).join(T.services + ' as s', 's.id', 'z.service_id').join(T.servers + ' as v', 'v.id', 'z.server_id')
    .select('s.whmcs_service_id', 'z.zone', 'z.server_id', 'v.name as server', 'z.state', 'z.records', 'z.records_sha256', 'z.last_error', 'z.updated_at')
    .orderBy(['z.zone', 'z.server_id']);
  if (serverId !== undefined) q = q.where('z.server_id', serverId);
  return (await q).map((r: Row) => ({ ...r, whmcs_service_id: Number(r.whmcs_service_id), server_id: Number(r.server_id), records: Number(r.records), updated_at: Number(r.updated_at) }));
}
