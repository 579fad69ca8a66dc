#!/usr/bin/env node
// hostbridge command line: reads the command off argv, runs its row of the command table
// (cli/commands/) and turns what it throws into a message and an exit code.
import { loadConfig, ConfigError } from './config/config.ts';
import { StartupError } from './runtime.ts';
import { AdminError } from './engine/admin.ts';
import { SchedulerError } from './scheduler/scheduler.ts';
import { SettingError } from './settings/settings.ts';
import { PasswordError } from './pages/auth.ts';
import { InputError } from './common/errors.ts';
import { VERSION } from './version.ts';
import { UsageError } from './cli/command.ts';
import { findCommand } from './cli/commands/index.ts';
import { commandLines, helpText } from './cli/help.ts';
import { out } from './cli/io.ts';

async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  if (args.length === 0) {
    process.stderr.write(helpText() + '\n');
    return 2;
  }
  if (args[0] === '-h' || args[0] === '--help' || args[0] === 'help') {
    out(helpText());
    return 0;
  }
  if (args[0] === '-v' || args[0] === '--version') {
    out(VERSION);
    return 0;
  }
  if (args.slice(1).includes('-h') || args.slice(1).includes('--help')) {
    out(helpText());
    return 0;
  }
  const command = findCommand(args);
  // The configuration is loaded only once the command has checked its arguments.
  return command.run(args, { config: () => loadConfig() });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      const usage = err.usage.length ? `Commands:\n${commandLines(err.usage).join('\n')}\n\n` : '';
      process.stderr.write(`hostbridge: ${err.message}\n${usage}Run "hostbridge --help" for usage.\n`);
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
