// The errors every layer raises, below everything else. A task failure is retryable or terminal:
// handlers and drivers throw RetryableError or TerminalError when they know; anything else is
// classified from its error code or HTTP status (DESIGN invariant 7). InputError is bad input from
// a caller (an API body, a planner's rule, a form): it names the field and changes nothing.
export type ErrorKind = 'retryable' | 'terminal';

export class RetryableError extends Error {
  readonly kind = 'retryable' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableError';
  }
}

export class TerminalError extends Error {
  readonly kind = 'terminal' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** Bad input: the field (dotted path, '' for the request as a whole), what is wrong, the HTTP status. */
export class InputError extends Error {
  constructor(readonly field: string, message: string, readonly status = 422) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'InputError';
  }
}

const RETRYABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EAI_AGAIN', 'EPIPE',
  'ECONNABORTED', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'ABORT_ERR',
]);

export function classifyError(err: unknown): ErrorKind {
  const e = err as { kind?: string; code?: string; status?: number; statusCode?: number; level?: string } | null;
  if (e?.kind === 'retryable' || e?.kind === 'terminal') return e.kind;
  if (e?.code && RETRYABLE_CODES.has(e.code)) return 'retryable';
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number') {
    if (status >= 500 || status === 429 || status === 408) return 'retryable';
    if (status >= 400) return 'terminal';
  }
  // ssh2 reports rejected credentials this way: retrying will not make them right.
  if (e?.level === 'client-authentication') return 'terminal';
  // Unknown failures are retried, bounded by the task type's maximum attempts.
  return 'retryable';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
