// Renders the pages from templates/views/ui with one handlebars instance. Every page is a partial
// block inside the shared layout ({{#> layout}} … {{/layout}}), so no template needs triple
// braces: every value from the database goes through handlebars' escaping.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

export const UI_TEMPLATE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../templates/views/ui');

const hb = Handlebars.create();

const pad = (n: number) => String(n).padStart(2, '0');
export function formatTime(ms: unknown): string {
  if (ms === null || ms === undefined || ms === '') return '—';
  const n = Number(ms);
  if (!Number.isFinite(n) || n <= 0) return '—';
  const d = new Date(n);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

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

hb.registerHelper('time', (ms: unknown) => formatTime(ms));
hb.registerHelper('duration', (from: unknown, to: unknown) => formatDuration(from, to));
hb.registerHelper('eq', (a: unknown, b: unknown) => String(a) === String(b));
hb.registerHelper('not', (a: unknown) => !a);
hb.registerHelper('or', (a: unknown, b: unknown) => !!a || !!b);
hb.registerHelper('and', (a: unknown, b: unknown) => !!a && !!b);
hb.registerHelper('includes', (list: unknown, v: unknown) => Array.isArray(list) && list.map(String).includes(String(v)));
/** A size in MB as the pages print it: `700 MB`, `1.5 GB`. */
export function mbText(v: unknown): string {
  const n = Number(v ?? 0);
  if (!Number.isFinite(n)) return '—';
  return n >= 1024 ? `${(n / 1024).toFixed(1)} GB` : `${n} MB`;
}
hb.registerHelper('mb', mbText);
hb.registerHelper('limit', (v: unknown) => (Number(v ?? 0) > 0 ? hb.helpers.mb!(v) : 'unlimited'));
hb.registerHelper('pct', (used: unknown, limit: unknown) => {
  const u = Number(used ?? 0);
  const l = Number(limit ?? 0);
  return l > 0 ? Math.min(100, Math.round((100 * u) / l)) : 0;
});

let loaded = false;
const compiled = new Map<string, HandlebarsTemplateDelegate>();

function load(): void {
  if (loaded) return;
  for (const file of fs.readdirSync(UI_TEMPLATE_DIR)) {
    if (!file.endsWith('.hbs')) continue;
    const name = file.slice(0, -4);
    const source = fs.readFileSync(path.join(UI_TEMPLATE_DIR, file), 'utf8');
    if (name.startsWith('_') || name === 'layout') hb.registerPartial(name === 'layout' ? 'layout' : name.slice(1), source);
    else compiled.set(name, hb.compile(source, { strict: false }));
  }
  loaded = true;
}

export function renderUi(name: string, data: Record<string, unknown>): string {
  load();
  const t = compiled.get(name);
  if (!t) throw new Error(`no UI template ${name}`);
  return t(data);
}

let css: string | null = null;
export function uiCss(): string {
  css ??= fs.readFileSync(path.join(UI_TEMPLATE_DIR, 'ui.css'), 'utf8');
  return css;
}
