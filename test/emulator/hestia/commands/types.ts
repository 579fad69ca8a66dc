import type { Ctx } from './ctx.ts';

export interface Command {
  /** Returns stdout; throws HestiaExit to stop with a code. */
  run(c: Ctx): string;
  /** Argument position logged as '******' (HIDE in the bash script). */
  hide?: number;
  /** Whether success appends a system.log line (actions do, listings don't). */
  logs?: boolean;
  /** What the command reads from stdin, decided from its arguments before it runs. */
  stdin?: (args: string[]) => 'none' | 'line' | 'all';
}
