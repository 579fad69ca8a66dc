// A one-shot command's daemon core (database, settings, scheduler), opened for the command and
// closed after it, whatever happens.
import type { Config } from '../config/config.ts';
import { ensureSchema, openCore, type Core } from '../runtime.ts';
import { out } from './io.ts';

/** The core on an up-to-date schema (else the StartupError that says to migrate), settings read. */
export async function withCore<R>(config: Config, fn: (core: Core) => Promise<R>): Promise<R> {
  return withCoreNoSchema(config, async (core) => {
    await ensureSchema(core, false);
    await core.settings.refresh();
    return fn(core);
  });
}

/** The core whatever the schema: for `migrate`. */
export async function withCoreNoSchema<R>(config: Config, fn: (core: Core) => Promise<R>): Promise<R> {
  const core = await openCore(config);
  try {
    return await fn(core);
  } finally {
    await core.close();
  }
}

/** The shape of most one-shot commands: open the core, do the work, print the line it returns, exit 0. */
export function report(config: Config, fn: (core: Core) => Promise<string>): Promise<number> {
  return withCore(config, async (core) => {
    out(await fn(core));
    return 0;
  });
}
