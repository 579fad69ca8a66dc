// The world most daemon-level tests start from: a fresh database of the given dialect, a daemon in
// this process on it and, for the flows that reach nodes, the emulated fleet registered with it.
import fs from 'node:fs';
import type { Daemon } from '../../daemon/runtime.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { T } from '../../daemon/common/tables.ts';
import { startTestDaemon } from './inprocess.ts';
import { createTestDb, tmpDir, waitFor, type TestDb, type TestDialect } from './db.ts';
import { addTestFleet, type TestFleet } from './api.ts';
import { registerFleet, startEmulatedFleet, type EmulatedFleet, type FleetOptions, type RegisteredFleet } from './fleet.ts';

export interface DaemonWorld {
  dir: string;
  tdb: TestDb;
  daemon: Daemon;
  close(): Promise<void>;
}

export type RoutesWorld = DaemonWorld & { fleet: TestFleet };
export type FleetWorld = DaemonWorld & { fleet: EmulatedFleet; reg: RegisteredFleet };

/** A daemon on a fresh database; its close stops it, drops the database and removes the dir. */
export async function startDaemonWorld(dialect: TestDialect, prefix: string, env: Record<string, string> = {}): Promise<DaemonWorld> {
  const dir = tmpDir(prefix);
  const tdb = await createTestDb(dialect, { migrate: false });
  const daemon = await startTestDaemon(dir, tdb.url, env);
  return {
    dir, tdb, daemon,
    async close() {
      await daemon.stop().catch(() => {});
      await tdb.drop().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** For the route tests: a daemon whose engine is stopped (nothing queued runs), and a fleet in its inventory only. */
export async function startRoutesWorld(dialect: TestDialect, prefix: string): Promise<RoutesWorld> {
  const w = await startDaemonWorld(dialect, prefix);
  await w.daemon.engine.stop(1000);
  return { ...w, fleet: await addTestFleet(w.daemon.url) };
}

/** A daemon and the emulated fleet, registered through the API. */
export async function startFleetWorld(dialect: TestDialect, prefix: string, fleetOptions: FleetOptions, env: Record<string, string> = {}): Promise<FleetWorld> {
  const w = await startDaemonWorld(dialect, prefix, env);
  const fleet = await startEmulatedFleet(fleetOptions);
  const reg = await registerFleet(w.daemon.url, fleet);
  return {
    ...w, fleet, reg,
    async close() {
      await w.close();
      await fleet.close().catch(() => {});
    },
  };
}

const JOBS = ['check-servers', 'sync-usage'];

/**
 * The scheduler's own work on the nodes (health checks, usage syncs) happens once, now, and not
 * again during the test: a test that counts the commands an action sends sees only that action's.
 */
export async function quietScheduledNodeWork(daemon: Daemon, tdb: TestDb): Promise<void> {
  for (const job of JOBS) await writeSetting(tdb.db, `scheduler.${job}.interval_s`, '86400');
  await daemon.core.settings.refresh();
  await daemon.core.scheduler.pass(() => {});
  // The daemon's own pass may be running a job right now, with the old interval: its tasks count
  // only once that run has queued them, so wait for the locks to clear, then for the tasks.
  await waitFor('the scheduler\'s running jobs', async () => (await tdb.db(T.jobs).whereIn('name', JOBS).whereNotNull('locked_by').first('name')) === undefined, 30_000);
  await waitFor('the first health checks', async () => (await tdb.db(T.tasks).whereIn('operation', ['health', 'usage']).whereNotIn('status', ['succeeded', 'failed', 'cancelled']).first('id')) === undefined, 30_000);
}
