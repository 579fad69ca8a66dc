// Vanity steps. They touch only the service's own mailbox on the provider's shared mail user and
// its own record in the parent zone: every lookup is filtered to that mailbox or that record name
// first, so the parent domain, its other records and the provider's account are never written.
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { hasHestiaCode, type HestiaDriver } from '../../drivers/hestia/index.ts';
import { canonical, type PowerDnsClient } from '../../drivers/powerdns/index.ts';
import type { StepArgs } from '../../pipelines/steps.ts';
import { stepArgs } from '../step-args.ts';
import { hestiaQuota, loadService, type HostingDeps } from './context.ts';

type MailboxArgs = StepArgs['vanity.mailbox'];
type RecordArgs = StepArgs['vanity.record'];

async function mailbox(driver: HestiaDriver, a: MailboxArgs): Promise<Record<string, string> | null> {
  return (await driver.listMailAccounts(a.user, a.domain))[a.account] ?? null;
}

/** This service's records in the parent zone on a Hestia node: only those named after it. */
async function ownRecords(driver: HestiaDriver, a: RecordArgs): Promise<Array<{ id: number; type: string; value: string; suspended: boolean }>> {
  const all = await driver.listDnsRecords(a.user!, a.zone);
  return Object.values(all).filter((r) => String(r.RECORD).toLowerCase() === a.record)
    .map((r) => ({ id: Number(r.ID), type: String(r.TYPE), value: String(r.VALUE), suspended: r.SUSPENDED === 'yes' }));
}

function needUser(a: RecordArgs): string {
  if (!a.user) throw new TerminalError(`vanity domain ${a.zone} has no DNS user set for its Hestia DNS servers (the provider account that owns the zone)`);
  return a.user;
}

async function pdnsRecord(client: PowerDnsClient, a: RecordArgs): Promise<{ name: string; records: Array<{ content: string; disabled?: boolean }> | null }> {
  const name = canonical(`${a.record}.${a.zone}`);
  const zone = await client.getZone(a.zone);
  if (!zone) throw new TerminalError(`the parent zone ${a.zone} does not exist on this PowerDNS server; create it first (hostbridge never creates or deletes a vanity parent)`);
  const rr = (zone.rrsets ?? []).find((r) => r.name === name && r.type === 'A');
  return { name, records: rr ? rr.records : null };
}

async function webIp(deps: HostingDeps, ctx: TaskContext): Promise<string> {
  const svc = await loadService(deps, ctx);
  if (svc.plan.placement.web === null) throw new TerminalError('a vanity record needs the service\'s web node');
  return (await deps.fleet.server(svc.plan.placement.web)).ip;
}

export function registerVanityHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registry.register({
    name: 'vanity.mailbox',
    description: 'Creates (or sets the quota of) the service\'s one mailbox on the provider\'s shared mail domain.',
    async run(ctx) {
      const a = stepArgs(ctx, 'vanity.mailbox');
      const svc = await loadService(deps, ctx);
      const quota = hestiaQuota(svc.plan.product.vanity?.mailboxQuotaMb ?? 'unlimited');
      const { driver } = await deps.fleet.hestia(a.server, ctx);
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
    },
  });

  registry.register({
    name: 'vanity.mailbox-state',
    description: 'Suspends or unsuspends the service\'s vanity mailbox.',
    async run(ctx) {
      const a = stepArgs(ctx, 'vanity.mailbox-state');
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
    },
  });

  registry.register({
    name: 'vanity.mailbox-delete',
    description: 'Deletes the service\'s vanity mailbox (and nothing else of the shared mail domain).',
    async run(ctx) {
      const a = stepArgs(ctx, 'vanity.mailbox-delete');
      const { driver } = await deps.fleet.hestia(a.server, ctx);
      if (await mailbox(driver, a)) {
        await driver.deleteMailAccount(a.user, a.domain, a.account);
        ctx.log(`mailbox ${a.account}@${a.domain} deleted`);
      } else {
        ctx.log(`mailbox ${a.account}@${a.domain} is already gone`);
      }
      if (await mailbox(driver, a)) throw new TerminalError(`mailbox ${a.account}@${a.domain} is still there after the delete`);
      return { deleted: true };
    },
  });

  registry.register({
    name: 'vanity.record',
    description: 'Publishes the service\'s one A record in the parent zone on one DNS server.',
    async run(ctx) {
      const a = stepArgs(ctx, 'vanity.record');
      const ip = await webIp(deps, ctx);
      if (a.driver === 'powerdns') {
        const { client } = await deps.fleet.powerdns(a.server, ctx);
        const cur = await pdnsRecord(client, a);
        if (!(cur.records?.length === 1 && cur.records[0]!.content === ip)) {
          await client.patchRRsets(a.zone, [{ name: cur.name, type: 'A', changetype: 'REPLACE', ttl: 3600, records: [{ content: ip, disabled: false }] }]);
        }
        ctx.log(`${cur.name} A ${ip}`);
        return { record: cur.name };
      }
      const user = needUser(a);
      const { driver } = await deps.fleet.hestia(a.server, ctx);
      let mine = await ownRecords(driver, a);
      if (!mine.some((r) => r.type === 'A' && r.value === ip)) {
        const all = await driver.listDnsRecords(user, a.zone);
        const nextId = Object.values(all).reduce((m, r) => Math.max(m, Number(r.ID)), 0) + 1;
        await driver.addDnsRecord(user, a.zone, a.record, 'A', ip, { id: nextId });
        ctx.log(`${a.record}.${a.zone} A ${ip} added`);
        mine = await ownRecords(driver, a);
      }
      // Anything else under the service's own name (an old address, a duplicate) goes.
      let kept = false;
      for (const r of mine) {
        if (r.type === 'A' && r.value === ip && !kept) {
          kept = true;
          continue;
        }
        await driver.deleteDnsRecord(user, a.zone, r.id);
        ctx.log(`removed stale ${a.record} ${r.type} ${r.value} (id ${r.id})`);
      }
      return { record: `${a.record}.${a.zone}` };
    },
  });

  registry.register({
    name: 'vanity.record-state',
    description: 'Suspends or unsuspends the service\'s record in the parent zone.',
    async run(ctx) {
      const a = stepArgs(ctx, 'vanity.record-state');
      const disabled = a.state === 'suspend';
      if (a.driver === 'powerdns') {
        const { client } = await deps.fleet.powerdns(a.server, ctx);
        const cur = await pdnsRecord(client, a);
        if (!cur.records) return { skipped: true };
        if (cur.records.some((r) => !!r.disabled !== disabled)) {
          await client.patchRRsets(a.zone, [{ name: cur.name, type: 'A', changetype: 'REPLACE', ttl: 3600, records: cur.records.map((r) => ({ content: r.content, disabled })) }]);
        }
        ctx.log(`${cur.name} ${disabled ? 'disabled' : 'enabled'}`);
        return { disabled };
      }
      const user = needUser(a);
      const { driver } = await deps.fleet.hestia(a.server, ctx);
      for (const r of await ownRecords(driver, a)) {
        if (r.suspended === disabled) continue;
        if (disabled) await driver.suspendDnsRecord(user, a.zone, r.id);
        else await driver.unsuspendDnsRecord(user, a.zone, r.id);
        ctx.log(`${a.record} ${r.type} (id ${r.id}) ${a.state}ed`);
      }
      return { disabled };
    },
  });

  registry.register({
    name: 'vanity.record-delete',
    description: 'Deletes the service\'s record from the parent zone (and nothing else of it).',
    async run(ctx) {
      const a = stepArgs(ctx, 'vanity.record-delete');
      if (a.driver === 'powerdns') {
        const { client } = await deps.fleet.powerdns(a.server, ctx);
        const cur = await pdnsRecord(client, a);
        if (cur.records) await client.patchRRsets(a.zone, [{ name: cur.name, type: 'A', changetype: 'DELETE' }]);
        ctx.log(`${cur.name} removed`);
        return { deleted: true };
      }
      const user = needUser(a);
      const { driver } = await deps.fleet.hestia(a.server, ctx);
      for (const r of await ownRecords(driver, a)) {
        await driver.deleteDnsRecord(user, a.zone, r.id);
        ctx.log(`${a.record} ${r.type} (id ${r.id}) removed`);
      }
      if ((await ownRecords(driver, a)).length) throw new TerminalError(`${a.record}.${a.zone} still has records after the delete`);
      return { deleted: true };
    },
  });
}
