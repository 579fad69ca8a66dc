// A customer's own certificate for a role of a service (issue 14 item 2; seed 002 "Custom
// certificates"): upload checks it (ssl/custom-cert.ts), stores it with its key sealed, hands the
// role's automatic-SSL row to it (state 'custom', which the auto-SSL worker leaves alone) and queues
// the install; remove queues the removal, after which automatic SSL resumes in fast mode. Both
// answer at once (no remote call inside the request) and record who asked in the Operation Log.
// The key never leaves this file in clear except to the install step, which reads and unseals it
// from the table when it runs: task arguments, logs and answers carry names only.
import type { Knex } from 'knex';
import { InputError, errorMessage } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import { encryptSecret } from '../crypto/secretbox.ts';
import { dbNow, inTx } from '../db/connect.ts';
import { enqueueChainIn } from '../engine/chains.ts';
import { lockService } from '../engine/sql/chain-end.ts';
import { recordOperations } from '../engine/sql/oplog.ts';
import type { ServicePlan } from '../pipelines/plan.ts';
import { customCertStep } from '../pipelines/ssl-plan.ts';
import { checkCustomCertificate, defaultRequiredNames, type CustomCertFields } from '../ssl/custom-cert.ts';
import { serviceByWhmcsId, type ServiceRecord } from './store.ts';

export type SslRole = 'web' | 'mail';
export type CustomCertInput = CustomCertFields;
export interface CustomCertView {
  names: string[]; issuer: string; notBefore: string; notAfter: string; uploadedAt: string; fingerprint256: string;
  /** install or removal queued and not finished */
  pending: boolean;
  /** installing | installed | removing */
  state: string;
  /** Issued by itself: installed all the same (HestiaCP does), but browsers warn. */
  selfSigned: boolean;
  subject: string;
  uploadedBy: string;
  /** Why the last install or removal failed (HestiaCP's own line), or null. */
  lastError: string | null;
}
export interface CustomCertDeps { db: Knex; masterKey: Buffer; onTick?: () => void }

type Db = Knex | Knex.Transaction;

/** Where a role of a service lives: the HestiaCP server, user and domain, and its SSL row's key. */
export interface RolePlace { serverId: number; user: string; domain: string; sslDomain: string }

/** The role's place in the plan, or null when the service has no such role (a web-only product's mail; a vanity service's mail). */
export function rolePlace(plan: ServicePlan, role: SslRole): RolePlace | null {
  const p = plan.placement;
  const at = role === 'web' ? p.unified ?? p.web : p.unified ?? p.mail;
  if (at === null || at === undefined || !plan.product.roles[role]) return null;
  if (role === 'mail' && plan.product.mode === 'vanity') return null;
  const user = plan.names.users[p.unified !== null ? 'all' : role];
  if (!user) return null;
  return { serverId: at, user, domain: plan.domain, sslDomain: role === 'web' ? plan.domain : `mail.${plan.domain}` };
}

/** The chain operations of a role's custom certificate; one runs at a time per service anyway. */
export const customOperation = (role: SslRole, what: 'install' | 'remove') => `ssl-custom-${role}-${what}`;
const OPERATIONS = (['web', 'mail'] as const).flatMap((r) => [customOperation(r, 'install'), customOperation(r, 'remove')]);

function checkRole(role: unknown): SslRole {
  if (role !== 'web' && role !== 'mail') throw new InputError('role', 'must be web or mail', 404);
  return role;
}

/** Why a service in this state takes no certificate change, in the customer's words; null when it is active. */
function stateRefusal(state: string): string | null {
  switch (state) {
    case 'active': return null;
    case 'suspended': return 'Your service is suspended: while suspended, client-area write actions are blocked. Please settle any overdue invoice or contact support.';
    case 'pending':
    case 'deploying': return 'Your service is still being set up; certificates can be changed once it is active.';
    case 'terminated':
    case 'error_terminate': return 'Your service has been terminated.';
    default: return `Your service is ${state}; certificates can be changed once it is active.`;
  }
}

async function hostingService(db: Db, whmcsServiceId: number): Promise<ServiceRecord & { plan: ServicePlan }> {
  if (!Number.isInteger(whmcsServiceId) || whmcsServiceId <= 0) throw new InputError('whmcs_service_id', 'must be a positive whole number', 404);
  const svc = await serviceByWhmcsId(db, whmcsServiceId);
  if (!svc) throw new InputError('', `service ${whmcsServiceId} does not exist`, 404);
  if (!svc.plan) throw new InputError('', `service ${whmcsServiceId} is not a hosting service: it has no SSL certificates`, 409);
  return svc as ServiceRecord & { plan: ServicePlan };
}

function placeOf(svc: ServiceRecord & { plan: ServicePlan }, role: SslRole): RolePlace {
  const place = rolePlace(svc.plan, role);
  if (!place) throw new InputError('role', `your service has no ${role === 'web' ? 'web hosting' : 'mail'}, so it takes no ${role} certificate`, 409);
  return place;
}

/** The names the role's certificate must cover: what its automatic-SSL row lists, else the role's defaults. */
async function requiredNames(db: Db, serviceId: number, role: SslRole, place: RolePlace): Promise<string[]> {
  const row = await db(T.ssl).where({ service_id: serviceId, domain: place.sslDomain }).first('names');
  try {
    const names = row?.names ? JSON.parse(String(row.names)) : null;
    if (Array.isArray(names) && names.length && names.every((n) => typeof n === 'string' && n !== '')) return names as string[];
  } catch { /* an unreadable list: the defaults */ }
  return defaultRequiredNames(role, place.domain);
}

/** A custom-certificate chain running or waiting for this service (two changes at once would race for the key). */
async function changeInProgress(db: Db, serviceId: number): Promise<boolean> {
  return !!(await db(T.chains).where('service_id', serviceId).whereIn('operation', OPERATIONS).whereIn('state', ['running', 'waiting']).first('id'));
}

const BUSY = 'A certificate change for your service is still in progress; try again when it has finished.';

/** Who asked, as the Operation Log names them, and how the request came (whmcs, a page session's kind), when the caller says. */
interface Requester { actor: string; via: string | null }

/** The request and its answer in the Operation Log, under the service, with who asked. */
async function recordRequest(db: Knex | Knex.Transaction, whmcsServiceId: number, who: Requester, ok: boolean, message: string): Promise<void> {
  const write = async (trx: Knex | Knex.Transaction) => {
    await recordOperations(trx, [{ kind: 'action', finishedAt: await dbNow(trx), whmcsServiceId, actor: who.actor.slice(0, 200) || 'unknown', via: who.via, result: ok ? 'done' : 'refused', message: message.slice(0, 2000) }]);
  };
  await (db.isTransaction ? write(db) : inTx(db as Knex, write));
}

/**
 * Runs a request, recording a refusal in the Operation Log (a lost record must not turn the refusal
 * into another error). An accepted request records itself in the transaction that queues its chain.
 */
async function refusalsRecorded<R>(db: Knex, whmcsServiceId: number, who: Requester, what: string, fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof InputError) await recordRequest(db, whmcsServiceId, who, false, `service ${whmcsServiceId}: ${what}: refused: ${errorMessage(err)}`).catch(() => {});
    throw err;
  }
}

/**
 * Checks and stores the customer's certificate for a role and queues its install. Refuses (nothing
 * changed) a service that is not active, a role it does not have, a change already in progress and
 * any certificate that fails the checks, with an InputError naming the field. `actor` (who asked) and
 * `via` (how: whmcs for the client area) go to the Operation Log.
 */
export async function uploadCustomCertificate(deps: CustomCertDeps, whmcsServiceId: number, role: SslRole, input: CustomCertInput, actor: string, via: string | null = null): Promise<{ chain_id: number }> {
  const r = checkRole(role);
  const what = `upload a custom ${r} certificate`;
  return refusalsRecorded(deps.db, whmcsServiceId, { actor, via }, what, async () => {
    const svc = await hostingService(deps.db, whmcsServiceId);
    const place = placeOf(svc, r);
    const refusal = stateRefusal(svc.state);
    if (refusal) throw new InputError('', refusal, 409);
    const names = await requiredNames(deps.db, svc.id, r, place);
    const cert = checkCustomCertificate(input ?? {}, { names, now: Date.now() });
    const sealed = encryptSecret(deps.masterKey, cert.keyPem);
    const chainId = await inTx(deps.db, async (trx) => {
      await lockService(trx, svc.id);
      const now = await trx(T.services).where('id', svc.id).first('state');
      const again = stateRefusal(String(now?.state ?? 'terminated'));
      if (again) throw new InputError('', again, 409);
      if (await changeInProgress(trx, svc.id)) throw new InputError('', BUSY, 409);
      const at = await dbNow(trx);
      await trx(T.sslCustom).where({ service_id: svc.id, role: r }).delete();
      await trx(T.sslCustom).insert({
        service_id: svc.id, role: r, domain: place.sslDomain, server_id: place.serverId, user: place.user,
        cert_pem: cert.certPem, chain_pem: cert.chainPem, key_sealed: sealed, fingerprint256: cert.fingerprint256,
        names: JSON.stringify(cert.names), subject: cert.subject.slice(0, 500), issuer: cert.issuer.slice(0, 500), self_signed: cert.selfSigned,
        not_before: cert.notBefore, not_after: cert.notAfter, uploaded_at: at, uploaded_by: actor.slice(0, 200) || 'unknown',
        state: 'installing', last_error: null, warned_at: null, warned_fingerprint: null, updated_at: at,
      });
      await holdSslRow(trx, svc.id, r, place, names, { notAfter: cert.notAfter, issuer: cert.issuer, at });
      const step = customCertStep('install', { serverId: place.serverId, user: place.user, domain: place.domain, role: r });
      const id = (await enqueueChainIn(trx, { serviceId: svc.id, operation: customOperation(r, 'install'), steps: [step] })).chainId;
      const self = cert.selfSigned ? ' It is self-signed: it is installed, but browsers will warn your visitors.' : '';
      await recordRequest(trx, whmcsServiceId, { actor, via }, true, `service ${whmcsServiceId}: ${what}: certificate ${cert.fingerprint256.slice(0, 23)}… for ${cert.names.join(', ')} ` +
        `(${cert.issuer}, valid until ${new Date(cert.notAfter).toISOString().slice(0, 10)}) is being installed; automatic SSL is paused for this role (chain #${id}).${self}`);
      return id;
    });
    deps.onTick?.();
    return { chain_id: chainId };
  });
}

/** The role's automatic-SSL row handed to the custom certificate: state 'custom', which the worker skips. */
async function holdSslRow(trx: Knex.Transaction, serviceId: number, role: SslRole, place: RolePlace, names: string[], c: { notAfter: number; issuer: string; at: number }): Promise<void> {
  const key = { service_id: serviceId, domain: place.sslDomain };
  const fields = { state: 'custom', not_after: c.notAfter, issuer: c.issuer.slice(0, 255), last_error: null, last_result: 'a custom certificate was uploaded: automatic SSL leaves this role alone until it is removed', updated_at: c.at };
  if (await trx(T.ssl).where(key).first('state')) {
    await trx(T.ssl).where(key).update(fields);
    return;
  }
  await trx(T.ssl).insert({
    ...key, ...fields, role, names: JSON.stringify(names), server_id: place.serverId, user: place.user,
    attempts: 0, checks: 0, failures: 0, next_check_at: c.at,
  });
}

/** Queues the removal of the role's custom certificate; once done, automatic SSL resumes for the role in fast mode. */
export async function removeCustomCertificate(deps: CustomCertDeps, whmcsServiceId: number, role: SslRole, actor: string, via: string | null = null): Promise<{ chain_id: number }> {
  const r = checkRole(role);
  const what = `remove the custom ${r} certificate`;
  return refusalsRecorded(deps.db, whmcsServiceId, { actor, via }, what, async () => {
    const svc = await hostingService(deps.db, whmcsServiceId);
    const place = placeOf(svc, r);
    const refusal = stateRefusal(svc.state);
    if (refusal) throw new InputError('', refusal, 409);
    const chainId = await inTx(deps.db, async (trx) => {
      await lockService(trx, svc.id);
      const now = await trx(T.services).where('id', svc.id).first('state');
      const again = stateRefusal(String(now?.state ?? 'terminated'));
      if (again) throw new InputError('', again, 409);
      if (await changeInProgress(trx, svc.id)) throw new InputError('', BUSY, 409);
      // Removed where it was installed, even if the role has moved since.
      const stored = await trx(T.sslCustom).where({ service_id: svc.id, role: r }).first('server_id', 'user');
      if (!stored) throw new InputError('role', `your service has no custom ${r} certificate to remove`, 404);
      await trx(T.sslCustom).where({ service_id: svc.id, role: r }).update({ state: 'removing', last_error: null, updated_at: await dbNow(trx) });
      const server = Number(stored.server_id);
      const step = customCertStep('remove', { serverId: server, user: String(stored.user), domain: place.domain, role: r });
      const id = (await enqueueChainIn(trx, { serviceId: svc.id, operation: customOperation(r, 'remove'), steps: [step] })).chainId;
      await recordRequest(trx, whmcsServiceId, { actor, via }, true, `service ${whmcsServiceId}: ${what}: the custom certificate is being removed; automatic SSL resumes for this role once it is (chain #${id})`);
      return id;
    });
    deps.onTick?.();
    return { chain_id: chainId };
  });
}

/** The role's custom certificate as the pages show it (hostbridge's service id), or null; never the key. */
export async function customCertificateOf(db: Knex, serviceId: number, role: SslRole): Promise<CustomCertView | null> {
  const r = await db(T.sslCustom).where({ service_id: serviceId, role }).first(
    'names', 'subject', 'issuer', 'not_before', 'not_after', 'uploaded_at', 'uploaded_by', 'fingerprint256', 'state', 'self_signed', 'last_error',
  );
  if (!r) return null;
  const iso = (v: unknown) => new Date(Number(v)).toISOString();
  let names: string[] = [];
  try {
    names = JSON.parse(String(r.names));
  } catch { /* shown without names */ }
  const pending = r.state !== 'installed' && await changeInProgress(db, serviceId);
  return {
    names, subject: String(r.subject), issuer: String(r.issuer), notBefore: iso(r.not_before), notAfter: iso(r.not_after), uploadedAt: iso(r.uploaded_at),
    uploadedBy: String(r.uploaded_by), fingerprint256: String(r.fingerprint256), pending, state: String(r.state), selfSigned: !!Number(r.self_signed) || r.self_signed === true,
    lastError: r.last_error ?? null,
  };
}
