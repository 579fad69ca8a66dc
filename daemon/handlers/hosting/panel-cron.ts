// The steps of the hosting panel's Cron jobs tab (services/hosting-panel/cron.ts plans them): one
// job of the web user added, changed, deleted, suspended or resumed, by its HestiaCP id. Each lists
// the user's jobs first, acts only on the difference and lists them again to verify, so a retry
// after a crash converges: a new job's id was chosen when the action was planned, so a retried add
// finds its own job rather than adding a second one. The command is taken from the chain's sealed
// secrets and declared a secret of the attempt (masked in the task log, in the form it has on the
// command line too): it may hold the customer's tokens or passwords.
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { hasHestiaCode, type CronSchedule, type HestiaCronJob, type HestiaDriver } from '../../drivers/hestia/index.ts';
import { shellQuote } from '../../drivers/hestia/args.ts';
import { takeSecret } from '../../services/hosting-panel/secrets.ts';
import { registerStep } from '../step-args.ts';
import type { HostingDeps } from './context.ts';

interface On { server: number; user: string; job: number }

async function jobOf(driver: HestiaDriver, a: On): Promise<HestiaCronJob | null> {
  return (await driver.listCronJobs(a.user)).find((j) => j.id === a.job) ?? null;
}

/** HestiaCP keeps "'" as %quote% (and the panel ":" as %dots%); spaces may be collapsed on the way. */
const plain = (cmd: string) => cmd.replace(/%quote%/g, '\'').replace(/%dots%/g, ':').replace(/\s+/g, ' ').trim();

function sameJob(j: HestiaCronJob, s: CronSchedule, command: string): boolean {
  return j.min === s.min && j.hour === s.hour && j.day === s.day && j.month === s.month && j.wday === s.wday && plain(j.command) === plain(command);
}

/** The sealed command, masked from here on (raw when long enough not to garble ordinary words, and single-quoted as on the command line). */
async function command(deps: HostingDeps, ctx: TaskContext, driver: HestiaDriver, name: string): Promise<string> {
  if (ctx.task.chainId === null) throw new TerminalError(`${ctx.task.type} runs in a chain (its command is sealed for the chain)`);
  const value = await takeSecret(deps.db, deps.masterKey, ctx.task.chainId, name);
  driver.runner.secret(shellQuote(value));
  if (value.length >= 8) driver.runner.secret(value);
  return value;
}

const scheduleOf = (a: CronSchedule): CronSchedule => ({ min: a.min, hour: a.hour, day: a.day, month: a.month, wday: a.wday });
const gone = (a: On, where: string) => new TerminalError(`cron job ${a.job} of ${a.user} is no longer on ${where}`);

export function registerCronPanelHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'cron.add', 'Adds a cron job of the web user under the id chosen when it was planned (a retry finds the job it added).', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const cmd = await command(deps, ctx, driver, a.secret);
    const want = scheduleOf(a);
    const had = await jobOf(driver, a);
    if (had && !sameJob(had, want, cmd)) {
      throw new TerminalError(`cron job ${a.job} of ${a.user} on ${server.name} was added by something else meanwhile; nothing was changed (add the job again from the panel)`);
    }
    if (had) ctx.log(`cron job ${a.job} is already there, as wanted`);
    else {
      try {
        await driver.addCronJob(a.user, want, cmd, { id: a.job });
      } catch (err) {
        // Added by a run of this step that was cut off after HestiaCP took it: the check below decides.
        if (!hasHestiaCode(err, 'E_EXISTS')) throw err;
      }
    }
    const now = await jobOf(driver, a);
    if (!now || !sameJob(now, want, cmd)) throw new TerminalError(`cron job ${a.job} of ${a.user} on ${server.name} is not as added${now ? ' (another job holds its id)' : ''}`);
    return { job: a.job, added: !had };
  });

  registerStep(registry, 'cron.change', 'Gives a cron job of the web user the schedule and command the customer typed.', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const cmd = await command(deps, ctx, driver, a.secret);
    const want = scheduleOf(a);
    const had = await jobOf(driver, a);
    if (!had) throw gone(a, server.name);
    if (sameJob(had, want, cmd)) ctx.log(`cron job ${a.job} already has this schedule and command`);
    else {
      if (had.suspended) throw new TerminalError(`cron job ${a.job} of ${a.user} is suspended on ${server.name}: HestiaCP changes only active jobs (resume it first)`);
      await driver.changeCronJob(a.user, a.job, want, cmd);
    }
    const now = await jobOf(driver, a);
    if (!now || !sameJob(now, want, cmd)) throw new TerminalError(`cron job ${a.job} of ${a.user} on ${server.name} did not take the new schedule and command`);
    return { job: a.job, changed: !sameJob(had, want, cmd) };
  });

  registerStep(registry, 'cron.delete', 'Deletes a cron job of the web user (gone already is done).', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const had = await jobOf(driver, a);
    if (!had) ctx.log(`cron job ${a.job} is not there (deleted already)`);
    else {
      try {
        await driver.deleteCronJob(a.user, a.job);
      } catch (err) {
        if (!hasHestiaCode(err, 'E_NOTEXIST')) throw err;
      }
    }
    if (await jobOf(driver, a)) throw new TerminalError(`cron job ${a.job} of ${a.user} is still on ${server.name} after deleting it`);
    return { job: a.job, deleted: !!had };
  });

  for (const [type, suspended] of [['cron.suspend', true], ['cron.unsuspend', false]] as const) {
    const verb = suspended ? 'suspended' : 'resumed';
    registerStep(registry, type, `${suspended ? 'Suspends' : 'Resumes'} a cron job of the web user (HestiaCP takes it out of, or puts it back in, the crontab).`, async (ctx, a) => {
      const { driver, server } = await deps.fleet.hestia(a.server, ctx);
      const had = await jobOf(driver, a);
      if (!had) throw gone(a, server.name);
      if (had.suspended === suspended) ctx.log(`cron job ${a.job} is ${verb} already`);
      else if (suspended) await driver.suspendCronJob(a.user, a.job);
      else await driver.unsuspendCronJob(a.user, a.job);
      const now = await jobOf(driver, a);
      if (!now || now.suspended !== suspended) throw new TerminalError(`cron job ${a.job} of ${a.user} on ${server.name} is not ${verb}`);
      return { job: a.job, changed: had.suspended !== suspended };
    });
  }
}
