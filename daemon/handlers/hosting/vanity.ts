// Vanity steps. They touch only the service's own mailbox on the provider's shared mail user and
// its own record in the parent zone: every lookup is filtered to that mailbox or that record name
// first, so the parent domain, its other records and the provider's account are never written.
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { hasHestiaCode, type HestiaDriver } from '../../drivers/hestia/index.ts';
import { convergeRecords, missingRecords } from '../../dns/converge.ts';
import { describeRecord, type ZoneRecord } from '../../dns/records.ts';
import { ZoneMissingError, type ZoneHost } from '../../dns/zone-host.ts';
import type { StepArgs } from '../../pipelines/steps.ts';
import { registerStep } from '../step-args.ts';
import { hestiaQuota, loadService, type HostingDeps } from './context.ts';

type MailboxArgs = StepArgs['vanity.mailbox'];
/** vanity.record*: the service's record `record` in the parent zone `zone`; `user` holds that zone on a HestiaCP node (null for PowerDNS). */
type RecordArgs = StepArgs['vanity.record'];

async function mailbox(driver: HestiaDriver, a: MailboxArgs): Promise<Record<string, string> | null> {
  return (await driver.listMailAccounts(a.user, a.domain))[a.account] ?? null;
}

/**
 * Runs `fn` on the server's zone host for the parent zone. The parent must already exist (hostbridge
 * never creates or deletes one), and the record must be one label, so no other name can match it.
 * `opened`: the zone host, when the caller opened it alongside its own reads.
 */
async function inParentZone<R>(deps: HostingDeps, ctx: TaskContext, a: RecordArgs, fn: (host: ZoneHost) => Promise<R>, opened?: Promise<ZoneHost>): Promise<R> {
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(a.record)) throw new TerminalError(`vanity record name "${a.record}" is not one label`);
  const host = await (opened ?? deps.fleet.zoneHost(a.server, ctx, { user: a.user }));
  try {
    return await fn(host);
  } catch (err) {
    if (err instanceof ZoneMissingError) throw new TerminalError(`the parent zone ${a.zone} does not exist on ${host.label}; create it first (hostbridge never creates or deletes a vanity parent)`, { cause: err });
    throw err;
  }
}

/** This service's records in the parent zone: only those named after it. */
async function ownRecords(host: ZoneHost, a: RecordArgs) {
  return (await host.listRecords(a.zone)).filter((r) => r.name === a.record.toLowerCase());
}

async function webIp(deps: HostingDeps, ctx: TaskContext): Promise<string> {
  const svc = await loadService(deps, ctx);
  if (svc.plan.placement.web === null) throw new TerminalError('a vanity record needs the service\'s web node');
  return (await deps.fleet.server(svc.plan.placement.web)).ip;
}

export function registerVanityHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'vanity.mailbox', 'Creates (or sets the quota of) the service\'s one mailbox on the provider\'s shared mail domain.', async (ctx, a) => {
    const [svc, { driver }] = await Promise.all([loadService(deps, ctx), deps.fleet.hestia(a.server, ctx)]);
    const quota = hestiaQuota(svc.plan.product.vanity?.mailboxQuotaMb ?? 'unlimited');
    let box = await mailbox(driver, a);
    if (!box) {
      try {
        await driver.addMailAccount(a.user, a.domain, a.account, svc.password, quota === 'unlimited' ? 'unlimited' : Number(quota));
        ctx.log(`mailbox ${a.account}@${a.domain} created`);
      } catch (err) {
        if (!hasHestiaCode(err, 'E_EXISTS')) throw err;
      }
      box = await mailbox(driver, a);
      if (!box) throw new TerminalError(`mailbox ${a.account}@${a.domain} could not be created`);
    } else if (String(box.QUOTA) !== quota) {
      await driver.changeMailAccountQuota(a.user, a.domain, a.account, quota === 'unlimited' ? 'unlimited' : Number(quota));
      ctx.log(`mailbox ${a.account}@${a.domain} quota ${box.QUOTA} → ${quota}`);
    } else {
      ctx.log(`mailbox ${a.account}@${a.domain} exists`);
    }
    return { mailbox: `${a.account}@${a.domain}` };
  });

  registerStep(registry, 'vanity.mailbox-state', 'Suspends or unsuspends the service\'s vanity mailbox.', async (ctx, a) => {
    const { driver } = await deps.fleet.hestia(a.server, ctx);
    const box = await mailbox(driver, a);
    if (!box) {
      ctx.log(`mailbox ${a.account}@${a.domain} does not exist: nothing to ${a.state}`);
      return { skipped: true };
    }
    const want = a.state === 'suspend' ? 'yes' : 'no';
    if (box.SUSPENDED !== want) {
      if (a.state === 'suspend') await driver.suspendMailAccount(a.user, a.domain, a.account);
      else await driver.unsuspendMailAccount(a.user, a.domain, a.account);
    }
    if ((await mailbox(driver, a))?.SUSPENDED !== want) throw new TerminalError(`mailbox ${a.account}@${a.domain} did not change to SUSPENDED=${want}`);
    ctx.log(`mailbox ${a.account}@${a.domain} ${a.state}ed`);
    return { mailbox: `${a.account}@${a.domain}`, suspended: want === 'yes' };
  });

  registerStep(registry, 'vanity.mailbox-delete', 'Deletes the service\'s vanity mailbox (and nothing else of the shared mail domain).', async (ctx, a) => {
    const { driver } = await deps.fleet.hestia(a.server, ctx);
    if (await mailbox(driver, a)) {
      await driver.deleteMailAccount(a.user, a.domain, a.account);
      ctx.log(`mailbox ${a.account}@${a.domain} deleted`);
    } else {
      ctx.log(`mailbox ${a.account}@${a.domain} is already gone`);
    }
    if (await mailbox(driver, a)) throw new TerminalError(`mailbox ${a.account}@${a.domain} is still there after the delete`);
    return { deleted: true };
  });

  registerStep(registry, 'vanity.record', 'Publishes the service\'s one A record in the parent zone on one DNS server.', async (ctx, a) => {
    const opening = deps.fleet.zoneHost(a.server, ctx, { user: a.user });
    opening.catch(() => {}); // its failure is reported by inParentZone below, once the address is known
    const ip = await webIp(deps, ctx);
    const want: ZoneRecord = { name: a.record, type: 'A', value: ip };
    return inParentZone(deps, ctx, a, async (host) => {
      // Anything else under the service's own name (an old address, a duplicate) goes; no other name is touched.
      const c = await convergeRecords(host, a.zone, [want], { owns: (r) => r.name === a.record.toLowerCase() });
      for (const r of c.unwanted) ctx.log(`removed stale ${describeRecord(r)}`);
      if ((await missingRecords(host, a.zone, [want], c.listed)).length) throw new TerminalError(`${a.record}.${a.zone} A ${ip} is missing after the update`);
      ctx.log(`${a.record}.${a.zone} A ${ip}${c.added ? ' added' : ''}`);
      return { record: `${a.record}.${a.zone}` };
    }, opening);
  });

  registerStep(registry, 'vanity.record-state', 'Suspends or unsuspends the service\'s record in the parent zone.', async (ctx, a) => {
    const disabled = a.state === 'suspend';
    return inParentZone(deps, ctx, a, async (host) => {
      if (!(await ownRecords(host, a)).length) {
        ctx.log(`${a.record}.${a.zone} has no record: nothing to ${a.state}`);
        return { skipped: true };
      }
      const n = await host.setSuspended(a.zone, { name: a.record }, disabled);
      if ((await ownRecords(host, a)).some((r) => r.suspended !== disabled)) throw new TerminalError(`${a.record}.${a.zone} did not change to ${disabled ? 'suspended' : 'active'}`);
      ctx.log(`${a.record}.${a.zone} ${disabled ? 'disabled' : 'enabled'} (${n} record${n === 1 ? '' : 's'} changed)`);
      return { disabled };
    });
  });

  registerStep(registry, 'vanity.record-delete', 'Deletes the service\'s record from the parent zone (and nothing else of it).', async (ctx, a) => {
    return inParentZone(deps, ctx, a, async (host) => {
      const n = await host.deleteRecords(a.zone, [{ name: a.record }]);
      ctx.log(n ? `${a.record}.${a.zone}: ${n} record${n === 1 ? '' : 's'} removed` : `${a.record}.${a.zone} is already gone`);
      if ((await ownRecords(host, a)).length) throw new TerminalError(`${a.record}.${a.zone} still has records after the delete`);
      return { deleted: true };
    });
  });
}
