// The customer's page of one service (opened with a client link): while the service deploys, live
// progress (progress.ts; the page polls progress.json); then the service panel; after a failure,
// an error screen whose Try again enqueues Verify & Repair. Read from the database only.
import type { Router } from 'express';
import type { Knex } from 'knex';
import { serviceView, type ServiceView } from '../services/reads.ts';
import { serviceOperation } from '../services/lifecycle.ts';
import { InputError } from '../common/errors.ts';
import { back, idParam, page, requireService, setFlash, UiError, wrap } from './http.ts';
import type { PageDeps } from './deps.ts';
import { phase, progressOf } from './progress.ts';

/** The service as its pages show it; a 404 page when hostbridge does not know it. */
export async function viewOf(db: Knex, whmcsServiceId: number): Promise<ServiceView> {
  try {
    return await serviceView(db, whmcsServiceId);
  } catch (err) {
    if (err instanceof InputError && err.status === 404) throw new UiError(404, `Service ${whmcsServiceId} is not known here.`);
    throw err;
  }
}

export function addCustomerPages(r: Router, deps: PageDeps): void {
  r.get('/service/:id', wrap(async (req, res) => {
    const id = idParam(req.params.id, 'service');
    requireService(req, id);
    const v = await viewOf(deps.db, id);
    const prog = progressOf(v);
    await page(deps, req, res, 'service', {
      title: v.domain ?? `Service ${id}`, id, v, prog,
      deploying: prog.phase === 'deploying', failed: prog.phase === 'failed', ready: prog.phase === 'ready', busy: prog.phase === 'busy',
      poll: prog.phase === 'deploying' || prog.phase === 'busy',
    });
  }));

  r.get('/service/:id/progress.json', wrap(async (req, res) => {
    const id = idParam(req.params.id, 'service');
    const s = req.uiSession;
    if (!s || (s.kind !== 'admin' && !s.services.includes(id))) {
      res.status(s ? 403 : 401).json({ error: s ? 'this session may not see that service' : 'no session: open the page from your client area again' });
      return;
    }
    res.json(progressOf(await viewOf(deps.db, id)));
  }));

  r.post('/service/:id/retry', wrap(async (req, res) => {
    const id = idParam(req.params.id, 'service');
    const s = requireService(req, id);
    const v = await viewOf(deps.db, id);
    if (phase(v) !== 'failed') {
      await setFlash(deps.db, s, 'Your service is not in a failed state; nothing to try again.', 'error');
      return back(res, `/ui/service/${id}`);
    }
    const answer = await serviceOperation(deps.queue, deps.masterKey, 'verify-repair', id, {});
    if (answer.created) deps.onTick?.();
    await setFlash(deps.db, s, 'We are trying again. This page follows the progress.');
    back(res, `/ui/service/${id}`);
  }));
}
