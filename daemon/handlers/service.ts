// Task types that only touch hostbridge's own tables. service.close is the last step of a
// terminate: once every server is clean, the service's holdings and usage rows go in one
// transaction (the chain then marks the service terminated). A forced close does the same
// without the servers' say, and writes what may be left behind into the task log.
import type { Knex } from 'knex';
import type { TaskRegistry } from '../engine/registry.ts';
import { TerminalError } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import { registerStep } from './step-args.ts';

export function registerServiceHandlers(registry: TaskRegistry, db: Knex): TaskRegistry {
  registerStep(registry, 'service.close', 'Removes a terminated service\'s holdings, usage, zone-state and SSL rows.', async (ctx, { force }) => {
    const serviceId = ctx.task.serviceId;
    if (serviceId === null) throw new TerminalError('service.close needs a service');
    await db.transaction(async (trx) => {
      const left = await trx(T.holdings).join(T.servers, `${T.servers}.id`, `${T.holdings}.server_id`).where(`${T.holdings}.service_id`, serviceId)
        .select(`${T.holdings}.role`, `${T.holdings}.account`, `${T.servers}.name`);
      if (force) {
        for (const h of left) ctx.log(`left on ${h.name}: ${h.role} ${h.account ?? ''} (force-terminated without removing it; remove it by hand or with Verify & Repair on a new service)`);
      }
      for (const table of [T.holdings, T.usage, T.usageParts, T.dnsZones, T.ssl]) {
        await trx(table).where('service_id', serviceId).del();
      }
    });
    ctx.log(force ? 'service closed by force' : 'service closed: every server was cleaned first');
    return { closed: true, force };
  }, { maxAttempts: 10 });
  return registry;
}
