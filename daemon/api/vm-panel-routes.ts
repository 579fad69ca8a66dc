// The customer's VM panel through the signed API (issue 16). The WHMCS module asks, as the client
// logged in to its client area: a tab's HTML (POST /panel), an action of a form (POST
// /panel/actions) and the live figures the Overview's script polls (GET /panel/live). The
// customer's browser never reaches these: WHMCS carries every request. {id} is WHMCS's service id.
import type express from 'express';
import type { ApiDeps } from './deps.ts';
import { jsonBody, pathId, wrap } from './route-helpers.ts';
import { checkBody } from '../common/bodies.ts';
import { InputError } from '../common/errors.ts';
import { renderVmPanel, type PanelRequest } from '../pages/vm-panel/panel.ts';
import { panelLive } from '../pages/vm-panel/live.ts';
import { runPanelAction } from '../services/vm-panel-actions.ts';

/** The job that carries a backup run to its end: started now, so the customer does not wait for its next interval. */
const RUN_JOBS: Readonly<Record<string, string>> = { 'backup-create': 'backup-status', 'backup-restore': 'restore-backup' };

/**
 * Runs the job of a run the customer just queued, in the background. Its lock keeps it to one
 * daemon; when it is already running (here or elsewhere), that run or the next takes the new one.
 */
function followRun(deps: ApiDeps, action: string): void {
  const job = RUN_JOBS[action];
  if (!job || !deps.scheduler) return;
  deps.scheduler.runNow(job, (line) => deps.logger.debug(line)).catch((err: Error) => deps.logger.debug(`${job} not started now: ${err.message}`));
}

interface PanelActionBody { client_id: number; action: string; fields?: Record<string, string> }

export function addVmPanelRoutes(app: express.Router, deps: ApiDeps): void {
  const { db, queue, masterKey } = deps;

  app.post('/v1/services/:id/panel', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'WHMCS service id');
    const body = checkBody<PanelRequest>('VmPanel', jsonBody(req));
    res.json({ ok: true, ...(await renderVmPanel({ db, masterKey }, id, body)) });
  }));

  app.post('/v1/services/:id/panel/actions', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'WHMCS service id');
    const body = checkBody<PanelActionBody>('VmPanelAction', jsonBody(req));
    const r = await runPanelAction(queue, masterKey, id, body.action, body.fields ?? {}, { kind: 'client', clientId: body.client_id });
    if (r.chainId !== null) deps.onTick?.();
    if (r.runId) followRun(deps, body.action);
    res.json({ ok: true, message: r.message, chain_id: r.chainId, run_id: r.runId ?? null });
  }));

  app.get('/v1/services/:id/panel/live', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'WHMCS service id');
    const clientId = req.query.client_id === undefined ? undefined : pathId(req.query.client_id, 'client_id');
    if (Object.keys(req.query).some((k) => k !== 'client_id')) throw new InputError('', 'the only query parameter is client_id', 400);
    res.json(await panelLive({ db, masterKey }, id, clientId));
  }));
}
