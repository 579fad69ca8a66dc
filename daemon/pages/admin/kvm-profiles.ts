// KVM product profiles: the list (with how many live services each was built for), the add and
// edit form, and removal. The form becomes the API's body (JSON-schema check, then
// normaliseKvmProfile), so a bad field shows the same message as the API, names the field, and
// saves nothing; the form keeps what was typed.
import type { Request, Response, Router } from 'express';
import { InputError } from '../../common/errors.ts';
import { checkBody } from '../../common/bodies.ts';
import {
  addKvmProfile, getKvmProfile, kvmProfileServices, listKvmProfiles, removeKvmProfile, updateKvmProfile,
} from '../../fleet/kvm-profiles.ts';
import {
  CLONE_MODES, FIREWALL_DEFAULTS, FW_LOG_LEVELS, FW_POLICIES, KVM_CLIENT_FEATURES, NIC_MODELS, type KvmDiskSpec, type KvmProfile, type KvmProfileInput,
} from '../../pipelines/kvm-product.ts';
import { act, back, idParam, page, requireAdmin, setFlash, UiError, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';

type Form = Record<string, unknown>;
type Values = Record<string, string | string[]>;

const FLAGS = ['enable', 'dhcp', 'ndp', 'macfilter', 'ipfilter'] as const;
const LIMITS = ['iops_rd', 'iops_wr', 'mbps_rd', 'mbps_wr'] as const;
const TEXT_FIELDS = [
  'name', 'cluster_id', 'node', 'cores', 'sockets', 'cpu_type', 'memory_mb', 'balloon_mb',
  'sd_size_gb', 'sd_storage', ...LIMITS.map((l) => `sd_${l}`), 'ad_size_gb', 'ad_storage', ...LIMITS.map((l) => `ad_${l}`),
  'bridge', 'vlan', 'rate_mbps', 'model', 'log_level_in', 'log_level_out', 'policy_in', 'policy_out',
  'ipv4', 'ipv6', 'os_templates', 'default_os', 'clone_mode', 'bandwidth_gb', 'snapshots', 'backups', 'isos', 'firewall_rules',
] as const;

const str = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : '');
const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

/** A number field: undefined when empty, else the number; a clear error when it is not one. */
function num(form: Form, key: string, field: string, decimal = false): number | undefined {
  const s = str(form[key]).trim();
  if (s === '') return undefined;
  if (!(decimal ? /^\d{1,12}(\.\d{1,3})?$/ : /^\d{1,12}$/).test(s)) throw new InputError(field, `"${s.slice(0, 30)}" must be a ${decimal ? 'number' : 'whole number'}`);
  return Number(s);
}

const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

function diskBody(form: Form, prefix: 'sd' | 'ad', field: string): Record<string, unknown> {
  const d: Record<string, unknown> = { size_gb: num(form, `${prefix}_size_gb`, `${field}.size_gb`) };
  const storage = str(form[`${prefix}_storage`]).trim();
  if (storage !== '') d.storage = storage;
  for (const l of LIMITS) d[l] = orNull(num(form, `${prefix}_${l}`, `${field}.${l}`, l.startsWith('mbps')));
  return d;
}

/** The form as the API's body: empty optional fields are left out and take their defaults. */
export function kvmProfileInput(form: Form): KvmProfileInput {
  const body: Record<string, unknown> = {
    name: str(form.name).trim(),
    cluster_id: num(form, 'cluster_id', 'cluster_id'),
    node: str(form.node).trim() || null,
    cores: num(form, 'cores', 'cores'),
    cpu_type: str(form.cpu_type).trim() || null,
    memory_mb: num(form, 'memory_mb', 'memory_mb'),
    balloon_mb: orNull(num(form, 'balloon_mb', 'balloon_mb')),
    system_disk: diskBody(form, 'sd', 'system_disk'),
    // No size: no additional disk.
    additional_disk: str(form.ad_size_gb).trim() === '' ? null : diskBody(form, 'ad', 'additional_disk'),
    network: {
      bridge: str(form.bridge).trim(), vlan: orNull(num(form, 'vlan', 'network.vlan')), rate_mbps: orNull(num(form, 'rate_mbps', 'network.rate_mbps', true)),
      model: str(form.model) || 'virtio',
    },
    firewall: {
      ...Object.fromEntries(FLAGS.map((f) => [f, list(form.fw).includes(f)])),
      log_level_in: str(form.log_level_in) || FIREWALL_DEFAULTS.log_level_in, log_level_out: str(form.log_level_out) || FIREWALL_DEFAULTS.log_level_out,
      policy_in: str(form.policy_in) || FIREWALL_DEFAULTS.policy_in, policy_out: str(form.policy_out) || FIREWALL_DEFAULTS.policy_out,
    },
    default_os: str(form.default_os).trim(),
    clone_mode: str(form.clone_mode) || 'full',
    bandwidth_gb: orNull(num(form, 'bandwidth_gb', 'bandwidth_gb')),
  };
  // The customer panel: the ticked features (none ticked is a product without a panel), its ISOs and rule limit.
  body.client_features = list(form.client_features);
  body.isos = str(form.isos).split(/[\s,]+/).map((t) => t.trim()).filter(Boolean);
  for (const k of ['sockets', 'ipv4', 'ipv6', 'snapshots', 'backups', 'firewall_rules'] as const) {
    const v = num(form, k, k);
    if (v !== undefined) body[k] = v;
  }
  const templates = str(form.os_templates).split(/[\s,]+/).map((t) => t.trim()).filter(Boolean);
  if (templates.length) body.os_templates = templates;
  return checkBody<KvmProfileInput>('KvmProfile', body);
}

/** What the form shows: what was typed (nothing here is secret), or the stored profile. */
function echo(form: Form): Values {
  const v: Values = Object.fromEntries(TEXT_FIELDS.map((k) => [k, str(form[k])]));
  v.fw = list(form.fw);
  v.client_features = list(form.client_features);
  return v;
}

function fromProfile(p: KvmProfile): Values {
  const s = (n: number | null | undefined) => (n === null || n === undefined ? '' : String(n));
  const disk = (prefix: string, d: KvmDiskSpec | null) => ({
    [`${prefix}_size_gb`]: s(d?.size_gb), [`${prefix}_storage`]: d?.storage ?? '', ...Object.fromEntries(LIMITS.map((l) => [`${prefix}_${l}`, s(d?.[l])])),
  });
  return {
    name: p.name, cluster_id: s(p.cluster_id), node: p.node ?? '', cores: s(p.cores), sockets: s(p.sockets), cpu_type: p.cpu_type ?? '',
    memory_mb: s(p.memory_mb), balloon_mb: s(p.balloon_mb), ...disk('sd', p.system_disk), ...disk('ad', p.additional_disk),
    bridge: p.network.bridge, vlan: s(p.network.vlan), rate_mbps: s(p.network.rate_mbps), model: p.network.model,
    fw: FLAGS.filter((f) => p.firewall[f]), log_level_in: p.firewall.log_level_in, log_level_out: p.firewall.log_level_out,
    policy_in: p.firewall.policy_in, policy_out: p.firewall.policy_out, ipv4: s(p.ipv4), ipv6: s(p.ipv6),
    os_templates: p.os_templates.join(' '), default_os: p.default_os, clone_mode: p.clone_mode, bandwidth_gb: s(p.bandwidth_gb),
    snapshots: s(p.snapshots), backups: s(p.backups),
    client_features: [...(p.client_features ?? KVM_CLIENT_FEATURES)], isos: (p.isos ?? []).join(' '), firewall_rules: s(p.firewall_rules ?? 0),
  };
}

const NEW: Values = {
  name: '', cluster_id: '', node: '', cores: '1', sockets: '1', cpu_type: '', memory_mb: '2048', balloon_mb: '', sd_size_gb: '20', sd_storage: 'local-lvm',
  ad_size_gb: '', ad_storage: '', bridge: 'vmbr0', vlan: '', rate_mbps: '', model: 'virtio', fw: FLAGS.filter((f) => FIREWALL_DEFAULTS[f]),
  log_level_in: FIREWALL_DEFAULTS.log_level_in, log_level_out: FIREWALL_DEFAULTS.log_level_out, policy_in: FIREWALL_DEFAULTS.policy_in,
  policy_out: FIREWALL_DEFAULTS.policy_out, ipv4: '1', ipv6: '0', os_templates: '', default_os: '', clone_mode: 'full', bandwidth_gb: '', snapshots: '0', backups: '0',
  client_features: [...KVM_CLIENT_FEATURES], isos: '', firewall_rules: '0',
};

const limitText = (d: KvmDiskSpec) => LIMITS.filter((l) => d[l] !== null).map((l) => `${l} ${d[l]}`).join(', ');

export function addKvmProfilePages(r: Router, deps: PageDeps): void {
  const { db } = deps;

  r.get('/admin/kvm-profiles', wrap(async (req, res) => {
    requireAdmin(req);
    const profiles = await listKvmProfiles(db);
    const rows = [];
    for (const p of profiles) {
      rows.push({
        ...p, services: await kvmProfileServices(db, p.id),
        sdLimits: limitText(p.system_disk), adLimits: p.additional_disk ? limitText(p.additional_disk) : '',
        firewallOn: p.firewall.enable,
      });
    }
    await page(deps, req, res, 'admin-kvm-profiles', { title: 'KVM profiles', nav: 'kvm-profiles', profiles: rows });
  }));

  const form = async (req: Request, res: Response, o: { id?: number; values: Values; error?: string | null }, status = 200) => {
    await page(deps, req, res, 'admin-kvm-profile-form', {
      title: o.id ? 'Edit KVM profile' : 'Add a KVM profile', nav: 'kvm-profiles', id: o.id, editing: !!o.id, vals: o.values, error: o.error ?? null,
      models: NIC_MODELS, levels: FW_LOG_LEVELS, policies: FW_POLICIES, cloneModes: CLONE_MODES, flags: FLAGS, clientFeatures: KVM_CLIENT_FEATURES,
    }, status);
  };

  r.get('/admin/kvm-profiles/new', wrap(async (req, res) => {
    requireAdmin(req);
    await form(req, res, { values: NEW });
  }));
  r.get('/admin/kvm-profiles/:id/edit', wrap(async (req, res) => {
    requireAdmin(req);
    const id = idParam(req.params.id, 'KVM profile');
    const p = await getKvmProfile(db, id);
    if (!p) throw new UiError(404, `KVM profile #${id} does not exist.`);
    await form(req, res, { id, values: fromProfile(p) });
  }));

  const save = wrap(async (req, res) => {
    const s = requireAdmin(req);
    const body = (req.body ?? {}) as Form;
    const id = req.params.id !== undefined ? idParam(req.params.id, 'KVM profile') : undefined;
    if (id !== undefined && !(await getKvmProfile(db, id))) throw new UiError(404, `KVM profile #${id} does not exist.`);
    let saved: number;
    try {
      const input = kvmProfileInput(body);
      if (id === undefined) saved = await addKvmProfile(db, input);
      else {
        await updateKvmProfile(db, id, input);
        saved = id;
      }
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      return form(req, res, { id, values: echo(body), error: `${err.message}. Nothing was saved.` }, 422);
    }
    await setFlash(db, s, `KVM profile "${str(body.name).trim()}" saved (#${saved}).`);
    back(res, '/ui/admin/kvm-profiles');
  });
  r.post('/admin/kvm-profiles', save);
  r.post('/admin/kvm-profiles/:id', save);

  r.post('/admin/kvm-profiles/:id/remove', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'KVM profile');
    await act(deps, s, res, '/ui/admin/kvm-profiles', async () => {
      const p = await getKvmProfile(db, id);
      await removeKvmProfile(db, id);
      return `KVM profile "${p?.name ?? id}" removed.`;
    });
  }));
}
