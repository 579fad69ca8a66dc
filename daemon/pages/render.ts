// The one handlebars engine of the presentation layer: the helpers and partials are registered
// once, and every template under templates/views is compiled by it (the WHMCS fragments in
// whmcs/, the /ui pages in ui/). No template uses triple braces, so every value is escaped.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

export const TEMPLATE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../templates/views');
/** The pages' templates and their stylesheet. */
export const UI_TEMPLATE_DIR = path.join(TEMPLATE_DIR, 'ui');

const hb = Handlebars.create();

const pad = (n: number) => String(n).padStart(2, '0');
/** A time in ms as every page and fragment prints it (UTC): `2026-01-15 10:30:00`, or `—`. */
export function formatTime(ms: unknown): string {
  if (ms === null || ms === undefined || ms === '') return '—';
  const n = Number(ms);
  if (!Number.isFinite(n) || n <= 0) return '—';
  const d = new Date(n);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** How long from one time to another: `350 ms`, `4.2 s`, `3 min 5 s`, `2 h 10 min`; '' when unknown. */
export function formatDuration(from: unknown, to: unknown): string {
  if (from === null || from === undefined || to === null || to === undefined) return '';
  const ms = Number(to) - Number(from);
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** A size in MB as the pages print it: `700 MB`, `1.5 GB`. */
export function mbText(v: unknown): string {
  const n = Number(v ?? 0);
  if (!Number.isFinite(n)) return '—';
  return n >= 1024 ? `${(n / 1024).toFixed(1)} GB` : `${n} MB`;
}

hb.registerHelper('time', (ms: unknown) => formatTime(ms));
hb.registerHelper('duration', (from: unknown, to: unknown) => formatDuration(from, to));
hb.registerHelper('eq', (a: unknown, b: unknown) => String(a) === String(b));
hb.registerHelper('not', (a: unknown) => !a);
hb.registerHelper('or', (a: unknown, b: unknown) => !!a || !!b);
hb.registerHelper('and', (a: unknown, b: unknown) => !!a && !!b);
hb.registerHelper('includes', (list: unknown, v: unknown) => Array.isArray(list) && list.map(String).includes(String(v)));
hb.registerHelper('mb', mbText);
hb.registerHelper('limit', (v: unknown) => (Number(v ?? 0) > 0 ? mbText(v) : 'unlimited'));
hb.registerHelper('pct', (used: unknown, limit: unknown) => {
  const u = Number(used ?? 0);
  const l = Number(limit ?? 0);
  return l > 0 ? Math.min(100, Math.round((100 * u) / l)) : 0;
});

const compiled = new Map<string, HandlebarsTemplateDelegate>();
let loaded = false;

/**
 * Compiles every template once, named by its path under templates/views without `.hbs`
 * (`whmcs/service-client`, `ui/admin-tasks`). `ui/layout` and the `ui/_name` files are the
 * partials (`layout`, `name`) the pages are rendered inside.
 */
function load(): void {
  if (loaded) return;
  for (const dir of ['whmcs', 'ui']) {
    for (const file of fs.readdirSync(path.join(TEMPLATE_DIR, dir)).sort()) {
      if (!file.endsWith('.hbs')) continue;
      const base = file.slice(0, -4);
      const source = fs.readFileSync(path.join(TEMPLATE_DIR, dir, file), 'utf8');
      if (base === 'layout' || base.startsWith('_')) hb.registerPartial(base === 'layout' ? 'layout' : base.slice(1), source);
      else compiled.set(`${dir}/${base}`, hb.compile(source, { strict: false }));
    }
  }
  loaded = true;
}

/** A template of templates/views (`whmcs/…` or `ui/…`) rendered with its data. */
export function render(name: string, data: Record<string, unknown>): string {
  load();
  const t = compiled.get(name);
  if (!t) throw new Error(`no template ${name} under templates/views`);
  return t(data);
}

let css: string | null = null;
/** The pages' one stylesheet (/ui/static/ui.css). */
export function uiCss(): string {
  css ??= fs.readFileSync(path.join(UI_TEMPLATE_DIR, 'ui.css'), 'utf8');
  return css;
}
