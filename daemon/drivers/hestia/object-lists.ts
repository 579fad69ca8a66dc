// Typed views of HestiaCP's listings of a customer's databases, FTP accounts and cron jobs, read
// from the parsed JSON (json.ts). Fields HestiaCP leaves out (MD5, FTP_MD5) never appear here.
import { HestiaParseError, type HestiaList, type HestiaObject } from './json.ts';

export interface HestiaDatabase {
  /** Full name, `<user>_<name>`: what the other database commands take. */
  name: string;
  /** Full user name, `<user>_<dbuser>`. */
  dbUser: string;
  host: string;
  type: string;
  charset: string;
  diskMb: number;
  suspended: boolean;
  /** `YYYY-MM-DD HH:MM:SS` as HestiaCP records it (server time). */
  created: string;
}

export interface HestiaFtpAccount {
  /** Full system user name, `<user>_<name>`. */
  user: string;
  /** Directory below the domain's directory, without a leading "/"; '' = the domain directory. */
  path: string;
}

export interface HestiaCronJob {
  id: number;
  min: string;
  hour: string;
  day: string;
  month: string;
  wday: string;
  command: string;
  suspended: boolean;
  created: string;
}

const need = (command: string, key: string, o: HestiaObject, field: string): string => {
  const v = o[field];
  if (v === undefined) throw new HestiaParseError(command, `entry "${key.slice(0, 60)}" has no ${field}`);
  return v;
};

export function parseDatabases(list: HestiaList): HestiaDatabase[] {
  const cmd = 'v-list-databases';
  return Object.entries(list).map(([key, o]) => ({
    name: o.DATABASE || key, dbUser: need(cmd, key, o, 'DBUSER'), host: o.HOST ?? '', type: need(cmd, key, o, 'TYPE'),
    charset: o.CHARSET ?? '', diskMb: Number(o.U_DISK) || 0, suspended: o.SUSPENDED === 'yes', created: `${o.DATE ?? ''} ${o.TIME ?? ''}`.trim(),
  }));
}

/**
 * FTP_USER and FTP_PATH of one web domain are parallel colon lists. HestiaCP stores the first
 * account's path as it was given and later ones with a leading "/"; both come back without it.
 */
export function parseFtpAccounts(web: HestiaObject): HestiaFtpAccount[] {
  const users = (web.FTP_USER ?? '').split(':');
  const paths = (web.FTP_PATH ?? '').split(':');
  return users.map((user, i) => ({ user, path: (paths[i] ?? '').replace(/^\/+|\/+$/g, '') })).filter((a) => a.user !== '');
}

export function parseCronJobs(list: HestiaList): HestiaCronJob[] {
  const cmd = 'v-list-cron-jobs';
  return Object.entries(list).map(([key, o]) => {
    const id = Number(o.JOB || key);
    if (!Number.isInteger(id) || id < 1) throw new HestiaParseError(cmd, `entry "${key.slice(0, 60)}" has no job number`);
    return {
      id, min: need(cmd, key, o, 'MIN'), hour: need(cmd, key, o, 'HOUR'), day: need(cmd, key, o, 'DAY'), month: need(cmd, key, o, 'MONTH'),
      wday: need(cmd, key, o, 'WDAY'), command: need(cmd, key, o, 'CMD'), suspended: o.SUSPENDED === 'yes', created: `${o.DATE ?? ''} ${o.TIME ?? ''}`.trim(),
    };
  });
}
