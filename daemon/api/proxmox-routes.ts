// The /v1/proxmox routes behind the signature: read a cluster API's certificate for the admin to
// confirm, clusters (add, edit, remove, discovery now), the admin's storage roles, nodes kept out
// of placement, VLANs per bridge, templates per OS, and the health figures. No answer ever carries
// a cluster's secret: views show only "set". Bodies are checked against their schemas (common/bodies.ts).
import type express from 'express';
import type { Request } from 'express';
import type { ApiDeps } from './deps.ts';
import { jsonBody, pathId, wrap } from './route-helpers.ts';
import { InputError } from '../common/errors.ts';
import { checkBody } from '../common/bodies.ts';
import {
  addCluster, addTemplate, getCluster, listClusters, probeEndpoint, removeCluster, removeTemplate, setBridgeVlans, setNodeEnabled,
  setStorageRoles, syncCluster, updateCluster, updateTemplate, PVE_PORT, type ClusterInput, type ClusterView, type StorageRoles, type TemplateInput,
} from '../fleet/proxmox-clusters.ts';

/** For the OpenAPI document (api/openapi.ts): the same routes, with their body schemas. */
export const PROXMOX_OPENAPI_ROUTES = [
  { method: 'post', path: '/v1/proxmox/probe', summary: 'The certificate a Proxmox VE API endpoint shows (fingerprint, subject, issuer, expiry), read without trusting it, to confirm before adding', body: 'ProxmoxProbe' },
  { method: 'get', path: '/v1/proxmox/clusters', summary: 'Proxmox VE clusters with nodes, storages, bridges, templates and health (secrets never shown)' },
  { method: 'post', path: '/v1/proxmox/clusters', summary: 'Add a cluster: one pinned call checks the fingerprint and credential first; nothing is saved when it fails', body: 'ProxmoxCluster' },
  { method: 'get', path: '/v1/proxmox/clusters/{cluster_id}', summary: 'One cluster' },
  { method: 'put', path: '/v1/proxmox/clusters/{cluster_id}', summary: 'Edit a cluster (fields left out are kept; new endpoints, fingerprint or credential are checked first)', body: 'ProxmoxCluster' },
  { method: 'delete', path: '/v1/proxmox/clusters/{cluster_id}', summary: 'Remove a cluster nothing refers to' },
  { method: 'post', path: '/v1/proxmox/clusters/{cluster_id}/sync', summary: 'Discover nodes, storages and bridges and read the health figures now', body: 'Empty' },
  { method: 'get', path: '/v1/proxmox/clusters/{cluster_id}/health', summary: 'Version, status, per-node CPU, RAM, disk and VM count, storage use' },
  { method: 'put', path: '/v1/proxmox/clusters/{cluster_id}/storages/{storage_id}', summary: 'A storage\'s roles: templates, system disks, additional disks, backups', body: 'ProxmoxStorageRoles' },
  { method: 'put', path: '/v1/proxmox/clusters/{cluster_id}/nodes/{node}', summary: 'Keep a node in or out of placement', body: 'ProxmoxNode' },
  { method: 'put', path: '/v1/proxmox/clusters/{cluster_id}/bridges/{iface}', summary: 'The VLANs a bridge may carry: any, none, or ids and ranges', body: 'ProxmoxBridge' },
  { method: 'get', path: '/v1/proxmox/clusters/{cluster_id}/templates', summary: 'Templates per OS' },
  { method: 'post', path: '/v1/proxmox/clusters/{cluster_id}/templates', summary: 'Add a template (checked on the cluster: it exists on that node and is a template)', body: 'ProxmoxTemplate' },
  { method: 'put', path: '/v1/proxmox/clusters/{cluster_id}/templates/{template_id}', summary: 'Edit a template (fields left out are kept)', body: 'ProxmoxTemplate' },
  { method: 'delete', path: '/v1/proxmox/clusters/{cluster_id}/templates/{template_id}', summary: 'Remove a template' },
] as const;

/** A node or bridge name in a path: what Proxmox allows there, nothing else. */
function pathName(value: unknown, what: string): string {
  const s = String(value);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(s)) throw new InputError('', `the ${what} in the path is not a valid name: "${s.slice(0, 40)}"`, 400);
  return s;
}

/** The health part of a cluster view: the figures the pages and monitoring read. */
export function healthOf(c: ClusterView) {
  return {
    id: c.id, name: c.name, status: c.status, version: c.version, vmCount: c.vmCount, lastCheckedAt: c.lastCheckedAt, lastError: c.lastError,
    nodes: c.nodes.map((n) => ({ name: n.name, status: n.status, enabled: n.enabled, maxcpu: n.maxcpu, cpuPct: n.cpuPct, maxmem: n.maxmem, mem: n.mem, memPct: n.memPct, maxdisk: n.maxdisk, disk: n.disk, diskPct: n.diskPct, uptime: n.uptime, vmCount: n.vmCount })),
    storages: c.storages.map((s) => ({ id: s.id, storage: s.storage, node: s.node, active: s.active, total: s.total, used: s.used, avail: s.avail, usedPct: s.usedPct })),
  };
}

export function addProxmoxRoutes(app: express.Router, deps: ApiDeps): void {
  const { db, masterKey } = deps;
  const clusterId = (req: Request) => pathId(req.params.id, 'cluster id');

  app.post('/v1/proxmox/probe', wrap(async (req, res) => {
    const b = checkBody<{ host: string; port?: number }>('ProxmoxProbe', jsonBody(req));
    res.json({ ok: true, certificate: await probeEndpoint(b.host, b.port ?? PVE_PORT) });
  }));

  app.get('/v1/proxmox/clusters', wrap(async (_req, res) => {
    res.json({ ok: true, clusters: await listClusters(db) });
  }));
  app.post('/v1/proxmox/clusters', wrap(async (req, res) => {
    const r = await addCluster(db, masterKey, checkBody<ClusterInput>('ProxmoxCluster', jsonBody(req)));
    res.status(201).json({ ok: true, ...r });
  }));
  app.get('/v1/proxmox/clusters/:id', wrap(async (req, res) => {
    res.json({ ok: true, cluster: await getCluster(db, clusterId(req)) });
  }));
  app.put('/v1/proxmox/clusters/:id', wrap(async (req, res) => {
    const id = clusterId(req);
    await updateCluster(db, masterKey, id, jsonBody(req) as Partial<ClusterInput>);
    res.json({ ok: true, id });
  }));
  app.delete('/v1/proxmox/clusters/:id', wrap(async (req, res) => {
    await removeCluster(db, clusterId(req));
    res.json({ ok: true });
  }));

  app.post('/v1/proxmox/clusters/:id/sync', wrap(async (req, res) => {
    checkBody('Empty', jsonBody(req));
    const r = await syncCluster(db, masterKey, clusterId(req));
    if (r.status === 'offline') throw new InputError('', `Proxmox cluster "${r.name}" did not answer: ${r.error}`, 502);
    res.json({ ok: true, result: r });
  }));
  app.get('/v1/proxmox/clusters/:id/health', wrap(async (req, res) => {
    res.json({ ok: true, health: healthOf(await getCluster(db, clusterId(req))) });
  }));

  app.put('/v1/proxmox/clusters/:id/storages/:storage', wrap(async (req, res) => {
    const id = clusterId(req);
    await setStorageRoles(db, id, pathId(req.params.storage, 'storage id'), checkBody<StorageRoles>('ProxmoxStorageRoles', jsonBody(req)));
    res.json({ ok: true });
  }));
  app.put('/v1/proxmox/clusters/:id/nodes/:node', wrap(async (req, res) => {
    const id = clusterId(req);
    const b = checkBody<{ enabled: boolean }>('ProxmoxNode', jsonBody(req));
    await setNodeEnabled(db, id, pathName(req.params.node, 'node'), b.enabled);
    res.json({ ok: true });
  }));
  app.put('/v1/proxmox/clusters/:id/bridges/:iface', wrap(async (req, res) => {
    const id = clusterId(req);
    const b = checkBody<{ vlans: string }>('ProxmoxBridge', jsonBody(req));
    res.json({ ok: true, vlans: await setBridgeVlans(db, id, pathName(req.params.iface, 'bridge'), b.vlans) });
  }));

  app.get('/v1/proxmox/clusters/:id/templates', wrap(async (req, res) => {
    res.json({ ok: true, templates: (await getCluster(db, clusterId(req))).templates });
  }));
  app.post('/v1/proxmox/clusters/:id/templates', wrap(async (req, res) => {
    const id = clusterId(req);
    const templateId = await addTemplate(db, masterKey, id, checkBody<TemplateInput>('ProxmoxTemplate', jsonBody(req)));
    res.status(201).json({ ok: true, id: templateId });
  }));
  app.put('/v1/proxmox/clusters/:id/templates/:template', wrap(async (req, res) => {
    const id = clusterId(req);
    const templateId = pathId(req.params.template, 'template id');
    await updateTemplate(db, masterKey, id, templateId, jsonBody(req) as Partial<TemplateInput>);
    res.json({ ok: true, id: templateId });
  }));
  app.delete('/v1/proxmox/clusters/:id/templates/:template', wrap(async (req, res) => {
    await removeTemplate(db, clusterId(req), pathId(req.params.template, 'template id'));
    res.json({ ok: true });
  }));
}
