// deliver-tickets: failure tickets waiting in the outbox reach WHMCS (the External API stand-in on
// MariaDB with WHMCS's tables) as one OpenTicket each; nothing is sent while tickets are off. On both
// dialects: a daemon on SQLite has no tblhosting at all, and on MariaDB beside WHMCS the service's
// tblhosting row was deleted; either way WHMCS has no client for the ticket, so it opens with the
// configured sender (it refuses hostbridge@localhost). A ticket WHMCS refuses for good is marked
// refused, shown to the admin, not tried again, and sent once the admin fixed the cause and retried it;
// a ticket deleted in WHMCS is opened again when its operation fails again.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { TEST_MASTER_KEY } from '../helpers/daemon.ts';
import { createWhmcsTables, startWhmcsStandin, type WhmcsStandin } from '../helpers/whmcs.ts';
import { dbNow } from '../../daemon/db/connect.ts';
import { Scheduler } from '../../daemon/scheduler/scheduler.ts';
import { deliverTicketsJob } from '../../daemon/scheduler/jobs/deliver-tickets.ts';
import { SettingsCache, writeSetting, readSettings } from '../../daemon/settings/settings.ts';
import { recordTicketIntent } from '../../daemon/whmcs/ticket-outbox.ts';
import { retryRefusedTickets, undeliveredTickets } from '../../daemon/whmcs/ticket-refusals.ts';
import { addServer } from '../../daemon/fleet/inventory.ts';
import { taskQueuePage } from '../../daemon/pages/reads/tasks.ts';
import { render } from '../../daemon/pages/render.ts';
import { T } from '../../daemon/common/tables.ts';

const KEY = Buffer.from(TEST_MASTER_KEY, 'hex');
const CREDS = { identifier: 'hbIdentifier0123', secret: 'hbApiSecret-9876543210' };
const SENDER = 'hostbridge@billing.example.com';

for (const dialect of DIALECTS) {
  describe(`deliver-tickets (${dialect} daemon, WHMCS on MariaDB)`, () => {
    let t: TestDb;
    // WHMCS's database: the daemon's own on MariaDB (they share it), a database of its own beside SQLite.
    let w: TestDb;
    let whmcs: WhmcsStandin;
    let serverId: number;
    let healthTicket: number;
    let serviceTicket: number;
    before(async () => {
      t = await createTestDb(dialect);
      w = dialect === 'mysql' ? t : await createTestDb('mysql', { migrate: false });
      await createWhmcsTables(w.db);
      await w.db('tblticketdepartments').insert({ id: 3, name: 'Technical', description: '', email: 'tech@example.com', clientsonly: '', piperepliesonly: '', noautoresponder: '', hidden: '', order: 1 });
      whmcs = await startWhmcsStandin(w.db, CREDS);
      await writeSetting(t.db, 'tickets.department_id', '3');
      await writeSetting(t.db, 'whmcs.api_url', whmcs.url);
      await writeSetting(t.db, 'whmcs.api_identifier', CREDS.identifier);
      await writeSetting(t.db, 'whmcs.api_secret', CREDS.secret, KEY);
      serverId = await addServer(t.db, KEY, { name: 'fra-web7', driver: 'hestiacp', hostname: 'fra-web7.example.net', ip: '192.0.2.7', username: 'root', password: 'pw-web7', capabilities: { web: true } });
      // A terminal failure of a task that belongs to no service, and one of a service WHMCS no longer
      // has (never in this WHMCS's tblhosting), as the engine records them.
      const now = await dbNow(t.db);
      await t.db(T.services).insert({ whmcs_service_id: 5150, mode: 'split', state: 'failed', created_at: now, updated_at: now });
      const service = await t.db(T.services).where('whmcs_service_id', 5150).first('id');
      healthTicket = (await t.db.transaction(async (trx) => recordTicketIntent(trx, await dbNow(trx), null, {
        operation: 'health', step: `server.check#${serverId}`, taskId: 77, type: 'server.check', target: `server:${serverId}`, attempts: 5,
        error: 'ssh: connect ECONNREFUSED 192.0.2.7:22', terminal: false, whmcsServiceId: null, mode: null,
      }))).outboxId;
      serviceTicket = (await t.db.transaction(async (trx) => recordTicketIntent(trx, await dbNow(trx), Number(service.id), {
        operation: 'suspend', step: 'web-suspend', taskId: 78, type: 'account.suspend', target: `server:${serverId}`, attempts: 1,
        error: 'v-suspend-user: Error: user is already suspended', terminal: true, whmcsServiceId: 5150, mode: 'split',
      }))).outboxId;
    });
    after(async () => {
      await whmcs.stop().catch(() => {});
      await t.drop();
      if (w !== t) await w.drop();
    });

    const runJob = async () => {
      const settings = new SettingsCache(t.db);
      const lines: string[] = [];
      const r = await new Scheduler(t.db, settings, 'test-daemon', [deliverTicketsJob({ db: t.db, settings, masterKey: KEY })]).runNow('deliver-tickets', (l) => lines.push(l));
      return { ...r, lines };
    };
    const due = () => t.db(T.ticketOutbox).update({ next_attempt_at: 0 });

    test('while tickets.enabled is off it sends nothing and says what is pending', async () => {
      const r = await runJob();
      assert.equal(r.result, 'ok', r.message);
      assert.equal(r.message, 'ticket delivery is off (tickets.enabled); 2 pending');
      assert.equal(whmcs.calls.length, 0);
      assert.deepEqual((await t.db(T.ticketOutbox).orderBy('id')).map((o) => o.state), ['pending', 'pending']);
    });

    test('the sender address must be one WHMCS accepts: hostbridge@localhost is refused with a clear error and nothing is written', async () => {
      for (const bad of ['hostbridge@localhost', 'not an address', 'a@b', 'x@example.com\nBcc: y@example.com']) {
        await assert.rejects(writeSetting(t.db, 'tickets.sender_email', bad), /setting tickets.sender_email: must be an e-mail address with a full domain/);
      }
      await assert.rejects(writeSetting(t.db, 'tickets.sender_name', ' '), /setting tickets.sender_name: must not be empty/);
      assert.equal((await readSettings(t.db))['tickets.sender_email'], '');
    });

    test('with no WHMCS client and no sender address the tickets wait, naming the setting, and WHMCS is not called', async () => {
      await writeSetting(t.db, 'tickets.enabled', 'true');
      const r = await runJob();
      assert.equal(r.result, 'ok', r.message);
      assert.equal(r.message, 'opened 0 ticket(s), added 0 note(s), 2 not delivered, 2 pending');
      assert.equal(whmcs.calls.length, 0);
      const rows = await t.db(T.ticketOutbox).orderBy('id');
      assert.deepEqual(rows.map((o) => o.state), ['pending', 'pending']);
      assert.match(rows[1].last_error, /WHMCS has no client for this ticket \(the daemon finds no client of service #5150 in tblhosting\) and tickets.sender_email is not set/);
      const shown = await undeliveredTickets(t.db);
      assert.deepEqual(shown.map((s) => [s.id, s.state]), [[healthTicket, 'pending'], [serviceTicket, 'pending']]);
    });

    test('with a sender address both tickets open in WHMCS from that sender, once, naming the server, not server:<n>', async () => {
      await writeSetting(t.db, 'tickets.sender_email', SENDER);
      await due();
      const r = await runJob();
      assert.equal(r.result, 'ok', r.message);
      assert.equal(r.message, 'opened 2 ticket(s), added 0 note(s), 0 not delivered, 0 pending');
      assert.deepEqual(whmcs.calls.map((c) => [c.action, c.params.email, c.params.name, c.params.clientid]), [
        ['OpenTicket', SENDER, 'hostbridge', undefined], ['OpenTicket', SENDER, 'hostbridge', undefined]]);
      const tickets = await w.db('tbltickets').orderBy('id');
      assert.equal(tickets.length, 2);
      for (const k of tickets) {
        assert.equal(k.did, 3);
        assert.equal(k.userid, 0);
        assert.equal(k.email, SENDER);
        assert.match(k.message, /on fra-web7 \(fra-web7\.example\.net, 192\.0\.2\.7\)/);
        assert.doesNotMatch(`${k.title}\n${k.message}`, /server:\d/);
      }
      assert.equal(tickets[0].title, '[hostbridge] health failed for server.check on fra-web7 (fra-web7.example.net, 192.0.2.7)');
      assert.equal(tickets[1].title, '[hostbridge] suspend failed for service #5150');
      assert.match(tickets[0].message, /ECONNREFUSED 192\.0\.2\.7:22/);
      const rows = await t.db(T.ticketOutbox).orderBy('id');
      assert.deepEqual(rows.map((o) => [o.state, Number(o.whmcs_ticket_id)]), [['delivered', tickets[0].id], ['delivered', tickets[1].id]]);
      assert.ok(r.lines.some((l) => /^deliver-tickets: ticket #\d+: opened WHMCS ticket/.test(l)), r.lines.join('\n'));
      assert.ok(!r.lines.join('\n').includes(CREDS.secret));
      assert.deepEqual(await undeliveredTickets(t.db), []);

      const again = await runJob();
      assert.equal(again.message, 'opened 0 ticket(s), added 0 note(s), 0 not delivered, 0 pending');
      assert.equal(whmcs.calls.length, 2, 'a delivered ticket is not sent again');
    });

    test('a ticket WHMCS refuses for good is marked refused with its message, shown, not retried, and sent after the fix and a retry', async () => {
      await writeSetting(t.db, 'tickets.department_id', '99'); // no such department in WHMCS
      const refused = (await t.db.transaction(async (trx) => recordTicketIntent(trx, await dbNow(trx), null, {
        operation: 'usage', step: 'usage.sync', taskId: 79, type: 'usage.sync', target: `server:${serverId}`, attempts: 5,
        error: 'v-list-users: exit 1', terminal: false, whmcsServiceId: null, mode: null,
      }))).outboxId;
      const calls = whmcs.calls.length;
      const r = await runJob();
      assert.equal(r.result, 'ok', r.message);
      assert.equal(r.message, 'opened 0 ticket(s), added 0 note(s), 0 not delivered, 1 refused by WHMCS (see "hostbridge tickets list"), 0 pending');
      assert.equal(whmcs.calls.length, calls + 1);
      const row = await t.db(T.ticketOutbox).where('id', refused).first();
      assert.equal(row.state, 'refused');
      assert.equal(row.last_error, 'WHMCS API refused OpenTicket: Department ID not found');
      assert.ok(r.lines.some((l) => l.includes(`ticket #${refused}: refused by WHMCS (Department ID not found); not tried again`) && l.includes(`hostbridge tickets retry ${refused}`)), r.lines.join('\n'));
      // Shown where the admin looks: the Task Queue page's read.
      const page = await taskQueuePage(t.db, { status: '', type: '', service: '', server: '' }, 1);
      assert.deepEqual(page.tickets.map((k) => [k.id, k.state, k.lastError]), [[refused, 'refused', 'WHMCS API refused OpenTicket: Department ID not found']]);
      const html = render('ui/admin-tasks', { title: 'Task Queue', nav: 'tasks', f: {}, statuses: [], ...page });
      const table = /<table id="undelivered-tickets">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
      assert.match(table, new RegExp(`<tr data-ticket="${refused}"><td>#${refused}</td>[\\s\\S]*>refused</span>[\\s\\S]*WHMCS API refused OpenTicket: Department ID not found`));
      assert.match(html, /hostbridge tickets retry &lt;id\|all&gt;/);

      // Not tried again, however long one waits.
      await due();
      const still = await runJob();
      assert.equal(still.message, 'opened 0 ticket(s), added 0 note(s), 0 not delivered, 0 pending');
      assert.equal(whmcs.calls.length, calls + 1);

      // Only a refused ticket can be retried; the admin fixes the department and retries it.
      await assert.rejects(retryRefusedTickets(t.db, healthTicket), /ticket #\d+ is delivered, not refused; nothing was changed/);
      await assert.rejects(retryRefusedTickets(t.db, 999_999), /ticket #999999 does not exist in the outbox/);
      await writeSetting(t.db, 'tickets.department_id', '3');
      assert.match(await retryRefusedTickets(t.db, refused), /^1 ticket\(s\) and 0 note\(s\) back in the outbox/);
      const sent = await runJob();
      assert.equal(sent.message, 'opened 1 ticket(s), added 0 note(s), 0 not delivered, 0 pending');
      assert.equal((await t.db(T.ticketOutbox).where('id', refused).first()).state, 'delivered');
      assert.equal((await w.db('tbltickets')).length, 3);
      assert.equal(await retryRefusedTickets(t.db, 'all'), 'no refused ticket');
    });

    test('a ticket the admin deleted in WHMCS: the next failure of that operation opens it again, with the note, instead of a refused note', async () => {
      const old = await t.db(T.ticketOutbox).where('id', healthTicket).first();
      await w.db('tbltickets').where('id', old.whmcs_ticket_id).delete();
      const again = await t.db.transaction(async (trx) => recordTicketIntent(trx, await dbNow(trx), null, {
        operation: 'health', step: `server.check#${serverId}`, taskId: 80, type: 'server.check', target: `server:${serverId}`, attempts: 5,
        error: 'ssh: connect ETIMEDOUT 192.0.2.7:22', terminal: false, whmcsServiceId: null, mode: null,
      }));
      assert.deepEqual(again, { outboxId: healthTicket, note: true });
      const r = await runJob();
      assert.equal(r.message, 'opened 0 ticket(s), added 0 note(s), 1 not delivered, 2 pending');
      assert.ok(r.lines.some((l) => l.includes(`WHMCS ticket ${old.whmcs_ticket_id} no longer exists; ticket #${healthTicket} will be opened again`)), r.lines.join('\n'));
      const row = await t.db(T.ticketOutbox).where('id', healthTicket).first();
      assert.equal(row.state, 'pending');
      assert.equal(row.whmcs_ticket_id, null);
      const sent = await runJob();
      assert.equal(sent.message, 'opened 1 ticket(s), added 1 note(s), 0 not delivered, 0 pending');
      const reopened = await t.db(T.ticketOutbox).where('id', healthTicket).first();
      const ticket = await w.db('tbltickets').where('id', reopened.whmcs_ticket_id).first();
      assert.match(ticket.title, /health failed for server\.check on fra-web7/);
      const notes = await w.db('tblticketnotes').where('ticketid', ticket.id);
      assert.equal(notes.length, 1);
      assert.match(notes[0].message, /ETIMEDOUT 192\.0\.2\.7:22/);
      assert.deepEqual(await undeliveredTickets(t.db), []);
    });
  });
}
