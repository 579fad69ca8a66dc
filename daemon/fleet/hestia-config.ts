// Role-targeted HestiaCP configuration (seed 000): the hestia.conf keys a server group may manage,
// each in one category (all servers, web, mail, DNS) with the check its value must pass; the
// values a group manages (a key without a row is "not managed" and never touched); the Apply
// that queues one hestia.config task per server of a role; and the last Apply's outcome per
// server and key. Every key is one v-list-sys-config reports, so the worker can read it back.
import type { Knex } from 'knex';
import { inTx, nowMs } from '../db/connect.ts';
import { InputError } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import { enqueueTasks } from '../engine/chains.ts';
import { APPLY_ROLES, keysForServer, planApply, type ApplyRole, type ConfigCategory, type ConfigServer, type ManagedKey } from '../pipelines/hestia-config-plan.ts';

type Row = Record<string, any>;

/** How a value is checked beyond HestiaCP's own rule (no quotes, no "|", one line). */
export type ValueCheck =
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'port' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'alias' }
  | { kind: 'email' }
  | { kind: 'name' }
  | { kind: 'language' }
  | { kind: 'theme' }
  | { kind: 'ips' };

export interface ConfigKey {
  key: string;
  category: ConfigCategory;
  /** The heading the key is shown under on its tab. */
  section: string;
  label: string;
  /** What the key does on a HestiaCP node, for the admin. */
  hint: string;
  check: ValueCheck;
}

const yesNo: ValueCheck = { kind: 'enum', values: ['yes', 'no'] };
const trueFalse: ValueCheck = { kind: 'enum', values: ['true', 'false'] };
const port: ValueCheck = { kind: 'port' };
const k = (key: string, category: ConfigCategory, section: string, label: string, check: ValueCheck, hint = ''): ConfigKey => ({ key, category, section, label, hint, check });

// HestiaCP's locales (web/locale/*), the value LANGUAGE takes.
const LANGUAGES = ['ar', 'az', 'bg', 'bn', 'bs', 'ca', 'cs', 'da', 'de', 'el', 'en', 'es', 'et', 'fa', 'fi', 'fr', 'hr', 'hu', 'id', 'it', 'ja', 'ka', 'ko', 'ku', 'lo',
  'nl', 'no', 'pl', 'pt', 'pt-br', 'ro', 'ru', 'sk', 'sq', 'sr', 'sv', 'th', 'tr', 'uk', 'ur', 'vi', 'zh-cn', 'zh-tw'];

/**
 * The catalogue. Left out on purpose: keys v-list-sys-config does not show (the worker could not
 * verify them), SUPPORT_DNSSEC (v-list-sys-config computes it from bind's version on a DNS node),
 * secrets (PHPMYADMIN_KEY, SERVER_SMTP_PASSWD), API/API_SYSTEM (they need v-change-sys-api), and
 * SIEVE_SYSTEM / FROM_EXIM, which no HestiaCP script reads.
 */
export const CONFIG_KEYS: readonly ConfigKey[] = [
  k('LANGUAGE', 'all', 'Interface', 'Panel language', { kind: 'language' }, 'Default language of the HestiaCP panel, e.g. "en", "de", "pt-br".'),
  k('THEME', 'all', 'Interface', 'Panel theme', { kind: 'theme' }, 'dark, default, flat or vestia (or a custom theme\'s name).'),
  k('LOGIN_STYLE', 'all', 'Interface', 'Login screen style', { kind: 'enum', values: ['default', 'old'] }),
  k('APP_NAME', 'all', 'Interface', 'Application name', { kind: 'name' }, 'Shown in the panel\'s title and its file manager.'),
  k('INACTIVE_SESSION_TIMEOUT', 'all', 'Security', 'Inactive session timeout (minutes)', { kind: 'int', min: 1, max: 10080 }, 'Default 60.'),
  k('POLICY_CSRF_STRICTNESS', 'all', 'Security', 'CSRF check strictness', { kind: 'enum', values: ['0', '1', '2'] }, '0 disables the panel\'s CSRF check.'),
  k('ENFORCE_SUBDOMAIN_OWNERSHIP', 'all', 'Security', 'Enforce subdomain ownership', yesNo, 'Refuses a subdomain of a domain another user owns. Default yes.'),
  k('API_ALLOWED_IP', 'all', 'Security', 'API allowed IPs', { kind: 'ips' }, 'Comma-separated addresses, or allow-all.'),
  k('POLICY_SYSTEM_PROTECTED_ADMIN', 'all', 'Security', 'Restrict access to the admin account', yesNo),
  k('POLICY_SYSTEM_HIDE_ADMIN', 'all', 'Security', 'Hide the admin account from other administrators', yesNo),
  k('POLICY_SYSTEM_HIDE_SERVICES', 'all', 'Security', 'Hide services from users', yesNo),
  k('POLICY_SYSTEM_PASSWORD_RESET', 'all', 'Security', 'Allow password reset', yesNo),
  k('POLICY_USER_CHANGE_THEME', 'all', 'User policies', 'Users may change the theme', yesNo),
  k('POLICY_USER_EDIT_DETAILS', 'all', 'User policies', 'Users may edit their details', yesNo),
  k('POLICY_USER_EDIT_WEB_TEMPLATES', 'all', 'User policies', 'Users may choose web templates', yesNo),
  k('POLICY_USER_EDIT_DNS_TEMPLATES', 'all', 'User policies', 'Users may choose DNS templates', yesNo),
  k('POLICY_USER_VIEW_LOGS', 'all', 'User policies', 'Users may view logs', yesNo),
  k('POLICY_USER_DELETE_LOGS', 'all', 'User policies', 'Users may delete logs', yesNo),
  k('POLICY_USER_VIEW_SUSPENDED', 'all', 'User policies', 'Suspended users may log in (read only)', yesNo),
  k('POLICY_BACKUP_SUSPENDED_USERS', 'all', 'User policies', 'Back up suspended users', yesNo),
  k('UPGRADE_SEND_EMAIL', 'all', 'Updates', 'E-mail the admin after an upgrade', trueFalse),
  k('UPGRADE_SEND_EMAIL_LOG', 'all', 'Updates', 'Attach the upgrade log', trueFalse),

  k('WEB_PORT', 'web', 'Web server', 'Apache port', port, 'Default 8080, behind the nginx proxy. Read when vhosts are generated: rebuild to move existing sites.'),
  k('WEB_SSL_PORT', 'web', 'Web server', 'Apache SSL port', port, 'Default 8443.'),
  k('PROXY_PORT', 'web', 'Web server', 'Nginx (proxy) port', port, 'Default 80, public HTTP.'),
  k('PROXY_SSL_PORT', 'web', 'Web server', 'Nginx (proxy) SSL port', port, 'Default 443, public HTTPS.'),
  k('WEB_BACKEND', 'web', 'Web server', 'Web backend', { kind: 'enum', values: ['php-fpm'] }),
  k('POLICY_SYNC_ERROR_DOCUMENTS', 'web', 'Web server', 'Sync error pages on rebuild', yesNo),
  k('POLICY_SYNC_SKELETON', 'web', 'Web server', 'Sync skeleton on rebuild', yesNo),
  k('DB_PMA_ALIAS', 'web', 'Databases', 'phpMyAdmin alias', { kind: 'alias' }, 'Default "phpmyadmin" (the /phpmyadmin URL). The key only: v-change-sys-db-alias also rewrites the web server\'s alias.'),
  k('DB_PGA_ALIAS', 'web', 'Databases', 'phpPgAdmin alias', { kind: 'alias' }, 'Default "phppgadmin".'),

  k('MAIL_SYSTEM', 'mail', 'Mail', 'Mail (SMTP) system', { kind: 'enum', values: ['exim4'] }, 'HestiaCP ships exim4.'),
  k('IMAP_SYSTEM', 'mail', 'Mail', 'IMAP/POP3 system', { kind: 'enum', values: ['dovecot'] }, 'HestiaCP ships Dovecot.'),
  k('ANTISPAM_SYSTEM', 'mail', 'Mail', 'Antispam', { kind: 'enum', values: ['spamassassin', 'spamd', ''] }, 'Empty: no spam filter (new mail domains get antispam off).'),
  k('ANTIVIRUS_SYSTEM', 'mail', 'Mail', 'Antivirus', { kind: 'enum', values: ['clamav-daemon', 'clamav', ''] }, 'Empty: no virus scanner (new mail domains get antivirus off).'),
  k('WEBMAIL_SYSTEM', 'mail', 'Mail', 'Webmail system', { kind: 'enum', values: ['roundcube', 'snappymail', 'roundcube,snappymail', ''] }),
  k('WEBMAIL_ALIAS', 'mail', 'Mail', 'Webmail alias', { kind: 'alias' }, 'Subdomain prefix, e.g. "webmail" (webmail.domain.com). The key only: v-change-sys-webmail also rewrites existing domains.'),
  k('USE_SERVER_SMTP', 'mail', 'Notifications', 'Use server SMTP for system mail', trueFalse),
  k('FROM_EMAIL', 'mail', 'Notifications', 'Notifications from-email', { kind: 'email' }),
  k('FROM_NAME', 'mail', 'Notifications', 'Notifications from-name', { kind: 'name' }),

  k('DNS_CLUSTER', 'dns', 'DNS', 'DNS cluster', yesNo, 'Whether the node syncs its zones to remote DNS hosts.'),
  k('DNS_CLUSTER_SYSTEM', 'dns', 'DNS', 'DNS cluster system', { kind: 'enum', values: ['hestia', 'hestia-zone'] }),
];

const BY_KEY = new Map(CONFIG_KEYS.map((c) => [c.key, c]));
export const CATEGORIES: ReadonlyArray<{ key: ConfigCategory; label: string }> = [
  { key: 'all', label: 'All servers' }, { key: 'web', label: 'Web servers' }, { key: 'mail', label: 'Mail servers' }, { key: 'dns', label: 'DNS servers' },
];

export function configKey(key: string): ConfigKey | undefined {
  return BY_KEY.get(key);
}

function ruleOf(c: ValueCheck): string {
  switch (c.kind) {
    case 'enum': return c.values.map((v) => (v === '' ? '(empty)' : v)).join(', ');
    case 'port': return 'a port number, 1 to 65535';
    case 'int': return `a whole number from ${c.min} to ${c.max}`;
    case 'alias': return '1-64 letters, digits, "-" or "_", starting with a letter or digit';
    case 'email': return 'an e-mail address';
    case 'name': return 'at most 100 characters, without "<" or ">"';
    case 'language': return `one of HestiaCP's languages (${LANGUAGES.join(', ')})`;
    case 'theme': return 'a theme name: 1-32 lower-case letters, digits, "-" or "_"';
    case 'ips': return '"allow-all" or a comma-separated list of IP addresses';
  }
}

const IP = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|[0-9a-fA-F:]{2,39})$/;

function passes(c: ValueCheck, v: string): boolean {
  switch (c.kind) {
    case 'enum': return c.values.includes(v);
    case 'port': return /^[1-9]\d{0,4}$/.test(v) && Number(v) <= 65535;
    case 'int': return /^\d{1,9}$/.test(v) && Number(v) >= c.min && Number(v) <= c.max;
    case 'alias': return /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(v);
    case 'email': return /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}$/.test(v);
    case 'name': return v !== '' && v.length <= 100 && !/[<>]/.test(v);
    case 'language': return LANGUAGES.includes(v);
    case 'theme': return /^[a-z0-9_-]{1,32}$/.test(v);
    case 'ips': return v === 'allow-all' || (v !== '' && v.split(',').every((ip) => IP.test(ip.trim()) && ip.trim() === ip));
  }
}

/**
 * The value a key may be set to, or an InputError naming the key. First what v-change-sys-config-value
 * itself refuses (quotes, "|", a line break: exit 2), then what its sed would mangle ("&", "\") or a
 * sourced shell file should not hold ("$", "`"), then the key's own rule.
 */
export function checkConfigValue(key: string, raw: unknown): string {
  const c = BY_KEY.get(key);
  if (!c) throw new InputError(key, 'is not a HestiaCP key hostbridge manages');
  if (typeof raw !== 'string') throw new InputError(key, 'must be a string');
  const v = raw.trim();
  if (/['"|]/.test(v)) throw new InputError(key, 'must not contain quotes or "|" (HestiaCP refuses them)');
  if (/[\x00-\x1f\x7f]/.test(v)) throw new InputError(key, 'must be one line without control characters');
  if (/[&\\$`]/.test(v)) throw new InputError(key, 'must not contain "&", "\\", "$" or "`"');
  if (v.length > 100) throw new InputError(key, 'must be at most 100 characters');
  if (!passes(c.check, v)) throw new InputError(key, `must be ${ruleOf(c.check)}${v === '' ? '' : `, not "${v.slice(0, 60)}"`}`);
  return v;
}

// --- the values a group manages ---------------------------------------------------------------

async function groupExists(db: Knex | Knex.Transaction, groupId: number): Promise<void> {
  if (!(await db(T.groups).where('id', groupId).first('id'))) throw new InputError('', `server group ${groupId} does not exist`, 404);
}

/** The keys a group manages with their values and categories, by key name. */
export async function managedKeys(db: Knex | Knex.Transaction, groupId: number): Promise<ManagedKey[]> {
  const rows = await db(T.hestiaConfig).where('group_id', groupId).orderBy('config_key');
  return rows.flatMap((r: Row) => {
    const c = BY_KEY.get(r.config_key);
    return c ? [{ key: c.key, value: String(r.value), category: c.category }] : [];
  });
}

/** The group's managed values, key → value (an unmanaged key is absent). */
export async function groupConfig(db: Knex, groupId: number): Promise<Record<string, string>> {
  await groupExists(db, groupId);
  return Object.fromEntries((await managedKeys(db, groupId)).map((m) => [m.key, m.value]));
}

/**
 * Replaces what a group manages: `values` maps key → value, or null for "not managed". With
 * `category`, every key of that category that `values` does not name becomes unmanaged (the tab's
 * form holds all of them); without, only the keys named change. Every value is checked first:
 * one bad value changes nothing.
 */
export async function saveGroupConfig(db: Knex, groupId: number, values: Record<string, string | null>, category?: ConfigCategory): Promise<number> {
  const set: Array<[string, string]> = [];
  const unset: string[] = [];
  for (const [key, v] of Object.entries(values)) {
    const c = BY_KEY.get(key);
    if (!c) throw new InputError(key, 'is not a HestiaCP key hostbridge manages');
    if (category && c.category !== category) throw new InputError(key, `belongs to the ${c.category} config, not ${category}`);
    if (v === null) unset.push(key);
    else set.push([key, checkConfigValue(key, v)]);
  }
  if (category) for (const c of CONFIG_KEYS) if (c.category === category && !(c.key in values)) unset.push(c.key);
  await inTx(db, async (trx) => {
    await groupExists(trx, groupId);
    if (unset.length) await trx(T.hestiaConfig).where('group_id', groupId).whereIn('config_key', unset).del();
    for (const [key, value] of set) {
      await trx(T.hestiaConfig).insert({ group_id: groupId, config_key: key, value, updated_at: nowMs(trx) }).onConflict(['group_id', 'config_key']).merge(['value', 'updated_at']);
    }
  });
  return set.length;
}

// --- Apply ------------------------------------------------------------------------------------

/** Every server of a group (members and DNS servers) as the planner sees it. */
export async function groupConfigServers(db: Knex | Knex.Transaction, groupId: number): Promise<ConfigServer[]> {
  const ids = [
    ...(await db(T.members).where('group_id', groupId).pluck('server_id')),
    ...(await db(T.groupDns).where('group_id', groupId).pluck('server_id')),
  ].map(Number);
  const rows = ids.length ? await db(T.servers).whereIn('id', [...new Set(ids)]).orderBy('id') : [];
  return rows.map((r: Row) => ({
    id: Number(r.id), name: r.name, driver: r.driver, status: r.status, caps: { web: !!r.cap_web, mail: !!r.cap_mail, dns: !!r.cap_dns },
  }));
}

export interface ApplyAnswer {
  group_id: number;
  role: ApplyRole;
  queued: Array<{ server_id: number; name: string }>;
  skipped: Array<{ server_id: number; name: string; reason: string }>;
}

/**
 * Queues Apply Hestia config for the group's servers of `role`: one hestia.config task per
 * HestiaCP server, on the server's target (it waits its turn behind the node's other commands),
 * the way the scheduler queues server.check. Skipped servers get their reason recorded at once.
 */
export async function applyHestiaConfig(db: Knex, groupId: number, role: string): Promise<ApplyAnswer> {
  if (!(APPLY_ROLES as readonly string[]).includes(role)) throw new InputError('role', `must be one of ${APPLY_ROLES.join(', ')}`);
  const r = role as ApplyRole;
  await groupExists(db, groupId);
  const plan = planApply(groupId, r, await groupConfigServers(db, groupId));
  const now = Date.now();
  const run = (serverId: number, outcome: string, message: string | null, finished: number | null) => db(T.hestiaConfigRuns)
    .insert({ group_id: groupId, server_id: serverId, role: r, outcome, message, queued_at: now, finished_at: finished })
    .onConflict(['group_id', 'server_id']).merge(['role', 'outcome', 'message', 'queued_at', 'finished_at']);
  for (const s of plan.skipped) {
    await run(s.server.id, 'skipped', s.reason, now);
    await db(T.hestiaConfigResults).where({ group_id: groupId, server_id: s.server.id }).del();
  }
  for (const step of plan.steps) await run(step.args.server, 'queued', null, null);
  if (plan.steps.length) await enqueueTasks(db, 'hestia-config', plan.steps.map((s) => ({ step: s.step, type: s.type, target: s.target, args: s.args })));
  const names = new Map((await groupConfigServers(db, groupId)).map((s) => [s.id, s.name]));
  return {
    group_id: groupId, role: r,
    queued: plan.steps.map((s) => ({ server_id: s.args.server, name: names.get(s.args.server) ?? `#${s.args.server}` })),
    skipped: plan.skipped.map((s) => ({ server_id: s.server.id, name: s.server.name, reason: s.reason })),
  };
}

// --- what the worker reads and records ----------------------------------------------------------

/** The keys a server gets from an Apply to `role` now: its roles as the inventory has them now. */
export async function keysToApply(db: Knex, groupId: number, server: ConfigServer, role: ApplyRole): Promise<ManagedKey[]> {
  return keysForServer(role, server.caps, await managedKeys(db, groupId));
}

export type KeyOutcome = 'applied' | 'unchanged' | 'refused';
export interface KeyResult { key: string; value: string; outcome: KeyOutcome; message: string | null }
export type RunOutcome = 'queued' | 'applied' | 'unchanged' | 'refused' | 'skipped' | 'failed';

/** Records one server's Apply: its outcome and the result of every key (the previous ones go). */
export async function recordApply(db: Knex, groupId: number, serverId: number, role: ApplyRole, outcome: RunOutcome, message: string | null, keys: KeyResult[]): Promise<void> {
  await inTx(db, async (trx) => {
    const now = Date.now();
    await trx(T.hestiaConfigRuns).insert({ group_id: groupId, server_id: serverId, role, outcome, message: message?.slice(0, 1000) ?? null, queued_at: now, finished_at: now })
      .onConflict(['group_id', 'server_id']).merge(['role', 'outcome', 'message', 'finished_at']);
    await trx(T.hestiaConfigResults).where({ group_id: groupId, server_id: serverId }).del();
    if (keys.length) {
      await trx(T.hestiaConfigResults).insert(keys.map((kr) => ({
        group_id: groupId, server_id: serverId, config_key: kr.key, value: kr.value, outcome: kr.outcome, message: kr.message?.slice(0, 1000) ?? null, at: now,
      })));
    }
  });
}

export interface ServerApplyView {
  server_id: number;
  role: ApplyRole;
  outcome: RunOutcome;
  message: string | null;
  queued_at: number;
  finished_at: number | null;
  keys: KeyResult[];
}

/** The last Apply of every server of the group that had one (a server since taken out of the group is left out). */
export async function lastApply(db: Knex, groupId: number): Promise<ServerApplyView[]> {
  const [runs, results, servers] = await Promise.all([
    db(T.hestiaConfigRuns).where('group_id', groupId).orderBy('server_id'),
    db(T.hestiaConfigResults).where('group_id', groupId).orderBy(['server_id', 'config_key']),
    groupConfigServers(db, groupId),
  ]);
  const inGroup = new Set(servers.map((s) => s.id));
  return runs.filter((r: Row) => inGroup.has(Number(r.server_id))).map((r: Row) => ({
    server_id: Number(r.server_id), role: r.role, outcome: r.outcome, message: r.message ?? null,
    queued_at: Number(r.queued_at), finished_at: r.finished_at === null ? null : Number(r.finished_at),
    keys: results.filter((x: Row) => Number(x.server_id) === Number(r.server_id))
      .map((x: Row) => ({ key: x.config_key, value: x.value, outcome: x.outcome, message: x.message ?? null })),
  }));
}
