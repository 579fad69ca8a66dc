// Starts Debian's OpenSSH sshd on 127.0.0.1 (a free port, its own host key and authorized keys
// in a temp dir) for the HestiaCP driver's integration tests. Users: root (key), a sudo user
// with a NOPASSWD rule (key), and a plain user without sudo (key or password).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface SshdUser {
  username: string;
  privateKey: string;
  password?: string;
}

export interface Sshd {
  host: string;
  port: number;
  /** `SHA256:…` as `ssh-keygen -lf` prints it for the server's host key. */
  hostKeySha256: string;
  root: SshdUser;
  sudoUser: SshdUser;
  plainUser: SshdUser & { password: string };
  /** The temp dir (world-readable, for stand-in scripts and their output). */
  dir: string;
  /** Everything sshd printed (-e), for diagnosing a failing test. */
  output(): string;
  /** Everything sshd printed since it started (LogLevel VERBOSE: one "Accepted publickey for <user>" per login). */
  fullOutput(): string;
  /** The settings sshd runs with (`sshd -T`, keys lower-case), defaults included. */
  effectiveConfig(): Record<string, string>;
  /** Stops sshd and every session it forked, then starts it again on the same port and key. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const SUDO_USER = 'hbsudo';
export const PLAIN_USER = 'hbplain';
const SUDOERS_FILE = '/etc/sudoers.d/hostbridge-test';
// The test users are the machine's, shared by every test file running at the same time (the test
// command runs two at once): one password for PLAIN_USER, kept where only root reads it, and one
// process at a time changing the users (useradd, usermod and chpasswd refuse while another holds
// /etc/passwd's lock).
const STATE_DIR = '/var/lib/hostbridge-test';
const PLAIN_PASSWORD_FILE = `${STATE_DIR}/hbplain-password`;
const USERS_LOCK = `${STATE_DIR}/users.lock`;

function need(path: string, pkg: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: install it with "apt-get install -y ${pkg}" (test/run.sh does this)`);
}

/**
 * A port for a test server to listen on. Chosen at random below the kernel's ephemeral range
 * (32768-60999), where outgoing connections take their local ports: a port the OS handed out by
 * listen(0) could be taken by another test process's connection before our server binds it.
 * The choice is checked free by binding it; another process may still take it in between, so a
 * server that fails to bind should be started again on a new port.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
  throw new Error('no free port found between 20000 and 32000 on 127.0.0.1');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

function userExists(name: string): boolean {
  try {
    run('id', ['-u', name]);
    return true;
  } catch {
    return false;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs fn while holding a lock directory; a lock older than 60 s is a dead process's, and is taken over. */
function withUsersLock<T>(fn: () => T): T {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      mkdirSync(USERS_LOCK);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    try {
      if (Date.now() - statSync(USERS_LOCK).mtimeMs > 60_000) rmSync(USERS_LOCK, { recursive: true, force: true });
    } catch {
      /* released meanwhile */
    }
    if (Date.now() > deadline) throw new Error(`${USERS_LOCK} is still held after 90 s: another test process is stuck setting up the test users`);
    sleepSync(50);
  }
  try {
    return fn();
  } finally {
    rmSync(USERS_LOCK, { recursive: true, force: true });
  }
}

/** PLAIN_USER's password: made once, then the same for every test process. */
function plainUserPassword(): string {
  if (existsSync(PLAIN_PASSWORD_FILE)) {
    const kept = readFileSync(PLAIN_PASSWORD_FILE, 'utf8').trim();
    if (kept) return kept;
  }
  const made = 'Pl41n-' + randomBytes(9).toString('base64url');
  writeFileSync(PLAIN_PASSWORD_FILE, made, { mode: 0o600 });
  return made;
}

/** Idempotent: creates the test users and the sudo rule if they are not there; returns PLAIN_USER's password. */
function ensureUsers(): string {
  if (process.getuid?.() !== 0) throw new Error('the sshd harness must run as root (it creates system users and a sudoers rule)');
  return withUsersLock(() => {
    const plainPassword = plainUserPassword();
    setUpUsers(plainPassword);
    return plainPassword;
  });
}

function setUpUsers(plainPassword: string): void {
  for (const u of [SUDO_USER, PLAIN_USER]) {
    if (!userExists(u)) run('useradd', ['-m', '-s', '/bin/bash', u]);
  }
  // "*" = no password but not locked: without PAM, sshd refuses even key logins to locked ("!") accounts.
  run('usermod', ['-p', '*', SUDO_USER]);
  run('chpasswd', [], `${PLAIN_USER}:${plainPassword}\n`);
  const rule = `${SUDO_USER} ALL=(ALL) NOPASSWD: ALL\n`;
  if (!existsSync(SUDOERS_FILE) || readFileSync(SUDOERS_FILE, 'utf8') !== rule) {
    writeFileSync(SUDOERS_FILE, rule, { mode: 0o440 });
    run('visudo', ['-cf', SUDOERS_FILE]);
  }
}

function keygen(dir: string, name: string): { privateKey: string; publicKey: string; file: string } {
  const file = join(dir, name);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return { privateKey: readFileSync(file, 'utf8'), publicKey: readFileSync(`${file}.pub`, 'utf8'), file };
}

/** Descendants of `pid` (sshd forks one process per connection, and more for privilege separation). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(d));
      children.set(ppid, list);
    } catch {
      /* exited meanwhile */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

async function waitForBanner(port: number, timeoutMs: number, proc: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`sshd exited with code ${proc.exitCode}:\n${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.setTimeout(1000);
      s.once('data', (d) => { s.destroy(); resolve(d.toString().startsWith('SSH-')); });
      s.once('error', () => resolve(false));
      s.once('timeout', () => { s.destroy(); resolve(false); });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not answer on 127.0.0.1:${port} within ${timeoutMs} ms:\n${output()}`);
}

export interface SshdOptions {
  /**
   * MaxStartups; null leaves OpenSSH's default (10:30:100), as on a stock server. The driver
   * tests raise it to 50 for their bursts of connections.
   */
  maxStartups?: number | null;
  /** MaxSessions (session channels per connection); unset leaves OpenSSH's default, 10. */
  maxSessions?: number;
}

export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  const maxStartups = opts.maxStartups === undefined ? 50 : opts.maxStartups;
  need('/usr/sbin/sshd', 'openssh-server');
  need('/usr/bin/sudo', 'sudo');
  need('/usr/bin/ssh-keygen', 'openssh-client');
  const plainPassword = ensureUsers();
  // sshd's privilege-separation directory; Debian's init script normally creates it.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const dir = mkdtempSync(join(tmpdir(), 'hb-sshd-'));
  // Users read their own authorized keys file, so the tree must be traversable.
  chmodSync(dir, 0o755);
  const keysDir = join(dir, 'keys');
  const clientDir = join(dir, 'client');
  mkdirSync(keysDir, { mode: 0o755 });
  mkdirSync(clientDir, { mode: 0o700 });
  const hostKey = keygen(dir, 'host_ed25519');
  const hostKeySha256 = run('ssh-keygen', ['-lf', `${hostKey.file}.pub`]).split(' ')[1]!;
  const users: Record<string, SshdUser> = {};
  for (const u of ['root', SUDO_USER, PLAIN_USER]) {
    const k = keygen(clientDir, `id_${u}`);
    writeFileSync(join(keysDir, u), k.publicKey, { mode: 0o644 });
    users[u] = { username: u, privateKey: k.privateKey };
  }
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(config, [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey.file}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${keysDir}/%u`,
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    // No PAM: container PAM session modules (loginuid) fail and add nothing here.
    'UsePAM no',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'LogLevel VERBOSE',
    ...(maxStartups === null ? [] : [`MaxStartups ${maxStartups}`]),
    ...(opts.maxSessions === undefined ? [] : [`MaxSessions ${opts.maxSessions}`]),
    `Match User ${PLAIN_USER}`,
    '  PasswordAuthentication yes',
    '',
  ].join('\n'));
  run('/usr/sbin/sshd', ['-t', '-f', config]);

  let log = '';
  let proc: ChildProcess;
  const output = () => log.slice(-8000);
  const start = async () => {
    proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => { log += d; });
    proc.stderr!.on('data', (d) => { log += d; });
    await waitForBanner(port, 10_000, proc, output);
  };
  const halt = async () => {
    if (!proc || proc.exitCode !== null || proc.pid === undefined) return;
    const exited = new Promise((r) => proc.once('exit', r));
    // Session processes outlive a stopped listener; end them too so clients see the drop.
    for (const pid of descendants(proc.pid)) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
    }
    proc.kill('SIGTERM');
    // The grace timer is cleared once the process exits: left running it would hold this test
    // process open 5 s after its last test.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => { grace = setTimeout(r, 5000); })]);
    clearTimeout(grace);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  await start();
  return {
    host: '127.0.0.1',
    port,
    hostKeySha256,
    root: users.root!,
    sudoUser: users[SUDO_USER]!,
    plainUser: { ...users[PLAIN_USER]!, password: plainPassword },
    dir,
    output,
    fullOutput: () => log,
    effectiveConfig: () => Object.fromEntries(run('/usr/sbin/sshd', ['-T', '-f', config]).split('\n').filter(Boolean).map((l) => {
      const i = l.indexOf(' ');
      return i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1)];
    })),
    restart: async () => {
      await halt();
      await start();
    },
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
