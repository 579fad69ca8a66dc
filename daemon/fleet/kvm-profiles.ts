// KVM product profiles in the database: add, edit, list, find (by id or by name, as a WHMCS product
// names one in configoption15) and remove. Every write goes through normaliseKvmProfile, so a
// stored profile is always whole and in range; a bad one is an InputError naming the field, and
// nothing is written.
import type { Knex } from 'knex';
import { nowMs } from '../db/connect.ts';
import { InputError } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import type { ProductInput } from '../pipelines/product.ts';
import { kvmProfileRef, normaliseKvmProfile, type KvmProfile, type KvmProfileInput, type KvmProfileSpec } from '../pipelines/kvm-product.ts';

type Db = Knex | Knex.Transaction;
type Row = Record<string, any>;

function fromRow(r: Row): KvmProfile {
  const spec = (typeof r.spec === 'string' ? JSON.parse(r.spec) : r.spec) as Omit<KvmProfileSpec, 'name' | 'cluster_id'>;
  return { id: Number(r.id), name: r.name, cluster_id: Number(r.cluster_id), ...spec, created_at: Number(r.created_at), updated_at: Number(r.updated_at) };
}

function toRow(spec: KvmProfileSpec): Row {
  const { name, cluster_id, ...rest } = spec;
  return { name, cluster_id, spec: JSON.stringify(rest) };
}

async function nameClash(db: Db, name: string, exceptId?: number): Promise<void> {
  const q = db(T.kvmProfiles).where('name', name);
  if (exceptId !== undefined) q.whereNot('id', exceptId);
  if (await q.first('id')) throw new InputError('name', `a KVM profile named "${name}" already exists`, 409);
}

export async function addKvmProfile(db: Knex, input: KvmProfileInput): Promise<number> {
  const spec = normaliseKvmProfile(input);
  await nameClash(db, spec.name);
  const [id] = await db(T.kvmProfiles).insert({ ...toRow(spec), created_at: nowMs(db), updated_at: nowMs(db) });
  return Number(id);
}

/**
 * Replaces a profile with the body (a PUT: fields left out take their defaults). Services already
 * deployed keep the plan they were built with; the next package change or order reads the new one.
 */
export async function updateKvmProfile(db: Knex, id: number, input: KvmProfileInput): Promise<void> {
  const spec = normaliseKvmProfile(input);
  if (!(await db(T.kvmProfiles).where('id', id).first('id'))) throw new InputError('', `KVM profile ${id} does not exist`, 404);
  await nameClash(db, spec.name, id);
  await db(T.kvmProfiles).where('id', id).update({ ...toRow(spec), updated_at: nowMs(db) });
}

export async function listKvmProfiles(db: Db): Promise<KvmProfile[]> {
  return (await db(T.kvmProfiles).orderBy('name')).map(fromRow);
}

export async function getKvmProfile(db: Db, id: number): Promise<KvmProfile | null> {
  const r = await db(T.kvmProfiles).where('id', id).first();
  return r ? fromRow(r) : null;
}

export async function findKvmProfile(db: Db, ref: { id: number } | { name: string }): Promise<KvmProfile | null> {
  const r = 'id' in ref ? await db(T.kvmProfiles).where('id', ref.id).first() : await db(T.kvmProfiles).where('name', ref.name).first();
  return r ? fromRow(r) : null;
}

/** The profile a KVM product names (configoption15, an id or a name); an InputError naming the setting when there is none. */
export async function kvmProfileForProduct(db: Db, input: ProductInput): Promise<KvmProfile> {
  const ref = kvmProfileRef(input);
  const found = await findKvmProfile(db, ref);
  if (!found) {
    throw new InputError('product.configoption15', `the product's KVM profile ${'id' in ref ? `#${ref.id}` : `"${ref.name}"`} does not exist; pick one in the product's Module Settings (hostbridge kvm-profile list shows them)`);
  }
  return found;
}

/**
 * Services (not terminated) whose stored plan was built from this profile. A KVM plan carries
 * `"profileId":<id>` (pipelines/kvm-product.ts KvmPlan), stored as JSON in the params column; the
 * pattern ends at the number, so profile 1 does not match profile 12.
 */
export async function kvmProfileServices(db: Db, id: number): Promise<number> {
  const row = await db(T.services).whereNot('state', 'terminated')
    .where((q) => q.where('params', 'like', `%"profileId":${id},%`).orWhere('params', 'like', `%"profileId":${id}}%`))
    .count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** Removes a profile no live service was built from; 409 naming how many use it otherwise. */
export async function removeKvmProfile(db: Knex, id: number): Promise<void> {
  await db.transaction(async (trx) => {
    if (!(await trx(T.kvmProfiles).where('id', id).forUpdate().first('id'))) throw new InputError('', `KVM profile ${id} does not exist`, 404);
    const used = await kvmProfileServices(trx, id);
    if (used > 0) throw new InputError('', `KVM profile ${id} is in use by ${used} service(s); terminate them or move them to another package first`, 409);
    await trx(T.kvmProfiles).where('id', id).del();
  });
}
