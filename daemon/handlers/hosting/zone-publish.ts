// The service's zone published on one DNS server: by a deployment's dns.zone step, and with the
// customer's changes (a DNS record from the DNS tab, an alias's A record from the Web settings tab)
// applied. The zone is converged on exactly what it should hold, so a retry after a crash, or a
// server back from down, ends in the same zone. The zone's state on that server is recorded either
// way: deployed, pending while a retry may converge it, failed when the server refused.
import { TerminalError } from '../../common/errors.ts';
import { T } from '../../common/tables.ts';
import { convergeRecords, missingRecords } from '../../dns/converge.ts';
import { describeRecord, type ZoneRecord } from '../../dns/records.ts';
import type { ZoneHost } from '../../dns/zone-host.ts';
import type { TaskContext } from '../../engine/registry.ts';
import { recordsDigest } from '../../pipelines/records.ts';
import { managedRecords, storedRecords, toZoneRecord } from '../../services/hosting-panel/dns.ts';
import { webSettings } from '../../services/hosting-panel/web-settings.ts';
import { groupNameservers } from '../../fleet/inventory.ts';
import { contactEmail, type HostingDeps, type LoadedService } from './context.ts';

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
  const [webIp, mailIp, nameservers, stored, webAliases] = await Promise.all([
    ipOf(svc.plan.product.roles.web, webAt), ipOf(svc.plan.product.roles.mail, mailAt),
    groupNameservers(deps.db, svc.plan.groupId),
    own ? Promise.resolve(null) : storedRecords(deps.db, svc.id),
    aliases ? Promise.resolve(aliases) : webSettings(deps.db, svc.id).then((w) => w.dnsAliases),
  ]);
  if (mailIp && !svc.facts.dkim) throw new TerminalError('the mail domain\'s DKIM record is not known yet: the mail step must run before the DNS steps (run Verify & Repair)');
  const records: ZoneRecord[] = [...managedRecords(svc, { web: webIp, mail: mailIp }, nameservers, svc.facts.dkim?.value ?? null, webAliases), ...(own ?? stored!.map(toZoneRecord))];
  return { records, apexIp: (webIp ?? mailIp)!, nameservers };
}

export interface ZoneOnServer { server: number; user: string | null; domain: string }

export interface Published { host: ZoneHost; records: ZoneRecord[]; added: number; removed: number }

/**
 * Converges the zone on `at.server` on the managed records plus the customer's (`own`, else the
 * stored ones) and the aliases' (`aliases`, else the stored ones), checks that every wanted record
 * is there and, with `verify`, what the change removed; then records the zone's state.
 */
export async function publishZoneOn(
  deps: HostingDeps, ctx: TaskContext, svc: LoadedService, at: ZoneOnServer,
  wanted: { own?: ZoneRecord[]; aliases?: string[] }, verify?: (host: ZoneHost, records: ZoneRecord[]) => Promise<void>,
): Promise<Published> {
  const zoneRow = { service_id: svc.id, server_id: at.server, zone: at.domain };
  const mark = async (cols: Record<string, unknown>) => {
    await deps.db(T.dnsZones).insert({ ...zoneRow, records: 0, ...cols, updated_at: Date.now() }).onConflict(['service_id', 'server_id', 'zone']).merge({ ...cols, updated_at: Date.now() });
  };
  try {
    const owner = { password: svc.password, email: contactEmail(svc.plan), name: `hostbridge service ${svc.plan.whmcsServiceId} DNS` };
    const [{ records, apexIp, nameservers }, host] = await Promise.all([
      wantedRecords(deps, svc, wanted.own, wanted.aliases), deps.fleet.zoneHost(at.server, ctx, { user: at.user, owner }),
    ]);
    if (nameservers.length === 0) throw new TerminalError('the server group has no name servers; a zone needs them (set nameservers on the group)');
    const { created, listed: made } = await host.ensureZone(at.domain, { nameservers, apex: apexIp, records });
    let changed = { added: created ? records.length : 0, removed: 0 };
    // The zone as read after the last change, when a step on the way read it (else listed again below).
    let listed = made;
    if (created) {
      ctx.log(`zone ${at.domain} created on ${host.label} with its ${records.length} records`);
    } else {
      // NS records are the service's only when it publishes some (a group with name servers always does).
      const manageNs = records.some((r) => r.type === 'NS');
      const c = await convergeRecords(host, at.domain, records, { owns: (r) => manageNs || r.type !== 'NS' });
      for (const r of c.unwanted) ctx.log(`removed ${describeRecord(r)}`);
      changed = { added: c.added, removed: c.removed };
      listed = c.listed;
    }
    const missing = await missingRecords(host, at.domain, records, listed);
    if (missing.length) throw new TerminalError(`zone ${at.domain} on ${host.label} still lacks ${missing.map((m) => `${m.name} ${m.type}`).join(', ')} after the update`);
    if (verify) await verify(host, records);
    await mark({ state: 'deployed', records_sha256: recordsDigest(records), records: records.length, last_error: null });
    return { host, records, ...changed };
  } catch (err) {
    await mark({ state: err instanceof TerminalError ? 'failed' : 'pending', last_error: String((err as Error).message ?? err).slice(0, 1000) }).catch(() => {});
    throw err;
  }
}
