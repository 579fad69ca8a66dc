// Admin-editable settings, stored in mod_hostbridge_settings. Each has a default and a check,
// so a bad value is refused with a message naming the key and nothing is written.
import type { Knex } from 'knex';
import { dbNow } from '../db/connect.ts';
import type { RetryPolicy } from '../engine/retry.ts';
import { decryptSecret, encryptSecret } from '../crypto/secretbox.ts';
import { T } from '../common/tables.ts';
import { InputError } from '../common/errors.ts';
import { parseResolverSetting } from '../common/resolver-setting.ts';

interface Definition {
  default: string;
  describe: string;
  check(value: string): string | null; // error text, or null when valid
  /** Stored encrypted with the master key, never shown back. */
  secret?: boolean;
  /** Never printed back (not by `set`, not on the settings page), though stored as is. */
  hidden?: boolean;
}

const int = (min: number, max: number) => (v: string) =>
  /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? null : `must be a whole number between ${min} and ${max}`;
const fraction = (v: string) => (/^(0(\.\d+)?|1(\.0+)?)$/.test(v) ? null : 'must be a number between 0 and 1');
const bool = (v: string) => (v === 'true' || v === 'false' ? null : 'must be true or false');
const optional = (check: (v: string) => string | null) => (v: string) => (v === '' ? null : check(v));
const httpUrl = (v: string) => {
  try {
    const u = new URL(v);
    return u.protocol === 'https:' || u.protocol === 'http:' ? null : 'must be an http(s) URL';
  } catch {
    return 'must be a URL such as https://billing.example.com/includes/api.php';
  }
};
const resolverList = (v: string) => {
  try {
    parseResolverSetting(v);
    return null;
  } catch (err) {
    return err instanceof InputError ? err.message : String(err);
  }
};
const text = (max: number) => (v: string) => (v.length <= max && !/[\0\r\n]/.test(v) ? null : `must be one line of at most ${max} characters`);
// An address WHMCS's OpenTicket takes: a local part and a domain with a dot. WHMCS answers "Email
// Address Invalid" for one it does not take (it refused hostbridge@localhost), so it is checked here, when set.
const email = (v: string) => (v.length <= 254
  && /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/.test(v)
  && v.indexOf('@') <= 64
  ? null : 'must be an e-mail address with a full domain, such as hostbridge@billing.example.com (WHMCS refuses one like hostbridge@localhost)');

export const SETTING_DEFINITIONS: Record<string, Definition> = {
  'retry.max_attempts': { default: '5', describe: 'Attempts per task before it fails for good (0 = unlimited), unless its type says otherwise', check: int(0, 1000) },
  'retry.base_ms': { default: '30000', describe: 'First retry delay in milliseconds; doubles each attempt', check: int(0, 86_400_000) },
  'retry.cap_ms': { default: '3600000', describe: 'Longest retry delay in milliseconds', check: int(0, 604_800_000) },
  'retry.jitter': { default: '0.2', describe: 'Random spread of each delay, as a fraction', check: fraction },
  'queue.target_concurrency': { default: '1', describe: 'Tasks running at once per target server, for servers without their own limit', check: int(1, 64) },
  'queue.retention_days': { default: '30', describe: 'Days finished tasks and their logs are kept before clean-up', check: int(1, 3650) },
  'scheduler.reap-expired-leases.interval_s': { default: '15', describe: 'Seconds between passes that take back tasks whose daemon stopped', check: int(1, 86_400) },
  'scheduler.clean-completed-tasks.interval_s': { default: '3600', describe: 'Seconds between clean-ups of old finished tasks', check: int(60, 604_800) },
  'scheduler.deliver-tickets.interval_s': { default: '30', describe: 'Seconds between deliveries of failure tickets to WHMCS', check: int(1, 86_400) },
  'scheduler.check-servers.interval_s': { default: '300', describe: 'Seconds between health checks of the servers (one read each)', check: int(30, 86_400) },
  'scheduler.proxmox-health.interval_s': { default: '300', describe: 'Seconds between reads of the Proxmox VE clusters (discovery and health)', check: int(30, 86_400) },
  'scheduler.remove-snapshots.interval_s': { default: '3600', describe: 'Seconds between removals of VM snapshots older than the snapshot lifetime', check: int(60, 604_800) },
  'scheduler.schedule-backup.interval_s': { default: '3600', describe: 'Seconds between checks for VM backups due today (each VM is backed up once per backup day)', check: int(60, 86_400) },
  'scheduler.backup-status.interval_s': { default: '300', describe: 'Seconds between checks of running VM backups', check: int(30, 86_400) },
  'scheduler.restore-backup.interval_s': { default: '300', describe: 'Seconds between checks for queued and running VM restores', check: int(30, 86_400) },
  'proxmox.snapshot_lifetime_days': { default: '7', describe: 'Days a VM snapshot is kept before remove-snapshots deletes it (0 keeps snapshots)', check: int(0, 3650) },
  'scheduler.collect-statistics.interval_s': { default: '3600', describe: 'Seconds between collections of VM network traffic from Proxmox\'s RRD data (one read per VM)', check: int(60, 604_800) },
  'scheduler.deliver-emails.interval_s': { default: '30', describe: 'Seconds between deliveries of client e-mails to WHMCS (SendEmail)', check: int(1, 86_400) },
  'emails.enabled': { default: 'false', describe: 'Send client e-mails (VM is ready, backup restored) through WHMCS\'s SendEmail; queued either way', check: bool },
  'emails.vm_ready_template': { default: 'VPS Ready', describe: 'Name of the WHMCS product e-mail template sent when a VM is ready (SendEmail messagename)', check: (v) => (v.trim() === '' ? 'must name a WHMCS e-mail template' : text(255)(v)) },
  'emails.backup_restored_template': { default: 'VPS Backup Restored', describe: 'Name of the WHMCS product e-mail template sent when a backup was restored (SendEmail messagename)', check: (v) => (v.trim() === '' ? 'must name a WHMCS e-mail template' : text(255)(v)) },
  'scheduler.process-vms.interval_s': { default: '60', describe: 'Seconds between checks for VM steps that are due but not running (the engine is woken for them)', check: int(5, 86_400) },
  'scheduler.sync-usage.interval_s': { default: '3600', describe: 'Seconds between usage collections (one command per server)', check: int(60, 604_800) },
  'tickets.enabled': { default: 'false', describe: 'Open a WHMCS ticket when a task fails for good', check: bool },
  'tickets.department_id': { default: '', describe: 'WHMCS support department the tickets go to (its id)', check: optional(int(1, 2_147_483_647)) },
  'tickets.sender_email': {
    default: '', check: optional(email),
    describe: 'Sender address of tickets WHMCS has no client for (a service deleted in WHMCS, or a daemon on SQLite); without it such tickets wait',
  },
  'tickets.sender_name': { default: 'hostbridge', describe: 'Sender name of those tickets', check: (v) => (v.trim() === '' ? 'must not be empty' : text(100)(v)) },
  'tickets.priority': { default: 'High', describe: 'Priority of the tickets: Low, Medium or High', check: (v) => (['Low', 'Medium', 'High'].includes(v) ? null : 'must be Low, Medium or High') },
  // The VM's browser console (daemon/console): how long a link may wait to be opened, and how long a session may last.
  'console.link_ttl_s': { default: '60', describe: 'Seconds a console link works before it is opened (each link opens once)', check: int(5, 3600) },
  'console.idle_timeout_s': { default: '900', describe: 'Seconds a console session may pass with no data either way before it is closed', check: int(5, 86_400) },
  'console.max_session_s': { default: '14400', describe: 'Seconds a console session may last at most, however active', check: int(60, 86_400) },
  'oplog.retention_days': { default: '365', describe: 'Days the Operation Log keeps an entry (what ran, where, for which service, by whom, with what result); the queue\'s clean-up leaves it alone', check: int(1, 3650) },
  'scheduler.prune-operation-log.interval_s': { default: '3600', describe: 'Seconds between removals of Operation Log entries older than oplog.retention_days', check: int(60, 604_800) },
  // Automatic SSL (Settings → SSL): the ssl-check job's cadence, its rate-limit guard and where it looks.
  'scheduler.ssl-check.interval_s': { default: '30', describe: 'Seconds between runs of the automatic-SSL check (each run checks the certificates that are due)', check: int(1, 86_400) },
  'ssl.enabled': { default: 'true', describe: 'Check and request Let\'s Encrypt certificates automatically for every web and mail role', check: bool },
  'ssl.fast_checks': { default: '10', describe: 'Checks of a new certificate in fast mode, right after provisioning', check: int(0, 1000) },
  'ssl.fast_interval_s': { default: '60', describe: 'Seconds between checks in fast mode', check: int(1, 86_400) },
  'ssl.normal_interval_s': { default: '3600', describe: 'Seconds between checks after fast mode, while no valid certificate is served', check: int(1, 604_800) },
  'ssl.active_interval_s': { default: '86400', describe: 'Seconds between checks once a valid certificate is served (renewals are found then)', check: int(1, 2_592_000) },
  'ssl.renew_before_days': { default: '30', describe: 'Days before its expiry that a certificate is renewed', check: int(1, 89) },
  'ssl.freeze_after': { default: '5', describe: 'Failed certificate requests in a row after which a domain is frozen (Let\'s Encrypt rate limits)', check: int(1, 100) },
  'ssl.freeze_hours': { default: '24', describe: 'Hours a frozen domain waits before it is tried again', check: int(1, 720) },
  'ssl.resolver': { default: '', describe: 'DNS servers the checks ask, by address: host, host:port or [v6]:port, separated by commas (empty: the system\'s resolvers)', check: resolverList },
  'ssl.probe_port': { default: '443', describe: 'Port the TLS probe connects to on the role\'s server', check: int(1, 65_535) },
  'ssl.probe_timeout_ms': { default: '5000', describe: 'Milliseconds a DNS check or TLS probe may take', check: int(100, 60_000) },
  'ssl.extra_ca_file': { default: '', describe: 'PEM file of extra certificate authorities the probe trusts (a private CA); empty: the public ones only', check: optional((v) => (v.startsWith('/') ? text(1024)(v) : 'must be an absolute path to a PEM file')) },
  'scheduler.ssl-custom-expiry.interval_s': { default: '86400', describe: 'Seconds between checks for custom SSL certificates about to expire (one e-mail per certificate)', check: int(60, 604_800) },
  'ssl.custom_warn_days': { default: '14', describe: 'Days before a custom SSL certificate expires that its customer is e-mailed, once per certificate', check: int(1, 365) },
  'emails.ssl_custom_expiry_template': { default: 'SSL Certificate Expiring', describe: 'Name of the WHMCS product e-mail template sent when a custom SSL certificate is about to expire (SendEmail messagename)', check: (v) => (v.trim() === '' ? 'must name a WHMCS e-mail template' : text(255)(v)) },
  'whmcs.api_url': { default: '', describe: 'WHMCS External API endpoint, https://…/includes/api.php', check: optional(httpUrl) },
  'whmcs.api_identifier': { default: '', describe: 'API credential identifier (Manage API Credentials in WHMCS)', check: text(255) },
  'whmcs.api_secret': { default: '', describe: 'API credential secret (stored encrypted)', check: text(255), secret: true },
  'ui.admin_password_hash': {
    default: '', describe: 'scrypt hash of the admin password of the pages (/ui); set it with "hostbridge admin-password -"', hidden: true,
    check: (v) => (v === '' || /^scrypt\$\d{1,7}\$\d{1,3}\$\d{1,3}\$[A-Za-z0-9+/=]{16,64}\$[A-Za-z0-9+/=]{40,128}$/.test(v) ? null : 'must be a hash made by "hostbridge admin-password -", not a password'),
  },
  'whmcs.api_access_key': { default: '', describe: 'Optional $api_access_key of configuration.php (stored encrypted)', check: (v) => (/^[A-Za-z0-9!@#$%.()*[\]_-]{0,255}$/.test(v) ? null : 'may hold only letters, digits and !@#$%.()*[]-_'), secret: true },
};

export class SettingError extends Error {
  constructor(readonly key: string, message: string) {
    super(`setting ${key}: ${message}`);
    this.name = 'SettingError';
  }
}

export async function readSettings(db: Knex): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [k, d] of Object.entries(SETTING_DEFINITIONS)) out[k] = d.default;
  const rows = await db(T.settings).select('key', 'value').where('encrypted', false);
  for (const r of rows as Array<{ key: string; value: string }>) {
    if (r.key in SETTING_DEFINITIONS && SETTING_DEFINITIONS[r.key].check(r.value) === null) out[r.key] = r.value;
  }
  return out;
}

export async function writeSetting(db: Knex, key: string, value: string, masterKey?: Buffer): Promise<void> {
  const def = SETTING_DEFINITIONS[key];
  if (!def) throw new SettingError(key, `unknown setting; known settings are ${Object.keys(SETTING_DEFINITIONS).join(', ')}`);
  const problem = def.check(value);
  // A secret's value is never echoed back, not even in an error.
  if (problem) throw new SettingError(key, def.secret || def.hidden ? problem : `${problem}, got "${value}"`);
  if (def.secret) {
    if (!masterKey) throw new SettingError(key, 'is a secret and needs the master key to be stored');
    const now = await dbNow(db);
    await db(T.settings).insert({ key, value: encryptSecret(masterKey, value), encrypted: true, updated_at: now })
      .onConflict('key').merge(['value', 'encrypted', 'updated_at']);
    return;
  }
  if (key === 'retry.cap_ms' || key === 'retry.base_ms') {
    const s = await readSettings(db);
    const base = Number(key === 'retry.base_ms' ? value : s['retry.base_ms']);
    const cap = Number(key === 'retry.cap_ms' ? value : s['retry.cap_ms']);
    if (cap < base) throw new SettingError(key, `retry.cap_ms (${cap}) must not be below retry.base_ms (${base})`);
  }
  const now = await dbNow(db);
  await db(T.settings).insert({ key, value, encrypted: false, updated_at: now }).onConflict('key').merge(['value', 'updated_at']);
}

/** A secret setting, decrypted ('' when unset). */
export async function readSecretSetting(db: Knex, key: string, masterKey: Buffer): Promise<string> {
  if (!SETTING_DEFINITIONS[key]?.secret) throw new SettingError(key, 'is not a secret setting');
  const row = await db(T.settings).where({ key, encrypted: true }).first('value');
  if (!row) return SETTING_DEFINITIONS[key].default;
  try {
    return decryptSecret(masterKey, row.value);
  } catch (err) {
    throw new SettingError(key, (err as Error).message);
  }
}

export function isSecretSetting(key: string): boolean {
  return SETTING_DEFINITIONS[key]?.secret === true;
}

/** A setting never printed back: a secret, or a hidden one such as the admin password's hash. */
export function isHiddenSetting(key: string): boolean {
  return SETTING_DEFINITIONS[key]?.secret === true || SETTING_DEFINITIONS[key]?.hidden === true;
}

export function retryPolicyFrom(s: Record<string, string>): RetryPolicy {
  return {
    maxAttempts: Number(s['retry.max_attempts']),
    baseMs: Number(s['retry.base_ms']),
    capMs: Number(s['retry.cap_ms']),
    jitter: Number(s['retry.jitter']),
  };
}

/** Settings as last read, refreshed by the daemon now and then so admins' changes apply without a restart. */
export class SettingsCache {
  private values: Record<string, string> = {};
  private readAt = 0;

  constructor(private readonly db: Knex, private readonly maxAgeMs = 30_000) {
    for (const [k, d] of Object.entries(SETTING_DEFINITIONS)) this.values[k] = d.default;
  }

  async refresh(): Promise<Record<string, string>> {
    this.values = await readSettings(this.db);
    this.readAt = Date.now();
    return this.values;
  }

  async fresh(): Promise<Record<string, string>> {
    if (Date.now() - this.readAt > this.maxAgeMs) await this.refresh();
    return this.values;
  }

  get(): Record<string, string> {
    return this.values;
  }

  retryPolicy(): RetryPolicy {
    return retryPolicyFrom(this.values);
  }

  targetConcurrency(): number {
    return Number(this.values['queue.target_concurrency']);
  }
}
