// What a WHMCS product asks for, read from its Module Settings (configoption1…), configurable
// options and custom fields: the deployment mode, the enabled roles and each role's limits.
// Pure: the same input always gives the same plan or the same InputError naming the field.
import { InputError } from '../common/errors.ts';
import { checkDomain, checkVanityName, printable } from './validate.ts';
import {
  defaultExtras, HOSTING_PLAN_OPTION, hostingPlanRef, planExtras, PROFILE_OVERLAP, withPlanOptions, type FoundOption, type HostingPlanExtras, type HostingPlanProfile,
} from './hosting-plan.ts';

export type Mode = 'split' | 'unified' | 'vanity';
export const MODES: readonly Mode[] = ['split', 'unified', 'vanity'];
/** A number of MB (or of objects), or no limit. */
export type Quota = number | 'unlimited';

export interface ProductInput {
  product: Record<string, string>;
  config_options: Record<string, string | number | boolean>;
  custom_fields: Record<string, string | number | boolean>;
}

export interface ProductPlan {
  mode: Mode;
  roles: { web: boolean; mail: boolean; dns: boolean };
  web: { diskMb: Quota; bandwidthMb: Quota; domains: Quota; databases: Quota };
  mail: { diskMb: Quota; accounts: Quota };
  vanity: { parent: string; name: string; siteQuotaMb: Quota; mailboxQuotaMb: Quota } | null;
  /**
   * The hosting plan profile's further limits and templates (configoption16), with the configurable
   * options over them (hosting-plan.ts PLAN_OPTIONS); absent without a profile, so older plans read as before.
   */
  hostingPlan?: HostingPlanExtras;
  /** Without a profile: the built-in further limits with the configurable options over them; absent when the product has none of those options. */
  optionExtras?: HostingPlanExtras;
}

// Module Settings positions, fixed for good by WHMCS (see the PHP module's ConfigOptions).
const OPT = {
  mode: 'configoption1', web: 'configoption3', mail: 'configoption4', dns: 'configoption5',
  webDisk: 'configoption6', mailDisk: 'configoption7', webBandwidth: 'configoption8', webDomains: 'configoption9',
  databases: 'configoption10', mailAccounts: 'configoption11', vanitySite: 'configoption12', vanityMailbox: 'configoption13',
} as const;

/** Configurable options that override a Module Setting, by their system name. */
const OVERRIDES: Record<string, keyof typeof OPT> = {
  web_disk_quota: 'webDisk', mail_disk_quota: 'mailDisk', web_bandwidth: 'webBandwidth', web_domains: 'webDomains',
  databases: 'databases', mail_accounts: 'mailAccounts',
};

const DEFAULTS: Partial<Record<keyof typeof OPT, string>> = {
  webDisk: 'unlimited', mailDisk: 'unlimited', webBandwidth: 'unlimited', webDomains: '1', databases: 'unlimited',
  mailAccounts: 'unlimited', vanitySite: '1024', vanityMailbox: '1024',
};

const MAX_QUOTA = 1_000_000_000;

/** WHMCS names options and their choices "system|Friendly label"; the part before "|" counts. */
function systemName(name: string): string {
  const bar = name.indexOf('|');
  return (bar >= 0 ? name.slice(0, bar) : name).trim().toLowerCase();
}

function lookup(map: Record<string, string | number | boolean>, name: string): { key: string; value: string } | null {
  for (const [k, v] of Object.entries(map)) {
    if (systemName(k) === name) return { key: k, value: systemName(String(v)) };
  }
  return null;
}

/** As lookup, the value's case kept: a HestiaCP template name is case-sensitive (PHP-8_3). */
function lookupRaw(map: Record<string, string | number | boolean>, name: string): FoundOption | null {
  for (const [k, v] of Object.entries(map)) {
    if (systemName(k) !== name) continue;
    const raw = String(v);
    const bar = raw.indexOf('|');
    return { key: k, raw: (bar >= 0 ? raw.slice(0, bar) : raw).trim() };
  }
  return null;
}

export function parseQuota(field: string, raw: string): Quota {
  const v = raw.trim().toLowerCase();
  if (v === 'unlimited') return 'unlimited';
  if (!/^\d{1,10}$/.test(v) || Number(v) > MAX_QUOTA) throw new InputError(field, `"${printable(raw)}" must be a whole number (0 disables the role) or "unlimited"`);
  return Number(v);
}

function ticked(raw: string | undefined): boolean {
  return ['on', 'yes', '1', 'true'].includes((raw ?? '').trim().toLowerCase());
}

/**
 * The product's plan. With a hosting plan profile (configoption16, looked up by the caller: see
 * fleet/hosting-plans.ts), each limit comes from the configurable option, else the profile: the
 * Module Settings it overlaps (6–11) are not read, since WHMCS pre-fills them with its defaults and
 * they would silently beat the plan the admin chose. Without a profile: the configurable option,
 * else the Module Setting, else the built-in default, as before. The profile's further limits
 * (aliases, cron jobs, FTP, backups, DNS records, mail domains) likewise: the configurable option,
 * else the profile, else the built-in default; its templates only with a profile.
 */
export function resolveProduct(input: ProductInput, profile: HostingPlanProfile | null = null): ProductPlan {
  const p = input.product;
  const modeRaw = (p[OPT.mode] ?? '').trim().toLowerCase();
  if (!MODES.includes(modeRaw as Mode)) {
    throw new InputError(`product.${OPT.mode}`, `deployment mode "${printable(p[OPT.mode] ?? '')}" must be one of ${MODES.join(', ')}`);
  }
  const mode = modeRaw as Mode;

  const quota = (key: keyof typeof OPT): Quota => {
    const override = Object.entries(OVERRIDES).find(([, k]) => k === key);
    const fromOption = override ? lookup(input.config_options, override[0]) : null;
    if (fromOption) return parseQuota(`config_options.${fromOption.key}`, fromOption.value);
    const raw = (p[OPT[key]] ?? '').trim();
    const fromProfile = profile && key in PROFILE_OVERLAP ? PROFILE_OVERLAP[key as keyof typeof PROFILE_OVERLAP](profile) : undefined;
    if (fromProfile !== undefined) return fromProfile;
    return parseQuota(`product.${OPT[key]}`, raw === '' ? DEFAULTS[key] ?? '0' : raw);
  };
  const ref = hostingPlanRef(input);
  if (ref && !profile) {
    throw new InputError(`product.${HOSTING_PLAN_OPTION}`, `the product names hosting plan ${'id' in ref ? `#${ref.id}` : `"${ref.name}"`}, which was not looked up (it does not exist, or this caller reads no profiles)`);
  }
  // The profile's further limits and templates, each overridable by a configurable option (checked before anything is planned).
  const opts = withPlanOptions(profile ? planExtras(profile) : defaultExtras(), (name) => lookupRaw(input.config_options, name), profile !== null);

  const webBox = ticked(p[OPT.web]);
  const mailBox = ticked(p[OPT.mail]);
  const dns = ticked(p[OPT.dns]);
  let vanity: ProductPlan['vanity'] = null;
  let web: boolean;
  let mail: boolean;
  if (mode === 'vanity') {
    const parent = lookup(input.config_options, 'vanity_domain');
    if (!parent || parent.value === '') throw new InputError('config_options.vanity_domain', 'a Vanity product needs the configurable option vanity_domain (the parent domain the customer picked)');
    const nameEntry = Object.entries(input.custom_fields).find(([k]) => systemName(k) === 'vanity_name');
    if (!nameEntry) throw new InputError('custom_fields.vanity_name', 'a Vanity product needs the custom field vanity_name (the name the customer chose)');
    vanity = {
      parent: checkDomain(`config_options.${parent.key}`, parent.value),
      name: checkVanityName(`custom_fields.${nameEntry[0]}`, String(nameEntry[1])),
      siteQuotaMb: quota('vanitySite'),
      mailboxQuotaMb: quota('vanityMailbox'),
    };
    web = webBox && vanity.siteQuotaMb !== 0;
    mail = mailBox && vanity.mailboxQuotaMb !== 0;
  } else {
    web = webBox && quota('webDisk') !== 0;
    mail = mailBox && quota('mailDisk') !== 0;
  }
  if (!web && !mail) {
    throw new InputError(`product.${OPT.web}`, 'neither Web nor Mail is enabled (tick at least one, with a disk quota other than 0)');
  }
  return {
    mode,
    roles: { web, mail, dns },
    web: { diskMb: quota('webDisk'), bandwidthMb: quota('webBandwidth'), domains: quota('webDomains'), databases: quota('databases') },
    mail: { diskMb: quota('mailDisk'), accounts: quota('mailAccounts') },
    vanity,
    ...(profile ? { hostingPlan: opts.extras } : opts.changed ? { optionExtras: opts.extras } : {}),
  };
}
