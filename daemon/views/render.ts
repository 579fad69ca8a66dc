// Pages and fragments rendered by the daemon from handlebars templates in templates/views. Values
// are escaped by handlebars (no triple braces in these templates), so a hostile domain or server
// name shows as text. The WHMCS module embeds the fragments as they come.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type { ServiceView } from '../services/reads.ts';

const TEMPLATE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../templates/views');
const hb = Handlebars.create();
hb.registerHelper('time', (ms: unknown) => (typeof ms === 'number' && ms > 0 ? new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + ' UTC' : '—'));
hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
hb.registerHelper('duration', (from: unknown, to: unknown) => {
  if (typeof from !== 'number' || typeof to !== 'number') return '';
  const s = (to - from) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
});

const cache = new Map<string, HandlebarsTemplateDelegate>();
function template(name: string): HandlebarsTemplateDelegate {
  let t = cache.get(name);
  if (!t) {
    t = hb.compile(fs.readFileSync(path.join(TEMPLATE_DIR, `${name}.hbs`), 'utf8'), { strict: false });
    cache.set(name, t);
  }
  return t;
}

export type Audience = 'client' | 'admin';

const DEPLOYING_OPS = ['deploy', 'redeploy', 'verify-repair'];

/** What the page shows: deploying (with progress), the service panel, or a failure. */
export function phase(v: ServiceView): 'deploying' | 'failed' | 'ready' | 'busy' {
  const p = v.progress;
  // A repair or redeploy under way after a failure (Try again) shows its progress, not the old failure.
  if (p && DEPLOYING_OPS.includes(p.operation) && (p.state === 'running' || p.state === 'waiting')) return 'deploying';
  if (v.state === 'failed' || v.state === 'terminate-failed') return 'failed';
  if (v.state === 'deploying' || (p && DEPLOYING_OPS.includes(p.operation) && p.state !== 'succeeded' && p.state !== 'failed' && p.state !== 'cancelled')) return 'deploying';
  if (p && (p.state === 'running' || p.state === 'waiting')) return 'busy';
  return 'ready';
}

export function renderService(v: ServiceView, audience: Audience): { html: string; refresh_s: number | null } {
  const ph = phase(v);
  const p = v.progress;
  const percent = p && p.total > 0 ? Math.round((100 * p.done) / p.total) : 0;
  const html = template(`service-${audience}`)({
    v, phase: ph, deploying: ph === 'deploying', failed: ph === 'failed', ready: ph === 'ready', busy: ph === 'busy', percent,
    pending: p ? p.total - p.done : 0,
  });
  return { html: html.trim() + '\n', refresh_s: ph === 'deploying' || ph === 'busy' ? 5 : null };
}

/** Any other page: a template of templates/views with its data. */
export function renderPage(name: string, data: Record<string, unknown>): string {
  return template(name)(data).trim() + '\n';
}
