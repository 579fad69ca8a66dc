// /v1/hosting-plans: the hosting plan profiles, behind the signature like every /v1 route. The list
// also feeds the WHMCS module's "Hosting plan" dropdown (configoption16). Bodies are checked field
// by field (normaliseHostingPlan, which also refuses unknown fields): a bad one is a 422 naming the
// field, and nothing is saved.
import type express from 'express';
import type { ApiDeps } from './deps.ts';
import { jsonBody, pathId, wrap } from './route-helpers.ts';
import { InputError } from '../common/errors.ts';
import { addHostingPlan, getHostingPlan, hostingPlanServices, listHostingPlans, removeHostingPlan, updateHostingPlan } from '../fleet/hosting-plans.ts';
import type { HostingPlanInput } from '../pipelines/hosting-plan.ts';

export function addHostingPlanRoutes(app: express.Router, deps: ApiDeps): void {
  const { db } = deps;
  app.get('/v1/hosting-plans', wrap(async (_req, res) => {
    res.json({ ok: true, plans: await listHostingPlans(db) });
  }));
  app.post('/v1/hosting-plans', wrap(async (req, res) => {
    const id = await addHostingPlan(db, jsonBody(req) as HostingPlanInput);
    res.status(201).json({ ok: true, id });
  }));
  app.get('/v1/hosting-plans/:id', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'hosting plan id');
    const plan = await getHostingPlan(db, id);
    if (!plan) throw new InputError('', `hosting plan ${id} does not exist`, 404);
    res.json({ ok: true, plan, services: await hostingPlanServices(db, id) });
  }));
  app.put('/v1/hosting-plans/:id', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'hosting plan id');
    await updateHostingPlan(db, id, jsonBody(req) as HostingPlanInput);
    res.json({ ok: true, id });
  }));
  app.delete('/v1/hosting-plans/:id', wrap(async (req, res) => {
    await removeHostingPlan(db, pathId(req.params.id, 'hosting plan id'));
    res.json({ ok: true });
  }));
}
