// The steps of the hosting panel's Web settings tab (services/hosting-panel/web.ts queues them). Each
// reads the web domain first, changes only what differs and reads it again, so a retry after a crash
// converges. The alias steps then write the domain's names (its own and its aliases, as listed) into
// automatic SSL's row and make it due, so the next certificate covers an added alias (the ssl-check
// job waits until every name resolves to the server before it asks Let's Encrypt). A template step
// records the customer's choice (mod_hostbridge_web_settings), which web.templates keeps on later
// deploys and package changes. An alias under the service's own zone gets an A record (the web
// server's address): web.alias-dns converges each DNS server's zone with it added or removed, as the
// DNS tab's publish does (the zone's state per server), and web.alias-dns-save stores it once every
// server holds it, so every later converge of the zone keeps it.
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { recordKey } from '../../pipelines/records.ts';
import { aliasesWith, aliasInZone, saveDnsAliases, saveTemplateChoice, webSettings } from '../../services/hosting-panel/web-settings.ts';
import { hasHestiaCode, type HestiaDriver, type HestiaObject } from '../../drivers/hestia/index.ts';
import { aliasesOf } from '../../services/hosting-panel/web.ts';
import { certificateNames } from '../../ssl/cadence.ts';
import { seedSslRow, sslRow } from '../../ssl/state.ts';
import { HESTIA_PROXY_EXT } from './web-templates.ts';
import { registerStep } from '../step-args.ts';
import { loadService, type HostingDeps } from './context.ts';
import { publishZoneOn } from './zone-publish.ts';

type Kind = 'backend' | 'proxy';

const FIELD: Record<Kind, 'BACKEND' | 'PROXY'> = { backend: 'BACKEND', proxy: 'PROXY' };
const WHAT: Record<Kind, string> = { backend: 'backend (PHP) template', proxy: 'proxy template' };

async function webDomain(driver: HestiaDriver, user: string, domain: string, serverName: string): Promise<HestiaObject> {
  const d = (await driver.listWebDomains(user))[domain];
  if (!d) throw new TerminalError(`web domain ${domain} is missing under ${user} on ${serverName}`);
  return d;
}

/** Automatic SSL's web row gets the domain's names as listed now and is checked now; a custom certificate's row is left alone. */
async function syncSslNames(deps: HostingDeps, ctx: TaskContext, at: { serverId: number; user: string; domain: string }, d: HestiaObject): Promise<string[] | null> {
  const serviceId = ctx.task.serviceId;
  if (serviceId === null) return null;
  const row = await sslRow(deps.db, serviceId, at.domain);
  const names = certificateNames('web', at.domain, { aliases: aliasesOf(d.ALIAS) });
  if (!row) {
    ctx.log(`no automatic SSL row for ${at.domain}: no certificate names to update`);
    return null;
  }
  if (row.state === 'custom') {
    ctx.log(`${at.domain} has the customer's own certificate: automatic SSL leaves it alone (it covers ${row.names.join(', ')}; the names now are ${names.join(', ')})`);
    return null;
  }
  // seedSslRow keeps a frozen row frozen (Let's Encrypt's rate limit) and makes any other due now.
  await seedSslRow(deps.db, { serviceId, role: 'web', names, serverId: at.serverId, user: at.user, issued: d.SSL === 'yes', now: Date.now() });
  ctx.log(`automatic SSL for ${at.domain} now covers ${names.join(', ')}${row.state === 'frozen' ? ' (the row stays frozen until its window ends)' : ': checked now'}`);
  return names;
}

export function registerPanelWebHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  for (const kind of ['backend', 'proxy'] as const) {
    registerStep(registry, kind === 'backend' ? 'web.backend-tpl' : 'web.proxy-tpl', `Sets the ${WHAT[kind]} the customer picked on their web domain (v-change-web-domain-${kind}-tpl).`, async (ctx, a) => {
      const { driver, server } = await deps.fleet.hestia(a.server, ctx);
      const before = await webDomain(driver, a.user, a.domain, server.name);
      const have = before[FIELD[kind]] ?? '';
      if (have === a.template) {
        ctx.log(`${WHAT[kind]} of ${a.domain} is ${have} already`);
      } else {
        if (have === '') throw new TerminalError(`${server.name} has no ${kind === 'backend' ? 'PHP backend' : 'proxy'} for ${a.domain}: its ${WHAT[kind]} cannot be set`);
        const offered = await driver.listWebTemplates(kind);
        if (!offered.includes(a.template)) throw new TerminalError(`${WHAT[kind]} "${a.template}" is not on ${server.name} (any more); it has: ${offered.join(', ') || 'none'}`);
        // The domain's own proxy extensions are kept (HestiaCP resets them to its default list otherwise).
        const ext = before.PROXY_EXT ?? '';
        await driver.changeWebDomainTemplate(a.user, a.domain, kind, a.template, kind === 'proxy' && ext !== '' && ext !== HESTIA_PROXY_EXT ? { proxyExtensions: ext } : {});
        ctx.log(`${WHAT[kind]} of ${a.domain} on ${server.name}: ${have} → ${a.template}`);
      }
      const after = await webDomain(driver, a.user, a.domain, server.name);
      if (after[FIELD[kind]] !== a.template) throw new TerminalError(`${a.domain} on ${server.name} has the ${WHAT[kind]} ${after[FIELD[kind]] || 'none'}, not ${a.template}, after the change`);
      // Kept for web.templates: a later deploy or package change leaves the customer's choice in place.
      if (ctx.task.serviceId !== null) await saveTemplateChoice(deps.db, ctx.task.serviceId, kind, a.template);
      return { domain: a.domain, [kind]: a.template };
    }, { maxAttempts: 5 });
  }

  registerStep(registry, 'web.alias-add', 'Adds an alias (a host name under the service\'s domain) to the web domain (v-add-web-domain-alias) and adds it to the automatic SSL certificate\'s names.', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const before = await webDomain(driver, a.user, a.domain, server.name);
    if (aliasesOf(before.ALIAS).includes(a.alias)) {
      ctx.log(`${a.alias} is an alias of ${a.domain} already`);
    } else {
      try {
        await driver.addWebAlias(a.user, a.domain, a.alias);
      } catch (err) {
        if (hasHestiaCode(err, 'E_EXISTS')) throw new TerminalError(`${server.name} refused ${a.alias}: the name is used by another web domain or alias on the server`, { cause: err });
        if (hasHestiaCode(err, 'E_LIMIT')) throw new TerminalError(`${server.name} refused ${a.alias}: the account's package allows no more web aliases`, { cause: err });
        throw err;
      }
      ctx.log(`alias ${a.alias} added to ${a.domain} on ${server.name}`);
    }
    const after = await webDomain(driver, a.user, a.domain, server.name);
    if (!aliasesOf(after.ALIAS).includes(a.alias)) throw new TerminalError(`${server.name} does not list ${a.alias} as an alias of ${a.domain} after adding it`);
    const names = await syncSslNames(deps, ctx, { serverId: server.id, user: a.user, domain: a.domain }, after);
    return { domain: a.domain, alias: a.alias, ssl_names: names };
  }, { maxAttempts: 5 });

  registerStep(registry, 'web.alias-delete', 'Removes an alias from the web domain (v-delete-web-domain-alias) and from the automatic SSL certificate\'s names.', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const before = await webDomain(driver, a.user, a.domain, server.name);
    if (!aliasesOf(before.ALIAS).includes(a.alias)) {
      ctx.log(`${a.domain} has no alias ${a.alias}: nothing to remove`);
    } else {
      try {
        await driver.deleteWebAlias(a.user, a.domain, a.alias);
      } catch (err) {
        // Gone meanwhile (an earlier attempt got there first): what was wanted.
        if (!hasHestiaCode(err, 'E_NOTEXIST')) throw err;
      }
      ctx.log(`alias ${a.alias} removed from ${a.domain} on ${server.name}`);
    }
    const after = await webDomain(driver, a.user, a.domain, server.name);
    if (aliasesOf(after.ALIAS).includes(a.alias)) throw new TerminalError(`${server.name} still lists ${a.alias} as an alias of ${a.domain} after removing it`);
    const names = await syncSslNames(deps, ctx, { serverId: server.id, user: a.user, domain: a.domain }, after);
    return { domain: a.domain, alias: a.alias, ssl_names: names };
  }, { maxAttempts: 5 });
  registerStep(registry, 'web.alias-dns', 'Publishes or removes a web alias\'s A record (the web server\'s address) in the service\'s zone on one DNS server.', async (ctx, a) => {
    const svc = await loadService(deps, ctx);
    const name = aliasInZone(a.domain, a.alias);
    if (name === null) throw new TerminalError(`${a.alias} is not inside the zone ${a.domain}: it gets no record there`);
    const aliases = aliasesWith((await webSettings(deps.db, svc.id)).dnsAliases, a.alias, a.change);
    const { host, records, added, removed } = await publishZoneOn(deps, ctx, svc, a, { aliases }, async (zoneHost, wanted) => {
      if (a.change !== 'delete') return;
      const stale = (await zoneHost.listRecords(a.domain)).some((r) => r.name === name && r.type === 'A' && !wanted.some((w) => recordKey(w) === recordKey(r)));
      if (stale) throw new TerminalError(`zone ${a.domain} on ${zoneHost.label} still holds an A record for ${a.alias} after removing it`);
    });
    const mine = records.find((r) => r.name === name && r.type === 'A');
    if (a.change === 'add' && !mine) ctx.log(`${a.alias} already has records of the zone's own: no A record added for it`);
    ctx.log(`${a.change === 'add' ? `${a.alias} A ${mine?.value ?? '(none)'} published` : `${a.alias} A removed`}: zone ${a.domain} on ${host.label} holds its ${records.length} records (${added} added, ${removed} removed)`);
    return { zone: a.domain, alias: a.alias, records: records.length, added, removed };
  });

  registerStep(registry, 'web.alias-dns-save', 'Saves a web alias\'s A record in the service\'s zone once every DNS server holds the change.', async (ctx, a) => {
    const serviceId = ctx.task.serviceId;
    if (serviceId === null) throw new TerminalError('web.alias-dns-save needs a service');
    const stored = (await webSettings(deps.db, serviceId)).dnsAliases;
    await saveDnsAliases(deps.db, serviceId, aliasesWith(stored, a.alias, a.change));
    ctx.log(`${a.alias} ${a.change === 'add' ? 'kept in' : 'removed from'} zone ${a.domain}: every later converge of the zone ${a.change === 'add' ? 'publishes' : 'leaves out'} its A record`);
    return { domain: a.domain, alias: a.alias, change: a.change };
  }, { maxAttempts: 5 });
}
