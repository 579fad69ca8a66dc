// An in-process SSH server (ssh2) in front of one emulated node: password/public-key auth, exec
// channels with stdin/stdout/stderr/exit codes, injectable faults and per-command latency.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey, ServerChannel } from 'ssh2';
import { type CommandLogEntry, execArgv, readCommandLog, recordExec, refuseLine, type StdinSource } from './exec.ts';
import { parseLine, type SimpleCommand } from './login-shell.ts';
import { ShellSyntaxRefused } from './shell-words.ts';

const { Server: SshServer, utils } = ssh2;

export interface NodeUser { username: string; password?: string; publicKey?: string | Buffer; uid: number; sudo?: boolean }

export type Fault =
  | { kind: 'refuse' }
  | { kind: 'hang'; match?: RegExp; times?: number }
  /** when 'after' (default) the command runs and the reply is lost; 'before' drops before it runs. */
  | { kind: 'drop'; match?: RegExp; times?: number; when?: 'before' | 'after' }
  | { kind: 'exit'; match?: RegExp; code: number; message?: string; stderr?: string; times?: number };

export interface StartNodeOptions {
  dir: string;
  host?: string;
  port?: number;
  users: NodeUser[];
  latencyMs?: number;
  /** OpenSSH-format private host key; one ed25519 key is generated when absent. */
  hostKey?: string;
}

export interface HestiaNodeHandle {
  host: string;
  port: number;
  dir: string;
  hostKeySha256: string;
  commandLog(): CommandLogEntry[];
  setLatency(ms: number): void;
  setFault(fault: Fault | null): Promise<void>;
  close(): Promise<void>;
}

/** `SHA256:<base64 without padding>` of the public key blob, as ssh-keygen -l and known_hosts prompts print it. */
/**
 * An ed25519 key pair that ssh2 can read back. ssh2's own generator now and then writes a
 * private key its parser refuses ("Malformed OpenSSH private key", about 3 in 1,000 here), so a
 * pair is checked and drawn again when that happens.
 */
export function ed25519KeyPair(): { private: string; public: string } {
  for (let i = 0; ; i++) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.private) instanceof Error)) return pair;
    if (i >= 20) throw new Error('ssh2 could not generate a readable ed25519 key in 20 tries');
  }
}

export function fingerprintOf(privateOrPublicKey: string): string {
  const parsed = utils.parseKey(privateOrPublicKey);
  const key = (Array.isArray(parsed) ? parsed[0] : parsed) as ParsedKey;
  if (key instanceof Error) throw key;
  return 'SHA256:' + createHash('sha256').update(key.getPublicSSH()).digest('base64').replace(/=+$/, '');
}

function eq(a: Buffer, b: Buffer): boolean { return a.length === b.length && timingSafeEqual(a, b); }

/** Stdin of an exec channel, read only by the commands that need it (others never wait for EOF). */
function channelStdin(stream: ServerChannel): StdinSource {
  let buf = '';
  let ended = false;
  const waiters: (() => void)[] = [];
  stream.on('data', (d: Buffer) => { buf += d.toString('utf8'); waiters.splice(0).forEach((w) => w()); });
  stream.on('end', () => { ended = true; waiters.splice(0).forEach((w) => w()); });
  return {
    async read(mode) {
      for (;;) {
        if (mode === 'line' && buf.includes('\n')) return buf.slice(0, buf.indexOf('\n'));
        if (ended) return mode === 'line' ? buf.split('\n')[0]! : buf;
        await new Promise<void>((r) => waiters.push(r));
      }
    },
  };
}

export async function startHestiaNode(opts: StartNodeOptions): Promise<HestiaNodeHandle> {
  const hostKey = opts.hostKey ?? ed25519KeyPair().private;
  const host = opts.host ?? '127.0.0.1';
  let latency = opts.latencyMs ?? 0;
  let fault: Fault | null = null;
  let faultUses = 0;
  const sockets = new Set<Socket>();
  const clients = new Set<Connection>();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Consume the current fault if it applies to this command line. */
  function takeFault(line: string): Fault | null {
    const f = fault;
    if (!f || f.kind === 'refuse') return null;
    if (f.match && !f.match.test(line)) return null;
    if (f.times !== undefined) {
      if (faultUses >= f.times) return null;
      faultUses++;
    }
    return f;
  }

  // Emulated process ids of the exec channels still open, so "kill" can end a hung command.
  let nextPid = 4000;
  const running = new Map<number, ServerChannel>();
  function killBuiltin(argv: string[]): { code: number; stdout: string; stderr: string } {
    // kill -TERM -- -PGID, or kill -TERM PID: the first operand, sign dropped (a group is its leader's pid).
    const operand = argv.slice(1).find((a) => a !== '--' && !/^-[A-Z]+$/.test(a));
    const target = operand !== undefined && /^-?\d+$/.test(operand) ? Math.abs(Number(operand)) : undefined;
    const ch = target === undefined ? undefined : running.get(target);
    if (!ch) return { code: 1, stdout: '', stderr: `kill: (${target ?? '?'}) - No such process\n` };
    running.delete(target!);
    ch.exit('TERM');
    ch.end();
    return { code: 0, stdout: '', stderr: '' };
  }

  const ssh = new SshServer({ hostKeys: [hostKey] }, (client: Connection) => {
    clients.add(client);
    let who: NodeUser | undefined;
    client.on('authentication', (ctx) => {
      const u = opts.users.find((x) => x.username === ctx.username);
      if (!u) return ctx.reject(['password', 'publickey']);
      if (ctx.method === 'password' && u.password !== undefined && eq(Buffer.from(ctx.password), Buffer.from(u.password))) {
        who = u; return ctx.accept();
      }
      if (ctx.method === 'publickey' && u.publicKey) {
        const allowed = utils.parseKey(u.publicKey) as ParsedKey;
        if (allowed instanceof Error || ctx.key.algo !== allowed.type || !eq(ctx.key.data, allowed.getPublicSSH())) return ctx.reject();
        // Without a signature the client only asks whether the key would do.
        if (!ctx.signature) return ctx.accept();
        if (ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) { who = u; return ctx.accept(); }
        return ctx.reject();
      }
      return ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('exec', (accept, _reject, info) => {
          const stream = accept();
          const stdin = channelStdin(stream);
          const pid = nextPid++;
          void (async () => {
            const user = who!;
            const identity = { username: user.username, uid: user.uid, sudo: user.sudo };
            let cmds: SimpleCommand[];
            try {
              cmds = parseLine(info.command, pid);
            } catch (e) {
              if (!(e instanceof ShellSyntaxRefused)) throw e;
              const r = refuseLine(opts.dir, info.command, identity, e);
              stream.stderr.write(r.stderr);
              stream.exit(r.code); stream.end();
              return;
            }
            running.set(pid, stream);
            stream.on('close', () => running.delete(pid));
            const f = takeFault(info.command);
            const now = () => new Date().toISOString();
            const log = (code: number, note: string) => execNote(opts.dir, info.command, user.username, code, note, now());
            if (f?.kind === 'hang') { log(-1, 'fault: hang'); return; }
            if (f?.kind === 'drop' && f.when === 'before') { log(-1, 'fault: drop before run'); dropClient(client); return; }
            if (latency > 0) await sleep(latency);
            if (f?.kind === 'exit') {
              log(f.code, 'fault: exit');
              if (f.message) stream.write(f.message.endsWith('\n') ? f.message : f.message + '\n');
              if (f.stderr) stream.stderr.write(f.stderr);
              stream.exit(f.code); stream.end();
              return;
            }
            let last = 0;
            for (const c of cmds) {
              if ((c.op === '&&' && last !== 0) || (c.op === '||' && last === 0)) continue;
              const argv = c.argv[0] === 'exec' ? c.argv.slice(1) : c.argv;
              const r = argv[0] === 'echo' ? { code: 0, stdout: argv.slice(1).join(' ') + '\n', stderr: '' }
                : argv[0] === 'kill' ? killBuiltin(argv)
                  : await execArgv(opts.dir, info.command, argv, identity, stdin);
              const route = (text: string, to: 'out' | 'err' | 'null') => {
                if (!text || to === 'null') return;
                if (to === 'out') stream.write(text); else stream.stderr.write(text);
              };
              route(r.stdout, c.stdout);
              route(r.stderr, c.stderr);
              last = r.code;
            }
            if (f?.kind === 'drop') { dropClient(client); return; }
            stream.exit(last);
            stream.end();
          })().catch((e) => { stream.stderr.write(`emulator: ${e}\n`); stream.exit(1); stream.end(); });
        });
      });
    });
    client.on('error', () => { /* a dropped or reset client is expected in fault tests */ });
    client.on('close', () => clients.delete(client));
  });
  ssh.on('error', () => {});

  function dropClient(client: Connection): void {
    (client as unknown as { _sock?: Socket })._sock?.destroy();
  }

  let net: NetServer | null = null;
  const listen = (port: number) => new Promise<number>((resolve, reject) => {
    const s = createServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => {});
      // A command's answer is several small packets (data, exit status, EOF, close): without this,
      // each after the first waits for the client's delayed ACK, ~40 ms a command that a real
      // node's sshd (which sets TCP_NODELAY on interactive sessions) does not add.
      sock.setNoDelay(true);
      ssh.injectSocket(sock);
    });
    s.once('error', reject);
    s.listen(port, host, () => { net = s; resolve((s.address() as { port: number }).port); });
  });
  // A node that goes down refuses new connections and drops the open ones; close() would
  // otherwise wait for every client to leave.
  const stopListening = () => new Promise<void>((r) => {
    if (!net) return r();
    const s = net;
    net = null;
    s.close(() => r());
    for (const sock of sockets) sock.destroy();
  });

  const port = await listen(opts.port ?? 0);
  const fingerprint = fingerprintOf(hostKey);

  return {
    host, port, dir: opts.dir, hostKeySha256: fingerprint,
    commandLog: () => readCommandLog(opts.dir),
    setLatency(ms) { latency = ms; },
    async setFault(next) {
      const wasRefusing = fault?.kind === 'refuse';
      fault = next; faultUses = 0;
      if (next?.kind === 'refuse' && !wasRefusing) await stopListening();
      if (next?.kind !== 'refuse' && wasRefusing) await listen(port);
    },
    async close() {
      await stopListening();
      for (const c of clients) dropClient(c);
      for (const s of sockets) s.destroy();
    },
  };
}

function execNote(dir: string, command: string, user: string, code: number, note: string, startedAt: string): void {
  recordExec(dir, { command, argv: null, user, runAs: user, code, startedAt, endedAt: new Date().toISOString(), ran: false, note });
}

export interface FleetNode extends StartNodeOptions { name: string }

/** Start several nodes; returns them by name. */
export async function startFleet(nodes: FleetNode[]): Promise<Record<string, HestiaNodeHandle> & { closeAll(): Promise<void> }> {
  const out: Record<string, HestiaNodeHandle> = {};
  for (const n of nodes) out[n.name] = await startHestiaNode(n);
  return Object.assign(out, { closeAll: async () => { await Promise.all(Object.values(out).map((h) => h.close())); } }) as Record<string, HestiaNodeHandle> & { closeAll(): Promise<void> };
}
