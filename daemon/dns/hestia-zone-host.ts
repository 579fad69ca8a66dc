// The zone-host contract over a HestiaCP node's DNS (HestiaDriver's v-*-dns-* commands). A Hestia
// zone belongs to a Hestia user, so one zone host serves one user's zones on one node. Hestia's
// record ids, its template records and its trailing dots stay inside this file.
import { InputError, TerminalError } from '../common/errors.ts';
import { ArgumentError, dnsConfLine, hasHestiaCode, type DnsConfRecord, type HestiaDriver, type HestiaList } from '../drivers/hestia/index.ts';
import { canonicalIPv6 } from './reverse.ts';
import {
  checkNameservers, checkRecords, checkSelector, checkZoneName, describeRecord, matches, normalValue, recordKey,
  type ListedRecord, type RecordSelector, type ZoneRecord,
} from './records.ts';
import { RecordRefusedError, ZoneConflictError, ZoneMissingError, type EnsureZoneOptions, type ZoneHost } from './zone-host.ts';

export interface HestiaZoneHostOptions {
  /** The Hestia user whose zones these are. */
  user: string;
  /** v-add-dns-domain needs an IPv4 address: a zone created without an apex gets the node's own. */
  nodeIp: string;
  /** When given, ensureZone creates the user first if it does not exist (a service's DNS-only account). */
  owner?: { password: string; email: string; package?: string; name?: string };
  /** For messages: the node's name. */
  server: string;
}

interface Held extends ListedRecord { id: number }

export class HestiaZoneHost implements ZoneHost {
  readonly label: string;
  private userSeen = false;

  constructor(private readonly driver: HestiaDriver, private readonly opts: HestiaZoneHostOptions) {
    this.label = `${opts.server} (user ${opts.user})`;
  }

  async zoneExists(zone: string): Promise<boolean> {
    const z = checkZoneName(zone);
    return !!(await this.zones())?.[z];
  }

  /**
   * A new zone in the same few commands whatever its size (docs/drivers.md, "Publishing a zone on
   * HestiaCP"): v-add-dns-domain (the template's records, no reload); install + v-insert-dns-records
   * (every wanted record but the A, written to a /tmp file and moved over the template's in one
   * go); v-update-user-counters (v-add-dns-domain counted the template's records); v-add-dns-record
   * of the A, which Hestia checks and which sorts the records, bumps the serial, rewrites the BIND
   * zone file and reloads; one listing to verify. Records whose values Hestia checks in ways not
   * repeated here (SRV, CAA) are added one by one before that last add. Killed after the move,
   * the zone lacks only its A: the next dns.zone adds it, which rebuilds and reloads the zone.
   */
  async ensureZone(zone: string, opts: EnsureZoneOptions): Promise<{ created: boolean; listed?: ListedRecord[] }> {
    const z = checkZoneName(zone);
    const ns = checkNameservers(opts.nameservers);
    if (ns.length > 8) throw new InputError('nameservers', 'HestiaCP takes at most 8 name servers');
    const apex = opts.apex === undefined ? null : normalValue('A', opts.apex, 'apex');
    const more = checkRecords(z, opts.records ?? []);
    const wanted = unique([...ns.map((value) => ({ name: '@', type: 'NS' as const, value })), ...(apex ? [{ name: '@', type: 'A' as const, value: apex }] : []), ...more]);
    // Hestia keeps at least one A in a zone: one made without any keeps the template's `@ A <node IP>`.
    if (!wanted.some((r) => r.type === 'A')) wanted.push({ name: '@', type: 'A', value: this.opts.nodeIp });
    let zones = await this.zones();
    if (zones?.[z]) return { created: false };
    this.refuseAsHestia(z, wanted, wanted.filter((r) => r.name === '@' && r.type === 'NS' && ns.includes(r.value)));
    if (!zones) zones = (await this.createOwner()) ? {} : ((await this.zones()) ?? {});
    if (zones[z]) return { created: false };
    try {
      await this.driver.addDnsDomain(this.opts.user, z, apex ?? this.opts.nodeIp, ns, { restart: false });
    } catch (err) {
      if (hasHestiaCode(err, 'E_EXISTS')) {
        if ((await this.zones())?.[z]) return { created: false };
        throw new ZoneConflictError(z, this.opts.server, `another account holds it (${err.errorLine ?? err.message})`);
      }
      if (hasHestiaCode(err, 'E_INVALID', 'E_ARGS') || err instanceof ArgumentError) throw new RecordRefusedError(z, `zone ${z}`, this.label, reason(err), { cause: err });
      throw err;
    }
    const held = await this.publish(z, wanted);
    return { created: true, ...(held ? { listed: held.map(({ id: _id, ...r }) => r) } : {}) };
  }

  async listRecords(zone: string): Promise<ListedRecord[]> {
    return (await this.held(checkZoneName(zone))).map(({ id: _id, ...r }) => r);
  }

  async ensureRecords(zone: string, records: ZoneRecord[]): Promise<{ added: number; removed: number }> {
    const z = checkZoneName(zone);
    const wanted = unique(checkRecords(z, records));
    const have = await this.held(z);
    let nextId = have.reduce((m, r) => Math.max(m, r.id), 0) + 1;
    let added = 0;
    const stale: Held[] = [];
    for (const w of wanted) {
      const same = have.filter((h) => recordKey(h) === recordKey(w));
      const fit = same.filter((h) => w.ttl === undefined || h.ttl === w.ttl);
      if (fit.length === 0) {
        await this.add(z, w, nextId++);
        added++;
      }
      // Added before anything is removed, so a zone never loses its last A or NS (Hestia refuses that).
      stale.push(...same.filter((h) => h !== fit[0]));
    }
    for (const r of stale) await this.remove(z, r);
    return { added, removed: stale.length };
  }

  async deleteRecords(zone: string, selectors: RecordSelector[]): Promise<number> {
    const z = checkZoneName(zone);
    const sel = selectors.map((s, i) => checkSelector(z, s, `selectors[${i}]`));
    const doomed = (await this.held(z)).filter((r) => sel.some((s) => matches(s, r)));
    for (const r of doomed) await this.remove(z, r);
    return doomed.length;
  }

  async setSuspended(zone: string, selector: { name: string; type?: string }, suspended: boolean): Promise<number> {
    const z = checkZoneName(zone);
    const sel = checkSelector(z, { name: selector.name, ...(selector.type !== undefined ? { type: selector.type } : {}) }, 'selector');
    const todo = (await this.held(z)).filter((r) => matches(sel, r) && r.suspended !== suspended);
    for (const r of todo) {
      if (suspended) await this.driver.suspendDnsRecord(this.opts.user, z, r.id);
      else await this.driver.unsuspendDnsRecord(this.opts.user, z, r.id);
    }
    return todo.length;
  }

  async setZoneSuspended(zone: string, suspended: boolean): Promise<boolean> {
    const z = checkZoneName(zone);
    const held = (await this.zones())?.[z];
    if (!held) throw new ZoneMissingError(z, this.label);
    if ((held.SUSPENDED === 'yes') === suspended) return false;
    if (suspended) await this.driver.suspendDnsDomain(this.opts.user, z);
    else await this.driver.unsuspendDnsDomain(this.opts.user, z);
    return true;
  }

  async zoneSuspended(zone: string): Promise<boolean> {
    const z = checkZoneName(zone);
    const held = (await this.zones())?.[z];
    if (!held) throw new ZoneMissingError(z, this.label);
    return held.SUSPENDED === 'yes';
  }

  async deleteZone(zone: string): Promise<{ deleted: boolean }> {
    const z = checkZoneName(zone);
    if (!(await this.zones())?.[z]) return { deleted: false };
    try {
      await this.driver.deleteDnsDomain(this.opts.user, z);
      return { deleted: true };
    } catch (err) {
      if (hasHestiaCode(err, 'E_NOTEXIST')) return { deleted: false };
      throw err;
    }
  }

  /** The user's zones, or null when the user does not exist. */
  private async zones(): Promise<HestiaList | null> {
    // v-list-dns-domains for a missing user logs an error on the node: ask the user list first (once per zone host).
    if (!this.userSeen) {
      if (!(await this.driver.userExists(this.opts.user))) return null;
      this.userSeen = true;
    }
    try {
      return await this.driver.listDnsDomains(this.opts.user);
    } catch (err) {
      if (hasHestiaCode(err, 'E_NOTEXIST')) return null;
      throw err;
    }
  }

  /** True when this call made the user (so it holds no zone yet); false when someone else just did. */
  private async createOwner(): Promise<boolean> {
    const o = this.opts.owner;
    if (!o) throw new TerminalError(`user ${this.opts.user}, who should hold the zones, does not exist on ${this.opts.server}`);
    try {
      await this.driver.addUser(this.opts.user, o.password, o.email, o.package ?? 'default', o.name);
      this.userSeen = true;
      return true;
    } catch (err) {
      if (!hasHestiaCode(err, 'E_EXISTS')) throw err;
      return false;
    }
  }

  /**
   * Brings a zone that holds the template's records to exactly `wanted` (which holds an A): see
   * ensureZone. Returns the listing that showed it exact, or null when records had to be fixed
   * one by one after it (the listing is then stale).
   */
  private async publish(z: string, wanted: ZoneRecord[]): Promise<Held[] | null> {
    const last = wanted.find((r) => r.type === 'A')!;
    const oneByOne = wanted.filter((r) => HESTIA_CHECKED.has(r.type));
    const moved = wanted.filter((r) => r !== last && !HESTIA_CHECKED.has(r.type));
    try {
      await this.driver.replaceDnsRecords(this.opts.user, z, moved.map((r, i) => toConf(r, i + 1)));
    } catch (err) {
      throw this.refused(z, `the records of zone ${z}`, err);
    }
    await this.driver.updateUserCounters(this.opts.user);
    // No ids from here on: Hestia takes the next free one, which cannot clash even if the move did not happen.
    for (const r of oneByOne) await this.add(z, r, undefined, false);
    await this.add(z, last, undefined);
    // Verified from the node: a file the script did not find is ignored with exit 0.
    const held = await this.held(z);
    if (exactly(held, wanted)) return held;
    await this.converge(z, wanted, held);
    return null;
  }

  /** One record at a time from `held` to `wanted`, adding before removing (Hestia keeps a zone's last A and NS). */
  private async converge(z: string, wanted: ZoneRecord[], held: Held[]): Promise<void> {
    let nextId = held.reduce((m, r) => Math.max(m, r.id), 0) + 1;
    const kept = new Set<Held>();
    for (const w of wanted) {
      const have = held.find((h) => !kept.has(h) && recordKey(h) === recordKey(w) && (w.ttl === undefined || h.ttl === w.ttl));
      if (have) kept.add(have);
      else await this.add(z, w, nextId++);
    }
    for (const r of held) if (!kept.has(r)) await this.remove(z, r);
  }

  /**
   * What v-add-dns-record would refuse in records that go into the zone's file unchecked: a bad
   * argument, an NS target with fewer than three dots (is_dns_fqnd), an in-zone NS target without
   * its A (is_dns_nameserver_valid). Refused before anything is created. The zone's own name
   * servers are taken as v-add-dns-domain takes them (any host name: its template is not checked).
   */
  private refuseAsHestia(z: string, wanted: ZoneRecord[], nameservers: ZoneRecord[]): void {
    wanted.forEach((r, i) => {
      const what = describeRecord(r);
      try {
        dnsConfLine(toConf(r, i + 1), 'record', { time: '00:00:00', date: '2000-01-01' });
      } catch (err) {
        throw new RecordRefusedError(z, what, this.label, reason(err), { cause: err });
      }
      if ((r.type !== 'NS' && r.type !== 'SRV') || nameservers.includes(r)) return;
      const target = r.type === 'SRV' ? r.value.split(' ')[2]! : r.value;
      if (target.split('.').length < 3) throw new RecordRefusedError(z, what, this.label, `${r.type} record ${r.value} should be a fully qualified domain name (FQDN)`);
      if (r.type === 'NS' && target.endsWith(`.${z}`)) {
        const host = target.slice(0, -(z.length + 1));
        if (!wanted.some((a) => a.type === 'A' && a.name === host)) throw new RecordRefusedError(z, what, this.label, `IN A ${target} does not exist`);
      }
    });
  }

  private async held(z: string): Promise<Held[]> {
    let rows: HestiaList;
    try {
      rows = await this.driver.listDnsRecords(this.opts.user, z);
    } catch (err) {
      if (hasHestiaCode(err, 'E_NOTEXIST')) throw new ZoneMissingError(z, this.label);
      throw err;
    }
    return Object.values(rows).map(fromHestia);
  }

  private async add(z: string, r: ZoneRecord, id: number | undefined, restart = true): Promise<void> {
    // v-add-dns-record refuses "weight port target" whenever the weight is not 0 (its validator takes
    // a first field that passes as a host name for the target); "priority weight port target" it
    // reads as meant, storing the priority apart and the value as "weight port target.".
    const value = r.type === 'SRV' ? `${r.priority ?? 10} ${r.value}` : r.value;
    try {
      await this.driver.addDnsRecord(this.opts.user, z, r.name, r.type, value, {
        restart, ...(id !== undefined ? { id } : {}), ...(r.priority !== undefined ? { priority: r.priority } : {}), ...(r.ttl !== undefined ? { ttl: r.ttl } : {}),
      });
    } catch (err) {
      throw this.refused(z, describeRecord(r), err);
    }
  }

  private async remove(z: string, r: Held): Promise<void> {
    try {
      await this.driver.deleteDnsRecord(this.opts.user, z, r.id);
    } catch (err) {
      throw this.refused(z, describeRecord(r), err);
    }
  }

  /** Hestia's refusals (bad format, the zone's last A/NS, an in-zone NS without its A) named; the rest as they are. */
  private refused(z: string, what: string, err: unknown): unknown {
    if (err instanceof ArgumentError || hasHestiaCode(err, 'E_INVALID', 'E_ARGS', 'E_EXISTS') || (hasHestiaCode(err, 'E_NOTEXIST') && /IN A /.test(err.errorLine ?? ''))) {
      return new RecordRefusedError(z, what, this.label, reason(err), { cause: err });
    }
    if (hasHestiaCode(err, 'E_NOTEXIST')) return new ZoneMissingError(z, this.label);
    return err;
  }
}

function reason(err: unknown): string {
  if (err instanceof ArgumentError) return err.message;
  if (hasHestiaCode(err)) return err.errorLine ?? err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Types whose values v-add-dns-record checks in ways refuseAsHestia does not repeat: added one by one. */
const HESTIA_CHECKED = new Set(['SRV', 'CAA']);

function toConf(r: ZoneRecord, id: number): DnsConfRecord {
  return { id, record: r.name, type: r.type, value: r.value, ...(r.priority !== undefined ? { priority: r.priority } : {}), ...(r.ttl !== undefined ? { ttl: r.ttl } : {}) };
}

/** Each wanted record held once (with its TTL where one is given), and nothing else. */
function exactly(held: Held[], wanted: ZoneRecord[]): boolean {
  if (held.length !== wanted.length) return false;
  const left = [...held];
  for (const w of wanted) {
    const i = left.findIndex((h) => recordKey(h) === recordKey(w) && !h.suspended && (w.ttl === undefined || h.ttl === w.ttl));
    if (i < 0) return false;
    left.splice(i, 1);
  }
  return true;
}

function unique(records: ZoneRecord[]): ZoneRecord[] {
  const byKey = new Map<string, ZoneRecord>();
  for (const r of records) if (!byKey.has(recordKey(r))) byKey.set(recordKey(r), r);
  return [...byKey.values()];
}

/** A v-list-dns-records entry in the contract's shape. */
function fromHestia(row: Record<string, string>): Held {
  const type = String(row.TYPE ?? '').toUpperCase();
  let value = String(row.VALUE ?? '').replace(/%quote%/g, "'");
  if (['NS', 'CNAME', 'MX', 'PTR'].includes(type)) value = value.toLowerCase().replace(/\.$/, '');
  else if (type === 'SRV') value = value.replace(/\.$/, '').toLowerCase();
  else if (type === 'TXT' || type === 'SPF') value = value.replace(/^"(.*)"$/s, '$1');
  else if (type === 'AAAA') value = safeIPv6(value);
  const priority = type === 'MX' || type === 'SRV' ? Number(row.PRIORITY || 0) : undefined;
  return {
    id: Number(row.ID), name: String(row.RECORD ?? '').toLowerCase(), type, value,
    ttl: Number(row.TTL) || 0, ...(priority !== undefined ? { priority } : {}), suspended: row.SUSPENDED === 'yes',
  };
}

function safeIPv6(v: string): string {
  try {
    return canonicalIPv6(v);
  } catch {
    return v;
  }
}
