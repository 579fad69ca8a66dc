// Web and mail domains, and the service's DNS zone on every DNS server,
// through the server's zone host (daemon/dns: HestiaCP or PowerDNS alike). The zone converges on
// zoneRecords(): missing records are added, records nobody wants are removed, so a rerun or a
// repair leaves exactly one of each.
import type { TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { hasHestiaCode } from '../../drivers/hestia/index.ts';
import { loadService, saveFacts, type HostingDeps } from './context.ts';
import { publishZoneOn } from './zone-publish.ts';
import { storedRecords, toZoneRecord } from '../../services/hosting-panel/dns.ts';
import { webSettings } from '../../services/hosting-panel/web-settings.ts';
import { T } from '../../common/tables.ts';
import { registerStep } from '../step-args.ts';

export function registerDomainHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'web.domain', 'Adds the service\'s web domain to its Hestia web user, on the node\'s IP.', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    let domains = await driver.listWebDomains(a.user);
    if (domains[a.domain]) {
      ctx.log(`web domain ${a.domain} exists`);
    } else {
      try {
        await driver.addWebDomain(a.user, a.domain, server.ip);
        ctx.log(`web domain ${a.domain} added on ${server.ip}`);
      } catch (err) {
        if (!hasHestiaCode(err, 'E_EXISTS')) throw err;
        // is_base_domain_owner: the base domain (e.g. a vanity parent) is another user's web, mail or DNS domain here.
        if (/belongs to a different user/.test(err.errorLine ?? '')) {
          throw new TerminalError(`${server.name} refuses ${a.domain}: ${err.errorLine} (HestiaCP's ENFORCE_SUBDOMAIN_OWNERSHIP=yes, its default, keeps names under a base domain for the user who holds it). ` +
            `Place the site on a node that does not hold that domain, or set ENFORCE_SUBDOMAIN_OWNERSHIP to no on ${server.name} (v-change-sys-config-value ENFORCE_SUBDOMAIN_OWNERSHIP no); see docs/drivers.md`, { cause: err });
        }
        ctx.log(`Hestia says ${a.domain} exists; checking whose it is`);
      }
      domains = await driver.listWebDomains(a.user);
      if (!domains[a.domain]) throw new TerminalError(`web domain ${a.domain} exists on ${server.name} but not under ${a.user}: another account holds it`);
    }
    return { domain: a.domain, ip: domains[a.domain]!.IP };
  });

  registerStep(registry, 'mail.domain', 'Adds the service\'s mail domain with DKIM to its Hestia mail user and keeps the DKIM record for the DNS steps.', async (ctx, a) => {
    const [svc, { driver, server }] = await Promise.all([loadService(deps, ctx), deps.fleet.hestia(a.server, ctx)]);
    let domains = await driver.listMailDomains(a.user);
    if (!domains[a.domain]) {
      try {
        await driver.addMailDomain(a.user, a.domain, { dkim: true });
        ctx.log(`mail domain ${a.domain} added with DKIM`);
      } catch (err) {
        if (!hasHestiaCode(err, 'E_EXISTS')) throw err;
      }
      domains = await driver.listMailDomains(a.user);
      if (!domains[a.domain]) throw new TerminalError(`mail domain ${a.domain} exists on ${server.name} but not under ${a.user}: another account holds it`);
    } else {
      ctx.log(`mail domain ${a.domain} exists`);
    }
    if (domains[a.domain]!.DKIM !== 'yes') throw new TerminalError(`mail domain ${a.domain} has no DKIM key on ${server.name}`);
    const dkim = await driver.getDkimRecord(a.user, a.domain);
    await saveFacts(deps, svc.id, { dkim });
    ctx.log(`DKIM record ${dkim.name} kept for the DNS steps`);
    return { domain: a.domain, dkim: dkim.name };
  });

  registerStep(registry, 'dns.zone', 'Publishes the service\'s zone on one DNS server and converges its records.', async (ctx, a) => {
    const id = ctx.task.serviceId;
    // The customer's records and the site's aliases are read beside the service's row, not after it.
    const [svc, own, aliases] = await Promise.all([
      loadService(deps, ctx),
      id === null ? [] : storedRecords(deps.db, id).then((rs) => rs.map(toZoneRecord)),
      id === null ? [] : webSettings(deps.db, id).then((w) => w.dnsAliases),
    ]);
    // A DNS-only Hestia user is made for the zone when the service has no account on that node yet.
    const { records, added, removed } = await publishZoneOn(deps, ctx, svc, { server: a.server, user: a.user, domain: a.domain }, { own, aliases });
    ctx.log(`zone ${a.domain} holds its ${records.length} records (${added} added, ${removed} removed)`);
    return { zone: a.domain, records: records.length, added, removed };
  });

  registerStep(registry, 'dns.zone-delete', 'Removes the service\'s zone from a DNS server.', async (ctx, a) => {
    const [svc, host] = await Promise.all([loadService(deps, ctx), deps.fleet.zoneHost(a.server, ctx, { user: a.account })]);
    const { deleted } = await host.deleteZone(a.domain);
    ctx.log(deleted ? `zone ${a.domain} deleted` : `zone ${a.domain} is already gone`);
    if (await host.zoneExists(a.domain)) throw new TerminalError(`zone ${a.domain} is still there after the delete`);
    await deps.db(T.dnsZones).where({ service_id: svc.id, server_id: a.server }).update({ state: 'removed', updated_at: Date.now() });
    return { zone: a.domain, deleted: true };
  });
}
