// IP pools: the networks Proxmox VMs get their addresses from, and the addresses handed out of them.
// An address has a row only while it is allocated to a service, reserved by an admin or being
// released; a range is never written out (an IPv6 /64 could not be). Allocation takes the lowest
// address of a pool's ranges that has no row, found by walking the pool's rows in key order, and
// inserts it inside a transaction: the unique key on the address is what keeps two daemons from
// handing out one address (the loser of a race sees a unique violation and takes the next one).
import type { Knex } from 'knex';
import { inTx, isUniqueViolation, nowMs } from '../db/connect.ts';
import { InputError, RetryableError, TerminalError } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import {
  cidrField, cidrsOverlap, countText, defaultRanges, formatCidr, formatIp, formatRange, gapIn, inCidr, inRanges, ipField, ipKey,
  rangeField, rangesSize, sortedRanges, without, type Cidr, type Family, type Range,
} from '../pipelines/ip-ranges.ts';

type Db = Knex | Knex.Transaction;
type Row = Record<string, any>;

export interface PoolSelector { clusterId: number; node: string | null; bridge: string; vlan: number | null }
export interface AllocatedAddress { ip: string; family: 4 | 6; prefix: number; gateway: string | null; resolvers: string[]; poolId: number; poolName: string }

/** A pool as the API, the CLI and the admin form give it (the body of POST/PUT /v1/ip-pools). */
export interface PoolInput {
  name: string;
  cluster_id: number;
  /** A node of the cluster, or null/absent for any node. */
  node?: string | null;
  bridge: string;
  vlan?: number | null;
  /** Checked against the network when given. */
  family?: 4 | 6;
  network: string;
  /** `first-last` or single addresses inside the network; absent: the whole network (see defaultRanges). */
  ranges?: string[];
  gateway?: string | null;
  /** The prefix length the VM is configured with; absent: the network's. */
  prefix?: number;
  resolvers?: string[];
  enabled?: boolean;
}

export interface PoolView {
  id: number;
  name: string;
  cluster_id: number;
  node: string | null;
  bridge: string;
  vlan: number | null;
  family: 4 | 6;
  network: string;
  ranges: string[];
  gateway: string | null;
  prefix: number;
  resolvers: string[];
  enabled: boolean;
  created_at: number;
  /** Addresses with a row: allocated, reserved or being released. */
  used: number;
  /** Decimal strings: an IPv6 range holds more than JSON's exact integers. */
  size: string;
  free: string;
}

export interface PoolAddress {
  ip: string;
  status: 'allocated' | 'reserved' | 'releasing';
  /** hostbridge's service row id, and WHMCS's id of that service (what the pages link to). */
  service_id: number | null;
  whmcs_service_id: number | null;
  note: string | null;
  allocated_at: number;
}

/** The step fails for good (and a ticket is opened): no matching pool has enough free addresses. */
export class PoolExhaustedError extends TerminalError {
  constructor(
    message: string,
    readonly family: 4 | 6,
    readonly wanted: number,
    readonly free: bigint,
    readonly pools: string[],
  ) {
    super(message);
    this.name = 'PoolExhaustedError';
  }
}

/** A Linux interface name (IFNAMSIZ: at most 15 characters): vmbr0, vmbr1001, or an SDN vnet such as vnet7. */
export const BRIDGE_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,14}$/;
/** A Proxmox node name: one DNS label. */
export const NODE_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

interface Pool {
  id: number;
  name: string;
  clusterId: number;
  node: string | null;
  bridge: string;
  vlan: number | null;
  family: Family;
  net: Cidr;
  ranges: Range[];
  gateway: string | null;
  prefix: number;
  resolvers: string[];
  enabled: boolean;
  createdAt: number;
}

function poolOf(r: Row): Pool {
  const net = cidrField('network', String(r.network));
  const ranges = (JSON.parse(String(r.ranges)) as [string, string][]).map(([a, b]) => ({
    first: ipField('ranges', a, net.family).value, last: ipField('ranges', b, net.family).value,
  }));
  return {
    id: Number(r.id), name: r.name, clusterId: Number(r.cluster_id), node: r.node ?? null, bridge: r.bridge,
    vlan: r.vlan === null || r.vlan === undefined ? null : Number(r.vlan), family: net.family, net, ranges,
    gateway: r.gateway ?? null, prefix: Number(r.prefix), resolvers: String(r.resolvers ?? '').split(',').filter(Boolean),
    enabled: !!r.enabled, createdAt: Number(r.created_at),
  };
}

// --- validation: a pool's row from its input, every problem an InputError naming the field ---

function poolRow(input: PoolInput): { row: Row; net: Cidr; ranges: Range[] } {
  const name = String(input.name ?? '').trim();
  if (name === '' || name.length > 191) throw new InputError('name', 'must be 1 to 191 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new InputError('name', 'must not contain control characters or line breaks');
  if (!Number.isInteger(input.cluster_id) || input.cluster_id < 1) throw new InputError('cluster_id', 'must be the id of a Proxmox cluster, a positive whole number');
  const node = input.node === undefined || input.node === null || input.node === '' ? null : String(input.node);
  if (node !== null && !NODE_PATTERN.test(node)) throw new InputError('node', `"${node.slice(0, 70)}" is not a Proxmox node name (letters, digits and inner "-", at most 63)`);
  const bridge = String(input.bridge ?? '');
  if (!BRIDGE_PATTERN.test(bridge)) throw new InputError('bridge', `"${bridge.slice(0, 40)}" is not a bridge name: a letter, then letters, digits, "_", "." or "-", at most 15 characters (e.g. vmbr0)`);
  const vlan = input.vlan === undefined || input.vlan === null ? null : input.vlan;
  if (vlan !== null && (!Number.isInteger(vlan) || vlan < 1 || vlan > 4094)) throw new InputError('vlan', 'must be a VLAN tag from 1 to 4094, or empty for an untagged bridge');

  const net = cidrField('network', String(input.network ?? ''));
  if (input.family !== undefined && input.family !== net.family) throw new InputError('family', `is ${input.family}, but ${formatCidr(net)} is an IPv${net.family} network`);
  const minBits = net.family === 4 ? 8 : 16;
  if (net.bits < minBits) throw new InputError('network', `/${net.bits} is larger than a pool may be (at most an IPv${net.family} /${minBits})`);

  let gateway: bigint | null = null;
  if (input.gateway !== undefined && input.gateway !== null && input.gateway !== '') {
    const gw = ipField('gateway', String(input.gateway), net.family);
    if (!inCidr(net, gw)) throw new InputError('gateway', `${formatIp(gw)} is not inside the network ${formatCidr(net)}`);
    if (net.family === 4 && net.bits <= 30 && (gw.value === net.base || gw.value === net.base + (1n << BigInt(32 - net.bits)) - 1n)) {
      throw new InputError('gateway', `${formatIp(gw)} is the network or broadcast address of ${formatCidr(net)}`);
    }
    gateway = gw.value;
  }

  const prefix = input.prefix ?? net.bits;
  if (!Number.isInteger(prefix) || prefix < minBits || prefix > (net.family === 4 ? 32 : 128)) {
    throw new InputError('prefix', `must be a prefix length from ${minBits} to ${net.family === 4 ? 32 : 128} for IPv${net.family}`);
  }
  if (prefix > net.bits) throw new InputError('prefix', `/${prefix} is narrower than the network ${formatCidr(net)}: the VM's subnet must hold the pool's network (give /${net.bits} or shorter)`);

  let ranges: Range[];
  if (input.ranges && input.ranges.length) {
    if (input.ranges.length > 64) throw new InputError('ranges', 'may list at most 64 ranges');
    const given = input.ranges.map((text, i) => rangeField(`ranges.${i}`, String(text), net));
    ranges = sortedRanges('ranges', net.family, given);
    if (gateway !== null) ranges = without(ranges, gateway);
  } else {
    ranges = defaultRanges(net, gateway);
  }
  if (rangesSize(ranges) === 0n) throw new InputError('ranges', 'leave no address to hand out (the gateway was the only one)');

  const resolvers = (input.resolvers ?? []).map((r, i) => formatIp(ipField(`resolvers.${i}`, String(r))));
  if (resolvers.length > 8) throw new InputError('resolvers', 'may list at most 8 resolvers');
  const dup = resolvers.find((r, i) => resolvers.indexOf(r) !== i);
  if (dup) throw new InputError('resolvers', `lists ${dup} twice`);

  const fam = net.family;
  return {
    net, ranges,
    row: {
      name, cluster_id: input.cluster_id, node, bridge, vlan, family: fam, network: formatCidr(net),
      ranges: JSON.stringify(ranges.map((r) => [formatIp({ family: fam, value: r.first }), formatIp({ family: fam, value: r.last })])),
      gateway: gateway === null ? null : formatIp({ family: fam, value: gateway }), prefix, resolvers: resolvers.join(','),
      enabled: input.enabled ?? true,
    },
  };
}

/** One address in one pool: a network may not overlap another pool's, whatever its cluster, bridge or VLAN. */
async function checkOverlap(trx: Db, net: Cidr, selfId?: number): Promise<void> {
  const q = trx(T.ipPools).where('family', net.family).select('id', 'name', 'network');
  if (selfId !== undefined) q.whereNot('id', selfId);
  for (const other of await q) {
    if (cidrsOverlap(net, cidrField('network', String(other.network)))) {
      throw new InputError('network', `${formatCidr(net)} overlaps pool "${other.name}" (${other.network}); an address can belong to one pool only`, 409);
    }
  }
}

async function checkName(trx: Db, name: string, selfId?: number): Promise<void> {
  const q = trx(T.ipPools).where('name', name);
  if (selfId !== undefined) q.whereNot('id', selfId);
  if (await q.first('id')) throw new InputError('name', `an IP pool named "${name}" already exists`, 409);
}

export async function addPool(db: Knex, input: PoolInput): Promise<number> {
  const { row, net } = poolRow(input);
  return inTx(db, async (trx) => {
    await checkName(trx, row.name);
    await checkOverlap(trx, net);
    const [id] = await trx(T.ipPools).insert({ ...row, created_at: nowMs(trx), updated_at: nowMs(trx) });
    return Number(id);
  }).catch((err) => {
    if (isUniqueViolation(err)) throw new InputError('name', `an IP pool named "${row.name}" already exists`, 409);
    throw err;
  });
}

/** Replaces a pool's settings. Every address it holds must stay inside its new ranges (the family cannot change under them). */
export async function updatePool(db: Knex, poolId: number, input: PoolInput): Promise<void> {
  const { row, net, ranges } = poolRow(input);
  await inTx(db, async (trx) => {
    if (!(await trx(T.ipPools).where('id', poolId).first('id'))) throw new InputError('', `IP pool ${poolId} does not exist`, 404);
    await checkName(trx, row.name, poolId);
    await checkOverlap(trx, net, poolId);
    const held = await trx(T.ipAddresses).where('pool_id', poolId).select('ip', 'ip_key', 'family', 'status');
    const outside = held.find((h: Row) => Number(h.family) !== net.family || !inRanges(ranges, BigInt('0x' + h.ip_key)));
    if (outside) {
      throw new InputError('ranges', `${outside.ip} (${outside.status}) would fall outside the pool's new ranges; release or unreserve it first`, 409);
    }
    await trx(T.ipPools).where('id', poolId).update({ ...row, updated_at: nowMs(trx) });
  });
}

/** Removes a pool with its reservations; refused while a service holds one of its addresses. */
export async function removePool(db: Knex, poolId: number): Promise<void> {
  await inTx(db, async (trx) => {
    if (!(await trx(T.ipPools).where('id', poolId).first('id'))) throw new InputError('', `IP pool ${poolId} does not exist`, 404);
    const held = await trx(T.ipAddresses).where('pool_id', poolId).whereNot('status', 'reserved').count({ n: '*' }).first();
    if (Number(held?.n ?? 0) > 0) {
      throw new InputError('', `IP pool ${poolId} still has ${held!.n} address(es) held by services; they are released when their VMs are gone`, 409);
    }
    await trx(T.ipAddresses).where('pool_id', poolId).del();
    await trx(T.ipPools).where('id', poolId).del();
  });
}

function view(p: Pool, used: number): PoolView {
  const size = rangesSize(p.ranges);
  const free = size - BigInt(used);
  return {
    id: p.id, name: p.name, cluster_id: p.clusterId, node: p.node, bridge: p.bridge, vlan: p.vlan, family: p.family,
    network: formatCidr(p.net), ranges: p.ranges.map((r) => formatRange(p.family, r)), gateway: p.gateway, prefix: p.prefix,
    resolvers: p.resolvers, enabled: p.enabled, created_at: p.createdAt, used, size: String(size), free: String(free < 0n ? 0n : free),
  };
}

async function usedCounts(db: Db, poolIds?: number[]): Promise<Map<number, number>> {
  const q = db(T.ipAddresses).select('pool_id').count({ n: '*' }).groupBy('pool_id');
  if (poolIds) q.whereIn('pool_id', poolIds);
  return new Map((await q).map((r: Row) => [Number(r.pool_id), Number(r.n)]));
}

export async function listPools(db: Knex): Promise<PoolView[]> {
  const [rows, used] = await Promise.all([db(T.ipPools).orderBy(['cluster_id', 'bridge', 'family', 'name']), usedCounts(db)]);
  return rows.map((r: Row) => view(poolOf(r), used.get(Number(r.id)) ?? 0));
}

export async function getPool(db: Knex, poolId: number): Promise<PoolView | null> {
  const r = await db(T.ipPools).where('id', poolId).first();
  if (!r) return null;
  return view(poolOf(r), (await usedCounts(db, [poolId])).get(poolId) ?? 0);
}

/** Who holds each address of a pool, in address order. */
export async function poolAddresses(db: Knex, poolId: number): Promise<PoolAddress[]> {
  if (!(await db(T.ipPools).where('id', poolId).first('id'))) throw new InputError('', `IP pool ${poolId} does not exist`, 404);
  const rows = await db(`${T.ipAddresses} as a`).leftJoin(`${T.services} as s`, 's.id', 'a.service_id').where('a.pool_id', poolId)
    .orderBy('a.ip_key').select('a.ip', 'a.status', 'a.service_id', 's.whmcs_service_id', 'a.note', 'a.allocated_at');
  return rows.map((r: Row) => ({
    ip: r.ip, status: r.status, service_id: r.service_id === null ? null : Number(r.service_id),
    whmcs_service_id: r.whmcs_service_id === null || r.whmcs_service_id === undefined ? null : Number(r.whmcs_service_id),
    note: r.note ?? null, allocated_at: Number(r.allocated_at),
  }));
}

async function loadPool(db: Db, poolId: number): Promise<Pool> {
  const r = await db(T.ipPools).where('id', poolId).first();
  if (!r) throw new InputError('', `IP pool ${poolId} does not exist`, 404);
  return poolOf(r);
}

function holderText(r: Row): string {
  if (r.status === 'reserved') return `reserved${r.note ? ` (${r.note})` : ''}`;
  return `${r.status === 'releasing' ? 'being released by' : 'held by'} service ${r.whmcs_service_id ?? `#${r.service_id}`}`;
}

/** Keeps an address of the pool's ranges from being handed out; reserving a reserved address again replaces its note. Returns the canonical address. */
export async function reserveAddress(db: Knex, poolId: number, ip: string, note?: string | null): Promise<string> {
  const cleanNote = note === undefined || note === null || String(note).trim() === '' ? null : String(note).trim().slice(0, 255);
  return inTx(db, async (trx) => {
    const pool = await loadPool(trx, poolId);
    const a = ipField('ip', ip, pool.family);
    const text = formatIp(a);
    if (!inRanges(pool.ranges, a.value)) {
      throw new InputError('ip', `${text} is not in the ranges of pool "${pool.name}" (${pool.ranges.map((r) => formatRange(pool.family, r)).join(', ')}); it is never handed out anyway`);
    }
    const existing = await trx(`${T.ipAddresses} as a`).leftJoin(`${T.services} as s`, 's.id', 'a.service_id').where('a.ip', text)
      .first('a.id', 'a.pool_id', 'a.status', 'a.service_id', 's.whmcs_service_id', 'a.note');
    if (existing) {
      if (existing.status !== 'reserved') throw new InputError('ip', `${text} is ${holderText(existing)}`, 409);
      await trx(T.ipAddresses).where('id', existing.id).update({ note: cleanNote });
      return text;
    }
    await trx(T.ipAddresses).insert({
      pool_id: pool.id, ip: text, ip_key: ipKey(a), family: a.family, status: 'reserved', service_id: null, note: cleanNote, allocated_at: nowMs(trx),
    });
    return text;
  }).catch((err) => {
    // A daemon allocated it between our read and our insert.
    if (isUniqueViolation(err)) throw new InputError('ip', `${ip} was just handed out; look again`, 409);
    throw err;
  });
}

/** Frees a reservation; an address a service holds is refused (it is freed when the VM is gone). */
export async function unreserveAddress(db: Knex, poolId: number, ip: string): Promise<void> {
  const pool = await loadPool(db, poolId);
  const text = formatIp(ipField('ip', ip, pool.family));
  const row = await db(`${T.ipAddresses} as a`).leftJoin(`${T.services} as s`, 's.id', 'a.service_id').where({ 'a.ip': text, 'a.pool_id': poolId })
    .first('a.id', 'a.status', 'a.service_id', 's.whmcs_service_id', 'a.note');
  if (!row) throw new InputError('ip', `${text} is not reserved in pool "${pool.name}"`, 404);
  if (row.status !== 'reserved') throw new InputError('ip', `${text} is ${holderText(row)}, not reserved; it is released when that VM is gone`, 409);
  await db(T.ipAddresses).where({ id: row.id, status: 'reserved' }).del();
}

// --- allocation: what the deploy and change-package steps call ---

const BATCH = 500;
/** Unique violations one allocation tolerates (others taking the addresses it picked) before it gives up for now. */
const MAX_CLASHES = 1000;

/** The lowest address of the pool's ranges at or above `from` without a row, or null. */
async function nextFree(db: Db, pool: Pool, from: bigint): Promise<bigint | null> {
  const key = (v: bigint) => ipKey({ family: pool.family, value: v });
  for (const r of pool.ranges) {
    if (r.last < from) continue;
    let cursor = r.first > from ? r.first : from;
    for (;;) {
      const keys: string[] = await db(T.ipAddresses).where('pool_id', pool.id).where('ip_key', '>=', key(cursor)).where('ip_key', '<=', key(r.last))
        .orderBy('ip_key').limit(BATCH).pluck('ip_key');
      const g = gapIn(cursor, r.last, keys.map((k) => BigInt('0x' + k)), keys.length < BATCH);
      if (!g) break;
      if ('free' in g) return g.free;
      cursor = g.next;
    }
  }
  return null;
}

/** Inserts the pool's lowest free address for the service; null when the pool has none left. */
async function takeOne(trx: Knex.Transaction, pool: Pool, serviceId: number): Promise<string | null> {
  let from = 0n;
  for (let clashes = 0; ; clashes++) {
    const v = await nextFree(trx, pool, from);
    if (v === null) return null;
    const a = { family: pool.family, value: v };
    try {
      await trx(T.ipAddresses).insert({
        pool_id: pool.id, ip: formatIp(a), ip_key: ipKey(a), family: pool.family, status: 'allocated', service_id: serviceId, note: null,
        allocated_at: nowMs(trx),
      });
      return formatIp(a);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Another daemon took it after our read: the next one.
      if (clashes >= MAX_CLASHES) throw new RetryableError(`IP pool "${pool.name}": ${MAX_CLASHES} addresses were taken by others while this allocation looked; try again`);
      from = v + 1n;
    }
  }
}

async function matchingPools(db: Db, sel: PoolSelector): Promise<Pool[]> {
  const q = db(T.ipPools).where({ cluster_id: sel.clusterId, bridge: sel.bridge }).where('enabled', 1)
    .where((w) => { w.whereNull('node'); if (sel.node !== null) w.orWhere('node', sel.node); })
    .orderByRaw('CASE WHEN node IS NULL THEN 1 ELSE 0 END, id');
  if (sel.vlan === null) q.whereNull('vlan');
  else q.where('vlan', sel.vlan);
  return (await q).map(poolOf);
}

function allocated(p: Pool, ip: string): AllocatedAddress {
  return { ip, family: p.family, prefix: p.prefix, gateway: p.gateway, resolvers: p.resolvers, poolId: p.id, poolName: p.name };
}

function where(sel: PoolSelector): string {
  return `cluster ${sel.clusterId}, bridge ${sel.bridge}, VLAN ${sel.vlan ?? 'none (untagged)'}${sel.node ? `, node ${sel.node}` : ''}`;
}

/** The error for a family that ran short; `takenNow` counts what this call inserted per pool (rolled back with it, so still free). */
async function exhausted(trx: Db, sel: PoolSelector, family: Family, pools: Pool[], wanted: number, got: number, takenNow: Map<number, number>): Promise<PoolExhaustedError> {
  if (pools.length === 0) {
    return new PoolExhaustedError(
      `No enabled IPv${family} pool matches ${where(sel)}: ${wanted} IPv${family} address(es) wanted, 0 free. Add one (hostbridge ip-pool add, or Admin › IP pools) or enable one.`,
      family, wanted, 0n, []);
  }
  const used = await usedCounts(trx, pools.map((p) => p.id));
  const parts = pools.map((p) => {
    const free = rangesSize(p.ranges) - BigInt((used.get(p.id) ?? 0) - (takenNow.get(p.id) ?? 0));
    return { name: p.name, free: free < 0n ? 0n : free };
  });
  const free = parts.reduce((n, p) => n + p.free, 0n);
  return new PoolExhaustedError(
    `IP pool exhausted: ${wanted} IPv${family} address(es) wanted on ${where(sel)} (${got} already held), but ${parts.map((p) => `pool "${p.name}" has ${countText(p.free)} free`).join(', ')}. Add a range or free addresses, then retry the step.`,
    family, wanted, free, parts.map((p) => p.name));
}

function isDeadlock(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

/** inTx retries a deadlock five times at once; under a burst of allocations a short random pause between further rounds lets them drain. */
async function withDeadlockRetry<R>(db: Knex, fn: (trx: Knex.Transaction) => Promise<R>): Promise<R> {
  for (let round = 1; ; round++) {
    try {
      return await inTx(db, fn);
    } catch (err) {
      if (!isDeadlock(err) || round >= 4) throw err;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * round));
    }
  }
}

/**
 * Idempotent per service: addresses the service already holds in matching pools are returned first;
 * only the shortfall is allocated; extras beyond the wanted counts are left alone (change package
 * decides what to release). Pools matching the selector: same cluster, same bridge, same vlan, node
 * equal or null; enabled; ordered node-specific first. All or nothing: when a family runs short,
 * nothing of this call is kept and a PoolExhaustedError (terminal) names the pools.
 */
export async function allocateAddresses(db: Knex, serviceId: number, sel: PoolSelector, want: { v4: number; v6: number }): Promise<AllocatedAddress[]> {
  for (const [k, n] of Object.entries(want)) {
    if (!Number.isInteger(n) || n < 0 || n > 256) throw new InputError(`want.${k}`, 'must be a whole number from 0 to 256');
  }
  return withDeadlockRetry(db, async (trx) => {
    const pools = await matchingPools(trx, sel);
    const held: Row[] = pools.length
      ? await trx(T.ipAddresses).where({ service_id: serviceId, status: 'allocated' }).whereIn('pool_id', pools.map((p) => p.id)).orderBy('ip_key').select('pool_id', 'ip')
      : [];
    const out: AllocatedAddress[] = [];
    for (const family of [4, 6] as const) {
      const wanted = family === 4 ? want.v4 : want.v6;
      if (wanted === 0) continue;
      const famPools = pools.filter((p) => p.family === family);
      const got = famPools.flatMap((p) => held.filter((h) => Number(h.pool_id) === p.id).map((h) => allocated(p, h.ip))).slice(0, wanted);
      const had = got.length;
      const takenNow = new Map<number, number>();
      for (const p of famPools) {
        while (got.length < wanted) {
          const ip = await takeOne(trx, p, serviceId);
          if (ip === null) break;
          got.push(allocated(p, ip));
          takenNow.set(p.id, (takenNow.get(p.id) ?? 0) + 1);
        }
      }
      if (got.length < wanted) throw await exhausted(trx, sel, family, famPools, wanted, had, takenNow);
      out.push(...got);
    }
    return out;
  });
}

/** Every address the service holds (allocated or being released), IPv4 first, in pool and address order. */
export async function serviceAddresses(db: Knex, serviceId: number): Promise<AllocatedAddress[]> {
  const rows = await db(`${T.ipAddresses} as a`).join(`${T.ipPools} as p`, 'p.id', 'a.pool_id').where('a.service_id', serviceId)
    .whereIn('a.status', ['allocated', 'releasing']).orderBy([{ column: 'a.family' }, { column: 'a.pool_id' }, { column: 'a.ip_key' }])
    .select('a.ip', 'p.*');
  return rows.map((r: Row) => allocated(poolOf(r), r.ip));
}

function canonicalList(ips: string[]): string[] {
  return ips.map((ip, i) => formatIp(ipField(`ips.${i}`, ip)));
}

/** Marks the service's addresses (or the named ones) as being released: still blocked, shown so. Returns how many. */
export async function markReleasing(db: Knex, serviceId: number, ips?: string[]): Promise<number> {
  const q = db(T.ipAddresses).where({ service_id: serviceId, status: 'allocated' });
  if (ips) q.whereIn('ip', canonicalList(ips));
  return Number(await q.update({ status: 'releasing' }));
}

/** Only after Proxmox confirmed the VM is gone. Returns how many were freed. */
export async function releaseServiceAddresses(db: Knex, serviceId: number, ips?: string[]): Promise<number> {
  const q = db(T.ipAddresses).where('service_id', serviceId).whereIn('status', ['allocated', 'releasing']);
  if (ips) {
    if (ips.length === 0) return 0;
    q.whereIn('ip', canonicalList(ips));
  }
  return Number(await q.del());
}
