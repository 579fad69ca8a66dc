// What the WHMCS stand-ins of the browser tests share (test/whmcs-admin, test/whmcs-client): a
// `php -S` server over a router script, started in its own process group (php -S forks its
// workers, and close() ends them together) and waited for; a password hashed as WHMCS stores it;
// the hostbridge server record's params as WHMCS passes them to the module.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from './sshd.ts';
import { ROOT } from './daemon.ts';

export interface PhpServer {
  url: string;
  /** Everything php -S printed (its access log and any PHP error), for a failing test's message. */
  output(): string;
  close(): Promise<void>;
}

/** password_hash() of PHP, as WHMCS keeps an admin's or a client's password. */
export function phpPasswordHash(password: string): string {
  const r = spawnSync('php', ['-r', 'echo password_hash(stream_get_contents(STDIN), PASSWORD_DEFAULT);'], { input: password, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`php could not hash a password (apt-get install -y php-cli): ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** The hostbridge server record's params (the daemon's address, the shared secret as its password). */
export function serverParams(daemonUrl: string, secret: string): Record<string, unknown> {
  const u = new URL(daemonUrl);
  return { serverid: 1, serverhostname: u.hostname, serverip: '', serverport: u.port, serversecure: '', serverusername: '', serverpassword: secret, serveraccesshash: '' };
}

/** Starts `php -S` with a router script (relative to the repository) and waits until `readyPath` answers 200. */
export async function startPhpServer(o: { router: string; env: Record<string, string>; readyPath: string; workers?: number }): Promise<PhpServer> {
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn('php', ['-S', `127.0.0.1:${port}`, o.router], {
    cwd: ROOT,
    env: { ...process.env, ...o.env, ...(o.workers ? { PHP_CLI_SERVER_WORKERS: String(o.workers) } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  child.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const r = await fetch(`${url}${o.readyPath}`);
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
        process.kill(-child.pid!, 'SIGTERM');
        await done;
      }
    },
  };
}
