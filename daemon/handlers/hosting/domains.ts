// Web and mail domains, and the service's DNS zone on every DNS server,
// through the server's zone host (daemon/dns: HestiaCP or PowerDNS alike). The zone converges on
// zoneRecords(): missing records are added, records nobody wants are removed, so a rerun or a
// repair leaves exactly one of each.
import type { Knex } from 'knex';
import type { TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { hasHestiaCode } from '../../drivers/hestia/index.ts';
import { convergeRecords, missingRecords } from '../../dns/converge.ts';
import { describeRecord, type ZoneRecord } from '../../dns/records.ts';
import { recordsDigest, zoneRecords } from '../../pipelines/records.ts';
import { storedRecords, toZoneRecord } from '../../services/hosting-panel/dns.ts';
import { aliasInZone, webSettings } from '../../services/hosting-panel/web-settings.ts';
import { contactEmail, loadService, saveFacts, type HostingDeps, type LoadedService } from './context.ts';
import { T } from '../../common/tables.ts';
import { registerStep } from '../step-args.ts';

async function upsert(db: Knex, table: string, keys: string[], row: Record<string, unknown>): Promise<void> {
  await db(table).insert(row).onConflict(keys).merge();
}

/**
 * What the service's zone should hold, from where its roles live and what its mail step learnt (its
 * reads at once), and the customer's own records (the panel's DNS tab): the stored ones, or `own`
 * (a change being published); and the web aliases published in it: the stored ones, or `aliases`.
 */
export async function wantedRecords(deps: HostingDeps, svc: LoadedService, own?: ZoneRecord[], aliases?: string[]): Promise<{ records: ZoneRecord[]; apexIp: string; nameservers: string[] }> {
  const p = svc.plan.placement;
  const webAt = p.unified ?? p.web;
  const mailAt = p.unified ?? p.mail;
  const ipOf = async (wanted: boolean, id: number | null) => (!wanted || id === null ? null : (await deps.fleet.server(id)).ip);
  const [webIp, mailIp, g, stored, webAliases] = await Promise.all([
    ipOf(svc.plan.product.roles.web, webAt), ipOf(svc.plan.product.roles.mail, mailAt),
    deps.db(T.groups).where('id', svc.plan.groupId).first('nameservers'),
    own ? Promise.resolve(null) : storedRecords(deps.db, svc.id),
    aliases ? Promise.resolve(aliases) : webSettings(deps.db, svc.id).then((w) => w.dnsAliases),
  ]);
  if (mailIp && !svc.facts.dkim) throw new TerminalError('the mail domain\'s DKIM record is not known yet: the mail step must run before the DNS steps (run Verify & Repair)');
  const nameservers = g?.nameservers ? String(g.nameservers).split(',').filter(Boolean) : [];
  const records: ZoneRecord[] = [...zoneRecords({ domain: svc.plan.domain, webIp, mailIp, nameservers, dkim: svc.facts.dkim?.value ?? null, aliases: webAliases.map((a) => aliasInZone(svc.plan.domain, a)).filter((n): n is string => n !== null) }), ...(own ?? stored!.map(toZoneRecord))];
  return { records, apexIp: (webIp ?? mailIp)!, nameservers };
}

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
    const svc = await loadService(deps, ctx);
    // A DNS-only Hestia user is made for the zone when the service has no account on that node yet.
    const owner = { password: svc.password, email: contactEmail(svc.plan), name: `hostbridge service ${svc.plan.whmcsServiceId} DNS` };
    const [{ records, apexIp, nameservers }, host] = await Promise.all([wantedRecords(deps, svc), deps.fleet.zoneHost(a.server, ctx, { user: a.user, owner })]);
    if (nameservers.length === 0) throw new TerminalError('the server group has no name servers; a zone needs them (set nameservers on the group)');
    const { created, listed: made } = await host.ensureZone(a.domain, { nameservers, apex: apexIp, records });
    let changed = { added: created ? records.length : 0, removed: 0 };
    // The zone as read after the last change, when a step on the way read it (else listed again below).
    let listed = made;
    if (created) {
      ctx.log(`zone ${a.domain} created on ${host.label} with its ${records.length} records`);
    } else {
      // NS records are the service's only when it publishes some (a group with name servers always does).
      const manageNs = records.some((r) => r.type === 'NS');
      const c = await convergeRecords(host, a.domain, records, { owns: (r) => manageNs || r.type !== 'NS' });
      for (const r of c.unwanted) ctx.log(`removed ${describeRecord(r)}`);
      changed = { added: c.added, removed: c.removed };
      listed = c.listed;
    }
    const missing = await missingRecords(host, a.domain, records, listed);
    if (missing.length) throw new TerminalError(`zone ${a.domain} still lacks ${missing.map((m) => `${m.name} ${m.type}`).join(', ')} after the update`);
    await upsert(deps.db, T.dnsZones, ['service_id', 'server_id', 'zone'], {
      service_id: svc.id, server_id: a.server, zone: a.domain, state: 'deployed', records_sha256: recordsDigest(records), records: records.length, last_error: null, updated_at: Date.now(),
    });
    ctx.log(`zone ${a.domain} holds its ${records.length} records (${changed.added} added, ${changed.removed} removed)`);
    return { zone: a.domain, records: records.length, ...changed };
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
