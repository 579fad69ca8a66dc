// The steps of the hosting panel's DNS tab (services/hosting-panel/dns.ts queues them). A change to
// one of the customer's records travels in the args: dns.record-publish converges one DNS server's
// zone on exactly the managed records + the stored customer records with the change applied (as
// dns.zone does, so a retry after a crash or a server back from down converges), and records the
// zone's state on that server (pending with the error while it cannot); dns.record-save, once every
// server holds it, writes the change to mod_hostbridge_zone_records. Until then the store, and so
// the panel and every later converge, knows nothing of it.
import type { TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { T } from '../../common/tables.ts';
import { describeRecord } from '../../dns/records.ts';
import { recordKey } from '../../pipelines/records.ts';
import { changeOf, storedRecords, withChange } from '../../services/hosting-panel/dns.ts';
import { loadService, type HostingDeps } from './context.ts';
import { publishZoneOn } from './zone-publish.ts';
import { registerStep } from '../step-args.ts';

export function registerPanelDnsHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'dns.record-publish', 'Publishes a change to the customer\'s own DNS records on one DNS server: its zone converged on the managed records and theirs.', async (ctx, a) => {
    const svc = await loadService(deps, ctx);
    const change = changeOf(a);
    const own = withChange(await storedRecords(deps.db, svc.id), change);
    const { host, records, added, removed } = await publishZoneOn(deps, ctx, svc, a, { own }, async (zoneHost) => {
      if (change.change !== 'delete') return;
      const left = (await zoneHost.listRecords(a.domain)).filter((r) => recordKey(r) === recordKey(change));
      if (left.length) throw new TerminalError(`zone ${a.domain} on ${zoneHost.label} still holds ${describeRecord(change)} after deleting it`);
    });
    ctx.log(`${change.change} ${describeRecord(change)}: zone ${a.domain} on ${host.label} holds its ${records.length} records (${added} added, ${removed} removed)`);
    return { zone: a.domain, records: records.length, added, removed };
  });

  registerStep(registry, 'dns.record-save', 'Saves a change to the customer\'s own DNS records once every DNS server of the service publishes it.', async (ctx, a) => {
    const svc = await loadService(deps, ctx);
    const c = changeOf(a);
    const now = Date.now();
    const cols = { name: c.name, type: c.type, value: c.value, priority: c.priority ?? null, ttl: c.ttl ?? null };
    if (c.change === 'add') {
      // A retry finds the row an earlier attempt wrote.
      const have = (await storedRecords(deps.db, svc.id)).find((r) => r.name === c.name && r.type === c.type && r.value === c.value && r.priority === (c.priority ?? null));
      if (have) ctx.log(`${describeRecord(c)} is already saved`);
      else await deps.db(T.zoneRecords).insert({ service_id: svc.id, ...cols, created_at: now, updated_at: now });
    } else if (c.change === 'edit') {
      const n = await deps.db(T.zoneRecords).where({ id: c.record, service_id: svc.id }).update({ ...cols, updated_at: now });
      if (n === 0) throw new TerminalError(`the record ${c.record} to change is no longer stored: it was published as ${describeRecord(c)}; run Redeploy zone to converge the zone on what is stored`);
    } else {
      await deps.db(T.zoneRecords).where({ id: c.record, service_id: svc.id }).delete();
    }
    ctx.log(`${c.change === 'add' ? 'added' : c.change === 'edit' ? 'changed' : 'deleted'} ${describeRecord(c)} in ${a.domain}`);
    return { change: c.change, record: `${c.name} ${c.type}` };
  }, { maxAttempts: 5 });
}
