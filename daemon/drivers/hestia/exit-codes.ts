// HestiaCP exit codes (func/main.sh) and how each failure is classified (DESIGN invariant 7).
import { RetryableError, TerminalError } from '../../common/errors.ts';

export const HESTIA_CODES = {
  0: 'OK', 1: 'E_ARGS', 2: 'E_INVALID', 3: 'E_NOTEXIST', 4: 'E_EXISTS', 5: 'E_SUSPENDED',
  6: 'E_UNSUSPENDED', 7: 'E_INUSE', 8: 'E_LIMIT', 9: 'E_PASSWORD', 10: 'E_FORBIDEN', 11: 'E_DISABLED',
  12: 'E_PARSING', 13: 'E_DISK', 14: 'E_LA', 15: 'E_CONNECT', 16: 'E_FTP', 17: 'E_DB', 18: 'E_RRD',
  19: 'E_UPDATE', 20: 'E_RESTART',
} as const;
export type HestiaCodeName = (typeof HESTIA_CODES)[keyof typeof HESTIA_CODES] | 'E_UNKNOWN';

// Load average, a remote host (ACME) and a service reload are passing conditions; everything
// else (bad input, missing prerequisites, credentials, limits) will fail the same way again.
const RETRYABLE = new Set<number>([14, 15, 20]);

export function codeName(code: number): HestiaCodeName {
  return (HESTIA_CODES as Record<number, HestiaCodeName>)[code] ?? 'E_UNKNOWN';
}

export interface HestiaErrorInfo {
  /** The script's exit code. */
  readonly code: number;
  readonly codeName: HestiaCodeName;
  /** The `Error: …` (or `Usage: …`) line Hestia printed on stdout, if any. */
  readonly errorLine: string | null;
  /** The v-command's name only: its arguments may have held a secret's file path. */
  readonly command: string;
  readonly server: string;
}

function describe(i: HestiaErrorInfo): string {
  return `${i.command} on ${i.server} failed with ${i.codeName} (${i.code})${i.errorLine ? `: ${i.errorLine}` : ''}`;
}

export class HestiaTerminalError extends TerminalError implements HestiaErrorInfo {
  readonly code: number; readonly codeName: HestiaCodeName; readonly errorLine: string | null;
  readonly command: string; readonly server: string;
  constructor(info: HestiaErrorInfo) {
    super(describe(info));
    this.name = 'HestiaError';
    ({ code: this.code, codeName: this.codeName, errorLine: this.errorLine, command: this.command, server: this.server } = info);
  }
}

export class HestiaRetryableError extends RetryableError implements HestiaErrorInfo {
  readonly code: number; readonly codeName: HestiaCodeName; readonly errorLine: string | null;
  readonly command: string; readonly server: string;
  constructor(info: HestiaErrorInfo) {
    super(describe(info));
    this.name = 'HestiaError';
    ({ code: this.code, codeName: this.codeName, errorLine: this.errorLine, command: this.command, server: this.server } = info);
  }
}

/** A failed Hestia command: a TerminalError or a RetryableError, carrying Hestia's code. */
export type HestiaError = HestiaTerminalError | HestiaRetryableError;

export function isHestiaError(err: unknown): err is HestiaError {
  return err instanceof HestiaTerminalError || err instanceof HestiaRetryableError;
}

/** True when `err` is a Hestia failure with one of the given code names (e.g. E_EXISTS). */
export function hasHestiaCode(err: unknown, ...names: HestiaCodeName[]): err is HestiaError {
  return isHestiaError(err) && names.includes(err.codeName);
}

/** The `Error:` line Hestia prints on stdout (also `ERROR:` in demo mode, `Usage:` for E_ARGS). */
export function findErrorLine(stdout: string): string | null {
  const lines = stdout.split('\n').map((l) => l.trim());
  return lines.find((l) => /^(Error|ERROR):/.test(l)) ?? lines.find((l) => l.startsWith('Usage:')) ?? lines.find((l) => l !== '') ?? null;
}

export function hestiaError(code: number, stdout: string, command: string, server: string): HestiaError {
  const errorLine = findErrorLine(stdout);
  const info: HestiaErrorInfo = { code, codeName: codeName(code), errorLine: errorLine ? errorLine.slice(0, 500) : null, command, server };
  return RETRYABLE.has(code) ? new HestiaRetryableError(info) : new HestiaTerminalError(info);
}
