// Daemon configuration: environment variables (HOSTBRIDGE_*) over an optional JSON file
// (HOSTBRIDGE_CONFIG). Everything is checked here, once, so a bad value stops the daemon
// at start-up with a message that names the setting instead of failing later.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

export type DatabaseConfig =
  | { client: 'mysql2'; url: string; host: string; port: number; user: string; password: string; database: string }
  | { client: 'better-sqlite3'; filename: string };

export interface Config {
  database: DatabaseConfig;
  listenHost: string;
  listenPort: number;
  secret: string;
  masterKey: Buffer;
  concurrency: number;
  schedulerIntervalS: number;
  leaseMs: number;
  pollMs: number;
  migrateOnStart: boolean;
  logFormat: 'json' | 'text' | 'auto';
  logLevel: string;
  dataDir: string;
  /** Bearer token a scrape of /metrics must carry; null = none (docs/metrics.md). */
  metricsToken: string | null;
  /** A listener of its own for /metrics; null = /metrics only on the main listener, and only with a token. */
  metricsListen: { host: string; port: number } | null;
  /**
   * The VM console's own listener and the public base URL its links name (daemon/console); null =
   * no console. publicUrl null: the listener's own http address (development; production puts a TLS
   * proxy in front and names it in HOSTBRIDGE_CONSOLE_URL).
   */
  console: { host: string; port: number; publicUrl: string | null } | null;
  /** Where each setting came from, for `hostbridge config` and start-up logs (never the value of a secret). */
  sources: Record<string, string>;
}

export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`configuration: ${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Every setting, its environment variable and its file key. */
const SETTINGS = {
  database_url: 'HOSTBRIDGE_DATABASE_URL',
  listen: 'HOSTBRIDGE_LISTEN',
  secret: 'HOSTBRIDGE_SECRET',
  master_key: 'HOSTBRIDGE_MASTER_KEY',
  concurrency: 'HOSTBRIDGE_CONCURRENCY',
  scheduler_interval: 'HOSTBRIDGE_SCHEDULER_INTERVAL',
  lease_ms: 'HOSTBRIDGE_LEASE_MS',
  poll_ms: 'HOSTBRIDGE_POLL_MS',
  migrate_on_start: 'HOSTBRIDGE_MIGRATE_ON_START',
  log_format: 'HOSTBRIDGE_LOG_FORMAT',
  log_level: 'HOSTBRIDGE_LOG_LEVEL',
  data_dir: 'HOSTBRIDGE_DATA_DIR',
  metrics_token: 'HOSTBRIDGE_METRICS_TOKEN',
  metrics_listen: 'HOSTBRIDGE_METRICS_LISTEN',
  console_listen: 'HOSTBRIDGE_CONSOLE_LISTEN',
  console_url: 'HOSTBRIDGE_CONSOLE_URL',
} as const;
type Key = keyof typeof SETTINGS;

export const DEFAULT_PORT = 8740;
const LOG_LEVELS = ['error', 'warn', 'info', 'debug'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const file = readConfigFile(env, cwd);
  const sources: Record<string, string> = {};
  const raw = (key: Key): string | undefined => {
    const envName = SETTINGS[key];
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv !== '') {
      sources[key] = envName;
      return fromEnv;
    }
    if (file.values[key] !== undefined) {
      sources[key] = `${file.path} (${key})`;
      return String(file.values[key]);
    }
    sources[key] = 'default';
    return undefined;
  };
  const label = (key: Key) => (sources[key] === 'default' || !sources[key] ? SETTINGS[key] : sources[key]);

  const dataDir = path.resolve(cwd, raw('data_dir') ?? 'data');
  const database = parseDatabaseUrl(raw('database_url'), dataDir, () => label('database_url'), cwd);

  const [listenHost, listenPort] = parseListen(raw('listen') ?? `127.0.0.1:${DEFAULT_PORT}`, label('listen'));
  const concurrency = parseInteger(raw('concurrency') ?? '8', label('concurrency'), 1, 256);
  const schedulerIntervalS = parseInteger(raw('scheduler_interval') ?? '15', label('scheduler_interval'), 1, 3600);
  if (schedulerIntervalS < 60 ? 60 % schedulerIntervalS !== 0 : schedulerIntervalS % 60 !== 0 || 60 % (schedulerIntervalS / 60) !== 0) {
    throw new ConfigError(label('scheduler_interval'),
      `must divide a minute or an hour evenly (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 seconds or 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60 minutes), got ${schedulerIntervalS}`);
  }
  const leaseMs = parseInteger(raw('lease_ms') ?? '30000', label('lease_ms'), 500, 3_600_000);
  const pollMs = parseInteger(raw('poll_ms') ?? '250', label('poll_ms'), 10, 60_000);
  const migrateOnStart = parseBoolean(raw('migrate_on_start') ?? 'false', label('migrate_on_start'));
  const logFormat = raw('log_format') ?? 'auto';
  if (!['json', 'text', 'auto'].includes(logFormat)) {
    throw new ConfigError(label('log_format'), `must be json, text or auto, got "${logFormat}"`);
  }
  const logLevel = raw('log_level') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(label('log_level'), `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  // The embedded default may create its own secret and key files beside the SQLite database, so a
  // first run needs no configuration. A shared MySQL database is used by several daemons, which
  // must all hold the same key: there they have to be given explicitly.
  const generated = database.client === 'better-sqlite3';
  let secret = raw('secret');
  if (secret === undefined) {
    if (!generated) throw new ConfigError(SETTINGS.secret, 'is required with a MySQL/MariaDB database (the shared secret WHMCS signs its calls with; at least 32 characters)');
    secret = readOrCreateKeyFile(path.join(dataDir, 'shared-secret'), () => crypto.randomBytes(32).toString('hex'));
    sources.secret = path.join(dataDir, 'shared-secret');
  }
  if (secret.length < 32) throw new ConfigError(label('secret'), `must be at least 32 characters long, got ${secret.length}`);

  let masterKeyText = raw('master_key');
  if (masterKeyText === undefined) {
    if (!generated) throw new ConfigError(SETTINGS.master_key, 'is required with a MySQL/MariaDB database (32 bytes as 64 hex digits or base64; the same on every daemon; keep it outside the database)');
    masterKeyText = readOrCreateKeyFile(path.join(dataDir, 'master.key'), () => crypto.randomBytes(32).toString('hex'));
    sources.master_key = path.join(dataDir, 'master.key');
  }
  const masterKey = parseMasterKey(masterKeyText, label('master_key'));

  const metricsToken = raw('metrics_token') ?? null;
  if (metricsToken !== null && (metricsToken.length < 16 || /\s/.test(metricsToken))) {
    throw new ConfigError(label('metrics_token'), `must be at least 16 characters with no spaces, got ${metricsToken.length} character(s)`);
  }
  const metricsListenText = raw('metrics_listen');
  const metricsListen = metricsListenText === undefined ? null : (([host, port]) => ({ host, port }))(parseListen(metricsListenText, label('metrics_listen')));

  const consoleListenText = raw('console_listen');
  const consoleUrlText = raw('console_url');
  if (consoleUrlText !== undefined && consoleListenText === undefined) {
    throw new ConfigError(label('console_url'), `names the console's public address, but no console listener is set: set ${SETTINGS.console_listen} too (host:port the TLS proxy forwards to)`);
  }
  const consoleAt = consoleListenText === undefined ? null : (([host, port]) => ({ host, port, publicUrl: consoleUrlText === undefined ? null : parsePublicUrl(consoleUrlText, label('console_url')) }))(parseListen(consoleListenText, label('console_listen')));

  return {
    database, listenHost, listenPort, secret, masterKey, concurrency, schedulerIntervalS, leaseMs, pollMs,
    migrateOnStart, logFormat: logFormat as Config['logFormat'], logLevel, dataDir, metricsToken, metricsListen, console: consoleAt, sources,
  };
}

function readConfigFile(env: NodeJS.ProcessEnv, cwd: string): { path: string; values: Partial<Record<Key, unknown>> } {
  const p = env.HOSTBRIDGE_CONFIG;
  if (!p) return { path: '', values: {} };
  const full = path.resolve(cwd, p);
  let text: string;
  try {
    text = fs.readFileSync(full, 'utf8');
  } catch (err) {
    throw new ConfigError('HOSTBRIDGE_CONFIG', `cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // V8 quotes a piece of the text in some of its messages ("...\"secret\": abc..."), and that piece may be a secret.
    const detail = (err as Error).message.replace(/^Unexpected token .* is not valid JSON$/s, 'unexpected token (a string value may be missing its quotes)');
    throw new ConfigError('HOSTBRIDGE_CONFIG', `${full} is not valid JSON: ${detail}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('HOSTBRIDGE_CONFIG', `${full} must hold a JSON object`);
  }
  for (const [k, v] of Object.entries(parsed)) {
    if (!(k in SETTINGS)) {
      throw new ConfigError(`${full} (${k})`, `unknown setting; known settings are ${Object.keys(SETTINGS).join(', ')}`);
    }
    if (v !== null && typeof v === 'object') throw new ConfigError(`${full} (${k})`, 'must be a string, number or boolean');
  }
  return { path: full, values: parsed as Partial<Record<Key, unknown>> };
}

export function parseDatabaseUrl(value: string | undefined, dataDir: string, label: () => string, cwd = process.cwd()): DatabaseConfig {
  if (value === undefined) return { client: 'better-sqlite3', filename: path.join(dataDir, 'hostbridge.sqlite') };
  if (/^mysql:\/\//i.test(value) || /^mariadb:\/\//i.test(value)) {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      throw new ConfigError(label(), 'is not a valid URL (expected mysql://user:password@host:3306/database)');
    }
    const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    if (!database) throw new ConfigError(label(), 'names no database (expected mysql://user:password@host:3306/database)');
    if (!/^[A-Za-z0-9_$]{1,64}$/.test(database)) throw new ConfigError(label(), `database name "${database}" has characters MySQL does not allow unquoted`);
    if (!u.hostname) throw new ConfigError(label(), 'names no host');
    const port = u.port ? Number(u.port) : 3306;
    return {
      client: 'mysql2', url: `mysql://${u.username ? decodeURIComponent(u.username) + '@' : ''}${u.hostname}:${port}/${database}`,
      host: u.hostname, port, user: decodeURIComponent(u.username || 'root'), password: decodeURIComponent(u.password), database,
    };
  }
  if (/^sqlite:/i.test(value)) {
    const filename = value.replace(/^sqlite:(\/\/)?/i, '');
    if (!filename) throw new ConfigError(label(), 'sqlite: URL names no file');
    return { client: 'better-sqlite3', filename: path.resolve(cwd, filename) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new ConfigError(label(), `unsupported database "${value.split(':')[0]}": use mysql://user:password@host:port/database or a SQLite file path`);
  }
  return { client: 'better-sqlite3', filename: path.resolve(cwd, value) };
}

function parseListen(value: string, label: string): [string, number] {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value) ?? /^(\d{1,5})$/.exec(value);
  if (!m) throw new ConfigError(label, `must be host:port (for example 127.0.0.1:${DEFAULT_PORT}), got "${value}"`);
  const host = m.length === 2 ? '127.0.0.1' : (m[1] ?? m[2]);
  const port = Number(m.length === 2 ? m[1] : m[3]);
  if (port > 65535) throw new ConfigError(label, `port must be between 0 and 65535, got ${port}`);
  return [host, port];
}

/** An http(s) base URL without query or fragment; a trailing slash is dropped (links append /console/). */
function parsePublicUrl(value: string, label: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ConfigError(label, `must be an http(s) URL such as https://console.example.com, got "${value}"`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError(label, `must be an http(s) URL, got "${value}"`);
  if (u.search || u.hash || u.username || u.password) throw new ConfigError(label, `must be a plain base URL with no query, fragment or credentials, got "${value}"`);
  return u.href.replace(/\/+$/, '');
}

function parseInteger(value: string, label: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value.trim())) throw new ConfigError(label, `must be a whole number between ${min} and ${max}, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(label, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function parseBoolean(value: string, label: string): boolean {
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(label, `must be true or false, got "${value}"`);
}

function parseMasterKey(value: string, label: string): Buffer {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(v)) return Buffer.from(v, 'base64');
  throw new ConfigError(label, 'must be 32 bytes written as 64 hex digits or 44 base64 characters (generate one with: openssl rand -hex 32)');
}

function readOrCreateKeyFile(file: string, make: () => string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(file, `cannot read: ${(err as NodeJS.ErrnoException).code}`);
    }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const value = make();
  try {
    fs.writeFileSync(file, value + '\n', { mode: 0o600, flag: 'wx' });
    return value;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
    throw new ConfigError(file, `cannot create: ${(err as NodeJS.ErrnoException).code}`);
  }
}
