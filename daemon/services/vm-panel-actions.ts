// The customer's VM panel actions (issue 16): the dispatcher every action goes through, and the
// power, snapshot, backup and password actions. The dispatcher checks, in this order, that the
// action exists, the service is a KVM service of this customer, it is active (not suspended, not
// deploying), the product allows the action's feature, and nothing else runs on the service; the
// action then checks its own fields and the live state it depends on (a snapshot's name, the
// product's limits) before anything is queued. The work itself is a chain of idempotent steps
// (pipelines/vm-panel-plan.ts, handlers/kvm/panel.ts), or for backups and restores a run the
// backup-status and restore-backup jobs follow. Every answer, done or refused, is recorded with
// who asked in the admin actions the Operation Log lists.
import type { Knex } from 'knex';
import { InputError, TerminalError, errorMessage } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import { encryptSecret } from '../crypto/secretbox.ts';
import { dbNow, inTx, isUniqueViolation } from '../db/connect.ts';
import { enqueueChainIn } from '../engine/chains.ts';
import { lockService } from '../engine/sql/chain-end.ts';
import { recordOperations } from '../engine/sql/oplog.ts';
import { setTargetLimit } from '../engine/sql/targets.ts';
import type { Queue } from '../engine/queue.ts';
import type { ProxmoxClient } from '../drivers/proxmox/index.ts';
import { getKvmProfile } from '../fleet/kvm-profiles.ts';
import { proxmoxClient } from '../fleet/proxmox-access.ts';
import { getCluster, type ClusterView } from '../fleet/proxmox-clusters.ts';
import { checkVmPassword } from '../pipelines/kvm-validate.ts';
import type { PlannedChain } from '../pipelines/plan.ts';
import { planVmChain, pveTarget } from '../pipelines/vm-plan.ts';
import {
  checkBackupVolid, checkSnapshotDescription, checkSnapshotName, planPanelChain, planReinstallChain, reinstallPlan, splitBackupDays,
  type PanelChainArgs, type PanelOperation,
} from '../pipelines/vm-panel-plan.ts';
import { startVzdump } from '../scheduler/jobs/backup-status.ts';
import { backupStorage, locateServiceVm } from '../scheduler/jobs/vm-backup-tasks.ts';
import { serviceByWhmcsId, updatePassword, updateVmPlan, type ServiceRecord } from './store.ts';
import { finishRun, queueRestore, runById, setBackupDays, WEEKDAYS } from './vm-backups.ts';
import { vmRecord } from './vm-store.ts';
import { EXTRA_PANEL_ACTIONS } from './vm-panel-extras.ts';
import { panelSettingsOf, type PanelAction, type PanelActionContext, type PanelActionResult, type PanelActor } from './vm-panel-types.ts';

type Db = Knex | Knex.Transaction;

const ACTIVE_CHAIN = ['running', 'waiting'];
const OPEN_RUN = ['queued', 'starting', 'running'];

/** What a running chain is doing, in the customer's words. */
const OPERATION_WORDS: Readonly<Record<string, string>> = {
  deploy: 'its deployment', redeploy: 'a redeployment', 'verify-repair': 'a repair', 'change-package': 'a package change',
  terminate: 'its termination', 'force-terminate': 'its termination', suspend: 'a suspension', unsuspend: 'an unsuspension',
  'change-password': 'a password change', start: 'a start', stop: 'a stop', reboot: 'a reboot',
  'power-off': 'a stop', shutdown: 'a shutdown', 'snapshot-create': 'a snapshot being taken', 'snapshot-rollback': 'a rollback to a snapshot',
  'snapshot-delete': 'a snapshot being deleted', 'backup-delete': 'a backup being deleted', reinstall: 'a reinstallation',
};

/**
 * What runs on the service now, in words the panel can show ("a reboot", "a backup"), or null when
 * nothing does: a chain running or waiting its turn, or a backup or restore queued or running.
 */
export async function busyWith(db: Db, serviceId: number): Promise<string | null> {
  const chain = await db(T.chains).where('service_id', serviceId).whereIn('state', ACTIVE_CHAIN).orderBy('id').first('operation');
  if (chain) return OPERATION_WORDS[String(chain.operation)] ?? `the ${String(chain.operation).replace(/[-_.:]/g, ' ')} operation`;
  const run = await db(T.vmBackupRuns).where('service_id', serviceId).whereIn('state', OPEN_RUN).orderBy('id').first('kind');
  if (run) return run.kind === 'restore' ? 'a restore from a backup' : 'a backup';
  return null;
}

function busyError(what: string): InputError {
  return new InputError('', `Another action is in progress on your VPS (${what}); try again when it has finished.`, 409);
}

/** Why a service in this state takes no action, in the customer's words; null when it is active. */
function stateRefusal(state: string): string | null {
  switch (state) {
    case 'active': return null;
    case 'suspended': return 'Your service is suspended: its VPS stays off and these actions are unavailable until it is unsuspended. Please settle any overdue invoice or contact support.';
    case 'deploying':
    case 'pending': return 'Your VPS is still being deployed; these actions are available once it runs.';
    case 'failed': return 'Your VPS is not deployed yet: its deployment stopped on an error our team has been told about. These actions are available once it runs.';
    case 'terminated':
    case 'error_terminate': return 'Your service has been terminated: there is no VPS to act on.';
    default: return `Your service is ${state}; these actions are available once it is active.`;
  }
}

/** Who asked, as the Operation Log names them. */
export function actorName(actor: PanelActor): string {
  return actor.kind === 'client' ? `WHMCS client #${actor.clientId}` : actor.name;
}

// --- the service, its VM and the cluster ---------------------------------------------------

interface PanelService {
  svc: ServiceRecord;
  plan: NonNullable<ServiceRecord['vmPlan']>;
}

async function panelService(db: Db, whmcsServiceId: number, actor: PanelActor): Promise<PanelService> {
  if (!Number.isInteger(whmcsServiceId) || whmcsServiceId <= 0) throw new InputError('whmcs_service_id', 'must be a positive whole number', 404);
  const svc = await serviceByWhmcsId(db, whmcsServiceId);
  // Another client's service is as unknown as a missing one: nothing tells it exists.
  if (!svc || (actor.kind === 'client' && svc.clientId !== null && svc.clientId !== actor.clientId)) throw new InputError('', `service ${whmcsServiceId} does not exist`, 404);
  if (svc.mode !== 'kvm' || !svc.vmPlan) throw new InputError('', `service ${whmcsServiceId} is not a virtual server: it has no VM panel`, 409);
  return { svc, plan: svc.vmPlan };
}

/** The live VM on its cluster, with a client the caller closes. */
interface LiveVm {
  client: ProxmoxClient;
  cluster: ClusterView;
  vmid: number;
  node: string;
  status: string;
  lock: string | null;
}

/** Opens the service's cluster and finds its VM there, for checks that need the live state (snapshots, backups). */
async function withLiveVm<R>(ctx: PanelActionContext, p: PanelService, fn: (vm: LiveVm) => Promise<R>): Promise<R> {
  const db = ctx.queue.db;
  const row = await vmRecord(db, p.svc.id);
  if (!row || row.vmid === null) throw new InputError('', stateRefusal('deploying')!, 409);
  let opened: { client: ProxmoxClient; cluster: ClusterView };
  try {
    opened = await proxmoxClient(db, ctx.masterKey, p.plan.clusterId);
  } catch {
    throw new InputError('', 'Your VPS\'s host cannot be reached right now; please try again in a few minutes.', 503);
  }
  const { client, cluster } = opened;
  try {
    let at: Awaited<ReturnType<typeof locateServiceVm>>;
    try {
      at = await locateServiceVm(client, row.vmid, p.svc.whmcsServiceId);
    } catch {
      throw new InputError('', 'Your VPS\'s host cannot be reached right now; please try again in a few minutes.', 503);
    }
    if ('skip' in at) throw new InputError('', 'Your VPS was not found on its host; please contact support.', 409);
    return await fn({ client, cluster, vmid: row.vmid, node: at.node, status: at.status, lock: at.lock });
  } finally {
    client.close();
  }
}

/** A read of the cluster inside an action: an unreachable host is the customer's "try again later", not a crash. */
async function live<R>(fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError('', 'Your VPS\'s host did not answer; please try again in a few minutes.', 503);
  }
}

/**
 * Queues a chain for the service under its row lock, after checking again that nothing else runs
 * (two clicks at once: one chain, one refusal). `before` writes what the chain reads (a password).
 */
async function enqueuePanel(ctx: PanelActionContext, p: PanelService, operation: string, chain: PlannedChain, before?: (trx: Knex.Transaction) => Promise<void>): Promise<number> {
  return inTx(ctx.queue.db, async (trx) => {
    await lockService(trx, p.svc.id);
    const now = await trx(T.services).where('id', p.svc.id).first('state');
    const refusal = stateRefusal(String(now?.state ?? 'terminated'));
    if (refusal) throw new InputError('', refusal, 409);
    const busy = await busyWith(trx, p.svc.id);
    if (busy) throw busyError(busy);
    if (before) await before(trx);
    const r = await enqueueChainIn(trx, { serviceId: p.svc.id, operation, steps: chain.steps, successState: chain.successState, failureState: chain.failureState });
    return r.chainId;
  });
}

const panelChain = (op: PanelOperation, p: PanelService, args?: PanelChainArgs) => planPanelChain(op, p.plan, args);

// --- the actions ---------------------------------------------------------------------------

async function serviceOf(ctx: PanelActionContext): Promise<PanelService> {
  return panelService(ctx.queue.db, ctx.whmcsServiceId, ctx.actor);
}

function chainAction(feature: PanelAction['feature'], label: string, message: string, plan: (p: PanelService) => { operation: string; chain: PlannedChain }): PanelAction {
  return {
    feature, label,
    async run(ctx) {
      const p = await serviceOf(ctx);
      const { operation, chain } = plan(p);
      return { message, chainId: await enqueuePanel(ctx, p, operation, chain) };
    },
  };
}

/** The product's limit of a countable feature; 0 is "not part of your plan". */
function limitOf(p: PanelService, what: 'snapshots' | 'backups'): number {
  const n = p.plan.spec[what];
  if (!(n > 0)) throw new InputError('', `${what === 'snapshots' ? 'Snapshots are' : 'Backups are'} not part of your plan.`, 403);
  return n;
}

const snapshotCreate: PanelAction = {
  feature: 'snapshots', label: 'Take a snapshot',
  async run(ctx) {
    const name = checkSnapshotName('name', ctx.fields.name);
    const description = checkSnapshotDescription('description', ctx.fields.description);
    const p = await serviceOf(ctx);
    const limit = limitOf(p, 'snapshots');
    await withLiveVm(ctx, p, async (vm) => {
      const have = await live(() => vm.client.snapshots(vm.node, vm.vmid));
      if (have.some((s) => s.name === name)) throw new InputError('name', `your VPS has a snapshot named "${name}" already; choose another name`, 409);
      if (have.length >= limit) throw new InputError('', `Your VPS has ${have.length} snapshot(s), as many as your plan allows (${limit}); delete one before you take another.`, 409);
    });
    const chainId = await enqueuePanel(ctx, p, 'snapshot-create', panelChain('snapshot-create', p, { snapshot: { name, description } }));
    return { message: `Snapshot "${name}" is being taken.`, chainId };
  },
};

/** The snapshot a rollback or delete names, which must exist on the VM now. */
async function existingSnapshot(ctx: PanelActionContext, p: PanelService): Promise<string> {
  const name = checkSnapshotName('name', ctx.fields.name);
  await withLiveVm(ctx, p, async (vm) => {
    const have = await live(() => vm.client.snapshots(vm.node, vm.vmid));
    if (!have.some((s) => s.name === name)) throw new InputError('name', `your VPS has no snapshot named "${name}"`, 404);
  });
  return name;
}

const snapshotRollback: PanelAction = {
  feature: 'snapshots', label: 'Roll back to a snapshot',
  async run(ctx) {
    const p = await serviceOf(ctx);
    const name = await existingSnapshot(ctx, p);
    const chainId = await enqueuePanel(ctx, p, 'snapshot-rollback', panelChain('snapshot-rollback', p, { snapshot: { name, description: null } }));
    return { message: `Your VPS is being rolled back to snapshot "${name}"; it is started again afterwards.`, chainId };
  },
};

const snapshotDelete: PanelAction = {
  feature: 'snapshots', label: 'Delete a snapshot',
  async run(ctx) {
    const p = await serviceOf(ctx);
    const name = await existingSnapshot(ctx, p);
    const chainId = await enqueuePanel(ctx, p, 'snapshot-delete', panelChain('snapshot-delete', p, { snapshot: { name, description: null } }));
    return { message: `Snapshot "${name}" is being deleted.`, chainId };
  },
};

/** The service's own archive the fields name, which must be on the cluster now. */
async function existingBackup(ctx: PanelActionContext, p: PanelService, vm: LiveVm): Promise<{ volid: string; storage: string; protected: boolean }> {
  const { volid, storage } = checkBackupVolid('volid', ctx.fields.volid, vm.vmid);
  const found = (await live(() => vm.client.listBackups(vm.node, storage, vm.vmid))).find((b) => b.volid === volid);
  if (!found) throw new InputError('volid', `your VPS has no backup "${volid.slice(0, 120)}"`, 404);
  return { volid, storage, protected: found.protected === true };
}

/** The VM's id once deployed, for checking a volid before the cluster is asked. */
async function vmidOf(db: Db, p: PanelService): Promise<number> {
  const row = await vmRecord(db, p.svc.id);
  if (!row || row.vmid === null) throw new InputError('', stateRefusal('deploying')!, 409);
  return row.vmid;
}

const backupCreate: PanelAction = {
  feature: 'backups', label: 'Back up now',
  async run(ctx) {
    const db = ctx.queue.db;
    const p = await serviceOf(ctx);
    const limit = limitOf(p, 'backups');
    return withLiveVm(ctx, p, async (vm) => {
      const storage = backupStorage(vm.cluster, vm.node);
      if (!storage) throw new InputError('', 'Backups cannot be taken right now: no backup storage is set up for your VPS\'s host. Please contact support.', 409);
      if (vm.lock) throw new InputError('', `Your VPS is busy on its host (${vm.lock}); try again in a few minutes.`, 409);
      const have = await live(() => vm.client.listBackups(vm.node, storage, vm.vmid));
      if (have.length >= limit) throw new InputError('', `Your VPS has ${have.length} backup(s), as many as your plan keeps (${limit}); delete one before you take another.`, 409);
      const runId = await claimManualBackup(ctx, p, vm, storage);
      const run = (await runById(db, runId))!;
      try {
        // Started here, as schedule-backup starts the day's run; backup-status follows it by its UPID.
        await startVzdump(db, vm.client, run, p.svc.whmcsServiceId, { log: () => {} });
      } catch (err) {
        if (err instanceof TerminalError) {
          await finishRun(db, runId, 'failed', errorMessage(err));
          throw new InputError('', 'The backup could not be started on your VPS\'s host; please try again later or contact support.', 409);
        }
        // Left `starting`: backup-status finds the task or starts it on its next run.
        return { message: 'Your backup is queued; it starts within a few minutes.', chainId: null, runId };
      }
      return { message: 'Your backup has started; it appears in the list once it has finished.', chainId: null, runId };
    });
  },
};

/** The manual backup's run row (state starting), written under the service's lock once nothing else runs. */
async function claimManualBackup(ctx: PanelActionContext, p: PanelService, vm: LiveVm, storage: string): Promise<number> {
  try {
    return await inTx(ctx.queue.db, async (trx) => {
      await lockService(trx, p.svc.id);
      const busy = await busyWith(trx, p.svc.id);
      if (busy) throw busyError(busy);
      const now = await dbNow(trx);
      const key = `backup:${p.svc.id}:manual:${now}`;
      await trx(T.vmBackupRuns).insert({
        service_id: p.svc.id, kind: 'backup', origin: 'manual', run_key: key, active_key: String(p.svc.id),
        cluster_id: p.plan.clusterId, vmid: vm.vmid, node: vm.node, storage, volid: null, upid: null, state: 'starting',
        result: null, started_at: now, finished_at: null, created_at: now, updated_at: now, requested_by: actorName(ctx.actor).slice(0, 200),
      });
      return Number((await trx(T.vmBackupRuns).where('run_key', key).first('id')).id);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw busyError('a backup');
    throw err;
  }
}

const backupRestore: PanelAction = {
  feature: 'backups', label: 'Restore a backup',
  async run(ctx) {
    const db = ctx.queue.db;
    const p = await serviceOf(ctx);
    checkBackupVolid('volid', ctx.fields.volid, await vmidOf(db, p));
    const { volid } = await withLiveVm(ctx, p, (vm) => existingBackup(ctx, p, vm));
    const busy = await busyWith(db, p.svc.id);
    if (busy) throw busyError(busy);
    let id: number;
    try {
      ({ id } = await queueRestore(db, p.svc.whmcsServiceId, volid));
    } catch (err) {
      if (err instanceof InputError && err.status === 409) throw busyError('a backup or a restore');
      throw err;
    }
    await db(T.vmBackupRuns).where('id', id).update({ requested_by: actorName(ctx.actor).slice(0, 200) });
    return { message: 'Your VPS is being restored from the backup; it is stopped meanwhile and started again afterwards. You get an e-mail when it is done.', chainId: null, runId: id };
  },
};

const backupDelete: PanelAction = {
  feature: 'backups', label: 'Delete a backup',
  async run(ctx) {
    const p = await serviceOf(ctx);
    checkBackupVolid('volid', ctx.fields.volid, await vmidOf(ctx.queue.db, p));
    const b = await withLiveVm(ctx, p, (vm) => existingBackup(ctx, p, vm));
    if (b.protected) throw new InputError('volid', 'this backup is protected and cannot be deleted from the panel; please contact support', 409);
    const chainId = await enqueuePanel(ctx, p, 'backup-delete', panelChain('backup-delete', p, { volid: b.volid }));
    return { message: 'The backup is being deleted.', chainId };
  },
};

const DAY_NAMES: Readonly<Record<string, string>> = { sun: 'Sunday', mon: 'Monday', tue: 'Tuesday', wed: 'Wednesday', thu: 'Thursday', fri: 'Friday', sat: 'Saturday' };

const backupDays: PanelAction = {
  feature: 'backups', label: 'Set the backup days',
  async run(ctx) {
    const days = splitBackupDays(ctx.fields.days);
    const p = await serviceOf(ctx);
    if (days.length > 0) limitOf(p, 'backups');
    const set = await setBackupDays(ctx.queue.db, p.svc.whmcsServiceId, days);
    // Monday first, as a week reads.
    const order = [...WEEKDAYS.slice(1), WEEKDAYS[0]];
    const named = order.filter((d) => set.includes(d)).map((d) => DAY_NAMES[d]);
    return { message: named.length ? `Your VPS is backed up every ${named.join(', ')} (UTC).` : 'Scheduled backups of your VPS are off.', chainId: null };
  },
};

const password: PanelAction = {
  feature: 'password', label: 'Reset the password',
  async run(ctx) {
    // The VM's rules (8–128 printable characters), as at CreateAccount; never echoed.
    const plain = checkVmPassword('password', ctx.fields.password ?? '');
    const p = await serviceOf(ctx);
    const sealed = encryptSecret(ctx.masterKey, plain);
    const chainId = await enqueuePanel(ctx, p, 'change-password', planVmChain('change-password', p.plan), (trx) => updatePassword(trx, p.svc.id, sealed, false));
    return { message: 'The new password is being set; your VPS applies it at its next boot (reboot it to use it now).', chainId };
  },
};

const reinstall: PanelAction = {
  feature: 'reinstall', label: 'Reinstall the VPS',
  async run(ctx) {
    const db = ctx.queue.db;
    const p = await serviceOf(ctx);
    const profile = await getKvmProfile(db, p.plan.profileId);
    const offered = profile?.os_templates ?? [p.plan.spec.os];
    const os = typeof ctx.fields.os === 'string' ? ctx.fields.os.trim() : '';
    if (os === '') throw new InputError('os', `is required: the operating system to install (${offered.join(', ')})`);
    if (!offered.includes(os)) throw new InputError('os', `"${os.slice(0, 40)}" is not an operating system your plan offers (${offered.join(', ')})`);
    const plain = checkVmPassword('password', ctx.fields.password ?? '');
    await vmidOf(db, p);
    const cluster = await getCluster(db, p.plan.clusterId);
    const template = cluster.templates.find((t) => t.slug === os && t.enabled);
    if (!template) throw new InputError('os', `"${os}" cannot be installed right now; please contact support`, 409);
    const next = reinstallPlan(p.plan, template);
    // The clone may run on another node than the first install's: the cluster's per-node limit holds there too.
    for (const node of new Set([next.placement.cloneNode, next.placement.targetNode])) await setTargetLimit(db, pveTarget(next.clusterId, node), cluster.maxTasksPerNode);
    const sealed = encryptSecret(ctx.masterKey, plain);
    const chainId = await enqueuePanel(ctx, p, 'reinstall', planReinstallChain(next), async (trx) => {
      await updateVmPlan(trx, p.svc.id, next, p.svc.productId);
      await updatePassword(trx, p.svc.id, sealed, false);
    });
    return { message: `Your VPS is being reinstalled with ${template.label}: everything on its disks is erased; it keeps its addresses.`, chainId };
  },
};

/** The panel's own actions, by the name the module sends. */
const OWN_ACTIONS: Record<string, PanelAction> = {
  start: chainAction('power', 'Start the VPS', 'Your VPS is being started.', (p) => ({ operation: 'start', chain: planVmChain('start', p.plan) })),
  stop: chainAction('power', 'Stop the VPS (power off)', 'Your VPS is being powered off.', (p) => ({ operation: 'power-off', chain: panelChain('power-off', p) })),
  shutdown: chainAction('power', 'Shut the VPS down', 'Your VPS has been asked to shut down; it is given two minutes.', (p) => ({ operation: 'shutdown', chain: panelChain('shutdown', p) })),
  reboot: chainAction('power', 'Reboot the VPS', 'Your VPS is being rebooted.', (p) => ({ operation: 'reboot', chain: planVmChain('reboot', p.plan) })),
  'snapshot-create': snapshotCreate,
  'snapshot-rollback': snapshotRollback,
  'snapshot-delete': snapshotDelete,
  'backup-create': backupCreate,
  'backup-restore': backupRestore,
  'backup-delete': backupDelete,
  'backup-days': backupDays,
  password,
  reinstall,
};

/** Every action of the panel: the network and media ones (vm-panel-extras.ts) and ours, which an extra of the same name does not replace. */
export const PANEL_ACTIONS: Record<string, PanelAction> = { ...EXTRA_PANEL_ACTIONS, ...OWN_ACTIONS };

// --- the dispatcher ------------------------------------------------------------------------

/** Both come through the WHMCS module: the client area, or an admin's view of it. */
async function recordAction(db: Knex, actor: PanelActor, ok: boolean, text: string, whmcsServiceId: number): Promise<void> {
  await inTx(db, async (trx) => {
    const row = { at: await dbNow(trx), actor: actorName(actor).slice(0, 200), via: 'whmcs', ok, message: text.slice(0, 2000) };
    await trx(T.adminActions).insert(row);
    // The Operation Log keeps it, under the service, beyond the queue's clean-up.
    await recordOperations(trx, [{ kind: 'action', finishedAt: row.at, whmcsServiceId, actor: row.actor, via: row.via, result: ok ? 'done' : 'refused', message: row.message }]);
  });
}

/**
 * Runs one panel action for a customer (or an admin acting for them): checks that it may run now,
 * then the action's own checks and its chain or run. Refusals are InputErrors whose message the
 * customer reads: 404 for an unknown action or service, 409 for a service that is not a VM, not
 * active or busy, 403 for a feature the product does not include, 422 naming a bad field.
 */
export async function runPanelAction(queue: Queue, masterKey: Buffer, whmcsServiceId: number, action: string, fields: Record<string, string>, actor: PanelActor): Promise<PanelActionResult> {
  const a = Object.hasOwn(PANEL_ACTIONS, action) ? PANEL_ACTIONS[action]! : null;
  if (!a) throw new InputError('action', `"${String(action).slice(0, 40)}" is not an action of the VM panel; one of ${Object.keys(PANEL_ACTIONS).join(', ')}`, 404);
  const db = queue.db;
  const p = await panelService(db, whmcsServiceId, actor);
  const tag = `service ${whmcsServiceId} (${p.plan.domain}): ${a.label}`;
  try {
    const refusal = stateRefusal(p.svc.state);
    if (refusal) throw new InputError('', refusal, 409);
    const profile = await getKvmProfile(db, p.plan.profileId);
    if (!profile) throw new InputError('', 'The product of your service has no VM profile any more; please contact support.', 409);
    if (!panelSettingsOf(profile).features.includes(a.feature)) throw new InputError('', `${a.label} is not part of your plan.`, 403);
    const busy = await busyWith(db, p.svc.id);
    if (busy) throw busyError(busy);
    const result = await a.run({ queue, masterKey, whmcsServiceId, actor, fields: fields ?? {} });
    const ref = result.chainId !== null ? ` (chain #${result.chainId})` : result.runId ? ` (run #${result.runId})` : '';
    // The action is queued whatever becomes of its record: a lost line must not tell the customer it failed.
    await recordAction(db, actor, true, `${tag}: ${result.message}${ref}`, whmcsServiceId).catch(() => {});
    return result;
  } catch (err) {
    if (err instanceof InputError) await recordAction(db, actor, false, `${tag}: refused: ${err.message}`, whmcsServiceId).catch(() => {});
    throw err;
  }
}
