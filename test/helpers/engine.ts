// An in-process engine on a test database, with the tests' own task types (task-types.ts) and quiet logs.
import type { Knex } from 'knex';
import { Engine } from '../../daemon/engine/engine.ts';
import { TaskRegistry } from '../../daemon/engine/registry.ts';
import type { RetryPolicy } from '../../daemon/engine/retry.ts';
import { registerTestTaskTypes } from './task-types.ts';
import { createLogger } from '../../daemon/log/logger.ts';
import { Writable } from 'node:stream';

export const quietLogger = () => createLogger({ format: 'json', level: 'error', stream: new Writable({ write(_c, _e, cb) { cb(); } }) });

export function testEngine(db: Knex, opts: { concurrency?: number; leaseMs?: number; pollMs?: number; retry?: Partial<RetryPolicy>; registry?: TaskRegistry } = {}) {
  const registry = opts.registry ?? registerTestTaskTypes(new TaskRegistry());
  const policy: RetryPolicy = { maxAttempts: 5, baseMs: 40, capMs: 400, jitter: 0.2, ...opts.retry };
  const engine = new Engine(db, registry, {
    concurrency: opts.concurrency ?? 4, leaseMs: opts.leaseMs ?? 5000, pollMs: opts.pollMs ?? 20, logger: quietLogger(),
    retryDefaults: () => policy,
  });
  return { engine, registry, policy };
}
