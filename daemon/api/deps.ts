// What the API's framing and routes need from the daemon (a file of its own so the routes and the
// framing both import it without importing each other).
import type { Knex } from 'knex';
import type { Logger } from '../log/logger.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { Queue } from '../engine/queue.ts';
import type { NonceStore } from './signature.ts';

export interface ApiDeps {
  db: Knex;
  /** The database with the chain-end hooks: admin operations and force-terminate's cancellations go through it. */
  queue: Queue;
  secret: string;
  masterKey: Buffer;
  scheduler: Scheduler;
  logger: Logger;
  /** Called when a call has made work due (a tick, a new chain): wakes the engine. */
  onTick?: () => void;
  nonces?: NonceStore;
}
