// A WHMCS admin area in front of the daemon, for the browser tests: `php -S` with the router of
// test/whmcs-admin/ (login, addonmodules.php, clientsservices.php as WHMCS serves them), over
// tables written to a JSON file: the admins with their roles, the addon's settings as WHMCS stores
// them in tbladdonmodules (the Access Control's role ids under "access"), and the hostbridge server
// record's params.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { ROOT } from '../helpers/daemon.ts';
import { tmpDir } from '../helpers/db.ts';

export interface WhmcsAdminUser { id: number; username: string; password: string; roleid: number }

export interface WhmcsAdminArea {
  url: string;
  /** Everything php -S printed (its access log and any PHP error), for a failing test's message. */
  output(): string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function passwordHash(password: string): string {
  const r = spawnSync('php', ['-r', 'echo password_hash(stream_get_contents(STDIN), PASSWORD_DEFAULT);'], { input: password, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`php could not hash a password (apt-get install -y php-cli): ${r.stderr || r.error?.message}`);
  return r.stdout;
}

export async function startWhmcsAdmin(o: { daemonUrl: string; secret: string; admins: WhmcsAdminUser[]; access: number[] }): Promise<WhmcsAdminArea> {
  const dir = tmpDir('hb-whmcs-admin-');
  const sessions = path.join(dir, 'sessions');
  fs.mkdirSync(sessions);
  const u = new URL(o.daemonUrl);
  const state = {
    tables: {
      tbladmins: o.admins.map((a) => ({ id: a.id, username: a.username, password: passwordHash(a.password), roleid: a.roleid, disabled: 0 })),
      tbladdonmodules: [
        ['version', '0.1.0'], ['access', o.access.join(',')], ['daemon_url', o.daemonUrl], ['shared_secret', o.secret], ['tick_on_cron', ''],
      ].map(([setting, value]) => ({ module: 'hostbridge', setting, value })),
    },
    server_params: {
      serverid: 1, serverhostname: u.hostname, serverip: '', serverport: u.port, serversecure: '', serverusername: '', serverpassword: o.secret, serveraccesshash: '',
    },
  };
  const statePath = path.join(dir, 'state.json');
  fs.writeFileSync(statePath, JSON.stringify(state), { mode: 0o600 });
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn('php', ['-S', `127.0.0.1:${port}`, 'test/whmcs-admin/router.php'], {
    cwd: ROOT, env: { ...process.env, HOSTBRIDGE_WHMCS_STATE: statePath, HOSTBRIDGE_WHMCS_SESSIONS: sessions }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/login.php`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`php -S did not start: ${output.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    output: () => output,
    async close() {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('close', r));
        child.kill('SIGTERM');
        await done;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
