// What the presentation layer needs from the daemon: the database (and the queue over it), the shared secret (signed
// links, the login form's token), the master key (settings and credentials it writes), the
// scheduler (the Settings page's jobs), the logger, and a way to wake the engine after an action.
import type { Knex } from 'knex';
import type { Logger } from '../log/logger.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { Queue } from '../engine/queue.ts';
import type { FleetAccess } from '../fleet/access.ts';

export interface PageDeps {
  db: Knex;
  /** The database with the chain-end hooks: the admin operations and the service buttons go through it. */
  queue: Queue;
  secret: string;
  masterKey: Buffer;
  scheduler: Scheduler;
  logger: Logger;
  /** Called when an action has made work due (a retry, a repair): wakes the engine. */
  onTick?: () => void;
  /** The daemon's server access (its SSH pool), for the hosting panels' live reads of HestiaCP; absent (tests that build the app alone): the readers open their own. */
  fleet?: FleetAccess;
}
