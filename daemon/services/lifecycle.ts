// What each WHMCS module call does to the database: check the body, plan, and write the service
// row with its chain in one transaction. Nothing here talks to a server; the tasks do that later.
import type { Knex } from 'knex';
import { inTx, isUniqueViolation, nowMs } from '../db/connect.ts';
import { encryptSecret } from '../crypto/secretbox.ts';
import { enqueueChainIn, type EnqueueResult } from '../engine/chains.ts';
import { T } from '../common/tables.ts';
import { cancelChain } from '../engine/sql/cancel.ts';
import type { Queue } from '../engine/queue.ts';
import { InputError } from '../common/errors.ts';
import { checkBody } from '../common/bodies.ts';
import { loadGroupFleet, serverRefs } from '../fleet/inventory.ts';
import { accountNames } from '../pipelines/names.ts';
import { place } from '../pipelines/placement.ts';
import { holdings, planChain, zoneSteps, type Operation, type ServicePlan } from '../pipelines/plan.ts';
import { resolveProduct, type ProductInput, type ProductPlan } from '../pipelines/product.ts';
import { checkDomain } from '../pipelines/validate.ts';

export interface CreateBody extends ProductInput {
  service_id: number;
  client_id: number;
  product_id: number;
  domain?: string;
  username?: string;
  password: string;
  email?: string;
  server_group_id: number;
}

export interface LifecycleAnswer {
  ok: true;
  service_id: number;
  chain_id: number | null;
  state: string;
  /** False when the call found its work already there and changed nothing. */
  created: boolean;
  message?: string;
}

type Row = Record<string, any>;
const ACTIVE_CHAIN = ['running', 'waiting'];

function parse<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

async function enqueue(trx: Knex.Transaction, serviceRowId: number, op: Operation, plan: ServicePlan): Promise<EnqueueResult | null> {
  const ids = holdings(plan).map((h) => h.serverId);
  const refs = await serverRefs(trx, ids);
  const { steps, successState, failureState } = planChain(op, plan, refs);
  if (steps.length === 0) return null;
  return enqueueChainIn(trx, { serviceId: serviceRowId, operation: op, steps, successState, failureState });
}

export async function createService(db: Knex, masterKey: Buffer, raw: unknown): Promise<LifecycleAnswer> {
  const body = checkBody<CreateBody>('CreateService', raw);
  const input: ProductInput = { product: body.product, config_options: body.config_options ?? {}, custom_fields: body.custom_fields ?? {} };
  const product = resolveProduct(input);
  const domain = product.vanity
    ? `${product.vanity.name}.${product.vanity.parent}`
    : checkDomain('domain', body.domain ?? '');
  const sealed = encryptSecret(masterKey, body.password);
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTx(db, (trx) => createIn(trx, body, product, domain, sealed));
    } catch (err) {
      // Two identical CreateAccounts at once: the loser finds the winner's row on the next pass.
      if (attempt < 3 && isUniqueViolation(err)) continue;
      throw err;
    }
  }
}

async function createIn(trx: Knex.Transaction, body: CreateBody, product: ProductPlan, domain: string, sealed: string): Promise<LifecycleAnswer> {
  const existing: Row | undefined = await trx(T.services).where('whmcs_service_id', body.service_id).first();
  if (existing && existing.state !== 'terminated') {
    if (existing.mode !== product.mode) {
      throw new InputError('product.configoption1', `service ${body.service_id} was created in ${existing.mode} mode; the mode is locked and cannot become ${product.mode}`, 409);
    }
    const chain: Row | undefined = await trx(T.chains).where('service_id', existing.id).whereIn('state', ACTIVE_CHAIN).orderBy('id').first('id');
    // Only a service whose deployment failed is deployed again; anything else is already there.
    if (existing.state === 'failed' && !chain) {
      const r = await enqueue(trx, Number(existing.id), 'deploy', parse<ServicePlan>(existing.params));
      await trx(T.services).where('id', existing.id).update({ state: 'deploying', updated_at: nowMs(trx) });
      return { ok: true, service_id: body.service_id, chain_id: r?.chainId ?? null, state: 'deploying', created: true };
    }
    return { ok: true, service_id: body.service_id, chain_id: chain ? Number(chain.id) : null, state: existing.state, created: false, message: 'the service already exists; nothing was changed' };
  }

  const other = await trx(T.services).where('domain', domain).whereNot('state', 'terminated').whereNot('whmcs_service_id', body.service_id).first('whmcs_service_id');
  if (other) throw new InputError(product.vanity ? 'custom_fields.vanity_name' : 'domain', `${domain} is already served by service ${other.whmcs_service_id}`, 409);
  const group = await loadGroupFleet(trx, body.server_group_id);
  if (!group) throw new InputError('server_group_id', `server group ${body.server_group_id} does not exist in hostbridge (check the product's Server group setting)`, 422);
  const placement = place(product, group);
  const parent = product.vanity ? group.vanity.find((v) => v.domain === product.vanity!.parent)! : null;
  const plan: ServicePlan = {
    whmcsServiceId: body.service_id, groupId: group.id, domain, email: body.email ?? '', product, placement,
    names: accountNames(body.service_id, domain, product.mode, placement.unified !== null),
    vanity: product.vanity && parent ? { parent: parent.domain, name: product.vanity.name, mailUser: parent.mailUser, dnsUser: parent.dnsUser } : null,
  };
  const row = {
    mode: product.mode, state: 'deploying', placement: JSON.stringify(placement),
    names: JSON.stringify({ ...plan.names, password_sealed: sealed }), params: JSON.stringify(plan),
    client_id: body.client_id, product_id: body.product_id, group_id: group.id, domain, username: body.username ?? null, email: body.email ?? null,
    updated_at: nowMs(trx),
  };
  let serviceRowId: number;
  if (existing) {
    // A terminated service created again starts over with a fresh plan.
    serviceRowId = Number(existing.id);
    await trx(T.services).where('id', serviceRowId).update(row);
  } else {
    const [newId] = await trx(T.services).insert({ ...row, whmcs_service_id: body.service_id, created_at: nowMs(trx) });
    serviceRowId = Number(newId);
  }
  await trx(T.holdings).where('service_id', serviceRowId).del();
  const held = holdings(plan);
  if (held.length) await trx(T.holdings).insert(held.map((h) => ({ service_id: serviceRowId, role: h.role, server_id: h.serverId, account: h.account })));
  const r = await enqueue(trx, serviceRowId, 'deploy', plan);
  return { ok: true, service_id: body.service_id, chain_id: r?.chainId ?? null, state: 'deploying', created: true };
}

const SCHEMA_OF: Record<Exclude<Operation, 'deploy'>, 'SuspendService' | 'ChangePackage' | 'ChangePassword' | 'Empty'> = {
  suspend: 'SuspendService', unsuspend: 'Empty', terminate: 'Empty', 'change-package': 'ChangePackage', 'change-password': 'ChangePassword',
  redeploy: 'Empty', 'verify-repair': 'Empty', 'force-terminate': 'Empty', 'sync-usage': 'Empty',
};

/** Any lifecycle call on an existing service: suspend, terminate, change package, buttons… */
export async function serviceOperation(queue: Queue, masterKey: Buffer, op: Exclude<Operation, 'deploy'>, whmcsServiceId: number, raw: unknown): Promise<LifecycleAnswer> {
  const { db } = queue;
  const body = checkBody<Record<string, any>>(SCHEMA_OF[op], raw);
  const newProduct = op === 'change-package'
    ? resolveProduct({ product: body.product, config_options: body.config_options ?? {}, custom_fields: body.custom_fields ?? {} })
    : null;
  const sealed = op === 'change-password' ? encryptSecret(masterKey, body.password) : null;

  if (op === 'force-terminate') {
    // The node may be gone: whatever is still running for the service is cancelled first.
    const svc = await serviceRow(db, whmcsServiceId);
    const open = await db(T.chains).where('service_id', svc.id).whereIn('state', ACTIVE_CHAIN).whereNot('operation', 'force-terminate').pluck('id');
    for (const chainId of open) await cancelChain(queue, Number(chainId));
  }

  return inTx(db, async (trx) => {
    const svc = await serviceRow(trx, whmcsServiceId);
    let plan = parse<ServicePlan>(svc.params);
    const answer = (chainId: number | null, created: boolean, state: string, message?: string): LifecycleAnswer => ({ ok: true, service_id: whmcsServiceId, chain_id: chainId, state, created, ...(message ? { message } : {}) });
    if (svc.state === 'terminated') {
      if (op === 'terminate' || op === 'force-terminate') return answer(null, false, 'terminated', 'the service is already terminated');
      throw new InputError('', `service ${whmcsServiceId} is terminated; run CreateAccount to provision it again`, 409);
    }
    if (newProduct) {
      if (newProduct.mode !== svc.mode) throw new InputError('product.configoption1', `the deployment mode is locked at creation: service ${whmcsServiceId} is ${svc.mode}, the new package says ${newProduct.mode}`, 409);
      const before = plan.product.roles;
      const after = newProduct.roles;
      if (before.web !== after.web || before.mail !== after.mail || (before.dns !== after.dns)) {
        throw new InputError('product', `the new package changes which roles the service has (web ${before.web}→${after.web}, mail ${before.mail}→${after.mail}, dns ${before.dns}→${after.dns}); roles are fixed at creation`, 409);
      }
      plan = { ...plan, product: newProduct };
      await trx(T.services).where('id', svc.id).update({ params: JSON.stringify(plan), product_id: body.product_id ?? svc.product_id, updated_at: nowMs(trx) });
    }
    if (sealed) {
      const names = parse<Record<string, unknown>>(svc.names);
      await trx(T.services).where('id', svc.id).update({ names: JSON.stringify({ ...names, password_sealed: sealed }), updated_at: nowMs(trx) });
    }
    const r = await enqueue(trx, Number(svc.id), op, plan);
    if (!r) return answer(null, false, svc.state, 'nothing to do for this service');
    return answer(r.chainId, r.created, svc.state);
  });
}

async function serviceRow(db: Knex | Knex.Transaction, whmcsServiceId: number): Promise<Row> {
  const svc = await db(T.services).where('whmcs_service_id', whmcsServiceId).first();
  if (!svc) throw new InputError('', `service ${whmcsServiceId} is not known to hostbridge (run CreateAccount first)`, 404);
  return svc;
}

/**
 * Publishes every zone (and vanity record) a DNS server should hold again, e.g. after the server
 * was rebuilt: one short chain per service, which waits behind anything the service is running.
 */
export async function redeployZones(db: Knex, serverId: number): Promise<{ server_id: number; services: number; chains: number[] }> {
  const server = await db(T.servers).where('id', serverId).first('id', 'cap_dns');
  if (!server) throw new InputError('', `server ${serverId} does not exist`, 404);
  if (!server.cap_dns) throw new InputError('', `server ${serverId} does not have the DNS capability`, 409);
  const rows: Row[] = await db(T.holdings).join(T.services, `${T.services}.id`, `${T.holdings}.service_id`)
    .where(`${T.holdings}.server_id`, serverId).whereIn(`${T.holdings}.role`, ['dns', 'record'])
    .whereNotIn(`${T.services}.state`, ['terminated']).distinct(`${T.services}.id`, `${T.services}.params`);
  const chains: number[] = [];
  for (const r of rows) {
    const plan = parse<ServicePlan>(r.params);
    const refs = await serverRefs(db, holdings(plan).map((h) => h.serverId));
    const steps = zoneSteps(plan, refs, serverId);
    if (steps.length === 0) continue;
    const res = await inTx(db, (trx) => enqueueChainIn(trx, { serviceId: Number(r.id), operation: `dns-redeploy:${serverId}`, steps }));
    chains.push(res.chainId);
  }
  return { server_id: serverId, services: rows.length, chains };
}

/** Each zone's deploy state on each DNS server (optionally one server). */
export async function zoneStates(db: Knex, serverId?: number): Promise<Array<Record<string, unknown>>> {
  let q = db(`${T.dnsZones} as z`).join(T.services + ' as s', 's.id', 'z.service_id').join(T.servers + ' as v', 'v.id', 'z.server_id')
    .select('s.whmcs_service_id as service_id', 'z.zone', 'z.server_id', 'v.name as server', 'z.state', 'z.records', 'z.records_sha256', 'z.last_error', 'z.updated_at')
    .orderBy(['z.zone', 'z.server_id']);
  if (serverId !== undefined) q = q.where('z.server_id', serverId);
  return (await q).map((r: Row) => ({ ...r, service_id: Number(r.service_id), server_id: Number(r.server_id), records: Number(r.records), updated_at: Number(r.updated_at) }));
}
