// npm run demo, run as a new user runs it (bash scripts/demo.sh) on a fresh data directory and any
// free port: all four orders (three hosting modes and a VPS on the Proxmox VE emulator) reach active,
// the printed URLs answer, nothing secret is printed, and
// Ctrl-C (SIGINT) stops everything — daemon, emulated SSH servers, pdns_server — with exit code 0.
// The real PowerDNS is required: when pdns_server is missing the test fails and names the package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const READY_MS = 90_000;
/** What the demo needs to serve the zones from the real PowerDNS too, with the Debian package of each. */
const PDNS_FILES: Array<[string, string]> = [
  ['/usr/sbin/pdns_server', 'pdns-server'],
  ['/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql', 'pdns-backend-sqlite3'],
  ['/usr/bin/sqlite3', 'sqlite3'],
];

/** Fails, naming each missing file and its package: without them the demo quietly leaves PowerDNS out. */
function requirePowerDns(): void {
  const missing = PDNS_FILES.filter(([f]) => !fs.existsSync(f));
  assert.deepEqual(missing.map(([f]) => f), [], `PowerDNS is not installed: ${missing.map(([f, pkg]) => `${f} is missing (Debian package ${pkg})`).join('; ')}. `
    + 'test/run.sh installs it (apt-get install --no-install-recommends pdns-server pdns-backend-sqlite3 sqlite3); the demo test needs the real PowerDNS');
}

/** Processes (other than the test itself) whose command line mentions `needle`. */
function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(needle)) found.push(`${pid}: ${cmd.trim()}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function refuses(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(2000);
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('timeout', () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(true));
  });
}

test('npm run demo: three modes and a VPS reach active, the URLs answer, Ctrl-C stops everything and exits 0', { timeout: 240_000 }, async (t) => {
  requirePowerDns();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-demo-test-'));
  const dataDir = path.join(tmp, 'data');
  const env: NodeJS.ProcessEnv = { ...process.env, HOSTBRIDGE_DEMO_DIR: dataDir, HOSTBRIDGE_DEMO_PORT: '0', TMPDIR: tmp };
  delete env.HOSTBRIDGE_DEMO_PDNS; // =0 would leave PowerDNS out
  const child = spawn('bash', ['scripts/demo.sh'], {
    cwd: ROOT,
    // TMPDIR inside tmp: pdns_server's config dir lands there, so a leftover pdns is easy to find.
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so a failed test can still kill all of it
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => { done = true; });
  t.after(() => {
    if (!done && child.pid) { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const show = () => `--- stdout\n${out}\n--- stderr\n${err.slice(-4000)}`;

  // Wait, bounded, until it says every order is active and it serves.
  const deadline = Date.now() + READY_MS;
  while (!/^Serving until Ctrl-C\.$/m.test(out)) {
    if (done) assert.fail(`the demo exited before it was ready\n${show()}`);
    if (Date.now() > deadline) assert.fail(`the demo was not ready within ${READY_MS / 1000} s\n${show()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(out, /^All 4 services are active\.$/m, show());
  for (const mode of ['split', 'unified', 'vanity', 'kvm']) assert.match(out, new RegExp(`^\\[${mode}\\s+\\S+\\]\\s+active after `, 'm'), `${mode}\n${show()}`);

  // The Proxmox VE cluster is the emulator, and says so; the VM was cloned on pve1 and moved to pve2.
  assert.match(out, /^Proxmox:\s+EMULATED — the Proxmox VE API emulator \(test\/emulator\/proxmox, a test instrument\)/m, show());
  assert.match(out, /^\[kvm\s+vps1\.example\.net\]\s+\d+\/\d+ Moving the VM to its node on pve2 … done/m, show());
  // Every line about the HestiaCP nodes says they are emulated; the DNS line says which servers serve the zones.
  for (const line of out.split('\n').filter((l) => /HestiaCP/.test(l))) assert.match(line, /emulat/i, `not labelled as emulated: ${line}`);
  // PowerDNS is installed (checked above), so the demo must have started it, not fallen back without it.
  const dnsLine = out.split('\n').find((l) => l.startsWith('DNS:')) ?? '';
  assert.match(dnsLine, /and the real PowerDNS \(\/usr\/sbin\/pdns_server, API 127\.0\.0\.1:\d+\)/, `the demo did not run PowerDNS: ${dnsLine}\n${show()}`);
  // … and PowerDNS serves the orders' zones (the fleet summary reads them from its API).
  const pdnsLine = out.split('\n').find((l) => /real PowerDNS \(pdns_server\): zones /.test(l)) ?? '';
  assert.match(pdnsLine, /zones .*\(\d+ records\)/, `PowerDNS serves no zone: ${pdnsLine || 'no PowerDNS line'}\n${show()}`);

  // The URLs it prints answer.
  const url = /^Daemon:\s+(http:\/\/127\.0\.0\.1:\d+)/m.exec(out)?.[1];
  assert.ok(url, `no daemon URL printed\n${show()}`);
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);
  assert.match(out, new RegExp(`Health:\\s+${url.replace(/\./g, '\\.')}/healthz`));
  const admin = /^\s*Admin:\s+(http:\/\/\S+\/ui\/login)\s+password (\S+)$/m.exec(out);
  {
    assert.ok(admin, `the demo printed no admin login:\n${out.split('\n').filter((l) => /Admin:/.test(l)).join('\n')}`);
    // The printed password logs in (the form's CSRF token and its cookie come from the login page).
    const page = await fetch(admin[1]!);
    assert.equal(page.status, 200, `${admin[1]} should answer 200`);
    const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const login = await fetch(admin[1]!, {
      method: 'POST', redirect: 'manual',
      headers: { cookie, origin: url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, password: admin[2]! }),
    });
    assert.equal(login.status, 303, 'the printed admin password logs in');
    assert.equal(login.headers.get('location'), '/ui/admin');
    const links = [...out.matchAll(/^\s*Customer:\s+(\S+)\s+\S+\s+(http:\/\/\S+\/ui\/link\?t=\S+)$/gm)];
    assert.deepEqual(links.map((m) => m[1]), ['split', 'unified', 'vanity', 'kvm'], 'a customer link per service');
    assert.equal((await fetch(links[0]![2]!)).status, 200, 'a customer link opens');
  }

  // Secrets stay out of the output (the admin password is the one printed on purpose).
  const secret = fs.readFileSync(path.join(dataDir, 'shared-secret'), 'utf8').trim();
  const masterKey = fs.readFileSync(path.join(dataDir, 'master.key'), 'utf8').trim();
  for (const [what, value] of [['shared secret', secret], ['master key', masterKey]] as const) {
    assert.ok(!out.includes(value) && !err.includes(value), `the ${what} was printed`);
  }
  assert.doesNotMatch(out + err, /root-(web|mail|ns|combo)\d+-[0-9a-f]{16}/, 'an emulated node\'s root password was printed');

  const sshPorts = [...out.matchAll(/emulated HestiaCP\s+\S+\s+ssh 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
  assert.equal(sshPorts.length, 7, `seven emulated nodes listed\n${show()}`);

  // Ctrl-C: a clean stop, exit 0, nothing left behind.
  child.kill('SIGINT');
  const result = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000).unref())]);
  assert.ok(result, `the demo did not stop within 30 s of SIGINT\n${show()}`);
  assert.deepEqual(result, { code: 0, signal: null }, show());
  assert.match(out, /^Stopped\.$/m);
  assert.deepEqual(processesMentioning(tmp), [], 'no process (pdns_server, emulator) may outlive the demo');
  const port = Number(new URL(url).port);
  for (const p of [port, ...sshPorts]) assert.ok(await refuses('127.0.0.1', p), `port ${p} still accepts connections after the demo stopped`);
});
