// What one doctor check reports (a line: ok, warn or fail, what was found, and how to fix it) and
// the time limit every check runs under, so one hung server or database cannot hang the doctor.
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  status: CheckStatus;
  /** Short name of the check, e.g. "database" or "server web1". */
  name: string;
  /** What was found, one line. */
  what: string;
  /** What to do about it (for warn and fail). */
  fix?: string;
}

export const ok = (name: string, what: string): CheckResult => ({ status: 'ok', name, what });
export const warn = (name: string, what: string, fix: string): CheckResult => ({ status: 'warn', name, what, fix });
export const fail = (name: string, what: string, fix: string): CheckResult => ({ status: 'fail', name, what, fix });
export const skip = (name: string, what: string): CheckResult => ({ status: 'skip', name, what });

export class CheckTimeout extends Error {}

/** fn's result, or a CheckTimeout after ms (fn keeps running; its own timeouts end it). */
export async function within<R>(ms: number, fn: () => Promise<R>): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CheckTimeout(`did not finish within ${Math.round(ms / 1000)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The message of whatever was thrown, on one line. */
export function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
}
