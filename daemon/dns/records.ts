// The zone-host contract's one record shape, and the checks every zone host runs on it before any
// remote call: names relative to the zone ("@" for the apex), host names without the trailing dot,
// TXT without quotes, MX/SRV priority apart. Each backend converts to its own form at its edge.
import { isIPv4, isIPv6 } from 'node:net';
import { InputError } from '../common/errors.ts';
import { canonicalIPv6 } from './reverse.ts';

/** The record types every zone host takes. */
export const ZONE_RECORD_TYPES = ['A', 'AAAA', 'NS', 'CNAME', 'MX', 'TXT', 'SRV', 'PTR', 'CAA'] as const;
export type ZoneRecordType = (typeof ZONE_RECORD_TYPES)[number];

export interface ZoneRecord {
  /** Relative to the zone: "@" for the apex, "www", "mail._domainkey", "10" (a PTR in a /24 reverse zone). */
  name: string;
  type: ZoneRecordType;
  /** A/AAAA an address; NS/CNAME/MX/PTR a host name (no trailing dot); TXT the text (no quotes); SRV "weight port target"; CAA "flags tag value". */
  value: string;
  /** Seconds; when absent a new record gets the backend's default and an existing one keeps its own. */
  ttl?: number;
  /** MX and SRV only. */
  priority?: number;
}

/** A record as a zone host lists it: any type the zone holds (SOA excepted), with its TTL and state. */
export interface ListedRecord {
  name: string;
  type: string;
  value: string;
  ttl: number;
  priority?: number;
  suspended: boolean;
}

/** Which records deleteRecords removes: exactly one record, or all of a name (of one type, or of any). */
export type RecordSelector = ZoneRecord | { name: string; type?: string };

export function isExact(s: RecordSelector): s is ZoneRecord {
  return 'value' in s && typeof s.value === 'string';
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A zone name: lower case, no trailing dot, at least two labels of letters, digits and inner "-". */
export function checkZoneName(zone: unknown, field = 'zone'): string {
  if (typeof zone !== 'string' || zone.trim() === '') throw new InputError(field, 'must be a DNS name');
  const z = zone.trim().toLowerCase().replace(/\.$/, '');
  if (/[^\x21-\x7e]/.test(z)) throw new InputError(field, `"${safe(zone)}" must be printable ASCII without spaces (IDNs as punycode)`);
  if (z.length > 253) throw new InputError(field, `"${safe(zone)}" is longer than 253 characters`);
  const labels = z.split('.');
  if (labels.length < 2 || labels.some((l) => !HOST_LABEL.test(l))) throw new InputError(field, `"${safe(zone)}" is not a zone name: at least two labels of letters, digits and inner "-"`);
  return z;
}

/** A host name in a value (NS, CNAME, MX, PTR, SRV target): at least two labels, no trailing dot kept. */
function checkHost(field: string, v: string): string {
  const h = v.toLowerCase().replace(/\.$/, '');
  const labels = h.split('.');
  if (h.length > 253 || labels.length < 2 || labels.some((l) => !HOST_LABEL.test(l))) {
    throw new InputError(field, `"${safe(v)}" is not a fully qualified host name (letters, digits and inner "-", at least two labels)`);
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) throw new InputError(field, `"${safe(v)}" is an address, not a host name (its last label is a number)`);
  return h;
}

/** The record's name relative to `zone`; an absolute name (trailing dot) must lie inside the zone. */
export function relativeName(zone: string, name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || name === '') throw new InputError(field, 'must be "@" or a name inside the zone');
  if (/[\x00-\x20\x7f-\uffff]/.test(name)) throw new InputError(field, `"${safe(name)}" must not contain spaces, control characters or newlines`);
  let n = name.toLowerCase();
  if (n.endsWith('.')) {
    const abs = n.slice(0, -1);
    if (abs === zone) return '@';
    if (!abs.endsWith(`.${zone}`)) throw new InputError(field, `"${safe(name)}" is outside the zone ${zone}`);
    n = abs.slice(0, -(zone.length + 1));
  }
  if (n === '@') return n;
  const labels = n.split('.');
  if (n.length + zone.length + 1 > 253) throw new InputError(field, `"${safe(name)}" makes a name longer than 253 characters`);
  labels.forEach((l, i) => {
    if (l === '*' && i === 0) return;
    if (!LABEL.test(l)) throw new InputError(field, `"${safe(name)}": labels are letters, digits, "_" and inner "-" ("*" only as the first label)`);
  });
  return n;
}

function checkInt(field: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new InputError(field, `must be a whole number from 0 to ${max}`);
  return v;
}

/** The value in its normal form, checked by its type's rules. */
export function normalValue(type: string, raw: string, field = 'value'): string {
  if (typeof raw !== 'string' || raw === '') throw new InputError(field, 'must be a non-empty string');
  if (/[\x00-\x1f\x7f]/.test(raw)) throw new InputError(field, 'must not contain control characters or newlines');
  if (/[^\x20-\x7e]/.test(raw)) throw new InputError(field, 'must be printable ASCII (host names as punycode)');
  switch (type) {
    case 'A':
      if (!isIPv4(raw)) throw new InputError(field, `"${safe(raw)}" is not an IPv4 address`);
      return raw;
    case 'AAAA':
      if (!isIPv6(raw)) throw new InputError(field, `"${safe(raw)}" is not an IPv6 address`);
      return canonicalIPv6(raw);
    case 'NS': case 'CNAME': case 'MX': case 'PTR':
      return checkHost(field, raw);
    case 'TXT':
      if (raw.length > 4000) throw new InputError(field, 'TXT text is longer than 4000 characters');
      if (raw.includes('"') || raw.includes('\\')) throw new InputError(field, 'TXT text must not contain \'"\' or "\\" (the backends quote it)');
      return raw;
    case 'SRV': {
      const m = /^(\d{1,5}) (\d{1,5}) (\S+)$/.exec(raw);
      if (!m || Number(m[1]) > 65535 || Number(m[2]) > 65535) throw new InputError(field, 'SRV value is "weight port target" (priority apart)');
      return `${Number(m[1])} ${Number(m[2])} ${checkHost(field, m[3]!)}`;
    }
    case 'CAA': {
      const m = /^(\d{1,3}) (issue|issuewild|iodef) "([\x21\x23-\x7e][\x20\x21\x23-\x7e]*)"$/.exec(raw);
      if (!m || Number(m[1]) > 255) throw new InputError(field, 'CAA value is `flags tag "value"` with tag issue, issuewild or iodef');
      return raw;
    }
    default:
      throw new InputError('type', `record type must be one of ${ZONE_RECORD_TYPES.join(' ')}, not "${safe(type)}"`);
  }
}

/** Checks a record for `zone` and returns it in normal form; InputError names the field (`records[2].value`). */
export function checkRecord(zone: string, r: ZoneRecord, field = 'record'): ZoneRecord {
  if (!r || typeof r !== 'object') throw new InputError(field, 'must be a record');
  const type = typeof r.type === 'string' ? r.type.toUpperCase() : '';
  if (!(ZONE_RECORD_TYPES as readonly string[]).includes(type)) throw new InputError(`${field}.type`, `must be one of ${ZONE_RECORD_TYPES.join(' ')}`);
  const name = relativeName(zone, r.name, `${field}.name`);
  const value = normalValue(type, r.value, `${field}.value`);
  if (type === 'CNAME' && name === '@') throw new InputError(`${field}.name`, 'a CNAME cannot sit at the zone apex');
  const out: ZoneRecord = { name, type: type as ZoneRecordType, value };
  if (type === 'MX' || type === 'SRV') out.priority = r.priority === undefined ? 10 : checkInt(`${field}.priority`, r.priority, 65535);
  else if (r.priority !== undefined) throw new InputError(`${field}.priority`, `only MX and SRV records have a priority, not ${type}`);
  if (r.ttl !== undefined) {
    out.ttl = checkInt(`${field}.ttl`, r.ttl, 2147483647);
    if (out.ttl < 60) throw new InputError(`${field}.ttl`, 'must be at least 60 seconds');
  }
  return out;
}

export function checkRecords(zone: string, records: ZoneRecord[]): ZoneRecord[] {
  if (!Array.isArray(records)) throw new InputError('records', 'must be a list of records');
  return records.map((r, i) => checkRecord(zone, r, `records[${i}]`));
}

/** A new zone's name servers: at least one host name, in normal form. */
export function checkNameservers(ns: unknown): string[] {
  if (!Array.isArray(ns) || ns.length === 0) throw new InputError('nameservers', 'a zone needs at least one name server');
  return ns.map((n, i) => normalValue('NS', n as string, `nameservers[${i}]`));
}

/** A selector checked for `zone`: an exact record in normal form, or a name (and type). */
export function checkSelector(zone: string, s: RecordSelector, field: string): RecordSelector {
  if (isExact(s)) return checkRecord(zone, s, field);
  const name = relativeName(zone, s.name, `${field}.name`);
  if (s.type === undefined) return { name };
  if (typeof s.type !== 'string' || !/^[A-Za-z0-9]{1,10}$/.test(s.type)) throw new InputError(`${field}.type`, 'must be a record type');
  return { name, type: s.type.toUpperCase() };
}

/** Identity of a record, TTL and state aside: two records with one key are duplicates. */
export function recordKey(r: { name: string; type: string; value: string; priority?: number }): string {
  const prio = r.type === 'MX' || r.type === 'SRV' ? String(r.priority ?? 10) : '';
  return `${r.name}|${r.type}|${prio}|${r.value}`;
}

export function matches(s: RecordSelector, r: ListedRecord): boolean {
  if (isExact(s)) return recordKey(s) === recordKey(r);
  return s.name === r.name && (s.type === undefined || s.type === r.type);
}

/** How a record reads in a log line (TXT shortened). */
export function describeRecord(r: { name: string; type: string; value: string; priority?: number }): string {
  const v = r.type === 'TXT' && r.value.length > 40 ? `${r.value.slice(0, 40)}…` : r.value;
  return `${r.name} ${r.type}${r.priority !== undefined ? ` ${r.priority}` : ''} ${v}`;
}

/** A name for an error message: shortened, control characters shown as escapes. */
export function safe(v: unknown): string {
  const s = JSON.stringify(String(v)).slice(1, -1);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
