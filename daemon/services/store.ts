// The service row (mod_hostbridge_services) as one typed record, read and written only here: its
// stored plan is parsed once, and its sealed password and the facts earlier steps learnt travel
// with it. `id` is hostbridge's row id; `whmcsServiceId` is WHMCS's tblhosting id.
import type { Knex } from 'knex';
import { T } from '../common/tables.ts';
import { dialectOf, nowMs } from '../db/connect.ts';
import type { Holding, ServicePlan } from '../pipelines/plan.ts';
import type { Mode } from '../pipelines/product.ts';
import type { VmServicePlan } from '../pipelines/vm-plan.ts';

type Db = Knex | Knex.Transaction;
type Row = Record<string, any>;

/** What deployment steps learn and later steps need (the mail domain's DKIM record, for the zone). */
export interface ServiceFacts {
  dkim?: { name: string; value: string; ttl: number };
}

export interface ServiceRecord {
  id: number;
  whmcsServiceId: number;
  /** A hosting mode, or kvm for a Proxmox VM. */
  mode: Mode | 'kvm';
  state: string;
  /** A hosting service's plan. Null for a KVM service, and for a row written without one (the engine's own tests, seeded fixtures). */
  plan: ServicePlan | null;
  /** A KVM service's plan (mode kvm), else null. */
  vmPlan: VmServicePlan | null;
  /** The customer's password, sealed with the master key. */
  passwordSealed: string | null;
  /**
   * The sealed password is newer than the one on the service's accounts: it was changed while the
   * service was suspended (HestiaCP refuses that), and the next Unsuspend sets it.
   */
  passwordPending: boolean;
  facts: ServiceFacts;
  clientId: number | null;
  productId: number | null;
  domain: string | null;
  username: string | null;
  email: string | null;
  createdAt: number;
  updatedAt: number;
}

/** The columns a CreateAccount writes; the plan decides mode and domain. */
export interface ServiceWrite {
  plan: ServicePlan;
  state: string;
  passwordSealed: string;
  clientId: number;
  productId: number;
  username: string | null;
  email: string | null;
}

function json<V>(v: unknown): V | null {
  if (v === null || v === undefined || v === '') return null;
  return (typeof v === 'string' ? JSON.parse(v) : v) as V;
}

const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** What the names column holds beside the plan's names. */
interface StoredNames { password_sealed?: string; password_pending?: boolean }

function record(r: Row): ServiceRecord {
  const names = json<StoredNames>(r.names);
  const vm = r.mode === 'kvm';
  return {
    id: Number(r.id), whmcsServiceId: Number(r.whmcs_service_id), mode: r.mode, state: r.state,
    plan: vm ? null : json<ServicePlan>(r.params), vmPlan: vm ? json<VmServicePlan>(r.params) : null, passwordSealed: names?.password_sealed ?? null, passwordPending: names?.password_pending === true,
    facts: json<ServiceFacts>(r.facts) ?? {},
    clientId: numOrNull(r.client_id), productId: numOrNull(r.product_id), domain: r.domain ?? null, username: r.username ?? null, email: r.email ?? null,
    createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
  };
}

export async function serviceById(db: Db, id: number): Promise<ServiceRecord | null> {
  const r = await db(T.services).where('id', id).first();
  return r ? record(r) : null;
}

export async function serviceByWhmcsId(db: Db, whmcsServiceId: number): Promise<ServiceRecord | null> {
  const r = await db(T.services).where('whmcs_service_id', whmcsServiceId).first();
  return r ? record(r) : null;
}

/**
 * What an order may collide with, in one read: the service row of this WHMCS id (if any), and the
 * WHMCS id of another live service on the domain (null when it is free).
 */
export async function orderClaims(db: Db, whmcsServiceId: number, domain: string): Promise<{ existing: ServiceRecord | null; domainHolder: number | null }> {
  const rows: Row[] = await db(T.services).where('whmcs_service_id', whmcsServiceId)
    .orWhere((b) => b.where('domain', domain).whereNot('state', 'terminated').whereNot('whmcs_service_id', whmcsServiceId))
    .orderBy('id');
  const own = rows.find((r) => Number(r.whmcs_service_id) === whmcsServiceId);
  const other = rows.find((r) => Number(r.whmcs_service_id) !== whmcsServiceId);
  return { existing: own ? record(own) : null, domainHolder: other ? Number(other.whmcs_service_id) : null };
}

/** Live services holding one of these roles on a server. */
export async function servicesHoldingOn(db: Db, serverId: number, roles: Holding['role'][]): Promise<ServiceRecord[]> {
  const rows: Row[] = await db(T.services).whereIn('id', db(T.holdings).where('server_id', serverId).whereIn('role', roles).select('service_id'))
    .whereNot('state', 'terminated').orderBy('id');
  return rows.map(record);
}

/**
 * The plans of these services, their rows locked for the caller's transaction (SQLite runs one
 * transaction at a time, and knex has no row lock for it).
 */
export async function lockPlans(trx: Knex.Transaction, ids: number[]): Promise<Array<{ id: number; plan: ServicePlan | null }>> {
  const q = trx(T.services).whereIn('id', ids).orderBy('id').select('id', 'params');
  const rows: Row[] = await (dialectOf(trx) === 'mysql' ? q.forUpdate() : q);
  return rows.map((r) => ({ id: Number(r.id), plan: json<ServicePlan>(r.params) }));
}

function columns(trx: Knex.Transaction, w: ServiceWrite): Row {
  return {
    mode: w.plan.product.mode, state: w.state, domain: w.plan.domain, params: JSON.stringify(w.plan),
    // The names are kept beside the sealed password, stored before the first remote call.
    names: JSON.stringify({ ...w.plan.names, password_sealed: w.passwordSealed }),
    client_id: w.clientId, product_id: w.productId, username: w.username, email: w.email,
    updated_at: nowMs(trx),
  };
}

/** Writes a new service row, or starts a terminated one over (existingId); returns its id. */
export async function writeService(trx: Knex.Transaction, whmcsServiceId: number, w: ServiceWrite, existingId?: number): Promise<number> {
  if (existingId !== undefined) {
    await trx(T.services).where('id', existingId).update(columns(trx, w));
    return existingId;
  }
  const [id] = await trx(T.services).insert({ ...columns(trx, w), whmcs_service_id: whmcsServiceId, created_at: nowMs(trx) });
  return Number(id);
}

/** Replaces what the service owns on which server (mod_hostbridge_service_servers); a service row just inserted has nothing to clear. */
export async function writeHoldings(trx: Knex.Transaction, serviceId: number, held: Holding[], freshService = false): Promise<void> {
  if (!freshService) await trx(T.holdings).where('service_id', serviceId).del();
  if (held.length) await trx(T.holdings).insert(held.map((h) => ({ service_id: serviceId, role: h.role, server_id: h.serverId, account: h.account })));
}

/** What a KVM CreateAccount writes. */
export interface VmServiceWrite {
  plan: VmServicePlan;
  state: string;
  passwordSealed: string;
  clientId: number;
  productId: number;
  username: string | null;
  email: string | null;
}

/** Writes a new KVM service row, or starts a terminated one over (existingId); returns its id. */
export async function writeVmService(trx: Knex.Transaction, whmcsServiceId: number, w: VmServiceWrite, existingId?: number): Promise<number> {
  const cols: Row = {
    mode: 'kvm', state: w.state, domain: w.plan.domain, params: JSON.stringify(w.plan),
    names: JSON.stringify({ password_sealed: w.passwordSealed }),
    client_id: w.clientId, product_id: w.productId, username: w.username, email: w.email, updated_at: nowMs(trx),
  };
  if (existingId !== undefined) {
    await trx(T.services).where('id', existingId).update({ ...cols, facts: null });
    return existingId;
  }
  const [id] = await trx(T.services).insert({ ...cols, whmcs_service_id: whmcsServiceId, created_at: nowMs(trx) });
  return Number(id);
}

export async function updateVmPlan(trx: Knex.Transaction, id: number, plan: VmServicePlan, productId: number | null): Promise<void> {
  await trx(T.services).where('id', id).update({ params: JSON.stringify(plan), product_id: productId, updated_at: nowMs(trx) });
}

export async function updatePlan(trx: Knex.Transaction, id: number, plan: ServicePlan, productId: number | null): Promise<void> {
  await trx(T.services).where('id', id).update({ params: JSON.stringify(plan), product_id: productId, updated_at: nowMs(trx) });
}

/** Rewrites the names column's password fields (read-modify-write: callers hold the service's row or its one-chain turn). */
async function updateNames(db: Db, id: number, change: StoredNames): Promise<void> {
  const row = await db(T.services).where('id', id).first('names');
  const names = json<Record<string, unknown>>(row?.names) ?? {};
  await db(T.services).where('id', id).update({ names: JSON.stringify({ ...names, ...change }), updated_at: nowMs(db) });
}

/** Stores a new password; `pending` when it cannot be set on the accounts yet (the service is suspended). */
export async function updatePassword(trx: Knex.Transaction, id: number, sealed: string, pending = false): Promise<void> {
  await updateNames(trx, id, { password_sealed: sealed, password_pending: pending });
}

/** Marks the stored password as waiting for the next Unsuspend, or as set on the accounts. */
export async function setPasswordPending(db: Db, id: number, pending: boolean): Promise<void> {
  await updateNames(db, id, { password_pending: pending });
}

export async function setState(trx: Knex.Transaction, id: number, state: string): Promise<void> {
  await trx(T.services).where('id', id).update({ state, updated_at: nowMs(trx) });
}

/** Merges facts into the service row (read-modify-write under the service's one-step-at-a-time rule). */
export async function saveFacts(db: Knex, id: number, more: ServiceFacts): Promise<void> {
  await db.transaction(async (trx) => {
    // Locked: steps of one service run in parallel, and each may add a fact.
    const q = trx(T.services).where('id', id).first('facts');
    const row = await (dialectOf(trx) === 'mysql' ? q.forUpdate() : q);
    await trx(T.services).where('id', id).update({ facts: JSON.stringify({ ...(json<ServiceFacts>(row?.facts) ?? {}), ...more }) });
  });
}
