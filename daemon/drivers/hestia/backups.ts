// HestiaCP user backups as the driver sees them: the parsed v-list-user-backups entry, and
// v-restore-user's six part selectors built from typed choices (reference §8.7). Pure: no I/O.
import { Arg, ArgumentError } from './args.ts';
import { HestiaParseError, type HestiaList } from './json.ts';

export interface BackupInfo {
  /** The archive's file name in the node's backup folder, e.g. `alice.2026-01-31_05-10-00.tar`. */
  archive: string;
  /** Where it was stored (BACKUP_SYSTEM at the time: local, ftp, sftp, b2, rclone). */
  types: string[];
  sizeMb: number;
  web: string[];
  dns: string[];
  mail: string[];
  /** Full database names (`<user>_<db>`). */
  db: string[];
  /**
   * HestiaCP writes the job count here only when /var/spool/cron/<user> exists, which is never the
   * case on Debian/Ubuntu (crontabs/ there): empty does not mean the jobs were left out.
   */
  cron: string;
  /** Entries of the home directory other than web, mail, conf, dns and tmp. */
  udir: string[];
  runtimeMinutes: number;
  /** The node's local date and time of the end of the run (`YYYY-MM-DD`, `HH:MM:SS`). */
  date: string;
  time: string;
}

const list = (v: string | undefined) => (v ?? '').split(',').filter((x) => x !== '');

/** v-list-user-backups json → entries in backup.conf order (oldest first). */
export function parseBackupList(entries: HestiaList, command = 'v-list-user-backups'): BackupInfo[] {
  return Object.entries(entries).map(([archive, o]) => {
    const size = Number(o.SIZE);
    const runtime = Number(o.RUNTIME);
    if (!/\.tar$/.test(archive) || !Number.isFinite(size) || !/^\d{4}-\d{2}-\d{2}$/.test(o.DATE ?? '')) {
      throw new HestiaParseError(command, `unexpected backup entry "${archive.slice(0, 80)}"`);
    }
    return {
      archive, types: list(o.TYPE), sizeMb: size, web: list(o.WEB), dns: list(o.DNS), mail: list(o.MAIL), db: list(o.DB),
      cron: o.CRON ?? '', udir: list(o.UDIR), runtimeMinutes: Number.isFinite(runtime) ? runtime : 0, date: o.DATE ?? '', time: o.TIME ?? '',
    };
  });
}

/** One part of a restore: everything in the archive, nothing, or the named items. */
export type RestorePart = 'all' | 'none' | readonly string[];

export interface RestoreParts {
  /** Web domains (their files and, when missing, their settings). */
  web?: RestorePart;
  /** DNS zones: the records are replaced by the archived ones. */
  dns?: RestorePart;
  /** Mail domains: the accounts list is replaced by the archived one, mailboxes unpacked over what is there. */
  mail?: RestorePart;
  /** Databases by full name (`<user>_<db>`). */
  db?: RestorePart;
  /** Cron jobs: HestiaCP replaces the whole cron.conf whatever ids are named, so this is all or none. */
  cron?: 'all' | 'none';
  /** Home directory entries (e.g. `documents`, `.ssh`). */
  udir?: RestorePart;
}

const PARTS = ['web', 'dns', 'mail', 'db', 'cron', 'udir'] as const;

// Each item is matched by HestiaCP as an `egrep -x` pattern: only names without pattern characters
// other than "." are let through, and "." matching any character is harmless for these names.
const ITEM: Record<(typeof PARTS)[number], (name: string, v: string) => string> = {
  web: (n, v) => Arg.of('domain', n, v).value,
  dns: (n, v) => Arg.of('domain', n, v).value,
  mail: (n, v) => Arg.of('domain', n, v).value,
  db: (n, v) => { if (!/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$/.test(v)) throw new ArgumentError(n, 'database names are letters, digits, "_" and "-" (full name, <user>_<db>)'); return v; },
  cron: (n) => { throw new ArgumentError(n, 'cron is "all" or "none"'); },
  udir: (n, v) => {
    if (!/^[a-zA-Z0-9._][-._a-zA-Z0-9]{0,254}$/.test(v) || v === '.' || v === '..') throw new ArgumentError(n, 'home directory entries are names of letters, digits, ".", "-" and "_" (no "/")');
    if (['web', 'mail', 'conf', 'dns', 'tmp'].includes(v)) throw new ArgumentError(n, `"${v}" is not in the user directories part (use its own part)`);
    return v;
  },
};

/**
 * The WEB DNS MAIL DB CRON UDIR arguments of v-restore-user / v-schedule-user-restore: `*` for
 * all, `no` for none (also for a part left out), a comma list otherwise. An empty list is refused:
 * HestiaCP reads an empty selector as "all".
 */
export function restoreSelectors(parts: RestoreParts): Arg[] {
  const args = PARTS.map((p) => {
    const name = p.toUpperCase();
    const v = parts[p] ?? 'none';
    if (v === 'all') return Arg.of('backupSelector', name, '*');
    if (v === 'none') return Arg.of('backupSelector', name, 'no');
    if (!Array.isArray(v)) throw new ArgumentError(name, 'must be "all", "none" or a list of names');
    if (v.length === 0) throw new ArgumentError(name, 'an empty list would restore everything in HestiaCP; pass "none" or "all"');
    return Arg.of('backupSelector', name, [...new Set(v.map((x) => ITEM[p](name, String(x))))].join(','));
  });
  if (args.every((a) => a.value === 'no')) throw new ArgumentError('PARTS', 'select at least one part to restore');
  return args;
}

/** The archive v-backup-user just wrote, from its progress log (`… Local: /backup/<name>`); null if the line is missing. */
export function archiveFromLog(stdout: string): string | null {
  const m = /Local: \S*\/([^/\s]+\.tar)\s*$/m.exec(stdout);
  return m ? m[1]! : null;
}
