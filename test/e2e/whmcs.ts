// Shared by the end-to-end tests: the WHMCS side (the PHP module run by `php`, as WHMCS runs it),
// a daemon in this process with its engine running, and the emulated fleet registered with it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import type { Daemon } from '../../daemon/runtime.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { createTestDb, tmpDir, type TestDb, type TestDialect } from '../helpers/db.ts';
import { ROOT, TEST_SECRET } from '../helpers/daemon.ts';
import { quietScheduledNodeWork } from '../helpers/world.ts';
import { call } from '../helpers/api.ts';
import { registerFleet, startEmulatedFleet, type EmulatedFleet, type FleetOptions, type RegisteredFleet } from '../helpers/fleet.ts';

const RUNNER = path.join(ROOT, 'test/e2e/module.php');

/** Calls hostbridge_<fn>($params) in a php process (asynchronously: the daemon answering it runs in this process). */
export function moduleCall(fn: string, params: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn('timeout', ['60', 'php', RUNNER, fn], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`php module.php ${fn} exited ${code}: ${err}${out}`));
      try {
        resolve((JSON.parse(out) as { result: unknown }).result);
      } catch {
        reject(new Error(`php module.php ${fn} printed no JSON: ${out}${err}`));
      }
    });
    child.stdin.end(JSON.stringify(params));
  });
}

export type Mode = 'split' | 'unified' | 'vanity';

export interface Order {
  serviceId: number;
  mode: Mode;
  domain: string;
  vanityName?: string;
  /** configoption overrides (e.g. { configoption6: '4096' }). */
  product?: Record<string, string>;
  password?: string;
}

/** The $params WHMCS hands a server module for a service of a hostbridge product. */
export function whmcsParams(daemonUrl: string, groupId: number, o: Order): Record<string, unknown> {
  const u = new URL(daemonUrl);
  const p: Record<string, unknown> = {
    serviceid: o.serviceId, userid: 7, pid: o.mode === 'split' ? 3 : o.mode === 'unified' ? 4 : 5,
    domain: o.domain, username: `u${o.serviceId}`, password: o.password ?? 'Cust0mer-Pa55!',
    clientsdetails: { email: 'owner@example.com' },
    serverhostname: u.hostname, serverport: u.port, serverpassword: TEST_SECRET, serversecure: '',
    configoptions: o.mode === 'vanity' ? { vanity_domain: 'sites.example.net' } : {},
    customfields: o.mode === 'vanity' ? { vanity_name: o.vanityName ?? '' } : {},
  };
  for (let i = 1; i <= 24; i++) p[`configoption${i}`] = '';
  Object.assign(p, {
    configoption1: o.mode, configoption2: String(groupId), configoption3: 'on', configoption4: 'on', configoption5: 'on',
    configoption6: '2048', configoption7: '1024', configoption8: '10240', configoption9: '1', configoption10: '2', configoption11: '10',
    configoption12: '512', configoption13: '256',
  }, o.product ?? {});
  return p;
}

export interface E2E {
  dir: string;
  tdb: TestDb;
  db: Knex;
  daemon: Daemon;
  url: string;
  fleet: EmulatedFleet;
  reg: RegisteredFleet;
  module(fn: string, o: Order, extra?: Record<string, unknown>): Promise<unknown>;
  service(serviceId: number): Promise<any>;
  waitState(serviceId: number, states: string[], timeoutMs?: number): Promise<any>;
  setting(key: string, value: string): Promise<void>;
  /** Tasks of a service (newest chain last) with their attempts, for failure reports. */
  tasks(serviceId: number): Promise<any[]>;
  close(): Promise<void>;
}

/** The dialect is required: every end-to-end test runs on both databases (DIALECTS), never on SQLite alone by default. */
export async function startE2E(opts: { dialect: TestDialect; fleet?: FleetOptions; daemonEnv?: Record<string, string> }): Promise<E2E> {
  const dir = tmpDir('hb-e2e-');
  const tdb = await createTestDb(opts.dialect, { migrate: false });
  const fleet = await startEmulatedFleet({ latencyMs: 0, ...opts.fleet });
  const daemon = await startTestDaemon(dir, tdb.url, { HOSTBRIDGE_POLL_MS: '50', ...opts.daemonEnv });
  const reg = await registerFleet(daemon.url, fleet);
  await quietScheduledNodeWork(daemon, tdb);
  const url = daemon.url;
  const e: E2E = {
    dir, tdb, db: tdb.db, daemon, url, fleet, reg,
    module: (fn, o, extra = {}) => moduleCall(fn, { ...whmcsParams(url, reg.groupId, o), ...extra }),
    async service(serviceId) {
      const r = await call(url, 'GET', `/v1/services/${serviceId}`);
      return r.status === 200 ? r.body.service : null;
    },
    async waitState(serviceId, states, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: any = null;
      for (;;) {
        // A state is final for the test only when no chain of the service is still running. The chains
        // are counted before the state is read: counted after, a chain ending between the two reads
        // would pass off the state it had just replaced as final (seen on a loaded machine).
        const open = await tdb.db('mod_hostbridge_chains').join('mod_hostbridge_services', 'mod_hostbridge_services.id', 'mod_hostbridge_chains.service_id')
          .where('mod_hostbridge_services.whmcs_service_id', serviceId).whereIn('mod_hostbridge_chains.state', ['running', 'waiting']).count({ n: '*' });
        last = await e.service(serviceId);
        if (last && states.includes(last.state) && Number(open[0]!.n) === 0) return last;
        if (Date.now() > deadline) {
          throw new Error(`service ${serviceId} did not reach ${states.join('|')} in ${timeoutMs} ms; it is ${last?.state}. Tasks:\n${JSON.stringify(await e.tasks(serviceId), null, 1).slice(0, 6000)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async setting(key, value) {
      await writeSetting(tdb.db, key, value, daemon.core.config.masterKey);
      await daemon.core.settings.refresh();
    },
    async tasks(serviceId) {
      const svc = await tdb.db('mod_hostbridge_services').where('whmcs_service_id', serviceId).first('id');
      if (!svc) return [];
      const tasks = await tdb.db('mod_hostbridge_tasks').where('service_id', svc.id).orderBy('id')
        .select('id', 'chain_id', 'operation', 'step', 'type', 'target', 'status', 'attempts', 'last_error');
      for (const t of tasks) {
        t.attempt_log = (await tdb.db('mod_hostbridge_task_attempts').where('task_id', t.id).orderBy('id').select('attempt', 'result', 'error', 'retry_delay_ms', 'output'))
          .map((a: any) => ({ ...a, output: String(a.output ?? '').slice(-1500) }));
      }
      return tasks;
    },
    async close() {
      await daemon.stop().catch(() => {});
      await fleet.close().catch(() => {});
      await tdb.drop().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return e;
}

/** Asserts the module answered 'success', with the daemon's text when not. */
export function ok(result: unknown, what: string): void {
  assert.equal(result, 'success', `${what}: the module answered ${JSON.stringify(result)}`);
}

/** How many times each element occurs more than once. */
export function duplicates(list: string[]): string[] {
  const seen = new Map<string, number>();
  for (const x of list) seen.set(x, (seen.get(x) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([x, n]) => `${x} ×${n}`);
}
