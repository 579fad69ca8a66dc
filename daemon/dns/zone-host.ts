// The zone-host contract: what a task may ask of any DNS backend (a HestiaCP node's bind zones,
// a PowerDNS server), in one record shape, so a handler never sees Hestia's record ids or
// PowerDNS's rrsets. Every implementation passes test/dns/zone-host-conformance.ts.
import { TerminalError } from '../common/errors.ts';
import type { ListedRecord, RecordSelector, ZoneRecord } from './records.ts';

export interface EnsureZoneOptions {
  /** The zone's NS records, in order; the first is the SOA's primary. At least one. */
  nameservers: string[];
  /** The apex A record of a new zone (a forward zone's site), when there is one. */
  apex?: string;
  /**
   * What else a new zone is created with (one call where the backend allows it, so a fresh zone
   * never shows a template's records). An existing zone is not touched: use ensureRecords.
   */
  records?: ZoneRecord[];
}

export interface ZoneHost {
  /** For log lines and errors: the server's name, and the account holding the zones where there is one. */
  readonly label: string;

  /** True when the zone exists here (for HestiaCP: under this host's user). */
  zoneExists(zone: string): Promise<boolean>;
  /**
   * Creates the zone when missing, with its SOA and NS from the name servers, `@ A apex` when given
   * and the given records, and nothing else; an existing zone is left as it is. Idempotent. A zone
   * held by someone else is a ZoneConflictError. `listed`, when given, is the new zone's records
   * (SOA aside) as the backend read them back in the exchange that created it (PowerDNS answers
   * the creation with the zone; a HestiaCP node's zone is listed to check the publish): the same
   * as listRecords right after, without another call.
   */
  ensureZone(zone: string, opts: EnsureZoneOptions): Promise<{ created: boolean; listed?: ListedRecord[] }>;
  /** The zone's records (SOA aside); a missing zone is a ZoneMissingError. */
  listRecords(zone: string): Promise<ListedRecord[]>;
  /**
   * Each given record exists exactly once afterwards: missing ones are added, duplicates removed,
   * other records are left alone. A record given with a TTL replaces one with another TTL.
   */
  ensureRecords(zone: string, records: ZoneRecord[]): Promise<{ added: number; removed: number }>;
  /** Removes the selected records (an exact record, or all of a name, or of a name and type); returns how many. */
  deleteRecords(zone: string, selectors: RecordSelector[]): Promise<number>;
  /** Suspends (or unsuspends) every record of a name, or of a name and type: they stay listed but are not served. Returns how many changed. */
  setSuspended(zone: string, selector: { name: string; type?: string }, suspended: boolean): Promise<number>;
  /**
   * Suspends (or unsuspends) the whole zone: it stays, but is not served. HestiaCP marks the zone
   * and every record suspended (v-suspend-dns-domain); PowerDNS disables every record, SOA and NS
   * included, so the server no longer holds the zone for queries. Unsuspending makes every record
   * active again. Returns whether anything changed; a missing zone is a ZoneMissingError.
   */
  setZoneSuspended(zone: string, suspended: boolean): Promise<boolean>;
  /** Whether the zone is suspended as a whole (setZoneSuspended); a missing zone is a ZoneMissingError. */
  zoneSuspended(zone: string): Promise<boolean>;
  /** Deletes the zone; a zone already gone is fine (deleted: false). */
  deleteZone(zone: string): Promise<{ deleted: boolean }>;
}

/** The zone does not exist on this server (or not under this account). */
export class ZoneMissingError extends TerminalError {
  constructor(readonly zone: string, host: string) {
    super(`zone ${zone} does not exist on ${host}`);
    this.name = 'ZoneMissingError';
  }
}

/** The zone exists on this server but belongs to another account. */
export class ZoneConflictError extends TerminalError {
  constructor(readonly zone: string, host: string, detail: string) {
    super(`zone ${zone} cannot be created on ${host}: ${detail}`);
    this.name = 'ZoneConflictError';
  }
}

/** The backend refused a record (or a change to one); names the record and gives the backend's reason. */
export class RecordRefusedError extends TerminalError {
  constructor(readonly zone: string, readonly record: string, host: string, reason: string, options?: { cause?: unknown }) {
    super(`${host} refused ${record} in zone ${zone}: ${reason}`, options);
    this.name = 'RecordRefusedError';
  }
}
