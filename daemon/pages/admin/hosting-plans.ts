// Hosting plan profiles: the list (with how many live services each was built for), the add and
// edit form, and removal. The form becomes the API's body (normaliseHostingPlan), so a bad field
// shows the same message as the API, names the field, and saves nothing; the form keeps what was
// typed. An empty field takes its default (the built-in package of a product without a profile).
import type { Request, Response, Router } from 'express';
import { InputError } from '../../common/errors.ts';
import { addHostingPlan, getHostingPlan, hostingPlanServices, listHostingPlans, removeHostingPlan, updateHostingPlan } from '../../fleet/hosting-plans.ts';
import { HOSTING_PLAN_DEFAULTS, type HostingPlanInput, type HostingPlanProfile } from '../../pipelines/hosting-plan.ts';
import { act, back, idParam, page, requireAdmin, setFlash, UiError, wrap } from '../http.ts';
import type { PageDeps } from '../deps.ts';

type Form = Record<string, unknown>;
type Values = Record<string, string>;
type Section = 'web' | 'dns' | 'mail' | 'unified';

/** Every field of the form: its input name is `<section>_<field>`. */
const FIELDS: [Section, string][] = [
  ...Object.keys(HOSTING_PLAN_DEFAULTS.web).map((k) => ['web', k] as [Section, string]),
  ...Object.keys(HOSTING_PLAN_DEFAULTS.dns).map((k) => ['dns', k] as [Section, string]),
  ...Object.keys(HOSTING_PLAN_DEFAULTS.mail).map((k) => ['mail', k] as [Section, string]),
  ...Object.keys(HOSTING_PLAN_DEFAULTS.unified).map((k) => ['unified', k] as [Section, string]),
];

const str = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : '');

/** The form as the API's body: an empty field is left out and takes its default; numbers stay text for the checks. */
export function hostingPlanInput(form: Form): HostingPlanInput {
  const body: Record<string, any> = { name: str(form.name).trim(), web: {}, dns: {}, mail: {}, unified: {} };
  for (const [section, key] of FIELDS) {
    const v = str(form[`${section}_${key}`]).trim();
    if (v !== '') body[section][key] = v;
  }
  return body as HostingPlanInput;
}

function echo(form: Form): Values {
  return { name: str(form.name), ...Object.fromEntries(FIELDS.map(([s, k]) => [`${s}_${k}`, str(form[`${s}_${k}`])])) };
}

function fromPlan(p: HostingPlanProfile): Values {
  const sec = p as unknown as Record<Section, Record<string, unknown>>;
  return { name: p.name, ...Object.fromEntries(FIELDS.map(([s, k]) => [`${s}_${k}`, String(sec[s][k] ?? '')])) };
}

const NEW: Values = fromPlan({ id: 0, name: '', created_at: 0, updated_at: 0, ...HOSTING_PLAN_DEFAULTS });

export function addHostingPlanPages(r: Router, deps: PageDeps): void {
  const { db } = deps;

  r.get('/admin/hosting-plans', wrap(async (req, res) => {
    requireAdmin(req);
    const rows = [];
    for (const p of await listHostingPlans(db)) rows.push({ ...p, services: await hostingPlanServices(db, p.id) });
    await page(deps, req, res, 'admin-hosting-plans', { title: 'Hosting plans', nav: 'hosting-plans', plans: rows });
  }));

  const form = async (req: Request, res: Response, o: { id?: number; values: Values; error?: string | null }, status = 200) => {
    await page(deps, req, res, 'admin-hosting-plan-form', {
      title: o.id ? 'Edit hosting plan' : 'Add a hosting plan', nav: 'hosting-plans', id: o.id, editing: !!o.id, vals: o.values, error: o.error ?? null,
    }, status);
  };

  r.get('/admin/hosting-plans/new', wrap(async (req, res) => {
    requireAdmin(req);
    await form(req, res, { values: NEW });
  }));
  r.get('/admin/hosting-plans/:id/edit', wrap(async (req, res) => {
    requireAdmin(req);
    const id = idParam(req.params.id, 'hosting plan');
    const p = await getHostingPlan(db, id);
    if (!p) throw new UiError(404, `Hosting plan #${id} does not exist.`);
    await form(req, res, { id, values: fromPlan(p) });
  }));

  const save = wrap(async (req, res) => {
    const s = requireAdmin(req);
    const body = (req.body ?? {}) as Form;
    const id = req.params.id !== undefined ? idParam(req.params.id, 'hosting plan') : undefined;
    if (id !== undefined && !(await getHostingPlan(db, id))) throw new UiError(404, `Hosting plan #${id} does not exist.`);
    let saved: number;
    try {
      const input = hostingPlanInput(body);
      if (id === undefined) saved = await addHostingPlan(db, input);
      else {
        await updateHostingPlan(db, id, input);
        saved = id;
      }
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      return form(req, res, { id, values: echo(body), error: `${err.message}. Nothing was saved.` }, 422);
    }
    await setFlash(db, s, `Hosting plan "${str(body.name).trim()}" saved (#${saved}).`);
    back(res, '/ui/admin/hosting-plans');
  });
  r.post('/admin/hosting-plans', save);
  r.post('/admin/hosting-plans/:id', save);

  r.post('/admin/hosting-plans/:id/remove', wrap(async (req, res) => {
    const s = requireAdmin(req);
    const id = idParam(req.params.id, 'hosting plan');
    await act(deps, s, res, '/ui/admin/hosting-plans', async () => {
      const p = await getHostingPlan(db, id);
      await removeHostingPlan(db, id);
      return `Hosting plan "${p?.name ?? id}" removed.`;
    });
  }));
}
