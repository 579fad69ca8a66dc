// `hostbridge serve` with the tests' own task types (task-types.ts) registered too: the entry
// the chaos tests start daemon processes with (TEST_SERVE), configured like the real one.
import { loadConfig } from '../../daemon/config/config.ts';
import { serveUntilStopped } from '../../daemon/cli/commands/daemon.ts';
import { registerTestTaskTypes } from './task-types.ts';

const config = loadConfig();
process.exitCode = await serveUntilStopped(config, { migrate: config.migrateOnStart, extraTaskTypes: registerTestTaskTypes });
