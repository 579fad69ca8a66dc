// Queue administration: one task (retry, cancel, force-fail), many tasks (stuck, finished), a
// chain (reset) and a target's concurrency. Each operation refuses, with the reason, what it cannot do safely.
import { retryTask } from '../../engine/sql/retry-task.ts';
import { cancelTask } from '../../engine/sql/cancel.ts';
import { forceFailStuck, forceFailTask } from '../../engine/sql/force-fail.ts';
import { cleanCompleted, deleteTasks } from '../../engine/sql/delete.ts';
import { resetChain } from '../../engine/sql/reset-chain.ts';
import { setTargetLimit } from '../../engine/sql/targets.ts';
import type { Queue } from '../../engine/queue.ts';
import { id, noMore, parseDuration, positional, takeOption } from '../args.ts';
import { UsageError, type Command, type CommandGroup } from '../command.ts';
import { withCore, report } from '../core.ts';
import { out } from '../io.ts';

/** `task <sub> <id>`: one admin operation on one task, printing what it did. */
function taskCommand(sub: string, describe: string, op: (queue: Queue, id: number) => Promise<string>): Command {
  const name = `task ${sub}`;
  return {
    name, usage: `${name} <id>`, describe,
    async run(args, ctx) {
      const taskId = id(positional(args, 'a task id', name), 'task id');
      noMore(args, name);
      return report(ctx.config(), (core) => op(core.queue, taskId));
    },
  };
}

const FINISHED = ['succeeded', 'failed', 'cancelled'];

export const queueCommands: CommandGroup = {
  title: 'Task queue',
  commands: [
    taskCommand('retry', 'run a queued task now, or re-open a failed/cancelled one', retryTask),
    taskCommand('cancel', 'cancel a task (and the rest of its chain)', cancelTask),
    taskCommand('force-fail', 'fail a queued or running task at once', forceFailTask),
    {
      name: 'tasks force-fail-stuck',
      usage: 'tasks force-fail-stuck --older-than <duration>',
      describe: 'fail every task running or retrying for longer than that (e.g. 30m, 2h)',
      async run(args, ctx) {
        const name = 'tasks force-fail-stuck';
        const older = takeOption(args, '--older-than');
        if (older === undefined) throw new UsageError(`${name} needs --older-than <duration> (e.g. 30m)`);
        const ms = parseDuration(older);
        noMore(args, name);
        return report(ctx.config(), async (core) => {
          const ids = await forceFailStuck(core.queue, ms);
          return ids.length ? `force-failed ${ids.length} task(s): ${ids.map((i) => '#' + i).join(' ')}` : 'no stuck task';
        });
      },
    },
    {
      name: 'tasks delete',
      usage: 'tasks delete --status <list>',
      describe: 'delete finished tasks: succeeded,failed,cancelled',
      async run(args, ctx) {
        const name = 'tasks delete';
        const status = takeOption(args, '--status');
        if (status === undefined) throw new UsageError(`${name} needs --status with one or more of succeeded,failed,cancelled`);
        const statuses = status.split(',').map((s) => s.trim()).filter(Boolean);
        const bad = statuses.filter((s) => !FINISHED.includes(s));
        if (bad.length || statuses.length === 0) throw new UsageError(`--status takes succeeded, failed or cancelled, got "${bad.join(',') || status}"`);
        noMore(args, name);
        return report(ctx.config(), async (core) => `deleted ${await deleteTasks(core.queue, statuses)} task(s)`);
      },
    },
    {
      name: 'tasks clean',
      usage: 'tasks clean [--older-than-days <n>]',
      describe: 'delete finished tasks older than n days (default: the retention setting)',
      async run(args, ctx) {
        const daysText = takeOption(args, '--older-than-days');
        if (daysText !== undefined && !/^\d{1,5}$/.test(daysText)) throw new UsageError(`--older-than-days must be a whole number of days, got "${daysText}"`);
        noMore(args, 'tasks clean');
        return withCore(ctx.config(), async (core) => {
          const days = daysText !== undefined ? Number(daysText) : Number(core.settings.get()['queue.retention_days']);
          out(`deleted ${await cleanCompleted(core.queue, days * 86_400_000)} finished task(s) older than ${days} day(s)`);
          return 0;
        });
      },
    },
    {
      name: 'chain reset',
      usage: 'chain reset <id>',
      describe: 'run a chain again from its first step (redeploy)',
      async run(args, ctx) {
        const chainId = id(positional(args, 'a chain id', 'chain reset'), 'chain id');
        noMore(args, 'chain reset');
        return report(ctx.config(), async (core) => await resetChain(core.queue, chainId));
      },
    },
    {
      name: 'target limit',
      usage: 'target limit <target> <n>',
      describe: 'let n tasks run at once on a target server (default 1)',
      async run(args, ctx) {
        const name = 'target limit';
        const target = positional(args, 'a target name', name);
        const limitText = positional(args, 'a limit', name);
        if (!/^\d{1,2}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 64) throw new UsageError(`limit must be a whole number between 1 and 64, got "${limitText}"`);
        noMore(args, name);
        return report(ctx.config(), async (core) => {
          const r = await setTargetLimit(core.db, target, Number(limitText));
          return `${target}: up to ${limitText} task(s) at once${r.busyAboveLimit ? ` (${r.busyAboveLimit} running above the new limit will finish first)` : ''}`;
        });
      },
    },
  ],
};
