#!/usr/bin/env node
// hostbridge command line: the daemon (`serve`) and the one-shot admin commands.
import { loadConfig, ConfigError, type Config } from './config/config.ts';
import { migrateLatest, pendingMigrations } from './db/migrate.ts';
import { openCore, startDaemon, ensureSchema, StartupError, type Core } from './runtime.ts';
import { AdminError } from './engine/admin.ts';
import { retryTask } from './engine/sql/retry-task.ts';
import { cancelTask } from './engine/sql/cancel.ts';
import { forceFailStuck, forceFailTask } from './engine/sql/force-fail.ts';
import { cleanCompleted, deleteTasks } from './engine/sql/delete.ts';
import { resetChain } from './engine/sql/reset-chain.ts';
import { setTargetLimit } from './engine/sql/targets.ts';
import { SchedulerError } from './scheduler/scheduler.ts';
import { isHiddenSetting, isSecretSetting, SettingError, SETTING_DEFINITIONS, writeSetting } from './settings/settings.ts';
import { PasswordError, setAdminPassword } from './ui/auth.ts';
import { VERSION } from './version.ts';
import { openApiDocument } from './api/openapi.ts';
import { InputError } from './common/errors.ts';
import { checkBody } from './common/bodies.ts';
import { addServer, listGroups, listServers, saveGroup, type GroupInput, type ServerInput } from './fleet/inventory.ts';

const HELP = `hostbridge ${VERSION} — provisioning daemon for WHMCS

Usage: hostbridge <command> [arguments]

Daemon
  serve [--migrate]              run the daemon: task workers, scheduler and HTTP API
  migrate [--status]             apply pending database migrations (or list them)

Scheduler
  tick                           run one scheduler pass now (what WHMCS cron's tick does)
  run-task <job>                 run one scheduled job now, printing its output live
  jobs                           list scheduled jobs: interval, last run, lock
  clear-locks                    release every scheduled-job lock (after a daemon died holding one)

Task queue
  task retry <id>                run a queued task now, or re-open a failed/cancelled one
  task cancel <id>               cancel a task (and the rest of its chain)
  task force-fail <id>           fail a queued or running task at once
  tasks force-fail-stuck --older-than <duration>
                                 fail every task running or retrying for longer than that (e.g. 30m, 2h)
  tasks delete --status <list>   delete finished tasks: succeeded,failed,cancelled
  tasks clean [--older-than-days <n>]
                                 delete finished tasks older than n days (default: the retention setting)
  chain reset <id>               run a chain again from its first step (redeploy)
  target limit <target> <n>      let n tasks run at once on a target server (default 1)

Fleet (JSON on standard input, so credentials stay out of ps and shell history)
  server add < server.json       add a server: see docs/api.md (POST /v1/servers) for the fields
  server list                    list servers (credentials are never shown)
  group add < group.json         add a server group with its nodes, DNS servers and vanity domains
  group list                     list server groups
API
  openapi                        print the OpenAPI document of the daemon's API
Settings
  set <key> <value|->            change a setting; "-" reads the value from standard input (use it for secrets)
  admin-password -               set the admin password of the pages (/ui), read from standard input
                                 keys: ${Object.keys(SETTING_DEFINITIONS).join(', ')}

Options
  -h, --help                     this help
  -v, --version                  print the version

Configuration comes from HOSTBRIDGE_* environment variables and the JSON file named by
HOSTBRIDGE_CONFIG; see docs/configuration.md. With none, the daemon uses data/hostbridge.sqlite.`;

class UsageError extends Error {}

function out(line: string): void {
  process.stdout.write(line + '\n');
}

function stamp(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
}

function takeFlag(args: string[], flag: string): boolean {
  const i = args.indexOf(flag);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
}

function takeOption(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === name || a.startsWith(name + '='));
  if (i < 0) return undefined;
  const a = args[i];
  if (a.includes('=')) {
    args.splice(i, 1);
    return a.slice(name.length + 1);
  }
  const v = args[i + 1];
  if (v === undefined || v.startsWith('-')) throw new UsageError(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

function noMore(args: string[], command: string): void {
  const opt = args.find((a) => a.startsWith('-'));
  if (opt) throw new UsageError(`unknown option "${opt}" for ${command}`);
  if (args.length) throw new UsageError(`unexpected argument "${args[0]}" for ${command}`);
}

function positional(args: string[], what: string, command: string): string {
  const v = args.shift();
  if (v === undefined) throw new UsageError(`${command} needs ${what}`);
  if (v.startsWith('-')) throw new UsageError(`unknown option "${v}" for ${command}`);
  return v;
}

function id(value: string, what: string): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) === 0) throw new UsageError(`${what} must be a positive whole number, got "${value}"`);
  return Number(value);
}

export function parseDuration(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(value.trim());
  if (!m) throw new UsageError(`duration "${value}" must be a number followed by ms, s, m, h or d (e.g. 30m)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms']!;
}

async function withCore<R>(config: Config, fn: (core: Core) => Promise<R>): Promise<R> {
  const core = await openCore(config);
  try {
    await ensureSchema(core, false);
    await core.settings.refresh();
    return await fn(core);
  } finally {
    await core.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  if (args.length === 0) {
    process.stderr.write(HELP + '\n');
    return 2;
  }
  if (args[0] === '-h' || args[0] === '--help' || args[0] === 'help') {
    out(HELP);
    return 0;
  }
  if (args[0] === '-v' || args[0] === '--version') {
    out(VERSION);
    return 0;
  }
  const command = args.shift()!;
  if (args.includes('-h') || args.includes('--help')) {
    out(HELP);
    return 0;
  }
  const sub = ['task', 'tasks', 'chain', 'target', 'server', 'group'].includes(command) ? positional(args, 'a sub-command', command) : '';
  const name = sub ? `${command} ${sub}` : command;

  // Check the arguments before the configuration or the database is touched.
  let run: (config: Config) => Promise<number>;
  switch (name) {
    case 'serve': {
      const migrate = takeFlag(args, '--migrate');
      noMore(args, name);
      run = async (config) => {
        const daemon = await startDaemon(config, { migrate: migrate || config.migrateOnStart });
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
        return 0;
      };
      break;
    }
    case 'migrate': {
      const status = takeFlag(args, '--status');
      noMore(args, name);
      run = (config) => withCoreNoSchema(config, async (core) => {
        if (status) {
          const pending = await pendingMigrations(core.db);
          out(pending.length ? `pending: ${pending.join(', ')}` : 'the database is up to date');
          return 0;
        }
        const applied = await migrateLatest(core.db);
        out(applied.length ? `applied: ${applied.join(', ')}` : 'the database is up to date');
        return 0;
      });
      break;
    }
    case 'tick':
      noMore(args, name);
      run = (config) => withCore(config, async (core) => {
        const results = await core.scheduler.pass(stamp);
        for (const r of results) stamp(r.ran ? `${r.job}: ${r.result} in ${r.durationMs} ms — ${r.message}` : `${r.job}: skipped (${r.skipped})`);
        return results.some((r) => r.result === 'error') ? 1 : 0;
      });
      break;
    case 'run-task': {
      const job = positional(args, 'the name of a scheduled job', name);
      noMore(args, name);
      run = (config) => withCore(config, async (core) => {
        if (!core.scheduler.names().includes(job)) throw new SchedulerError(`unknown job "${job}"; jobs are ${core.scheduler.names().join(', ')}`);
        stamp(`${job}: started`);
        const r = await core.scheduler.runNow(job, stamp);
        stamp(`${job}: ${r.result} in ${r.durationMs} ms — ${r.message}`);
        return r.result === 'ok' ? 0 : 1;
      });
      break;
    }
    case 'jobs':
      noMore(args, name);
      run = (config) => withCore(config, async (core) => {
        for (const j of await core.scheduler.status()) {
          const last = j.lastFinishedAt ? `${new Date(j.lastFinishedAt).toISOString()} ${j.lastResult} (${j.lastDurationMs} ms): ${j.lastMessage}` : 'never run';
          const lock = j.lockedBy ? `locked by ${j.lockedBy} until ${new Date(j.lockedUntil!).toISOString()}` : 'unlocked';
          out(`${j.name}  every ${j.intervalS} s  ${lock}\n    last: ${last}\n    ${j.describe}`);
        }
        return 0;
      });
      break;
    case 'clear-locks':
      noMore(args, name);
      run = (config) => withCore(config, async (core) => {
        const cleared = await core.scheduler.clearLocks();
        out(cleared.length ? `released the lock of ${cleared.join(', ')}` : 'no job was locked');
        return 0;
      });
      break;
    case 'task retry':
    case 'task cancel':
    case 'task force-fail': {
      const taskId = id(positional(args, 'a task id', name), 'task id');
      noMore(args, name);
      const op = sub === 'retry' ? retryTask : sub === 'cancel' ? cancelTask : forceFailTask;
      run = (config) => withCore(config, async (core) => {
        out(await op(core.queue, taskId));
        return 0;
      });
      break;
    }
    case 'tasks force-fail-stuck': {
      const older = takeOption(args, '--older-than');
      if (older === undefined) throw new UsageError(`${name} needs --older-than <duration> (e.g. 30m)`);
      const ms = parseDuration(older);
      noMore(args, name);
      run = (config) => withCore(config, async (core) => {
        const ids = await forceFailStuck(core.queue, ms);
        out(ids.length ? `force-failed ${ids.length} task(s): ${ids.map((i) => '#' + i).join(' ')}` : 'no stuck task');
        return 0;
      });
      break;
    }
    case 'tasks delete': {
      const status = takeOption(args, '--status');
      if (status === undefined) throw new UsageError(`${name} needs --status with one or more of succeeded,failed,cancelled`);
      const statuses = status.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = statuses.filter((s) => !['succeeded', 'failed', 'cancelled'].includes(s));
      if (bad.length || statuses.length === 0) throw new UsageError(`--status takes succeeded, failed or cancelled, got "${bad.join(',') || status}"`);
      noMore(args, name);
      run = (config) => withCore(config, async (core) => {
        out(`deleted ${await deleteTasks(core.queue, statuses)} task(s)`);
        return 0;
      });
      break;
    }
    case 'tasks clean': {
      const daysText = takeOption(args, '--older-than-days');
      if (daysText !== undefined && !/^\d{1,5}$/.test(daysText)) throw new UsageError(`--older-than-days must be a whole number of days, got "${daysText}"`);
      noMore(args, name);
      run = (config) => withCore(config, async (core) => {
        const days = daysText !== undefined ? Number(daysText) : Number(core.settings.get()['queue.retention_days']);
        out(`deleted ${await cleanCompleted(core.queue, days * 86_400_000)} finished task(s) older than ${days} day(s)`);
        return 0;
      });
      break;
    }
    case 'chain reset': {
      const chainId = id(positional(args, 'a chain id', name), 'chain id');
      noMore(args, name);
      run = (config) => withCore(config, async (core) => {
        out(await resetChain(core.queue, chainId));
        return 0;
      });
      break;
    }
    case 'target limit': {
      const target = positional(args, 'a target name', name);
      const limitText = positional(args, 'a limit', name);
      if (!/^\d{1,2}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 64) throw new UsageError(`limit must be a whole number between 1 and 64, got "${limitText}"`);
      noMore(args, name);
      run = (config) => withCore(config, async (core) => {
        const r = await setTargetLimit(core.db, target, Number(limitText));
        out(`${target}: up to ${limitText} task(s) at once${r.busyAboveLimit ? ` (${r.busyAboveLimit} running above the new limit will finish first)` : ''}`);
        return 0;
      });
      break;
    }
    case 'set': {
      const key = positional(args, 'a setting key', name);
      let value = args.shift();
      if (value === undefined) throw new UsageError(`set needs a value for ${key} ("-" reads it from standard input, for secrets)`);
      noMore(args, name);
      // A secret on the command line would show in ps and shell history: read it from stdin instead.
      if (value === '-') value = (await readStdin()).replace(/\r?\n$/, '');
      run = (config) => withCore(config, async (core) => {
        await writeSetting(core.db, key, value, core.config.masterKey);
        out(`${key} = ${isSecretSetting(key) ? '******** (stored encrypted)' : isHiddenSetting(key) ? '******** (hidden)' : value}`);
        return 0;
      });
      break;
    }
    case 'admin-password': {
      // Never on the command line (ps, shell history): "-" reads it from standard input.
      if (args.shift() !== '-') throw new UsageError('admin-password reads the password from standard input: run "hostbridge admin-password -"');
      noMore(args, name);
      const password = (await readStdin()).replace(/\r?\n$/, '');
      run = (config) => withCore(config, async (core) => {
        await setAdminPassword(core.db, password);
        out('admin password set; admin sessions opened with the old password were logged out');
        return 0;
      });
      break;
    }
    case 'openapi':
      noMore(args, name);
      // Needs no configuration: the document comes from the schemas alone.
      out(JSON.stringify(openApiDocument(), null, 2));
      return 0;
    case 'server add':
    case 'group add': {
      noMore(args, name);
      const text = await readStdin();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw new UsageError(`${name} reads a JSON object on standard input; that was not JSON (${(err as Error).message})`);
      }
      run = (config) => withCore(config, async (core) => {
        const newId = name === 'server add'
          ? await addServer(core.db, core.config.masterKey, checkBody<ServerInput>('Server', body))
          : await saveGroup(core.db, checkBody<GroupInput>('ServerGroup', body));
        out(`${name === 'server add' ? 'server' : 'server group'} ${newId} added`);
        return 0;
      });
      break;
    }
    case 'server list':
    case 'group list':
      noMore(args, name);
      run = (config) => withCore(config, async (core) => {
        const rows = name === 'server list' ? await listServers(core.db) : await listGroups(core.db);
        for (const r of rows) out(JSON.stringify(r));
        if (rows.length === 0) out(name === 'server list' ? 'no servers yet' : 'no server groups yet');
        return 0;
      });
      break;
    default:
      if (sub) throw new UsageError(`unknown command "${name}"`);
      throw new UsageError(`unknown command "${command}"`);
  }

  const config = loadConfig();
  return run(config);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function withCoreNoSchema<R>(config: Config, fn: (core: Core) => Promise<R>): Promise<R> {
  const core = await openCore(config);
  try {
    return await fn(core);
  } finally {
    await core.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`hostbridge: ${err.message}\nRun "hostbridge --help" for usage.\n`);
      process.exitCode = 2;
    } else if (err instanceof ConfigError) {
      process.stderr.write(`hostbridge: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof StartupError || err instanceof AdminError || err instanceof SchedulerError || err instanceof SettingError || err instanceof InputError || err instanceof PasswordError) {
      process.stderr.write(`hostbridge: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`hostbridge: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
