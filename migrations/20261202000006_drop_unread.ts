// Drops two columns of mod_hostbridge_services that were written and never read:
// - placement: a copy of the plan's own placement (params.placement), which is what every reader
//   (chain planning, the DNS records, the vanity record) uses;
// - group_id: a copy of the plan's groupId (params.groupId); nothing selected or filtered by it.
// `down` adds them back, filled from the stored plan.
import type { Knex } from 'knex';

const SERVICES = 'mod_hostbridge_services';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable(SERVICES, (t) => {
    t.dropColumn('placement');
    t.dropColumn('group_id');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable(SERVICES, (t) => {
    t.text('placement').nullable();
    t.integer('group_id').unsigned().nullable();
  });
  const rows: Array<{ id: number; params: string | null }> = await knex(SERVICES).whereNotNull('params').select('id', 'params');
  for (const r of rows) {
    const plan = JSON.parse(r.params!) as { placement?: unknown; groupId?: number };
    await knex(SERVICES).where('id', r.id).update({
      placement: plan.placement === undefined ? null : JSON.stringify(plan.placement), group_id: plan.groupId ?? null,
    });
  }
}
