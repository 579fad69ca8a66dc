// A server group's Actions tab (seed 000): its servers with their type (web / mail / DNS), driver,
// status and last health check; the Apply Hestia config buttons (all / web / mail / DNS servers),
// each a CSRF-checked form that queues one task per server; the last Apply per server and key; and
// the config tabs (all servers, web, mail, DNS) where the admin ticks the keys the group manages
// (unticked: "not managed", never touched) and sets their values.
import type { Request, Response, Router } from 'express';
import { InputError } from '../../common/errors.ts';
import { listServers } from '../../fleet/inventory.ts';
import { applyHestiaConfig, CATEGORIES, CONFIG_KEYS, groupConfig, lastApply, saveGroupConfig } from '../../fleet/hestia-config.ts';
import { APPLY_ROLES, type ConfigCategory } from '../../pipelines/hestia-config-plan.ts';
import { act, back, idParam, page, requireAdmin, setFlash, UiError, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';
import { T } from '../../common/tables.ts';

type Form = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : '');

function categoryParam(v: unknown): ConfigCategory {
  const s = String(v ?? 'all');
  return (APPLY_ROLES as readonly string[]).includes(s) ? (s as ConfigCategory) : 'all';
}

const OUTCOME_CLASS: Record<string, string> = {
  applied: 'active', unchanged: 'ok', refused: 'failed', failed: 'failed', skipped: 'cancelled', queued: 'running',
};

/** The tab's form as key → value (null: not managed), for the keys of the category only. */
export function configForm(form: Form, category: ConfigCategory): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const c of CONFIG_KEYS) {
    if (c.category !== category) continue;
    out[c.key] = str(form[`manage_${c.key}`]) === 'yes' ? str(form[`val_${c.key}`]) : null;
  }
  return out;
}

export function addGroupActionPages(r: Router, deps: PageDeps): void {
  const { db } = deps;

  const show = async (req: Request, res: Response, groupId: number, o: { tab: ConfigCategory; typed?: Record<string, string | null>; error?: string | null }, status = 200) => {
    const group = await db(T.groups).where('id', groupId).first('id', 'name');
    if (!group) throw new UiError(404, `Server group #${groupId} does not exist.`);
    const [servers, memberIds, dnsIds, managed, applies] = await Promise.all([
      listServers(db), db(T.members).where('group_id', groupId).pluck('server_id'), db(T.groupDns).where('group_id', groupId).pluck('server_id'),
      groupConfig(db, groupId), lastApply(db, groupId),
    ]);
    const ids = new Set([...memberIds, ...dnsIds].map(Number));
    const applyBy = new Map(applies.map((a) => [a.server_id, a]));
    const members = servers.filter((s) => ids.has(s.id)).map((s) => {
      const a = applyBy.get(s.id);
      return {
        id: s.id, name: s.name, hostname: s.hostname, driver: s.driver, status: s.status,
        types: (['web', 'mail', 'dns'] as const).filter((c) => s.capabilities[c]).map((c) => c.toUpperCase()),
        health: s.health,
        apply: a && { ...a, cls: OUTCOME_CLASS[a.outcome] ?? '', keys: a.keys.map((kr) => ({ ...kr, cls: OUTCOME_CLASS[kr.outcome] ?? '' })) },
      };
    });
    const values = o.typed ?? Object.fromEntries(Object.entries(managed));
    const keys = CONFIG_KEYS.filter((c) => c.category === o.tab).map((c) => {
      const managedNow = o.typed ? o.typed[c.key] !== null && o.typed[c.key] !== undefined : c.key in managed;
      const value = values[c.key] ?? '';
      return {
        ...c, managed: managedNow, value,
        options: c.check.kind === 'enum' ? c.check.values.map((v) => ({ value: v, label: v === '' ? '(empty: off)' : v, selected: v === value })) : null,
      };
    });
    const sections = [...new Set(keys.map((k) => k.section))].map((name) => ({ name, keys: keys.filter((k) => k.section === name) }));
    const count = (cat: ConfigCategory) => CONFIG_KEYS.filter((c) => c.category === cat && c.key in managed).length;
    await page(deps, req, res, 'admin-group-actions', {
      title: `Server group ${group.name}: actions`, nav: 'groups', group: { id: Number(group.id), name: group.name }, members, error: o.error ?? null,
      roles: [{ key: 'all', label: 'All servers' }, { key: 'web', label: 'Web servers' }, { key: 'mail', label: 'Mail servers' }, { key: 'dns', label: 'DNS servers' }],
      tabs: CATEGORIES.map((c) => ({ ...c, active: c.key === o.tab, managed: count(c.key) })),
      tab: o.tab, tabLabel: CATEGORIES.find((c) => c.key === o.tab)!.label, sections,
    }, status);
  };

  r.get('/admin/groups/:id/actions', wrap(async (req, res) => {
    requireAdmin(req);
    await show(req, res, idParam(req.params.id, 'server group'), { tab: categoryParam(req.query.tab) });
  }));

  r.post('/admin/groups/:id/config/:category', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'server group');
    const category = String(req.params.category);
    if (!(APPLY_ROLES as readonly string[]).includes(category)) throw new UiError(404, `There is no "${category.slice(0, 20)}" config.`);
    const cat = category as ConfigCategory;
    const typed = configForm((req.body ?? {}) as Form, cat);
    let n: number;
    try {
      n = await saveGroupConfig(db, id, typed, cat);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      if (err.status === 404) throw new UiError(404, err.message);
      return show(req, res, id, { tab: cat, typed, error: `${err.message}. Nothing was saved.` }, 422);
    }
    const label = CATEGORIES.find((c) => c.key === cat)!.label;
    await setFlash(db, s, `${label} config of group #${id} saved: ${n} managed key(s). Press Apply to push it.`);
    back(res, `/ui/admin/groups/${id}/actions?tab=${cat}`);
  }));

  r.post('/admin/groups/:id/apply', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'server group');
    const role = str(((req.body ?? {}) as Form).role);
    const tab = categoryParam(((req.body ?? {}) as Form).tab);
    await act(deps, s, res, `/ui/admin/groups/${id}/actions?tab=${tab}`, async () => {
      const r = await applyHestiaConfig(db, id, role);
      if (r.queued.length) deps.onTick?.();
      const label = { all: 'all servers', web: 'web servers', mail: 'mail servers', dns: 'DNS servers' }[r.role];
      const parts = [`Apply Hestia config to ${label} of group #${id}: queued on ${r.queued.length ? r.queued.map((q) => q.name).join(', ') : 'no server'}`];
      if (r.skipped.length) parts.push(`skipped ${r.skipped.map((x) => `${x.name} (${x.reason})`).join(', ')}`);
      return parts.join('; ') + '.';
    });
  }));
}
