// Cron jobs: v-add-cron-job, v-change-cron-job, v-delete-cron-job, v-(un)suspend-cron-job,
// v-list-cron-jobs (bin/ and func/main.sh at d128cc6). cron.conf is kept sorted by JOB and the
// user's crontab is rewritten from it after every change, as sync_cron_jobs does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Obj } from '../conf.ts';
import { E, fail } from '../errors.ts';
import { paths } from '../node.ts';
import { columnT, jsonObjects, pick, plainRows } from '../output.ts';
import * as v from '../validate.ts';
import { type Ctx, objFrom } from './ctx.ts';
import type { Command } from './types.ts';

const LIST_KEYS = ['MIN', 'HOUR', 'DAY', 'MONTH', 'WDAY', 'CMD', 'JOB', 'SUSPENDED', 'TIME', 'DATE'];
const LIMITS: Record<string, number> = { min: 59, hour: 23, day: 31, month: 12, wday: 7 };

/**
 * is_cron_format_valid, as lax as it is written: `*`, `*​/n` with n below the limit, `a-b,c/n`
 * with every number within it, or any list/range in which at least one number is within it.
 */
export function cronField(value: string, name: string): void {
  if (value === '') return;
  const limit = LIMITS[name]!;
  let ok = value === '*';
  if (/^\*+\/+[0-9]/.test(value)) {
    const n = value.split('/')[1] ?? '';
    if (/^[0-9]+$/.test(n) && Number(n) < limit) ok = true;
  }
  if (/^[0-9][-|,0-9]{0,70}\/[0-9]$/.test(value)) {
    ok = !value.split(/[,\-/]/).filter(Boolean).some((x) => Number(x) > limit);
  }
  for (const x of value.split(/[,\-\s]+/)) if (/^[0-9]+$/.test(x) && Number(x) <= limit) ok = true;
  if (!ok) fail(E.INVALID, `invalid ${name} format :: ${value}`);
}

/** is_cron_command_valid_format: only a backtick or a newline is refused. */
function cronCommand(value: string): void {
  if (value.includes('`') || value.includes('\n')) fail(E.INVALID, 'Invalid cron command format');
}

function fieldsValid(c: Ctx, from: number): void {
  ['min', 'hour', 'day', 'month', 'wday'].forEach((name, i) => cronField(c.arg(from + i), name));
}

/** sort_cron_jobs (`sort -n -k 2 -t \'`: by JOB as a number) and sync_cron_jobs. */
function saveJobs(c: Ctx, user: string, jobs: Obj[]): void {
  jobs.sort((a, b) => Number(a.get('JOB')) - Number(b.get('JOB')));
  c.writeObjects(user, 'cron', jobs);
  syncCrontab(c, user);
}

/** The crontab: MAILTO (the contact when CRON_REPORTS=yes), then every unsuspended job. */
export function syncCrontab(c: Ctx, user: string): void {
  const u = c.userConf(user);
  const head = u.get('CRON_REPORTS') === 'yes'
    ? [`MAILTO=${u.get('CONTACT') ?? ''}`, 'CONTENT_TYPE="text/plain; charset=utf-8"'] : ['MAILTO=""'];
  const lines = c.objects(user, 'cron').filter((j) => j.get('SUSPENDED') === 'no')
    .map((j) => `${j.get('MIN')} ${j.get('HOUR')} ${j.get('DAY')} ${j.get('MONTH')} ${j.get('WDAY')} ${j.get('CMD')}`.replace(/%quote%/g, "'").replace(/%dots%/g, ':'));
  const file = paths.crontab(c.dir, user);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, [...head, ...lines].map((l) => l + '\n').join(''), { mode: 0o600 });
}

function jobLine(c: Ctx, job: string, first: number, cmd: string): Obj {
  const [min, hour, day, month, wday] = [0, 1, 2, 3, 4].map((i) => c.arg(first + i));
  return objFrom([['JOB', job], ['MIN', min!], ['HOUR', hour!], ['DAY', day!], ['MONTH', month!], ['WDAY', wday!],
    ['CMD', cmd.replace(/'/g, '%quote%')], ['SUSPENDED', 'no'], ['TIME', c.stamp.time], ['DATE', c.stamp.date]]);
}

const addCronJob: Command = {
  hide: 7, logs: true,
  run(c) {
    const user = c.arg(1); const cmd = c.arg(7); let job = c.arg(8); const restart = c.arg(9);
    c.checkArgs(7, 'USER MIN HOUR DAY MONTH WDAY CRON_COMMAND [JOB] [RESTART]');
    if (user) v.user(user);
    fieldsValid(c, 2);
    if (cmd) cronCommand(cmd);
    c.systemEnabled('CRON_SYSTEM');
    c.userValid(user); c.userUnsuspended(user);
    const jobs = c.objects(user, 'cron');
    c.packageFull(user, 'CRON_JOBS', jobs.length);
    // get_next_cronjob: highest JOB + 1 when none is given. The new id is not printed.
    if (job === '') job = String(Math.max(0, ...jobs.map((j) => Number(j.get('JOB')) || 0)) + 1);
    v.int(job, 'job');
    if (restart) v.restart(restart);
    if (jobs.some((j) => j.get('JOB') === job)) fail(E.EXISTS, `JOB=${job} already exists`);
    c.demoMode();
    saveJobs(c, user, [...jobs, jobLine(c, job, 2, cmd)]);
    c.bump(user, 'U_CRON_JOBS', 1);
    return '';
  },
};

const changeCronJob: Command = {
  // No HIDE here: the command is written to system.log as given.
  logs: true,
  run(c) {
    const user = c.arg(1); const job = c.arg(2); const cmd = c.arg(8);
    // check_args counts 7: a missing command is stored as CMD=''.
    c.checkArgs(7, 'USER JOB MIN HOUR DAY MONTH WDAY CRON_COMMAND');
    if (user) v.user(user);
    if (job) v.int(job, 'job');
    fieldsValid(c, 3);
    if (cmd) cronCommand(cmd);
    c.systemEnabled('CRON_SYSTEM');
    c.userValid(user); c.userUnsuspended(user);
    c.objectValid(user, 'cron', 'JOB', job); c.objectUnsuspended(user, 'cron', 'JOB', job);
    c.demoMode();
    saveJobs(c, user, [...c.objects(user, 'cron').filter((j) => j.get('JOB') !== job), jobLine(c, job, 3, cmd)]);
    return '';
  },
};

/** USER JOB [RESTART]: formats and the user/job lookups shared by delete and (un)suspend. */
function jobHead(c: Ctx): { user: string; job: string } {
  c.checkArgs(2, 'USER JOB [RESTART]');
  const user = c.arg(1); const job = c.arg(2);
  if (user) v.user(user);
  if (job) v.int(job, 'job');
  if (c.arg(3)) v.restart(c.arg(3));
  return { user, job };
}

const deleteCronJob: Command = {
  logs: true,
  run(c) {
    const { user, job } = jobHead(c);
    c.systemEnabled('CRON_SYSTEM');
    c.userValid(user);
    const j = c.objectValid(user, 'cron', 'JOB', job);
    c.demoMode();
    saveJobs(c, user, c.objects(user, 'cron').filter((o) => o.get('JOB') !== job));
    c.bump(user, 'U_CRON_JOBS', -1);
    if (j.get('SUSPENDED') === 'yes') c.bump(user, 'SUSPENDED_CRON', -1);
    return '';
  },
};

function suspendCronJob(flag: 'yes' | 'no'): Command {
  return {
    logs: true,
    run(c) {
      // No CRON_SYSTEM check and no user-suspended check in either script.
      const { user, job } = jobHead(c);
      c.userValid(user);
      c.objectValid(user, 'cron', 'JOB', job);
      if (flag === 'yes') c.objectUnsuspended(user, 'cron', 'JOB', job);
      else c.objectSuspended(user, 'cron', 'JOB', job);
      c.demoMode();
      c.updateObject(user, 'cron', 'JOB', job, { SUSPENDED: flag });
      c.bump(user, 'SUSPENDED_CRON', flag === 'yes' ? 1 : -1);
      syncCrontab(c, user);
      return '';
    },
  };
}

const listCronJobs: Command = {
  run(c) {
    const user = c.arg(1); const format = c.args.length >= 2 ? c.arg(2) : 'shell';
    c.checkArgs(1, 'USER [FORMAT]');
    if (user) v.user(user);
    c.userValid(user);
    // CMD: `"` escaped, %quote% back to `'`; a backslash is not escaped (as in the script).
    const cmdOf = (o: Obj) => (o.get('CMD') ?? '').replace(/"/g, '\\"').replace(/%quote%/g, "'");
    const objs = c.objects(user, 'cron');
    switch (format) {
      case 'json': return jsonObjects(objs.map((o) => [o.get('JOB') ?? '', pick(o, LIST_KEYS, { CMD: cmdOf(o) })]));
      case 'plain': return plainRows(objs.map((o) => [...['JOB', 'MIN', 'HOUR', 'DAY', 'MONTH', 'WDAY'].map((k) => o.get(k) ?? ''), cmdOf(o),
        ...['SUSPENDED', 'TIME', 'DATE'].map((k) => o.get(k) ?? '')]));
      case 'csv': return ['MIN,HOUR,DAY,WDAY,CMD,SUSPENDED,TIME,DATE', ...objs.map((o) =>
        `${['JOB', 'MIN', 'HOUR', 'DAY', 'MONTH', 'WDAY'].map((k) => o.get(k) ?? '').join(',')},"${cmdOf(o)}",${o.get('SUSPENDED')},${o.get('TIME')},${o.get('DATE')}`)]
        .map((l) => l + '\n').join('');
      case 'shell': return columnT(['JOB^MIN^HOUR^DAY^MONTH^WDAY^COMMAND', '---^---^----^---^-----^----^-------',
        ...objs.map((o) => [...['JOB', 'MIN', 'HOUR', 'DAY', 'MONTH', 'WDAY'].map((k) => o.get(k) ?? ''), cmdOf(o)].join('^'))], '^');
      default: return '';
    }
  },
};

export const cronCommands: Record<string, Command> = {
  'v-add-cron-job': addCronJob, 'v-change-cron-job': changeCronJob, 'v-delete-cron-job': deleteCronJob,
  'v-suspend-cron-job': suspendCronJob('yes'), 'v-unsuspend-cron-job': suspendCronJob('no'), 'v-list-cron-jobs': listCronJobs,
};
