// The records of VM backups and restores (seed 003's backup schedule, Backup Status and Restore
// Backup): the weekdays each VM is backed up on, and one run row per backup or restore that
// hostbridge starts on Proxmox. A run's unique run_key (one scheduled backup per VM and day, one
// key per restore) and its active_key (one running backup or restore per VM) decide between two
// daemons and reruns; its UPID is stored before the task is waited on, so a successor follows the
// same Proxmox task instead of starting another.
import type { Knex } from 'knex';
import { InputError } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import { dbNow, isUniqueViolation, nowMs } from '../db/connect.ts';
import { serviceByWhmcsId } from './store.ts';
import { vmRecord } from './vm-store.ts';

type Db = Knex | Knex.Transaction;
type Row = Record<string, any>;

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** The states a VM is backed up and restored in: it exists and is the customer's. */
export const LIVE_VM_STATES = ['active', 'suspended'];

export type RunKind = 'backup' | 'restore';
export type RunState = 'queued' | 'starting' | 'running' | 'succeeded' | 'failed';

export interface BackupRun {
  id: number;
  serviceId: number;
  kind: RunKind;
  origin: 'schedule' | 'manual';
  runKey: string;
  clusterId: number;
  vmid: number;
  node: string | null;
  storage: string | null;
  volid: string | null;
  upid: string | null;
  state: RunState;
  result: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  createdAt: number;
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const run = (r: Row): BackupRun => ({
  id: Number(r.id), serviceId: Number(r.service_id), kind: r.kind, origin: r.origin, runKey: r.run_key, clusterId: Number(r.cluster_id),
  vmid: Number(r.vmid), node: r.node ?? null, storage: r.storage ?? null, volid: r.volid ?? null, upid: r.upid ?? null, state: r.state,
  result: r.result ?? null, startedAt: num(r.started_at), finishedAt: num(r.finished_at), createdAt: Number(r.created_at),
});

// --- backup days ---------------------------------------------------------------------------

const FULL_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/** Weekday names (`mon`…`sun` or in full, any case, each once) to their numbers (0 = Sunday), sorted. */
export function parseBackupDays(days: unknown): number[] {
  if (!Array.isArray(days)) throw new InputError('days', 'must be a list of weekdays (mon, tue, wed, thu, fri, sat, sun)');
  if (days.length > 7) throw new InputError('days', 'names at most the seven weekdays');
  const out = new Set<number>();
  days.forEach((d, i) => {
    const x = typeof d === 'string' ? d.trim().toLowerCase() : '';
    const n = WEEKDAYS.indexOf(x as Weekday) >= 0 ? WEEKDAYS.indexOf(x as Weekday) : FULL_NAMES.indexOf(x);
    if (n < 0) throw new InputError(`days.${i}`, `"${String(d).slice(0, 20)}" is not a weekday (mon, tue, wed, thu, fri, sat, sun)`);
    if (out.has(n)) throw new InputError(`days.${i}`, `${WEEKDAYS[n]} is named twice`);
    out.add(n);
  });
  return [...out].sort((a, b) => a - b);
}

export async function backupDays(db: Db, serviceId: number): Promise<number[]> {
  const r = await db(T.vmBackupDays).where('service_id', serviceId).first();
  return r && String(r.days) !== '' ? String(r.days).split(',').map(Number) : [];
}

/** The KVM service of a WHMCS id, or a 404 naming it. */
async function kvmService(db: Db, whmcsServiceId: number) {
  const svc = await serviceByWhmcsId(db, whmcsServiceId);
  if (!svc) throw new InputError('', `service ${whmcsServiceId} does not exist`, 404);
  if (svc.mode !== 'kvm' || !svc.vmPlan) throw new InputError('', `service ${whmcsServiceId} is not a virtual server`, 409);
  return svc;
}

/** Sets the weekdays the VM of a WHMCS service is backed up on; [] stops its scheduled backups. */
export async function setBackupDays(db: Knex, whmcsServiceId: number, days: unknown): Promise<Weekday[]> {
  const parsed = parseBackupDays(days);
  const svc = await kvmService(db, whmcsServiceId);
  if (svc.state === 'terminated') throw new InputError('', `service ${whmcsServiceId} is terminated`, 409);
  if (parsed.length > 0 && svc.vmPlan!.spec.backups <= 0) throw new InputError('days', `the product of service ${whmcsServiceId} includes no backups`);
  const text = parsed.join(',');
  await db(T.vmBackupDays).insert({ service_id: svc.id, days: text, updated_at: nowMs(db) }).onConflict('service_id').merge(['days', 'updated_at']);
  return parsed.map((n) => WEEKDAYS[n]!);
}

// --- runs ----------------------------------------------------------------------------------

/** A backup archive's volume id: `<storage>:backup/vzdump-qemu-<vmid>-…`. */
const VOLID = /^([A-Za-z][A-Za-z0-9_.-]{0,63}):backup\/vzdump-qemu-(\d+)-[A-Za-z0-9_.-]+$/;

/**
 * Queues a restore of one of the VM's own backup archives (the restore-backup job starts it).
 * Refused while another backup or restore of the VM runs.
 */
export async function queueRestore(db: Knex, whmcsServiceId: number, volid: unknown): Promise<{ id: number }> {
  if (typeof volid !== 'string' || volid.trim() === '') throw new InputError('volid', 'is required: the backup archive to restore, e.g. backups:backup/vzdump-qemu-101-2026_12_06-10_00_00.vma.zst');
  const m = VOLID.exec(volid.trim());
  if (!m) throw new InputError('volid', `"${volid.slice(0, 120)}" is not a VM backup archive (<storage>:backup/vzdump-qemu-<vmid>-….vma[.zst|.gz|.lzo])`);
  const svc = await kvmService(db, whmcsServiceId);
  if (!LIVE_VM_STATES.includes(svc.state)) throw new InputError('', `service ${whmcsServiceId} is ${svc.state}; only an active or suspended VM can be restored`, 409);
  const vm = await vmRecord(db, svc.id);
  if (!vm || vm.vmid === null) throw new InputError('', `service ${whmcsServiceId} has no VM yet`, 409);
  if (Number(m[2]) !== vm.vmid) throw new InputError('volid', `the archive is a backup of VMID ${m[2]}, not of this service's VM ${vm.vmid}`);
  const now = await dbNow(db);
  try {
    const [id] = await db(T.vmBackupRuns).insert({
      service_id: svc.id, kind: 'restore', origin: 'manual', run_key: `restore:${svc.id}:${now}`, active_key: String(svc.id),
      cluster_id: vm.clusterId, vmid: vm.vmid, node: vm.node, storage: m[1], volid: volid.trim(), upid: null, state: 'queued',
      result: null, started_at: null, finished_at: null, created_at: now, updated_at: now,
    });
    const row = id ? { id: Number(id) } : await db(T.vmBackupRuns).where('run_key', `restore:${svc.id}:${now}`).first('id');
    return { id: Number(row!.id) };
  } catch (err) {
    if (isUniqueViolation(err)) throw new InputError('', `a backup or restore of service ${whmcsServiceId} is already queued or running; try again when it ends`, 409);
    throw err;
  }
}

/**
 * Writes the day's scheduled backup run of a service (state starting). Null when the service
 * already has that day's backup, or another backup or restore of the VM runs: nothing is started.
 */
export async function claimScheduledBackup(db: Knex, e: { serviceId: number; day: string; clusterId: number; vmid: number; node: string | null; storage: string }): Promise<BackupRun | null> {
  const key = `backup:${e.serviceId}:${e.day}`;
  const now = await dbNow(db);
  try {
    await db(T.vmBackupRuns).insert({
      service_id: e.serviceId, kind: 'backup', origin: 'schedule', run_key: key, active_key: String(e.serviceId),
      cluster_id: e.clusterId, vmid: e.vmid, node: e.node, storage: e.storage, volid: null, upid: null, state: 'starting',
      result: null, started_at: now, finished_at: null, created_at: now, updated_at: now,
    });
  } catch (err) {
    if (isUniqueViolation(err)) return null;
    throw err;
  }
  return run(await db(T.vmBackupRuns).where('run_key', key).first());
}

/** Moves a queued restore to starting; false when another daemon took it first. */
export async function claimQueuedRun(db: Knex, id: number): Promise<boolean> {
  return (await db(T.vmBackupRuns).where({ id, state: 'queued' }).update({ state: 'starting', started_at: nowMs(db), updated_at: nowMs(db) })) === 1;
}

/** The Proxmox task that does the run: stored before anyone waits on it. */
export async function recordRunTask(db: Knex, id: number, node: string, upid: string): Promise<void> {
  await db(T.vmBackupRuns).where('id', id).whereIn('state', ['starting', 'running']).update({ node, upid, state: 'running', updated_at: nowMs(db) });
}

/** Ends a run; its VM is free for the next backup or restore. False when it had ended already. */
export async function finishRun(db: Db, id: number, state: 'succeeded' | 'failed', result: string, volid?: string | null): Promise<boolean> {
  const n = await db(T.vmBackupRuns).where('id', id).whereNotIn('state', ['succeeded', 'failed']).update({
    state, result: result.slice(0, 4000), active_key: null, finished_at: nowMs(db as Knex), updated_at: nowMs(db as Knex),
    ...(volid !== undefined ? { volid } : {}),
  });
  return n === 1;
}

export async function runsIn(db: Db, kind: RunKind, states: RunState[]): Promise<BackupRun[]> {
  return (await db(T.vmBackupRuns).where('kind', kind).whereIn('state', states).orderBy('id')).map(run);
}

export async function runById(db: Db, id: number): Promise<BackupRun | null> {
  const r = await db(T.vmBackupRuns).where('id', id).first();
  return r ? run(r) : null;
}

/** The runs of a service, newest first (its page, the API). */
export async function runsOfService(db: Db, serviceId: number, limit = 50): Promise<BackupRun[]> {
  return (await db(T.vmBackupRuns).where('service_id', serviceId).orderBy('id', 'desc').limit(limit)).map(run);
}

export interface LiveVm {
  serviceId: number;
  whmcsServiceId: number;
  clusterId: number;
  vmid: number;
  node: string | null;
  /** The product's backup count (KvmPlan.backups). */
  backups: number;
  days: number[];
}

/** Every VM of an active or suspended KVM service that has a VMID, with its backup days. */
export async function liveVms(db: Db): Promise<LiveVm[]> {
  const rows: Row[] = await db(`${T.vms} as v`).join(`${T.services} as s`, 's.id', 'v.service_id')
    .leftJoin(`${T.vmBackupDays} as d`, 'd.service_id', 'v.service_id')
    .where('s.mode', 'kvm').whereIn('s.state', LIVE_VM_STATES).whereNotNull('v.vmid')
    .select('v.service_id', 's.whmcs_service_id', 's.params', 'v.cluster_id', 'v.vmid', 'v.node', 'd.days').orderBy('v.service_id');
  return rows.map((r) => {
    let backups = 0;
    try {
      backups = Number(JSON.parse(String(r.params))?.spec?.backups ?? 0) || 0;
    } catch {
      backups = 0;
    }
    return {
      serviceId: Number(r.service_id), whmcsServiceId: Number(r.whmcs_service_id), clusterId: Number(r.cluster_id), vmid: Number(r.vmid),
      node: r.node ?? null, backups, days: r.days ? String(r.days).split(',').filter((x) => x !== '').map(Number) : [],
    };
  });
}

/** `YYYY-MM-DD` and the weekday (0 = Sunday) of a moment, in UTC. */
export function utcDay(ms: number): { day: string; weekday: number } {
  const d = new Date(ms);
  return { day: d.toISOString().slice(0, 10), weekday: d.getUTCDay() };
}
