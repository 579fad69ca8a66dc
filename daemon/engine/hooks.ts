// What a chain's end and a task's failure mean outside the queue (a service's state, a ticket),
// as hooks the runtime passes in. The engine calls them inside its own transaction, so their
// writes commit or roll back with the engine's; it knows nothing of what they write.
import type { Knex } from 'knex';

export type ChainOutcome = 'succeeded' | 'failed' | 'cancelled';

/** A chain as it ends. The two states are what the chain was enqueued with; only a hook reads them. */
export interface EndingChain {
  id: number;
  serviceId: number | null;
  operation: string;
  successState: string | null;
  failureState: string | null;
  /** When it was enqueued and when it began running (null: it never ran), on the database's clock (ms). */
  createdAt: number;
  startedAt: number | null;
}

/** A task that failed on its own: a terminal error, or its last allowed attempt. */
export interface TaskFailure {
  taskId: number;
  chainId: number | null;
  serviceId: number | null;
  operation: string;
  step: string;
  type: string;
  target: string | null;
  attempts: number;
  /** The error as a person reads it, with "gave up after n attempts" when the retries ran out. */
  reason: string;
  terminal: boolean;
}

export interface QueueHooks {
  /** Runs as a chain succeeds, fails or is cancelled, before the service's next chain starts. */
  onChainEnd(trx: Knex.Transaction, chain: EndingChain, outcome: ChainOutcome): Promise<void>;
  /** Runs as a task fails for good on its own; not when an admin force-fails it (the admin knows). */
  onTaskFailed(trx: Knex.Transaction, failure: TaskFailure): Promise<void>;
}
