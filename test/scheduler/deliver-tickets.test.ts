// deliver-tickets: a failure ticket waiting in the outbox reaches WHMCS (the External API
// stand-in, on MariaDB with WHMCS's tables) as one OpenTicket; nothing is sent while tickets are off.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { TEST_MASTER_KEY } from '../helpers/daemon.ts';
import { createWhmcsTables, startWhmcsStandin, type WhmcsStandin } from '../helpers/whmcs.ts';
import { dbNow } from '../../daemon/db/connect.ts';
import { Scheduler } from '../../daemon/scheduler/scheduler.ts';
import { deliverTicketsJob } from '../../daemon/scheduler/jobs/deliver-tickets.ts';
import { SettingsCache, writeSetting } from '../../daemon/settings/settings.ts';
import { recordTicketIntent } from '../../daemon/whmcs/ticket-outbox.ts';
import { T } from '../../daemon/common/tables.ts';

const KEY = Buffer.from(TEST_MASTER_KEY, 'hex');
const CREDS = { identifier: 'hbIdentifier0123', secret: 'hbApiSecret-9876543210' };

describe('deliver-tickets (MariaDB, WHMCS schema)', () => {
  let t: TestDb;
  let whmcs: WhmcsStandin;
  before(async () => {
    t = await createTestDb('mysql');
    await createWhmcsTables(t.db);
    await t.db('tblticketdepartments').insert({ id: 3, name: 'Technical', description: '', email: 'tech@example.com', clientsonly: '', piperepliesonly: '', noautoresponder: '', hidden: '', order: 1 });
    whmcs = await startWhmcsStandin(t.db, CREDS);
    await writeSetting(t.db, 'tickets.department_id', '3');
    await writeSetting(t.db, 'whmcs.api_url', whmcs.url);
    await writeSetting(t.db, 'whmcs.api_identifier', CREDS.identifier);
    await writeSetting(t.db, 'whmcs.api_secret', CREDS.secret, KEY);
    // A terminal failure of a task that belongs to no service, as the engine records it.
    await t.db.transaction(async (trx) => recordTicketIntent(trx, await dbNow(trx), null, {
      operation: 'health', step: 'server.check#7', taskId: 77, type: 'server.check', target: 'server:7', attempts: 5,
      error: 'ssh: connect ECONNREFUSED 192.0.2.7:22', terminal: false, whmcsServiceId: null, mode: null,
    }));
  });
  after(async () => {
    await whmcs.stop().catch(() => {});
    await t.drop();
  });

  const runJob = async () => {
    const settings = new SettingsCache(t.db);
    const lines: string[] = [];
    const r = await new Scheduler(t.db, settings, 'test-daemon', [deliverTicketsJob({ db: t.db, settings, masterKey: KEY })]).runNow('deliver-tickets', (l) => lines.push(l));
    return { ...r, lines };
  };

  test('while tickets.enabled is off it sends nothing and says what is pending', async () => {
    const r = await runJob();
    assert.equal(r.result, 'ok', r.message);
    assert.equal(r.message, 'ticket delivery is off (tickets.enabled); 1 pending');
    assert.equal(whmcs.calls.length, 0);
    assert.equal((await t.db(T.ticketOutbox).first()).state, 'pending');
  });

  test('hands the pending ticket to WHMCS once', async () => {
    await writeSetting(t.db, 'tickets.enabled', 'true');
    const r = await runJob();
    assert.equal(r.result, 'ok', r.message);
    assert.equal(r.message, 'opened 1 ticket(s), added 0 note(s), 0 not delivered, 0 pending');
    assert.deepEqual(whmcs.calls.map((c) => c.action), ['OpenTicket']);
    const tickets = await t.db('tbltickets');
    assert.equal(tickets.length, 1);
    assert.equal(tickets[0].did, 3);
    assert.match(tickets[0].message, /ECONNREFUSED 192\.0\.2\.7:22/);
    const row = await t.db(T.ticketOutbox).first();
    assert.equal(row.state, 'delivered');
    assert.equal(Number(row.whmcs_ticket_id), tickets[0].id);
    assert.ok(r.lines.some((l) => /^deliver-tickets: ticket #\d+: opened WHMCS ticket/.test(l)), r.lines.join('\n'));
    assert.ok(!r.lines.join('\n').includes(CREDS.secret));

    const again = await runJob();
    assert.equal(again.message, 'opened 0 ticket(s), added 0 note(s), 0 not delivered, 0 pending');
    assert.equal(whmcs.calls.length, 1, 'a delivered ticket is not sent again');
  });
});
