// POST /v1/services/{id}/console: a one-time link to a KVM service's browser console (daemon/console).
// {id} is WHMCS's service id; the body names the WHMCS client asking (0: an admin).
import type express from 'express';
import type { ApiDeps } from './deps.ts';
import { jsonBody, pathId, wrap } from './route-helpers.ts';
import { checkBody } from '../common/bodies.ts';
import { issueConsoleLink, type ConsoleLinkBody } from '../console/issue.ts';

export function addConsoleRoutes(app: express.Router, deps: ApiDeps): void {
  app.post('/v1/services/:id/console', wrap(async (req, res) => {
    const whmcsId = pathId(req.params.id, 'WHMCS service id');
    const body = checkBody<ConsoleLinkBody>('ConsoleLink', jsonBody(req));
    res.json(await issueConsoleLink(deps.db, deps.consoleUrl ?? null, whmcsId, body));
  }));
}
