// User backups: v-backup-user, v-list-user-backups, v-list-user-backup, v-delete-user-backup,
// v-restore-user, the queue commands v-schedule-user-backup / v-schedule-user-restore, and
// v-update-sys-queue, which runs the queued lines as HestiaCP's cron does every 5 minutes. The
// archive and the restore are in ../backup-model.ts; everything here is synchronous.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { formatLine, readObjects } from '../conf.ts';
import { E, fail, HestiaExit } from '../errors.ts';
import {
  archiveDate, BACKUP_KEYS, backupRoot, BIN, clock, diskOverLimit, dropQueued, HESTIA_LOG, localArchives, queueFile, restoreUser,
  type Selection, snapshotUser, writeArchive,
} from '../backup-model.ts';
import { appendLog, paths } from '../node.ts';
import { columnT, jsonObjects, pick, plainRows } from '../output.ts';
import { parseShellWords } from '../shell-words.ts';
import * as v from '../validate.ts';
import { Ctx } from './ctx.ts';
import type { Command } from './types.ts';
import { recount } from './users.ts';

/** is_backup_enabled: the user's BACKUPS must be an integer above 0 (`unlimited` counts as 0 in bash's -le). */
function backupEnabled(c: Ctx, user: string): number {
  const b = c.userValue(user, 'BACKUPS');
  if (!/^-?[0-9]+$/.test(b) || Number(b) <= 0) fail(E.DISABLED, 'user backup is disabled');
  return Number(b);
}

/** is_backup_scheduled: a queue line holding ` <user> ` and the word. */
function notScheduled(c: Ctx, user: string, kind: 'backup' | 'restore'): void {
  const q = queueFile(c.dir);
  if (!existsSync(q)) return;
  if (readFileSync(q, 'utf8').split('\n').some((l) => l.includes(` ${user} `) && l.includes(kind))) fail(E.EXISTS, `${kind} is already scheduled`);
}

function backupConf(c: Ctx, user: string): string {
  const f = c.file(user, 'backup');
  if (!existsSync(f)) writeFileSync(f, '');
  return f;
}

function setUserBackups(c: Ctx, user: string): void {
  const n = readFileSync(backupConf(c, user), 'utf8').split('\n').filter((l) => l.includes('BACKUP')).length;
  const o = c.userConf(user);
  o.set('U_BACKUPS', String(n));
  c.writeUserConf(user, o);
}

const backupUser: Command = {
  logs: true,
  run(c) {
    c.checkArgs(1, 'USER [NOTIFY]');
    const user = c.arg(1);
    if (user) v.user(user);
    c.systemEnabled('BACKUP_SYSTEM');
    c.userValid(user);
    if (c.conf('POLICY_BACKUP_SUSPENDED_USERS') !== 'yes') c.userUnsuspended(user);
    const keep = backupEnabled(c, user);
    c.demoMode();
    const started = Date.now();
    const root = backupRoot(c);
    const out: string[] = [];
    const say = (l: string) => out.push(l);
    const snap = snapshotUser(c, user, say);
    const stamp = archiveDate();
    const name = `${user}.${stamp}.tar`;
    say('\n-- SUMMARY --');
    // Only the local target is emulated; TYPE still records BACKUP_SYSTEM as configured.
    rmSync(join(root, name), { force: true });
    const existing = localArchives(root, user);
    // `echo "$list" | wc -l` counts an empty list as 1, so the arithmetic is the script's.
    const count = Math.max(1, existing.length);
    if (keep <= count) {
      for (const old of existing.slice(0, count - keep + 1)) {
        say(`${clock()} Rotated: ${old.slice(user.length + 1, -4)}`);
        rmSync(join(root, old), { force: true });
      }
    }
    if (diskOverLimit(c)) {
      rmSync(join(root, `${user}.log`), { force: true });
      dropQueued(c.dir, ` ${user} `);
      fail(E.DISK, 'Not enough dsk space');
    }
    const bytes = writeArchive(join(root, name), snap);
    say(`${clock()} Local: ${c.conf('BACKUP') || '/backup'}/${name}`);
    const size = Math.max(1, Math.ceil(bytes / 1048576));
    const minutes = Math.max(1, Math.floor((Date.now() - started) / 60000));
    say(`${clock()} Size: ${size} MB`);
    say(`${clock()} Runtime: ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`);

    const conf = backupConf(c, user);
    const kept = readFileSync(conf, 'utf8').split('\n').filter((l) => l !== '' && !l.includes(name));
    const line = formatLine(new Map([
      ['BACKUP', name], ['TYPE', c.conf('BACKUP_SYSTEM')], ['SIZE', String(size)], ['WEB', snap.web.join(',')], ['DNS', snap.dns.join(',')],
      ['MAIL', snap.mail.join(',')], ['DB', snap.db.join(',')], ['CRON', snap.cron], ['UDIR', snap.udir.join(',')], ['RUNTIME', String(minutes)],
      ['TIME', c.stamp.time], ['DATE', c.stamp.date],
    ]));
    // tail -n $BACKUPS: the listing keeps the newest BACKUPS lines.
    writeFileSync(conf, [...kept, line].slice(-keep).map((l) => l + '\n').join(''), { mode: 0o660 });
    dropQueued(c.dir, `v-backup-user ${user} `);
    setUserBackups(c, user);
    const text = out.join('\n') + '\n';
    writeFileSync(join(root, `${user}.log`), text, { mode: 0o660 });
    return text;
  },
};

const deleteUserBackup: Command = {
  logs: true,
  run(c) {
    c.checkArgs(2, 'USER BACKUP');
    const [user, backup] = [c.arg(1), c.arg(2)];
    if (user) v.user(user); if (backup) v.object(backup, 'backup');
    c.systemEnabled('BACKUP_SYSTEM');
    c.userValid(user);
    const b = c.objectValid(user, 'backup', 'BACKUP', backup);
    c.demoMode();
    if ((b.get('TYPE') ?? '').includes('local')) rmSync(join(backupRoot(c), backup), { force: true });
    c.writeObjects(user, 'backup', c.objects(user, 'backup').filter((o) => o.get('BACKUP') !== backup));
    setUserBackups(c, user);
    return '';
  },
};

const listUserBackups: Command = {
  run(c) {
    c.checkArgs(1, 'USER [FORMAT]');
    const user = c.arg(1);
    const format = c.args.length >= 2 ? c.arg(2) : 'shell';
    if (user) v.user(user);
    c.userValid(user);
    const objs = readObjects(backupConf(c, user));
    const g = (o: Map<string, string>, k: string) => o.get(k) ?? '';
    switch (format) {
      case 'json': return jsonObjects(objs.map((o) => [g(o, 'BACKUP'), pick(o, [...BACKUP_KEYS])]));
      // The plain and csv listings leave DB out, as the script does.
      case 'plain': return plainRows(objs.map((o) => ['BACKUP', 'TYPE', 'SIZE', 'WEB', 'DNS', 'MAIL', 'CRON', 'UDIR', 'RUNTIME', 'TIME', 'DATE'].map((k) => g(o, k))));
      case 'csv': return 'BACKUP,TYPE,SIZE,WEB,DNS,MAIL,CRON,UDIR,RUNTIME,TIME,DATE\n' + objs.map((o) =>
        `${g(o, 'BACKUP')},${g(o, 'TYPE')},${g(o, 'SIZE')},"${g(o, 'WEB')}","${g(o, 'DNS')}","${g(o, 'MAIL')}","${g(o, 'CRON')}","${g(o, 'UDIR')}",${g(o, 'RUNTIME')},${g(o, 'TIME')},${g(o, 'DATE')}\n`).join('');
      case 'shell': return columnT(['BACKUP   TYPE   SIZE  TIME  DATE', '------   ----   ---   ----  ----',
        ...objs.map((o) => ['BACKUP', 'TYPE', 'SIZE', 'RUNTIME', 'DATE'].map((k) => g(o, k)).join(' '))]);
      default: return '';
    }
  },
};

const listUserBackup: Command = {
  run(c) {
    c.checkArgs(2, 'USER BACKUP [FORMAT]');
    const [user, backup] = [c.arg(1), c.arg(2)];
    const format = c.args.length >= 3 ? c.arg(3) : 'shell';
    if (user) v.user(user); if (backup) v.object(backup, 'backup');
    c.userValid(user);
    const o = c.objectValid(user, 'backup', 'BACKUP', backup);
    const g = (k: string) => o.get(k) ?? '';
    switch (format) {
      case 'json': return jsonObjects([[backup, pick(o, [...BACKUP_KEYS])]]);
      case 'plain': return plainRows([['BACKUP', 'TYPE', 'SIZE', 'WEB', 'DNS', 'MAIL', 'DB', 'CRON', 'UDIR', 'RUNTIME', 'TIME', 'DATE'].map(g)]);
      case 'csv': return 'BACKUP,TYPE,SIZE,WEB,DNS,MAIL,DB,CRON,UDIR,RUNTIME,TIME,DATE\n' +
        `${g('BACKUP')},${g('TYPE')},${g('SIZE')},"${g('WEB')}","${g('DNS')}","${g('MAIL')}","${g('DB')}","${g('CRON')}","${g('UDIR')}",${g('RUNTIME')},${g('TIME')},${g('DATE')}\n`;
      case 'shell': return [['BACKUP:         ', g('BACKUP')], ['TYPE:           ', g('TYPE')], ['SIZE:           ', `${g('SIZE')} mb`],
        ['RUNTIME:        ', `${g('RUNTIME')} min`], ['WEB:            ', g('WEB').replace(/,/g, ' ')], ['DNS:            ', g('DNS').replace(/,/g, ' ')],
        ['MAIL:           ', g('MAIL').replace(/,/g, ' ')], ['DB:             ', g('DB').replace(/,/g, ' ')], ['CRON:           ', g('CRON')],
        ['UDIR:           ', g('UDIR').replace(/,/g, ' ')], ['TIME:           ', g('TIME')], ['DATE:           ', g('DATE')]].map(([a, b]) => `${a}${b}\n`).join('');
      default: return '';
    }
  },
};

const restoreUserCmd: Command = {
  logs: true,
  run(c) {
    c.checkArgs(2, 'USER BACKUP [WEB] [DNS] [MAIL] [DB] [CRON] [UDIR] [NOTIFY]');
    const [user, backup] = [c.arg(1), c.arg(2)];
    if (user) v.user(user); if (backup) v.object(backup, 'backup');
    // No BACKUP_SYSTEM check: a restore works with backups switched off.
    const root = backupRoot(c);
    const file = join(root, backup);
    if (!existsSync(file)) fail(E.NOTEXIST, `backup file ${backup} doesn't exist in '${c.conf('BACKUP') || '/backup'}' folder`);
    if (c.userExists(user)) c.userUnsuspended(user);
    if (diskOverLimit(c)) { dropQueued(c.dir, ` ${user} `); fail(E.DISK, 'Not enough disk space'); }
    const sel: Selection = { web: c.arg(3), dns: c.arg(4), mail: c.arg(5), db: c.arg(6), cron: c.arg(7), udir: c.arg(8) };
    const out: string[] = [];
    try {
      restoreUser(c, user, readFileSync(file), sel, (l) => out.push(l));
    } catch (e) {
      // A failed unpack takes every queued line of the user with it (`sed -i "/ $user /d"`).
      if (e instanceof HestiaExit && e.code === E.PARSING) dropQueued(c.dir, ` ${user} `);
      throw e;
    }
    dropQueued(c.dir, `v-restore-user ${user} `);
    recount(c, user);
    if (user !== c.rootUser && c.userExists(c.rootUser)) recount(c, c.rootUser);
    return out.join('\n') + '\n';
  },
};

const scheduleUserBackup: Command = {
  logs: true,
  run(c) {
    c.checkArgs(1, 'USER');
    const user = c.arg(1);
    if (user) v.user(user);
    c.systemEnabled('BACKUP_SYSTEM');
    c.userValid(user);
    backupEnabled(c, user);
    notScheduled(c, user, 'backup');
    c.demoMode();
    appendFileSync(queueFile(c.dir), `${BIN}/v-backup-user ${user} yes >> ${HESTIA_LOG}/backup.log 2>&1\n`);
    return '';
  },
};

/** bash's printf %q for the words a queue line is made of. */
export function bashQuote(s: string): string {
  if (s === '') return "''";
  return s.replace(/[^A-Za-z0-9_/.,:=@%+-]/g, (ch) => `\\${ch}`);
}

const scheduleUserRestore: Command = {
  logs: true,
  run(c) {
    c.checkArgs(2, 'USER BACKUP [WEB] [DNS] [MAIL] [DB] [CRON] [UDIR]');
    const [user, backup] = [c.arg(1), c.arg(2)];
    if (user) v.user(user); if (backup) v.object(backup, 'backup');
    c.systemEnabled('BACKUP_SYSTEM');
    c.userValid(user);
    c.objectValid(user, 'backup', 'BACKUP', backup);
    backupEnabled(c, user);
    notScheduled(c, user, 'restore');
    c.demoMode();
    const words = [`${BIN}/v-restore-user`, user, backup, c.arg(3), c.arg(4), c.arg(5), c.arg(6), c.arg(7), c.arg(8)].map(bashQuote);
    appendFileSync(queueFile(c.dir), `nice -n 19 ionice -c 3 ${words.join(' ')} yes >> ${bashQuote(`${HESTIA_LOG}/restore.log`)} 2>&1\n`);
    return '';
  },
};

const QUEUES = ['restart', 'webstats', 'backup', 'disk', 'daily', 'traffic', 'dns-cluster', 'letsencrypt'];

/**
 * Runs one queued command of this file's table with runHestia's conventions (system.log on success,
 * error.log on failure). Not runHestia itself: index.ts imports this module, and importing it back
 * would make a cycle.
 */
function runQueued(dir: string, script: string, args: string[]): { code: number; stdout: string } {
  const cmd = backupCommands[script];
  if (!cmd) return { code: 127, stdout: '' };
  const c = new Ctx(dir, script, args, '', {});
  c.hide = cmd.hide ?? 0;
  const prefix = () => `${c.stamp.date} ${c.stamp.time} ${script} ${args.length ? ' ' + c.logArgs() : ''}`;
  try {
    const stdout = cmd.run(c);
    if (cmd.logs) appendLog(paths.systemLog(dir), prefix());
    return { code: E.OK, stdout };
  } catch (e) {
    if (!(e instanceof HestiaExit)) throw e;
    if (e.log) appendLog(paths.errorLog(dir), `${prefix()} [Error ${e.code}]`);
    return { code: e.code, stdout: e.stdout };
  }
}

/** `bash $HESTIA/data/queue/<q>.pipe > /dev/null 2>&1`: every line once; each command removes its own line when it succeeds. */
function drainQueue(dir: string, queue: string): number {
  const pipe = join(dir, 'data', 'queue', `${queue}.pipe`);
  if (!existsSync(pipe)) return 0;
  let code = 0;
  for (const raw of readFileSync(pipe, 'utf8').split('\n').filter(Boolean)) {
    const m = /^(?:nice -n 19 ionice -c 3 )?(.*?) >> (\S+) 2>&1$/.exec(raw);
    let argv: string[];
    try { argv = parseShellWords(m ? m[1]! : raw); } catch { code = 2; continue; }
    const [prog, ...args] = argv;
    const r = runQueued(dir, basename(prog ?? ''), args);
    code = r.code;
    const log = m ? parseShellWords(m[2]!)[0]! : '';
    if (log.startsWith(`${HESTIA_LOG}/`)) {
      mkdirSync(join(dir, 'log'), { recursive: true });
      appendFileSync(join(dir, 'log', log.slice(HESTIA_LOG.length + 1)), r.stdout);
    }
  }
  return code;
}

const updateSysQueue: Command = {
  run(c) {
    c.checkArgs(1, 'QUEUE');
    const queue = c.arg(1);
    if (!QUEUES.includes(queue)) throw new HestiaExit(E.ARGS, `Usage: ${c.script} QUEUE\n`);
    // The script ends with a bare `exit`: the status of the queue's last line.
    const code = drainQueue(c.dir, queue);
    if (code !== 0) throw new HestiaExit(code, '', false);
    return '';
  },
};

/** Test helper: what hestiaweb's crontab does every 5 minutes, `v-update-sys-queue backup`. Returns the last line's status. */
export function drainBackupQueue(dir: string): number { return drainQueue(dir, 'backup'); }

export const backupCommands: Record<string, Command> = {
  'v-backup-user': backupUser, 'v-delete-user-backup': deleteUserBackup, 'v-list-user-backups': listUserBackups,
  'v-list-user-backup': listUserBackup, 'v-restore-user': restoreUserCmd, 'v-schedule-user-backup': scheduleUserBackup,
  'v-schedule-user-restore': scheduleUserRestore, 'v-update-sys-queue': updateSysQueue,
};
