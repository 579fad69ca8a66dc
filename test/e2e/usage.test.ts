// Usage sync on MariaDB over the emulated fleet: Split services deployed through the API, figures
// written into each account's user.conf as Hestia's disk and traffic jobs would, then the
// sync-usage job. Each server answers one v-list-users; every service's total is its web part plus
// its mail part, even though the web and mail servers of a service are synced by two tasks at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Daemon } from '../../daemon/runtime.ts';
import { paths } from '../emulator/hestia/index.ts';
import { call, createBody } from '../helpers/api.ts';
import { waitFor, type TestDb } from '../helpers/db.ts';
import type { EmulatedFleet, RegisteredFleet } from '../helpers/fleet.ts';
import { quietScheduledNodeWork, startFleetWorld, type FleetWorld } from '../helpers/world.ts';

const SERVICES = [7101, 7102, 7103, 7104, 7105, 7106];
let world: FleetWorld;
let tdb: TestDb;
let daemon: Daemon;
let fleet: EmulatedFleet;
let reg: RegisteredFleet;

before(async () => {
  world = await startFleetWorld('mysql', 'hb-usage-', { web: 2, mail: 2, dns: 0, combo: 0, pdns: false }, { HOSTBRIDGE_POLL_MS: '50' });
  ({ tdb, daemon, fleet, reg } = world);
  await quietScheduledNodeWork(daemon, tdb);
  for (const id of SERVICES) {
    const r = await call(daemon.url, 'POST', '/v1/services', createBody(id, reg.groupId, {}, { configoption6: '2048', configoption7: '1024' }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  await waitFor('every service active', async () => {
    const states = await tdb.db('mod_hostbridge_services').whereIn('whmcs_service_id', SERVICES).pluck('state');
    assert.ok(!states.includes('failed'), `a deployment failed: ${states}`);
    return states.length === SERVICES.length && states.every((s: string) => s === 'active');
  }, 120_000, 100);
});
after(async () => { await world?.close(); });

/** Sets an account's disk and bandwidth counters on its node, as v-update-user-disk/-traff would. */
function setCounters(nodeName: string, account: string, diskMb: number, bwMb: number): void {
  const conf = paths.userConf(fleet.node(nodeName).dir, account);
  const text = fs.readFileSync(conf, 'utf8');
  assert.match(text, /^U_DISK='\d+'$/m);
  fs.writeFileSync(conf, text.replace(/^U_DISK='\d+'$/m, `U_DISK='${diskMb}'`).replace(/^U_BANDWIDTH='\d+'$/m, `U_BANDWIDTH='${bwMb}'`));
}

async function syncOnce(): Promise<number> {
  const started = Date.now();
  const r = await daemon.core.scheduler.runNow('sync-usage', () => {});
  assert.equal(r.result, 'ok', r.message);
  await waitFor('the usage syncs to finish', async () => {
    const tasks = await tdb.db('mod_hostbridge_tasks').where('type', 'usage.sync').where('created_at', '>=', started).pluck('status');
    assert.ok(!tasks.includes('failed'), 'a usage.sync task failed');
    return tasks.length > 0 && tasks.every((s: string) => s === 'succeeded');
  }, 60_000, 50);
  return started;
}

test('one v-list-users per server, and each service totals its web and mail parts, round after round', async () => {
  const names = new Map<number, string>(Object.entries(reg.ids).map(([n, id]) => [id, n]));
  const holdings = await tdb.db('mod_hostbridge_service_servers as h').join('mod_hostbridge_services as s', 's.id', 'h.service_id')
    .whereIn('s.whmcs_service_id', SERVICES).select('s.whmcs_service_id as sid', 'h.server_id', 'h.role', 'h.account');
  assert.equal(holdings.length, SERVICES.length * 2, 'a web and a mail account per Split service');
  const servers = [...new Set(holdings.map((h: { server_id: number }) => names.get(Number(h.server_id))!))];
  for (let round = 1; round <= 3; round++) {
    const expected = new Map<number, { disk: number; bw: number }>();
    holdings.forEach((h: { sid: number; server_id: number; role: string; account: string }, i: number) => {
      const disk = round * 100 + i;
      const bw = h.role === 'web' ? round * 1000 + i : 0;
      setCounters(names.get(Number(h.server_id))!, h.account, disk, bw);
      const e = expected.get(Number(h.sid)) ?? { disk: 0, bw: 0 };
      expected.set(Number(h.sid), { disk: e.disk + disk, bw: e.bw + bw });
    });
    const logStart = Object.fromEntries(servers.map((n) => [n, fleet.node(n).ssh.commandLog().length]));
    const started = await syncOnce();
    for (const n of servers) {
      const ran = fleet.node(n).ssh.commandLog().slice(logStart[n]).filter((e) => e.ran && (e.argv ?? []).some((a) => /(^|\/)v-/.test(a)));
      assert.deepEqual(ran.map((e) => (e.argv ?? []).find((a) => /(^|\/)v-/.test(a))!.replace(/^.*\//, '')), ['v-list-users'], `round ${round}: one command on ${n}`);
    }
    const usage = (await call(daemon.url, 'GET', `/v1/usage?whmcs_service_ids=${SERVICES.join(',')}`)).body.services as Array<Record<string, any>>;
    assert.equal(usage.length, SERVICES.length);
    for (const u of usage) {
      const e = expected.get(u.whmcs_service_id)!;
      assert.equal(u.disk_used_mb, e.disk, `round ${round}: disk of service ${u.whmcs_service_id} is its web plus its mail part`);
      assert.equal(u.bw_used_mb, e.bw, `round ${round}: bandwidth of service ${u.whmcs_service_id}`);
      assert.equal(u.disk_limit_mb, 2048 + 1024, 'the limit is the web quota plus the mail quota');
      assert.ok(u.collected_at >= started);
    }
  }
});
