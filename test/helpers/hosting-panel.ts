// What the hosting panel's tab tests share: a daemon on an emulated fleet with a hosting service
// deployed through the signed API and active, and the helpers that run the panel's actions through
// its dispatcher and the engine (act, done, chainEnds), count the service's chains and check a
// refusal (an InputError naming the field, nothing queued, nothing changed where the test looks).
import assert from 'node:assert/strict';
import { T } from '../../daemon/common/tables.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { FleetAccess } from '../../daemon/fleet/access.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { serviceByWhmcsId } from '../../daemon/services/store.ts';
import { clientActor, hostingContext, runHostingAction, type HostingDispatchDeps, type HostingService } from '../../daemon/services/hosting-panel/dispatch.ts';
import type { HostingContext } from '../../daemon/services/hosting-panel/types.ts';
import { call, createBody } from './api.ts';
import { waitFor, type TestDialect } from './db.ts';
import type { FleetOptions } from './fleet.ts';
import { quietScheduledNodeWork, startFleetWorld, type FleetWorld } from './world.ts';

/** The jobs that would otherwise reach the nodes while a test counts their commands. */
const QUIET_JOBS = ['check-servers', 'sync-usage', 'ssl-check', 'ssl-custom-expiry'];

export interface PanelWorldOptions {
  /** The service's own fields beside the WHMCS id and the server group (domain, client_id…). */
  service: Record<string, unknown>;
  /** A hosting plan created first (POST /v1/hosting-plans); its id is passed to configOptions. */
  hostingPlan?: Record<string, unknown>;
  configOptions?: Record<string, string> | ((planId: number) => Record<string, string>);
  /**
   * The scheduled node work kept out of the test's counts: these jobs slowed to once a day (default:
   * health checks, usage sync and the SSL checks), 'node-work' for world.ts's quietScheduledNodeWork
   * (which also waits for their first run to end), or false to leave the schedule as it is.
   */
  quiet?: string[] | 'node-work' | false;
  /** Further settings written before the first scheduler pass. */
  settings?: Array<readonly [string, string]>;
}

export interface PanelWorld extends FleetWorld {
  /** The service once active. */
  svc: HostingService;
  access: FleetAccess;
  deps: HostingDispatchDeps;
}

/** A daemon on an emulated fleet (scheduled node work quietened), the service deployed and active. */
export async function startPanelWorld(dialect: TestDialect, prefix: string, fleetOptions: FleetOptions, whmcsId: number, opts: PanelWorldOptions): Promise<PanelWorld> {
  const world = await startFleetWorld(dialect, prefix, fleetOptions, { HOSTBRIDGE_POLL_MS: '50' });
  const { tdb, daemon, reg } = world;
  let svc: HostingService;
  // A set-up that fails closes what it started: the test's after() never sees this world.
  try {
    const quiet = opts.quiet ?? QUIET_JOBS;
    for (const job of Array.isArray(quiet) ? quiet : []) await writeSetting(tdb.db, `scheduler.${job}.interval_s`, '86400');
    for (const [k, v] of opts.settings ?? []) await writeSetting(tdb.db, k, v);
    if (Array.isArray(quiet)) {
      await daemon.core.settings.refresh();
      await daemon.core.scheduler.pass(() => {});
    } else if (quiet === 'node-work') await quietScheduledNodeWork(daemon, tdb);
    else if (opts.settings?.length) await daemon.core.settings.refresh();
    let planId = 0;
    if (opts.hostingPlan) {
      const plan = await call(daemon.url, 'POST', '/v1/hosting-plans', opts.hostingPlan);
      assert.equal(plan.status, 201, JSON.stringify(plan.body));
      planId = plan.body.id;
    }
    const config = typeof opts.configOptions === 'function' ? opts.configOptions(planId) : opts.configOptions ?? {};
    const r = await call(daemon.url, 'POST', '/v1/services', createBody(whmcsId, reg.groupId, opts.service, config));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    svc = await waitFor('the service active', async () => {
      const s = await serviceByWhmcsId(tdb.db, whmcsId);
      assert.notEqual(s?.state, 'failed');
      return s?.state === 'active' ? s : null;
    }, 60_000, 50) as HostingService;
  } catch (err) {
    await world.close();
    throw err;
  }
  const access = new FleetAccess(daemon.core.db, daemon.core.config.masterKey);
  const deps: HostingDispatchDeps = { queue: daemon.core.queue, masterKey: daemon.core.config.masterKey, hestia: async (id) => (await access.hestia(id, {})).driver };
  return {
    ...world, svc, access, deps,
    async close() {
      await access.close();
      await world.close();
    },
  };
}

/** A tab that loads its view model (services/hosting-panel/*.ts). */
export interface LoadableTab { load(ctx: HostingContext): Promise<Record<string, unknown>> }

/**
 * The helpers over a panel world that a describe block starts in its before(): they read the world
 * when called, so they can be made at the describe's top.
 */
export function panelHelpers(current: () => { tdb: FleetWorld['tdb']; deps?: HostingDispatchDeps; svc: { id: number } }, whmcsId: number, client: number) {
  const act = (action: string, fields: Record<string, string>) => runHostingAction(current().deps!, whmcsId, action, fields, clientActor(client), client);
  const chainCount = async () => {
    const w = current();
    return Number(((await w.tdb.db(T.chains).where('service_id', w.svc.id).count({ n: '*' }).first()) as { n: number }).n);
  };
  /** The chain's end state, with its tasks' errors after a colon. */
  const chainEnds = async (chainId: number) => {
    const db = current().tdb.db;
    const c = await waitFor(`chain ${chainId}`, async () => {
      const row = await db(T.chains).where('id', chainId).first('state');
      return row && !['running', 'waiting'].includes(row.state) ? row : null;
    }, 30_000, 50);
    const errors = (await db(T.tasks).where('chain_id', chainId).pluck('last_error')).filter(Boolean);
    return `${c.state}${errors.length ? `: ${errors.join('; ')}` : ''}`;
  };
  /** Runs the action and asserts its chain succeeded. */
  const done = async (action: string, fields: Record<string, string>) => {
    const r = await act(action, fields);
    assert.equal(await chainEnds(r.chainId), 'succeeded', `${action} ${JSON.stringify(fields)}`);
    return r;
  };
  /** The tab's view model for the service as it is now. */
  const view = async (tab: LoadableTab) => {
    const w = current();
    const svc = (await serviceByWhmcsId(w.tdb.db, whmcsId)) as HostingService;
    return tab.load(hostingContext(w.tdb.db, svc, w.deps!.hestia)) as Promise<Record<string, any>>;
  };
  /**
   * A refusal checker: the action is refused with an InputError naming `field` (matching `message`,
   * with `status` if given); no chain is queued and `unchanged()` reads the same after (`what` says
   * what it watches, for the failure's message).
   */
  const refusedWith = (unchanged: () => unknown, what: string) => async (action: string, fields: Record<string, string>, field: string, message: RegExp, status?: number) => {
    const [chains, seen] = [await chainCount(), await unchanged()];
    await assert.rejects(act(action, fields), (err: unknown) => {
      assert.ok(err instanceof InputError, String(err));
      assert.equal(err.field, field, err.message);
      assert.match(err.message, message);
      if (status !== undefined) assert.equal(err.status, status, err.message);
      return true;
    });
    assert.equal(await chainCount(), chains, 'no chain was queued');
    assert.deepEqual(await unchanged(), seen, what);
  };
  return { act, chainCount, chainEnds, done, view, refusedWith };
}
