// Web and mail domains, the auto-SSL seed, and the service's DNS zone on every DNS server
// (Hestia DNS node or PowerDNS). The zone converges on zoneRecords(): missing records are
// added, records nobody wants are removed, so a rerun or a repair leaves exactly one of each.
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { hasHestiaCode, type HestiaDriver } from '../../drivers/hestia/index.ts';
import { canonical, txtContent, ZoneExistsError, ZoneNotFoundError, type PowerDnsClient, type RRSetChange } from '../../drivers/powerdns/index.ts';
import { recordKey, zoneRecords, type WantedRecord } from '../../pipelines/records.ts';
import { contactEmail, loadService, orMissing, saveFacts, type HostingDeps, type LoadedService } from './context.ts';
import { T } from '../../common/tables.ts';
import { stepArgs } from '../step-args.ts';

async function upsert(db: Knex, table: string, keys: string[], row: Record<string, unknown>): Promise<void> {
  await db(table).insert(row).onConflict(keys).merge();
}

/** What the service's zone should hold, from where its roles live and what its mail step learnt. */
async function wantedRecords(deps: HostingDeps, svc: LoadedService): Promise<{ records: WantedRecord[]; apexIp: string; nameservers: string[] }> {
  const p = svc.plan.placement;
  const webAt = p.unified ?? p.web;
  const mailAt = p.unified ?? p.mail;
  const ipOf = async (id: number | null) => (id === null ? null : (await deps.fleet.server(id)).ip);
  const webIp = svc.plan.product.roles.web ? await ipOf(webAt) : null;
  const mailIp = svc.plan.product.roles.mail ? await ipOf(mailAt) : null;
  if (mailIp && !svc.facts.dkim) throw new TerminalError('the mail domain\'s DKIM record is not known yet: the mail step must run before the DNS steps (run Verify & Repair)');
  const g = await deps.db(T.groups).where('id', svc.plan.groupId).first('nameservers');
  const nameservers = g?.nameservers ? String(g.nameservers).split(',').filter(Boolean) : [];
  const records = zoneRecords({ domain: svc.plan.domain, webIp, mailIp, nameservers, dkim: svc.facts.dkim?.value ?? null });
  return { records, apexIp: (webIp ?? mailIp)!, nameservers };
}

function digest(records: WantedRecord[]): string {
  return crypto.createHash('sha256').update(records.map(recordKey).sort().join('\n')).digest('hex');
}

interface Listed { id: number; name: string; type: string; value: string; priority?: number }

function listed(rows: Record<string, Record<string, string>>): Listed[] {
  return Object.values(rows).map((r) => ({ id: Number(r.ID), name: String(r.RECORD), type: String(r.TYPE), value: String(r.VALUE), priority: r.PRIORITY ? Number(r.PRIORITY) : undefined }));
}

/** Adds what is missing, then removes what nobody wants (adding first keeps an A and an NS in place). */
async function convergeHestiaZone(ctx: TaskContext, driver: HestiaDriver, user: string, domain: string, wanted: WantedRecord[]): Promise<{ added: number; removed: number }> {
  const have = listed(await driver.listDnsRecords(user, domain));
  const haveKeys = new Set(have.map(recordKey));
  let nextId = have.reduce((m, r) => Math.max(m, r.id), 0) + 1;
  let added = 0;
  for (const w of wanted) {
    if (haveKeys.has(recordKey(w))) continue;
    await driver.addDnsRecord(user, domain, w.name, w.type, w.value, { id: nextId++, ...(w.priority !== undefined ? { priority: w.priority } : {}) });
    ctx.log(`added ${w.name} ${w.type} ${w.type === 'TXT' ? w.value.slice(0, 40) + (w.value.length > 40 ? '…' : '') : w.value}`);
    added++;
  }
  const keep = new Set(wanted.map(recordKey));
  const manageNs = wanted.some((w) => w.type === 'NS');
  const seen = new Set<string>();
  let removed = 0;
  for (const r of listed(await driver.listDnsRecords(user, domain))) {
    const key = recordKey(r);
    const unwanted = !keep.has(key) && (manageNs || r.type !== 'NS');
    if (unwanted || seen.has(key)) {
      await driver.deleteDnsRecord(user, domain, r.id);
      ctx.log(`removed ${r.name} ${r.type} (id ${r.id})${seen.has(key) ? ', a duplicate' : ''}`);
      removed++;
    }
    seen.add(key);
  }
  return { added, removed };
}

function absolute(name: string, zone: string): string {
  return name === '@' ? canonical(zone) : canonical(`${name}.${zone}`);
}

function pdnsContent(w: WantedRecord): string {
  if (w.type === 'TXT') return txtContent(w.value);
  if (w.type === 'MX') return `${w.priority ?? 10} ${canonical(w.value)}`;
  if (w.type === 'CNAME' || w.type === 'NS') return canonical(w.value);
  return w.value;
}

async function convergePowerDnsZone(ctx: TaskContext, client: PowerDnsClient, domain: string, wanted: WantedRecord[], nameservers: string[]): Promise<{ added: number; removed: number }> {
  let zone = await client.getZone(domain);
  if (!zone) {
    if (nameservers.length === 0) throw new TerminalError('the server group has no name servers; a PowerDNS zone needs them (set nameservers on the group)');
    try {
      zone = await client.createZone(domain, 'Native', nameservers.map(canonical));
      ctx.log(`zone ${domain} created`);
    } catch (err) {
      if (!(err instanceof ZoneExistsError)) throw err;
      zone = await client.getZone(domain);
    }
    if (!zone) throw new TerminalError(`zone ${domain} is neither creatable nor readable on this server`);
  }
  const want = new Map<string, { name: string; type: string; contents: string[] }>();
  for (const w of wanted) {
    const name = absolute(w.name, domain);
    const k = `${name}|${w.type}`;
    const entry = want.get(k) ?? { name, type: w.type, contents: [] };
    entry.contents.push(pdnsContent(w));
    want.set(k, entry);
  }
  const have = new Map((zone.rrsets ?? []).map((r) => [`${r.name}|${r.type}`, r]));
  const changes: RRSetChange[] = [];
  for (const [k, w] of want) {
    const cur = have.get(k);
    const same = cur && cur.records.length === w.contents.length && cur.records.every((r) => !r.disabled && w.contents.includes(r.content));
    if (!same) changes.push({ name: w.name, type: w.type, changetype: 'REPLACE', ttl: 3600, records: w.contents.map((content) => ({ content, disabled: false })) });
  }
  for (const [k, r] of have) {
    if (r.type === 'SOA' || want.has(k)) continue;
    if (r.type === 'NS' && !wanted.some((w) => w.type === 'NS')) continue;
    changes.push({ name: r.name, type: r.type, changetype: 'DELETE' });
  }
  if (changes.length) {
    await client.patchRRsets(domain, changes);
    ctx.log(`zone ${domain}: ${changes.map((c) => `${c.changetype} ${c.name} ${c.type}`).join(', ')}`);
  }
  return { added: changes.filter((c) => c.changetype === 'REPLACE').length, removed: changes.filter((c) => c.changetype === 'DELETE').length };
}

async function verifyPowerDnsZone(client: PowerDnsClient, domain: string, wanted: WantedRecord[]): Promise<void> {
  const zone = await client.getZone(domain);
  const contents = new Set((zone?.rrsets ?? []).flatMap((r) => r.records.filter((x) => !x.disabled).map((x) => `${r.name}|${r.type}|${x.content}`)));
  const missing = wanted.filter((w) => !contents.has(`${absolute(w.name, domain)}|${w.type}|${pdnsContent(w)}`));
  if (missing.length) throw new TerminalError(`zone ${domain} still lacks ${missing.map((m) => `${m.name} ${m.type}`).join(', ')} after the update`);
}

export function registerDomainHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registry.register({
    name: 'web.domain',
    description: 'Adds the service\'s web domain to its Hestia web user, on the node\'s IP.',
    async run(ctx) {
      const a = stepArgs(ctx, 'web.domain');
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
          ctx.log(`Hestia says ${a.domain} exists; checking whose it is`);
        }
        domains = await driver.listWebDomains(a.user);
        if (!domains[a.domain]) throw new TerminalError(`web domain ${a.domain} exists on ${server.name} but not under ${a.user}: another account holds it`);
      }
      return { domain: a.domain, ip: domains[a.domain]!.IP };
    },
  });

  registry.register({
    name: 'ssl.seed',
    description: 'Seeds auto-SSL: records that the web domain wants a Let\'s Encrypt certificate once it resolves.',
    async run(ctx) {
      const a = stepArgs(ctx, 'ssl.seed');
      const svc = await loadService(deps, ctx);
      const { driver, server } = await deps.fleet.hestia(a.server, ctx);
      const d = (await driver.listWebDomains(a.user))[a.domain];
      if (!d) throw new TerminalError(`web domain ${a.domain} is missing under ${a.user}; the web step must run first`);
      const issued = d.SSL === 'yes' || d.LETSENCRYPT === 'yes';
      const existing = await deps.db(T.ssl).where({ service_id: svc.id, domain: a.domain }).first('state');
      await upsert(deps.db, T.ssl, ['service_id', 'domain'], {
        service_id: svc.id, domain: a.domain, server_id: server.id, user: a.user, state: issued ? 'issued' : existing?.state === 'frozen' ? 'frozen' : 'waiting-dns',
        attempts: 0, next_check_at: Date.now(), last_error: null, updated_at: Date.now(),
      });
      ctx.log(issued ? `${a.domain} already has a certificate` : `auto-SSL seeded: a certificate is requested once ${a.domain} resolves to ${server.ip}`);
      return { domain: a.domain, issued };
    },
  });

  registry.register({
    name: 'mail.domain',
    description: 'Adds the service\'s mail domain with DKIM to its Hestia mail user and keeps the DKIM record for the DNS steps.',
    async run(ctx) {
      const a = stepArgs(ctx, 'mail.domain');
      const svc = await loadService(deps, ctx);
      const { driver, server } = await deps.fleet.hestia(a.server, ctx);
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
    },
  });

  registry.register({
    name: 'dns.zone',
    description: 'Publishes the service\'s zone on one DNS server and converges its records.',
    async run(ctx) {
      const a = stepArgs(ctx, 'dns.zone');
      const svc = await loadService(deps, ctx);
      const { records, apexIp, nameservers } = await wantedRecords(deps, svc);
      let changed: { added: number; removed: number };
      if (a.driver === 'powerdns') {
        const { client } = await deps.fleet.powerdns(a.server, ctx);
        changed = await convergePowerDnsZone(ctx, client, a.domain, records, nameservers);
        await verifyPowerDnsZone(client, a.domain, records);
      } else {
        const { driver, server } = await deps.fleet.hestia(a.server, ctx);
        if (!(await orMissing(() => driver.listUser(a.user)))) {
          try {
            await driver.addUser(a.user, svc.password, contactEmail(svc.plan), 'default', `hostbridge service ${svc.plan.whmcsServiceId} DNS`);
            ctx.log(`DNS user ${a.user} created`);
          } catch (err) {
            if (!hasHestiaCode(err, 'E_EXISTS')) throw err;
          }
        }
        if (!(await driver.listDnsDomains(a.user))[a.domain]) {
          try {
            await driver.addDnsDomain(a.user, a.domain, apexIp, nameservers);
            ctx.log(`zone ${a.domain} created`);
          } catch (err) {
            if (!hasHestiaCode(err, 'E_EXISTS')) throw err;
            if (!(await driver.listDnsDomains(a.user))[a.domain]) throw new TerminalError(`zone ${a.domain} exists on ${server.name} under another account`);
          }
        }
        changed = await convergeHestiaZone(ctx, driver, a.user, a.domain, records);
        const after = new Set(listed(await driver.listDnsRecords(a.user, a.domain)).map(recordKey));
        const missing = records.filter((r) => !after.has(recordKey(r)));
        if (missing.length) throw new TerminalError(`zone ${a.domain} still lacks ${missing.map((m) => `${m.name} ${m.type}`).join(', ')} after the update`);
      }
      await upsert(deps.db, T.dnsZones, ['service_id', 'server_id', 'zone'], {
        service_id: svc.id, server_id: a.server, zone: a.domain, state: 'deployed', records_sha256: digest(records), records: records.length, last_error: null, updated_at: Date.now(),
      });
      ctx.log(`zone ${a.domain} holds its ${records.length} records (${changed.added} added, ${changed.removed} removed)`);
      return { zone: a.domain, records: records.length, ...changed };
    },
  });

  registry.register({
    name: 'dns.zone-delete',
    description: 'Removes the service\'s zone from a PowerDNS server.',
    async run(ctx) {
      const a = stepArgs(ctx, 'dns.zone-delete');
      const svc = await loadService(deps, ctx);
      const { client } = await deps.fleet.powerdns(a.server, ctx);
      try {
        await client.deleteZone(a.domain);
        ctx.log(`zone ${a.domain} deleted`);
      } catch (err) {
        if (!(err instanceof ZoneNotFoundError)) throw err;
        ctx.log(`zone ${a.domain} is already gone`);
      }
      if (await client.getZone(a.domain)) throw new TerminalError(`zone ${a.domain} is still there after the delete`);
      await deps.db(T.dnsZones).where({ service_id: svc.id, server_id: a.server }).update({ state: 'removed', updated_at: Date.now() });
      return { zone: a.domain, deleted: true };
    },
  });
}

