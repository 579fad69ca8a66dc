// Proxmox VE clusters in the inventory: registration (the API's certificate pinned by the
// fingerprint the admin confirmed, the credential checked by one pinned call before anything is
// saved, then sealed), edits that re-check what they change, discovery of nodes, storages and
// bridges, the health figures, the roles the admin gives storages, nodes kept out of placement, VLANs
// per bridge and templates per OS. The secret never leaves through any view: only "set".
import type { Knex } from 'knex';
import { dbNow, inTx, isUniqueViolation } from '../db/connect.ts';
import { decryptSecret, encryptSecret } from '../crypto/secretbox.ts';
import { globalMasker } from '../log/mask.ts';
import { InputError, errorMessage } from '../common/errors.ts';
import { checkBody } from '../common/bodies.ts';
import { T } from '../common/tables.ts';
import { setTargetLimit } from '../engine/sql/targets.ts';
import { pveTarget } from '../pipelines/vm-plan.ts';
import {
  ProxmoxClient, ProxmoxFingerprintError, ProxmoxTerminalError, fetchCertificate, normaliseFingerprint, type ProxmoxIO, type PveNode, type PveStorage,
} from '../drivers/proxmox/index.ts';

export type { ProxmoxIO } from '../drivers/proxmox/index.ts';

export const PVE_PORT = 8006;
export const DEFAULT_MAX_TASKS_PER_NODE = 2;
const CONNECT_TIMEOUT_MS = 10_000;

export interface ClusterInput {
  name: string;
  endpoints: Array<{ host: string; port?: number }>;
  fingerprint_sha256: string;
  token_id?: string;
  token_secret?: string;
  username?: string;
  password?: string;
  max_tasks_per_node?: number;
}

export interface NodeView {
  id: number; name: string; status: string; enabled: boolean; present: boolean;
  maxcpu: number | null; cpu: number | null; cpuPct: number | null;
  maxmem: number | null; mem: number | null; memPct: number | null;
  maxdisk: number | null; disk: number | null; diskPct: number | null;
  uptime: number | null; vmCount: number | null; checkedAt: number | null;
}

export interface StorageView {
  id: number; storage: string;
  /** The node it is on; null for a shared storage (every node sees it). */
  node: string | null;
  type: string; content: string[]; shared: boolean; enabled: boolean; active: boolean; present: boolean;
  total: number | null; used: number | null; avail: number | null; usedPct: number | null;
  roles: { templates: boolean; system: boolean; additional: boolean; backups: boolean };
}

export interface BridgeView {
  id: number; iface: string; nodes: string[]; present: boolean;
  /** 'any', '' (untagged only) or VLAN ids and ranges: '10,20,100-110'. */
  vlans: string;
}

export interface TemplateView { id: number; slug: string; label: string; vmid: number; node: string; storage: string; cloudInit: boolean; enabled: boolean }

export interface ClusterView {
  id: number; name: string; endpoints: Array<{ host: string; port: number }>; fingerprintSha256: string; maxTasksPerNode: number;
  status: string; version: string | null; nodes: NodeView[]; storages: StorageView[]; bridges: BridgeView[]; templates: TemplateView[];
  credentialKind: 'token' | 'password';
  /** The token id (user@realm!name) or the user name: shown, unlike the secret. */
  authId: string;
  /** Always "set": the secret itself is never shown back. */
  credential: 'set';
  vmCount: number | null; lastCheckedAt: number | null; lastError: string | null; createdAt: number;
}

export interface CertificateInfo { host: string; port: number; fingerprintSha256: string; subject: string; issuer: string; validTo: string }

/** What a cluster's client is made from (its row and endpoints), with the secret kept apart. */
export interface ClusterAccess { endpoints: Array<{ host: string; port: number }>; fingerprintSha256: string; credentialKind: 'token' | 'password'; authId: string }

type Row = Record<string, any>;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const pct = (part: number | null, whole: number | null): number | null =>
  part === null || whole === null || whole <= 0 ? null : Math.round((part / whole) * 1000) / 10;

/** `AB:CD:…` (upper-case pairs, as the PVE GUI shows it) from that form or from 64 bare hex digits. */
export const normalizeFingerprint = (fp: string): string => normaliseFingerprint(fp, 'fingerprint_sha256');

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address; the port defaults to 8006. */
export function parseEndpoint(text: string, field = 'endpoints'): { host: string; port: number } {
  const s = text.trim();
  let host = s;
  let port = PVE_PORT;
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(s);
  const plain = /^([^:\s]+):(\d{1,5})$/.exec(s);
  if (v6) { host = v6[1]!; if (v6[2]) port = Number(v6[2]); } else if (plain) { host = plain[1]!; port = Number(plain[2]); }
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$|^[0-9A-Fa-f:.]{2,45}$/.test(host)) throw new InputError(field, `"${s.slice(0, 80)}" is not a host name or IP address with an optional :port`);
  if (port < 1 || port > 65535) throw new InputError(field, `port ${port} is out of range 1-65535`);
  return { host: host.toLowerCase(), port };
}

/** The certificate an endpoint presents, read without trusting it, for the admin to confirm before adding the cluster. */
export async function probeEndpoint(host: string, port = PVE_PORT, timeoutMs = CONNECT_TIMEOUT_MS): Promise<CertificateInfo> {
  checkBody('ProxmoxProbe', { host, port });
  try {
    const c = await fetchCertificate(host, port, timeoutMs);
    return { host, port, fingerprintSha256: normalizeFingerprint(c.fingerprintSha256), subject: c.subject, issuer: c.issuer, validTo: c.validTo };
  } catch (err) {
    throw new InputError('host', `could not read the certificate of ${host}:${port}: ${errorMessage(err)}`, 502);
  }
}

export function clientFor(access: ClusterAccess, secret: string, io: ProxmoxIO = {}, timeoutMs = CONNECT_TIMEOUT_MS): ProxmoxClient {
  globalMasker.add(secret);
  io.secret?.(secret);
  return new ProxmoxClient({
    endpoints: access.endpoints, fingerprintSha256: access.fingerprintSha256, timeoutMs, io,
    credentials: access.credentialKind === 'token' ? { kind: 'token', tokenId: access.authId, secret } : { kind: 'password', username: access.authId, password: secret },
  });
}

const CREDENTIAL_FIELDS: Record<string, string> = {
  'credentials.tokenId': 'token_id', 'credentials.secret': 'token_secret', 'credentials.username': 'username', 'credentials.password': 'password',
};

/** The field a failed first connection is about, so the form and the API can point at it. */
function connectionProblem(err: unknown, kind: 'token' | 'password', endpoints: Array<{ host: string; port: number }>): InputError {
  const msg = globalMasker.mask(errorMessage(err)).replace(/[.\s]+$/, '');
  if (err instanceof InputError) return new InputError(CREDENTIAL_FIELDS[err.field] ?? err.field, msg.replace(/^[\w.]+: /, ''));
  if (err instanceof ProxmoxFingerprintError) return new InputError('fingerprint_sha256', `${msg}. Nothing was saved`);
  if (err instanceof ProxmoxTerminalError && (err.status === 401 || err.status === 403)) {
    return new InputError(kind === 'token' ? 'token_secret' : 'password', `the cluster refused the ${kind === 'token' ? 'API token' : 'user name and password'} (${msg}). Nothing was saved`);
  }
  const where = endpoints.map((e) => `${e.host}:${e.port}`).join(', ');
  if (err instanceof ProxmoxTerminalError) return new InputError('endpoints', `the cluster at ${where} refused the first call (${msg}). Nothing was saved`);
  return new InputError('endpoints', `no endpoint answered (${msg}). Nothing was saved`, 502);
}

/** One pinned connection: the credential works and the API answers; its version. */
async function verifyConnection(access: ClusterAccess, secret: string): Promise<string> {
  let client: ProxmoxClient | null = null;
  try {
    client = clientFor(access, secret);
    const v = await client.version();
    await client.nodes();
    return v.version;
  } catch (err) {
    throw connectionProblem(err, access.credentialKind, access.endpoints);
  } finally {
    client?.close();
  }
}

interface CheckedInput { name: string; endpoints: Array<{ host: string; port: number }>; fingerprint: string; kind: 'token' | 'password' | null; authId: string | null; secret: string | null; maxTasks: number }

function checkInput(input: ClusterInput, needCredential: boolean): CheckedInput {
  const body = checkBody<ClusterInput>('ProxmoxCluster', input);
  if (body.token_id && body.username) throw new InputError('username', 'give either an API token (token_id and token_secret) or a user name and password, not both');
  if (body.token_secret && !body.token_id) throw new InputError('token_id', 'is required with token_secret (user@realm!tokenname)');
  if (body.password && !body.username) throw new InputError('username', 'is required with password (user@realm)');
  let kind: 'token' | 'password' | null = null;
  if (body.token_id) {
    if (!body.token_secret && needCredential) throw new InputError('token_secret', 'is required with token_id');
    kind = 'token';
  } else if (body.username) {
    if (!body.password && needCredential) throw new InputError('password', 'is required with username');
    kind = 'password';
  } else if (needCredential) throw new InputError('token_id', 'a cluster needs an API token (token_id and token_secret), or a user name and password');
  const endpoints = body.endpoints.map((e, i) => ({ ...parseEndpoint(e.host, `endpoints.${i}.host`), port: e.port ?? PVE_PORT }));
  const seen = new Set<string>();
  endpoints.forEach((e, i) => {
    if (seen.has(`${e.host}:${e.port}`)) throw new InputError(`endpoints.${i}`, `${e.host}:${e.port} is listed twice`);
    seen.add(`${e.host}:${e.port}`);
  });
  return {
    name: body.name.trim(), endpoints, fingerprint: normalizeFingerprint(body.fingerprint_sha256), kind,
    authId: body.token_id ?? body.username ?? null, secret: body.token_secret ?? body.password ?? null,
    maxTasks: body.max_tasks_per_node ?? DEFAULT_MAX_TASKS_PER_NODE,
  };
}

async function saveEndpoints(trx: Knex.Transaction, clusterId: number, endpoints: Array<{ host: string; port: number }>): Promise<void> {
  await trx(T.pveEndpoints).where('cluster_id', clusterId).del();
  await trx(T.pveEndpoints).insert(endpoints.map((e, position) => ({ cluster_id: clusterId, position, host: e.host, port: e.port })));
}

/**
 * Registers a cluster: the body checked, one pinned call proving the certificate and the
 * credential, then the rows (the secret sealed). A wrong fingerprint, a refused credential or no
 * endpoint answering is an InputError naming the field, and nothing is saved.
 */
export async function addCluster(db: Knex, masterKey: Buffer, input: ClusterInput): Promise<{ id: number; version: string }> {
  const c = checkInput(input, true);
  if (await db(T.pveClusters).where('name', c.name).first('id')) throw new InputError('name', `a Proxmox cluster named "${c.name}" already exists`, 409);
  const access: ClusterAccess = { endpoints: c.endpoints, fingerprintSha256: c.fingerprint, credentialKind: c.kind!, authId: c.authId! };
  const version = await verifyConnection(access, c.secret!);
  try {
    const id = await inTx(db, async (trx) => {
      const now = await dbNow(trx);
      const [newId] = await trx(T.pveClusters).insert({
        name: c.name, credential_kind: c.kind, auth_id: c.authId, credential: encryptSecret(masterKey, c.secret!), fingerprint_sha256: c.fingerprint,
        max_tasks_per_node: c.maxTasks, status: 'unknown', version, created_at: now, updated_at: now,
      });
      await saveEndpoints(trx, Number(newId), c.endpoints);
      return Number(newId);
    });
    return { id, version };
  } catch (err) {
    if (isUniqueViolation(err)) throw new InputError('name', `a Proxmox cluster named "${c.name}" already exists`, 409);
    throw err;
  }
}

async function clusterRow(db: Knex | Knex.Transaction, id: number): Promise<Row> {
  const row = await db(T.pveClusters).where('id', id).first();
  if (!row) throw new InputError('', `Proxmox cluster ${id} does not exist`, 404);
  return row;
}

async function endpointsOf(db: Knex | Knex.Transaction, id: number): Promise<Array<{ host: string; port: number }>> {
  return (await db(T.pveEndpoints).where('cluster_id', id).orderBy('position')).map((e: Row) => ({ host: e.host, port: Number(e.port) }));
}

/**
 * Edits a cluster: the fields given replace the stored ones, the rest are kept (a credential left
 * out keeps the sealed one). A change of endpoints, fingerprint or credential is checked by one
 * pinned call first; when it fails nothing is saved.
 */
export async function updateCluster(db: Knex, masterKey: Buffer, id: number, input: Partial<ClusterInput>): Promise<void> {
  const row = await clusterRow(db, id);
  const endpoints = await endpointsOf(db, id);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new InputError('', 'the body must be a JSON object');
  const namesId = input.token_id !== undefined || input.username !== undefined;
  const merged: Record<string, unknown> = {
    name: row.name, endpoints, fingerprint_sha256: row.fingerprint_sha256, max_tasks_per_node: Number(row.max_tasks_per_node),
    ...(namesId ? {} : row.credential_kind === 'token' ? { token_id: row.auth_id } : { username: row.auth_id }),
    ...input,
  };
  const c = checkInput(merged as unknown as ClusterInput, false);
  // A new user or token needs its own secret; the stored one stays only with the same id.
  const sameId = c.kind === row.credential_kind && c.authId === row.auth_id;
  if (!c.secret && !sameId) throw new InputError(c.kind === 'password' ? 'password' : 'token_secret', 'is required when the token id or user changes');
  const kind = (c.kind ?? row.credential_kind) as 'token' | 'password';
  const authId = c.authId ?? row.auth_id;
  const clash = await db(T.pveClusters).where('name', c.name).whereNot('id', id).first('id');
  if (clash) throw new InputError('name', `another Proxmox cluster is named "${c.name}"`, 409);
  const changed = c.secret !== null || kind !== row.credential_kind || authId !== row.auth_id || c.fingerprint !== row.fingerprint_sha256
    || JSON.stringify(c.endpoints) !== JSON.stringify(endpoints);
  const patch: Row = { name: c.name, fingerprint_sha256: c.fingerprint, max_tasks_per_node: c.maxTasks, credential_kind: kind, auth_id: authId };
  if (changed) {
    const secret = c.secret ?? decryptSecret(masterKey, row.credential);
    patch.version = await verifyConnection({ endpoints: c.endpoints, fingerprintSha256: c.fingerprint, credentialKind: kind, authId }, secret);
    if (c.secret) patch.credential = encryptSecret(masterKey, c.secret);
  }
  await inTx(db, async (trx) => {
    await trx(T.pveClusters).where('id', id).update({ ...patch, updated_at: await dbNow(trx) });
    if (JSON.stringify(c.endpoints) !== JSON.stringify(endpoints)) await saveEndpoints(trx, id, c.endpoints);
  });
  if (c.maxTasks !== Number(row.max_tasks_per_node)) await applyNodeLimits(db, id);
}

/** What may refer to a cluster, where that table exists yet (the IP pools and KVM profiles are built beside this). */
const REFERENCES: ReadonlyArray<{ table: string; column: string; what: string }> = [
  { table: T.ipPools, column: 'cluster_id', what: 'IP pool(s)' },
  { table: T.kvmProfiles, column: 'cluster_id', what: 'KVM profile(s)' },
  { table: T.vms, column: 'cluster_id', what: 'virtual server(s)' },
];

/** Removes a cluster and what discovery found on it; refused while anything refers to it. */
export async function removeCluster(db: Knex, id: number): Promise<void> {
  const row = await clusterRow(db, id);
  const uses: string[] = [];
  for (const ref of REFERENCES) {
    if (!(await db.schema.hasTable(ref.table)) || !(await db.schema.hasColumn(ref.table, ref.column))) continue;
    const n = Number(((await db(ref.table).where(ref.column, id).count({ n: '*' }).first()) as Row)?.n ?? 0);
    if (n > 0) uses.push(`${n} ${ref.what}`);
  }
  if (uses.length) throw new InputError('', `Proxmox cluster "${row.name}" is still used by ${uses.join(' and ')}; move or remove them first`, 409);
  await inTx(db, async (trx) => {
    for (const table of [T.pveTemplates, T.pveBridges, T.pveStorages, T.pveNodes, T.pveEndpoints]) await trx(table).where('cluster_id', id).del();
    await trx(T.pveClusters).where('id', id).del();
  });
}

// --- views ---

function nodeView(r: Row): NodeView {
  const maxmem = num(r.maxmem); const mem = num(r.mem); const maxdisk = num(r.maxdisk); const disk = num(r.disk); const cpu = num(r.cpu);
  return {
    id: Number(r.id), name: r.name, status: r.status, enabled: !!r.enabled, present: !!r.present,
    maxcpu: num(r.maxcpu), cpu, cpuPct: cpu === null ? null : Math.round(cpu * 1000) / 10,
    maxmem, mem, memPct: pct(mem, maxmem), maxdisk, disk, diskPct: pct(disk, maxdisk),
    uptime: num(r.uptime), vmCount: num(r.vm_count), checkedAt: num(r.checked_at),
  };
}

function storageView(r: Row): StorageView {
  const total = num(r.total); const used = num(r.used);
  return {
    id: Number(r.id), storage: r.storage, node: r.node === '' ? null : r.node, type: r.type, content: String(r.content ?? '').split(',').filter(Boolean),
    shared: !!r.shared, enabled: !!r.enabled, active: !!r.active, present: !!r.present, total, used, avail: num(r.avail), usedPct: pct(used, total),
    roles: { templates: !!r.role_templates, system: !!r.role_system, additional: !!r.role_additional, backups: !!r.role_backups },
  };
}

const bridgeView = (r: Row): BridgeView => ({ id: Number(r.id), iface: r.iface, nodes: String(r.nodes ?? '').split(',').filter(Boolean), present: !!r.present, vlans: r.vlans });

const templateView = (r: Row): TemplateView => ({
  id: Number(r.id), slug: r.slug, label: r.label, vmid: Number(r.vmid), node: r.node, storage: r.storage, cloudInit: !!r.cloud_init, enabled: !!r.enabled,
});

function clusterView(r: Row, parts: { endpoints: Row[]; nodes: Row[]; storages: Row[]; bridges: Row[]; templates: Row[] }): ClusterView {
  const id = Number(r.id);
  const mine = (rows: Row[]) => rows.filter((x) => Number(x.cluster_id) === id);
  return {
    id, name: r.name, endpoints: mine(parts.endpoints).map((e) => ({ host: e.host, port: Number(e.port) })), fingerprintSha256: r.fingerprint_sha256,
    maxTasksPerNode: Number(r.max_tasks_per_node), status: r.status, version: r.version ?? null,
    nodes: mine(parts.nodes).map(nodeView), storages: mine(parts.storages).map(storageView), bridges: mine(parts.bridges).map(bridgeView), templates: mine(parts.templates).map(templateView),
    credentialKind: r.credential_kind, authId: r.auth_id, credential: 'set',
    vmCount: num(r.vm_count), lastCheckedAt: num(r.last_checked_at), lastError: r.last_error ?? null, createdAt: Number(r.created_at),
  };
}

async function views(db: Knex | Knex.Transaction, ids?: number[]): Promise<ClusterView[]> {
  const of = (table: string, order: string[]) => {
    const q = db(table).orderBy(order.map((column) => ({ column })));
    return ids ? q.whereIn('cluster_id', ids) : q;
  };
  const clusters = ids ? db(T.pveClusters).whereIn('id', ids).orderBy('id') : db(T.pveClusters).orderBy('id');
  const [rows, endpoints, nodes, storages, bridges, templates] = await Promise.all([
    clusters, of(T.pveEndpoints, ['position']), of(T.pveNodes, ['name']), of(T.pveStorages, ['node', 'storage']), of(T.pveBridges, ['iface']), of(T.pveTemplates, ['slug']),
  ]);
  return rows.map((r: Row) => clusterView(r, { endpoints, nodes, storages, bridges, templates }));
}

/** One cluster as the pages, the API and the deploy steps see it (never its secret); 404 InputError when missing. */
export async function getCluster(db: Knex, id: number): Promise<ClusterView> {
  const [v] = await views(db, [id]);
  if (!v) throw new InputError('', `Proxmox cluster ${id} does not exist`, 404);
  return v;
}

export async function listClusters(db: Knex): Promise<ClusterView[]> {
  return views(db);
}

/** A cluster named by its id or its name (the CLI's argument). */
export async function findClusterId(db: Knex, ref: string): Promise<number> {
  const row = /^[1-9][0-9]{0,9}$/.test(ref) ? await db(T.pveClusters).where('id', Number(ref)).first('id') : await db(T.pveClusters).where('name', ref).first('id');
  if (!row) throw new InputError('cluster', `no Proxmox cluster is named or numbered "${ref.slice(0, 80)}"`, 404);
  return Number(row.id);
}

/** The sealed row's access and secret, for a client; the secret goes to the masker. */
export async function clusterAccess(db: Knex, masterKey: Buffer, id: number): Promise<{ access: ClusterAccess; secret: string }> {
  const row = await clusterRow(db, id);
  const secret = decryptSecret(masterKey, row.credential);
  globalMasker.add(secret);
  return { access: { endpoints: await endpointsOf(db, id), fingerprintSha256: row.fingerprint_sha256, credentialKind: row.credential_kind, authId: row.auth_id }, secret };
}

// --- the engine's per-node limit ---

/** Sets each node's engine target (pveTarget: the deploy steps' own) to the cluster's max_tasks_per_node, where it differs. */
async function applyNodeLimits(db: Knex, clusterId: number): Promise<void> {
  const row = await clusterRow(db, clusterId);
  const limit = Number(row.max_tasks_per_node);
  const nodes = await db(T.pveNodes).where('cluster_id', clusterId).pluck('name');
  if (!nodes.length) return;
  // A target name is at most 64 characters (its column); a longer node name keeps the engine's default.
  const targets = nodes.map((n: string) => pveTarget(clusterId, n)).filter((t: string) => t.length <= 64);
  const current = new Map((await db(T.targets).whereIn('target', targets).select('target', 'max_concurrency')).map((t: Row) => [t.target, Number(t.max_concurrency)]));
  for (const t of targets) if (current.get(t) !== limit) await setTargetLimit(db, t, limit);
}

// --- discovery and health ---

export interface SyncResult { clusterId: number; name: string; status: 'online' | 'degraded' | 'offline'; version: string | null; nodes: number; storages: number; bridges: number; vmCount: number | null; error: string | null }

interface Seen {
  version: string;
  nodes: PveNode[];
  vms: Map<string, number>;
  vmCount: number;
  storages: Map<string, PveStorage[]>;
  bridges: Map<string, string[]>;
}

/** Everything one discovery asks the cluster: version, nodes, guests, and each online node's storages and bridges. */
async function look(client: ProxmoxClient): Promise<Seen> {
  const version = (await client.version()).version;
  const nodes = await client.nodes();
  const guests = await client.resources('vm');
  const vms = new Map<string, number>();
  let vmCount = 0;
  for (const g of guests) {
    if (Number(g.template ?? 0) === 1 || g.template === true) continue;
    vmCount++;
    vms.set(String(g.node), (vms.get(String(g.node)) ?? 0) + 1);
  }
  const storages = new Map<string, PveStorage[]>();
  const bridges = new Map<string, string[]>();
  for (const n of nodes.filter((x) => x.status === 'online')) {
    storages.set(n.node, await client.storages(n.node));
    bridges.set(n.node, await client.bridges(n.node));
  }
  return { version, nodes, vms, vmCount, storages, bridges };
}

const flag = (v: unknown) => v === true || Number(v) === 1;
const contentText = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v ?? '')).split(',').map((s) => s.trim()).filter(Boolean).sort().join(',').slice(0, 255);

/** Writes what a discovery saw: nodes, storages, bridges upserted; what is gone is kept (roles and all) but marked absent. */
async function record(db: Knex, clusterId: number, seen: Seen): Promise<SyncResult> {
  return inTx(db, async (trx) => {
    const now = await dbNow(trx);
    const allOnline = seen.nodes.length > 0 && seen.nodes.every((n) => n.status === 'online');
    const status = allOnline ? 'online' : 'degraded';
    await trx(T.pveClusters).where('id', clusterId).update({ status, version: seen.version, vm_count: seen.vmCount, last_checked_at: now, last_error: null });

    const names = seen.nodes.map((n) => n.node);
    for (const n of seen.nodes) {
      const online = n.status === 'online';
      const figures = online
        ? { maxcpu: num(n.maxcpu), cpu: num(n.cpu), maxmem: num(n.maxmem), mem: num(n.mem), maxdisk: num(n.maxdisk), disk: num(n.disk), uptime: num(n.uptime) }
        : { cpu: null, mem: null, uptime: null };
      await trx(T.pveNodes).insert({ cluster_id: clusterId, name: n.node, status: n.status, present: true, ...figures, vm_count: seen.vms.get(n.node) ?? 0, checked_at: now })
        .onConflict(['cluster_id', 'name']).merge(['status', 'present', ...Object.keys(figures), 'vm_count', 'checked_at']);
    }
    const gone = trx(T.pveNodes).where('cluster_id', clusterId);
    if (names.length) gone.whereNotIn('name', names);
    await gone.update({ present: false, status: 'unknown' });

    // Storages: a shared one once (node ''), a local one per node; only scanned nodes can prove one gone.
    const scanned = [...seen.storages.keys()];
    const seenKeys = new Set<string>();
    for (const [node, list] of seen.storages) {
      for (const s of list) {
        const shared = s.shared;
        const key = `${shared ? '' : node}\u0000${s.storage}`;
        if (seenKeys.has(key)) continue;
        seenKeys.add(key);
        const row = {
          cluster_id: clusterId, node: shared ? '' : node, storage: String(s.storage), type: String(s.type ?? '').slice(0, 32), content: contentText(s.content),
          shared, enabled: s.enabled, active: s.active, present: true,
          total: num(s.total), used: num(s.used), avail: num(s.avail), checked_at: now,
        };
        await trx(T.pveStorages).insert(row).onConflict(['cluster_id', 'node', 'storage'])
          .merge(['type', 'content', 'shared', 'enabled', 'active', 'present', 'total', 'used', 'avail', 'checked_at']);
      }
    }
    if (scanned.length) {
      const rows = await trx(T.pveStorages).where('cluster_id', clusterId).where((b) => b.whereIn('node', scanned).orWhere('node', '')).select('id', 'node', 'storage');
      const missing = rows.filter((r: Row) => !seenKeys.has(`${r.node}\u0000${r.storage}`)).map((r: Row) => Number(r.id));
      if (missing.length) await trx(T.pveStorages).whereIn('id', missing).update({ present: false });
    }

    // Bridges by name: the nodes scanned now replace their own membership; others keep theirs.
    const existing = await trx(T.pveBridges).where('cluster_id', clusterId);
    const byIface = new Map<string, Set<string>>(existing.map((b: Row) => [b.iface, new Set(String(b.nodes ?? '').split(',').filter((n) => n && !seen.bridges.has(n) && names.includes(n)))]));
    for (const [node, ifaces] of seen.bridges) {
      for (const iface of ifaces) {
        if (!byIface.has(iface)) byIface.set(iface, new Set());
        byIface.get(iface)!.add(node);
      }
    }
    // An upsert, so a manual sync racing the health job cannot trip on the unique key; VLANs stay the admin's.
    for (const [iface, nodeSet] of byIface) {
      await trx(T.pveBridges).insert({ cluster_id: clusterId, iface, nodes: [...nodeSet].sort().join(','), vlans: '', present: nodeSet.size > 0 })
        .onConflict(['cluster_id', 'iface']).merge(['nodes', 'present']);
    }
    return {
      clusterId, name: '', status, version: seen.version, nodes: seen.nodes.length, storages: seenKeys.size, bridges: [...byIface.values()].filter((s) => s.size).length,
      vmCount: seen.vmCount, error: null,
    };
  });
}

/**
 * Discovery and health of one cluster: asks it (first endpoint that answers, certificate pinned)
 * and writes what it saw. A cluster that does not answer is marked offline with the reason; that
 * is a result, not an exception.
 */
export async function syncCluster(db: Knex, masterKey: Buffer, id: number, io: ProxmoxIO = {}): Promise<SyncResult> {
  const row = await clusterRow(db, id);
  const { access, secret } = await clusterAccess(db, masterKey, id);
  const client = clientFor(access, secret, io);
  let seen: Seen;
  try {
    seen = await look(client);
  } catch (err) {
    const error = globalMasker.mask(errorMessage(err)).slice(0, 2000);
    await inTx(db, async (trx) => {
      await trx(T.pveClusters).where('id', id).update({ status: 'offline', last_error: error, last_checked_at: await dbNow(trx) });
      await trx(T.pveNodes).where('cluster_id', id).update({ status: 'unknown' });
    });
    return { clusterId: id, name: row.name, status: 'offline', version: row.version ?? null, nodes: 0, storages: 0, bridges: 0, vmCount: null, error };
  } finally {
    client.close();
  }
  const result = await record(db, id, seen);
  await applyNodeLimits(db, id);
  return { ...result, name: row.name };
}

/** The health job's pass: every cluster in turn, each one's result, none stopping the rest. */
export async function syncAllClusters(db: Knex, masterKey: Buffer, log: (line: string) => void = () => {}): Promise<SyncResult[]> {
  const ids = (await db(T.pveClusters).orderBy('id').pluck('id')).map(Number);
  const results: SyncResult[] = [];
  for (const id of ids) {
    try {
      const r = await syncCluster(db, masterKey, id);
      log(`${r.name}: ${r.status}${r.version ? `, ${r.version}` : ''}, ${r.nodes} node(s), ${r.vmCount ?? '?'} VM(s)${r.error ? ` — ${r.error}` : ''}`);
      results.push(r);
    } catch (err) {
      // A cluster removed meanwhile, or a master key that cannot open its secret: say so, go on.
      log(`cluster ${id}: ${globalMasker.mask(errorMessage(err))}`);
    }
  }
  return results;
}

// --- what the admin decides: storage roles, nodes in placement, VLANs, templates ---

export interface StorageRoles { templates?: boolean; system?: boolean; additional?: boolean; backups?: boolean }

export async function setStorageRoles(db: Knex, clusterId: number, storageId: number, roles: StorageRoles): Promise<void> {
  const r = checkBody<StorageRoles>('ProxmoxStorageRoles', roles);
  await clusterRow(db, clusterId);
  const patch: Row = {};
  if (r.templates !== undefined) patch.role_templates = r.templates;
  if (r.system !== undefined) patch.role_system = r.system;
  if (r.additional !== undefined) patch.role_additional = r.additional;
  if (r.backups !== undefined) patch.role_backups = r.backups;
  const found = await db(T.pveStorages).where({ id: storageId, cluster_id: clusterId }).first('id');
  if (!found) throw new InputError('', `storage ${storageId} is not a storage of Proxmox cluster ${clusterId}`, 404);
  if (Object.keys(patch).length) await db(T.pveStorages).where('id', storageId).update(patch);
}

/** A storage by its row id, or by name with `@node` for a local one (the CLI's argument). */
export async function findStorageId(db: Knex, clusterId: number, ref: string): Promise<number> {
  if (/^[1-9][0-9]{0,9}$/.test(ref)) {
    const r = await db(T.pveStorages).where({ id: Number(ref), cluster_id: clusterId }).first('id');
    if (r) return Number(r.id);
  }
  const [storage, node] = ref.split('@');
  const q = db(T.pveStorages).where({ cluster_id: clusterId, storage });
  if (node !== undefined) q.where('node', node);
  const rows = await q.select('id', 'node');
  if (rows.length === 1) return Number(rows[0].id);
  if (rows.length > 1) throw new InputError('storage', `"${storage}" is on several nodes (${rows.map((r: Row) => r.node).join(', ')}); name one as ${storage}@<node>`);
  throw new InputError('storage', `cluster ${clusterId} has no storage "${ref.slice(0, 80)}" (run sync first?)`, 404);
}

export async function setNodeEnabled(db: Knex, clusterId: number, node: string, enabled: boolean): Promise<void> {
  checkBody('ProxmoxNode', { enabled });
  await clusterRow(db, clusterId);
  const n = await db(T.pveNodes).where({ cluster_id: clusterId, name: node }).update({ enabled });
  if (n === 0) throw new InputError('node', `cluster ${clusterId} has no node "${node.slice(0, 64)}" (run sync first?)`, 404);
}

/** '', 'none' → '' (untagged only); 'any'; or ids and ranges, checked 1-4094 and written sorted. */
export function normalizeVlans(text: string): string {
  checkBody('ProxmoxBridge', { vlans: text });
  if (text === 'any') return 'any';
  if (text === '' || text === 'none') return '';
  const ranges = text.split(',').map((part) => {
    const [a, b] = part.split('-').map(Number);
    const lo = a!; const hi = b ?? a!;
    if (lo < 1 || hi > 4094 || lo > hi) throw new InputError('vlans', `"${part}" is not a VLAN id or range within 1-4094`);
    return [lo, hi] as [number, number];
  }).sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([...r]);
  }
  return merged.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`)).join(',');
}

/** Whether a NIC on this bridge may carry this tag (null: untagged, always allowed). */
export function vlanAllowed(bridge: Pick<BridgeView, 'vlans'>, tag: number | null): boolean {
  if (tag === null) return true;
  if (bridge.vlans === 'any') return tag >= 1 && tag <= 4094;
  return bridge.vlans.split(',').filter(Boolean).some((part) => {
    const [a, b] = part.split('-').map(Number);
    return tag >= a! && tag <= (b ?? a!);
  });
}

export async function setBridgeVlans(db: Knex, clusterId: number, iface: string, vlans: string): Promise<string> {
  const v = normalizeVlans(vlans);
  await clusterRow(db, clusterId);
  const n = await db(T.pveBridges).where({ cluster_id: clusterId, iface }).update({ vlans: v });
  if (n === 0) throw new InputError('bridge', `cluster ${clusterId} has no bridge "${iface.slice(0, 64)}" (run sync first?)`, 404);
  return v;
}

export interface TemplateInput { slug: string; label?: string; vmid: number; node: string; storage: string; cloud_init?: boolean; enabled?: boolean }

/** The template must exist on that node as a template, and its storage must be one discovery found there. */
async function checkTemplate(db: Knex, masterKey: Buffer, clusterId: number, t: TemplateInput): Promise<void> {
  const node = await db(T.pveNodes).where({ cluster_id: clusterId, name: t.node }).first('id');
  if (!node) throw new InputError('node', `cluster ${clusterId} has no node "${t.node}" (run sync first?)`);
  const storage = await db(T.pveStorages).where({ cluster_id: clusterId, storage: t.storage }).where((b) => b.where('node', t.node).orWhere('node', '')).first('id');
  if (!storage) throw new InputError('storage', `node ${t.node} has no storage "${t.storage}"`);
  const { access, secret } = await clusterAccess(db, masterKey, clusterId);
  const client = clientFor(access, secret);
  let vm: Awaited<ReturnType<ProxmoxClient['findVm']>>;
  try {
    vm = await client.findVm(t.vmid);
  } catch (err) {
    throw new InputError('vmid', `could not ask the cluster about VM ${t.vmid}: ${globalMasker.mask(errorMessage(err))}`, 502);
  } finally {
    client.close();
  }
  if (!vm) throw new InputError('vmid', `the cluster has no VM ${t.vmid}`);
  if (vm.node !== t.node) throw new InputError('node', `VM ${t.vmid} is on node ${vm.node}, not ${t.node}`);
  if (!flag(vm.template)) throw new InputError('vmid', `VM ${t.vmid} (${vm.name ?? 'no name'}) is not a template; convert it to a template first`);
}

function templateRow(t: TemplateInput): Row {
  return { slug: t.slug, label: (t.label ?? '').trim() || t.slug, vmid: t.vmid, node: t.node, storage: t.storage, cloud_init: t.cloud_init ?? true, enabled: t.enabled ?? true };
}

export async function addTemplate(db: Knex, masterKey: Buffer, clusterId: number, input: TemplateInput): Promise<number> {
  const t = checkBody<TemplateInput>('ProxmoxTemplate', input);
  await clusterRow(db, clusterId);
  if (await db(T.pveTemplates).where({ cluster_id: clusterId, slug: t.slug }).first('id')) throw new InputError('slug', `cluster ${clusterId} already has a template "${t.slug}"`, 409);
  await checkTemplate(db, masterKey, clusterId, t);
  try {
    const now = await dbNow(db);
    const [id] = await db(T.pveTemplates).insert({ cluster_id: clusterId, ...templateRow(t), created_at: now, updated_at: now });
    return Number(id);
  } catch (err) {
    if (isUniqueViolation(err)) throw new InputError('slug', `cluster ${clusterId} already has a template "${t.slug}"`, 409);
    throw err;
  }
}

/** The fields given replace the stored ones; a changed VMID, node or storage is checked on the cluster again. */
export async function updateTemplate(db: Knex, masterKey: Buffer, clusterId: number, templateId: number, input: Partial<TemplateInput>): Promise<void> {
  const row = await db(T.pveTemplates).where({ id: templateId, cluster_id: clusterId }).first();
  if (!row) throw new InputError('', `template ${templateId} is not a template of Proxmox cluster ${clusterId}`, 404);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new InputError('', 'the body must be a JSON object');
  const stored = { slug: row.slug, label: row.label, vmid: Number(row.vmid), node: row.node, storage: row.storage, cloud_init: !!row.cloud_init, enabled: !!row.enabled };
  const t = checkBody<TemplateInput>('ProxmoxTemplate', { ...stored, ...input });
  const clash = await db(T.pveTemplates).where({ cluster_id: clusterId, slug: t.slug }).whereNot('id', templateId).first('id');
  if (clash) throw new InputError('slug', `cluster ${clusterId} already has a template "${t.slug}"`, 409);
  if (t.vmid !== Number(row.vmid) || t.node !== row.node || t.storage !== row.storage) await checkTemplate(db, masterKey, clusterId, t);
  await db(T.pveTemplates).where('id', templateId).update({ ...templateRow(t), updated_at: await dbNow(db) });
}

export async function removeTemplate(db: Knex, clusterId: number, templateId: number): Promise<void> {
  const n = await db(T.pveTemplates).where({ id: templateId, cluster_id: clusterId }).del();
  if (n === 0) throw new InputError('', `template ${templateId} is not a template of Proxmox cluster ${clusterId}`, 404);
}

/** A template by its row id or its slug (the CLI's argument). */
export async function findTemplateId(db: Knex, clusterId: number, ref: string): Promise<number> {
  const q = /^[1-9][0-9]{0,9}$/.test(ref) ? db(T.pveTemplates).where({ cluster_id: clusterId, id: Number(ref) }) : db(T.pveTemplates).where({ cluster_id: clusterId, slug: ref });
  const row = await q.first('id');
  if (!row) throw new InputError('template', `cluster ${clusterId} has no template "${ref.slice(0, 64)}"`, 404);
  return Number(row.id);
}
