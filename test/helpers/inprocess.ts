// A real daemon started in this test process on a fresh SQLite file (API, PHP module tests).
import path from 'node:path';
import { loadConfig } from '../../daemon/config/config.ts';
import { startDaemon, type Daemon, type RegisterTaskTypes } from '../../daemon/runtime.ts';
import { quietLogger } from './engine.ts';
import { TEST_MASTER_KEY, TEST_SECRET } from './daemon.ts';

/**
 * A daemon on a fresh SQLite file in dir, or on the given database URL (e.g. a test MariaDB);
 * extraTaskTypes for a test that queues the tests' own task types (task-types.ts).
 */
export function startTestDaemon(dir: string, databaseUrl?: string, extra: Record<string, string> = {}, extraTaskTypes?: RegisterTaskTypes): Promise<Daemon> {
  const config = loadConfig({
    HOSTBRIDGE_DATABASE_URL: databaseUrl ?? path.join(dir, 'hostbridge.sqlite'),
    ...extra,
    HOSTBRIDGE_LISTEN: '127.0.0.1:0',
    HOSTBRIDGE_SECRET: TEST_SECRET,
    HOSTBRIDGE_MASTER_KEY: TEST_MASTER_KEY,
  }, dir);
  return startDaemon(config, { migrate: true, logger: quietLogger(), extraTaskTypes });
}
