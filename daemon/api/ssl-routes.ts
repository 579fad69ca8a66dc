// Automatic SSL through the signed API: a service's certificates (GET /ssl), "Issue / Renew now"
// (POST /ssl/check) and the customer's SSL actions from the WHMCS client area (POST /ssl/actions:
// renew, upload-custom, remove-custom). {id} is WHMCS's service id. A check request runs the
// ssl-check job at once, so the answer's effect shows within seconds rather than at its next interval.
import type express from 'express';
import type { ApiDeps } from './deps.ts';
import { jsonBody, pathId, wrap } from './route-helpers.ts';
import { InputError } from '../common/errors.ts';
import { requestSslCheck, runSslAction, sslView } from '../services/ssl-auto.ts';
import type { SslRole } from '../ssl/cadence.ts';

/** Runs ssl-check now, in the background; when it is running already (here or elsewhere) that run or the next takes the rows. */
export function kickSslCheck(deps: Pick<ApiDeps, 'scheduler' | 'logger'>): void {
  if (!deps.scheduler) return;
  deps.scheduler.runNow('ssl-check', (line) => deps.logger.debug(line)).catch((err: Error) => deps.logger.debug(`ssl-check not started now: ${err.message}`));
}

function roleOf(v: unknown, required: boolean): SslRole | undefined {
  if (v === undefined && !required) return undefined;
  if (v === 'web' || v === 'mail') return v;
  throw new InputError('role', 'must be web or mail');
}

function actorOf(v: unknown, fallback: string): string {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || v.trim() === '' || v.length > 200 || /[\0\r\n]/.test(v)) throw new InputError('actor', 'must be one line of at most 200 characters');
  return v.trim();
}

function objectBody(req: express.Request, allowed: string[]): Record<string, unknown> {
  const b = jsonBody(req);
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new InputError('', 'the body must be a JSON object', 400);
  const extra = Object.keys(b).filter((k) => !allowed.includes(k));
  if (extra.length) throw new InputError(extra[0]!, `is not a field of this request; the fields are ${allowed.join(', ')}`);
  return b as Record<string, unknown>;
}

export function addSslRoutes(app: express.Router, deps: ApiDeps): void {
  app.get('/v1/services/:id/ssl', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'WHMCS service id');
    const v = await sslView(deps.db, id);
    res.json({ ok: true, whmcs_service_id: id, service_state: v.service_state, roles: v.roles.map((r) => ({
      role: r.role, domain: r.domain, names: r.names, state: r.state, line: r.customerLine, last_result: r.lastResult, last_error: r.lastError,
      checks: r.checks, failures: r.failures, frozen_until: r.frozenUntil, next_check_at: r.nextCheckAt, last_check_at: r.lastCheckAt,
      not_after: r.notAfter, issuer: r.issuer, custom: r.custom,
    })) });
  }));

  app.post('/v1/services/:id/ssl/check', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'WHMCS service id');
    const b = objectBody(req, ['role', 'actor']);
    // The signed API is the admin's tool (WHMCS's admin area, scripts): it may lift a freeze.
    const r = await requestSslCheck(deps.db, id, roleOf(b.role, false), { actor: actorOf(b.actor, 'api'), via: 'api', admin: true });
    kickSslCheck(deps);
    res.json({ ok: true, whmcs_service_id: id, rows: r.rows, message: r.message });
  }));

  app.post('/v1/services/:id/ssl/actions', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'WHMCS service id');
    const b = objectBody(req, ['action', 'role', 'fields', 'actor']);
    if (typeof b.action !== 'string') throw new InputError('action', 'must be renew, upload-custom or remove-custom');
    const fields = b.fields === undefined ? {} : b.fields;
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields) || Object.values(fields).some((v) => typeof v !== 'string')) throw new InputError('fields', 'must be an object of strings');
    // The customer's own request (WHMCS's client area): a freeze stays.
    const r = await runSslAction({ db: deps.db, masterKey: deps.masterKey, ...(deps.onTick ? { onTick: deps.onTick } : {}) }, id,
      { action: b.action, role: String(roleOf(b.role, true)), fields: fields as Record<string, string> }, { actor: actorOf(b.actor, 'WHMCS client'), via: 'whmcs', admin: false });
    if (r.kick) kickSslCheck(deps);
    res.json({ ok: true, whmcs_service_id: id, message: r.message, chain_id: r.chain_id });
  }));
}
