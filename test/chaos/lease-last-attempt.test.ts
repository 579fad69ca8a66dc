// A task whose lease runs out on its last attempt, with the daemons as they run in production on
// MariaDB: daemon A (a process of its own) claims the step and stalls, frozen, past its lease on
// each of its two attempts; daemon B's reaper takes the first back for a retry and fails the
// second for good. The chain and the service fail, and exactly one WHMCS ticket opens, naming the
// lease expiry, even after the stalled daemon wakes up and tries to finish the step itself.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTestDb, tmpDir, waitFor, type TestDb } from '../helpers/db.ts';
import { daemonEnv, startDaemonProcess, TSX, TEST_MASTER_KEY, type DaemonProcess } from '../helpers/daemon.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { createWhmcsTables, startWhmcsStandin, type WhmcsStandin } from '../helpers/whmcs.ts';
import { createServiceWithChain } from '../../daemon/engine/chains.ts';
import { LEASE_EXPIRED } from '../../daemon/engine/sql/reap.ts';
import { T } from '../../daemon/common/tables.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import type { Daemon } from '../../daemon/runtime.ts';

const KEY = Buffer.from(TEST_MASTER_KEY, 'hex');
const CREDS = { identifier: 'hbIdentifierLease01', secret: 'hbApiSecret-lease-0123456789' };
const SERVE_WITH_STALL = ['--import', TSX, path.join(import.meta.dirname, '../helpers/serve-with-stall.ts')];
const WHMCS_SERVICE = 7301;

describe('a lease that expires on the last attempt (MariaDB, two daemons, WHMCS stand-in)', () => {
  let t: TestDb;
  let dir: string;
  let whmcs: WhmcsStandin;
  let a: DaemonProcess | undefined;
  let b: Daemon | undefined;

  before(async () => {
    t = await createTestDb('mysql');
    dir = tmpDir('hb-lease-');
    await createWhmcsTables(t.db);
    await t.db('tblclients').insert({ id: 7, firstname: 'Ada', lastname: 'Host', email: 'ada@example.com' });
    await t.db('tblhosting').insert({ id: WHMCS_SERVICE, userid: 7, packageid: 1, server: 1, regdate: '2026-12-01', domain: 'stalled.example.com', username: '', password: '' });
    await t.db('tblticketdepartments').insert({ id: 3, name: 'Technical', description: '', email: 'tech@example.com', clientsonly: '', piperepliesonly: '', noautoresponder: '', hidden: '', order: 1 });
    whmcs = await startWhmcsStandin(t.db, CREDS);
    for (const [k, v] of [
      ['tickets.enabled', 'true'], ['tickets.department_id', '3'], ['whmcs.api_url', whmcs.url], ['whmcs.api_identifier', CREDS.identifier],
      // B reaps and delivers every second; a lost attempt is retried 100–200 ms later.
      ['scheduler.reap-expired-leases.interval_s', '1'], ['scheduler.deliver-tickets.interval_s', '1'],
      ['retry.base_ms', '100'], ['retry.cap_ms', '200'],
    ]) await writeSetting(t.db, k!, v!);
    await writeSetting(t.db, 'whmcs.api_secret', CREDS.secret, KEY);
  });
  after(async () => {
    // Releases a daemon still frozen, so it can be stopped.
    for (const n of [1, 2]) fs.writeFileSync(path.join(dir, `release-${n}`), '');
    await a?.kill('SIGKILL');
    await b?.stop().catch(() => {});
    await whmcs?.stop().catch(() => {});
    await t?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the reaper fails the task and its chain, the service fails, one ticket opens and the woken daemon changes nothing', { timeout: 120_000 }, async () => {
    // B: a production daemon (no test task types: it never runs the step), whose scheduler reaps and delivers.
    b = await startTestDaemon(dir, t.url, { HOSTBRIDGE_SCHEDULER_INTERVAL: '1', HOSTBRIDGE_POLL_MS: '50' });
    // A: the daemon that runs the step, with a short lease (long enough that a loaded machine does not lose it
    // outside the stalls); its own scheduler rarely runs.
    a = await startDaemonProcess(daemonEnv(t.url, { HOSTBRIDGE_LEASE_MS: '3000', HOSTBRIDGE_SCHEDULER_INTERVAL: '30', HOSTBRIDGE_POLL_MS: '50', HOSTBRIDGE_LOG_LEVEL: 'debug' }), path.join(dir, 'a.log'), 30_000, SERVE_WITH_STALL);

    const r = await createServiceWithChain(t.db, { whmcsServiceId: WHMCS_SERVICE, mode: 'split', state: 'deploying' }, {
      operation: 'deploy', successState: 'active', failureState: 'failed',
      steps: [
        { step: 'web.user', type: 'test.stall', target: 'hestia:1', args: { dir, attempts: 2 }, maxAttempts: 2 },
        { step: 'web.domain', type: 'test.stall', target: 'hestia:1', args: { dir, attempts: 0 } },
      ],
    });
    const task = await t.db(T.tasks).where({ chain_id: r.chainId, step_no: 0 }).first('id');
    const attempts = async () => (await t.db(T.attempts).where('task_id', task.id).orderBy('attempt').select('attempt', 'result', 'error'))
      .map((x: any) => [Number(x.attempt), x.result, x.error]);

    for (const n of [1, 2]) {
      await waitFor(`A to stall on attempt ${n}`, async () => fs.existsSync(path.join(dir, `stalled-${n}`)), 30_000);
      // B takes the attempt back once A's lease has run out; only then does A wake up.
      await waitFor(`B to reap attempt ${n}`, async () => (await attempts()).length === n, 30_000);
      fs.writeFileSync(path.join(dir, `release-${n}`), '');
    }
    assert.deepEqual(await attempts(), [[1, 'lost', LEASE_EXPIRED], [2, 'lost', LEASE_EXPIRED]]);

    // A woke up twice and finished the step each time: both results were refused as lost (its debug log says so).
    const lostLines = () => fs.readFileSync(path.join(dir, 'a.log'), 'utf8').split('\n')
      .filter((l) => new RegExp(`task ${task.id} deploy/web\\.user \\(test\\.stall\\) attempt [12]: lost`).test(l));
    await waitFor('A to find both attempts lost', async () => lostLines().length === 2, 30_000)
      .catch((err) => assert.fail(`${err.message}; A's log:\n${fs.readFileSync(path.join(dir, 'a.log'), 'utf8').slice(-3000)}`));

    const row = await t.db(T.tasks).where('id', task.id).first('status', 'attempts', 'last_error', 'owner', 'lease_until');
    assert.deepEqual([row.status, Number(row.attempts), row.last_error, row.owner, row.lease_until], ['failed', 2, LEASE_EXPIRED, null, null]);
    const chain = await t.db(T.chains).where('id', r.chainId).first('state', 'error');
    assert.equal(chain.state, 'failed');
    assert.equal(chain.error, `web.user: ${LEASE_EXPIRED} (gave up after 2 attempts)`);
    assert.equal((await t.db(T.tasks).where({ chain_id: r.chainId, step_no: 1 }).first('status')).status, 'cancelled', 'the next step never runs');
    assert.equal((await t.db(T.services).where('id', r.serviceId).first('state')).state, 'failed');
    assert.equal((await t.db(T.slots).where('target', 'hestia:1').whereNotNull('task_id')).length, 0, 'the server slot is free');

    // One ticket intent, delivered once: one WHMCS ticket, on the client and service, naming the lease.
    await waitFor('the ticket to be delivered', async () => (await t.db('mod_hostbridge_ticket_outbox').where('state', 'delivered')).length === 1, 30_000);
    const outbox = await t.db('mod_hostbridge_ticket_outbox').select('id', 'service_id', 'operation', 'task_id', 'state');
    assert.deepEqual(outbox.map((o: any) => [Number(o.service_id), o.operation, Number(o.task_id), o.state]), [[r.serviceId, 'deploy', Number(task.id), 'delivered']]);
    assert.equal((await t.db('mod_hostbridge_ticket_notes')).length, 0, 'no note: the operation failed once');
    const tickets = await t.db('tbltickets').select('userid', 'service', 'title', 'message');
    assert.equal(tickets.length, 1, JSON.stringify(tickets));
    assert.deepEqual([tickets[0].userid, tickets[0].service], [7, `S${WHMCS_SERVICE}`]);
    assert.match(tickets[0].title, new RegExp(`deploy failed for service #${WHMCS_SERVICE}`));
    assert.ok(tickets[0].message.includes(LEASE_EXPIRED), tickets[0].message);
    assert.ok(tickets[0].message.includes('gave up after 2 attempts'), tickets[0].message);
    assert.deepEqual(whmcs.calls.map((c) => c.action), ['OpenTicket']);
  });
});
