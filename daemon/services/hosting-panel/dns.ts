// The hosting panel's DNS tab: the customer's own records in the service's zone (A, AAAA, CNAME,
// MX, TXT, SRV, CAA), added, changed and deleted. The daemon keeps them (mod_hostbridge_zone_records)
// and every converge of the zone on a DNS server publishes them beside the records the deployment
// manages (handlers/hosting/zone-publish.ts wantedRecords), so a redeploy or a repair keeps them.
// A change is a queued chain: one dns.record-publish per DNS server of the service, carrying the
// change in its args (the server's zone converged on managed + stored records with the change
// applied), then dns.record-save, which writes the row only once every server holds the record.
// A refused or failed publish therefore never leaves a row claiming the record exists: the next
// converge of a server that did take it removes it again. The managed records are shown read-only
// and cannot be shadowed. The limit is the hosting plan's dns.records, counting the customer's own
// records only (the managed ones are the provider's). Role dns; a vanity service has no zone.
import type { Knex } from 'knex';
import { isIPv4, isIPv6 } from 'node:net';
import { InputError } from '../../common/errors.ts';
import { T } from '../../common/tables.ts';
import { normalValue, relativeName, type ZoneRecord } from '../../dns/records.ts';
import { groupNameservers } from '../../fleet/inventory.ts';
import { extrasOf } from '../../pipelines/hosting-plan.ts';
import { dnsUser } from '../../pipelines/plan.ts';
import { zoneRecords, type WantedRecord } from '../../pipelines/records.ts';
import { plannedStep, type PlannedStep, type StepArgs } from '../../pipelines/steps.ts';
import type { HostingAction, HostingContext, HostingTab, PreparedAction } from './types.ts';
import { aliasInZone, webSettings } from './web-settings.ts';

/** The types a customer may add: no NS (the zone's delegation is the provider's), no PTR (a forward zone). */
export const CUSTOMER_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'CAA'] as const;
export type CustomerType = (typeof CUSTOMER_TYPES)[number];

const TXT_MAX = 2000;
const TTL_MIN = 60;
const TTL_MAX = 604800;

export interface StoredRecord { id: number; name: string; type: CustomerType; value: string; priority: number | null; ttl: number | null }

export type RecordChange = { change: 'add' | 'edit' | 'delete'; record?: number; name: string; type: CustomerType; value: string; priority?: number; ttl?: number };

// --- the store -------------------------------------------------------------------------------

/** The service's own records, as saved (name, type, then the order they were added). */
export async function storedRecords(db: Knex, serviceId: number): Promise<StoredRecord[]> {
  const rows = await db(T.zoneRecords).where('service_id', serviceId).orderBy([{ column: 'name' }, { column: 'type' }, { column: 'id' }]);
  return rows.map((r) => ({
    id: Number(r.id), name: String(r.name), type: r.type as CustomerType, value: String(r.value),
    priority: r.priority === null || r.priority === undefined ? null : Number(r.priority), ttl: r.ttl === null || r.ttl === undefined ? null : Number(r.ttl),
  }));
}

export function toZoneRecord(r: { name: string; type: CustomerType; value: string; priority?: number | null; ttl?: number | null }): ZoneRecord {
  const out: ZoneRecord = { name: r.name, type: r.type, value: r.value };
  if (r.priority !== null && r.priority !== undefined) out.priority = r.priority;
  if (r.ttl !== null && r.ttl !== undefined) out.ttl = r.ttl;
  return out;
}

/** The customer's records with one change applied (what a server should hold once the change is published). */
export function withChange(stored: StoredRecord[], c: RecordChange): ZoneRecord[] {
  const kept = stored.filter((r) => c.change === 'add' || r.id !== c.record).map(toZoneRecord);
  return c.change === 'delete' ? kept : [...kept, toZoneRecord(c)];
}

/** A change as step args (priority and TTL as text: 0 is a valid priority, which an `id` field refuses). */
export function changeArgs(c: RecordChange): Omit<StepArgs['dns.record-save'], 'domain'> {
  return {
    change: c.change, name: c.name, type: c.type, value: c.value,
    ...(c.record !== undefined ? { record: c.record } : {}),
    ...(c.priority !== undefined ? { priority: String(c.priority) } : {}),
    ...(c.ttl !== undefined ? { ttl: String(c.ttl) } : {}),
  };
}

export function changeOf(a: Omit<StepArgs['dns.record-save'], 'domain'>): RecordChange {
  return {
    change: a.change, name: a.name, type: a.type, value: a.value,
    ...(a.record !== undefined ? { record: a.record } : {}),
    ...(a.priority !== undefined ? { priority: Number(a.priority) } : {}),
    ...(a.ttl !== undefined ? { ttl: Number(a.ttl) } : {}),
  };
}

// --- the rules (pure) ----------------------------------------------------------------------------

const printable = (s: string, max = 60) => {
  const t = s.replace(/[\x00-\x1f\x7f]/g, '?');
  return t.length > max ? `${t.slice(0, max)}…` : t;
};

/** Whole number from the form, or undefined when left empty. */
function wholeNumber(field: string, raw: string | undefined, min: number, max: number, what: string): number | undefined {
  const v = (raw ?? '').trim();
  if (v === '') return undefined;
  if (!/^[0-9]{1,10}$/.test(v) || Number(v) < min || Number(v) > max) throw new InputError(field, `must be a whole number from ${min} to ${max} (${what})`);
  return Number(v);
}

/**
 * The record the form describes, in the zone host contract's normal form, each field checked by
 * the record's type (InputError names the field). Nothing hostile passes: control characters,
 * non-ASCII, quotes and backslashes in TXT are refused; host names are checked label by label.
 */
export function checkCustomerRecord(zone: string, fields: Readonly<Record<string, string>>): Omit<RecordChange, 'change' | 'record'> {
  const type = (fields.type ?? '').trim().toUpperCase();
  if (!(CUSTOMER_TYPES as readonly string[]).includes(type)) throw new InputError('type', `must be one of ${CUSTOMER_TYPES.join(', ')}`);
  const rawName = (fields.name ?? '').trim();
  const name = relativeName(zone, rawName === '' ? '@' : rawName, 'name');
  let raw = (fields.value ?? '').trim();
  if (raw === '') throw new InputError('value', 'is required');
  if (type === 'TXT') {
    // A customer pasting a quoted TXT ("v=…") means its text: one pair of outer quotes is dropped.
    if (/^"[^"]*"$/.test(raw)) raw = raw.slice(1, -1);
    if (raw.length > TXT_MAX) throw new InputError('value', `is ${raw.length} characters long; a TXT record holds at most ${TXT_MAX} here`);
  }
  if (type === 'A' && !isIPv4(raw)) throw new InputError('value', `"${printable(raw)}" is not an IPv4 address (e.g. 192.0.2.10)`);
  if (type === 'AAAA' && !isIPv6(raw)) throw new InputError('value', `"${printable(raw)}" is not an IPv6 address (e.g. 2001:db8::10)`);
  const value = normalValue(type, raw, 'value');
  if (type === 'CNAME' && name === '@') throw new InputError('name', 'a CNAME cannot sit at the zone apex');
  const out: Omit<RecordChange, 'change' | 'record'> = { name, type: type as CustomerType, value };
  if (type === 'MX' || type === 'SRV') {
    const p = wholeNumber('priority', fields.priority, 0, 65535, 'lower is preferred');
    if (p === undefined) throw new InputError('priority', `is required for ${type} records (0 to 65535, lower is preferred)`);
    out.priority = p;
  } else if ((fields.priority ?? '').trim() !== '') {
    throw new InputError('priority', `only MX and SRV records have a priority, not ${type}`);
  }
  const ttl = wholeNumber('ttl', fields.ttl, TTL_MIN, TTL_MAX, 'seconds');
  if (ttl !== undefined) out.ttl = ttl;
  return out;
}

/** The records the deployment manages in this zone (names, types and values), from what the service is: the dns.zone step's (wantedRecords) and the DNS tab's. */
export function managedRecords(svc: { plan: { domain: string } }, ips: { web: string | null; mail: string | null }, nameservers: string[], dkim: string | null, webAliases: string[] = []): WantedRecord[] {
  const aliases = webAliases.map((a) => aliasInZone(svc.plan.domain, a)).filter((n): n is string => n !== null);
  return zoneRecords({ domain: svc.plan.domain, webIp: ips.web, mailIp: ips.mail, nameservers, dkim, aliases });
}

/**
 * Why a record may not be added next to the managed and the other customer records, or null:
 * the managed records are not shadowed (same name and type; SPF at the apex: the managed one is
 * the zone's SPF), a CNAME stands alone at its name, and a record is not there twice.
 */
export function conflict(rec: { name: string; type: string; value: string; priority?: number }, managed: WantedRecord[], others: StoredRecord[]): { field: string; why: string } | null {
  const at = (name: string) => name === '@' ? 'the zone apex' : `"${name}"`;
  for (const m of managed) {
    if (m.name !== rec.name) continue;
    const apexTxt = rec.name === '@' && rec.type === 'TXT' && m.type === 'TXT';
    if (apexTxt && !/^v=spf1(\s|$)/i.test(rec.value)) continue; // verification texts beside the managed SPF are fine
    if (m.type === rec.type) return { field: 'name', why: `${at(rec.name)} ${rec.type} is managed by your hosting (${m.type === 'TXT' && /^v=spf1/.test(m.value) ? 'the SPF record' : `${m.type} ${m.value}`}) and cannot be replaced` };
    if (m.type === 'CNAME') return { field: 'name', why: `${at(rec.name)} is a CNAME managed by your hosting; no other record can sit beside it` };
    if (rec.type === 'CNAME') return { field: 'name', why: `${at(rec.name)} already holds records managed by your hosting (${m.type}); a CNAME must stand alone at its name` };
  }
  for (const o of others) {
    if (o.name !== rec.name) continue;
    if (o.type === 'CNAME' || rec.type === 'CNAME') {
      if (o.type === rec.type && o.value === rec.value) return { field: 'value', why: 'you already have this record' };
      return { field: 'name', why: `${at(rec.name)} already has ${o.type === 'CNAME' ? 'a CNAME' : `a ${o.type} record`}; a CNAME must stand alone at its name` };
    }
    if (o.type === rec.type && o.value === rec.value && (rec.type !== 'MX' && rec.type !== 'SRV' || o.priority === (rec.priority ?? null))) return { field: 'value', why: 'you already have this record' };
  }
  return null;
}

/** The plan's records limit against the customer's records; the refusal the customer reads when it is reached. */
export function recordLimit(max: number | 'unlimited', used: number): { used: number; max: number | null; full: string | null } {
  if (max === 'unlimited') return { used, max: null, full: null };
  if (max <= 0) return { used, max, full: 'Your plan includes no DNS records of your own.' };
  if (used < max) return { used, max, full: null };
  return { used, max, full: `Your plan includes ${max} DNS record${max === 1 ? '' : 's'} of your own and ${max === 1 ? 'it is' : `all ${max} are`} in use.` };
}

// --- the steps (pure) ----------------------------------------------------------------------------

/** Where the zone is: the service's DNS servers (each with the Hestia user holding the zone, null on PowerDNS). */
export function dnsPlace(svc: HostingContext['svc']): { domain: string; servers: Array<{ server: number; user: string | null }> } {
  const plan = svc.plan;
  if (plan.product.mode === 'vanity') throw new InputError('', 'Your plan\'s address is part of the provider\'s zone; it has no DNS zone of its own.', 409);
  const servers = [...new Set(plan.placement.dns)].map((server) => ({ server, user: dnsUser(plan, server) }));
  if (servers.length === 0) throw new InputError('', 'Your plan has no DNS hosting, so it has no DNS records.', 409);
  return { domain: plan.domain, servers };
}

/** One publish per DNS server (side by side), then the save once all of them hold the change. */
export function planRecordChange(place: ReturnType<typeof dnsPlace>, c: RecordChange): PlannedStep[] {
  const args = changeArgs(c);
  const publish = place.servers.map(({ server, user }) => ({
    ...plannedStep('dns.record-publish', `dns.record-publish.${server}`, `server:${server}`, { server, user, domain: place.domain, ...args }), dependsOn: [] as number[],
  }));
  const save = { ...plannedStep('dns.record-save', 'dns.record-save', null, { domain: place.domain, ...args }), dependsOn: publish.map((_, i) => i) };
  return [...publish, save];
}

// --- live reads -----------------------------------------------------------------------------------

interface Live {
  place: ReturnType<typeof dnsPlace>;
  managed: WantedRecord[];
  stored: StoredRecord[];
  limit: ReturnType<typeof recordLimit>;
}

async function live(ctx: HostingContext): Promise<Live> {
  const place = dnsPlace(ctx.svc);
  const { plan } = ctx.svc;
  const p = plan.placement;
  const webAt = plan.product.roles.web ? p.unified ?? p.web : null;
  const mailAt = plan.product.roles.mail ? p.unified ?? p.mail : null;
  const ids = [webAt, mailAt].filter((x): x is number => x !== null);
  const [servers, nameservers, stored, web] = await Promise.all([
    ids.length ? ctx.db(T.servers).whereIn('id', ids).select('id', 'ip') : Promise.resolve([]),
    groupNameservers(ctx.db, plan.groupId),
    storedRecords(ctx.db, ctx.svc.id),
    webSettings(ctx.db, ctx.svc.id),
  ]);
  const ip = (id: number | null) => (id === null ? null : String(servers.find((s: { id: number }) => Number(s.id) === id)?.ip ?? '') || null);
  const dkim = ctx.svc.facts.dkim?.value ?? null;
  const managed = managedRecords(ctx.svc, { web: ip(webAt), mail: ip(mailAt) }, nameservers, dkim, web.dnsAliases);
  const max = extrasOf(plan.product).dns.records;
  return { place, managed, stored, limit: recordLimit(max, stored.length) };
}

function storedOne(l: Live, raw: string | undefined): StoredRecord {
  const v = (raw ?? '').trim();
  if (v === '') throw new InputError('record', 'is required');
  const r = /^[0-9]{1,10}$/.test(v) ? l.stored.find((s) => s.id === Number(v)) : undefined;
  if (!r) throw new InputError('record', `you have no DNS record "${printable(v)}" (it may have been deleted; reload the page)`);
  return r;
}

const show = (r: { name: string; type: string; value: string; priority?: number | null }) => `${r.name} ${r.type}${r.priority !== null && r.priority !== undefined ? ` ${r.priority}` : ''} ${r.value.length > 50 ? `${r.value.slice(0, 50)}…` : r.value}`;

// --- the tab ------------------------------------------------------------------------------------------

const STATE_WORDS: Record<string, string> = { deployed: 'published', pending: 'pending', failed: 'failed', removed: 'removed' };

export const dnsTab: HostingTab = {
  key: 'dns',
  title: 'DNS',
  role: 'dns',
  async load(ctx) {
    const l = await live(ctx);
    const [zones, servers, lastSave] = await Promise.all([
      ctx.db(T.dnsZones).where({ service_id: ctx.svc.id, zone: l.place.domain }).select('server_id', 'state', 'last_error', 'updated_at'),
      ctx.db(T.servers).whereIn('id', l.place.servers.map((s) => s.server)).select('id', 'name'),
      ctx.db(T.tasks).where({ service_id: ctx.svc.id, type: 'dns.record-save' }).orderBy('id', 'desc').first('status', 'args'),
    ]);
    // Per server: the zone's state there (deployed, pending while a change waits for it, failed).
    const perServer = l.place.servers.map(({ server }) => {
      const z = zones.find((r: { server_id: number }) => Number(r.server_id) === server);
      const state = z ? String(z.state) : 'pending';
      return { server: String(servers.find((s: { id: number }) => Number(s.id) === server)?.name ?? `server ${server}`), state: STATE_WORDS[state] ?? state, ok: state === 'deployed', error: z?.last_error ? String(z.last_error).slice(0, 200) : null };
    });
    let change: string | null = null;
    if (lastSave && lastSave.status !== 'succeeded') {
      const a = typeof lastSave.args === 'string' ? JSON.parse(lastSave.args) : lastSave.args;
      const verb = a.change === 'add' ? 'Adding' : a.change === 'edit' ? 'Changing' : 'Deleting';
      change = lastSave.status === 'failed' || lastSave.status === 'cancelled'
        ? `The last change (${a.change} ${show(a)}) could not be published on every DNS server and was not saved; your records are as listed.`
        : `${verb} ${show(a)}: waiting for every DNS server to publish it.`;
    }
    const records = l.stored.map((r) => ({
      id: r.id, name: r.name, type: r.type, value: r.value, priority: r.priority, ttl: r.ttl, hasPriority: r.type === 'MX' || r.type === 'SRV',
      servers: perServer,
    }));
    const { limit } = l;
    return {
      zone: l.place.domain,
      managed: l.managed.map((m) => ({ name: m.name, type: m.type, value: m.value, priority: m.priority ?? null })),
      records,
      empty: records.length === 0,
      servers: perServer,
      change,
      types: CUSTOMER_TYPES.map((t) => ({ value: t })),
      count: limit.used,
      max: limit.max,
      limitText: limit.max === null ? `${limit.used} of your own (no limit)` : `${limit.used} of ${limit.max} in use`,
      full: limit.full,
      canAdd: limit.full === null,
      ttlMin: TTL_MIN,
      ttlMax: TTL_MAX,
      txtMax: TXT_MAX,
    };
  },
};

// --- the actions --------------------------------------------------------------------------------------

function refuseConflict(rec: Omit<RecordChange, 'change' | 'record'>, l: Live, except?: number): void {
  const c = conflict(rec, l.managed, l.stored.filter((s) => s.id !== except));
  if (c) throw new InputError(c.field, c.why);
}

const add: HostingAction = {
  tab: 'dns',
  role: 'dns',
  async prepare(ctx, fields): Promise<PreparedAction> {
    const place = dnsPlace(ctx.svc);
    const rec = checkCustomerRecord(place.domain, fields);
    const l = await live(ctx);
    if (l.limit.full) throw new InputError('', l.limit.full, 409);
    refuseConflict(rec, l);
    const c: RecordChange = { change: 'add', ...rec };
    return { operation: 'dns-record-add', steps: planRecordChange(place, c), message: `Adding DNS record ${show(rec)}` };
  },
};

const edit: HostingAction = {
  tab: 'dns',
  role: 'dns',
  async prepare(ctx, fields): Promise<PreparedAction> {
    const place = dnsPlace(ctx.svc);
    const rec = checkCustomerRecord(place.domain, fields);
    const l = await live(ctx);
    const old = storedOne(l, fields.record);
    refuseConflict(rec, l, old.id);
    if (show(old) === show(rec) && (old.ttl ?? undefined) === rec.ttl) throw new InputError('value', 'is unchanged: nothing to save', 409);
    const c: RecordChange = { change: 'edit', record: old.id, ...rec };
    return { operation: 'dns-record-edit', steps: planRecordChange(place, c), message: `Changing DNS record ${show(old)} to ${show(rec)}` };
  },
};

const remove: HostingAction = {
  tab: 'dns',
  role: 'dns',
  async prepare(ctx, fields): Promise<PreparedAction> {
    const place = dnsPlace(ctx.svc);
    const l = await live(ctx);
    const old = storedOne(l, fields.record);
    const c: RecordChange = { change: 'delete', record: old.id, name: old.name, type: old.type, value: old.value, ...(old.priority !== null ? { priority: old.priority } : {}), ...(old.ttl !== null ? { ttl: old.ttl } : {}) };
    return { operation: 'dns-record-delete', steps: planRecordChange(place, c), message: `Deleting DNS record ${show(old)}` };
  },
};

export const dnsActions: Record<string, HostingAction> = {
  'dns-record-add': add,
  'dns-record-edit': edit,
  'dns-record-delete': remove,
};
