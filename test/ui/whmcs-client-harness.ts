// A WHMCS client area in front of the daemon, for the browser tests: `php -S` with the router of
// test/whmcs-client/ (login, clientarea.php's product details page with the module's output and
// custom functions, as WHMCS serves them), over tables written to a JSON file: the clients, their
// services (tblhosting) and products (tblproducts with the module settings), and the hostbridge
// server record's params. The file is re-read on every request, so a test can change a service.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { ROOT } from '../helpers/daemon.ts';
import { tmpDir } from '../helpers/db.ts';

export interface WhmcsClient { id: number; email: string; password: string; firstname: string }
export interface WhmcsService { id: number; userid: number; packageid: number; domain: string; domainstatus: string }
export interface WhmcsProduct { id: number; name: string; configoption1: string; configoption15?: string }

export interface WhmcsClientArea {
  url: string;
  /** Sets a service's status (Active, Suspended…) as WHMCS would after a module command. */
  setServiceStatus(id: number, status: string): void;
  /** What the module wrote to the Module Log (logModuleCall), one entry per call: [action, request, response, processed]. */
  moduleLog(): unknown[][];
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

export async function startWhmcsClientArea(o: { daemonUrl: string; secret: string; clients: WhmcsClient[]; services: WhmcsService[]; products: WhmcsProduct[] }): Promise<WhmcsClientArea> {
  const dir = tmpDir('hb-whmcs-client-');
  const sessions = path.join(dir, 'sessions');
  fs.mkdirSync(sessions);
  const u = new URL(o.daemonUrl);
  const state = {
    tables: {
      tblclients: o.clients.map((c) => ({ id: c.id, email: c.email, password: passwordHash(c.password), firstname: c.firstname, status: 'Active' })),
      tblhosting: o.services.map((s) => ({ ...s, username: `u${s.id}` })),
      tblproducts: o.products.map((p) => ({ ...p, servertype: 'hostbridge' })),
    },
    server_params: {
      serverid: 1, serverhostname: u.hostname, serverip: '', serverport: u.port, serversecure: '', serverusername: '', serverpassword: o.secret, serveraccesshash: '',
    },
  };
  const statePath = path.join(dir, 'state.json');
  const logPath = path.join(dir, 'modulelog.jsonl');
  const write = () => {
    // Written whole and renamed, so a request never reads half a file.
    fs.writeFileSync(`${statePath}.tmp`, JSON.stringify(state), { mode: 0o600 });
    fs.renameSync(`${statePath}.tmp`, statePath);
  };
  write();
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn('php', ['-S', `127.0.0.1:${port}`, 'test/whmcs-client/router.php'], {
    cwd: ROOT,
    env: { ...process.env, HOSTBRIDGE_WHMCS_STATE: statePath, HOSTBRIDGE_WHMCS_SESSIONS: sessions, HOSTBRIDGE_WHMCS_MODULELOG: logPath, PHP_CLI_SERVER_WORKERS: '4' },
    // Its own process group: php -S forks its workers, and close() ends them all together.
    stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  child.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/clientarea.php`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`php -S did not start: ${output.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    setServiceStatus(id, status) {
      const row = state.tables.tblhosting.find((s) => s.id === id);
      if (!row) throw new Error(`no service ${id} in the stand-in`);
      row.domainstatus = status;
      write();
    },
    moduleLog: () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown[]) : []),
    output: () => output,
    async close() {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('close', r));
        process.kill(-child.pid!, 'SIGTERM');
        await done;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
