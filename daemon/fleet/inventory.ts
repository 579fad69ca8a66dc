// The fleet: servers with capability flags and sealed credentials, server groups with their
// member nodes, attached DNS servers, vanity parent domains and reserved names. Credentials are
// written encrypted and never read back out through these functions.
import type { Knex } from 'knex';
import { nowMs } from '../db/connect.ts';
import { encryptSecret } from '../crypto/secretbox.ts';
import { globalMasker } from '../log/mask.ts';
import { InputError } from '../common/errors.ts';
import { checkDomain } from '../pipelines/validate.ts';
import type { Driver, FleetServer, GroupFleet } from '../pipelines/placement.ts';
import { T } from '../common/tables.ts';
import { INVENTORY_REUSE_MS, inventoryChanged, Reused, ReusedLoads } from './inventory-reuse.ts';

export interface ServerInput {
  name: string;
  driver: Driver;
  hostname: string;
  ip: string;
  port?: number;
  username?: string;
  password?: string;
  private_key?: string;
  api_key?: string;
  host_key_sha256?: string;
  hestia_bin?: string;
  capabilities?: { web?: boolean; mail?: boolean; dns?: boolean };
  status?: 'active' | 'disabled' | 'maintenance';
  max_accounts?: number;
}

/** What the API and pages show of a server: never its credential. */
export interface ServerHealth {
  ok: boolean;
  version: string | null;
  os: string | null;
  /** Hestia's LOADAVERAGE, e.g. `0.41 / 0.30 / 0.22`. */
  load: string | null;
  /** The 1-minute load against the CPU count, in per cent. */
  load_pct: number | null;
  uptime_min: number | null;
  cpus: number | null;
  cpu_pct: number | null;
  mem_total_mb: number | null;
  mem_used_mb: number | null;
  mem_pct: number | null;
  /** Root filesystem, sizes as df -h prints them. */
  disk_size: string | null;
  disk_used: string | null;
  disk_pct: number | null;
  error: string | null;
  checked_at: number;
}

export interface ServerView {
  id: number;
  name: string;
  driver: Driver;
  hostname: string;
  ip: string;
  port: number;
  username: string | null;
  auth_method: string;
  has_credential: boolean;
  host_key_sha256: string | null;
  capabilities: { web: boolean; mail: boolean; dns: boolean };
  status: string;
  max_accounts: number;
  accounts: number;
  /** Names of the groups the server is a member or a DNS server of. */
  groups: string[];
  /** The last health check, or null before the first one. */
  health: ServerHealth | null;
}

type Row = Record<string, any>;

function sealCredential(input: ServerInput, key: Buffer): { auth_method: string; credential: string | null } {
  if (input.driver === 'powerdns') {
    if (!input.api_key) throw new InputError('api_key', 'a PowerDNS server needs its API key (api-key in pdns.conf)');
    globalMasker.add(input.api_key);
    return { auth_method: 'api-key', credential: encryptSecret(key, input.api_key) };
  }
  if (input.password && input.private_key) throw new InputError('private_key', 'give either a password or a private key, not both');
  if (input.private_key) {
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(input.private_key)) throw new InputError('private_key', 'is not a PEM or OpenSSH private key');
    return { auth_method: 'key', credential: encryptSecret(key, input.private_key) };
  }
  if (input.password) {
    globalMasker.add(input.password);
    return { auth_method: 'password', credential: encryptSecret(key, input.password) };
  }
  throw new InputError('password', 'a HestiaCP server needs an SSH password or a private_key');
}

function serverRow(input: ServerInput): Row {
  const caps = input.capabilities ?? {};
  if (input.driver === 'powerdns' && (caps.web || caps.mail)) throw new InputError('capabilities', 'a PowerDNS server can only have the DNS capability');
  const dns = input.driver === 'powerdns' ? true : !!caps.dns;
  if (!caps.web && !caps.mail && !dns) throw new InputError('capabilities', 'tick at least one of web, mail, dns');
  if (input.driver === 'hestiacp' && !input.username) throw new InputError('username', 'is required for a HestiaCP server (root, or a user with passwordless sudo)');
  return {
    name: input.name.trim(), driver: input.driver, hostname: input.hostname.toLowerCase(), ip: input.ip,
    port: input.port ?? (input.driver === 'powerdns' ? 8081 : 22), username: input.username ?? null,
    host_key_sha256: input.host_key_sha256 ?? null, hestia_bin: input.hestia_bin ?? null,
    cap_web: !!caps.web, cap_mail: !!caps.mail, cap_dns: dns, status: input.status ?? 'active', max_accounts: input.max_accounts ?? 0,
  };
}

export async function addServer(db: Knex, key: Buffer, input: ServerInput): Promise<number> {
  const row: Row = { ...serverRow(input), ...sealCredential(input, key) };
  if (await db(T.servers).where('name', row.name).first('id')) throw new InputError('name', `a server named "${row.name}" already exists`, 409);
  const [id] = await db(T.servers).insert({ ...row, created_at: nowMs(db), updated_at: nowMs(db) });
  inventoryChanged();
  return Number(id);
}

/**
 * Edits a server; a credential left out keeps the stored one ("leave blank to keep"), and so does
 * a host key pin: the daemon may have learned it on first use, and an edit that does not name it
 * must not reopen trust on first use. A new pin replaces it.
 */
export async function updateServer(db: Knex, key: Buffer, serverId: number, input: ServerInput): Promise<void> {
  const existing = await db(T.servers).where('id', serverId).first('id', 'driver');
  if (!existing) throw new InputError('', `server ${serverId} does not exist`, 404);
  const row: Row = serverRow(input);
  if (input.host_key_sha256 === undefined) delete row.host_key_sha256;
  if (input.password || input.private_key || input.api_key) Object.assign(row, sealCredential(input, key));
  const clash = await db(T.servers).where('name', row.name).whereNot('id', serverId).first('id');
  if (clash) throw new InputError('name', `another server is named "${row.name}"`, 409);
  await db(T.servers).where('id', serverId).update({ ...row, updated_at: nowMs(db) });
  inventoryChanged();
}

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const pct = (part: number | null, whole: number | null): number | null =>
  part === null || whole === null || whole <= 0 ? null : Math.round((part / whole) * 1000) / 10;

function healthOf(h: Row | undefined): ServerHealth | null {
  if (!h) return null;
  const cpus = numOrNull(h.cpus);
  const load1 = h.load ? Number(String(h.load).split('/')[0]) : NaN;
  const memTotal = numOrNull(h.mem_total_mb);
  const memUsed = numOrNull(h.mem_used_mb);
  return {
    ok: !!h.ok, version: h.version, os: h.os, load: h.load, load_pct: Number.isFinite(load1) ? pct(load1, cpus) : null,
    uptime_min: numOrNull(h.uptime_min), cpus, cpu_pct: numOrNull(h.cpu_pct),
    mem_total_mb: memTotal, mem_used_mb: memUsed, mem_pct: pct(memUsed, memTotal),
    disk_size: h.disk_size ?? null, disk_used: h.disk_used ?? null, disk_pct: numOrNull(h.disk_pct),
    error: h.error, checked_at: Number(h.checked_at),
  };
}

/** Group names per server, as member or as DNS server. */
async function groupNames(db: Knex, serverIds?: number[]): Promise<Map<number, string[]>> {
  const of = (table: string) => {
    const q = db(`${table} as m`).join(`${T.groups} as g`, 'g.id', 'm.group_id').select('m.server_id', 'g.name');
    return serverIds ? q.whereIn('m.server_id', serverIds) : q;
  };
  const rows = [...await of(T.members), ...await of(T.groupDns)];
  const by = new Map<number, string[]>();
  for (const r of rows as Row[]) {
    const list = by.get(Number(r.server_id)) ?? [];
    if (!list.includes(r.name)) list.push(r.name);
    by.set(Number(r.server_id), list);
  }
  for (const list of by.values()) list.sort();
  return by;
}

function view(r: Row, accounts: number, groups: string[], health?: Row): ServerView {
  return {
    id: Number(r.id), name: r.name, driver: r.driver, hostname: r.hostname, ip: r.ip, port: Number(r.port), username: r.username,
    auth_method: r.auth_method, has_credential: !!r.credential, host_key_sha256: r.host_key_sha256,
    capabilities: { web: !!r.cap_web, mail: !!r.cap_mail, dns: !!r.cap_dns }, status: r.status, max_accounts: Number(r.max_accounts), accounts,
    groups, health: healthOf(health),
  };
}

/** Services holding an account on each server (the load placement balances). */
async function loads(db: Knex | Knex.Transaction, serverIds?: number[]): Promise<Map<number, number>> {
  let q = db(T.holdings).select('server_id').countDistinct({ n: 'service_id' }).groupBy('server_id');
  if (serverIds) q = q.whereIn('server_id', serverIds);
  const rows = await q;
  return new Map(rows.map((r: Row) => [Number(r.server_id), Number(r.n)]));
}

export async function listServers(db: Knex): Promise<ServerView[]> {
  const [rows, load, health, groups] = await Promise.all([db(T.servers).orderBy('id'), loads(db), db(T.serverHealth), groupNames(db)]);
  const healthBy = new Map<number, Row>(health.map((h: Row) => [Number(h.server_id), h]));
  return rows.map((r: Row) => view(r, load.get(Number(r.id)) ?? 0, groups.get(Number(r.id)) ?? [], healthBy.get(Number(r.id))));
}

export async function getServer(db: Knex, serverId: number): Promise<ServerView | null> {
  const r = await db(T.servers).where('id', serverId).first();
  if (!r) return null;
  const health = await db(T.serverHealth).where('server_id', serverId).first();
  const groups = (await groupNames(db, [serverId])).get(serverId) ?? [];
  return view(r, (await loads(db, [serverId])).get(serverId) ?? 0, groups, health);
}

export async function removeServer(db: Knex, serverId: number): Promise<void> {
  const held = (await loads(db, [serverId])).get(serverId) ?? 0;
  if (held > 0) throw new InputError('', `server ${serverId} still holds accounts of ${held} service(s); terminate or move them first`, 409);
  await db.transaction(async (trx) => {
    await trx(T.members).where('server_id', serverId).del();
    await trx(T.groupDns).where('server_id', serverId).del();
    await trx(T.servers).where('id', serverId).del();
  });
  inventoryChanged();
}

export interface GroupInput {
  name: string;
  nameservers?: string[];
  servers?: number[];
  dns_servers?: number[];
  vanity_domains?: Array<{ domain: string; mail_server_id?: number; mail_user?: string; dns_user?: string }>;
  reserved_names?: string[];
}

/** Creates a group, or replaces the named parts of an existing one, in one transaction. */
export async function saveGroup(db: Knex, input: GroupInput, groupId?: number): Promise<number> {
  const vanity = (input.vanity_domains ?? []).map((v, i) => ({ ...v, domain: checkDomain(`vanity_domains.${i}.domain`, v.domain) }));
  const nameservers = (input.nameservers ?? []).map((n) => n.toLowerCase().replace(/\.$/, ''));
  const saved = await db.transaction(async (trx) => {
    const ids = [...(input.servers ?? []), ...(input.dns_servers ?? []), ...vanity.flatMap((v) => (v.mail_server_id ? [v.mail_server_id] : []))];
    const known = new Map<number, Row>((await trx(T.servers).whereIn('id', ids).select('id', 'driver', 'cap_dns')).map((r: Row) => [Number(r.id), r]));
    for (const [field, list] of [['servers', input.servers], ['dns_servers', input.dns_servers]] as const) {
      for (const sid of list ?? []) if (!known.has(sid)) throw new InputError(field, `server ${sid} does not exist`);
    }
    for (const sid of input.dns_servers ?? []) if (!known.get(sid)!.cap_dns) throw new InputError('dns_servers', `server ${sid} does not have the DNS capability`);
    for (const sid of input.servers ?? []) if (known.get(sid)!.driver !== 'hestiacp') throw new InputError('servers', `server ${sid} is a PowerDNS server; attach it as a DNS server`);
    vanity.forEach((v, i) => {
      if (v.mail_server_id && !known.has(v.mail_server_id)) throw new InputError(`vanity_domains.${i}.mail_server_id`, `server ${v.mail_server_id} does not exist`);
    });
    const clash = trx(T.groups).where('name', input.name.trim());
    if (groupId !== undefined) clash.whereNot('id', groupId);
    if (await clash.first('id')) throw new InputError('name', `a server group named "${input.name.trim()}" already exists`, 409);
    let id = groupId;
    if (id === undefined) {
      const [newId] = await trx(T.groups).insert({ name: input.name.trim(), nameservers: nameservers.join(','), created_at: nowMs(trx), updated_at: nowMs(trx) });
      id = Number(newId);
    } else {
      const n = await trx(T.groups).where('id', id).update({ name: input.name.trim(), ...(input.nameservers ? { nameservers: nameservers.join(',') } : {}), updated_at: nowMs(trx) });
      if (n === 0) throw new InputError('', `server group ${id} does not exist`, 404);
    }
    if (input.servers) {
      await trx(T.members).where('group_id', id).del();
      if (input.servers.length) await trx(T.members).insert(input.servers.map((s) => ({ group_id: id, server_id: s })));
    }
    if (input.dns_servers) {
      await trx(T.groupDns).where('group_id', id).del();
      if (input.dns_servers.length) await trx(T.groupDns).insert(input.dns_servers.map((s) => ({ group_id: id, server_id: s })));
    }
    if (input.vanity_domains) {
      await trx(T.vanity).where('group_id', id).del();
      for (const v of vanity) {
        await trx(T.vanity).insert({ group_id: id, domain: v.domain, mail_server_id: v.mail_server_id ?? null, mail_user: v.mail_user ?? null, dns_user: v.dns_user ?? null, created_at: nowMs(trx) });
      }
    }
    if (input.reserved_names) {
      await trx(T.reserved).where('group_id', id).del();
      const names = [...new Set(input.reserved_names)];
      for (let i = 0; i < names.length; i += 500) await trx(T.reserved).insert(names.slice(i, i + 500).map((name) => ({ group_id: id, name })));
    }
    return id;
  });
  inventoryChanged();
  return saved;
}

function fleetServer(r: Row, load: Map<number, number>): FleetServer {
  return {
    id: Number(r.id), name: r.name, driver: r.driver, ip: r.ip, status: r.status, maxAccounts: Number(r.max_accounts),
    caps: { web: !!r.cap_web, mail: !!r.cap_mail, dns: !!r.cap_dns }, load: load.get(Number(r.id)) ?? 0,
  };
}

/** A group's inventory as placement reads it, without the accounts on each server (ReusedLoads). */
interface GroupRows { group: Row; members: Row[]; dns: Row[]; vanity: Row[]; reserved: string[]; extra: Row[] }

/** Per database (its connection settings), as engine/sql/targets.ts keeps its known targets. */
const reusedGroups = new WeakMap<object, Reused<number, GroupRows | null>>();

function groupRowsOf(db: Knex | Knex.Transaction, groupId: number): Promise<GroupRows | null> {
  const key = (db.client as { config: object }).config;
  const reused = reusedGroups.get(key) ?? reusedGroups.set(key, new Reused<number, GroupRows | null>(INVENTORY_REUSE_MS, (g) => g !== null)).get(key)!;
  return reused.get(groupId, () => readGroupRows(db, groupId));
}

/**
 * Every read is keyed by the group's id alone, so on a pool they go out at once (when the rows are
 * not reused, an order waits for one round trip here, not five); a transaction or SQLite's one
 * connection runs them in turn.
 */
async function readGroupRows(db: Knex | Knex.Transaction, groupId: number): Promise<GroupRows | null> {
  const [group, members, dns, vanity, reserved] = await Promise.all([
    db(T.groups).where('id', groupId).first(),
    db(T.servers).join(T.members, `${T.members}.server_id`, `${T.servers}.id`).where(`${T.members}.group_id`, groupId).select(`${T.servers}.*`),
    db(T.servers).join(T.groupDns, `${T.groupDns}.server_id`, `${T.servers}.id`).where(`${T.groupDns}.group_id`, groupId).select(`${T.servers}.*`),
    db(T.vanity).where('group_id', groupId).orderBy('domain'),
    db(T.reserved).where('group_id', groupId).pluck('name'),
  ]);
  if (!group) return null;
  const ids = [...members, ...dns].map((r: Row) => Number(r.id));
  // Vanity mail servers may sit outside the group's members; the planner needs them too.
  const extraIds = vanity.map((v: Row) => Number(v.mail_server_id)).filter((sid: number) => sid && !ids.includes(sid));
  const extra: Row[] = extraIds.length ? await db(T.servers).whereIn('id', extraIds) : [];
  return { group, members, dns, vanity, reserved, extra };
}

/**
 * A group as the planner sees it: its servers, DNS servers, vanity parents and reserved names with
 * the accounts on each server (both reused: fleet/inventory-reuse.ts; the accounts this process
 * places are counted at once, accountsPlaced); null when there is no such group.
 */
export async function loadGroupFleet(db: Knex | Knex.Transaction, groupId: number): Promise<GroupFleet | null> {
  const rows = await groupRowsOf(db, groupId);
  if (!rows) return null;
  const { group, members, dns, vanity, reserved, extra } = rows;
  const load = await loadsOf(db).get(groupId, async () => {
    // Every server of the group counted, none left out as empty: placed() adds to the ones there.
    const ids = [...new Set([...members, ...dns, ...extra].map((r: Row) => Number(r.id)))];
    const counted = ids.length ? await loads(db, ids) : new Map<number, number>();
    return new Map(ids.map((id) => [id, counted.get(id) ?? 0]));
  });
  return {
    id: Number(group.id), name: String(group.name), nameservers: nameserversOf(group),
    members: [...members, ...extra].map((r: Row) => fleetServer(r, load)), dns: dns.map((r: Row) => fleetServer(r, load)),
    vanity: vanity.map((v: Row) => ({ domain: String(v.domain), mailServerId: v.mail_server_id === null ? null : Number(v.mail_server_id), mailUser: v.mail_user as string | null, dnsUser: v.dns_user as string | null })),
    reserved: [...reserved],
  };
}

/** Per database, as the group rows are. */
const reusedLoads = new WeakMap<object, ReusedLoads>();

function loadsOf(db: Knex | Knex.Transaction): ReusedLoads {
  const key = (db.client as { config: object }).config;
  return reusedLoads.get(key) ?? reusedLoads.set(key, new ReusedLoads()).get(key)!;
}

/**
 * A service was placed on these servers in this process (its new accounts): the next orders'
 * placement counts it at once, before the accounts are read again (ReusedLoads).
 */
export function accountsPlaced(db: Knex | Knex.Transaction, serverIds: Iterable<number>): void {
  loadsOf(db).placed(serverIds);
}

/** The group's name servers (reused as loadGroupFleet's rows are); none for a group that is gone. */
export async function groupNameservers(db: Knex | Knex.Transaction, groupId: number): Promise<string[]> {
  const rows = await groupRowsOf(db, groupId);
  return rows ? nameserversOf(rows.group) : [];
}

function nameserversOf(group: Row): string[] {
  return group.nameservers ? String(group.nameservers).split(',').filter(Boolean) : [];
}

export interface GroupView { id: number; name: string; nameservers: string[]; servers: number[]; dns_servers: number[]; vanity_domains: string[]; reserved_names: number }

export async function listGroups(db: Knex): Promise<GroupView[]> {
  const [groups, members, dns, vanity, reserved] = await Promise.all([
    db(T.groups).orderBy('name'), db(T.members), db(T.groupDns), db(T.vanity), db(T.reserved).select('group_id').count({ n: '*' }).groupBy('group_id'),
  ]);
  const by = <T>(rows: Row[], gid: number, f: (r: Row) => T) => rows.filter((r) => Number(r.group_id) === gid).map(f);
  return groups.map((g: Row) => {
    const gid = Number(g.id);
    return {
      id: gid, name: g.name, nameservers: nameserversOf(g),
      servers: by(members, gid, (r) => Number(r.server_id)), dns_servers: by(dns, gid, (r) => Number(r.server_id)),
      vanity_domains: by(vanity, gid, (r) => String(r.domain)), reserved_names: Number(by(reserved, gid, (r) => r.n)[0] ?? 0),
    };
  });
}

export async function serverRefs(db: Knex | Knex.Transaction, ids: number[]): Promise<Map<number, { id: number; name: string; driver: Driver }>> {
  const rows = ids.length ? await db(T.servers).whereIn('id', ids).select('id', 'name', 'driver') : [];
  return new Map(rows.map((r: Row) => [Number(r.id), { id: Number(r.id), name: r.name, driver: r.driver }]));
}
