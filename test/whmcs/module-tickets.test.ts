// The failure ticket as WHMCS sees it, end to end: an order placed through the PHP module (as
// WHMCS runs it) fails on an unreachable mail node, and the deliver-tickets job opens a ticket in
// WHMCS (the External API stand-in, on its own MariaDB tables). WHMCS has no client for the service
// (a daemon on SQLite beside it, or a service since deleted from tblhosting on MariaDB), so the
// ticket opens from the configured sender; WHMCS refuses hostbridge@localhost. The ticket names the
// node by its name and address, never "server:<id>".
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { createWhmcsTables, startWhmcsStandin, type WhmcsStandin } from '../helpers/whmcs.ts';
import { ok, startE2E, type E2E, type Order } from '../e2e/whmcs.ts';
import { T } from '../../daemon/common/tables.ts';

const CREDS = { identifier: 'hbIdentifier0123', secret: 'hbApiSecret-9876543210' };
const SENDER = 'hostbridge@billing.example.com';

for (const dialect of DIALECTS) {
  describe(`a failure ticket for a service WHMCS has no client for (PHP module → daemon → WHMCS API) (${dialect})`, () => {
    let e: E2E;
    let w: TestDb;
    let whmcs: WhmcsStandin;
    before(async () => {
      e = await startE2E({ dialect });
      w = dialect === 'mysql' ? e.tdb : await createTestDb('mysql', { migrate: false });
      await createWhmcsTables(w.db);
      await w.db('tblticketdepartments').insert({ id: 2, name: 'Provisioning', description: '', email: 'ops@example.com', clientsonly: '', piperepliesonly: '', noautoresponder: '', hidden: '', order: 1 });
      whmcs = await startWhmcsStandin(w.db, CREDS);
      for (const [k, v] of Object.entries({
        'whmcs.api_url': whmcs.url, 'whmcs.api_identifier': CREDS.identifier, 'whmcs.api_secret': CREDS.secret,
        'tickets.department_id': '2', 'tickets.sender_email': SENDER, 'tickets.enabled': 'true',
        'retry.max_attempts': '2', 'retry.base_ms': '100', 'retry.cap_ms': '200',
      })) await e.setting(k, v);
    });
    after(async () => {
      await whmcs?.stop().catch(() => {});
      await e?.close();
      if (w && w !== e?.tdb) await w.drop();
    });

    test('the order fails on an unreachable mail node; its ticket opens in WHMCS from the sender and names the node', async () => {
      const o: Order = { serviceId: 7301, mode: 'split', domain: 'orphan-ticket.example.com' };
      for (const m of e.fleet.mail) await m.setDown(true);
      try {
        ok(await e.module('CreateAccount', o), 'CreateAccount');
        assert.equal((await e.waitState(o.serviceId, ['failed', 'active'], 60_000)).state, 'failed');
      } finally {
        for (const m of e.fleet.mail) await m.setDown(false);
      }
      // The job now (the daemon's own timer may be running it: then that run delivers it).
      await e.daemon.core.scheduler.runNow('deliver-tickets', () => {}).catch(() => {});
      await waitFor('the deliver-tickets job to finish', async () => (await e.db(T.jobs).where('name', 'deliver-tickets').first('locked_by'))?.locked_by === null, 10_000);
      const outbox = await e.db(T.ticketOutbox).first();
      assert.equal(outbox?.state, 'delivered', `the ticket was not delivered: ${outbox?.last_error}`);
      const tickets = await w.db('tbltickets');
      assert.equal(tickets.length, 1);
      const [ticket] = tickets;
      assert.equal(Number(outbox.whmcs_ticket_id), ticket.id);
      assert.equal(ticket.did, 2);
      assert.equal(ticket.userid, 0);
      assert.equal(ticket.email, SENDER);
      assert.equal(ticket.title, `[hostbridge] deploy failed for service #${o.serviceId}`);
      const mailNames = e.fleet.mail.map((m) => m.name).join('|');
      assert.match(ticket.message, new RegExp(`, on (${mailNames}) \\([^)]*\\d+\\.\\d+\\.\\d+\\.\\d+\\)\\)`), ticket.message);
      assert.doesNotMatch(`${ticket.title}\n${ticket.message}`, /server:\d/);
      assert.ok(!ticket.message.includes('Cust0mer-Pa55!'), 'no password in the ticket');
      assert.deepEqual(whmcs.calls.map((c) => [c.action, c.params.email, c.params.clientid]), [['OpenTicket', SENDER, undefined]]);
    });
  });
}
