// Task types that only touch hostbridge's own tables. service.close is the last step of a
// terminate: once every server is clean, the service's holdings and usage rows go in one
// transaction (the chain then marks the service terminated). A forced close does the same
// without the servers' say, and writes what may be left behind into the task log.
import type { Knex } from 'knex';
import type { TaskRegistry } from '../engine/registry.ts';
import { TerminalError } from '../engine/errors.ts';
import { F } from '../fleet/inventory.ts';

export function registerServiceHandlers(registry: TaskRegistry, db: Knex): TaskRegistry {
  registry.register({
    name: 'service.close',
    description: 'Removes a terminated service\'s holdings, usage, zone-state and SSL rows.',
    policy: { maxAttempts: 10 },
    async run(ctx) {
      const serviceId = ctx.task.serviceId;
      if (serviceId === null) throw new TerminalError('service.close needs a service');
      const force = (ctx.task.args as { force?: boolean } | null)?.force === true;
      await db.transaction(async (trx) => {
        const left = await trx(F.holdings).join(F.servers, `${F.servers}.id`, `${F.holdings}.server_id`).where(`${F.holdings}.service_id`, serviceId)
          .select(`${F.holdings}.role`, `${F.holdings}.account`, `${F.servers}.name`);
        if (force) {
          for (const h of left) ctx.log(`left on ${h.name}: ${h.role} ${h.account ?? ''} (force-terminated without removing it; remove it by hand or with Verify & Repair on a new service)`);
        }
        for (const table of [F.holdings, 'mod_hostbridge_usage', 'mod_hostbridge_usage_parts', 'mod_hostbridge_dns_zones', 'mod_hostbridge_ssl']) {
          await trx(table).where('service_id', serviceId).del();
        }
      });
      ctx.log(force ? 'service closed by force' : 'service closed: every server was cleaned first');
      return { closed: true, force };
    },
  });
  return registry;
}
