// The scheduled jobs from the command line: a pass now (`tick`), one job now with live output,
// their state, and releasing the locks of a daemon that died mid-job.
import { Scheduler, SchedulerError } from '../../scheduler/scheduler.ts';
import { processVmsJob } from '../../scheduler/jobs/process-vms.ts';
import { noMore, parseDuration, positional, takeOption } from '../args.ts';
import { UsageError, type CommandGroup } from '../command.ts';
import { withCore, report } from '../core.ts';
import { out, stamp } from '../io.ts';

export const schedulerCommands: CommandGroup = {
  title: 'Scheduler',
  commands: [
    {
      name: 'tick',
      usage: 'tick',
      describe: 'run one scheduler pass now (what WHMCS cron\'s tick does)',
      async run(args, ctx) {
        noMore(args, 'tick');
        return withCore(ctx.config(), async (core) => {
          const results = await core.scheduler.pass(stamp);
          for (const r of results) stamp(r.ran ? `${r.job}: ${r.result} in ${r.durationMs} ms — ${r.message}` : `${r.job}: skipped (${r.skipped})`);
          return results.some((r) => r.result === 'error') ? 1 : 0;
        });
      },
    },
    {
      name: 'run-task',
      usage: 'run-task <job> [--time-limit 10m]',
      describe: 'run one scheduled job now, printing its output live (process-vms: runs the due VM steps in the foreground, for up to --time-limit)',
      async run(args, ctx) {
        const job = positional(args, 'the name of a scheduled job', 'run-task');
        const limit = takeOption(args, '--time-limit');
        noMore(args, 'run-task');
        if (limit !== undefined && job !== 'process-vms') throw new UsageError('--time-limit applies to run-task process-vms only');
        const timeLimitMs = limit === undefined ? 10 * 60_000 : parseDuration(limit);
        if (timeLimitMs < 1000 || timeLimitMs > 86_400_000) throw new UsageError(`--time-limit must be between 1s and 24h, got "${limit}"`);
        return withCore(ctx.config(), async (core) => {
          if (!core.scheduler.names().includes(job)) throw new SchedulerError(`unknown job "${job}"; jobs are ${core.scheduler.names().join(', ')}`);
          // process-vms from here runs the VM steps itself, under the same job row and lock as the daemons' check.
          const scheduler = job !== 'process-vms' ? core.scheduler : new Scheduler(core.db, core.settings, core.daemonId, [processVmsJob(
            { queue: core.queue, registry: core.registry, settings: core.settings, onWork: () => {} },
            { timeLimitMs, concurrency: core.config.concurrency, leaseMs: core.config.leaseMs, pollMs: core.config.pollMs, logger: core.logger },
          )]);
          stamp(`${job}: started`);
          const r = await scheduler.runNow(job, stamp);
          stamp(`${job}: ${r.result} in ${r.durationMs} ms — ${r.message}`);
          return r.result === 'ok' ? 0 : 1;
        });
      },
    },
    {
      name: 'jobs',
      usage: 'jobs',
      describe: 'list scheduled jobs: interval, last run, lock',
      async run(args, ctx) {
        noMore(args, 'jobs');
        return withCore(ctx.config(), async (core) => {
          for (const j of await core.scheduler.status()) {
            const last = j.lastFinishedAt ? `${new Date(j.lastFinishedAt).toISOString()} ${j.lastResult} (${j.lastDurationMs} ms): ${j.lastMessage}` : 'never run';
            const lock = j.lockedBy ? `locked by ${j.lockedBy} until ${new Date(j.lockedUntil!).toISOString()}` : 'unlocked';
            out(`${j.name}  every ${j.intervalS} s  ${lock}\n    last: ${last}\n    ${j.describe}`);
          }
          return 0;
        });
      },
    },
    {
      name: 'clear-locks',
      usage: 'clear-locks',
      describe: 'release every scheduled-job lock (after a daemon died holding one)',
      async run(args, ctx) {
        noMore(args, 'clear-locks');
        return report(ctx.config(), async (core) => {
          const cleared = await core.scheduler.clearLocks();
          return cleared.length ? `released the lock of ${cleared.join(', ')}` : 'no job was locked';
        });
      },
    },
  ],
};
