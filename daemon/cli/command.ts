// What a CLI command is: a row of the command table (name, usage line, one-line description, run
// function), and the usage error every command throws for bad arguments (exit 2).
import type { Config } from '../config/config.ts';

export interface CliContext {
  /** Loads the configuration (and may create the default data directory): call it only once the arguments are checked. */
  config(): Config;
}

export interface Command {
  /** What is typed: "tick", or "task retry" for a sub-command of a family. */
  name: string;
  /** The usage line help shows, starting with the name: "task retry <id>". */
  usage: string;
  /** One line for help. */
  describe: string;
  /** Further help lines under the description. */
  details?: string[];
  /**
   * Checks `args` (what follows the name) and runs; resolves to the exit code. Bad arguments
   * throw a UsageError before ctx.config() is called, so they touch neither files nor database.
   */
  run(args: string[], ctx: CliContext): Promise<number>;
}

/** A section of help: commands that belong together, in one file under commands/. */
export interface CommandGroup {
  title: string;
  commands: Command[];
}

export class UsageError extends Error {
  /** Commands to show under the message (an unknown command lists the ones there are). */
  readonly usage: Command[];

  constructor(message: string, usage: Command[] = []) {
    super(message);
    this.usage = usage;
  }
}
