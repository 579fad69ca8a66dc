// Runs one v-command on a Hestia server: builds the line from validated Args, streams output to
// the task log with secrets masked, and turns a non-zero exit into a classified error.
import { randomBytes } from 'node:crypto';
import { TerminalError } from '../../common/errors.ts';
import { Masker, globalMasker } from '../../log/mask.ts';
import { Arg } from './args.ts';
import { buildCommand, checkBinDir, DEFAULT_BIN_DIR } from './command.ts';
import { hestiaError } from './exit-codes.ts';
import type { ExecResult, SessionInfo, SshPool, SshServer } from './ssh.ts';

export interface HestiaServer extends SshServer {
  /** Directory of the v-* scripts; default /usr/local/hestia/bin. */
  binDir?: string;
  commandTimeoutMs?: number;
}

/** The part of a TaskContext the driver uses: where lines go and which values to mask. */
export interface DriverIO {
  log?(line: string): void;
  secret?(value: string | null | undefined): void;
  signal?: AbortSignal;
}

/** sudo refused to run the command without a password (no NOPASSWD rule for this user). */
export class SudoRefusedError extends TerminalError {
  constructor(readonly user: string, readonly host: string, detail: string) {
    super(`sudo -n refused to run Hestia commands for ${user} on ${host}: ${detail} (give the user a NOPASSWD sudo rule for the Hestia bin directory, or connect as root)`);
    this.name = 'SudoRefusedError';
  }
}

const SUDO_REFUSED = /a password is required|is not in the sudoers file|is not allowed to execute|may not run sudo|a terminal is required|no tty present|account validation failure/;

export interface RunOptions {
  stdin?: string;
  timeoutMs?: number;
  /** Keeps stdout out of the task log (long tool output read by a parser, e.g. top or df). */
  quiet?: boolean;
  /**
   * The command's output is valid whatever its exit status: v-list-sys-*-status end with a bare
   * `exit`, so they return the status of their last optional tool (127 without dmidecode or
   * fdisk). A non-zero status is then only logged; a 127 with nothing printed still means the
   * command itself is missing.
   */
  anyExit?: boolean;
}

export class HestiaRunner {
  readonly masker: Masker;
  readonly binDir: string;

  constructor(readonly pool: SshPool, readonly server: HestiaServer, private readonly io: DriverIO = {}) {
    this.masker = new Masker(globalMasker);
    this.binDir = checkBinDir(server.binDir ?? DEFAULT_BIN_DIR);
    this.secret(server.password);
    this.secret(server.passphrase);
    this.secret(server.privateKey);
  }

  secret(value: string | null | undefined): void {
    this.masker.add(value);
    this.io.secret?.(value);
  }

  log(line: string): void {
    this.io.log?.(this.masker.mask(line));
  }

  session(): Promise<SessionInfo> {
    return this.pool.session(this.server);
  }

  /** Runs a plain (non-Hestia) command line made only of constants and quoted Args. */
  exec(line: string, opts: RunOptions = {}): Promise<ExecResult> {
    return this.pool.exec(this.server, line, {
      stdin: opts.stdin,
      timeoutMs: opts.timeoutMs ?? this.server.commandTimeoutMs,
      signal: this.io.signal,
      onStdoutLine: opts.quiet ? undefined : (l) => this.log(l),
      onStderrLine: (l) => this.log(`stderr: ${l}`),
    });
  }

  async run(command: string, args: readonly Arg[], opts: RunOptions = {}): Promise<ExecResult> {
    const { isRoot } = await this.session();
    const cmd = buildCommand(this.binDir, command, args, { sudo: !isRoot });
    this.log(`$ ${cmd.line}`);
    const res = await this.exec(cmd.line, opts);
    if (res.code === 0) return res;
    const stderr = this.masker.mask(res.stderr);
    const host = this.server.host;
    if (!isRoot) {
      // Only sudo's own refusals: it may also print harmless warnings (e.g. "unable to resolve host").
      const sudoLine = stderr.split('\n').find((l) => l.startsWith('sudo: ') && SUDO_REFUSED.test(l));
      if (sudoLine && res.code === 1) throw new SudoRefusedError(this.server.username, host, sudoLine.slice(6).trim());
    }
    const notFound = res.code === 127 || /^sudo: .*command not found/m.test(stderr);
    if (opts.anyExit && res.code !== null && res.stdout.trim() !== '') {
      this.log(`${command} exited ${res.code} (the status of its last tool); its output is used as printed`);
      return res;
    }
    if (notFound) {
      throw new TerminalError(`${command} was not found in ${this.binDir} on ${host} (is HestiaCP installed, and is the bin directory right?)`);
    }
    if (res.code === null) throw new TerminalError(`${command} on ${host} was killed by signal ${res.signal ?? 'unknown'}`);
    throw hestiaError(res.code, this.masker.mask(res.stdout), command, host);
  }

  /**
   * Puts `content` in a fresh mode-600 file under /tmp (content sent on stdin, never on argv),
   * hands its path to `fn`, and removes it afterwards whatever happened.
   */
  async withTmpFile<T>(name: string, content: string, fn: (path: Arg) => Promise<T>): Promise<T> {
    const path = Arg.secretPath(name, `/tmp/hb-${randomBytes(16).toString('hex')}`);
    // GNU install creates the file 0600 from the start (no window with wider permissions).
    const write = await this.exec(`install -m 600 /dev/stdin ${path.quoted()}`, { stdin: content });
    if (write.code !== 0) {
      throw new TerminalError(`could not write a temporary file on ${this.server.host}: ${this.masker.mask(write.stderr).trim().slice(0, 200)}`);
    }
    try {
      return await fn(path);
    } finally {
      // Not tied to the task's signal: the file must go even when the task was cancelled.
      await this.pool.exec(this.server, `rm -f ${path.quoted()}`, { timeoutMs: 15_000 }).catch((err: Error) => {
        this.log(`warning: could not remove ${path.value} on ${this.server.host}: ${this.masker.mask(err.message)}`);
      });
    }
  }
}
