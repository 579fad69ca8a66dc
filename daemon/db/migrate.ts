// Runs the versioned knex migrations in migrations/. The bookkeeping tables carry our prefix
// so they sit beside WHMCS's own tables without clashing.
import type { Knex } from 'knex';
import { MIGRATIONS } from '../../migrations/index.ts';
import { T } from '../common/tables.ts';

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => MIGRATIONS.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = MIGRATIONS.find(([n]) => n === name);
    if (!found) throw new Error(`unknown migration ${name}`);
    return found[1];
  },
};

/** The migration source and bookkeeping table (the upgrade tests apply migrations one at a time with it). */
export const MIGRATOR_CONFIG: Knex.MigratorConfig = {
  migrationSource: source,
  tableName: T.migrations,
};

export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = await db.migrate.latest(MIGRATOR_CONFIG);
  return applied as string[];
}

export async function pendingMigrations(db: Knex): Promise<string[]> {
  const [, pending] = await db.migrate.list(MIGRATOR_CONFIG);
  return (pending as Array<string | { file: string }>).map((p) => (typeof p === 'string' ? p : p.file));
}

/**
 * Applied, pending and unknown migrations: unknown ones are in the database but not in this
 * release (a newer daemon migrated it). Nothing is created: on an empty database all are pending.
 */
export async function migrationState(db: Knex): Promise<{ applied: string[]; pending: string[]; unknown: string[] }> {
  const known = MIGRATIONS.map(([name]) => name);
  const applied = (await db.schema.hasTable(T.migrations))
    ? (await db(T.migrations).orderBy('id').pluck('name')).map(String)
    : [];
  return { applied, pending: known.filter((n) => !applied.includes(n)), unknown: applied.filter((n) => !known.includes(n)) };
}
