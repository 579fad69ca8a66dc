// Bringing (part of) a zone to exactly the wanted records, on any zone host: what is missing is
// added first, then what nobody wants is removed (so a zone never loses its last A or NS on the
// way), then the zone is read back. Built only on the contract, so it holds for every backend.
import { checkRecords, checkZoneName, recordKey, type ListedRecord, type RecordSelector, type ZoneRecord } from './records.ts';
import type { ZoneHost } from './zone-host.ts';

export interface ConvergeOptions {
  /** Which listed records this caller owns and may remove when unwanted (default: every record). */
  owns?: (r: ListedRecord) => boolean;
}

/**
 * Adds the wanted records that are missing and removes the owned records nobody wants. `listed`
 * is the zone as read after the last change when nothing had to be removed (the listing that
 * looked for unwanted records came after the adds): a caller verifies against it instead of
 * listing once more.
 */
export async function convergeRecords(host: ZoneHost, zone: string, wanted: ZoneRecord[], opts: ConvergeOptions = {}): Promise<{ added: number; removed: number; unwanted: ListedRecord[]; listed?: ListedRecord[] }> {
  const norm = checkRecords(checkZoneName(zone), wanted);
  const { added, removed } = await host.ensureRecords(zone, norm);
  const listed = await host.listRecords(zone);
  const unwanted = unwantedOf(listed, norm, opts);
  if (unwanted.length === 0) return { added, removed, unwanted, listed };
  const gone = await host.deleteRecords(zone, selectorsFor(unwanted, norm));
  return { added, removed: removed + gone, unwanted };
}

/** The owned records of the zone that are not wanted. */
export async function unwantedRecords(host: ZoneHost, zone: string, wanted: ZoneRecord[], opts: ConvergeOptions = {}): Promise<ListedRecord[]> {
  return unwantedOf(await host.listRecords(zone), checkRecords(checkZoneName(zone), wanted), opts);
}

function unwantedOf(listed: ListedRecord[], wanted: ZoneRecord[], opts: ConvergeOptions): ListedRecord[] {
  const keep = new Set(wanted.map(recordKey));
  return listed.filter((r) => (opts.owns ?? (() => true))(r) && !keep.has(recordKey(r)));
}

/** The wanted records the zone does not hold (suspended ones count as held). */
export async function missingRecords(host: ZoneHost, zone: string, wanted: ZoneRecord[], listed?: ListedRecord[]): Promise<ZoneRecord[]> {
  const have = new Set((listed ?? await host.listRecords(zone)).map(recordKey));
  return checkRecords(checkZoneName(zone), wanted).filter((w) => !have.has(recordKey(w)));
}

/**
 * Selectors that remove exactly the unwanted records: a whole name and type where nothing of that
 * name and type is wanted (so a value the contract would not take can still be removed), else the
 * exact record.
 */
function selectorsFor(unwanted: ListedRecord[], wanted: ZoneRecord[]): RecordSelector[] {
  const wantedSets = new Set(wanted.map((w) => `${w.name}|${w.type}`));
  const out = new Map<string, RecordSelector>();
  for (const r of unwanted) {
    if (!wantedSets.has(`${r.name}|${r.type}`)) out.set(`${r.name}|${r.type}`, { name: r.name, type: r.type });
    else out.set(recordKey(r), { name: r.name, type: r.type as ZoneRecord['type'], value: r.value, ...(r.priority !== undefined ? { priority: r.priority } : {}) });
  }
  return [...out.values()];
}
