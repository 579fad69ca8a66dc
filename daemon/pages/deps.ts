// What the presentation layer needs from the daemon: the database, the shared secret (signed
// links, the login form's token), the master key (settings and credentials it writes), the
// scheduler (the Settings page's jobs), the logger, and a way to wake the engine after an action.
import type { Knex } from 'knex';
import type { Logger } from '../log/logger.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';

export interface PageDeps {
  db: Knex;
  secret: string;
  masterKey: Buffer;
  scheduler: Scheduler;
  logger: Logger;
  /** Called when an action has made work due (a retry, a repair): wakes the engine. */
  onTick?: () => void;
}
