// The /v1 routes behind the signature: one per WHMCS module call, the reads the module's pages
// and usage billing need, and the fleet inventory. A service in a path, a body or an answer is
// named by WHMCS's id (whmcs_service_id); hostbridge's own row id never leaves the daemon. Each route checks its body against its schema
// (schemas.ts) before it touches anything; lifecycle routes only write rows and answer.
import type express from 'express';
import type { ApiDeps } from './deps.ts';
import { jsonBody, pathId, sendPages, wrap } from './route-helpers.ts';
import { InputError } from '../common/errors.ts';
import { checkBody } from '../common/bodies.ts';
import { openApiDocument } from './openapi.ts';
import { REPLAYED } from './signature.ts';
import { createService, redeployZones, serviceOperation, zoneStates } from '../services/lifecycle.ts';
import { resetVmStatus } from '../services/vm-lifecycle.ts';
import { accountsPage, serviceView, usagePage } from '../services/reads.ts';
import { addServer, getServer, listGroups, listServers, removeServer, saveGroup, updateServer, type GroupInput, type ServerInput } from '../fleet/inventory.ts';
import { renderAdminFragment, renderServiceFragment, type Audience } from '../pages/whmcs.ts';
import type { Operation } from '../pipelines/plan.ts';
import { issueUiLink, type UiLinkBody } from '../pages/links.ts';
import { embeddedAdminPages } from '../pages/routes.ts';
import { addIpPoolRoutes } from './ip-pool-routes.ts';
import { addProxmoxRoutes } from './proxmox-routes.ts';
import { addKvmProfileRoutes } from './kvm-profile-routes.ts';
import { addVmBackupRoutes } from './vm-backup-routes.ts';
import { addConsoleRoutes } from './console-routes.ts';
import { addVmPanelRoutes } from './vm-panel-routes.ts';
import { addSslRoutes } from './ssl-routes.ts';
import { addHostingPanelRoutes } from './hosting-panel-routes.ts';
import { addHostingPlanRoutes } from './hosting-plan-routes.ts';
import { applyHestiaConfig, CONFIG_KEYS, groupConfig, lastApply, saveGroupConfig } from '../fleet/hestia-config.ts';

const OPERATIONS: Record<string, Exclude<Operation, 'deploy'>> = {
  suspend: 'suspend', unsuspend: 'unsuspend', terminate: 'terminate', 'change-package': 'change-package', 'change-password': 'change-password',
};
const ACTIONS: Record<string, Exclude<Operation, 'deploy'>> = {
  redeploy: 'redeploy', 'verify-repair': 'verify-repair', 'force-terminate': 'force-terminate', 'sync-usage': 'sync-usage',
  start: 'start', stop: 'stop', reboot: 'reboot',
};

export function addRoutes(app: express.Router, deps: ApiDeps): void {
  const { db, queue, masterKey } = deps;
  const woke = <T>(answer: T & { created?: boolean }) => {
    if (answer.created) deps.onTick?.();
    return answer;
  };

  app.post('/v1/services', wrap(async (req, res) => {
    // The nonce is spent beside the order's reads (server.ts left it for here); nothing is written before it is.
    const unspent = req.unspentNonce;
    const cleared = unspent ? unspent.spend().then((fresh) => { if (!fresh) throw new InputError('', REPLAYED, 401); }) : Promise.resolve();
    cleared.catch(() => {}); // awaited below, whatever else fails first
    try {
      res.json(woke(await createService(db, masterKey, jsonBody(req), cleared)));
    } catch (err) {
      await cleared; // a replayed request is answered as one, whatever else is wrong with it
      throw err;
    }
  }));
  app.post('/v1/services/:id/actions/reset-status', wrap(async (req, res) => {
    res.json(await resetVmStatus(db, pathId(req.params.id, 'WHMCS service id'), jsonBody(req)));
  }));
  app.post('/v1/services/:id/actions/:action', wrap(async (req, res) => {
    const op = ACTIONS[String(req.params.action)];
    if (!op) throw new InputError('', `unknown action "${String(req.params.action).slice(0, 40)}"; one of ${Object.keys(ACTIONS).join(', ')}`, 404);
    res.json(woke(await serviceOperation(queue, masterKey, op, pathId(req.params.id, 'WHMCS service id'), jsonBody(req))));
  }));
  // Before the /:op catch-all below, which would answer "unknown operation" for /console and /panel.
  addConsoleRoutes(app, deps);
  addVmPanelRoutes(app, deps);
  addSslRoutes(app, deps);
  addHostingPanelRoutes(app, deps);
  app.post('/v1/services/:id/:op', wrap(async (req, res) => {
    const op = OPERATIONS[String(req.params.op)];
    if (!op) throw new InputError('', `unknown operation "${String(req.params.op).slice(0, 40)}"; one of ${Object.keys(OPERATIONS).join(', ')}`, 404);
    res.json(woke(await serviceOperation(queue, masterKey, op, pathId(req.params.id, 'WHMCS service id'), jsonBody(req))));
  }));
  app.get('/v1/services/:id', wrap(async (req, res) => {
    res.json({ ok: true, service: await serviceView(db, pathId(req.params.id, 'WHMCS service id')) });
  }));
  app.get('/v1/services/:id/view', wrap(async (req, res) => {
    const audience = String(req.query.audience ?? 'client');
    if (audience !== 'client' && audience !== 'admin') throw new InputError('audience', 'must be client or admin', 400);
    const v = await serviceView(db, pathId(req.params.id, 'WHMCS service id'));
    res.json({ ok: true, state: v.state, ...renderServiceFragment(v, audience as Audience) });
  }));

  app.get('/v1/usage', wrap(async (req, res) => {
    let ids: number[] | null = null;
    if (req.query.whmcs_service_ids !== undefined) {
      const list = String(req.query.whmcs_service_ids).split(',').filter((s) => s !== '');
      if (list.length > 10000) throw new InputError('whmcs_service_ids', 'may list at most 10000 ids', 400);
      ids = list.map((s) => pathId(s, 'whmcs_service_ids entry'));
    }
    await sendPages(res, 'services', (after, limit) => usagePage(db, ids, after, limit));
  }));
  app.get('/v1/accounts', wrap(async (_req, res) => {
    await sendPages(res, 'accounts', (after, limit) => accountsPage(db, after, limit));
  }));

  app.get('/v1/server-groups', wrap(async (_req, res) => {
    res.json({ ok: true, groups: await listGroups(db) });
  }));
  app.post('/v1/server-groups', wrap(async (req, res) => {
    const id = await saveGroup(db, checkBody<GroupInput>('ServerGroup', jsonBody(req)));
    res.status(201).json({ ok: true, id });
  }));
  app.put('/v1/server-groups/:id', wrap(async (req, res) => {
    const id = await saveGroup(db, checkBody<GroupInput>('ServerGroup', jsonBody(req)), pathId(req.params.id, 'group id'));
    res.json({ ok: true, id });
  }));

  app.get('/v1/servers', wrap(async (_req, res) => {
    res.json({ ok: true, servers: await listServers(db) });
  }));
  app.post('/v1/servers', wrap(async (req, res) => {
    const id = await addServer(db, masterKey, checkBody<ServerInput>('Server', jsonBody(req)));
    res.status(201).json({ ok: true, id });
  }));
  app.get('/v1/servers/:id', wrap(async (req, res) => {
    const s = await getServer(db, pathId(req.params.id, 'server id'));
    if (!s) throw new InputError('', `server ${req.params.id} does not exist`, 404);
    res.json({ ok: true, server: s });
  }));
  app.put('/v1/servers/:id', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'server id');
    await updateServer(db, masterKey, id, checkBody<ServerInput>('Server', jsonBody(req)));
    res.json({ ok: true, id });
  }));
  app.delete('/v1/servers/:id', wrap(async (req, res) => {
    await removeServer(db, pathId(req.params.id, 'server id'));
    res.json({ ok: true });
  }));

  app.post('/v1/servers/:id/redeploy-zones', wrap(async (req, res) => {
    checkBody('Empty', jsonBody(req));
    const r = await redeployZones(db, pathId(req.params.id, 'server id'));
    if (r.chains.length) deps.onTick?.();
    res.json({ ok: true, ...r });
  }));
  app.get('/v1/dns-zones', wrap(async (req, res) => {
    const server = req.query.server_id === undefined ? undefined : pathId(req.query.server_id, 'server_id');
    res.json({ ok: true, zones: await zoneStates(db, server) });
  }));

  addIpPoolRoutes(app, deps);
  addProxmoxRoutes(app, deps);
  addVmBackupRoutes(app, deps);
  addKvmProfileRoutes(app, deps);
  addHostingPlanRoutes(app, deps);
  // Role-targeted HestiaCP configuration: the group's managed keys, and Apply to all / web / mail / DNS servers.
  app.get('/v1/server-groups/:id/hestia-config', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'server group id');
    const values = await groupConfig(db, id);
    res.json({
      ok: true, group_id: id, values,
      keys: CONFIG_KEYS.map((c) => ({ key: c.key, category: c.category, label: c.label, managed: c.key in values })),
      last_apply: await lastApply(db, id),
    });
  }));
  app.put('/v1/server-groups/:id/hestia-config', wrap(async (req, res) => {
    const id = pathId(req.params.id, 'server group id');
    const body = checkBody<{ values: Record<string, string | null> }>('HestiaConfig', jsonBody(req));
    await saveGroupConfig(db, id, body.values);
    res.json({ ok: true, group_id: id, values: await groupConfig(db, id) });
  }));
  app.post('/v1/server-groups/:id/apply-hestia-config', wrap(async (req, res) => {
    const body = checkBody<{ role: string }>('ApplyHestiaConfig', jsonBody(req));
    const r = await applyHestiaConfig(db, pathId(req.params.id, 'server group id'), body.role);
    if (r.queued.length) deps.onTick?.();
    res.json({ ok: true, ...r });
  }));

  app.post('/v1/ui-links', wrap(async (req, res) => {
    res.json(await issueUiLink(deps, checkBody<UiLinkBody>('UiLink', jsonBody(req)), req));
  }));

  app.get('/v1/admin/view', wrap(async (req, res) => {
    const page = String(req.query.page ?? 'overview');
    res.json({ ok: true, ...(await renderAdminFragment(db, page)) });
  }));
  // Every admin page inside WHMCS: the addon asks for one as the WHMCS admin logged in there (pages/embed.ts).
  const adminPages = embeddedAdminPages(deps);
  app.post('/v1/admin/pages', (req, res, next) => {
    let body: unknown;
    try {
      body = jsonBody(req);
    } catch (err) {
      return next(err);
    }
    adminPages(body, req, res, next);
  });
  app.get('/v1/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
}
