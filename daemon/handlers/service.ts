// Task types that only touch hostbridge's own tables. service.close is the last step of a
// terminate: once every server is clean, the service's holdings and usage rows go in one
// transaction (the chain then marks the service terminated). A forced close does the same
// without the servers' say, and writes what may be left behind into the task log: only what no
// earlier step removed (services/leftovers.ts). The password steps record a password changed
// while the service was suspended, and that the Unsuspend set it.
import type { Knex } from 'knex';
import type { TaskRegistry } from '../engine/registry.ts';
import { TerminalError } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import { keepLeftovers, leftovers } from '../services/leftovers.ts';
import { serviceById, setPasswordPending } from '../services/store.ts';
import { registerStep } from './step-args.ts';

export function registerServiceHandlers(registry: TaskRegistry, db: Knex): TaskRegistry {
  registerStep(registry, 'service.close', 'Removes a terminated service\'s holdings, usage, zone-state, SSL rows, custom certificates, the customer\'s DNS records and web settings.', async (ctx, { force }) => {
    const serviceId = ctx.task.serviceId;
    if (serviceId === null) throw new TerminalError('service.close needs a service');
    await db.transaction(async (trx) => {
      if (force) {
        const { left, removed } = await leftovers(trx, serviceId);
        for (const h of removed) ctx.log(`already removed from ${h.server}: ${h.role} ${h.account ?? ''} (by a step of this service)`);
        for (const h of left) ctx.log(`left on ${h.server}: ${h.role} ${h.account ?? ''} (could not be removed; remove it by hand, then mark it cleaned up under DNS Zones › Left for cleanup)`);
        if (!left.length) ctx.log('nothing of the service is left on its servers');
        // Kept after the service's rows go: the DNS Zones page lists them until marked cleaned up.
        await keepLeftovers(trx, serviceId, left, Date.now());
      }
      for (const table of [T.holdings, T.usage, T.usageParts, T.dnsZones, T.ssl, T.sslCustom, T.zoneRecords, T.webSettings]) {
        await trx(table).where('service_id', serviceId).del();
      }
    });
    ctx.log(force ? 'service closed by force' : 'service closed: every server was cleaned first');
    return { closed: true, force };
  }, { maxAttempts: 10 });

  registerStep(registry, 'service.password-pending', 'Records that a password changed while the service is suspended waits for the Unsuspend.', async (ctx) => {
    const svc = ctx.task.serviceId === null ? null : await serviceById(db, ctx.task.serviceId);
    if (!svc) throw new TerminalError('service.password-pending needs a service');
    // The flag was set with the password, in the ChangePassword's transaction; an Unsuspend that ran since has set it already.
    if (svc.passwordPending) ctx.log('the service is suspended (HestiaCP refuses a suspended user\'s new password): the new password is stored, sealed, and set on its accounts right after the Unsuspend');
    else ctx.log('the new password is already set on the service\'s accounts');
    return { pending: svc.passwordPending };
  });

  registerStep(registry, 'service.password-applied', 'Records that the Unsuspend set the password changed while the service was suspended.', async (ctx) => {
    const serviceId = ctx.task.serviceId;
    if (serviceId === null) throw new TerminalError('service.password-applied needs a service');
    await setPasswordPending(db, serviceId, false);
    ctx.log('the password changed while the service was suspended is now set on every account');
    return { pending: false };
  });
  return registry;
}
