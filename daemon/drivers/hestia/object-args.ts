// Argument rules for a hosting customer's objects on HestiaCP: database and database-user names,
// FTP account names and paths, cron schedules. Each is checked here (before anything is sent) and
// then carried by an Arg kind whose own rule it also passes. Stricter than HestiaCP where its
// rule lets through what would break later (a name with "-" on pgsql, a path leaving the domain).
import { Arg, ArgumentError } from './args.ts';

const fail = (name: string, rule: string): never => { throw new ArgumentError(name, rule); };

/** MySQL's limits on the full names HestiaCP makes (`<user>_<name>`): database < 64, user ≤ 32. */
export const MAX_DATABASE = 63;
export const MAX_DB_USER = 32;

/**
 * A database or database-user name as v-add-database takes it (without the `<user>_` prefix):
 * letters, digits and "_", the full name within MySQL's limit.
 */
export function dbNameArg(name: string, user: string, raw: unknown, max: number): Arg {
  if (typeof raw !== 'string' || raw === '') fail(name, 'must be a non-empty string');
  const v = raw as string;
  if (!/^[A-Za-z0-9]([A-Za-z0-9_]*[A-Za-z0-9])?$/.test(v)) fail(name, 'names are letters, digits and "_", starting and ending with a letter or digit');
  if (user.length + 1 + v.length > max) fail(name, `"${user}_${v}" would be longer than ${max} characters`);
  return Arg.of('package', name, v);
}

/** A database's full name as HestiaCP lists it (`<user>_<name>`), for the commands that take that. */
export function fullDbNameArg(name: string, user: string, raw: unknown): Arg {
  if (typeof raw !== 'string' || !raw.startsWith(`${user}_`)) fail(name, `must be the full name "${user}_<name>" as listed`);
  dbNameArg(name, user, (raw as string).slice(user.length + 1), MAX_DATABASE);
  return Arg.of('package', name, raw);
}

export const DB_TYPES = ['mysql', 'pgsql'] as const;
export type DbType = (typeof DB_TYPES)[number];

/** An FTP account's own part: HestiaCP names the system user `<user>_<name>`, ≤ 30 characters in all. */
export function ftpNameArg(name: string, user: string, raw: unknown): Arg {
  if (typeof raw !== 'string' || raw === '') fail(name, 'must be a non-empty string');
  const v = raw as string;
  if (!/^[A-Za-z0-9]([A-Za-z0-9_]*[A-Za-z0-9])?$/.test(v)) fail(name, 'FTP names are letters, digits and "_", starting and ending with a letter or digit');
  if (user.length + 1 + v.length > 30) fail(name, `"${user}_${v}" would be longer than 30 characters`);
  return Arg.of('user', name, v);
}

/** An FTP account's full system name (`<user>_<name>`), as v-delete/-change-web-domain-ftp* take it. */
export function fullFtpUserArg(name: string, user: string, raw: unknown): Arg {
  if (typeof raw !== 'string' || !raw.startsWith(`${user}_`)) fail(name, `must be the full name "${user}_<name>" as listed`);
  ftpNameArg(name, user, (raw as string).slice(user.length + 1));
  return Arg.of('user', name, raw);
}

/**
 * A directory below the web domain's directory (`public_html/uploads`): plain segments only, no
 * "." or ".." (HestiaCP's own test of the resolved path is a substring match that a sibling
 * directory passes).
 */
export function ftpPathArg(name: string, raw: unknown): Arg {
  if (typeof raw !== 'string' || raw === '') fail(name, 'must be a non-empty string');
  const v = (raw as string).replace(/^\/+|\/+$/g, '');
  if (v === '') fail(name, 'must name a directory below the domain directory');
  if (v.length > 200) fail(name, 'must be at most 200 characters');
  for (const seg of v.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') fail(name, 'path segments must not be empty, "." or ".."');
    if (!/^[A-Za-z0-9._-]+$/.test(seg) || seg.startsWith('-')) fail(name, 'path segments are letters, digits, ".", "_" and "-" (not first)');
  }
  return Arg.of('name', name, v);
}

export interface CronSchedule {
  /** 0-59 */ min: string;
  /** 0-23 */ hour: string;
  /** 1-31 */ day: string;
  /** 1-12 */ month: string;
  /** 0-7 (0 and 7 are Sunday) */ wday: string;
}

const CRON_RANGES: Record<keyof CronSchedule, [number, number]> = { min: [0, 59], hour: [0, 23], day: [1, 31], month: [1, 12], wday: [0, 7] };

/**
 * The five crontab fields, numbers only: `*`, `*​/n`, or a comma list of `a`, `a-b`, `a-b/n`.
 * HestiaCP's own check passes a field when any one number in it is in range (`1,99` is taken).
 */
export function cronScheduleArgs(s: CronSchedule): Arg[] {
  return (Object.keys(CRON_RANGES) as (keyof CronSchedule)[]).map((field) => {
    const name = field.toUpperCase();
    const raw = (s as unknown as Record<string, unknown>)[field];
    if (typeof raw !== 'string' || raw === '') fail(name, 'must be a non-empty string');
    const v = raw as string;
    const [lo, hi] = CRON_RANGES[field];
    const num = (x: string) => {
      if (!/^[0-9]{1,2}$/.test(x) || Number(x) < lo || Number(x) > hi) fail(name, `numbers are ${lo}-${hi}`);
      return Number(x);
    };
    // HestiaCP refuses `*/n` unless n is below the field's top.
    const step = (x: string) => { if (!/^[0-9]{1,2}$/.test(x) || Number(x) < 1 || Number(x) >= hi) fail(name, `a step is 1-${hi - 1}`); };
    if (v !== '*') {
      const star = /^\*\/(.+)$/.exec(v);
      if (star) step(star[1]!);
      else for (const item of v.split(',')) {
        const m = /^([0-9]+)(?:-([0-9]+))?(?:\/(.+))?$/.exec(item);
        if (!m) fail(name, 'use "*", "*/n" or a comma list of "a", "a-b", "a-b/n" (numbers only)');
        const a = num(m![1]!);
        if (m![2] !== undefined && num(m![2]) < a) fail(name, `range "${item}" runs backwards`);
        if (m![3] !== undefined) step(m![3]);
      }
    }
    return Arg.of('name', name, v);
  });
}

/** v-add-database's TYPE: one of the DB_SYSTEM types HestiaCP supports. */
export function dbTypeArg(name: string, raw: unknown): Arg {
  if (!(DB_TYPES as readonly unknown[]).includes(raw)) fail(name, `must be one of ${DB_TYPES.join(', ')}`);
  return Arg.of('package', name, raw);
}

/** USER DATABASE (the full name) — the head of every database command but add. */
export function dbArgs(user: string, database: string): Arg[] {
  const u = Arg.of('user', 'USER', user);
  return [u, fullDbNameArg('DATABASE', u.value, database)];
}

/** USER DOMAIN FTP_USER (the full name) — the head of every FTP command but add. */
export function ftpArgs(user: string, domain: string, ftpUser: string): Arg[] {
  const u = Arg.of('user', 'USER', user);
  return [u, Arg.of('domain', 'DOMAIN', domain), fullFtpUserArg('FTP_USER', u.value, ftpUser)];
}

/** USER JOB. */
export function cronArgs(user: string, id: number): Arg[] {
  return [Arg.of('user', 'USER', user), Arg.of('id', 'JOB', String(id))];
}

/** One alias (a host name or `*.<domain>`), not a list and not HestiaCP's "none". */
export function aliasArg(raw: unknown): Arg {
  if (typeof raw !== 'string' || raw.includes(',') || raw === 'none') fail('ALIAS', 'must be one host name (or "*.<domain>")');
  return Arg.of('aliases', 'ALIAS', raw);
}
