// 100 deployments (Split, Unified, Vanity) run by a daemon child process that is killed with
// SIGKILL at random points and restarted each time, on MariaDB (the production database). At the
// end every service converges to `active`, and every node holds exactly what the services' plans
// say — counted per node from the holdings the daemon wrote with each order — with nothing doubled.
//
// Leases are long (LEASE_MS): a live daemon renews every third of it, so a loaded machine's stall
// cannot take a task from a daemon still running it and have it run twice. Once a killed daemon's
// process has exited, the test expires its leases itself (the state LEASE_MS later), so the next
// daemon takes those tasks back as lost and re-runs them as it would after the wait. A command it
// had sent still finishes first: the emulated nodes run in this process, in milliseconds, and no
// task re-runs before a new daemon has started.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createTestDb, expireRunningLeases, waitFor, type TestDb } from '../helpers/db.ts';
import { daemonEnv, startDaemonProcess, type DaemonProcess } from '../helpers/daemon.ts';
import { call, createBody } from '../helpers/api.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { dependenciesOf } from '../../daemon/engine/graph.ts';
import { nodeSummary, registerFleet, startEmulatedFleet, PROVIDER_USER, VANITY_PARENT, type EmulatedFleet, type RegisteredFleet } from '../helpers/fleet.ts';
import { duplicates } from './whmcs.ts';
import { seededRandom } from '../helpers/random.ts';

const ORDERS = 100;
const KILLS = Number(process.env.HOSTBRIDGE_TEST_KILLS ?? 12);
const LEASE_MS = 15_000;


interface PlannedOrder { serviceId: number; body: Record<string, unknown>; mode: string; name?: string }

describe('SIGKILL during 100 deployments over the emulated fleet (MariaDB)', () => {
  let t: TestDb;
  let fleet: EmulatedFleet;
  let d: DaemonProcess | null = null;
  const seed = Number(process.env.HOSTBRIDGE_TEST_SEED ?? Date.now() % 1_000_000);
  const random = seededRandom(seed);

  before(async () => {
    t = await createTestDb('mysql');
    // Unlimited attempts with short delays: a killed attempt counts as a failed one, and a kill must never exhaust a task.
    await writeSetting(t.db, 'retry.max_attempts', '0');
    await writeSetting(t.db, 'retry.base_ms', '100');
    await writeSetting(t.db, 'retry.cap_ms', '1000');
    await writeSetting(t.db, 'scheduler.reap-expired-leases.interval_s', '1');
    // One Hestia DNS node beside PowerDNS: a zone costs a few dozen commands per Hestia DNS node,
    // and on a 2-core machine the in-process nodes share this process's CPU with the test.
    fleet = await startEmulatedFleet({ latencyMs: 1, dns: 1 });
  });
  after(async () => {
    await d?.kill('SIGKILL');
    await fleet?.close();
    await t?.drop();
  });

  test(`${KILLS} kills at random points; every service converges, nothing is duplicated`, { timeout: 360_000 }, async () => {
    const logFile = path.join(t.dir, 'daemons.log');
    const env = daemonEnv(t.url, { HOSTBRIDGE_LEASE_MS: String(LEASE_MS), HOSTBRIDGE_SCHEDULER_INTERVAL: '1', HOSTBRIDGE_CONCURRENCY: '8', HOSTBRIDGE_POLL_MS: '50' });
    const start = async () => (d = await startDaemonProcess(env, logFile));
    await start();
    const reg: RegisteredFleet = await registerFleet(d!.url, fleet);
    const orders: PlannedOrder[] = Array.from({ length: ORDERS }, (_, i) => {
      const serviceId = 20_000 + i;
      // 50 Split, 10 Unified, 40 Vanity: every mode, with the Hestia DNS node (one command at a time) not the only clock.
      if (i % 10 === 5) return { serviceId, mode: 'unified', body: createBody(serviceId, reg.groupId, { domain: `u${i}.example.org` }, { configoption1: 'unified' }) };
      if (i % 10 >= 6) {
        return { serviceId, mode: 'vanity', name: `v${i}`, body: createBody(serviceId, reg.groupId, { domain: `v${i}.${VANITY_PARENT}`, config_options: { vanity_domain: VANITY_PARENT }, custom_fields: { vanity_name: `v${i}` } }, { configoption1: 'vanity' }) };
      }
      return { serviceId, mode: 'split', body: createBody(serviceId, reg.groupId, { domain: `s${i}.example.com` }) };
    });

    let sent = 0;
    let killsMidTask = 0;
    const t0 = Date.now();
    for (let k = 0; k < KILLS; k++) {
      if (!d) await start();
      // A burst of orders; one may be in flight when the kill comes (it is sent again at the end).
      const burst = Math.ceil((ORDERS - sent) / (KILLS - k));
      const inFlight: Promise<unknown>[] = [];
      for (let i = 0; i < burst && sent < ORDERS; i++, sent++) inFlight.push(call(d!.url, 'POST', '/v1/services', orders[sent]!.body).catch(() => null));
      await Promise.all(inFlight.slice(0, -1));
      // Within a second of the burst: its chains finish in about two on a fast machine, and a
      // later kill found nothing running (CI: 4 of 12 kills hit a task with 200 to 2,000 ms).
      await new Promise((r) => setTimeout(r, 100 + Math.floor(random() * 900)));
      await d!.kill('SIGKILL');
      d = null;
      // Running under a live lease when the process died (earlier daemons' leases were expired below).
      if (await t.db('mod_hostbridge_tasks').where('status', 'running').where('lease_until', '>', Date.now()).first('id')) killsMidTask++;
      // The process has exited: expire its leases now instead of LEASE_MS from now. No daemon runs.
      await expireRunningLeases(t.db);
      await inFlight[inFlight.length - 1];
    }
    await start();
    // Every order again: those already written answer created:false and change nothing; an order
    // whose request the kill cut off is created now.
    const written = new Set((await t.db('mod_hostbridge_services').select('whmcs_service_id')).map((r) => Number(r.whmcs_service_id)));
    for (const o of orders) {
      const r = await call(d!.url, 'POST', '/v1/services', o.body);
      assert.equal(r.status, 200, `order ${o.serviceId}: ${JSON.stringify(r.body)}`);
      assert.equal((r.body as { created?: unknown }).created, !written.has(o.serviceId), `order ${o.serviceId} sent again: ${JSON.stringify(r.body)}`);
    }
    assert.ok(killsMidTask >= Math.ceil(KILLS / 2), `only ${killsMidTask} of ${KILLS} kills hit a running task (seed ${seed})`);

    // Converge: every service active. On a timeout, say where the work stands.
    const standing = async () => {
      const states = await t.db('mod_hostbridge_services').select('state').count({ n: '*' }).groupBy('state');
      const tasks = await t.db('mod_hostbridge_tasks').select('status').count({ n: '*' }).groupBy('status');
      const open = await t.db('mod_hostbridge_tasks').whereIn('status', ['queued', 'running']).orderBy('id').limit(5).select('id', 'step', 'target', 'status', 'attempts', 'last_error', 'run_at', 'lease_until');
      return `seed ${seed}; services ${JSON.stringify(states)}; tasks ${JSON.stringify(tasks)}; now ${Date.now()}; first open ${JSON.stringify(open)}`;
    };
    let lastReport = Date.now();
    try {
      await waitFor('every service active', async () => {
        const rows = await t.db('mod_hostbridge_services').select('state');
        const failed = rows.filter((r) => r.state === 'failed').length;
        if (failed) throw new Error(`${failed} services failed (seed ${seed}): ${JSON.stringify(await t.db('mod_hostbridge_tasks').where('status', 'failed').select('step', 'target', 'attempts', 'last_error').limit(5))}`);
        if (Date.now() - lastReport > 15_000) { lastReport = Date.now(); console.log(`# ${((Date.now() - t0) / 1000).toFixed(0)} s: ${await standing()}`); }
        return rows.length === ORDERS && rows.every((r) => r.state === 'active');
      }, 270_000, 250);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await standing()}`);
    }
    const open = await t.db('mod_hostbridge_chains').whereIn('state', ['running', 'waiting']).count({ n: '*' });
    assert.equal(Number(open[0]!.n), 0);
    console.log(`# seed ${seed}: ${KILLS} kills (${killsMidTask} mid-task), converged ${((Date.now() - t0) / 1000).toFixed(1)} s after the first order`);

    // The deployments ran as graphs: no step started before the steps it depends on had succeeded,
    // and steps of one service on different servers did run at the same time.
    const steps = await t.db('mod_hostbridge_tasks').whereNotNull('chain_id').orderBy(['chain_id', 'step_no'])
      .select('chain_id', 'step_no', 'step', 'depends_on', 'started_at', 'finished_at');
    const byChain = new Map<number, typeof steps>();
    for (const r of steps) (byChain.get(Number(r.chain_id)) ?? byChain.set(Number(r.chain_id), []).get(Number(r.chain_id))!).push(r);
    let parallel = 0;
    for (const [chain, rs] of byChain) {
      for (const r of rs) {
        for (const d of dependenciesOf(r)) {
          assert.ok(Number(r.started_at) >= Number(rs[d]!.finished_at), `chain ${chain}: ${r.step} started before ${rs[d]!.step}, which it depends on, ended`);
        }
      }
      if (rs.some((a) => rs.some((b) => a !== b && Number(a.started_at) < Number(b.finished_at) && Number(b.started_at) < Number(a.finished_at)))) parallel++;
    }
    // With 100 deployments sharing a few nodes (one command at a time per node), most branches of a
    // deployment wait for a node rather than for each other; some still overlap.
    assert.ok(parallel >= ORDERS / 10, `only ${parallel} of ${ORDERS} deployments ran steps at the same time`);
    console.log(`# ${parallel} of ${byChain.size} deployments ran steps on different servers at the same time; none before its dependencies`);

    // What the plans say each node holds: the holdings written with each order.
    const holdings = await t.db('mod_hostbridge_service_servers').select('server_id', 'role', 'account');
    const expect: Record<string, { users: number; web: number; mail: number; zones: number; mailboxes: number; records: number }> = {};
    // The accounts each node should hold, by name: an account doubled under a second name differs.
    const accounts: Record<string, string[]> = {};
    for (const n of fleet.nodes) {
      expect[n.name] = { users: 0, web: 0, mail: 0, zones: 0, mailboxes: 0, records: 0 };
      accounts[n.name] = [];
    }
    let pdnsZones = 0;
    let pdnsRecords = 0;
    for (const h of holdings) {
      const name = reg.names[Number(h.server_id)]!;
      if (name === 'pdns') { if (h.role === 'dns') pdnsZones++; if (h.role === 'record') pdnsRecords++; continue; }
      const x = expect[name]!;
      if (['web', 'mail', 'all', 'dns'].includes(h.role)) accounts[name]!.push(String(h.account));
      if (h.role === 'web') { x.users++; x.web++; }
      if (h.role === 'mail') { x.users++; x.mail++; }
      if (h.role === 'all') { x.users++; x.web++; x.mail++; }
      if (h.role === 'dns') { x.users++; x.zones++; }
      if (h.role === 'mailbox') x.mailboxes++;
      if (h.role === 'record') x.records++;
    }
    const sum = nodeSummary(fleet);
    for (const n of fleet.nodes) {
      const s = sum[n.name]!;
      const own = s.users.filter((u) => u !== PROVIDER_USER);
      const flat = (m: Record<string, string[]>, skipProvider = true) => Object.entries(m).filter(([u]) => !skipProvider || u !== PROVIDER_USER).flatMap(([, v]) => v);
      const got = {
        users: own.length, web: flat(s.web).length, mail: flat(s.mail).length, zones: flat(s.zones).length,
        mailboxes: (s.mailboxes[VANITY_PARENT] ?? []).filter((b) => b !== 'info').length,
        records: (s.records[VANITY_PARENT] ?? []).filter((r) => /^v\d+ /.test(r)).length,
      };
      assert.deepEqual(got, expect[n.name], `${n.name} holds ${JSON.stringify(got)}, the plans say ${JSON.stringify(expect[n.name])} (seed ${seed})`);
      assert.deepEqual(own, [...accounts[n.name]!].sort(), `the accounts on ${n.name} are not those the plans name (seed ${seed})`);
      assert.deepEqual(duplicates(flat(s.web)), []);
      assert.deepEqual(duplicates(flat(s.mail)), []);
      assert.deepEqual(duplicates(flat(s.zones, false)), []);
      assert.deepEqual(duplicates(s.mailboxes[VANITY_PARENT] ?? []), []);
      for (const [zone, recs] of Object.entries(s.records)) assert.deepEqual(duplicates(recs), [], `records of ${zone} on ${n.name}`);
      // Packages: one per account of the node (the provider's own aside).
      assert.equal(s.packages.filter((p) => p !== 'provider-pkg').length, got.users - got.zones, `packages on ${n.name}: ${s.packages.length}`);
    }
    const zones = await fleet.pdns!.zones();
    assert.equal(zones.length, pdnsZones + 1, `PowerDNS zones ${zones.length}, plans ${pdnsZones} + the parent`);
    const parent = await fleet.pdns!.zone(VANITY_PARENT);
    const vanityRrsets = parent!.rrsets.filter((r) => /^v\d+\./.test(r.name));
    assert.equal(vanityRrsets.reduce((n, r) => n + r.records.length, 0), pdnsRecords, 'vanity records in PowerDNS');
    // Every service user name is exactly the stored one: names were derived once, not per attempt.
    const names = (await t.db('mod_hostbridge_services').select('names')).flatMap((r) => Object.values(JSON.parse(r.names).users as Record<string, string>));
    const everyUser = new Set(Object.values(sum).flatMap((s) => s.users));
    for (const u of names) assert.ok(everyUser.has(u), `${u} is missing from every node`);
  });
});
