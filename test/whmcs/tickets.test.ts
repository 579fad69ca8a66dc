// Failure tickets reach WHMCS: one ticket per failing operation with the client and service
// linked, a note when the same operation fails again, and nothing lost while WHMCS is down. A
// service WHMCS no longer has gets its ticket from the configured sender (WHMCS refuses
// hostbridge@localhost), and a ticket names the server it failed on, not "server:<n>".
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, waitFor, type TestDb } from '../helpers/db.ts';
import { testEngine } from '../helpers/engine.ts';
import { createWhmcsTables, startWhmcsStandin, type WhmcsStandin } from '../helpers/whmcs.ts';
import { TEST_MASTER_KEY } from '../helpers/daemon.ts';
import { createServiceWithChain } from '../../daemon/engine/chains.ts';
import { retryTask } from '../../daemon/engine/sql/retry-task.ts';
import type { Queue } from '../../daemon/engine/queue.ts';
import { T } from '../../daemon/common/tables.ts';
import { SettingsCache, writeSetting } from '../../daemon/settings/settings.ts';
import { deliverTickets, deliveryDelayMs } from '../../daemon/whmcs/ticket-delivery.ts';
import { daemonQueue } from '../../daemon/runtime.ts';
import { addServer } from '../../daemon/fleet/inventory.ts';

const KEY = Buffer.from(TEST_MASTER_KEY, 'hex');
const CREDS = { identifier: 'hbIdentifier0123', secret: 'hbApiSecret-9876543210' };

describe('failure tickets delivered to WHMCS (MariaDB, WHMCS schema)', () => {
  let t: TestDb;
  let whmcs: WhmcsStandin;
  let settings: SettingsCache;
  // The ticket intent written in the failing transaction is what this file delivers: the real hooks.
  let queue: Queue;
  const lines: string[] = [];
  const deliver = () => deliverTickets(t.db, settings, KEY, (l) => lines.push(l));

  before(async () => {
    t = await createTestDb('mysql');
    queue = daemonQueue(t.db);
    await createWhmcsTables(t.db);
    await t.db('tblclients').insert({ id: 7, firstname: 'Ada', lastname: 'Host', email: 'ada@example.com' });
    await t.db('tblhosting').insert([{ id: 4242, userid: 7, packageid: 1, server: 1, regdate: '2026-11-23', domain: 'ada.example', username: '', password: '' },
      { id: 4343, userid: 7, packageid: 1, server: 1, regdate: '2026-11-23', domain: 'ada2.example', username: '', password: '' },
      { id: 4444, userid: 7, packageid: 1, server: 1, regdate: '2026-11-23', domain: 'ada3.example', username: '', password: '' }]);
    await t.db('tblticketdepartments').insert({ id: 3, name: 'Technical', description: '', email: 'tech@example.com', clientsonly: '', piperepliesonly: '', noautoresponder: '', hidden: '', order: 1 });
    whmcs = await startWhmcsStandin(t.db, CREDS);
    await writeSetting(t.db, 'tickets.enabled', 'true');
    await writeSetting(t.db, 'tickets.department_id', '3');
    await writeSetting(t.db, 'whmcs.api_url', whmcs.url);
    await writeSetting(t.db, 'whmcs.api_identifier', CREDS.identifier);
    await writeSetting(t.db, 'whmcs.api_secret', CREDS.secret, KEY);
    settings = new SettingsCache(t.db);
    await settings.refresh();
  });
  after(async () => {
    await whmcs.stop().catch(() => {});
    await t.drop();
  });

  const failChain = async (whmcsServiceId: number, target?: string) => {
    const { engine } = testEngine(queue);
    const r = await createServiceWithChain(t.db, { whmcsServiceId, mode: 'split' }, {
      operation: 'create', failureState: 'failed',
      steps: [{ step: 'web-user', type: 'builtin.flaky', target, args: { failTimes: 100, terminal: true, message: 'v-add-user: Error: user exists on another node' } }],
    });
    engine.start();
    await waitFor('chain to fail', async () => (await t.db(T.chains).where('id', r.chainId).first()).state === 'failed' && (await t.db(T.chains).where('id', r.chainId).first()).active_key === null);
    await engine.stop();
    return r;
  };

  test('a terminal failure opens exactly one ticket with the client and service linked; a repeat adds a note', async () => {
    const r = await failChain(4242);
    assert.deepEqual(await deliver(), { opened: 1, noted: 0, failed: 0, refused: 0, pending: 0 });
    const tickets = await t.db('tbltickets');
    assert.equal(tickets.length, 1);
    assert.equal(tickets[0].userid, 7);
    assert.equal(tickets[0].service, 'S4242');
    assert.equal(tickets[0].did, 3);
    assert.equal(tickets[0].urgency, 'High');
    assert.match(tickets[0].title, /create failed for service #4242/);
    assert.match(tickets[0].message, /user exists on another node/);
    const outbox = await t.db('mod_hostbridge_ticket_outbox').where('service_id', r.serviceId).first();
    assert.equal(outbox.state, 'delivered');
    assert.equal(outbox.whmcs_ticket_id, tickets[0].id);
    assert.deepEqual(await deliver(), { opened: 0, noted: 0, failed: 0, refused: 0, pending: 0 }, 'a delivered ticket is not sent again');

    // The admin retries the failed step; it fails again: a note on the same WHMCS ticket.
    const task = await t.db(T.tasks).where('chain_id', r.chainId).first();
    await retryTask(queue, task.id);
    const { engine } = testEngine(queue);
    engine.start();
    await waitFor('second failure', async () => (await t.db('mod_hostbridge_ticket_notes')).length === 1);
    await engine.stop();
    assert.deepEqual(await deliver(), { opened: 0, noted: 1, failed: 0, refused: 0, pending: 0 });
    assert.equal((await t.db('tbltickets')).length, 1);
    const notes = await t.db('tblticketnotes');
    assert.equal(notes.length, 1);
    assert.equal(notes[0].ticketid, tickets[0].id);
    assert.match(notes[0].message, /failed again/);
    assert.deepEqual(whmcs.calls.map((c) => c.action), ['OpenTicket', 'AddTicketNote']);
  });

  test('WHMCS unreachable: the ticket waits with back-off and is delivered later; nothing is lost', async () => {
    const port = Number(new URL(whmcs.url).port);
    await whmcs.stop();
    const r = await failChain(4343);
    const before = Date.now();
    assert.deepEqual(await deliver(), { opened: 0, noted: 0, failed: 1, refused: 0, pending: 1 });
    const row = await t.db('mod_hostbridge_ticket_outbox').where('service_id', r.serviceId).first();
    assert.equal(row.state, 'pending');
    assert.equal(row.attempts, 1);
    assert.match(row.last_error, /unreachable/);
    assert.ok(!row.last_error.includes(CREDS.secret));
    const wait = Number(row.next_attempt_at) - before;
    assert.ok(wait >= deliveryDelayMs(1) - 1000 && wait <= deliveryDelayMs(1) + 1000, `next attempt in ${wait} ms`);
    assert.deepEqual(await deliver(), { opened: 0, noted: 0, failed: 0, refused: 0, pending: 1 }, 'not retried before its back-off');

    // WHMCS is back, and the back-off has run out.
    whmcs = await startWhmcsStandin(t.db, CREDS, port);
    await t.db('mod_hostbridge_ticket_outbox').where('id', row.id).update({ next_attempt_at: 0 });
    assert.deepEqual(await deliver(), { opened: 1, noted: 0, failed: 0, refused: 0, pending: 0 });
    const tickets = await t.db('tbltickets').where('service', 'S4343');
    assert.equal(tickets.length, 1);
    assert.ok(lines.some((l) => /not delivered \(WHMCS API at .* is unreachable/.test(l)));
  });

  test('bad credentials keep the ticket pending with WHMCS\'s reason, and never expose the secret', async () => {
    await writeSetting(t.db, 'whmcs.api_secret', 'a-wrong-secret-value', KEY);
    const r = await failChain(4444);
    const res = await deliver();
    assert.equal(res.failed, 1);
    const row = await t.db('mod_hostbridge_ticket_outbox').where('service_id', r.serviceId).first();
    assert.equal(row.state, 'pending');
    assert.match(row.last_error, /WHMCS API refused OpenTicket: Authentication Failed/);
    assert.ok(!lines.join('\n').includes('a-wrong-secret-value') && !lines.join('\n').includes(CREDS.secret));
    await writeSetting(t.db, 'whmcs.api_secret', CREDS.secret, KEY);
    // Not a refusal of the ticket: with the right secret it goes out at its next try.
    await t.db('mod_hostbridge_ticket_outbox').where('id', row.id).update({ next_attempt_at: 0 });
    assert.deepEqual(await deliver(), { opened: 1, noted: 0, failed: 0, refused: 0, pending: 0 });
  });

  test('a service deleted in WHMCS: its ticket opens from the configured sender and names the server by name and address', async () => {
    const web = await addServer(t.db, KEY, { name: 'fra-web1', driver: 'hestiacp', hostname: 'fra-web1.example.net', ip: '192.0.2.51', username: 'root', password: 'pw-fra-web1', capabilities: { web: true } });
    await t.db('tblhosting').insert({ id: 4646, userid: 7, packageid: 1, server: 1, regdate: '2026-11-23', domain: 'gone.example', username: '', password: '' });
    const r = await failChain(4646, `server:${web}`);
    await t.db('tblhosting').where('id', 4646).delete(); // the admin deleted the service in WHMCS
    await writeSetting(t.db, 'tickets.sender_email', 'noc@billing.example.com');
    await writeSetting(t.db, 'tickets.sender_name', 'hostbridge at Example Hosting');
    await settings.refresh();
    assert.deepEqual(await deliver(), { opened: 1, noted: 0, failed: 0, refused: 0, pending: 0 });
    const row = await t.db('mod_hostbridge_ticket_outbox').where('service_id', r.serviceId).first();
    assert.equal(row.state, 'delivered');
    const ticket = await t.db('tbltickets').where('id', row.whmcs_ticket_id).first();
    assert.equal(ticket.userid, 0);
    assert.equal(ticket.service, '');
    assert.equal(ticket.name, 'hostbridge at Example Hosting');
    assert.equal(ticket.email, 'noc@billing.example.com');
    assert.equal(ticket.title, '[hostbridge] create failed for service #4646');
    assert.match(ticket.message, /for service #4646/);
    assert.match(ticket.message, /type builtin\.flaky, on fra-web1 \(fra-web1\.example\.net, 192\.0\.2\.51\)/);
    assert.doesNotMatch(`${ticket.title}\n${ticket.message}`, /server:\d/);
  });

  test('a service whose client was deleted in WHMCS: the ticket opens from the sender rather than being refused "Client ID Not Found"', async () => {
    await t.db('tblhosting').insert({ id: 4747, userid: 99, packageid: 1, server: 1, regdate: '2026-11-23', domain: 'clientless.example', username: '', password: '' });
    const r = await failChain(4747);
    assert.deepEqual(await deliver(), { opened: 1, noted: 0, failed: 0, refused: 0, pending: 0 });
    const row = await t.db('mod_hostbridge_ticket_outbox').where('service_id', r.serviceId).first();
    const ticket = await t.db('tbltickets').where('id', row.whmcs_ticket_id).first();
    assert.equal(ticket.userid, 0);
    assert.equal(ticket.email, 'noc@billing.example.com');
    assert.equal(whmcs.calls.at(-1)?.params.clientid, undefined);
  });

  test('delivery refuses to run half-configured, naming the missing settings', async () => {
    await t.db('mod_hostbridge_settings').where('key', 'tickets.department_id').delete();
    await settings.refresh();
    await assert.rejects(deliver(), /tickets are enabled but tickets.department_id is not set/);
    await writeSetting(t.db, 'tickets.department_id', '3');
    await settings.refresh();
  });
});
