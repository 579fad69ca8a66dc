// The WHMCS modules (bridge-php) against a real daemon: once per database (a temporary SQLite file,
// then a fresh MariaDB database), starts a daemon in-process on it, seeds it with server groups,
// services and usage figures, then runs the modules' PHPUnit suite with HOSTBRIDGE_TEST_DAEMON_URL
// and HOSTBRIDGE_TEST_SECRET pointing at it. PHP and PHPUnit come from Debian's packages; when one
// is missing the test fails and names the package (it is never skipped).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Daemon } from '../../daemon/runtime.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { createTestDb, DIALECTS, tmpDir, type TestDb } from '../helpers/db.ts';
import { ROOT, TEST_SECRET } from '../helpers/daemon.ts';
import { addServer, saveGroup } from '../../daemon/fleet/inventory.ts';
import { vmPlan } from '../helpers/vm-plan.ts';

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

/**
 * What the daemon's database is seeded with, handed to PHPUnit as HOSTBRIDGE_TEST_SEED (JSON) so the
 * PHP tests can compare the module's output with it. Internal service ids equal the WHMCS ids.
 */
const COLLECTED_AT = Date.UTC(2026, 0, 15, 10, 30, 0);
const SEED = {
  groups: [{ id: 1, name: 'Frankfurt' }, { id: 2, name: 'Amsterdam <main>' }],
  services: [
    { service_id: 501, state: 'active', username: 'alpha501', domain: 'alpha.test', email: 'alpha@example.test', product_id: 7, mode: 'split' },
    // Another split product than 501's: Server Sync must tell the two apart.
    { service_id: 502, state: 'suspended', username: 'beta502', domain: 'beta.test', email: 'beta@example.test', product_id: 10, mode: 'split' },
    { service_id: 503, state: 'deploying', username: 'gamma503', domain: 'gamma.test', email: 'gamma@example.test', product_id: 8, mode: 'unified' },
  ],
  // KVM services for the VM's buttons (KvmButtonsTest): their plans are stored, no Proxmox is behind them
  // (the engine is stopped, so a button's chain is queued and never runs).
  kvm: [
    { service_id: 601, state: 'active', hostname: 'vm601.example.org', username: 'vm601', vmid: 4601, node: 'pve2' },
    { service_id: 602, state: 'suspended', hostname: 'vm602.example.org', username: 'vm602', vmid: 4602, node: 'pve2' },
    { service_id: 603, state: 'deploying', hostname: 'vm603.example.org', username: 'vm603', vmid: null, node: null },
  ],
  usage: [
    { service_id: 501, disk_used_mb: 321, disk_limit_mb: 2048, bw_used_mb: 4567, bw_limit_mb: 0, mailboxes: 3, databases: 2, web_domains: 1, collected_at: COLLECTED_AT },
    { service_id: 502, disk_used_mb: 12, disk_limit_mb: 0, bw_used_mb: 0, bw_limit_mb: 10240, mailboxes: 0, databases: 0, web_domains: 1, collected_at: COLLECTED_AT + 60_000 },
  ],
};

async function seed(db: Knex, masterKey: Buffer): Promise<void> {
  const now = Date.now();
  await db('mod_hostbridge_server_groups').insert(SEED.groups.map((g) => ({ ...g, created_at: now, updated_at: now })));
  // Group 1 gets a web and a mail node, so a CreateAccount on it is planned for real.
  const web = await addServer(db, masterKey, { name: 'fra-web1', driver: 'hestiacp', hostname: 'fra-web1.test.invalid', ip: '192.0.2.51', username: 'root', password: 'seed-pw-web', capabilities: { web: true } });
  const mail = await addServer(db, masterKey, { name: 'fra-mail1', driver: 'hestiacp', hostname: 'fra-mail1.test.invalid', ip: '192.0.2.52', username: 'root', password: 'seed-pw-mail', capabilities: { mail: true } });
  await saveGroup(db, { name: 'Frankfurt', servers: [web, mail] }, 1);
  await db('mod_hostbridge_services').insert(SEED.services.map((s) => ({
    id: s.service_id, whmcs_service_id: s.service_id, mode: s.mode, state: s.state, client_id: 12, product_id: s.product_id,
    domain: s.domain, username: s.username, email: s.email, created_at: COLLECTED_AT - 86_400_000, updated_at: now,
  })));
  await db('mod_hostbridge_usage').insert(SEED.usage);
  for (const k of SEED.kvm) {
    const plan = vmPlan({ whmcsServiceId: k.service_id, domain: k.hostname, dnsServers: [] });
    plan.spec = { ...plan.spec, hostname: k.hostname };
    await db('mod_hostbridge_services').insert({
      id: k.service_id, whmcs_service_id: k.service_id, mode: 'kvm', state: k.state, client_id: 12, product_id: 11, domain: k.hostname,
      username: k.username, email: `${k.username}@example.test`, params: JSON.stringify(plan), created_at: COLLECTED_AT - 86_400_000, updated_at: now,
    });
    await db('mod_hostbridge_vms').insert({ service_id: k.service_id, cluster_id: plan.clusterId, vmid: k.vmid, node: k.node, created_at: now, updated_at: now });
  }
}

interface Recorded { method: string; path: string; headers: Record<string, string>; body: string; status: number; response: string }

/**
 * A pass-through proxy in front of the daemon that remembers each request and the daemon's answer,
 * so a PHP test can prove what the AfterCronJob hook sent. GET /__recorded (unsigned, never
 * forwarded) lists them.
 */
function recordingProxy(target: string): http.Server {
  const seen: Recorded[] = [];
  return http.createServer((req, res) => {
    if (req.url === '/__recorded') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(seen));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const up = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          const response = Buffer.concat(parts).toString();
          seen.push({ method: req.method ?? '', path: req.url ?? '', headers, body: body.toString(), status: answer.statusCode ?? 0, response });
          res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'application/json' });
          res.end(response);
        });
      });
      up.on('error', (err) => { res.writeHead(502); res.end(JSON.stringify({ error: `proxy: ${err.message}` })); });
      up.end(body);
    });
  });
}

// Parsing does not depend on the daemon's database: once.
test('every PHP file of the module parses (php -l)', () => {
  requirePhpToolchain();
  const files = ['bridge-php/modules', 'bridge-php/tests'].flatMap((d) => fs.readdirSync(path.join(ROOT, d), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.php')).map((f) => path.join(d, f)));
  for (const f of ['bridge-php/modules/servers/hostbridge/hostbridge.php', 'bridge-php/modules/servers/hostbridge/lib/DaemonClient.php',
    'bridge-php/modules/addons/hostbridge/hostbridge.php', 'bridge-php/modules/addons/hostbridge/hooks.php', 'bridge-php/tests/ModuleTest.php']) {
    assert.ok(files.includes(f), `${f} is missing`);
  }
  for (const f of files) {
    const r = spawnSync('php', ['-l', path.join(ROOT, f)], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, `php -l ${f}: ${r.stdout}${r.stderr}`);
  }
});

for (const dialect of DIALECTS) {
  describe(`WHMCS module (bridge-php) against a running daemon (${dialect})`, () => {
    let dir: string;
    let tdb: TestDb | undefined;
    let daemon: Daemon | undefined;
    let html: http.Server | undefined;
    let htmlUrl = '';
    let silent: net.Server | undefined;
    let silentUrl = '';
    let proxy: http.Server | undefined;
    let proxyUrl = '';
    let seedError = '';
    const held: net.Socket[] = [];

    before(async () => {
      dir = tmpDir('hb-php-');
      tdb = await createTestDb(dialect, { migrate: false });
      daemon = await startTestDaemon(dir, tdb.url);
      // The engine is stopped: the PHP tests check what each call wrote, not a deployment (the
      // task handlers and the emulated fleet are exercised by their own tests).
      await daemon.engine.stop(1000);
      // A failed seed (say, the fleet tables changed) fails only the PHP tests that read the seeded data.
      try {
        await seed(daemon.core.db, daemon.core.config.masterKey);
      } catch (err) {
        seedError = (err as Error).message;
      }
      const rec = recordingProxy(daemon.url);
      proxy = rec;
      await new Promise<void>((resolve) => rec.listen(0, '127.0.0.1', resolve));
      proxyUrl = `http://127.0.0.1:${(rec.address() as AddressInfo).port}`;
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
      if (proxy) await new Promise<void>((resolve) => proxy!.close(() => resolve()));
      await daemon?.stop();
      await tdb?.drop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
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
        HOSTBRIDGE_TEST_PROXY_URL: proxyUrl,
        HOSTBRIDGE_TEST_SEED: JSON.stringify(SEED),
        HOSTBRIDGE_TEST_SEED_ERROR: seedError,
      };
      const { code, signal, output } = await run('phpunit', ['-c', path.join(ROOT, 'bridge-php/phpunit.xml')], env, PHPUNIT_TIMEOUT_MS);
      for (const line of output.trimEnd().split('\n')) t.diagnostic(line);
      assert.equal(code, 0, `phpunit exited with ${code ?? signal}:\n${output}`);
      assert.match(output, /OK \(/, `phpunit did not report OK:\n${output}`);
    });
  });
}
