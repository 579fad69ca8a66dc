// Send again, on the Task Queue page: a failure ticket WHMCS refused for good (the External API
// stand-in answers "Department ID not found") is listed with a button that puts it back in the
// outbox, due now, as `hostbridge tickets retry` does; the action is recorded with its actor in the
// Operation Log. A bad id or a ticket that is not refused gets a clear message and changes nothing;
// a POST without the CSRF token is refused and changes nothing. Through the WHMCS addon's
// embedding (POST /v1/admin/pages) the button's form points at the addon and works as the WHMCS
// admin. Over plain HTTP with the daemon's session cookie and CSRF token, on both dialects.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../helpers/api.ts';
import { TEST_MASTER_KEY } from '../helpers/daemon.ts';
import { createTestDb, DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { createWhmcsTables, startWhmcsStandin, type WhmcsStandin } from '../helpers/whmcs.ts';
import { startDaemonWorld, type DaemonWorld } from '../helpers/world.ts';
import { dbNow } from '../../daemon/db/connect.ts';
import { Scheduler } from '../../daemon/scheduler/scheduler.ts';
import { deliverTicketsJob } from '../../daemon/scheduler/jobs/deliver-tickets.ts';
import { SettingsCache, writeSetting } from '../../daemon/settings/settings.ts';
import { recordTicketIntent } from '../../daemon/whmcs/ticket-outbox.ts';
import { T } from '../../daemon/common/tables.ts';

const KEY = Buffer.from(TEST_MASTER_KEY, 'hex');
const CREDS = { identifier: 'hbIdentifier0123', secret: 'hbApiSecret-9876543210' };
const ADMIN = { id: 7, username: 'jane' };

for (const dialect of DIALECTS) {
  describe(`Send again for a refused failure ticket (${dialect})`, () => {
    let w: DaemonWorld;
    // WHMCS's database: the daemon's own on MariaDB, one of its own beside SQLite.
    let whmcsDb: TestDb;
    let whmcs: WhmcsStandin;
    let cookie: string;
    const tickets: number[] = [];
    const db = () => w.tdb.db;

    const runJob = async () => {
      const settings = new SettingsCache(db());
      const r = await new Scheduler(db(), settings, 'test-daemon', [deliverTicketsJob({ db: db(), settings, masterKey: KEY })]).runNow('deliver-tickets', () => {});
      assert.equal(r.result, 'ok', r.message);
      return r.message;
    };
    const state = async (id: number) => (await db()(T.ticketOutbox).where('id', id).first('state')).state as string;
    const actions = async () => (await db()(T.adminActions).orderBy('id').select('actor', 'ok', 'message'))
      .map((a) => [a.actor, Boolean(Number(a.ok)), a.message] as [string, boolean, string]);
    const get = async (path: string) => {
      const res = await fetch(`${w.daemon.url}${path}`, { headers: { cookie }, redirect: 'manual' });
      assert.equal(res.status, 200, path);
      return res.text();
    };
    const post = (path: string, form: Record<string, string>) => fetch(`${w.daemon.url}${path}`, {
      method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString(), redirect: 'manual',
    });
    const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? assert.fail('the page carries no CSRF token');
    const embedded = (body: Record<string, unknown>) => call(w.daemon.url, 'POST', '/v1/admin/pages', { admin: ADMIN, ...body });

    before(async () => {
      w = await startDaemonWorld(dialect, 'hb-ticket-retry-');
      whmcsDb = dialect === 'mysql' ? w.tdb : await createTestDb('mysql', { migrate: false });
      await createWhmcsTables(whmcsDb.db);
      await whmcsDb.db('tblticketdepartments').insert({ id: 3, name: 'Technical', description: '', email: 'tech@example.com', clientsonly: '', piperepliesonly: '', noautoresponder: '', hidden: '', order: 1 });
      whmcs = await startWhmcsStandin(whmcsDb.db, CREDS);
      // The daemon's own scheduler leaves ticket delivery to this test: it has run (with tickets
      // off) or runs now, and not again for a day.
      await writeSetting(db(), 'scheduler.deliver-tickets.interval_s', '86400');
      await w.daemon.core.settings.refresh();
      await w.daemon.core.scheduler.pass(() => {});
      await waitFor('the scheduler\'s running jobs', async () => (await db()(T.jobs).where('name', 'deliver-tickets').whereNotNull('locked_by').first('name')) === undefined, 30_000);
      await writeSetting(db(), 'whmcs.api_url', whmcs.url);
      await writeSetting(db(), 'whmcs.api_identifier', CREDS.identifier);
      await writeSetting(db(), 'whmcs.api_secret', CREDS.secret, KEY);
      await writeSetting(db(), 'tickets.sender_email', 'hostbridge@billing.example.com');
      await writeSetting(db(), 'tickets.department_id', '99'); // no such department in WHMCS
      await writeSetting(db(), 'tickets.enabled', 'true');
      // Two threads (operation and task type), so two tickets.
      for (const [taskId, operation, type] of [[91, 'usage', 'usage.sync'], [92, 'health', 'server.check']] as const) {
        tickets.push((await db().transaction(async (trx) => recordTicketIntent(trx, await dbNow(trx), null, {
          operation, step: type, taskId, type, target: 'server:1', attempts: 5,
          error: 'v-list-users: exit 1', terminal: false, whmcsServiceId: null, mode: null,
        }))).outboxId);
      }
      assert.equal(await runJob(), 'opened 0 ticket(s), added 0 note(s), 0 not delivered, 2 refused by WHMCS (see "hostbridge tickets list"), 0 pending');
      assert.deepEqual([await state(tickets[0]!), await state(tickets[1]!)], ['refused', 'refused']);
      // An admin session from a signed link, as a browser gets it.
      const link = await call(w.daemon.url, 'POST', '/v1/ui-links', { audience: 'admin', page: 'tasks' });
      assert.equal(link.status, 200, JSON.stringify(link.body));
      const opened = await fetch(`${w.daemon.url}${link.body.path}`, { redirect: 'manual' });
      cookie = opened.headers.getSetCookie().find((c) => c.startsWith('hb_session='))!.split(';')[0]!;
    });
    after(async () => {
      await whmcs?.stop().catch(() => {});
      await w?.close();
      if (whmcsDb && whmcsDb !== w?.tdb) await whmcsDb.drop();
    });

    test('a refused ticket shows Send again (and the page one for every refused ticket)', async () => {
      const html = await get('/ui/admin/tasks');
      const table = /<table id="undelivered-tickets">[\s\S]*?<\/table>/.exec(html)?.[0] ?? assert.fail('no failure tickets table');
      for (const id of tickets) {
        const row = new RegExp(`<tr data-ticket="${id}">[\\s\\S]*?</tr>`).exec(table)?.[0] ?? assert.fail(`no row for ticket #${id}`);
        assert.match(row, />refused<\/span>/);
        assert.match(row, /Department ID not found/);
        assert.match(row, new RegExp(`<form method="post" action="/ui/admin/tickets/${id}/retry" class="ticket-retry"><input type="hidden" name="_csrf" value="[^"]+">`));
        assert.match(row, /<button type="submit" class="small">Send again<\/button>/);
      }
      assert.match(html, /<form method="post" action="\/ui\/admin\/tickets\/all\/retry" id="tickets-retry-all">/);
    });

    test('a POST without the CSRF token, or with a wrong one, is refused with 403 and changes nothing', async () => {
      const before = await actions();
      const none = await post(`/ui/admin/tickets/${tickets[0]}/retry`, { back: '/ui/admin/tasks' });
      assert.equal(none.status, 403);
      const wrong = await post(`/ui/admin/tickets/${tickets[0]}/retry`, { _csrf: 'x'.repeat(43), back: '/ui/admin/tasks' });
      assert.equal(wrong.status, 403);
      const all = await post('/ui/admin/tickets/all/retry', { back: '/ui/admin/tasks' });
      assert.equal(all.status, 403);
      assert.deepEqual([await state(tickets[0]!), await state(tickets[1]!)], ['refused', 'refused']);
      assert.deepEqual(await actions(), before);
    });

    test('a bad id or an unknown ticket gets a clear message and changes nothing', async () => {
      const csrf = csrfOf(await get('/ui/admin/tasks'));
      for (const bad of ['abc', '0', '999999']) {
        const res = await post(`/ui/admin/tickets/${bad}/retry`, { _csrf: csrf, back: '/ui/admin/tasks' });
        assert.equal(res.status, 303, bad);
        assert.equal(res.headers.get('location'), '/ui/admin/tasks');
      }
      assert.deepEqual((await actions()).slice(-3), [
        ['daemon admin (signed link)', false, 'There is no failure ticket "abc".'],
        ['daemon admin (signed link)', false, 'There is no failure ticket "0".'],
        ['daemon admin (signed link)', false, 'ticket #999999 does not exist in the outbox; nothing was changed'],
      ]);
      assert.deepEqual([await state(tickets[0]!), await state(tickets[1]!)], ['refused', 'refused']);
    });

    test('Send again puts the ticket back in the outbox, records who did it, and the next delivery sends it', async () => {
      const csrf = csrfOf(await get('/ui/admin/tasks'));
      const before = Date.now();
      const res = await post(`/ui/admin/tickets/${tickets[0]}/retry`, { _csrf: csrf, back: '/ui/admin/tasks' });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), '/ui/admin/tasks');
      const row = await db()(T.ticketOutbox).where('id', tickets[0]).first('state', 'next_attempt_at');
      assert.equal(row.state, 'pending');
      assert.ok(Number(row.next_attempt_at) <= before + 1000, 'due now');
      assert.equal(await state(tickets[1]!), 'refused', 'the other refused ticket is left alone');
      const msg = `Failure tickets: 1 ticket(s) and 0 note(s) back in the outbox, sent at the next delivery: #${tickets[0]}.`;
      assert.deepEqual((await actions()).at(-1), ['daemon admin (signed link)', true, msg]);
      // The message shows on the next page and in the Operation Log.
      assert.ok((await get('/ui/admin/tasks')).includes(msg.replace(/'/g, '&#x27;')));
      assert.ok((await get('/ui/admin/log?kind=actions')).includes(msg.replace(/'/g, '&#x27;')));

      // Not refused any more: a second press says so and changes nothing.
      const again = await post(`/ui/admin/tickets/${tickets[0]}/retry`, { _csrf: csrf, back: '/ui/admin/tasks' });
      assert.equal(again.status, 303);
      assert.deepEqual((await actions()).at(-1), ['daemon admin (signed link)', false, `ticket #${tickets[0]} is pending, not refused; nothing was changed`]);

      // With the department fixed, the next delivery opens it in WHMCS.
      await writeSetting(db(), 'tickets.department_id', '3');
      assert.equal(await runJob(), 'opened 1 ticket(s), added 0 note(s), 0 not delivered, 0 pending');
      assert.equal(await state(tickets[0]!), 'delivered');
      assert.equal(await state(tickets[1]!), 'refused');
    });

    test('inside WHMCS the form posts through the addon and runs as the WHMCS admin', async () => {
      const page = await embedded({ page: 'tasks', token: 'whmcs-token-1' });
      const html = String(page.body.html);
      const form = new RegExp(`<form method="post" action="addonmodules.php\\?module=hostbridge&amp;page=tickets/${tickets[1]}/retry" class="ticket-retry"><input type="hidden" name="token" value="whmcs-token-1">`);
      assert.match(html, form);
      assert.match(html, /<form method="post" action="addonmodules.php\?module=hostbridge&amp;page=tickets\/all\/retry" id="tickets-retry-all">/);
      assert.doesNotMatch(html, /action="\/ui/);

      const r = await embedded({ method: 'POST', page: 'tickets/all/retry', form: 'token=whmcs-token-1&back=%2Fui%2Fadmin%2Ftasks' });
      assert.deepEqual(r.body, { ok: true, status: 303, location: 'addonmodules.php?module=hostbridge&page=tasks' });
      assert.equal(await state(tickets[1]!), 'pending');
      assert.deepEqual((await actions()).at(-1), ['WHMCS admin jane (#7)', true, `Failure tickets: 1 ticket(s) and 0 note(s) back in the outbox, sent at the next delivery: #${tickets[1]}.`]);
      const none = await embedded({ method: 'POST', page: 'tickets/all/retry', form: 'token=whmcs-token-1' });
      assert.equal(none.body.status, 303);
      assert.deepEqual((await actions()).at(-1), ['WHMCS admin jane (#7)', true, 'Failure tickets: no refused ticket.']);
    });
  });
}
