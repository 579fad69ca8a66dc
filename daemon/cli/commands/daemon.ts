// The daemon itself: `serve` (workers, scheduler, HTTP API until a signal) and `migrate`.
import type { Config } from '../../config/config.ts';
import { migrateLatest, pendingMigrations } from '../../db/migrate.ts';
import { StartupError, startDaemon, type DaemonOptions } from '../../runtime.ts';
import { noMore, takeFlag } from '../args.ts';
import type { CommandGroup } from '../command.ts';
import { withCoreNoSchema } from '../core.ts';
import { out } from '../io.ts';

/**
 * Runs a daemon until SIGTERM or SIGINT, then lets running tasks finish; a second signal stops at
 * once (exit 130). Also what the tests' entry with their own task types runs.
 */
export async function serveUntilStopped(config: Config, opts: DaemonOptions): Promise<number> {
  const daemon = await startDaemon(config, opts);
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (sig: string) => {
      signals++;
      if (signals > 1) process.exit(130);
      daemon.core.logger.info(`${sig} received: finishing running tasks, then stopping (send again to stop at once)`);
      void daemon.stop().then(resolve);
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
  });
  daemon.core.logger.info('stopped');
  // Everything is closed, but a timer may still be pending (the engine's grace timer runs its full
  // 10 s even when the tasks finished at once): exit now rather than when it fires, so a stop takes
  // as long as the running tasks and no longer. Writes to files, pipes and sockets are synchronous
  // on Linux, so no log line is lost.
  setImmediate(() => process.exit(process.exitCode ?? 0));
  return 0;
}

export const daemonCommands: CommandGroup = {
  title: 'Daemon',
  commands: [
    {
      name: 'serve',
      usage: 'serve [--migrate]',
      describe: 'run the daemon: task workers, scheduler and HTTP API',
      async run(args, ctx) {
        const migrate = takeFlag(args, '--migrate');
        noMore(args, 'serve');
        const config = ctx.config();
        return serveUntilStopped(config, { migrate: migrate || config.migrateOnStart });
      },
    },
    {
      name: 'migrate',
      usage: 'migrate [--status]',
      describe: 'apply pending database migrations (or list them)',
      async run(args, ctx) {
        const status = takeFlag(args, '--status');
        noMore(args, 'migrate');
        return withCoreNoSchema(ctx.config(), async (core) => {
          if (status) {
            const pending = await pendingMigrations(core.db);
            out(pending.length ? `pending: ${pending.join(', ')}` : 'the database is up to date');
            return 0;
          }
          const applied = await migrateLatest(core.db).catch((err: unknown) => { throw schemaRefused(err) ?? err; });
          out(applied.length ? `applied: ${applied.join(', ')}` : 'the database is up to date');
          return 0;
        });
      },
    },
  ],
};

/** A migration the database account may not run (no CREATE, ALTER… on a table): what to do, not a stack trace. */
function schemaRefused(err: unknown): StartupError | null {
  const e = err as { code?: string; sqlMessage?: string };
  if (e.code !== 'ER_TABLEACCESS_DENIED_ERROR' && e.code !== 'ER_DBACCESS_DENIED_ERROR') return null;
  return new StartupError(`the database refused a migration: ${e.sqlMessage ?? e.code}. Migrate as the account that may change the schema: `
    + 'the migration account of docs/install.md, section 3 (the installed hostbridge command reads it from /etc/hostbridge/migrate.env); '
    + 'when a release adds a table, run that account\'s grants block first');
}
