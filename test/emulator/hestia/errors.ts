// Hestia's exit codes (func/main.sh) and the exception that carries check_result's verdict.
export const E = {
  OK: 0, ARGS: 1, INVALID: 2, NOTEXIST: 3, EXISTS: 4, SUSPENDED: 5, UNSUSPENDED: 6, INUSE: 7,
  LIMIT: 8, PASSWORD: 9, FORBIDEN: 10, DISABLED: 11, PARSING: 12, DISK: 13, LA: 14, CONNECT: 15,
  FTP: 16, DB: 17, RRD: 18, UPDATE: 19, RESTART: 20,
} as const;

/**
 * A command stops: `stdout` is what it printed (check_result prints `Error: MSG`; a few scripts
 * echo their own text), `code` the exit status. `log` = whether error.log gets a line.
 */
export class HestiaExit extends Error {
  constructor(public code: number, public stdout: string, public log = true, public stderr = '') { super(stdout.trim()); }
}

/** check_result CODE MSG: `Error: MSG` on stdout, error.log line, exit CODE. */
export function fail(code: number, msg: string): never {
  throw new HestiaExit(code, `Error: ${msg}\n`);
}
