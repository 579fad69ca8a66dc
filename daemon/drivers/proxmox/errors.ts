// Proxmox failures, classified for the task engine (reference §1, §3). An HTTP answer, a task's
// error exit status or a connection failure becomes a ProxmoxTerminalError or a
// ProxmoxRetryableError; both carry what Proxmox said (its message with the trailing newline
// trimmed, the per-parameter `errors` map) so a handler can recognise "the VM is gone", "locked"
// or "already exists" with the predicates below instead of matching text itself.
import { RetryableError, TerminalError } from '../../common/errors.ts';

/** What every Proxmox error carries. `status` is null for connection and task failures. */
export interface ProxmoxErrorInfo {
  readonly status: number | null;
  /** Proxmox's own message (status line or body `message`, or a task's exit status), trimmed. */
  readonly proxmoxMessage: string;
  /** Per-parameter messages of a 400 (e.g. `{ vmid: 'VM 105 already exists' }`); {} when none. */
  readonly errors: Readonly<Record<string, string>>;
  /** `GET /nodes/pve1/qemu/101/config`, or `task UPID:…` for a task failure. */
  readonly call: string;
  /** The task's UPID when a task ended with an error. */
  readonly upid?: string;
  /** The task log lines read before it failed (task failures only). */
  readonly taskLog?: readonly string[];
}

interface ErrorFields {
  status: number | null;
  proxmoxMessage: string;
  errors?: Record<string, string>;
  call: string;
  upid?: string;
  taskLog?: string[];
  cause?: unknown;
}

/** The fields both error classes carry, from what the caller knows. */
function errorInfo(f: ErrorFields): ProxmoxErrorInfo & { name: string } {
  return {
    name: 'ProxmoxError', status: f.status, proxmoxMessage: f.proxmoxMessage, errors: f.errors ?? {}, call: f.call,
    ...(f.upid !== undefined ? { upid: f.upid } : {}), ...(f.taskLog !== undefined ? { taskLog: f.taskLog } : {}),
  };
}

// Declaration merging gives each class ProxmoxErrorInfo's fields; the constructor sets them (Object.assign).
export interface ProxmoxTerminalError extends ProxmoxErrorInfo {}
export class ProxmoxTerminalError extends TerminalError {
  constructor(message: string, f: ErrorFields) {
    super(message, { cause: f.cause });
    Object.assign(this, errorInfo(f));
  }
}

export interface ProxmoxRetryableError extends ProxmoxErrorInfo {}
export class ProxmoxRetryableError extends RetryableError {
  constructor(message: string, f: ErrorFields) {
    super(message, { cause: f.cause });
    Object.assign(this, errorInfo(f));
  }
}

/**
 * Either kind of Proxmox error. `err instanceof ProxmoxApiError` is true for both classes (they
 * cannot share a base: one is a RetryableError, the other a TerminalError).
 */
export type ProxmoxApiError = ProxmoxTerminalError | ProxmoxRetryableError;
export const ProxmoxApiError: { [Symbol.hasInstance](value: unknown): value is ProxmoxApiError } = {
  [Symbol.hasInstance](value: unknown): value is ProxmoxApiError {
    return value instanceof ProxmoxTerminalError || value instanceof ProxmoxRetryableError;
  },
};

/** The server's certificate is not the pinned one: someone must look, never retried. */
export class ProxmoxFingerprintError extends TerminalError {
  constructor(readonly host: string, readonly port: number, readonly expected: string, readonly actual: string) {
    super(
      `the TLS certificate of Proxmox ${host}:${port} has SHA-256 fingerprint ${actual}, but ${expected} is pinned; ` +
        'nothing was sent. If the certificate was renewed on purpose, check the new fingerprint on the node ' +
        '(pvenode cert info, or the GUI: node › System › Certificates) and confirm it again in the cluster settings',
    );
    this.name = 'ProxmoxFingerprintError';
  }
}

// Runtime failures that wait on something another task holds: a retry after a back-off succeeds.
const LOCK = /\bVM is locked\b|can't lock file|got timeout|\bis locked\b|vm locked/i;
// Known 500s a retry cannot fix.
const PERMANENT_500 = [
  /already exists/i,
  /protection mode enabled/i,
  /not allowed for linked clones/i,
  /Linked clone feature is not supported/i,
  /can't clone VM to node/i,
  /shrinking disks is not supported/i,
  /cannot remove protected/i,
  /no options specified/i,
  /can't migrate running VM without --online/i,
  /is running - destroy failed/i,
];

/** The message of a 400 with its parameter errors appended: `Parameter verification failed. (sshkeys: invalid format …)`. */
export function withParamErrors(message: string, errors: Record<string, string>): string {
  const parts = Object.entries(errors).map(([k, v]) => `${k}: ${v.replace(/\n+$/, '')}`);
  return parts.length ? `${message} (${parts.join('; ')})` : message;
}

/** An HTTP error answer → the classified error (reference §1: 400/401/403/501 terminal, 5xx and 595 retried). */
export function httpError(status: number, proxmoxMessage: string, errors: Record<string, string>, call: string, hint = ''): ProxmoxApiError {
  const text = withParamErrors(proxmoxMessage, errors);
  const message = `Proxmox ${call} failed with ${status}: ${text}${hint}`;
  const f: ErrorFields = { status, proxmoxMessage, errors, call };
  if (status === 500) {
    // A missing VM is permanent for this path: the caller re-locates it (findVm) or treats it as gone.
    if (MISSING_VM.test(proxmoxMessage)) return new ProxmoxTerminalError(message, f);
    if (LOCK.test(proxmoxMessage)) return new ProxmoxRetryableError(message, f);
    if (PERMANENT_500.some((re) => re.test(proxmoxMessage))) return new ProxmoxTerminalError(message, f);
    return new ProxmoxRetryableError(message, f);
  }
  // 501: the path or method does not exist on this version; no retry will add it.
  if (status === 501) return new ProxmoxTerminalError(message, f);
  if (status >= 500 || status === 408 || status === 429) return new ProxmoxRetryableError(message, f);
  return new ProxmoxTerminalError(message, f);
}

/** A task that ended with an error exit status: lock and timeout failures are retried, the rest is terminal. */
export function taskError(upid: string, exitstatus: string, taskLog: string[]): ProxmoxApiError {
  const f: ErrorFields = { status: null, proxmoxMessage: exitstatus, call: `task ${upid}`, upid, taskLog };
  const message = `Proxmox task ${upid} failed: ${exitstatus}`;
  if (LOCK.test(exitstatus) || /unexpected status|interrupted by signal/i.test(exitstatus)) return new ProxmoxRetryableError(message, f);
  return new ProxmoxTerminalError(message, f);
}

const MISSING_VM = /Configuration file '[^']*' does not exist|VM \d+ does not exist|unable to find configuration file for VM/i;

function info(err: unknown): ProxmoxErrorInfo | null {
  return err instanceof ProxmoxTerminalError || err instanceof ProxmoxRetryableError ? err : null;
}

/** The VM is not on the node the call named (or nowhere): 500 "Configuration file … does not exist". */
export function isMissingVm(err: unknown): boolean {
  const e = info(err);
  return !!e && MISSING_VM.test(e.proxmoxMessage);
}

/** A VM lock or a file lock held by another task ("VM is locked (clone)", "can't lock file … got timeout"). */
export function isLocked(err: unknown): boolean {
  const e = info(err);
  return !!e && (/\bVM is locked\b|can't lock file|vm locked/i.test(e.proxmoxMessage) || Object.values(e.errors).some((v) => /is locked/i.test(v)));
}

/** The thing to create exists: a VMID (nextid, clone's "config file already exists"), an IPSet or one of its addresses. */
export function isAlreadyExists(err: unknown): boolean {
  const e = info(err);
  return !!e && (/already exists/i.test(e.proxmoxMessage) || Object.values(e.errors).some((v) => /already exists/i.test(v)));
}

/** start on a running VM: the task fails with "VM 101 already running". */
export function isAlreadyRunning(err: unknown): boolean {
  const e = info(err);
  return !!e && /already running/i.test(e.proxmoxMessage);
}

/** The error names this parameter in its `errors` map (400 "Parameter verification failed."). */
export function paramError(err: unknown, param: string): string | null {
  return info(err)?.errors[param] ?? null;
}
