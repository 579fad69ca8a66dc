// Automatic SSL as the admin, the customer and the API see it: a service's certificates per role
// (state, the last check's line, what the server serves, a custom certificate), "Issue / Renew now"
// (rows made due at once; an admin's also lifts a freeze, a customer's does not) and the customer's
// SSL actions through WHMCS (renew, upload or remove a custom certificate). Every request and
// refusal is recorded with its actor in the Operation Log.
import type { Knex } from 'knex';
import { InputError } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import { dbNow, inTx } from '../db/connect.ts';
import { recordOperations } from '../engine/sql/oplog.ts';
import type { SslRole } from '../ssl/cadence.ts';
import { day, makeDueNow, shortState, sslRowsOf, stamp, type SslRow } from '../ssl/state.ts';
import { customCertificateOf, removeCustomCertificate, uploadCustomCertificate, type CustomCertDeps, type CustomCertView } from './ssl-custom.ts';
import { serviceByWhmcsId } from './store.ts';

export interface SslRoleView extends SslRow {
  custom: CustomCertView | null;
  /** The state in the customer's words. */
  customerLine: string;
  /** The state in a word or two, for the deploy timeline ("waiting for DNS", "issued", "frozen until …"). */
  short: string;
  frozen: boolean;
}


/** The state as the customer reads it. */
export function customerLine(r: SslRow, custom: CustomCertView | null, now: number): string {
  if (r.state === 'custom' || custom) {
    return custom ? `Your own certificate, valid until ${day(Date.parse(custom.notAfter))}${custom.pending ? ' (being installed or removed)' : ''}` : 'Your own certificate';
  }
  switch (r.state) {
    case 'issued': return r.notAfter ? `Secured — certificate valid until ${day(r.notAfter)}` : 'Secured';
    case 'waiting-dns': {
      const why = r.lastResult?.replace(/^DNS: /, '') ?? '';
      return `Waiting for your domain to point to our servers${why ? `: ${why}` : ''}`;
    }
    case 'frozen': return r.frozenUntil && r.frozenUntil > now
      ? `Paused until ${stamp(r.frozenUntil)} after repeated failures${r.lastError ? ` (${r.lastError.replace(/^Error:\s*/, '')})` : ''}`
      : 'Trying again now after a pause';
    case 'failed': return `The last certificate request failed; we try again shortly${r.lastError ? ` (${r.lastError.replace(/^Error:\s*/, '')})` : ''}`;
    case 'issuing': return 'Requesting your certificate…';
    default: return r.state;
  }
}

async function serviceOf(db: Knex, whmcsServiceId: number) {
  const svc = await serviceByWhmcsId(db, whmcsServiceId);
  if (!svc) throw new InputError('service', `service ${whmcsServiceId} is not known to hostbridge`, 404);
  return svc;
}

/** A service's certificates, per role, with the custom certificate of each (by hostbridge's service id). */
export async function sslRolesOf(db: Knex, serviceId: number, now = Date.now()): Promise<SslRoleView[]> {
  const rows = await sslRowsOf(db, serviceId);
  return Promise.all(rows.map(async (r) => {
    const custom = await customCertificateOf(db, serviceId, r.role);
    return { ...r, custom, customerLine: customerLine(r, custom, now), short: shortState(r, now), frozen: r.state === 'frozen' && (r.frozenUntil ?? 0) > now };
  }));
}

/** The same by WHMCS's service id, with the service's state. */
export async function sslView(db: Knex, whmcsServiceId: number): Promise<{ service_state: string; roles: SslRoleView[] }> {
  const svc = await serviceOf(db, whmcsServiceId);
  return { service_state: svc.state, roles: await sslRolesOf(db, svc.id) };
}

export interface SslRequester {
  /** Who asked, as the Operation Log names them ("admin", "WHMCS client #7", "api"). */
  actor: string;
  via: 'ui' | 'whmcs' | 'api';
  /** An admin's request lifts a freeze; a customer's does not. */
  admin: boolean;
}

async function record(db: Knex, whmcsServiceId: number, who: SslRequester, ok: boolean, message: string): Promise<void> {
  await inTx(db, async (trx) => {
    await recordOperations(trx, [{
      kind: 'action', finishedAt: await dbNow(trx), whmcsServiceId, operation: 'ssl-check', actor: who.actor.slice(0, 200), via: who.via,
      result: ok ? 'done' : 'refused', message: message.slice(0, 2000),
    }]);
  });
}

/** Refused with the reason, recorded either way. */
async function recorded<R extends { message: string }>(db: Knex, id: number, who: SslRequester, fn: () => Promise<R>): Promise<R> {
  try {
    const r = await fn();
    await record(db, id, who, true, r.message);
    return r;
  } catch (err) {
    if (err instanceof InputError) await record(db, id, who, false, err.message);
    throw err;
  }
}

/** "Issue / Renew now": the role's certificates (or all) are checked at once; the caller kicks the ssl-check job. */
export async function requestSslCheck(db: Knex, whmcsServiceId: number, role: SslRole | undefined, who: SslRequester): Promise<{ rows: number; message: string }> {
  return recorded(db, whmcsServiceId, who, async () => {
    const svc = await serviceOf(db, whmcsServiceId);
    if (svc.state === 'suspended') throw new InputError('service', `service ${whmcsServiceId} is suspended: its certificates are checked again once it is unsuspended`, 409);
    if (svc.state === 'terminated') throw new InputError('service', `service ${whmcsServiceId} is terminated`, 409);
    if (svc.state !== 'active') throw new InputError('service', `service ${whmcsServiceId} is ${svc.state}: SSL is checked once it is active`, 409);
    const rows = (await sslRowsOf(db, svc.id)).filter((r) => !role || r.role === role);
    if (rows.length === 0) throw new InputError('role', role ? `service ${whmcsServiceId} has no ${role} role with SSL` : `service ${whmcsServiceId} has no role with SSL`, 409);
    if (rows.every((r) => r.state === 'custom')) throw new InputError('role', `${rows.map((r) => r.domain).join(', ')} uses a custom certificate: remove it to go back to automatic SSL`, 409);
    const now = await dbNow(db);
    const frozen = rows.find((r) => r.state === 'frozen' && (r.frozenUntil ?? 0) > now);
    if (frozen && !who.admin && rows.every((r) => r.state === 'custom' || (r.state === 'frozen' && (r.frozenUntil ?? 0) > now))) {
      throw new InputError('role', `${frozen.domain}: paused until ${stamp(frozen.frozenUntil!)} after ${frozen.failures} failed attempts (Let's Encrypt limits how often we may ask)`, 409);
    }
    const n = await makeDueNow(db, svc.id, { ...(role ? { role } : {}), unfreeze: who.admin, now });
    const names = rows.filter((r) => r.state !== 'custom').map((r) => r.domain).join(', ');
    return { rows: n, message: `SSL check of ${names} queued${who.admin && frozen ? ' (freeze lifted)' : ''}` };
  });
}

export type SslActionName = 'renew' | 'upload-custom' | 'remove-custom';
export const SSL_ACTIONS: readonly SslActionName[] = ['renew', 'upload-custom', 'remove-custom'];

/** The customer's SSL actions (WHMCS's SslAction): renew, or H4's custom certificate upload / removal. */
export async function runSslAction(deps: CustomCertDeps, whmcsServiceId: number, body: { action: string; role: string; fields: Record<string, string> }, who: SslRequester): Promise<{ message: string; chain_id: number | null; kick: boolean }> {
  if (!(SSL_ACTIONS as readonly string[]).includes(body.action)) throw new InputError('action', `unknown SSL action "${String(body.action).slice(0, 40)}"; one of ${SSL_ACTIONS.join(', ')}`);
  if (body.role !== 'web' && body.role !== 'mail') throw new InputError('role', 'must be web or mail');
  const role: SslRole = body.role;
  const f = body.fields ?? {};
  if (body.action === 'renew') {
    const r = await requestSslCheck(deps.db, whmcsServiceId, role, who);
    return { message: r.message, chain_id: null, kick: true };
  }
  const svc = await serviceOf(deps.db, whmcsServiceId);
  if (!(await deps.db(T.ssl).where({ service_id: svc.id, role }).first('domain'))) throw new InputError('role', `service ${whmcsServiceId} has no ${role} role with SSL`, 409);
  if (body.action === 'upload-custom') {
    const r = await uploadCustomCertificate(deps, whmcsServiceId, role, { cert: f.certificate ?? '', key: f.private_key ?? '', chain: f.chain ?? '' }, who.actor, who.via);
    return { message: 'Your certificate is being installed.', chain_id: r.chain_id, kick: false };
  }
  const r = await removeCustomCertificate(deps, whmcsServiceId, role, who.actor, who.via);
  return { message: 'Your certificate is being removed; automatic SSL takes over again.', chain_id: r.chain_id, kick: false };
}
