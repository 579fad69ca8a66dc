// Starts Debian's real pdns_server with the gsqlite3 backend in a temp dir, DNS and the HTTP API
// on free loopback ports, for the PowerDNS driver's tests.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from './sshd.ts';

export interface Pdns {
  url: string;
  apiKey: string;
  dnsPort: number;
  output(): string;
  /** Stops pdns_server and keeps its database and ports, as a crashed or stopped server does. */
  halt(): Promise<void>;
  /** Starts it again (after halt) on the same database and ports, once its API answers. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

const INSTALL = 'apt-get install -y --no-install-recommends pdns-server pdns-backend-sqlite3 sqlite3';
const SCHEMA = '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql';

export async function startPdns(): Promise<Pdns> {
  for (const p of ['/usr/sbin/pdns_server', SCHEMA, '/usr/bin/sqlite3']) {
    if (!existsSync(p)) throw new Error(`${p} is missing: install PowerDNS with "${INSTALL}" (test/run.sh does this)`);
  }
  // A free port can be taken by another test process between our check and pdns_server's bind
  // (files run two at a time): then it is started again on other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce();
    } catch (err) {
      if (!(err instanceof PortClash) || attempt >= 4) throw err;
    }
  }
}

class PortClash extends Error {}

async function startOnce(): Promise<Pdns> {
  const dir = mkdtempSync(join(tmpdir(), 'hb-pdns-'));
  const db = join(dir, 'pdns.sqlite3');
  execFileSync('/usr/bin/sqlite3', [db], { input: readFileSync(SCHEMA) });
  const apiKey = 'pdns-key-' + randomBytes(12).toString('hex');
  const dnsPort = await freePort();
  const apiPort = await freePort();
  writeFileSync(join(dir, 'pdns.conf'), [
    'launch=gsqlite3',
    `gsqlite3-database=${db}`,
    'local-address=127.0.0.1',
    `local-port=${dnsPort}`,
    'api=yes',
    `api-key=${apiKey}`,
    'webserver=yes',
    'webserver-address=127.0.0.1',
    `webserver-port=${apiPort}`,
    'webserver-allow-from=127.0.0.1,::1',
    'loglevel=4',
    '',
  ].join('\n'), { mode: 0o600 });
  let log = '';
  let proc: ChildProcess;
  const launch = () => {
    proc = spawn('/usr/sbin/pdns_server', [
      `--config-dir=${dir}`, '--daemon=no', '--guardian=no', '--disable-syslog', `--socket-dir=${dir}`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => { log += d; });
    proc.stderr!.on('data', (d) => { log += d; });
  };
  const output = () => log.split(apiKey).join('********').slice(-8000);
  const url = `http://127.0.0.1:${apiPort}`;
  const halt = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      // The grace timer is cleared once the process exits: left running it would hold this test
      // process open 5 s after its last test.
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => { grace = setTimeout(r, 5000); })]);
      clearTimeout(grace);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  };
  const stop = async () => {
    await halt();
    rmSync(dir, { recursive: true, force: true });
  };
  const ready = async () => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`pdns_server exited with code ${proc.exitCode}:\n${output()}`);
      if (/Address already in use/.test(log)) throw new Error(`pdns_server could not bind its ports:\n${output()}`);
      try {
        const res = await fetch(`${url}/api/v1/servers/localhost`, { headers: { 'X-API-Key': apiKey }, signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`the PowerDNS API did not answer on ${url} within 15 s:\n${output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  launch();
  try {
    await ready();
  } catch (err) {
    const clash = /Address already in use/.test(log);
    await stop();
    if (clash) throw new PortClash(String((err as Error).message));
    throw err;
  }
  const resume = async () => {
    if (proc.exitCode === null && proc.signalCode === null) return;
    launch();
    await ready();
  };
  return { url, apiKey, dnsPort, output, halt, resume, stop };
}

