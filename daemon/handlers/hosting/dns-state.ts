// The service's zone on one DNS server suspended or served again (the Suspend and Unsuspend
// chains), through the server's zone host: HestiaCP's v-(un)suspend-dns-domain, PowerDNS's
// disabled records. Check, act, verify: a rerun finds the zone as wanted and changes nothing.
import type { TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { T } from '../../common/tables.ts';
import { registerStep } from '../step-args.ts';
import type { HostingDeps } from './context.ts';

export function registerDnsStateHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'dns.zone-state', 'Suspends or unsuspends the service\'s zone on one DNS server (it stays, unserved).', async (ctx, a) => {
    const serviceId = ctx.task.serviceId;
    if (serviceId === null) throw new TerminalError('dns.zone-state needs a service');
    const host = await deps.fleet.zoneHost(a.server, ctx, { user: a.user });
    const suspend = a.state === 'suspend';
    if (!(await host.zoneExists(a.domain))) {
      // Nothing served is what a suspend wants; an unsuspend cannot bring back what is not there.
      if (suspend) {
        ctx.log(`zone ${a.domain} is not on ${host.label}: nothing to suspend`);
        return { zone: a.domain, suspended: true, changed: false };
      }
      throw new TerminalError(`zone ${a.domain} is not on ${host.label}, so it cannot be served again: publish it again (DNS Zones page, Redeploy)`);
    }
    let changed = false;
    if ((await host.zoneSuspended(a.domain)) === suspend) {
      ctx.log(`zone ${a.domain} on ${host.label} is already ${suspend ? 'suspended' : 'served'}`);
    } else {
      changed = await host.setZoneSuspended(a.domain, suspend);
      ctx.log(`zone ${a.domain} on ${host.label} ${suspend ? 'suspended: its names are no longer served' : 'served again'}`);
    }
    if ((await host.zoneSuspended(a.domain)) !== suspend) throw new TerminalError(`zone ${a.domain} on ${host.label} is still ${suspend ? 'served' : 'suspended'} after the change`);
    await deps.db(T.dnsZones).where({ service_id: serviceId, server_id: a.server, zone: a.domain })
      .update({ state: suspend ? 'suspended' : 'deployed', updated_at: Date.now() });
    return { zone: a.domain, suspended: suspend, changed };
  });
}
