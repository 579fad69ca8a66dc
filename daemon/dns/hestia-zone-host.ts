// The zone-host contract over a HestiaCP node's DNS (HestiaDriver's v-*-dns-* commands). A Hestia
// zone belongs to a Hestia user, so one zone host serves one user's zones on one node. Hestia's
// record ids, its template records and its trailing dots stay inside this file.
import { InputError, TerminalError } from '../common/errors.ts';
import { ArgumentError, hasHestiaCode, type HestiaDriver, type HestiaList } from '../drivers/hestia/index.ts';
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

  async ensureZone(zone: string, opts: EnsureZoneOptions): Promise<{ created: boolean }> {
    const z = checkZoneName(zone);
    const ns = checkNameservers(opts.nameservers);
    if (ns.length > 8) throw new InputError('nameservers', 'HestiaCP takes at most 8 name servers');
    const apex = opts.apex === undefined ? null : normalValue('A', opts.apex, 'apex');
    const more = checkRecords(z, opts.records ?? []);
    let zones = await this.zones();
    if (!zones) {
      await this.createOwner();
      zones = (await this.zones()) ?? {};
    }
    if (zones[z]) return { created: false };
    try {
      await this.driver.addDnsDomain(this.opts.user, z, apex ?? this.opts.nodeIp, ns);
    } catch (err) {
      if (hasHestiaCode(err, 'E_EXISTS')) {
        if ((await this.zones())?.[z]) return { created: false };
        throw new ZoneConflictError(z, this.opts.server, `another account holds it (${err.errorLine ?? err.message})`);
      }
      if (hasHestiaCode(err, 'E_INVALID', 'E_ARGS') || err instanceof ArgumentError) throw new RecordRefusedError(z, `zone ${z}`, this.label, reason(err), { cause: err });
      throw err;
    }
    await this.replaceTemplate(z, [...ns.map((value) => ({ name: '@', type: 'NS' as const, value })), ...(apex ? [{ name: '@', type: 'A' as const, value: apex }] : []), ...more]);
    return { created: true };
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

  private async createOwner(): Promise<void> {
    const o = this.opts.owner;
    if (!o) throw new TerminalError(`user ${this.opts.user}, who should hold the zones, does not exist on ${this.opts.server}`);
    try {
      await this.driver.addUser(this.opts.user, o.password, o.email, o.package ?? 'default', o.name);
    } catch (err) {
      if (!hasHestiaCode(err, 'E_EXISTS')) throw err;
    }
  }

  /**
   * v-add-dns-domain fills a new zone from the user's DNS template (www, ftp, mail, MX, SPF, SRV…):
   * the zone is brought to `keep` from that one listing, adding before removing. Hestia keeps at
   * least one A record in a zone, so a zone made without any keeps its `@ A <node IP>`.
   */
  private async replaceTemplate(z: string, keep: ZoneRecord[]): Promise<void> {
    const wanted = unique(keep);
    const held = await this.held(z);
    let nextId = held.reduce((m, r) => Math.max(m, r.id), 0) + 1;
    const kept = new Set<Held>();
    for (const w of wanted) {
      const have = held.find((h) => !kept.has(h) && recordKey(h) === recordKey(w) && (w.ttl === undefined || h.ttl === w.ttl));
      if (have) kept.add(have);
      else await this.add(z, w, nextId++);
    }
    let aKept = wanted.some((w) => w.type === 'A');
    for (const r of held) {
      if (kept.has(r)) continue;
      if (!aKept && r.name === '@' && r.type === 'A') {
        aKept = true;
        continue;
      }
      await this.remove(z, r);
    }
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

  private async add(z: string, r: ZoneRecord, id: number): Promise<void> {
    try {
      await this.driver.addDnsRecord(this.opts.user, z, r.name, r.type, r.value, {
        id, ...(r.priority !== undefined ? { priority: r.priority } : {}), ...(r.ttl !== undefined ? { ttl: r.ttl } : {}),
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
