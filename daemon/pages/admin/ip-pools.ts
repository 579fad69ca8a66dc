// IP pools: the list with used and free counts, the add and edit form, and one pool's page with
// who holds each address (linked to the service's page), reserve and unreserve forms and removal.
// Writes go through fleet/ip-pools.ts after the same JSON-schema check as the API; a refusal is
// shown on the form (422) or as the next page's message, and changes nothing.
import type { Request, Response, Router } from 'express';
import { InputError } from '../../common/errors.ts';
import { checkBody } from '../../common/bodies.ts';
import {
  addPool, getPool, listPools, poolAddresses, removePool, reserveAddress, unreserveAddress, updatePool, type PoolInput, type PoolView,
} from '../../fleet/ip-pools.ts';
import { countText } from '../../pipelines/ip-ranges.ts';
import { act, back, idParam, page, requireAdmin, setFlash, UiError, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';

type Form = Record<string, unknown>;

const str = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : '');
/** Lines or commas of a textarea, blank ones and #comments left out. */
const items = (v: unknown) => str(v).split(/[\r\n,]+/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

function intField(form: Form, field: string): number | null {
  const s = str(form[field]).trim();
  if (s === '') return null;
  if (!/^\d{1,9}$/.test(s)) throw new InputError(field, 'must be a whole number');
  return Number(s);
}

/** The form as the API's body (empty fields left out), checked against the same schema. */
export function poolInput(form: Form): PoolInput {
  const body: Record<string, unknown> = {
    name: str(form.name).trim(), bridge: str(form.bridge).trim(), network: str(form.network).trim(),
    ranges: items(form.ranges), resolvers: items(form.resolvers), enabled: str(form.enabled) !== 'false',
  };
  const cluster = intField(form, 'cluster_id');
  if (cluster === null) throw new InputError('cluster_id', 'is required: the id of the Proxmox cluster');
  body.cluster_id = cluster;
  body.node = str(form.node).trim() || null;
  body.vlan = intField(form, 'vlan');
  body.gateway = str(form.gateway).trim() || null;
  const prefix = intField(form, 'prefix');
  if (prefix !== null) body.prefix = prefix;
  return checkBody<PoolInput>('IpPool', body);
}

const FIELDS = ['name', 'cluster_id', 'node', 'bridge', 'vlan', 'network', 'ranges', 'gateway', 'prefix', 'resolvers', 'enabled'] as const;
const echo = (form: Form) => Object.fromEntries(FIELDS.map((f) => [f, str(form[f])]));

function fromPool(p: PoolView): Record<string, string> {
  return {
    name: p.name, cluster_id: String(p.cluster_id), node: p.node ?? '', bridge: p.bridge, vlan: p.vlan === null ? '' : String(p.vlan),
    network: p.network, ranges: p.ranges.join('\n'), gateway: p.gateway ?? '', prefix: String(p.prefix), resolvers: p.resolvers.join('\n'),
    enabled: p.enabled ? 'true' : 'false',
  };
}

function shown(p: PoolView) {
  return { ...p, freeText: countText(BigInt(p.free)), sizeText: countText(BigInt(p.size)), vlanText: p.vlan === null ? 'untagged' : String(p.vlan), full: p.free === '0' };
}

export function addIpPoolPages(r: Router, deps: PageDeps): void {
  const { db } = deps;

  r.get('/admin/ip-pools', wrap(async (req, res) => {
    requireAdmin(req);
    await page(deps, req, res, 'admin-ip-pools', { title: 'IP pools', nav: 'ip-pools', pools: (await listPools(db)).map(shown) });
  }));

  const form = async (req: Request, res: Response, o: { id?: number; values: Record<string, string>; error?: string | null }, status = 200) => {
    await page(deps, req, res, 'admin-ip-pool-form', {
      title: o.id ? 'Edit IP pool' : 'Add an IP pool', nav: 'ip-pools', id: o.id, editing: !!o.id, vals: o.values, error: o.error ?? null,
    }, status);
  };

  r.get('/admin/ip-pools/new', wrap(async (req, res) => {
    requireAdmin(req);
    await form(req, res, { values: { bridge: 'vmbr0', enabled: 'true' } });
  }));
  r.post('/admin/ip-pools', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const f = (req.body ?? {}) as Form;
    let id: number;
    try {
      id = await addPool(db, poolInput(f));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      return form(req, res, { values: echo(f), error: `${err.message}. Nothing was saved.` }, 422);
    }
    await setFlash(db, s, `IP pool "${str(f.name).trim()}" added (#${id}).`);
    back(res, `/ui/admin/ip-pools/${id}`);
  }));

  r.get('/admin/ip-pools/:id', wrap(async (req, res) => {
    requireAdmin(req);
    const id = idParam(req.params.id, 'IP pool');
    const p = await getPool(db, id);
    if (!p) throw new UiError(404, `IP pool #${id} does not exist.`);
    const addresses = await poolAddresses(db, id);
    await page(deps, req, res, 'admin-ip-pool', {
      title: `IP pool ${p.name}`, nav: 'ip-pools', pool: shown(p), addresses,
      held: addresses.filter((a) => a.status !== 'reserved').length,
    });
  }));
  r.get('/admin/ip-pools/:id/edit', wrap(async (req, res) => {
    requireAdmin(req);
    const id = idParam(req.params.id, 'IP pool');
    const p = await getPool(db, id);
    if (!p) throw new UiError(404, `IP pool #${id} does not exist.`);
    await form(req, res, { id, values: fromPool(p) });
  }));
  r.post('/admin/ip-pools/:id', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'IP pool');
    if (!(await getPool(db, id))) throw new UiError(404, `IP pool #${id} does not exist.`);
    const f = (req.body ?? {}) as Form;
    try {
      await updatePool(db, id, poolInput(f));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      return form(req, res, { id, values: echo(f), error: `${err.message}. Nothing was saved.` }, 422);
    }
    await setFlash(db, s, `IP pool "${str(f.name).trim()}" saved.`);
    back(res, `/ui/admin/ip-pools/${id}`);
  }));

  r.post('/admin/ip-pools/:id/reserve', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'IP pool');
    const f = (req.body ?? {}) as Form;
    await act(deps, s, res, `/ui/admin/ip-pools/${id}`, async () => {
      const body = checkBody<{ ip: string; note?: string }>('IpReservation', { ip: str(f.ip).trim(), ...(str(f.note).trim() ? { note: str(f.note).trim() } : {}) });
      const ip = await reserveAddress(db, id, body.ip, body.note ?? null);
      return `${ip} reserved in IP pool #${id}.`;
    });
  }));
  r.post('/admin/ip-pools/:id/unreserve', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'IP pool');
    const ip = str((req.body as Form | undefined)?.ip).trim();
    await act(deps, s, res, `/ui/admin/ip-pools/${id}`, async () => {
      if (ip === '' || ip.length > 45) throw new InputError('ip', 'is not an IP address');
      await unreserveAddress(db, id, ip);
      return `${ip} is free again in IP pool #${id}.`;
    });
  }));
  r.post('/admin/ip-pools/:id/remove', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'IP pool');
    const p = await getPool(db, id);
    if (!p) throw new UiError(404, `IP pool #${id} does not exist.`);
    try {
      await removePool(db, id);
    } catch (err) {
      // Refused (a service holds one of its addresses): back on the pool's page, which shows who.
      if (!(err instanceof InputError)) throw err;
      await setFlash(db, s, err.message, 'error');
      return back(res, `/ui/admin/ip-pools/${id}`);
    }
    await setFlash(db, s, `IP pool "${p.name}" removed.`);
    back(res, '/ui/admin/ip-pools');
  }));
}
