// Infrastructure › Proxmox VE: the clusters with their status and per-node CPU, RAM, disk and VM
// count; adding one in two steps (the endpoints first, whose certificate is read and shown, then the
// name and credential with the fingerprint to confirm); a cluster's page with its nodes (in or out
// of placement), storages (role checkboxes), bridges (VLANs), templates, edit form, sync and
// removal. A secret is never shown back: the fields stay empty, "leave blank to keep".
import type { Request, Response, Router } from 'express';
import { InputError } from '../../common/errors.ts';
import {
  addCluster, addTemplate, getCluster, listClusters, parseEndpoint, probeEndpoint, removeCluster, removeTemplate, setBridgeVlans, setNodeEnabled,
  setStorageRoles, syncCluster, updateCluster, type CertificateInfo, type ClusterInput, type ClusterView, type TemplateInput,
} from '../../fleet/proxmox-clusters.ts';
import { act, back, idParam, page, requireAdmin, setFlash, UiError, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';

type Form = Record<string, unknown>;
const ROLES = ['templates', 'system', 'additional', 'backups'] as const;
const ROLE_LABELS: Record<(typeof ROLES)[number], string> = { templates: 'Templates', system: 'System disks', additional: 'Additional disks', backups: 'Backups' };

const str = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : '');
const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

function gbText(bytes: number | null): string {
  if (bytes === null) return '—';
  const gb = bytes / 1024 ** 3;
  return gb >= 1024 ? `${(gb / 1024).toFixed(1)} TB` : `${gb >= 10 || gb === 0 ? Math.round(gb) : gb.toFixed(1)} GB`;
}

function uptimeText(s: number | null): string {
  if (!s) return '';
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${Math.floor((s % 3600) / 60)} min` : `${Math.floor(s / 60)} min`;
}

/** The stylesheet's colour for a status: green, amber, red. */
const STATUS_CLASS: Record<string, string> = { online: 'active', degraded: 'cancelled', offline: 'failed' };

/** A cluster with the figures a page prints, already formatted. */
function shown(c: ClusterView) {
  return {
    ...c, statusClass: STATUS_CLASS[c.status] ?? 'unknown',
    endpointsText: c.endpoints.map((e) => `${e.host}:${e.port}`).join('\n'),
    nodes: c.nodes.map((n) => ({
      ...n, memText: n.maxmem === null ? '—' : `${n.memPct ?? '?'}% of ${gbText(n.maxmem)}`, diskText: n.maxdisk === null ? '—' : `${n.diskPct ?? '?'}% of ${gbText(n.maxdisk)}`,
      cpuText: n.cpuPct === null ? '—' : `${n.cpuPct}% of ${n.maxcpu ?? '?'} CPU`, uptimeText: uptimeText(n.uptime), statusClass: STATUS_CLASS[n.status] ?? 'unknown',
    })),
    storages: c.storages.map((s) => ({
      ...s, where: s.node ?? 'shared', useText: s.total === null ? '—' : `${gbText(s.used)} of ${gbText(s.total)} (${s.usedPct ?? '?'}%), ${gbText(s.avail)} free`,
      roleBoxes: ROLES.map((r) => ({ role: r, label: ROLE_LABELS[r], checked: s.roles[r] })),
    })),
    bridges: c.bridges.map((b) => ({ ...b, vlansText: b.vlans === '' ? 'none' : b.vlans })),
    storageUse: (() => {
      const total = c.storages.filter((s) => s.present).reduce((a, s) => a + (s.total ?? 0), 0);
      const used = c.storages.filter((s) => s.present).reduce((a, s) => a + (s.used ?? 0), 0);
      return total > 0 ? `${gbText(used)} of ${gbText(total)}` : '—';
    })(),
  };
}

/** The endpoints textarea: one host[:port] per line (or separated by commas). */
function endpointsOf(text: string): Array<{ host: string; port: number }> {
  const lines = text.split(/[\r\n,]+/).map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) throw new InputError('endpoints', 'give at least one endpoint: host or host:port (8006 by default)');
  return lines.map((l, i) => parseEndpoint(l, `endpoints.${i}`));
}

/** The add and edit forms as the API's body: empty fields are left out (a blank secret keeps the stored one). */
function clusterInput(form: Form): Partial<ClusterInput> {
  const out: Record<string, unknown> = {};
  const name = str(form.name).trim();
  if (name !== '') out.name = name;
  if (str(form.endpoints).trim() !== '') out.endpoints = endpointsOf(str(form.endpoints));
  const fp = str(form.fingerprint_sha256).trim();
  if (fp !== '') out.fingerprint_sha256 = fp;
  const max = str(form.max_tasks_per_node).trim();
  if (max !== '') {
    if (!/^\d{1,2}$/.test(max)) throw new InputError('max_tasks_per_node', 'must be a whole number from 1 to 16');
    out.max_tasks_per_node = Number(max);
  }
  const kind = str(form.credential_kind);
  const authId = str(form.auth_id).trim();
  const secret = str(form.secret);
  if (kind === 'password') {
    if (authId !== '') out.username = authId;
    if (secret !== '') out.password = secret;
  } else {
    if (authId !== '') out.token_id = authId;
    if (secret !== '') out.token_secret = secret;
  }
  return out;
}

/** What the add form shows again after an error: what was typed, but never the secret. */
const echo = (form: Form) => ({
  name: str(form.name), endpoints: str(form.endpoints), max_tasks_per_node: str(form.max_tasks_per_node) || '2',
  credential_kind: str(form.credential_kind) === 'password' ? 'password' : 'token', auth_id: str(form.auth_id),
});

function certOf(form: Form): CertificateInfo | null {
  const fp = str(form.fingerprint_sha256);
  if (!fp) return null;
  return { host: str(form.cert_host), port: Number(str(form.cert_port)) || 8006, fingerprintSha256: fp, subject: str(form.cert_subject), issuer: str(form.cert_issuer), validTo: str(form.cert_valid_to) };
}

const problem = (err: unknown): string | null => (err instanceof InputError ? err.message : null);

export function addProxmoxPages(r: Router, deps: PageDeps): void {
  const { db, masterKey } = deps;
  const clusterPath = (id: number) => `/ui/admin/proxmox/${id}`;

  r.get('/admin/proxmox', wrap(async (req, res) => {
    requireAdmin(req);
    await page(deps, req, res, 'admin-proxmox', { title: 'Proxmox VE clusters', nav: 'proxmox', clusters: (await listClusters(db)).map(shown) });
  }));

  const newForm = async (req: Request, res: Response, o: { values: Record<string, unknown>; cert?: CertificateInfo | null; error?: string | null }, status = 200) => {
    await page(deps, req, res, 'admin-proxmox-new', { title: 'Add a Proxmox VE cluster', nav: 'proxmox', vals: o.values, cert: o.cert ?? null, error: o.error ?? null }, status);
  };

  r.get('/admin/proxmox/new', wrap(async (req, res) => {
    requireAdmin(req);
    await newForm(req, res, { values: echo({}) });
  }));

  // Step 1 → 2: read the first endpoint's certificate and show it for the admin to compare.
  r.post('/admin/proxmox/probe', wrap(async (req, res) => {
    requireAdmin(req);
    const form = (req.body ?? {}) as Form;
    let cert: CertificateInfo;
    try {
      const first = endpointsOf(str(form.endpoints))[0]!;
      cert = await probeEndpoint(first.host, first.port);
    } catch (err) {
      const msg = problem(err);
      if (msg === null) throw err;
      return newForm(req, res, { values: echo(form), error: `${msg}.` }, 422);
    }
    await newForm(req, res, { values: echo(form), cert });
  }));

  r.post('/admin/proxmox', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const form = (req.body ?? {}) as Form;
    const cert = certOf(form);
    let id: number;
    try {
      if (!cert) throw new InputError('fingerprint_sha256', 'read the certificate first (step 1)');
      if (str(form.confirm) !== 'yes') throw new InputError('confirm', 'tick the box once you have compared the fingerprint with the one the node shows');
      id = (await addCluster(db, masterKey, clusterInput(form) as ClusterInput)).id;
    } catch (err) {
      const msg = problem(err);
      if (msg === null) throw err;
      return newForm(req, res, { values: echo(form), cert, error: `${msg}.` }, 422);
    }
    const sync = await syncCluster(db, masterKey, id);
    await setFlash(db, s, `Proxmox cluster "${str(form.name).trim()}" added (#${id}); discovery: ${sync.status}, ${sync.nodes} node(s), ${sync.storages} storage(s).`);
    back(res, clusterPath(id));
  }));

  const clusterPage = async (req: Request, res: Response, id: number, o: { error?: string | null; values?: Record<string, unknown> } = {}, status = 200) => {
    const c = await getCluster(db, id).catch((err) => {
      if (err instanceof InputError && err.status === 404) throw new UiError(404, `Proxmox cluster #${id} does not exist.`);
      throw err;
    });
    const v = shown(c);
    await page(deps, req, res, 'admin-proxmox-cluster', {
      title: `Proxmox cluster ${c.name}`, nav: 'proxmox', c: v, error: o.error ?? null,
      vals: o.values ?? { name: c.name, endpoints: v.endpointsText, fingerprint_sha256: c.fingerprintSha256, max_tasks_per_node: String(c.maxTasksPerNode), credential_kind: c.credentialKind, auth_id: c.authId },
      roles: ROLES.map((r) => ({ role: r, label: ROLE_LABELS[r] })),
      nodeNames: c.nodes.filter((n) => n.present).map((n) => n.name),
    }, status);
  };

  r.get('/admin/proxmox/:id', wrap(async (req, res) => {
    requireAdmin(req);
    await clusterPage(req, res, idParam(req.params.id, 'Proxmox cluster'));
  }));

  r.post('/admin/proxmox/:id', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'Proxmox cluster');
    const form = (req.body ?? {}) as Form;
    try {
      await updateCluster(db, masterKey, id, clusterInput(form));
    } catch (err) {
      const msg = problem(err);
      if (msg === null || (err as InputError).status === 404) throw err;
      return clusterPage(req, res, id, { error: `${msg}. Nothing was saved.`, values: { ...echo(form), fingerprint_sha256: str(form.fingerprint_sha256) } }, 422);
    }
    await setFlash(db, s, `Proxmox cluster "${str(form.name).trim()}" saved.`);
    back(res, clusterPath(id));
  }));

  r.post('/admin/proxmox/:id/sync', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'Proxmox cluster');
    await act(deps, s, res, clusterPath(id), async () => {
      const r = await syncCluster(db, masterKey, id);
      if (r.status === 'offline') throw new InputError('', `Proxmox cluster "${r.name}" did not answer: ${r.error}`);
      return `Proxmox cluster "${r.name}": ${r.status}, ${r.nodes} node(s), ${r.storages} storage(s), ${r.bridges} bridge(s), ${r.vmCount ?? '?'} VM(s).`;
    });
  }));

  r.post('/admin/proxmox/:id/remove', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'Proxmox cluster');
    const c = await getCluster(db, id).catch(() => { throw new UiError(404, `Proxmox cluster #${id} does not exist.`); });
    try {
      await removeCluster(db, id);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      await setFlash(db, s, err.message, 'error');
      return back(res, clusterPath(id));
    }
    await setFlash(db, s, `Proxmox cluster "${c.name}" removed.`);
    back(res, '/ui/admin/proxmox');
  }));

  // Every storage's roles in one form: a checkbox per storage and role.
  r.post('/admin/proxmox/:id/storages', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'Proxmox cluster');
    const form = (req.body ?? {}) as Form;
    await act(deps, s, res, clusterPath(id), async () => {
      const ids = list(form.storage).map((v) => {
        if (!/^[1-9][0-9]{0,9}$/.test(v)) throw new InputError('storage', `"${v.slice(0, 20)}" is not a storage id`);
        return Number(v);
      });
      for (const sid of ids) {
        const ticked = list(form[`role_${sid}`]);
        await setStorageRoles(db, id, sid, Object.fromEntries(ROLES.map((r) => [r, ticked.includes(r)])));
      }
      return `Storage roles saved (${ids.length} storage(s)).`;
    });
  }));

  r.post('/admin/proxmox/:id/nodes/:node', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'Proxmox cluster');
    const node = String(req.params.node);
    const enabled = str((req.body ?? {}).enabled) === '1';
    await act(deps, s, res, clusterPath(id), async () => {
      await setNodeEnabled(db, id, node, enabled);
      return `Node ${node} ${enabled ? 'takes part in placement again' : 'is kept out of placement'}.`;
    });
  }));

  r.post('/admin/proxmox/:id/bridges/:iface', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'Proxmox cluster');
    const iface = String(req.params.iface);
    await act(deps, s, res, clusterPath(id), async () => {
      const v = await setBridgeVlans(db, id, iface, str((req.body ?? {}).vlans).replace(/\s+/g, ''));
      return `Bridge ${iface}: VLANs ${v || 'none (untagged only)'}.`;
    });
  }));

  r.post('/admin/proxmox/:id/templates', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'Proxmox cluster');
    const form = (req.body ?? {}) as Form;
    await act(deps, s, res, clusterPath(id), async () => {
      const vmid = str(form.vmid).trim();
      if (!/^\d{1,9}$/.test(vmid)) throw new InputError('vmid', 'must be a whole number (the template\'s VM id)');
      const t: TemplateInput = {
        slug: str(form.slug).trim(), vmid: Number(vmid), node: str(form.node).trim(), storage: str(form.storage).trim(),
        cloud_init: str(form.cloud_init) === 'yes', enabled: true,
      };
      const label = str(form.label).trim();
      if (label !== '') t.label = label;
      const tid = await addTemplate(db, masterKey, id, t);
      return `Template "${t.slug}" added (#${tid}).`;
    });
  }));

  r.post('/admin/proxmox/:id/templates/:tid/remove', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'Proxmox cluster');
    const tid = idParam(req.params.tid, 'template');
    await act(deps, s, res, clusterPath(id), async () => {
      await removeTemplate(db, id, tid);
      return `Template #${tid} removed.`;
    });
  }));
}
