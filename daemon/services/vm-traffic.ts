// VM network traffic per billing period, from Proxmox's RRD data. netin/netout in rrddata are
// average bytes per second over each sample's step, so the traffic of a stretch of time is
// Σ value × seconds. Each service keeps the time up to which its samples are counted (the cursor);
// a collection adds only what lies after it, and moves it with a conditional update in the same
// transaction as the bytes: a rerun, or a second daemon collecting at the same moment, adds nothing twice.
//
// Conventions (documented in docs/proxmox.md, "Traffic and e-mails"):
//  - a sample at `time` covers [time, time + step); the newest sample of an answer may still be
//    filling, so it is never counted (the next collection counts it);
//  - a sample without netin/netout (Proxmox omits the keys of empty samples) is no traffic;
//  - the billing period is the calendar month in UTC (WHMCS's TYPE_PERIOD_MONTH metrics are
//    monthly figures); a stretch is booked to the month it starts in (steps divide a day, so no
//    sample straddles two months);
//  - the first collection of a VM starts at its VM row's creation (traffic of an earlier VM that had
//    the same VMID is not this service's) or at the start of the month, whichever is later;
//  - the timeframe is the finest one whose samples reach back to the cursor: hour, then day, week,
//    month, year when the collector was behind (the steps differ between PVE versions, so the answer
//    decides, not a table).
import type { Knex } from 'knex';
import { isUniqueViolation } from '../db/connect.ts';
import { errorMessage } from '../common/errors.ts';
import type { ProxmoxClient } from '../drivers/proxmox/index.ts';
import { proxmoxClient } from '../fleet/proxmox-access.ts';
import { T } from '../common/tables.ts';

export interface RrdSample {
  time: number;
  netin?: number;
  netout?: number;
}

export const TIMEFRAMES = ['hour', 'day', 'week', 'month', 'year'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];

/** "2026-12": the calendar month (UTC) a Unix time falls in. */
export function periodOf(unixS: number): string {
  return new Date(unixS * 1000).toISOString().slice(0, 7);
}

/** The first second of the calendar month (UTC) of a Unix time. */
export function periodStart(unixS: number): number {
  const d = new Date(unixS * 1000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000;
}

export interface TrafficCount {
  /** Bytes per period added by these samples. */
  periods: Map<string, { bytesIn: number; bytesOut: number }>;
  /** Up to where the samples are now counted (Unix s); equal to `from` when nothing was complete. */
  countedUntil: number;
}

/** The step of an rrddata answer: the gap between its samples (they are evenly spaced). */
export function stepOf(samples: RrdSample[]): number | null {
  for (let i = 1; i < samples.length; i++) {
    const d = samples[i]!.time - samples[i - 1]!.time;
    if (d > 0) return d;
  }
  return null;
}

/**
 * The traffic of the complete samples after `from` (Unix s): each sample counts for the part of its
 * step after `from`; the newest sample is left for the next collection.
 */
export function countTraffic(samples: RrdSample[], from: number): TrafficCount {
  const sorted = [...samples].sort((a, b) => a.time - b.time);
  const step = stepOf(sorted);
  const periods = new Map<string, { bytesIn: number; bytesOut: number }>();
  let countedUntil = from;
  if (step === null) return { periods, countedUntil };
  for (const s of sorted.slice(0, -1)) {
    const end = s.time + step;
    if (end <= countedUntil) continue;
    const start = Math.max(s.time, countedUntil);
    const seconds = end - start;
    const inB = finite(s.netin) * seconds;
    const outB = finite(s.netout) * seconds;
    if (inB > 0 || outB > 0) {
      const key = periodOf(start);
      const p = periods.get(key) ?? { bytesIn: 0, bytesOut: 0 };
      p.bytesIn += inB;
      p.bytesOut += outB;
      periods.set(key, p);
    }
    countedUntil = end;
  }
  return { periods, countedUntil };
}

function finite(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

/** The VM's RRD samples, from the finest timeframe that reaches back to `from`. */
export async function readSamples(client: ProxmoxClient, node: string, vmid: number, from: number): Promise<{ samples: RrdSample[]; timeframe: Timeframe }> {
  let last: { samples: RrdSample[]; timeframe: Timeframe } | null = null;
  for (const timeframe of TIMEFRAMES) {
    const raw = await client.request<unknown>('GET', `/nodes/${encodeURIComponent(node)}/qemu/${vmid}/rrddata`, { timeframe, cf: 'AVERAGE' });
    const samples = (Array.isArray(raw) ? raw : []).filter((s): s is RrdSample => typeof s === 'object' && s !== null && Number.isFinite(Number((s as RrdSample).time)))
      .map((s) => ({ time: Number(s.time), ...(s.netin !== undefined ? { netin: Number(s.netin) } : {}), ...(s.netout !== undefined ? { netout: Number(s.netout) } : {}) }));
    last = { samples, timeframe };
    if (samples.length > 0 && Math.min(...samples.map((s) => s.time)) <= from) break;
  }
  return last!;
}

export interface VmToCollect {
  serviceId: number;
  whmcsServiceId: number;
  clusterId: number;
  vmid: number;
  node: string;
  createdAtMs: number;
}

/** KVM services with a VM on a node: read where the VM row says it is now (after a move, its new node). */
export async function vmsToCollect(db: Knex): Promise<VmToCollect[]> {
  const rows = await db(`${T.vms} as v`).join(`${T.services} as s`, 's.id', 'v.service_id')
    .where('s.mode', 'kvm').whereNotIn('s.state', ['terminated']).whereNotNull('v.vmid').whereNotNull('v.node')
    .select('v.service_id', 's.whmcs_service_id', 'v.cluster_id', 'v.vmid', 'v.node', 'v.created_at').orderBy('v.service_id');
  return rows.map((r: Record<string, any>) => ({
    serviceId: Number(r.service_id), whmcsServiceId: Number(r.whmcs_service_id), clusterId: Number(r.cluster_id), vmid: Number(r.vmid), node: String(r.node), createdAtMs: Number(r.created_at),
  }));
}

/**
 * Adds what the samples after the cursor hold, if the cursor is still where it was read (`from`,
 * null for none yet). False when another collection moved it first: this one adds nothing.
 */
export async function addTraffic(db: Knex, serviceId: number, from: number | null, count: TrafficCount, nowMs: number): Promise<boolean> {
  try {
    return await db.transaction(async (trx) => {
      if (from === null) {
        await trx(T.vmTrafficCursor).insert({ service_id: serviceId, counted_until: count.countedUntil, updated_at: nowMs });
      } else {
        const moved = await trx(T.vmTrafficCursor).where({ service_id: serviceId, counted_until: from })
          .update({ counted_until: count.countedUntil, updated_at: nowMs });
        if (Number(moved) !== 1) return false;
      }
      // The cursor row is held from here to the commit, so this service's totals have one writer.
      for (const [period, p] of count.periods) {
        const had = await trx(T.vmTraffic).where({ service_id: serviceId, period }).first('id');
        if (had) {
          await trx(T.vmTraffic).where('id', had.id).update({
            bytes_in: trx.raw('bytes_in + ?', [p.bytesIn]), bytes_out: trx.raw('bytes_out + ?', [p.bytesOut]), updated_at: nowMs,
          });
        } else {
          await trx(T.vmTraffic).insert({ service_id: serviceId, period, bytes_in: p.bytesIn, bytes_out: p.bytesOut, updated_at: nowMs });
        }
      }
      return true;
    });
  } catch (err) {
    if (from === null && isUniqueViolation(err)) return false; // another collection made the cursor first
    throw err;
  }
}

export interface CollectResult {
  vms: number;
  updated: number;
  /** Skipped because another collection counted the same samples first. */
  raced: number;
  failed: number;
}

/** One collection over every KVM service with a VM: one rrddata read per VM (more only when behind). */
export async function collectTraffic(db: Knex, masterKey: Buffer, log: (line: string) => void): Promise<CollectResult> {
  const vms = await vmsToCollect(db);
  const result: CollectResult = { vms: vms.length, updated: 0, raced: 0, failed: 0 };
  const byCluster = new Map<number, VmToCollect[]>();
  for (const v of vms) byCluster.set(v.clusterId, [...(byCluster.get(v.clusterId) ?? []), v]);
  for (const [clusterId, list] of byCluster) {
    let client: ProxmoxClient;
    try {
      client = (await proxmoxClient(db, masterKey, clusterId)).client;
    } catch (err) {
      result.failed += list.length;
      log(`cluster ${clusterId}: ${errorMessage(err)}; its ${list.length} VM(s) are collected next time`);
      continue;
    }
    try {
      for (const v of list) {
        try {
          const cursor = await db(T.vmTrafficCursor).where('service_id', v.serviceId).first('counted_until');
          const from = cursor ? Number(cursor.counted_until) : null;
          const nowS = Math.floor(Date.now() / 1000);
          const start = from ?? Math.max(periodStart(nowS), Math.floor(v.createdAtMs / 1000));
          const { samples, timeframe } = await readSamples(client, v.node, v.vmid, start);
          const count = countTraffic(samples, start);
          if (count.countedUntil <= start && from !== null) continue; // nothing complete since the last collection
          if (await addTraffic(db, v.serviceId, from, count, Date.now())) {
            result.updated++;
            const bytes = [...count.periods.values()].reduce((n, p) => n + p.bytesIn + p.bytesOut, 0);
            log(`service ${v.whmcsServiceId} (VM ${v.vmid} on ${v.node}): ${Math.round(bytes)} bytes added from the ${timeframe} RRD`);
          } else {
            result.raced++;
          }
        } catch (err) {
          result.failed++;
          log(`service ${v.whmcsServiceId} (VM ${v.vmid} on ${v.node}): ${errorMessage(err)}; collected next time`);
        }
      }
    } finally {
      client.close();
    }
  }
  return result;
}

export interface VmTraffic {
  period: string;
  bytesIn: number;
  bytesOut: number;
  /** When the last collection counted samples for the service (ms), null when none yet. */
  collectedAt: number | null;
}

/** The traffic of services in one period (the current month by default), by service row id. */
export async function trafficOf(db: Knex, serviceIds: number[], period = periodOf(Math.floor(Date.now() / 1000))): Promise<Map<number, VmTraffic>> {
  const out = new Map<number, VmTraffic>();
  if (serviceIds.length === 0) return out;
  const [rows, cursors] = await Promise.all([
    db(T.vmTraffic).whereIn('service_id', serviceIds).where('period', period).select('service_id', 'bytes_in', 'bytes_out'),
    db(T.vmTrafficCursor).whereIn('service_id', serviceIds).select('service_id', 'updated_at'),
  ]);
  const at = new Map<number, number>(cursors.map((c: Record<string, any>) => [Number(c.service_id), Number(c.updated_at)]));
  const got = new Map<number, Record<string, any>>(rows.map((r: Record<string, any>) => [Number(r.service_id), r]));
  for (const id of serviceIds) {
    const r = got.get(id);
    out.set(id, { period, bytesIn: r ? Number(r.bytes_in) : 0, bytesOut: r ? Number(r.bytes_out) : 0, collectedAt: at.get(id) ?? null });
  }
  return out;
}
