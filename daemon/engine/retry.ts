// Retry policy: delay after the n-th failed attempt is min(cap, base·2^(n−1)) ± jitter.
export interface RetryPolicy {
  /** Total attempts allowed, the first included; 0 means retry without limit. */
  maxAttempts: number;
  baseMs: number;
  capMs: number;
  /** Fraction of the delay added or removed at random, 0 to 1. */
  jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseMs: 30_000, capMs: 3_600_000, jitter: 0.2 };

/** Delay before the next attempt, after `failedAttempts` attempts have failed (1 after the first failure). */
export function retryDelayMs(policy: RetryPolicy, failedAttempts: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, failedAttempts - 1);
  const raw = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(exponent, 1023));
  const jitter = raw * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(raw + jitter));
}

/** The delay bounds retryDelayMs can return, for checks and for display. */
export function retryDelayRange(policy: RetryPolicy, failedAttempts: number): [number, number] {
  return [retryDelayMs(policy, failedAttempts, () => 0), retryDelayMs(policy, failedAttempts, () => 1)];
}

export function hasAttemptsLeft(policy: RetryPolicy, attemptsMade: number): boolean {
  return policy.maxAttempts === 0 || attemptsMade < policy.maxAttempts;
}

export function checkPolicy(p: RetryPolicy, where: string): RetryPolicy {
  const bad = (field: string, why: string) => new Error(`${where}: retry policy ${field} ${why}`);
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 0) throw bad('maxAttempts', `must be a whole number ≥ 0 (0 = unlimited), got ${p.maxAttempts}`);
  if (!Number.isFinite(p.baseMs) || p.baseMs < 0) throw bad('baseMs', `must be ≥ 0, got ${p.baseMs}`);
  if (!Number.isFinite(p.capMs) || p.capMs < p.baseMs) throw bad('capMs', `must be ≥ baseMs, got ${p.capMs}`);
  if (!(p.jitter >= 0 && p.jitter <= 1)) throw bad('jitter', `must be between 0 and 1, got ${p.jitter}`);
  return p;
}
