// The hosting panel's Cron jobs tab (role web): the jobs of the service's web user, and create,
// edit, delete, suspend, unsuspend. A command is the customer's own text and may hold a secret (a
// token in a URL, a database password): it travels to the step sealed, like a password (secret
// `command`), so it is in no task argument, task log line or Operation Log entry; the customer's
// own page shows it, escaped. Checks are HestiaCP's rules (and the driver's, which are stricter)
// with the field named, so nothing HestiaCP would refuse is queued.
import { InputError } from '../../common/errors.ts';
import type { CronSchedule, HestiaCronJob } from '../../drivers/hestia/index.ts';
import { ArgumentError } from '../../drivers/hestia/args.ts';
import { cronScheduleArgs } from '../../drivers/hestia/object-args.ts';
import { extrasOf } from '../../pipelines/hosting-plan.ts';
import type { ServicePlan } from '../../pipelines/plan.ts';
import { plannedStep, type PlannedStep } from '../../pipelines/steps.ts';
import type { HostingAction, HostingContext, HostingTab, PreparedAction } from './types.ts';

/** The schedule's five fields, as the form names them (hbf_min … hbf_wday) and HestiaCP orders them. */
export const CRON_FIELDS = ['min', 'hour', 'day', 'month', 'wday'] as const;
const FIELD_TITLE: Record<(typeof CRON_FIELDS)[number], string> = { min: 'minute', hour: 'hour', day: 'day of month', month: 'month', wday: 'day of week' };
/** The driver's cronCommand limit. */
export const MAX_COMMAND = 1000;

/** Where the service's web role lives: the Unified node's single user, else the web node's user. */
export interface WebAccount { server: number; user: string }

export function webAccount(plan: ServicePlan): WebAccount | null {
  const p = plan.placement;
  const server = p.unified ?? p.web;
  const user = p.unified !== null ? plan.names.users.all : plan.names.users.web;
  return server !== null && user ? { server, user } : null;
}

function accountOf(ctx: HostingContext): WebAccount {
  const a = webAccount(ctx.svc.plan);
  if (!a) throw new InputError('', 'This service has no web hosting account, so it has no cron jobs.', 409);
  return a;
}

/** The five schedule fields, checked by the driver's rule (HestiaCP's, stricter): InputError naming the field. */
export function checkSchedule(fields: Readonly<Record<string, string>>): CronSchedule {
  const s = {} as Record<(typeof CRON_FIELDS)[number], string>;
  for (const f of CRON_FIELDS) {
    const v = (fields[f] ?? '').trim();
    if (v === '') throw new InputError(f, `the ${FIELD_TITLE[f]} is required: a number, "*", "*/n" or a list such as 1,15 or 1-5`);
    if (v.length > 100) throw new InputError(f, `the ${FIELD_TITLE[f]} must be at most 100 characters`);
    s[f] = v;
  }
  try {
    cronScheduleArgs(s);
  } catch (err) {
    if (!(err instanceof ArgumentError)) throw err;
    const f = err.argument.toLowerCase() as (typeof CRON_FIELDS)[number];
    throw new InputError(f, `the ${FIELD_TITLE[f]} "${s[f]}" is not accepted: ${err.rule}`);
  }
  return s;
}

/**
 * The command: one line, what HestiaCP takes (no "`", no newline) and the driver carries (no "\"
 * or "%": cron would read "%" as a newline), without control characters, at most 1000 characters.
 * Never quoted back in a message: it may hold a secret.
 */
export function checkCommand(raw: string | undefined): string {
  const v = (raw ?? '').trim();
  if (v === '') throw new InputError('command', 'is required');
  if (v.length > MAX_COMMAND) throw new InputError('command', `must be at most ${MAX_COMMAND} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\r\n\u0000-\u001f\u007f]/.test(v)) throw new InputError('command', 'must be one line, without control characters');
  if (v.includes('`')) throw new InputError('command', 'must not contain a backtick (`): HestiaCP refuses it; use $( ) instead');
  if (v.includes('\\')) throw new InputError('command', 'must not contain a backslash (\\): it breaks HestiaCP\'s cron listing; put the command in a script and run the script');
  if (v.includes('%')) throw new InputError('command', 'must not contain "%": cron reads it as a new line; put the command in a script and run the script');
  return v;
}

/** A job id from the form (a row's hidden field). */
export function checkJobId(raw: string | undefined): number {
  const v = (raw ?? '').trim();
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw new InputError('id', 'must be the number of one of your cron jobs');
  return Number(v);
}

/** What the customer reads for a schedule, e.g. `0 3 * * *`. */
export function scheduleText(s: CronSchedule): string {
  return CRON_FIELDS.map((f) => s[f]).join(' ');
}

// --- planning (pure): the steps of each action ---------------------------------------------------

export type CronPlan =
  | { kind: 'create'; job: number; schedule: CronSchedule }
  | { kind: 'change'; job: number; schedule: CronSchedule }
  | { kind: 'delete' | 'suspend' | 'unsuspend'; job: number };

const target = (server: number) => `server:${server}`;

/** The one step of a cron action on the web node. The command is not an argument: the step takes the sealed secret `command`. */
export function planCronStep(a: WebAccount, p: CronPlan): PlannedStep {
  const head = { server: a.server, user: a.user, job: p.job };
  switch (p.kind) {
    case 'create': return plannedStep('cron.add', 'cron.add', target(a.server), { ...head, ...p.schedule, secret: 'command' });
    case 'change': return plannedStep('cron.change', 'cron.change', target(a.server), { ...head, ...p.schedule, secret: 'command' });
    case 'delete': return plannedStep('cron.delete', 'cron.delete', target(a.server), head);
    case 'suspend': return plannedStep('cron.suspend', 'cron.suspend', target(a.server), head);
    case 'unsuspend': return plannedStep('cron.unsuspend', 'cron.unsuspend', target(a.server), head);
  }
}

/**
 * The id a new job gets: one above the highest listed, chosen when the action is planned and
 * carried by the step, so a retried step finds its own job instead of adding a second one.
 */
export function nextJobId(jobs: readonly HestiaCronJob[]): number {
  return Math.max(0, ...jobs.map((j) => j.id)) + 1;
}

/** The cron job limit of the plan (its hosting plan's web.cron_jobs, else the built-in default). */
export function cronLimit(plan: ServicePlan): number | 'unlimited' {
  return extrasOf(plan.product).web.cronJobs;
}

function limitRefusal(limit: number | 'unlimited', used: number): string | null {
  if (limit === 'unlimited' || used < limit) return null;
  if (limit === 0) return 'Your plan includes no cron jobs.';
  return `Your plan includes ${limit} cron job${limit === 1 ? '' : 's'} and ${limit === 1 ? 'it is' : `all ${limit} are`} in use.`;
}

// --- the tab and its actions ------------------------------------------------------------------

async function jobsOf(ctx: HostingContext, a: WebAccount): Promise<HestiaCronJob[]> {
  return (await ctx.hestia(a.server)).listCronJobs(a.user);
}

async function existingJob(ctx: HostingContext, a: WebAccount, id: number): Promise<HestiaCronJob> {
  const job = (await jobsOf(ctx, a)).find((j) => j.id === id);
  if (!job) throw new InputError('id', `there is no cron job ${id}`);
  return job;
}

export const cronTab: HostingTab = {
  key: 'cron',
  title: 'Cron jobs',
  role: 'web',
  async load(ctx) {
    const a = webAccount(ctx.svc.plan);
    const limit = cronLimit(ctx.svc.plan);
    if (!a) return { jobs: [], none: true, limit, readError: false };
    let jobs: HestiaCronJob[];
    try {
      jobs = await jobsOf(ctx, a);
    } catch {
      return { jobs: [], limit, readError: true };
    }
    const used = jobs.length;
    return {
      jobs: jobs.map((j) => ({ id: j.id, min: j.min, hour: j.hour, day: j.day, month: j.month, wday: j.wday, schedule: scheduleText(j), command: j.command, suspended: j.suspended, created: j.created })),
      used, limit, unlimited: limit === 'unlimited', full: limitRefusal(limit, used) !== null, refusal: limitRefusal(limit, used), readError: false,
    };
  },
};

const action = (prepare: HostingAction['prepare']): HostingAction => ({ tab: 'cron', role: 'web', prepare });

export const cronActions: Record<string, HostingAction> = {
  'cron-create': action(async (ctx, fields): Promise<PreparedAction> => {
    const schedule = checkSchedule(fields);
    const command = checkCommand(fields.command);
    const a = accountOf(ctx);
    const jobs = await jobsOf(ctx, a);
    const refusal = limitRefusal(cronLimit(ctx.svc.plan), jobs.length);
    if (refusal) throw new InputError('', refusal, 409);
    const job = nextJobId(jobs);
    return {
      operation: 'cron-create', steps: [planCronStep(a, { kind: 'create', job, schedule })],
      secrets: [{ name: 'command', value: command }], message: `Adding cron job ${job} (${scheduleText(schedule)})`,
    };
  }),
  'cron-change': action(async (ctx, fields) => {
    const job = checkJobId(fields.id);
    const schedule = checkSchedule(fields);
    const command = checkCommand(fields.command);
    const a = accountOf(ctx);
    const have = await existingJob(ctx, a, job);
    // HestiaCP refuses to change a suspended job; unsuspending it on the way would run the old command meanwhile.
    if (have.suspended) throw new InputError('id', `cron job ${job} is suspended: unsuspend it before editing it`, 409);
    return {
      operation: 'cron-change', steps: [planCronStep(a, { kind: 'change', job, schedule })],
      secrets: [{ name: 'command', value: command }], message: `Changing cron job ${job} (${scheduleText(schedule)})`,
    };
  }),
  'cron-delete': action(async (ctx, fields) => {
    const job = checkJobId(fields.id);
    const a = accountOf(ctx);
    await existingJob(ctx, a, job);
    return { operation: 'cron-delete', steps: [planCronStep(a, { kind: 'delete', job })], message: `Deleting cron job ${job}` };
  }),
  'cron-suspend': action(async (ctx, fields) => {
    const job = checkJobId(fields.id);
    const a = accountOf(ctx);
    if ((await existingJob(ctx, a, job)).suspended) throw new InputError('id', `cron job ${job} is already suspended`, 409);
    return { operation: 'cron-suspend', steps: [planCronStep(a, { kind: 'suspend', job })], message: `Suspending cron job ${job}` };
  }),
  'cron-unsuspend': action(async (ctx, fields) => {
    const job = checkJobId(fields.id);
    const a = accountOf(ctx);
    if (!(await existingJob(ctx, a, job)).suspended) throw new InputError('id', `cron job ${job} is not suspended`, 409);
    return { operation: 'cron-unsuspend', steps: [planCronStep(a, { kind: 'unsuspend', job })], message: `Resuming cron job ${job}` };
  }),
};
