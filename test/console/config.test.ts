// The console's configuration: off unless its listener is set; the public URL is an http(s) base
// (a trailing slash dropped) and needs the listener; bad values stop the start naming the variable.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ConfigError, loadConfig } from '../../daemon/config/config.ts';
import { tmpDir } from '../helpers/db.ts';

const dirs: string[] = [];
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });
const base = { HOSTBRIDGE_DATABASE_URL: 'sqlite::memory-not-used', HOSTBRIDGE_SECRET: 'x'.repeat(32), HOSTBRIDGE_MASTER_KEY: 'a'.repeat(64) };

test('the console is off by default, on with a listener, named by its public URL', () => {
  const dir = tmpDir('hb-console-config-');
  dirs.push(dir);
  assert.equal(loadConfig(base, dir).console, null);
  assert.deepEqual(loadConfig({ ...base, HOSTBRIDGE_CONSOLE_LISTEN: '127.0.0.1:8741' }, dir).console, { host: '127.0.0.1', port: 8741, publicUrl: null });
  const c = loadConfig({ ...base, HOSTBRIDGE_CONSOLE_LISTEN: '127.0.0.1:8741', HOSTBRIDGE_CONSOLE_URL: 'https://console.example.com/' }, dir);
  assert.deepEqual(c.console, { host: '127.0.0.1', port: 8741, publicUrl: 'https://console.example.com' });
  assert.equal(c.sources.console_url, 'HOSTBRIDGE_CONSOLE_URL');
  assert.equal(loadConfig({ ...base, HOSTBRIDGE_CONSOLE_LISTEN: '8741', HOSTBRIDGE_CONSOLE_URL: 'https://example.com/hb' }, dir).console?.publicUrl, 'https://example.com/hb');
});

test('bad console settings stop the start, naming the variable', () => {
  const dir = tmpDir('hb-console-config-');
  dirs.push(dir);
  const refused = (env: Record<string, string>, setting: RegExp, words: RegExp) => assert.throws(() => loadConfig({ ...base, ...env }, dir), (e: Error) => e instanceof ConfigError && setting.test(e.setting) && words.test(e.message));
  refused({ HOSTBRIDGE_CONSOLE_URL: 'https://console.example.com' }, /HOSTBRIDGE_CONSOLE_URL/, /HOSTBRIDGE_CONSOLE_LISTEN too/);
  refused({ HOSTBRIDGE_CONSOLE_LISTEN: 'console:port' }, /HOSTBRIDGE_CONSOLE_LISTEN/, /host:port/);
  refused({ HOSTBRIDGE_CONSOLE_LISTEN: '127.0.0.1:8741', HOSTBRIDGE_CONSOLE_URL: 'ftp://console.example.com' }, /HOSTBRIDGE_CONSOLE_URL/, /http\(s\)/);
  refused({ HOSTBRIDGE_CONSOLE_LISTEN: '127.0.0.1:8741', HOSTBRIDGE_CONSOLE_URL: 'console.example.com' }, /HOSTBRIDGE_CONSOLE_URL/, /http\(s\) URL/);
  refused({ HOSTBRIDGE_CONSOLE_LISTEN: '127.0.0.1:8741', HOSTBRIDGE_CONSOLE_URL: 'https://console.example.com/?a=1' }, /HOSTBRIDGE_CONSOLE_URL/, /no query/);
  refused({ HOSTBRIDGE_CONSOLE_LISTEN: '127.0.0.1:8741', HOSTBRIDGE_CONSOLE_URL: 'https://user:pw@console.example.com' }, /HOSTBRIDGE_CONSOLE_URL/, /credentials/);
});
