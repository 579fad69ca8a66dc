// The WHMCS module (bridge-php) against a real daemon: starts a daemon in-process on a temporary
// SQLite file, then runs the module's PHPUnit suite with HOSTBRIDGE_TEST_DAEMON_URL and
// HOSTBRIDGE_TEST_SECRET pointing at it. PHP and PHPUnit come from Debian's packages; when one is
// missing the test fails and names the package (it is never skipped).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import type { Daemon } from '../../daemon/runtime.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { tmpDir } from '../helpers/db.ts';
import { ROOT, TEST_SECRET } from '../helpers/daemon.ts';

const PACKAGES = 'php-cli php-curl php-mbstring php-xml phpunit';
const PHPUNIT_TIMEOUT_MS = 120_000;

/** Null when the command runs, else why not. */
function probe(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return r.error.message;
  if (r.status !== 0) return `exit ${r.status}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`;
  return null;
}

/** Fails, naming the Debian package, when PHP, an extension the module or PHPUnit needs, or PHPUnit is missing. */
function requirePhpToolchain(): void {
  const install = (pkg: string) => `install it with: apt-get install -y ${pkg} (all the PHP tests need: ${PACKAGES})`;
  const php = probe('php', ['--version']);
  assert.equal(php, null, `php is not installed or does not run (${php}); ${install('php-cli')}`);
  const extensions: Array<[string, string]> = [['curl', 'php-curl'], ['mbstring', 'php-mbstring'], ['dom', 'php-xml'], ['xml', 'php-xml']];
  for (const [ext, pkg] of extensions) {
    const missing = probe('php', ['-r', `exit(extension_loaded('${ext}') ? 0 : 1);`]);
    assert.equal(missing, null, `the PHP extension "${ext}" is not loaded; ${install(pkg)}`);
  }
  const phpunit = probe('phpunit', ['--version']);
  assert.equal(phpunit, null, `phpunit is not installed or does not run (${phpunit}); ${install('phpunit')}`);
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; signal: string | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Asynchronous on purpose: the daemon answering PHPUnit runs in this process's event loop.
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    const timer = setTimeout(() => {
      output += `\n[killed: phpunit ran longer than ${timeoutMs} ms]\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, output }); });
  });
}

describe('WHMCS module (bridge-php) against a running daemon', () => {
  let dir: string;
  let daemon: Daemon | undefined;
  let html: http.Server | undefined;
  let htmlUrl = '';
  let silent: net.Server | undefined;
  let silentUrl = '';
  const held: net.Socket[] = [];

  before(async () => {
    dir = tmpDir('hb-php-');
    daemon = await startTestDaemon(dir);
    // A web server that is not the daemon, for the module's "not the daemon's JSON" message.
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body><h1>It works!</h1></body></html>');
    });
    html = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    htmlUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A server that accepts connections and never answers, for the module's total timeout.
    const mute = net.createServer((socket) => { held.push(socket); socket.on('error', () => {}); });
    silent = mute;
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(mute.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const s of held) s.destroy();
    if (silent) await new Promise<void>((resolve) => silent!.close(() => resolve()));
    if (html) await new Promise<void>((resolve) => html!.close(() => resolve()));
    await daemon?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every PHP file of the module parses (php -l)', () => {
    requirePhpToolchain();
    const files = ['bridge-php/modules/servers/hostbridge/hostbridge.php', 'bridge-php/modules/servers/hostbridge/lib/DaemonClient.php',
      'bridge-php/tests/bootstrap.php', 'bridge-php/tests/ModuleTest.php'];
    for (const f of files) {
      const r = spawnSync('php', ['-l', path.join(ROOT, f)], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, `php -l ${f}: ${r.stdout}${r.stderr}`);
    }
  });

  test('the PHPUnit suite passes against the daemon', async (t) => {
    requirePhpToolchain();
    assert.ok(daemon, 'the daemon did not start');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8',
      HOSTBRIDGE_TEST_DAEMON_URL: daemon.url,
      HOSTBRIDGE_TEST_SECRET: TEST_SECRET,
      HOSTBRIDGE_TEST_HTML_URL: htmlUrl,
      HOSTBRIDGE_TEST_SILENT_URL: silentUrl,
    };
    const { code, signal, output } = await run('phpunit', ['-c', path.join(ROOT, 'bridge-php/phpunit.xml')], env, PHPUNIT_TIMEOUT_MS);
    for (const line of output.trimEnd().split('\n')) t.diagnostic(line);
    assert.equal(code, 0, `phpunit exited with ${code ?? signal}:\n${output}`);
    assert.match(output, /OK \(/, `phpunit did not report OK:\n${output}`);
  });
});
