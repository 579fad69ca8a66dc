// An in-process engine on a test database, with the tests' own task types (task-types.ts) and quiet logs; and hooks
// for tests of the queue alone (no service, no ticket), which record what they were called with.
import { Engine } from '../../daemon/engine/engine.ts';
import { TaskRegistry } from '../../daemon/engine/registry.ts';
import type { RetryPolicy } from '../../daemon/engine/retry.ts';
import type { ChainOutcome, EndingChain, QueueHooks, TaskFailure } from '../../daemon/engine/hooks.ts';
import type { Queue } from '../../daemon/engine/queue.ts';
import { registerTestTaskTypes } from './task-types.ts';
import { createLogger } from '../../daemon/log/logger.ts';
import { Writable } from 'node:stream';

export const quietLogger = () => createLogger({ format: 'json', level: 'error', stream: new Writable({ write(_c, _e, cb) { cb(); } }) });

export function testEngine(queue: Queue, opts: { concurrency?: number; leaseMs?: number; pollMs?: number; retry?: Partial<RetryPolicy>; registry?: TaskRegistry } = {}) {
  const registry = opts.registry ?? registerTestTaskTypes(new TaskRegistry());
  const policy: RetryPolicy = { maxAttempts: 5, baseMs: 40, capMs: 400, jitter: 0.2, ...opts.retry };
  const engine = new Engine(queue, registry, {
    concurrency: opts.concurrency ?? 4, leaseMs: opts.leaseMs ?? 5000, pollMs: opts.pollMs ?? 20, logger: quietLogger(),
    retryDefaults: () => policy,
  });
  return { engine, registry, policy };
}

/** Hooks that write nothing and keep every call, so a test can prove when they ran and when not. */
export function recordingHooks(): QueueHooks & { chainEnds: Array<{ chain: EndingChain; outcome: ChainOutcome }>; failures: TaskFailure[] } {
  const chainEnds: Array<{ chain: EndingChain; outcome: ChainOutcome }> = [];
  const failures: TaskFailure[] = [];
  return {
    chainEnds, failures,
    async onChainEnd(_trx, chain, outcome) {
      chainEnds.push({ chain, outcome });
    },
    async onTaskFailed(_trx, failure) {
      failures.push(failure);
    },
  };
}
