// The zone-host contract over a PowerDNS server's HTTP API (PowerDnsClient). PowerDNS keeps
// records in rrsets (one name and type, one TTL, several contents): this file is the only place
// that turns the contract's records into rrsets and back.
import {
  canonical, txtContent, PowerDnsTerminalError, ZoneExistsError, ZoneNotFoundError,
  type PowerDnsClient, type RRSet, type RRSetChange, type RecordContent, type Zone,
} from '../drivers/powerdns/index.ts';
import { canonicalIPv6 } from './reverse.ts';
import {
  checkNameservers, checkRecords, checkSelector, checkZoneName, describeRecord, matches, normalValue, recordKey,
  type ListedRecord, type RecordSelector, type ZoneRecord,
} from './records.ts';
import { RecordRefusedError, ZoneMissingError, type EnsureZoneOptions, type ZoneHost } from './zone-host.ts';

/** A new rrset's TTL when the caller gives none (what hostbridge has always published). */
const DEFAULT_TTL = 3600;

export class PowerDnsZoneHost implements ZoneHost {
  constructor(private readonly client: PowerDnsClient, readonly label: string) {}

  async zoneExists(zone: string): Promise<boolean> {
    return (await this.client.getZone(checkZoneName(zone))) !== null;
  }

  async ensureZone(zone: string, opts: EnsureZoneOptions): Promise<{ created: boolean; listed?: ListedRecord[] }> {
    const z = checkZoneName(zone);
    const ns = checkNameservers(opts.nameservers);
    const apex = opts.apex === undefined ? null : normalValue('A', opts.apex, 'apex');
    const more = checkRecords(z, opts.records ?? []);
    // Created at once, without a read first: PowerDNS refuses a zone that exists (409), which is
    // the check, in one call instead of two for every new zone.
    // The apex NS set is the `nameservers` field (PowerDNS refuses both); the SOA names the first as primary.
    const nameservers = [...new Set([...ns, ...more.filter((r) => r.name === '@' && r.type === 'NS').map((r) => r.value)])];
    const rest = [...(apex ? [{ name: '@', type: 'A' as const, value: apex }] : []), ...more.filter((r) => !(r.name === '@' && r.type === 'NS'))];
    const rrsets: RRSet[] = [
      { name: canonical(z), type: 'SOA', ttl: DEFAULT_TTL, records: [{ content: `${canonical(ns[0]!)} hostmaster.${canonical(z)} 1 10800 3600 604800 3600`, disabled: false }] },
      ...toRRSets(z, rest),
    ];
    try {
      // PowerDNS answers with the zone as its backend stored it: that is the check after the
      // create, with no second call (bench:fleet: PowerDNS, the busiest server, made two calls a zone).
      const made = await this.refusals(z, `zone ${z}`, () => this.client.createZone(z, 'Native', nameservers.map(canonical), rrsets));
      return { created: true, ...(Array.isArray(made.rrsets) ? { listed: made.rrsets.filter((r) => r.type !== 'SOA').flatMap((r) => fromRRSet(z, r)) } : {}) };
    } catch (err) {
      // Already there (an earlier attempt, or made by hand): the caller converges its records.
      if (err instanceof ZoneExistsError) return { created: false };
      throw err;
    }
  }

  async listRecords(zone: string): Promise<ListedRecord[]> {
    const z = checkZoneName(zone);
    return (await this.zone(z)).rrsets!.filter((r) => r.type !== 'SOA').flatMap((r) => fromRRSet(z, r));
  }

  async ensureRecords(zone: string, records: ZoneRecord[]): Promise<{ added: number; removed: number }> {
    const z = checkZoneName(zone);
    const wanted = checkRecords(z, records);
    const have = rrsetsByKey(await this.zone(z));
    const groups = new Map<string, ZoneRecord[]>();
    for (const w of wanted) {
      const k = `${absolute(z, w.name)}|${w.type}`;
      groups.set(k, [...(groups.get(k) ?? []), w]);
    }
    const changes: RRSetChange[] = [];
    let added = 0;
    let removed = 0;
    for (const [k, ws] of groups) {
      const cur = have.get(k);
      const kept: RecordContent[] = [];
      const seen = new Set<string>();
      for (const rec of cur?.records ?? []) {
        const key = recordKey(fromContent(z, cur!.name, cur!.type, rec.content));
        if (seen.has(key)) continue; // PowerDNS refuses duplicate contents, but a hand-made set is read defensively
        seen.add(key);
        kept.push({ content: rec.content, disabled: !!rec.disabled });
      }
      const fresh: ZoneRecord[] = [];
      for (const w of ws) {
        if (seen.has(recordKey(w))) continue;
        seen.add(recordKey(w));
        fresh.push(w);
      }
      const ttl = ws.find((w) => w.ttl !== undefined)?.ttl ?? cur?.ttl ?? DEFAULT_TTL;
      const duplicates = (cur?.records.length ?? 0) - kept.length;
      // TTLs are per rrset here: a new one replaces each given record already there (and applies to the whole set).
      const retimed = cur && ttl !== (cur.ttl ?? DEFAULT_TTL) ? ws.filter((w) => w.ttl !== undefined && !fresh.includes(w)).length : 0;
      if (fresh.length === 0 && duplicates === 0 && !(cur && ttl !== (cur.ttl ?? DEFAULT_TTL))) continue;
      added += fresh.length + retimed;
      removed += duplicates + retimed;
      changes.push({ name: absolute(z, ws[0]!.name), type: ws[0]!.type, changetype: 'REPLACE', ttl, records: [...kept, ...fresh.map((w) => ({ content: toContent(w), disabled: false }))] });
    }
    if (changes.length) await this.patch(z, changes, wanted.map(describeRecord).join(', '));
    return { added, removed };
  }

  async deleteRecords(zone: string, selectors: RecordSelector[]): Promise<number> {
    const z = checkZoneName(zone);
    const sel = selectors.map((s, i) => checkSelector(z, s, `selectors[${i}]`));
    const changes: RRSetChange[] = [];
    let removed = 0;
    for (const rr of (await this.zone(z)).rrsets!) {
      if (rr.type === 'SOA') continue;
      const rest = rr.records.filter((rec) => !sel.some((s) => matches(s, { ...fromContent(z, rr.name, rr.type, rec.content), ttl: rr.ttl ?? 0, suspended: !!rec.disabled })));
      if (rest.length === rr.records.length) continue;
      removed += rr.records.length - rest.length;
      changes.push(rest.length === 0
        ? { name: rr.name, type: rr.type, changetype: 'DELETE' }
        : { name: rr.name, type: rr.type, changetype: 'REPLACE', ttl: rr.ttl ?? DEFAULT_TTL, records: rest.map((r) => ({ content: r.content, disabled: !!r.disabled })) });
    }
    if (changes.length) await this.patch(z, changes, changes.map((c) => `${c.name} ${c.type}`).join(', '));
    return removed;
  }

  async setSuspended(zone: string, selector: { name: string; type?: string }, suspended: boolean): Promise<number> {
    const z = checkZoneName(zone);
    const sel = checkSelector(z, { name: selector.name, ...(selector.type !== undefined ? { type: selector.type } : {}) }, 'selector');
    const changes: RRSetChange[] = [];
    let changed = 0;
    for (const rr of (await this.zone(z)).rrsets!) {
      if (rr.type === 'SOA' || relative(z, rr.name) !== sel.name || ('type' in sel && sel.type !== undefined && sel.type !== rr.type)) continue;
      const n = rr.records.filter((r) => !!r.disabled !== suspended).length;
      if (n === 0) continue;
      changed += n;
      changes.push({ name: rr.name, type: rr.type, changetype: 'REPLACE', ttl: rr.ttl ?? DEFAULT_TTL, records: rr.records.map((r) => ({ content: r.content, disabled: suspended })) });
    }
    if (changes.length) await this.patch(z, changes, `${selector.name} ${selector.type ?? ''}`.trim());
    return changed;
  }

  /**
   * PowerDNS has no zone-level switch: every record of every rrset is disabled, the SOA and the
   * apex NS included, in one PATCH. Without an enabled SOA the backend no longer holds the zone, so
   * queries for its names are refused (not answered from a half-disabled zone); the API still shows
   * it. The API purges the server's caches for the zone on each PATCH, so the change is immediate.
   */
  async setZoneSuspended(zone: string, suspended: boolean): Promise<boolean> {
    const z = checkZoneName(zone);
    const changes: RRSetChange[] = [];
    for (const rr of (await this.zone(z)).rrsets) {
      if (rr.records.every((r) => !!r.disabled === suspended)) continue;
      changes.push({ name: rr.name, type: rr.type, changetype: 'REPLACE', ttl: rr.ttl ?? DEFAULT_TTL, records: rr.records.map((r) => ({ content: r.content, disabled: suspended })) });
    }
    if (changes.length) await this.patch(z, changes, `every record of zone ${z}`);
    return changes.length > 0;
  }

  /** Suspended when its SOA is disabled: without an enabled SOA the zone is not served. */
  async zoneSuspended(zone: string): Promise<boolean> {
    const z = checkZoneName(zone);
    const soa = (await this.zone(z)).rrsets.find((r) => r.type === 'SOA');
    return !!soa && soa.records.length > 0 && soa.records.every((r) => !!r.disabled);
  }

  async deleteZone(zone: string): Promise<{ deleted: boolean }> {
    const z = checkZoneName(zone);
    try {
      await this.client.deleteZone(z);
      return { deleted: true };
    } catch (err) {
      if (err instanceof ZoneNotFoundError) return { deleted: false };
      throw err;
    }
  }

  private async zone(z: string): Promise<Zone & { rrsets: RRSet[] }> {
    const zone = await this.client.getZone(z);
    if (!zone) throw new ZoneMissingError(z, this.label);
    return { ...zone, rrsets: zone.rrsets ?? [] };
  }

  private async patch(z: string, changes: RRSetChange[], what: string): Promise<void> {
    await this.refusals(z, what, () => this.client.patchRRsets(z, changes));
  }

  /** 404 → the zone is missing; 400/422 → the server refused what was sent, named. */
  private async refusals<R>(z: string, what: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ZoneNotFoundError) throw new ZoneMissingError(z, this.label);
      if (err instanceof PowerDnsTerminalError && (err.status === 400 || err.status === 422)) throw new RecordRefusedError(z, what, this.label, err.serverMessage, { cause: err });
      throw err;
    }
  }
}

function absolute(zone: string, name: string): string {
  return name === '@' ? `${zone}.` : `${name}.${zone}.`;
}

function relative(zone: string, fqdn: string): string {
  const n = fqdn.toLowerCase().replace(/\.$/, '');
  return n === zone ? '@' : n.endsWith(`.${zone}`) ? n.slice(0, -(zone.length + 1)) : n;
}

/** Records grouped into rrsets (one per name and type, the first TTL given or the default). */
function toRRSets(zone: string, records: ZoneRecord[]): RRSet[] {
  const sets = new Map<string, RRSet>();
  for (const r of records) {
    const k = `${absolute(zone, r.name)}|${r.type}`;
    const set = sets.get(k) ?? { name: absolute(zone, r.name), type: r.type, ttl: r.ttl ?? DEFAULT_TTL, records: [] };
    if (!set.records.some((x) => x.content === toContent(r))) set.records.push({ content: toContent(r), disabled: false });
    sets.set(k, set);
  }
  return [...sets.values()];
}

function rrsetsByKey(zone: Zone & { rrsets: RRSet[] }): Map<string, RRSet> {
  return new Map(zone.rrsets.map((r) => [`${r.name}|${r.type}`, r]));
}

/** The contract's record as PowerDNS content. */
function toContent(r: ZoneRecord): string {
  switch (r.type) {
    case 'NS': case 'CNAME': case 'PTR': return canonical(r.value);
    case 'MX': return `${r.priority ?? 10} ${canonical(r.value)}`;
    case 'SRV': {
      const [weight, port, target] = r.value.split(' ');
      return `${r.priority ?? 10} ${weight} ${port} ${canonical(target!)}`;
    }
    case 'TXT': return txtContent(r.value);
    default: return r.value;
  }
}

/** PowerDNS content as the contract's record (name relative, values in normal form). */
function fromContent(zone: string, name: string, type: string, content: string): Omit<ListedRecord, 'ttl' | 'suspended'> {
  const base = { name: relative(zone, name), type };
  const host = (h: string) => h.toLowerCase().replace(/\.$/, '');
  switch (type) {
    case 'NS': case 'CNAME': case 'PTR': return { ...base, value: host(content) };
    case 'MX': {
      const [prio, target] = content.split(/\s+/);
      return { ...base, value: host(target ?? ''), priority: Number(prio) };
    }
    case 'SRV': {
      const [prio, weight, port, target] = content.split(/\s+/);
      return { ...base, value: `${weight} ${port} ${host(target ?? '')}`, priority: Number(prio) };
    }
    case 'TXT': case 'SPF': {
      const parts = [...content.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
      return { ...base, value: parts.length ? parts.join('') : content };
    }
    case 'AAAA': return { ...base, value: canonicalIPv6(content) };
    default: return { ...base, value: content };
  }
}

function fromRRSet(zone: string, rr: RRSet): ListedRecord[] {
  return rr.records.map((rec) => ({ ...fromContent(zone, rr.name, rr.type, rec.content), ttl: rr.ttl ?? DEFAULT_TTL, suspended: !!rec.disabled }));
}
