import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, ConfigError, DEFAULT_PORT } from '../../daemon/config/config.ts';

const SECRET = 'config-test-secret-0123456789abcdefXYZ';
const MASTER_KEY_HEX = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-cfg-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** loadConfig must throw a ConfigError; returns it for further checks. */
function configError(env: NodeJS.ProcessEnv, cwd = tmp()): ConfigError {
  let caught: unknown;
  try {
    loadConfig(env, cwd);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `loadConfig(${JSON.stringify(env)}) should have thrown`);
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  return caught;
}

describe('loadConfig defaults', () => {
  test('an empty environment gives SQLite in <cwd>/data, 127.0.0.1:8740 and generated key files', () => {
    const cwd = tmp();
    const c = loadConfig({}, cwd);
    assert.deepEqual(c.database, { client: 'better-sqlite3', filename: path.join(cwd, 'data', 'hostbridge.sqlite') });
    assert.equal(c.listenHost, '127.0.0.1');
    assert.equal(c.listenPort, 8740);
    assert.equal(DEFAULT_PORT, 8740);
    assert.equal(c.dataDir, path.join(cwd, 'data'));
    assert.equal(c.concurrency, 8);
    assert.equal(c.schedulerIntervalS, 15);
    assert.equal(c.migrateOnStart, false);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.logFormat, 'auto');
    assert.equal(c.sources.listen, 'default');

    const secretFile = path.join(cwd, 'data', 'shared-secret');
    const keyFile = path.join(cwd, 'data', 'master.key');
    for (const f of [secretFile, keyFile]) {
      const st = fs.statSync(f);
      assert.equal(st.mode & 0o777, 0o600, `${f} must be readable by its owner only, is ${(st.mode & 0o777).toString(8)}`);
    }
    assert.equal(fs.readFileSync(secretFile, 'utf8').trim(), c.secret);
    assert.ok(c.secret.length >= 32);
    assert.equal(c.masterKey.length, 32);
    assert.equal(fs.readFileSync(keyFile, 'utf8').trim(), c.masterKey.toString('hex'));
    assert.equal(c.sources.secret, secretFile);
    assert.equal(c.sources.master_key, keyFile);

    // A second load uses the same files instead of making new ones.
    const again = loadConfig({}, cwd);
    assert.equal(again.secret, c.secret);
    assert.ok(again.masterKey.equals(c.masterKey));
    // ... and a different directory gets different ones.
    const other = loadConfig({}, tmp());
    assert.notEqual(other.secret, c.secret);
    assert.ok(!other.masterKey.equals(c.masterKey));
  });

  test('valid environment values are used and their source recorded', () => {
    const cwd = tmp();
    const c = loadConfig({
      HOSTBRIDGE_DATABASE_URL: path.join(cwd, 'x.sqlite'),
      HOSTBRIDGE_LISTEN: '0.0.0.0:9000',
      HOSTBRIDGE_SECRET: SECRET,
      HOSTBRIDGE_MASTER_KEY: MASTER_KEY_HEX,
      HOSTBRIDGE_CONCURRENCY: '3',
      HOSTBRIDGE_SCHEDULER_INTERVAL: '120',
      HOSTBRIDGE_MIGRATE_ON_START: 'yes',
      HOSTBRIDGE_LOG_LEVEL: 'debug',
    }, cwd);
    assert.deepEqual(c.database, { client: 'better-sqlite3', filename: path.join(cwd, 'x.sqlite') });
    assert.equal(c.listenHost, '0.0.0.0');
    assert.equal(c.listenPort, 9000);
    assert.equal(c.secret, SECRET);
    assert.equal(c.masterKey.toString('hex'), MASTER_KEY_HEX);
    assert.equal(c.concurrency, 3);
    assert.equal(c.schedulerIntervalS, 120);
    assert.equal(c.migrateOnStart, true);
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.sources.concurrency, 'HOSTBRIDGE_CONCURRENCY');
    // Given secret and key: no file is generated.
    assert.equal(fs.existsSync(path.join(cwd, 'data')), false);
  });

  test('a base64 master key and a MySQL URL are accepted; the URL kept for display has no password', () => {
    const c = loadConfig({
      HOSTBRIDGE_DATABASE_URL: 'mysql://whmcs:p%40ss-word@db.example:3307/whmcs_db',
      HOSTBRIDGE_SECRET: SECRET,
      HOSTBRIDGE_MASTER_KEY: Buffer.from(MASTER_KEY_HEX, 'hex').toString('base64'),
    }, tmp());
    assert.deepEqual(c.database, {
      client: 'mysql2', url: 'mysql://whmcs@db.example:3307/whmcs_db', host: 'db.example', port: 3307, user: 'whmcs', password: 'p@ss-word', database: 'whmcs_db',
    });
    assert.equal(c.masterKey.toString('hex'), MASTER_KEY_HEX);
  });
});

describe('loadConfig refuses bad values, naming the setting', () => {
  const base = { HOSTBRIDGE_SECRET: SECRET, HOSTBRIDGE_MASTER_KEY: MASTER_KEY_HEX };
  const cases: Array<[string, NodeJS.ProcessEnv, string, RegExp]> = [
    ['concurrency not a number', { HOSTBRIDGE_CONCURRENCY: 'abc' }, 'HOSTBRIDGE_CONCURRENCY', /whole number between 1 and 256, got "abc"/],
    ['concurrency 0', { HOSTBRIDGE_CONCURRENCY: '0' }, 'HOSTBRIDGE_CONCURRENCY', /between 1 and 256, got 0/],
    ['concurrency 999', { HOSTBRIDGE_CONCURRENCY: '999' }, 'HOSTBRIDGE_CONCURRENCY', /between 1 and 256, got 999/],
    ['listen without a port', { HOSTBRIDGE_LISTEN: 'nonsense' }, 'HOSTBRIDGE_LISTEN', /host:port.*got "nonsense"/],
    ['listen port above 65535', { HOSTBRIDGE_LISTEN: '127.0.0.1:70000' }, 'HOSTBRIDGE_LISTEN', /port must be between 0 and 65535, got 70000/],
    ['postgres database', { HOSTBRIDGE_DATABASE_URL: 'postgres://x/y' }, 'HOSTBRIDGE_DATABASE_URL', /unsupported database "postgres"/],
    ['mysql URL without a database', { HOSTBRIDGE_DATABASE_URL: 'mysql://h/' }, 'HOSTBRIDGE_DATABASE_URL', /names no database/],
    ['short master key', { HOSTBRIDGE_MASTER_KEY: 'short' }, 'HOSTBRIDGE_MASTER_KEY', /32 bytes/],
    ['short secret', { HOSTBRIDGE_SECRET: 'tooshort-secret-value' }, 'HOSTBRIDGE_SECRET', /at least 32 characters long, got 21/],
    ['scheduler interval 7', { HOSTBRIDGE_SCHEDULER_INTERVAL: '7' }, 'HOSTBRIDGE_SCHEDULER_INTERVAL', /must divide a minute.*got 7/],
    ['scheduler interval 90', { HOSTBRIDGE_SCHEDULER_INTERVAL: '90' }, 'HOSTBRIDGE_SCHEDULER_INTERVAL', /must divide a minute.*got 90/],
    ['log level loud', { HOSTBRIDGE_LOG_LEVEL: 'loud' }, 'HOSTBRIDGE_LOG_LEVEL', /must be one of error, warn, info, debug, got "loud"/],
    ['log format', { HOSTBRIDGE_LOG_FORMAT: 'xml' }, 'HOSTBRIDGE_LOG_FORMAT', /json, text or auto/],
    ['migrate on start maybe', { HOSTBRIDGE_MIGRATE_ON_START: 'maybe' }, 'HOSTBRIDGE_MIGRATE_ON_START', /must be true or false, got "maybe"/],
  ];
  for (const [what, env, setting, why] of cases) {
    test(what, () => {
      const err = configError({ ...base, ...env });
      assert.equal(err.setting, setting);
      assert.ok(err.message.includes(setting), `"${err.message}" should name ${setting}`);
      assert.match(err.message, why);
      assert.ok(!err.message.includes(SECRET) && !err.message.includes(MASTER_KEY_HEX), `"${err.message}" leaks a secret`);
    });
  }

  test('a short secret is reported by its length, never by its value', () => {
    const shortSecret = 'Sup3r-S3cret-V4lue';
    const err = configError({ HOSTBRIDGE_SECRET: shortSecret, HOSTBRIDGE_MASTER_KEY: MASTER_KEY_HEX });
    assert.ok(!err.message.includes(shortSecret), err.message);
    const badKey = 'zz' + MASTER_KEY_HEX.slice(2);
    const keyErr = configError({ HOSTBRIDGE_SECRET: SECRET, HOSTBRIDGE_MASTER_KEY: badKey });
    assert.equal(keyErr.setting, 'HOSTBRIDGE_MASTER_KEY');
    assert.ok(!keyErr.message.includes(badKey), keyErr.message);
  });

  test('a MySQL database needs an explicit secret and master key, and the password is not echoed', () => {
    const cwd = tmp();
    const url = 'mysql://u:Very-Secret-Pw-99@db.example/whmcs';
    const noSecret = configError({ HOSTBRIDGE_DATABASE_URL: url, HOSTBRIDGE_MASTER_KEY: MASTER_KEY_HEX }, cwd);
    assert.equal(noSecret.setting, 'HOSTBRIDGE_SECRET');
    assert.match(noSecret.message, /HOSTBRIDGE_SECRET: is required with a MySQL/);
    const noKey = configError({ HOSTBRIDGE_DATABASE_URL: url, HOSTBRIDGE_SECRET: SECRET }, cwd);
    assert.equal(noKey.setting, 'HOSTBRIDGE_MASTER_KEY');
    assert.match(noKey.message, /HOSTBRIDGE_MASTER_KEY: is required with a MySQL/);
    for (const e of [noSecret, noKey]) assert.ok(!e.message.includes('Very-Secret-Pw-99') && !e.message.includes(SECRET), e.message);
    // Nothing was generated for a shared database.
    assert.equal(fs.existsSync(path.join(cwd, 'data')), false);
  });
});

describe('HOSTBRIDGE_CONFIG file', () => {
  const write = (dir: string, name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return name;
  };

  test('file values are used, environment variables override them, a relative path is resolved from cwd', () => {
    const cwd = tmp();
    const file = write(cwd, 'hostbridge.json', JSON.stringify({
      listen: '127.0.0.2:9100', concurrency: 4, secret: SECRET, master_key: MASTER_KEY_HEX, migrate_on_start: true, log_level: 'warn', data_dir: 'state',
    }));
    const c = loadConfig({ HOSTBRIDGE_CONFIG: file }, cwd);
    assert.equal(c.listenHost, '127.0.0.2');
    assert.equal(c.listenPort, 9100);
    assert.equal(c.concurrency, 4);
    assert.equal(c.secret, SECRET);
    assert.equal(c.migrateOnStart, true);
    assert.equal(c.logLevel, 'warn');
    assert.equal(c.dataDir, path.join(cwd, 'state'));
    assert.deepEqual(c.database, { client: 'better-sqlite3', filename: path.join(cwd, 'state', 'hostbridge.sqlite') });
    assert.equal(c.sources.concurrency, `${path.join(cwd, file)} (concurrency)`);

    const o = loadConfig({ HOSTBRIDGE_CONFIG: file, HOSTBRIDGE_CONCURRENCY: '12', HOSTBRIDGE_LOG_LEVEL: 'error' }, cwd);
    assert.equal(o.concurrency, 12);
    assert.equal(o.logLevel, 'error');
    assert.equal(o.sources.concurrency, 'HOSTBRIDGE_CONCURRENCY');
    assert.equal(o.listenPort, 9100, 'settings the environment does not give still come from the file');
  });

  test('a bad value in the file is reported with the file and key', () => {
    const cwd = tmp();
    const file = write(cwd, 'c.json', JSON.stringify({ concurrency: 0, secret: SECRET, master_key: MASTER_KEY_HEX }));
    const err = configError({ HOSTBRIDGE_CONFIG: file }, cwd);
    assert.equal(err.setting, `${path.join(cwd, file)} (concurrency)`);
    assert.match(err.message, /between 1 and 256, got 0/);
  });

  test('a missing file', () => {
    const cwd = tmp();
    const err = configError({ HOSTBRIDGE_CONFIG: 'nope.json' }, cwd);
    assert.equal(err.setting, 'HOSTBRIDGE_CONFIG');
    assert.match(err.message, /cannot read .*nope\.json: ENOENT/);
  });

  test('invalid JSON, without quoting the file (which may hold secrets)', () => {
    const cwd = tmp();
    const err = configError({ HOSTBRIDGE_CONFIG: write(cwd, 'bad.json', `{"secret": "${SECRET}",}`) }, cwd);
    assert.equal(err.setting, 'HOSTBRIDGE_CONFIG');
    assert.match(err.message, /bad\.json is not valid JSON/);
    assert.ok(!err.message.includes(SECRET), err.message);

    // A secret written without quotes: V8 quotes a piece of the text around the error in its own message.
    const unquoted = configError({ HOSTBRIDGE_CONFIG: write(cwd, 'bad2.json', `{"secret": ${SECRET}}`) }, cwd);
    assert.match(unquoted.message, /bad2\.json is not valid JSON/);
    assert.ok(!unquoted.message.includes(SECRET.slice(0, 8)), `"${unquoted.message}" quotes part of the secret`);
  });

  test('a JSON value that is not an object', () => {
    const cwd = tmp();
    for (const text of ['[1, 2]', '"text"', '42', 'null']) {
      const err = configError({ HOSTBRIDGE_CONFIG: write(cwd, 'scalar.json', text) }, cwd);
      assert.equal(err.setting, 'HOSTBRIDGE_CONFIG');
      assert.match(err.message, /must hold a JSON object/, `for ${text}`);
    }
  });

  test('an unknown key, and a nested value', () => {
    const cwd = tmp();
    const err = configError({ HOSTBRIDGE_CONFIG: write(cwd, 'unknown.json', JSON.stringify({ concurency: 4 })) }, cwd);
    assert.match(err.setting, /unknown\.json \(concurency\)$/);
    assert.match(err.message, /unknown setting; known settings are .*concurrency/);
    const nested = configError({ HOSTBRIDGE_CONFIG: write(cwd, 'nested.json', JSON.stringify({ listen: { host: 'x' } })) }, cwd);
    assert.match(nested.message, /\(listen\): must be a string, number or boolean/);
  });

  test('a short secret in the file names the file and key, not the value', () => {
    const cwd = tmp();
    const short = 'file-secret-too-short';
    const err = configError({ HOSTBRIDGE_CONFIG: write(cwd, 's.json', JSON.stringify({ secret: short, master_key: MASTER_KEY_HEX })) }, cwd);
    assert.match(err.setting, /s\.json \(secret\)$/);
    assert.ok(!err.message.includes(short), err.message);
  });
});
