// `hostbridge serve` with one extra task type, test.stall, for the lease-expiry test: a daemon
// that stalls (its whole event loop frozen, as under a long GC pause, swap or a SIGSTOP) in the
// middle of a task, for exactly as long as the test says. While it is frozen nothing of it runs,
// lease renewals included; the step then returns as if nothing had happened.
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../daemon/config/config.ts';
import { serveUntilStopped } from '../../daemon/cli/commands/daemon.ts';
import { TerminalError } from '../../daemon/common/errors.ts';
import type { TaskRegistry } from '../../daemon/engine/registry.ts';

/** Freezes this thread until `file` exists (checked every 20 ms), at most maxMs. */
function freezeUntil(file: string, maxMs: number): boolean {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + maxMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) return false;
    Atomics.wait(cell, 0, 0, 20);
  }
  return true;
}

function registerStall(registry: TaskRegistry): void {
  registry.register({
    name: 'test.stall',
    description: 'Freezes the daemon on attempts up to args.attempts: writes <dir>/stalled-<n>, then waits for <dir>/release-<n>.',
    async run(ctx) {
      const a = (ctx.task.args ?? {}) as { dir?: string; attempts?: number };
      if (!a.dir || !path.isAbsolute(a.dir)) throw new TerminalError('test.stall: args.dir must be an absolute directory');
      const n = ctx.task.attempt;
      if (n > Number(a.attempts ?? 0)) return { stalled: false };
      ctx.log(`attempt ${n}: stalling`);
      fs.writeFileSync(path.join(a.dir, `stalled-${n}`), String(process.pid));
      if (!freezeUntil(path.join(a.dir, `release-${n}`), 120_000)) throw new TerminalError(`test.stall: attempt ${n} was never released`);
      return { stalled: true };
    },
  });
}

const config = loadConfig();
process.exitCode = await serveUntilStopped(config, { migrate: config.migrateOnStart, extraTaskTypes: registerStall });
