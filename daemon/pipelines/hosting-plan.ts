// Hosting plan profiles: every HestiaCP package limit and web template a hosting plan needs, per
// role, kept by the daemon and named by a WHMCS product in one Module Setting (configoption16,
// "Hosting plan"), because WHMCS's 24 configoption slots cannot hold them all. Pure: the profile's
// fields and their checks (an InputError naming the field), the product's reference to a profile,
// the extras a plan carries, and the Hestia package values of one role (docs/hosting-plans.md).
import { InputError } from '../common/errors.ts';
import { printable } from './validate.ts';

// product.ts imports this module; the shapes it needs from there are stated here, so there is no cycle.
type Quota = number | 'unlimited';
type ProductInput = { product: Record<string, string> };
type ProductPlan = { hostingPlan?: HostingPlanExtras; optionExtras?: HostingPlanExtras };

/** Where a hosting product names its profile (Module Settings position 16). */
export const HOSTING_PLAN_OPTION = 'configoption16';

/** A limit as the API writes it: a whole number or "unlimited". */
export type Limit = number | 'unlimited';

/** A profile as stored, written and shown (the API's field names). */
export interface HostingPlanSpec {
  name: string;
  web: {
    domains: Limit; aliases: Limit; databases: Limit; cron_jobs: Limit;
    /** HestiaCP packages have no FTP limit: kept here for the daemon to enforce (the customer's panel). */
    ftp_accounts: Limit;
    bandwidth_mb: Limit; disk_mb: Limit;
    /** Backups kept of the Split web user (Hestia's BACKUPS: a count, 0 = backups off). */
    backups: number;
    template: string; backend_template: string; proxy_template: string;
  };
  dns: { records: Limit; template: string };
  mail: { domains: Limit; accounts: Limit; disk_mb: Limit; backups: number };
  /** Unified: one Hestia user holds web and mail, so one backup quota covers both. */
  unified: { backups: number };
}

export interface HostingPlanProfile extends HostingPlanSpec { id: number; created_at: number; updated_at: number }

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] };
/** What a body may leave out: every field but the name has a default (HOSTING_PLAN_DEFAULTS). */
export type HostingPlanInput = DeepPartial<Omit<HostingPlanSpec, 'name'>> & { name: string };

/** Today's built-in package of a product without a profile: a profile left at its defaults deploys the same. */
export const HOSTING_PLAN_DEFAULTS: Omit<HostingPlanSpec, 'name'> = {
  web: {
    domains: 1, aliases: 'unlimited', databases: 'unlimited', cron_jobs: 'unlimited', ftp_accounts: 'unlimited',
    bandwidth_mb: 'unlimited', disk_mb: 'unlimited', backups: 1, template: 'default', backend_template: 'default', proxy_template: 'default',
  },
  dns: { records: 'unlimited', template: 'default' },
  mail: { domains: 1, accounts: 'unlimited', disk_mb: 'unlimited', backups: 1 },
  unified: { backups: 1 },
};

const MAX_LIMIT = 1_000_000_000;
const MAX_BACKUPS = 1000;
/** HestiaCP's is_format_valid "template" rule (also package, host): 1–66 of [A-Za-z0-9._|-], alphanumeric at both ends. */
export const TEMPLATE_NAME = /^[A-Za-z0-9]$|^[A-Za-z0-9][-|._A-Za-z0-9]{0,64}[A-Za-z0-9]$/;

export function checkLimit(field: string, value: unknown): Limit {
  if (typeof value === 'string' && value.trim().toLowerCase() === 'unlimited') return 'unlimited';
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d{1,10}\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > MAX_LIMIT) throw new InputError(field, `"${printable(String(value))}" must be a whole number from 0 to ${MAX_LIMIT.toLocaleString('en')} or "unlimited"`);
  return n;
}

export function checkBackups(field: string, value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d{1,6}\s*$/.test(value) ? Number(value) : NaN;
  // HestiaCP's BACKUPS is a required integer (no "unlimited"); 0 turns the user's backups off.
  if (!Number.isInteger(n) || n < 0 || n > MAX_BACKUPS) throw new InputError(field, `"${printable(String(value))}" must be a whole number of backups kept, 0 (backups off) to ${MAX_BACKUPS}`);
  return n;
}

export function checkTemplate(field: string, value: unknown): string {
  const v = typeof value === 'string' ? value.trim() : '';
  if (!TEMPLATE_NAME.test(v)) {
    throw new InputError(field, `"${printable(String(value ?? ''))}" is not a HestiaCP template name: 1–66 letters, digits, ".", "-", "_" or "|", starting and ending in a letter or digit (such as default or PHP-8_3)`);
  }
  return v;
}

/** A profile's name: a slug, as KVM profiles have (a product may name it in configoption16). */
export function checkPlanName(field: string, value: unknown): string {
  const v = typeof value === 'string' ? value.trim() : '';
  if (!/^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$/.test(v) || /^\d+$/.test(v)) {
    throw new InputError(field, `"${printable(String(value ?? ''))}" must be a slug: lower-case letters, digits, "-" and "_", not only digits, at most 64 (such as web-basic)`);
  }
  return v;
}

function section(input: Record<string, unknown>, key: 'web' | 'dns' | 'mail' | 'unified'): Record<string, unknown> {
  const v = input[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new InputError(key, 'must be an object');
  const known = Object.keys(HOSTING_PLAN_DEFAULTS[key]);
  for (const k of Object.keys(v)) if (!known.includes(k)) throw new InputError(`${key}.${k}`, `is not a field of a hosting plan profile (${key} has ${known.join(', ')})`);
  return v as Record<string, unknown>;
}

/**
 * A profile body checked field by field and given its defaults (HOSTING_PLAN_DEFAULTS, today's
 * built-in package): a stored profile is always whole. Template names are checked by HestiaCP's
 * format here; whether a node has them is checked by the deploy step (web.templates).
 */
export function normaliseHostingPlan(input: HostingPlanInput): HostingPlanSpec {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new InputError('', 'a hosting plan profile is a JSON object');
  const raw = input as unknown as Record<string, unknown>;
  // id and the timestamps are read-only: a profile read from the API may be sent back as it is.
  for (const k of Object.keys(raw)) if (!['name', 'web', 'dns', 'mail', 'unified', 'id', 'created_at', 'updated_at'].includes(k)) throw new InputError(k, 'is not a field of a hosting plan profile (name, web, dns, mail, unified)');
  const D = HOSTING_PLAN_DEFAULTS;
  const web = section(raw, 'web');
  const dns = section(raw, 'dns');
  const mail = section(raw, 'mail');
  const unified = section(raw, 'unified');
  const lim = (sec: Record<string, unknown>, name: string, key: string, dflt: Limit) => (sec[key] === undefined || sec[key] === null ? dflt : checkLimit(`${name}.${key}`, sec[key]));
  const bk = (sec: Record<string, unknown>, name: string, dflt: number) => (sec.backups === undefined || sec.backups === null ? dflt : checkBackups(`${name}.backups`, sec.backups));
  const tpl = (sec: Record<string, unknown>, name: string, key: string, dflt: string) => (sec[key] === undefined || sec[key] === null || sec[key] === '' ? dflt : checkTemplate(`${name}.${key}`, sec[key]));
  return {
    name: checkPlanName('name', raw.name),
    web: {
      domains: lim(web, 'web', 'domains', D.web.domains), aliases: lim(web, 'web', 'aliases', D.web.aliases),
      databases: lim(web, 'web', 'databases', D.web.databases), cron_jobs: lim(web, 'web', 'cron_jobs', D.web.cron_jobs),
      ftp_accounts: lim(web, 'web', 'ftp_accounts', D.web.ftp_accounts),
      bandwidth_mb: lim(web, 'web', 'bandwidth_mb', D.web.bandwidth_mb), disk_mb: lim(web, 'web', 'disk_mb', D.web.disk_mb),
      backups: bk(web, 'web', D.web.backups),
      template: tpl(web, 'web', 'template', D.web.template), backend_template: tpl(web, 'web', 'backend_template', D.web.backend_template),
      proxy_template: tpl(web, 'web', 'proxy_template', D.web.proxy_template),
    },
    dns: { records: lim(dns, 'dns', 'records', D.dns.records), template: tpl(dns, 'dns', 'template', D.dns.template) },
    mail: {
      domains: lim(mail, 'mail', 'domains', D.mail.domains), accounts: lim(mail, 'mail', 'accounts', D.mail.accounts),
      disk_mb: lim(mail, 'mail', 'disk_mb', D.mail.disk_mb), backups: bk(mail, 'mail', D.mail.backups),
    },
    unified: { backups: bk(unified, 'unified', D.unified.backups) },
  };
}

// --- the product's reference -----------------------------------------------------------------

/**
 * The product's hosting plan (configoption16): an id or a profile name; null when the setting is
 * blank, "0" or "none" (the Loader's first entry), so every product from before keeps its plan.
 */
export function hostingPlanRef(input: ProductInput): { id: number } | { name: string } | null {
  const raw = String(input.product?.[HOSTING_PLAN_OPTION] ?? '').trim();
  const field = `product.${HOSTING_PLAN_OPTION}`;
  if (raw === '' || raw === '0' || raw.toLowerCase() === 'none' || raw.toLowerCase().startsWith('none ')) return null;
  if (/^\d{1,10}$/.test(raw)) {
    const id = Number(raw);
    if (id > 2147483647) throw new InputError(field, `hosting plan id ${raw} is out of range`);
    return { id };
  }
  return { name: checkPlanName(field, raw) };
}

// --- what a service's plan carries -----------------------------------------------------------

/**
 * The profile's values a plan carries beyond ProductPlan's own limits (which hold the merged disk,
 * bandwidth, domains, databases and accounts), with the product's configurable options over them
 * (PLAN_OPTIONS). Stored with the service: its package changes and re-deploys use the values it was
 * built with until a package change reads the profile and the options again.
 */
export interface HostingPlanExtras {
  id: number;
  name: string;
  web: { aliases: Quota; cronJobs: Quota; ftpAccounts: Quota; backups: number; template: string; backendTemplate: string; proxyTemplate: string };
  dns: { records: Quota; template: string };
  mail: { domains: Quota; backups: number };
  unified: { backups: number };
}

export function planExtras(p: HostingPlanProfile): HostingPlanExtras {
  return {
    id: p.id, name: p.name,
    web: {
      aliases: p.web.aliases, cronJobs: p.web.cron_jobs, ftpAccounts: p.web.ftp_accounts, backups: p.web.backups,
      template: p.web.template, backendTemplate: p.web.backend_template, proxyTemplate: p.web.proxy_template,
    },
    dns: { records: p.dns.records, template: p.dns.template },
    mail: { domains: p.mail.domains, backups: p.mail.backups },
    unified: { backups: p.unified.backups },
  };
}

/** The profile fields that a Module Setting (or its configurable option) overrides, by ProductPlan quota. */
export const PROFILE_OVERLAP = {
  webDisk: (p: HostingPlanProfile) => p.web.disk_mb,
  mailDisk: (p: HostingPlanProfile) => p.mail.disk_mb,
  webBandwidth: (p: HostingPlanProfile) => p.web.bandwidth_mb,
  webDomains: (p: HostingPlanProfile) => p.web.domains,
  databases: (p: HostingPlanProfile) => p.web.databases,
  mailAccounts: (p: HostingPlanProfile) => p.mail.accounts,
} as const;

// --- configurable options over the profile ----------------------------------------------------

type OptionRule =
  | { kind: 'limit'; set: (x: HostingPlanExtras, v: Quota) => void }
  | { kind: 'backups'; set: (x: HostingPlanExtras, n: number) => void }
  | { kind: 'template'; set: (x: HostingPlanExtras, t: string) => void };

/**
 * The configurable options (WHMCS system names) that override one of the profile's further limits
 * or templates, as web_disk_quota… override the merged ones (product.ts OVERRIDES). Applied in this
 * order: "backups" sets every backup quota, then web_backups / mail_backups a Split role's own.
 */
export const PLAN_OPTIONS: Readonly<Record<string, OptionRule>> = {
  web_aliases: { kind: 'limit', set: (x, v) => { x.web.aliases = v; } },
  cron_jobs: { kind: 'limit', set: (x, v) => { x.web.cronJobs = v; } },
  ftp_accounts: { kind: 'limit', set: (x, v) => { x.web.ftpAccounts = v; } },
  dns_records: { kind: 'limit', set: (x, v) => { x.dns.records = v; } },
  mail_domains: { kind: 'limit', set: (x, v) => { x.mail.domains = v; } },
  backups: { kind: 'backups', set: (x, n) => { x.web.backups = n; x.mail.backups = n; x.unified.backups = n; } },
  web_backups: { kind: 'backups', set: (x, n) => { x.web.backups = n; } },
  mail_backups: { kind: 'backups', set: (x, n) => { x.mail.backups = n; } },
  web_template: { kind: 'template', set: (x, t) => { x.web.template = t; } },
  backend_template: { kind: 'template', set: (x, t) => { x.web.backendTemplate = t; } },
  proxy_template: { kind: 'template', set: (x, t) => { x.web.proxyTemplate = t; } },
  dns_template: { kind: 'template', set: (x, t) => { x.dns.template = t; } },
};

/** A configurable option as the product carries it: its key as WHMCS sent it and its value's system part. */
export type FoundOption = { key: string; raw: string };

/**
 * The extras with the product's configurable options applied (PLAN_OPTIONS), each checked by the
 * profile's own rules and refused naming config_options.<key>; changed says whether any applied.
 * Templates are the profile's to set: without one (profile false) a template option is refused,
 * since the customer then picks the site's templates in the panel and the deploy sets none.
 */
export function withPlanOptions(base: HostingPlanExtras, find: (name: string) => FoundOption | null, profile: boolean): { extras: HostingPlanExtras; changed: boolean } {
  const x = structuredClone(base);
  let changed = false;
  for (const [name, rule] of Object.entries(PLAN_OPTIONS)) {
    const o = find(name);
    if (!o) continue;
    const field = `config_options.${o.key}`;
    if (rule.kind === 'limit') rule.set(x, checkLimit(field, o.raw));
    else if (rule.kind === 'backups') rule.set(x, checkBackups(field, o.raw));
    else {
      if (!profile) throw new InputError(field, `sets a template of the hosting plan, and this product has none: choose a hosting plan in its Module Settings (Hosting plan) or remove the option`);
      rule.set(x, checkTemplate(field, o.raw));
    }
    changed = true;
  }
  return { extras: x, changed };
}

/** The built-in extras of a plan without a profile (every plan stored before profiles). */
export function defaultExtras(): HostingPlanExtras {
  return planExtras({ id: 0, name: '', created_at: 0, updated_at: 0, ...HOSTING_PLAN_DEFAULTS });
}

/**
 * The extras of a plan: its profile's (with its configurable options), else the built-in defaults
 * with its configurable options, else the built-in defaults.
 */
export function extrasOf(product: ProductPlan): HostingPlanExtras {
  return product.hostingPlan ?? product.optionExtras ?? defaultExtras();
}

/** The extras a plan states (a profile or configurable options), null for one that states none: shown as "—". */
export function statedExtras(product: ProductPlan): HostingPlanExtras | null {
  return product.hostingPlan ?? product.optionExtras ?? null;
}

/** The three web templates a web domain of this plan should have; null when the plan has no profile (nothing to apply). */
export function webTemplates(product: ProductPlan): { web: string; backend: string; proxy: string } | null {
  const x = product.hostingPlan;
  return x ? { web: x.web.template, backend: x.web.backendTemplate, proxy: x.web.proxyTemplate } : null;
}

/** Backups kept for one Hestia user of the service: Split per role, Unified one quota for the single user. */
export function backupsFor(product: ProductPlan, role: 'web' | 'mail' | 'all'): number {
  const x = extrasOf(product);
  if (role === 'all') return x.unified.backups;
  return role === 'web' ? x.web.backups : x.mail.backups;
}
