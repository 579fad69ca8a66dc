// The customer's hosting panel through the signed API (issue 13). The WHMCS module asks, as the
// client logged in to its client area: a tab's HTML (POST /hosting-panel), an action of a form
// (POST /hosting-panel/actions) and the running action's progress the panel polls (GET
// /hosting-panel/live). The customer's browser never reaches these: WHMCS carries every request.
// {id} is WHMCS's service id. Live reads of HestiaCP go through the daemon's FleetAccess with a
// page-read IO: a logger at debug and a time limit, so a slow node cannot hold a client-area page.
import type express from 'express';
import type { ApiDeps } from './deps.ts';
import { jsonBody, pathId, wrap } from './route-helpers.ts';
import { InputError } from '../common/errors.ts';
import { FleetAccess } from '../fleet/access.ts';
import { renderHostingPanel } from '../pages/hosting-panel/panel.ts';
import { hostingLive } from '../pages/hosting-panel/live.ts';
import { clientActor, runHostingAction, type HestiaOpener } from '../services/hosting-panel/dispatch.ts';

/** How long one page read of a node may take before the page says "cannot be read right now". */
const PAGE_READ_MS = 15_000;

function record(raw: unknown): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError('', 'the body must be a JSON object', 400);
  return raw as Record<string, unknown>;
}

function clientIdOf(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new InputError('client_id', 'must be the WHMCS client id (a positive whole number)');
  return v;
}

function short(field: string, v: unknown, max: number): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new InputError(field, `must be a string of 1 to ${max} characters`);
  return v;
}

/** The form's fields: strings only, names as the module sends them ([a-z][a-z0-9_]*), each at most 4096 characters. */
function fieldsOf(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new InputError('fields', 'must be an object of strings');
  const out: Record<string, string> = {};
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > 40) throw new InputError('fields', 'has too many fields');
  for (const [k, x] of entries) {
    if (!/^[a-z][a-z0-9_]{0,39}$/.test(k)) throw new InputError('fields', 'holds a field name that is not [a-z][a-z0-9_]*');
    if (typeof x !== 'string') throw new InputError(`fields.${k}`, 'must be a string');
    if (x.length > 4096) throw new InputError(`fields.${k}`, 'must be at most 4096 characters');
    out[k] = x;
  }
  return out;
}

export function addHostingPanelRoutes(app: express.Router, deps: ApiDeps): void {
  const { db, queue, masterKey } = deps;
  let own: FleetAccess | null = null;
  const fleet = (): FleetAccess => deps.fleet ?? (own ??= new FleetAccess(db, masterKey, deps.logger));
  const hestia: HestiaOpener = async (serverId) => {
    const io = { log: (line: string) => deps.logger.debug(`hosting panel read: ${line}`), signal: AbortSignal.timeout(PAGE_READ_MS) };
    return (await fleet().hestia(serverId, io)).driver;
  };

  app.post('/v1/services/:id/hosting-panel', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'WHMCS service id');
    const body = record(jsonBody(req));
    const out = await renderHostingPanel({ db, hestia }, id, {
      client_id: clientIdOf(body.client_id), tab: typeof body.tab === 'string' ? body.tab.slice(0, 40) : 'overview',
      base: typeof body.base === 'string' ? body.base.slice(0, 200) : undefined, token: typeof body.token === 'string' ? body.token.slice(0, 200) : undefined,
    });
    res.json({ ok: true, ...out });
  }));

  app.post('/v1/services/:id/hosting-panel/actions', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'WHMCS service id');
    const body = record(jsonBody(req));
    const clientId = clientIdOf(body.client_id);
    const r = await runHostingAction({ queue, masterKey, hestia }, id, short('action', body.action, 40), fieldsOf(body.fields), clientActor(clientId), clientId);
    deps.onTick?.();
    res.json({ ok: true, message: r.message, chain_id: r.chainId });
  }));

  app.get('/v1/services/:id/hosting-panel/live', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'WHMCS service id');
    if (Object.keys(req.query).some((k) => k !== 'client_id')) throw new InputError('', 'the only query parameter is client_id', 400);
    const clientId = req.query.client_id === undefined ? null : pathId(req.query.client_id, 'client_id');
    res.json(await hostingLive(db, id, clientId));
  }));
}

