// One reused SSH connection per Hestia server (keyed by server id): opened on first use, dropped
// and reopened after a failure, closed on shutdown. The host key is pinned by its OpenSSH
// SHA256 fingerprint; with no pin, the key seen is reported so the caller can store it.
// Commands share the connection, one exec channel each, at most maxChannels at once (below
// sshd's MaxSessions); a channel sshd refuses waits for one of ours to close and is asked again.
import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { RetryableError, TerminalError } from '../../common/errors.ts';
import { ChannelGate, GateClosedError } from './channel-gate.ts';

export interface SshServer {
  /** Pool key: one connection per id. */
  id: string;
  host: string;
  port?: number;
  username: string;
  password?: string;
  privateKey?: string;
  passphrase?: string;
  /** Pinned host key, `SHA256:<base64>` as `ssh-keygen -lf` prints it; null = trust on first use. */
  hostKeySha256?: string | null;
  connectTimeoutMs?: number;
  /**
   * Exec channels open at once on the connection, 1–64; default the pool's (8). Keep it at or
   * below the server's sshd MaxSessions (10 unless changed): above it sshd refuses channels,
   * which then wait, so it still works, only with needless round trips.
   */
  maxChannels?: number;
}

export interface ExecOptions {
  /** Sent on the command's stdin, then stdin is closed (always closed, so nothing waits on it). */
  stdin?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  onStdoutLine?(line: string): void;
  onStderrLine?(line: string): void;
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface SessionInfo {
  uid: number;
  isRoot: boolean;
  /** The fingerprint the server presented. */
  hostKeySha256: string;
  /** False when no pin was stored: the caller should store hostKeySha256 (trust on first use). */
  hostKeyPinned: boolean;
}

export interface SshPoolOptions {
  /** Told of every host key accepted without a pin, so it can be stored and reported. */
  onUnpinnedHostKey?(serverId: string, host: string, fingerprint: string): void;
  defaultConnectTimeoutMs?: number;
  defaultCommandTimeoutMs?: number;
  /** Channels per connection for servers that set no maxChannels; default DEFAULT_MAX_CHANNELS. */
  maxChannelsPerConnection?: number;
}

/** Below OpenSSH's default MaxSessions (10), leaving room for a kill channel and for sshd's lag in freeing a closed one. */
export const DEFAULT_MAX_CHANNELS = 8;

/** Refusals in a row with none of our channels open before giving up (MaxSessions 0, or something else refusing). */
const MAX_IDLE_REFUSALS = 8;

/** Host key did not match the pin: never retried, someone must look. */
export class HostKeyMismatchError extends TerminalError {
  constructor(readonly host: string, readonly expected: string, readonly actual: string) {
    super(`host key of ${host} does not match the pinned key: expected ${expected}, got ${actual}`);
    this.name = 'HostKeyMismatchError';
  }
}

export function sha256Fingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

function normalisePin(pin: string): string {
  const p = pin.trim().replace(/=+$/, '');
  return p.startsWith('SHA256:') ? p : `SHA256:${p}`;
}

interface Conn {
  ssh: NodeSSH;
  info: SessionInfo;
  configKey: string;
  alive: boolean;
  gate: ChannelGate;
  /** Channel opens sshd refused on this connection (diagnostics and tests). */
  refusals: number;
}

/** A command could not get a channel in time, or was aborted while it waited: it never started. */
class ChannelWaitError extends RetryableError {}

interface StartOptions {
  deadline: number;
  signal?: AbortSignal;
  urgent?: boolean;
}

const PID_MARK = 'hb-pid:';

/** Every pool's open connections in this process, for the daemon's metrics (read-only outside this file). */
const openConnections = new Set<Conn>();

/** How many SSH connections to Hestia servers this process holds open right now (one that died unseen is not counted). */
export function openSshConnections(): number {
  let n = 0;
  for (const c of openConnections) if (c.alive) n++;
  return n;
}

const RETRYABLE_NET = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|EAI_AGAIN|EPIPE|ECONNABORTED/;

export class SshPool {
  private readonly conns = new Map<string, Conn>();
  private readonly pending = new Map<string, Promise<Conn>>();
  private readonly connects = new Map<string, number>();
  private closed = false;

  constructor(private readonly opts: SshPoolOptions = {}) {}

  /** How many times a connection to this server was opened (for tests and diagnostics). */
  connectCount(serverId: string): number {
    return this.connects.get(serverId) ?? 0;
  }

  /** Channel opens sshd refused on the server's current connection (for tests and diagnostics). */
  refusedChannels(serverId: string): number {
    return this.conns.get(serverId)?.refusals ?? 0;
  }

  /** Opens (or reuses) the server's connection and tells who we are there. */
  async session(server: SshServer): Promise<SessionInfo> {
    return (await this.get(server)).info;
  }

  async exec(server: SshServer, command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    opts.signal?.throwIfAborted();
    const limit = this.channelLimit(server);
    // The shell reports its pid, then becomes the command (exec): sshd made it a session and
    // process-group leader, so a timeout or abort can end the whole group. OpenSSH refuses
    // "signal" requests on root sessions (no post-auth privilege separation), hence the kill.
    const line = `echo ${PID_MARK}$$ >&2; exec ${command}`;
    const control = (c: Conn): ChannelControl => ({
      defaultTimeout: this.opts.defaultCommandTimeoutMs ?? 120_000,
      onBroken: () => this.drop(server.id, c),
      kill: (pid) => {
        // Ahead of waiting commands: the channel being stopped frees its slot as it closes.
        this.startOn(c, server, `kill -TERM -- -${pid} 2>/dev/null || kill -TERM ${pid} 2>/dev/null`,
          (ch) => runChannel(ch, server, { timeoutMs: 5_000 }, { defaultTimeout: 5_000, onBroken: () => {} }),
          { deadline: Date.now() + 5_000, urgent: true })
          .then((s) => s.running)
          .catch(() => { /* best effort: the channel close follows */ });
      },
    });
    // A command waits for a channel at most as long as it may run.
    const deadline = Date.now() + (opts.timeoutMs ?? this.opts.defaultCommandTimeoutMs ?? 120_000);
    let reconnected = false;
    for (;;) {
      const conn = await this.get(server);
      conn.gate.configure(limit);
      try {
        const started = await this.startOn(conn, server, line, (ch) => runChannel(ch, server, opts, control(conn)), { deadline, signal: opts.signal });
        return await started.running;
      } catch (err) {
        if (!(err instanceof ConnectionFailedError)) throw err;
        // The connection itself failed before the channel opened, so the command did not start:
        // one retry on a fresh connection is safe. (Commands running on it are lost with it.)
        this.drop(server.id, conn);
        if (reconnected) throw new RetryableError(`ssh ${server.username}@${server.host}: could not start a command: ${err.message}`);
        reconnected = true;
      }
    }
  }

  /**
   * Opens an exec channel on this connection within its channel limit. A channel sshd refuses
   * (SSH_MSG_CHANNEL_OPEN_FAILURE: OpenSSH's MaxSessions answers "open failed", administratively
   * prohibited; ssh2 reports "(SSH) Channel open failure: open failed" with a numeric reason)
   * is asked for again once one of ours closes. Asking again cannot run the command twice: the
   * command line travels in the exec request, which is sent only on a channel sshd confirmed, and
   * a channel whose exec request sshd refused ran nothing either. The connection stays: the
   * commands running on it are untouched. Only a connection that closed makes ConnectionFailedError.
   */
  private async startOn(conn: Conn, server: SshServer, line: string, run: (channel: ClientChannel) => Promise<ExecResult>, so: StartOptions): Promise<{ running: Promise<ExecResult> }> {
    const where = `ssh ${server.username}@${server.host}`;
    let idleRefusals = 0;
    let refused = 0;
    let urgent = so.urgent ?? false;
    for (;;) {
      try {
        await conn.gate.acquire({
          deadline: so.deadline,
          signal: so.signal,
          urgent,
          onAbort: () => Object.assign(new ChannelWaitError(`command aborted on ${server.host} while it waited for an SSH channel`), { code: 'ABORT_ERR' }),
          onTimeout: () => new ChannelWaitError(`${where}: no SSH channel became free in time: ${conn.gate.inUse} command(s) held the connection's ${conn.gate.limit} channel(s)`
            + (refused > 0 ? `, and sshd refused ${refused} channel open(s) for this one (is its MaxSessions below the connection's limit of ${this.channelLimit(server)}?)` : '')
            + '; the command did not start'),
        });
      } catch (err) {
        if (err instanceof GateClosedError) throw new ConnectionFailedError(err.message);
        throw err;
      }
      let released = false;
      const release = () => {
        if (!released) {
          released = true;
          conn.gate.release();
        }
      };
      try {
        return await openChannel(conn, line, (ch) => {
          const running = run(ch);
          running.then(release, release);
          return running;
        });
      } catch (err) {
        const msg = (err as Error).message;
        if (!conn.alive || msg === 'Not connected') {
          release();
          throw new ConnectionFailedError(msg);
        }
        // sshd refused the channel (or its exec request) while the connection stays up.
        released = true;
        conn.gate.refused();
        conn.refusals++;
        refused++;
        urgent = true;
        if (conn.gate.inUse === 0) {
          // Nothing of ours to wait for: sshd may still hold a channel that has just closed.
          if (++idleRefusals > MAX_IDLE_REFUSALS) {
            throw new ChannelWaitError(`${where}: sshd refused ${idleRefusals} channel opens in a row with no other command running (${msg}); is MaxSessions 0 there? The command did not start`);
          }
          await sleep(Math.min(1_000, 20 * 2 ** idleRefusals), so.signal);
        } else {
          idleRefusals = 0;
        }
      }
    }
  }

  private channelLimit(server: SshServer): number {
    const n = server.maxChannels ?? this.opts.maxChannelsPerConnection ?? DEFAULT_MAX_CHANNELS;
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new TerminalError(`SSH channels per connection for ${server.host} must be a whole number between 1 and 64, got ${n}`);
    return n;
  }

  async close(serverId: string): Promise<void> {
    const c = this.conns.get(serverId);
    if (c) this.drop(serverId, c);
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    for (const [id, c] of [...this.conns]) this.drop(id, c);
    await Promise.allSettled([...this.pending.values()]);
    for (const [id, c] of [...this.conns]) this.drop(id, c);
  }

  private drop(id: string, c: Conn): void {
    c.alive = false;
    c.gate.close();
    openConnections.delete(c);
    if (this.conns.get(id) === c) this.conns.delete(id);
    try {
      c.ssh.dispose();
    } catch {
      /* already gone */
    }
  }

  private async get(server: SshServer): Promise<Conn> {
    if (this.closed) throw new TerminalError('the SSH pool is shut down');
    const key = configKey(server);
    const existing = this.conns.get(server.id);
    if (existing?.alive && existing.configKey === key) return existing;
    if (existing) this.drop(server.id, existing);
    let p = this.pending.get(server.id);
    if (!p) {
      p = this.open(server, key).finally(() => this.pending.delete(server.id));
      this.pending.set(server.id, p);
    }
    return p;
  }

  private async open(server: SshServer, key: string): Promise<Conn> {
    const where = `${server.username}@${server.host}:${server.port ?? 22}`;
    const pin = server.hostKeySha256 ? normalisePin(server.hostKeySha256) : null;
    let seen: string | null = null;
    const ssh = new NodeSSH();
    this.connects.set(server.id, this.connectCount(server.id) + 1);
    try {
      await ssh.connect({
        host: server.host,
        port: server.port ?? 22,
        username: server.username,
        ...(server.privateKey ? { privateKey: server.privateKey, passphrase: server.passphrase } : { password: server.password }),
        readyTimeout: server.connectTimeoutMs ?? this.opts.defaultConnectTimeoutMs ?? 10_000,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 3,
        hostVerifier: (keyBlob: Buffer) => {
          seen = sha256Fingerprint(keyBlob);
          return pin === null || seen === pin;
        },
      });
    } catch (err) {
      ssh.dispose();
      if (pin !== null && seen !== null && seen !== pin) throw new HostKeyMismatchError(server.host, pin, seen);
      throw connectError(err, where);
    }
    const conn: Conn = {
      ssh, configKey: key, alive: true, info: { uid: -1, isRoot: false, hostKeySha256: seen!, hostKeyPinned: pin !== null },
      gate: new ChannelGate(this.channelLimit(server)), refusals: 0,
    };
    const client = ssh.connection!;
    // Each command is a few small packets each way (channel open, exec request, EOF, close). With
    // Nagle's algorithm on, the second small write waits for the server's ACK of the first, which
    // a delayed-ACK server holds up to 40 ms: measured 46 → 3 ms per command against the emulator.
    client.setNoDelay(true);
    // node-ssh stops listening for errors once connected; an unheard 'error' would crash the daemon.
    // A dead connection wakes the commands waiting for one of its channels (they did not start).
    const dead = () => {
      conn.alive = false;
      conn.gate.close();
    };
    client.on('error', dead);
    client.on('close', dead);
    client.on('end', dead);
    try {
      const id = await (await this.startOn(conn, server, 'id -u', (ch) => runChannel(ch, server, { timeoutMs: 15_000 }, { defaultTimeout: 15_000, onBroken: () => {} }), { deadline: Date.now() + 15_000 })).running;
      const uid = Number(id.stdout.trim());
      if (id.code !== 0 || !Number.isInteger(uid)) throw new TerminalError(`ssh ${where}: "id -u" failed (exit ${id.code}): ${id.stderr.trim().slice(0, 200)}`);
      conn.info.uid = uid;
      conn.info.isRoot = uid === 0;
    } catch (err) {
      this.drop(server.id, conn);
      throw err;
    }
    if (pin === null) this.opts.onUnpinnedHostKey?.(server.id, server.host, seen!);
    this.conns.set(server.id, conn);
    openConnections.add(conn);
    return conn;
  }
}

/** The connection closed before a channel opened: the command did not start. */
class ConnectionFailedError extends Error {}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

// Credentials are part of the key so a changed password or key opens a new connection.
function configKey(s: SshServer): string {
  const secret = createHash('sha256').update(`${s.password ?? ''}\0${s.privateKey ?? ''}\0${s.passphrase ?? ''}`).digest('hex');
  return [s.host, s.port ?? 22, s.username, s.hostKeySha256 ?? '', secret].join('|');
}

function connectError(err: unknown, where: string): Error {
  const e = err as { level?: string; code?: string; message?: string };
  const msg = e?.message ?? String(err);
  if (e?.level === 'client-authentication') return new TerminalError(`ssh ${where}: authentication failed (check the user name, password or key)`);
  if (/Cannot parse privateKey|Encrypted private OpenSSH key|bad passphrase/i.test(msg)) return new TerminalError(`ssh ${where}: the private key could not be used: ${msg}`);
  if (e?.level === 'client-timeout' || RETRYABLE_NET.test(`${e?.code ?? ''} ${msg}`)) return new RetryableError(`ssh ${where}: ${msg}`, { cause: err });
  return new RetryableError(`ssh ${where}: connection failed: ${msg}`, { cause: err });
}

/**
 * Opens an exec channel and hands it to `run` inside ssh2's callback, before anything else can
 * happen: a quick command's output, exit status and close often arrive in the same read as the
 * channel's confirmation, and listeners attached after an `await` would miss the exit status.
 * Wrapped in an object so the command's own promise is not awaited here.
 */
function openChannel(conn: Conn, command: string, run: (channel: ClientChannel) => Promise<ExecResult>): Promise<{ running: Promise<ExecResult> }> {
  return new Promise((resolve, reject) => {
    const client = conn.ssh.connection;
    if (!conn.alive || !client) return reject(new Error('connection is closed'));
    try {
      client.exec(command, (err, channel) => (err ? reject(err) : resolve({ running: run(channel) })));
    } catch (err) {
      reject(err as Error);
    }
  });
}

/**
 * Collects a byte stream as text. With `emit`, it splits lines as they come (UTF-8 safe) and
 * `emit` sees each one and may drop it (false). Without, nobody reads the lines, so the chunks are
 * kept whole and decoded once: a 700 KB listing makes two strings, not twenty thousand.
 */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private buf = '';
  private readonly lines: string[] = [];
  private readonly chunks: Buffer[] | null;
  private joined: string | null = null;
  constructor(private readonly emit?: (line: string) => boolean | void) {
    this.chunks = emit ? null : [];
  }
  push(chunk: Buffer): void {
    if (this.chunks) {
      this.chunks.push(chunk);
      return;
    }
    const s = this.buf + this.decoder.write(chunk);
    let start = 0;
    let i: number;
    while ((i = s.indexOf('\n', start)) >= 0) {
      const line = s.slice(start, i).replace(/\r$/, '');
      start = i + 1;
      if (this.emit!(line) !== false) this.lines.push(line + '\n');
    }
    this.buf = s.slice(start);
  }
  end(): void {
    if (this.chunks) return;
    this.buf += this.decoder.end();
    if (this.buf !== '' && this.emit!(this.buf) !== false) this.lines.push(this.buf);
    this.buf = '';
  }
  get text(): string {
    this.joined ??= this.chunks ? Buffer.concat(this.chunks).toString('utf8').replace(/\r\n/g, '\n') : this.lines.join('');
    return this.joined;
  }
}


// ssh2's channel.signal() is a no-op once stdin has been ended, and stdin is always ended (so
// nothing waits on it); the protocol call below is what channel.signal() itself uses.
function sendSignal(channel: ClientChannel, name: string): void {
  const c = channel as unknown as { outgoing?: { id?: number; state?: string }; _client?: { _protocol?: { signal?(id: number, sig: string): void } } };
  try {
    if ((c.outgoing?.state === 'open' || c.outgoing?.state === 'eof') && typeof c.outgoing.id === 'number' && c._client?._protocol?.signal) c._client._protocol.signal(c.outgoing.id, name);
    else channel.signal(name);
  } catch {
    /* the connection is going away anyway */
  }
}

interface ChannelControl {
  defaultTimeout: number;
  /** The connection can no longer be trusted. */
  onBroken(): void;
  /** Ends the remote process group; given, stderr's first line is expected to carry its pid. */
  kill?(pid: number): void;
}

function runChannel(channel: ClientChannel, server: SshServer, opts: ExecOptions, ctl: ChannelControl): Promise<ExecResult> {
  const { defaultTimeout, onBroken } = ctl;
  return new Promise((resolve, reject) => {
    let pid: number | null = null;
    let expectPid = ctl.kill !== undefined;
    const onOut = opts.onStdoutLine;
    const out = new LineSplitter(onOut ? (line) => onOut(line) : undefined);
    const err = new LineSplitter((line) => {
      if (expectPid) {
        expectPid = false;
        if (line.startsWith(PID_MARK)) {
          pid = Number(line.slice(PID_MARK.length)) || null;
          return false;
        }
      }
      opts.onStderrLine?.(line);
      return true;
    });
    let settled = false;
    let failure: Error | null = null;
    const timeoutMs = opts.timeoutMs ?? defaultTimeout;
    const stop = (e: Error) => {
      if (failure) return;
      failure = e;
      if (pid !== null) ctl.kill?.(pid);
      // TERM reaches the remote process group (sshd uses killpg; sudo relays it); closing the
      // channel ends our side. Servers without signal support just see the close.
      sendSignal(channel, 'TERM');
      channel.close();
      // If the server never answers the close, the connection is not trustworthy any more.
      setTimeout(() => {
        if (!settled) {
          onBroken();
          finish(null, null);
        }
      }, 2_000).unref();
    };
    const timer = setTimeout(() => stop(new RetryableError(`command timed out after ${timeoutMs} ms on ${server.host}`)), timeoutMs);
    const onAbort = () => stop(Object.assign(new RetryableError(`command aborted on ${server.host}`), { code: 'ABORT_ERR' }));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (code: number | null, sig: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      out.end();
      err.end();
      if (failure) return reject(failure);
      if (code === null && sig === null) {
        // The connection went away mid-command: its outcome is unknown, so check before retrying.
        onBroken();
        return reject(new RetryableError(`ssh connection to ${server.host} was lost while a command ran`));
      }
      resolve({ code, signal: sig, stdout: out.text, stderr: err.text });
    };
    channel.on('data', (c: Buffer) => out.push(c));
    channel.stderr.on('data', (c: Buffer) => err.push(c));
    channel.on('error', () => {});
    let exitCode: number | null = null;
    let exitSignal: string | null = null;
    channel.on('exit', (code: number | null, sig?: string) => {
      exitCode = code;
      exitSignal = sig ?? null;
    });
    channel.on('close', () => finish(exitCode, exitSignal));
    channel.end(opts.stdin ?? undefined);
  });
}
