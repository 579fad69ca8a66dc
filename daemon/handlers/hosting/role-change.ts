// The end of a package change that switched roles on or off (pipelines/plan.ts roleChangeSteps):
// once the added roles are deployed and the removed roles' accounts deleted, what the service
// holds is rewritten from its plan, and automatic SSL stops checking a removed role's names.
import type { TaskRegistry } from '../../engine/registry.ts';
import { T } from '../../common/tables.ts';
import { holdings } from '../../pipelines/plan.ts';
import { writeHoldings } from '../../services/store.ts';
import { registerStep } from '../step-args.ts';
import { loadService, type HostingDeps } from './context.ts';

export function registerRoleChangeHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'service.roles-applied', 'Records what the service holds after a package change switched roles, and drops the automatic SSL of a removed role.', async (ctx) => {
    const svc = await loadService(deps, ctx);
    const held = holdings(svc.plan);
    const { web, mail } = svc.plan.product.roles;
    const gone = [...(web ? [] : ['web']), ...(mail ? [] : ['mail'])];
    let dropped = 0;
    await deps.db.transaction(async (trx) => {
      // Rewritten whole: a rerun writes the same rows.
      await writeHoldings(trx, svc.id, held);
      if (gone.length) dropped = await trx(T.ssl).where('service_id', svc.id).whereIn('role', gone).del();
    });
    ctx.log(`the service holds ${held.map((h) => h.role).join(', ') || 'nothing'}${dropped ? `; ${dropped} automatic SSL row(s) of removed roles dropped` : ''}`);
    return { holdings: held.length, sslDropped: dropped };
  });
}
