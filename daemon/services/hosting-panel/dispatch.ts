// The hosting panel's dispatcher (issue 13): every action of every tab runs through here. In order:
// the action exists; the service is a hosting service of this WHMCS client; its state allows it
// (active; suspended: client-area writes are blocked); the tab's role is on for the product;
// nothing else runs on the service. Then the action checks its fields and the live state (limits)
// and plans its steps, queued as one chain under the service's row lock (state and busy checked
// again there) with its secrets sealed in the same transaction. Every answer, queued or refused, is
// recorded with who asked in the Operation Log, as the VM panel's are.
import type { Knex } from 'knex';
import { InputError } from '../../common/errors.ts';
import { T } from '../../common/tables.ts';
import { dbNow, inTx } from '../../db/connect.ts';
import type { HestiaDriver } from '../../drivers/hestia/index.ts';
import { enqueueChainIn } from '../../engine/chains.ts';
import type { Queue } from '../../engine/queue.ts';
import { lockService } from '../../engine/sql/chain-end.ts';
import { recordOperations } from '../../engine/sql/oplog.ts';
import type { ServicePlan } from '../../pipelines/plan.ts';
import { serviceByWhmcsId, type ServiceRecord } from '../store.ts';
import { sealSecrets, sweepEndedSecrets } from './secrets.ts';
import { HOSTING_ACTIONS } from './tabs.ts';
import type { HostingActor, HostingContext, HostingRole } from './types.ts';

type Db = Knex | Knex.Transaction;
export type HostingService = ServiceRecord & { plan: ServicePlan };

/** Opens a HestiaCP driver for the page's and the actions' live reads (the API wires FleetAccess). */
export type HestiaOpener = (serverId: number) => Promise<HestiaDriver>;

const ACTIVE_CHAIN = ['running', 'waiting'];

/** What a running chain is doing, in the customer's words. */
const OPERATION_WORDS: Readonly<Record<string, string>> = {
  deploy: 'its deployment', redeploy: 'a redeployment', 'verify-repair': 'a repair', 'change-package': 'a package change',
  terminate: 'its termination', 'force-terminate': 'its termination', suspend: 'a suspension', unsuspend: 'an unsuspension',
  'change-password': 'a password change', 'sync-usage': 'a usage update',
  'mailbox-create': 'a mailbox being created', 'mailbox-delete': 'a mailbox being deleted',
  'mailbox-password': 'a mailbox password change', 'mailbox-quota': 'a mailbox quota change',
  'database-create': 'a database being created', 'database-delete': 'a database being deleted', 'database-password': 'a database password change',
  'ftp-create': 'an FTP account being created', 'ftp-delete': 'an FTP account being deleted', 'ftp-password': 'an FTP password change', 'ftp-path': 'an FTP folder change',
  'cron-create': 'a cron job being added', 'cron-change': 'a cron job being changed', 'cron-delete': 'a cron job being deleted',
  'cron-suspend': 'a cron job being suspended', 'cron-unsuspend': 'a cron job being resumed',
  'ssl-issue-web': 'a certificate being requested', 'ssl-issue-mail': 'a certificate being requested',
  'ssl-custom-web-install': 'your certificate being installed', 'ssl-custom-mail-install': 'your certificate being installed',
  'ssl-custom-web-remove': 'your certificate being removed', 'ssl-custom-mail-remove': 'your certificate being removed',
  'dns-redeploy-zone': 'your DNS zone being published',
  'dns-record-add': 'a DNS record being added', 'dns-record-edit': 'a DNS record being changed', 'dns-record-delete': 'a DNS record being deleted',
  'web-backend': 'a PHP version change', 'web-proxy': 'a proxy template change', 'web-alias-add': 'a web alias being added', 'web-alias-delete': 'a web alias being removed',
  'backup-create': 'a backup being made', 'backup-delete': 'a backup being deleted', 'backup-restore': 'a backup being restored',
};

/** What runs on the service now ("a mailbox being created"), or null. */
export async function hostingBusyWith(db: Db, serviceId: number): Promise<string | null> {
  const chain = await db(T.chains).where('service_id', serviceId).whereIn('state', ACTIVE_CHAIN).orderBy('id').first('operation');
  if (!chain) return null;
  return OPERATION_WORDS[String(chain.operation)] ?? `the ${String(chain.operation).replace(/[-_.:]/g, ' ')} operation`;
}

function busyError(what: string): InputError {
  return new InputError('', `Another action is in progress on your hosting (${what}); try again when it has finished.`, 409);
}

/** Why a service in this state takes no action from the panel, in the customer's words; null when it may. */
export function hostingStateRefusal(state: string, allowed: readonly string[] = ['active']): string | null {
  if (allowed.includes(state)) return null;
  switch (state) {
    case 'active': return 'Your hosting is set up and running: there is nothing to try again.';
    case 'suspended': return 'Your service is suspended: while suspended, client-area write actions are blocked. Please settle any overdue invoice or contact support.';
    case 'deploying':
    case 'pending': return 'Your hosting is still being set up; these actions are available once it is ready.';
    case 'failed': return 'Your hosting is not set up yet: its deployment stopped on an error our team has been told about.';
    case 'terminated':
    case 'terminate-failed':
    case 'error_terminate': return 'Your service has been terminated: there is no hosting to act on.';
    default: return `Your service is ${state}; these actions are available once it is active.`;
  }
}

/**
 * Whether a role is on for the service: the product has it and the plan placed it. A vanity
 * service's one mailbox is the provider's (its password is the service's): no Mailboxes role.
 */
export function roleOn(plan: ServicePlan, role: HostingRole | null): boolean {
  if (role === null) return true;
  const p = plan.product;
  if (!p.roles[role]) return false;
  if (role === 'mail') return p.mode !== 'vanity' && (plan.placement.mail !== null || plan.placement.unified !== null);
  if (role === 'web') return plan.placement.web !== null || plan.placement.unified !== null;
  return plan.placement.dns.length > 0;
}

/** The hosting service of a WHMCS id as this client sees it: another client's is as unknown as a missing one. */
export async function ownedHostingService(db: Db, whmcsServiceId: number, clientId: number | null): Promise<HostingService> {
  if (!Number.isInteger(whmcsServiceId) || whmcsServiceId <= 0) throw new InputError('whmcs_service_id', 'must be a positive whole number', 404);
  const svc = await serviceByWhmcsId(db, whmcsServiceId);
  if (!svc || (clientId !== null && svc.clientId !== null && svc.clientId !== clientId)) throw new InputError('', `service ${whmcsServiceId} does not exist`, 404);
  if (svc.mode === 'kvm' || !svc.plan) throw new InputError('', `service ${whmcsServiceId} is not a hosting service: it has no hosting panel`, 409);
  return svc as HostingService;
}

/** The context the tabs' reads and the actions' checks get; drivers opened once per server. */
export function hostingContext(db: Knex, svc: HostingService, open: HestiaOpener): HostingContext {
  const drivers = new Map<number, Promise<HestiaDriver>>();
  return {
    db, svc, now: Date.now(),
    hestia(serverId) {
      let d = drivers.get(serviceServer(svc, serverId));
      if (!d) {
        d = open(serverId);
        drivers.set(serverId, d);
      }
      return d;
    },
  };
}

/** A server of the service's own placement; any other id is a programming error, never a customer's reach. */
function serviceServer(svc: HostingService, serverId: number): number {
  const p = svc.plan.placement;
  if (![p.web, p.mail, p.unified, ...p.dns].includes(serverId)) throw new Error(`server ${serverId} is not one of service ${svc.whmcsServiceId}'s servers`);
  return serverId;
}

/** Who asked, as the Operation Log names them. */
export function clientActor(clientId: number): HostingActor {
  return { actor: `WHMCS client #${clientId}`, via: 'whmcs' };
}

async function record(db: Knex, actor: HostingActor, ok: boolean, text: string, whmcsServiceId: number): Promise<void> {
  await inTx(db, async (trx) => {
    const row = { at: await dbNow(trx), actor: actor.actor.slice(0, 200), via: actor.via, ok, message: text.slice(0, 2000) };
    await trx(T.adminActions).insert(row);
    await recordOperations(trx, [{ kind: 'action', finishedAt: row.at, whmcsServiceId, actor: row.actor, via: row.via, result: ok ? 'done' : 'refused', message: row.message }]);
  });
}

export interface HostingDispatchDeps {
  queue: Queue;
  masterKey: Buffer;
  hestia: HestiaOpener;
}

export interface HostingActionResult { message: string; chainId: number }

/**
 * Runs one action of the hosting panel for a client (clientId null: an admin acting for them).
 * Refusals are InputErrors the customer reads: 404 unknown action or service, 409 not hosting /
 * not active / busy / a limit, 403 a role the product does not have, 422 a bad field.
 */
export async function runHostingAction(deps: HostingDispatchDeps, whmcsServiceId: number, actionName: string, fields: Record<string, string>, actor: HostingActor, clientId: number | null): Promise<HostingActionResult> {
  const db = deps.queue.db;
  const action = Object.hasOwn(HOSTING_ACTIONS, actionName) ? HOSTING_ACTIONS[actionName]! : null;
  if (!action) {
    const err = new InputError('action', `"${String(actionName).slice(0, 40)}" is not an action of the hosting panel`, 404);
    await record(db, actor, false, `service ${whmcsServiceId}: refused: ${err.message}`, whmcsServiceId).catch(() => {});
    throw err;
  }
  const svc = await ownedHostingService(db, whmcsServiceId, clientId);
  const tag = `service ${whmcsServiceId} (${svc.plan.domain}): ${actionName}`;
  const allowed = action.states ?? ['active'];
  try {
    const refusal = hostingStateRefusal(svc.state, allowed);
    if (refusal) throw new InputError('', refusal, 409);
    if (!roleOn(svc.plan, action.role)) throw new InputError('', 'This is not part of your plan.', 403);
    const busy = await hostingBusyWith(db, svc.id);
    if (busy) throw busyError(busy);
    const prepared = await action.prepare(hostingContext(db, svc, deps.hestia), fields ?? {});
    const chainId = await inTx(db, async (trx) => {
      await lockService(trx, svc.id);
      const now = await trx(T.services).where('id', svc.id).first('state');
      const again = hostingStateRefusal(String(now?.state ?? 'terminated'), allowed);
      if (again) throw new InputError('', again, 409);
      const busyNow = await hostingBusyWith(trx, svc.id);
      if (busyNow) throw busyError(busyNow);
      const r = await enqueueChainIn(trx, {
        serviceId: svc.id, operation: prepared.operation, steps: prepared.steps,
        successState: prepared.successState ?? null, failureState: prepared.failureState ?? null,
      });
      await sealSecrets(trx, deps.masterKey, r.chainId, prepared.secrets ?? []);
      return r.chainId;
    });
    // Secrets of chains that have ended since (kept no longer than the next action of any service).
    await sweepEndedSecrets(db).catch(() => 0);
    await record(db, actor, true, `${tag}: ${prepared.message} (chain #${chainId})`, whmcsServiceId).catch(() => {});
    return { message: prepared.message, chainId };
  } catch (err) {
    if (err instanceof InputError) await record(db, actor, false, `${tag}: refused: ${err.message}`, whmcsServiceId).catch(() => {});
    throw err;
  }
}
