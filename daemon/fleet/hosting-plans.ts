// Hosting plan profiles in the database: add, edit, list, find (by id or by name, as a WHMCS product
// names one in configoption16) and remove, and the product's plan resolved with its profile. Every
// write goes through normaliseHostingPlan, so a stored profile is always whole and in range; a bad
// one is an InputError naming the field, and nothing is written.
import type { Knex } from 'knex';
import { nowMs } from '../db/connect.ts';
import { InputError } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import { resolveProduct, type ProductInput, type ProductPlan } from '../pipelines/product.ts';
import { HOSTING_PLAN_OPTION, hostingPlanRef, normaliseHostingPlan, type HostingPlanInput, type HostingPlanProfile, type HostingPlanSpec } from '../pipelines/hosting-plan.ts';

type Db = Knex | Knex.Transaction;
type Row = Record<string, any>;

function fromRow(r: Row): HostingPlanProfile {
  const spec = (typeof r.spec === 'string' ? JSON.parse(r.spec) : r.spec) as Omit<HostingPlanSpec, 'name'>;
  return { id: Number(r.id), name: r.name, ...spec, created_at: Number(r.created_at), updated_at: Number(r.updated_at) };
}

function toRow(spec: HostingPlanSpec): Row {
  const { name, ...rest } = spec;
  return { name, spec: JSON.stringify(rest) };
}

async function nameClash(db: Db, name: string, exceptId?: number): Promise<void> {
  const q = db(T.hostingPlans).where('name', name);
  if (exceptId !== undefined) q.whereNot('id', exceptId);
  if (await q.first('id')) throw new InputError('name', `a hosting plan named "${name}" already exists`, 409);
}

export async function addHostingPlan(db: Knex, input: HostingPlanInput): Promise<number> {
  const spec = normaliseHostingPlan(input);
  await nameClash(db, spec.name);
  const [id] = await db(T.hostingPlans).insert({ ...toRow(spec), created_at: nowMs(db), updated_at: nowMs(db) });
  return Number(id);
}

/**
 * Replaces a profile with the body (a PUT: fields left out take their defaults). Services already
 * deployed keep the plan they were built with; the next package change or order reads the new one.
 */
export async function updateHostingPlan(db: Knex, id: number, input: HostingPlanInput): Promise<void> {
  const spec = normaliseHostingPlan(input);
  if (!(await db(T.hostingPlans).where('id', id).first('id'))) throw new InputError('', `hosting plan ${id} does not exist`, 404);
  await nameClash(db, spec.name, id);
  await db(T.hostingPlans).where('id', id).update({ ...toRow(spec), updated_at: nowMs(db) });
}

export async function listHostingPlans(db: Db): Promise<HostingPlanProfile[]> {
  return (await db(T.hostingPlans).orderBy('name')).map(fromRow);
}

export async function getHostingPlan(db: Db, id: number): Promise<HostingPlanProfile | null> {
  const r = await db(T.hostingPlans).where('id', id).first();
  return r ? fromRow(r) : null;
}

export async function findHostingPlan(db: Db, ref: { id: number } | { name: string }): Promise<HostingPlanProfile | null> {
  const r = 'id' in ref ? await db(T.hostingPlans).where('id', ref.id).first() : await db(T.hostingPlans).where('name', ref.name).first();
  return r ? fromRow(r) : null;
}

/** The profile a hosting product names (configoption16), null when it names none; an InputError naming the setting when it names one that does not exist. */
export async function hostingPlanForProduct(db: Db, input: ProductInput): Promise<HostingPlanProfile | null> {
  const ref = hostingPlanRef(input);
  if (!ref) return null;
  const found = await findHostingPlan(db, ref);
  if (!found) {
    throw new InputError(`product.${HOSTING_PLAN_OPTION}`, `the product's hosting plan ${'id' in ref ? `#${ref.id}` : `"${ref.name}"`} does not exist; pick one in the product's Module Settings (hostbridge hosting-plan list shows them)`);
  }
  return found;
}

/** A hosting product's plan: its profile read once (when it names one), then the pure merge. */
export async function resolveHostingProduct(db: Db, input: ProductInput): Promise<ProductPlan> {
  return resolveProduct(input, await hostingPlanForProduct(db, input));
}

/**
 * Services (not terminated) whose stored plan was built from this profile. A plan carries
 * `"hostingPlan":{"id":<id>,` (pipelines/hosting-plan.ts HostingPlanExtras, id first), stored as
 * JSON in the params column; the pattern ends at the comma, so profile 1 does not match profile 12.
 */
export async function hostingPlanServices(db: Db, id: number): Promise<number> {
  const row = await db(T.services).whereNot('state', 'terminated')
    .where('params', 'like', `%"hostingPlan":{"id":${id},%`)
    .count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** Removes a profile no live service was built from; 409 naming how many use it otherwise. */
export async function removeHostingPlan(db: Knex, id: number): Promise<void> {
  await db.transaction(async (trx) => {
    if (!(await trx(T.hostingPlans).where('id', id).forUpdate().first('id'))) throw new InputError('', `hosting plan ${id} does not exist`, 404);
    const used = await hostingPlanServices(trx, id);
    if (used > 0) throw new InputError('', `hosting plan ${id} is in use by ${used} service(s); terminate them or move them to another package first`, 409);
    await trx(T.hostingPlans).where('id', id).del();
  });
}
