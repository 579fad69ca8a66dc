// The queue as its callers hold it: the database and the hooks. Every operation that can end a
// chain or fail a task takes a Queue, so it cannot run without the hooks; the runtime builds one.
import type { Knex } from 'knex';
import type { QueueHooks } from './hooks.ts';

export interface Queue {
  readonly db: Knex;
  readonly hooks: QueueHooks;
}
