// The customer's hosting panel (issue 13) through the signed API, on an emulated Split fleet (one web,
// one mail node): the dispatcher's refusals, each with its message and nothing queued; a mailbox
// created, its password and quota changed and deleted on the emulated mail node through the engine;
// the plan's mail accounts limit; a suspended service refusing every write and accepting again once
// active; the panel's HTML (tabs by role); and the password in no task arg, task log, Operation Log
// entry, page or stored secret once its chain has ended.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { T } from '../../daemon/common/tables.ts';
import { call } from '../helpers/api.ts';
import { DIALECTS, type TestDb } from '../helpers/db.ts';
import { commandsSince, type EmulatedNode } from '../helpers/fleet.ts';
import { panelHelpers, startPanelWorld, type PanelWorld } from '../helpers/hosting-panel.ts';
import { paths, runHestia } from '../emulator/hestia/index.ts';
import { passwordHash } from '../emulator/hestia/commands/users.ts';

const WHMCS_ID = 8901;
const DOMAIN = 'panel8901.example';
const CLIENT = 7;
const PASSWORD = 'Mailb0x-Secret-91';
const PASSWORD2 = 'Chang3d-Secret-47';

for (const dialect of DIALECTS) {
  describe(`hosting panel: dispatcher and mailboxes (${dialect})`, () => {
    let world: PanelWorld;
    let tdb: TestDb;
    let node: EmulatedNode;
    let user: string;
    let serviceId: number;

    const { chainCount, chainEnds } = panelHelpers(() => world, WHMCS_ID, CLIENT);
    const act = (action: string, fields: Record<string, string> = {}, clientId = CLIENT, id = WHMCS_ID) =>
      call(world.daemon.url, 'POST', `/v1/services/${id}/hosting-panel/actions`, { client_id: clientId, action, fields });
    const mailboxes = () => {
      const r = runHestia(node.dir, 'v-list-mail-accounts', [user, DOMAIN, 'json']);
      assert.equal(r.code, 0, r.stdout);
      return JSON.parse(r.stdout) as Record<string, Record<string, string>>;
    };
    const mailConf = () => fs.readFileSync(paths.userFile(node.dir, user, `mail/${DOMAIN}.conf`), 'utf8');
    const queued = async (action: string, fields: Record<string, string> = {}) => {
      const r = await act(action, fields);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(await chainEnds(r.body.chain_id), 'succeeded');
      return r.body as { message: string; chain_id: number };
    };
    /** A refusal: its status and message, no chain queued, no command sent to the mail node. */
    const refused = async (action: string, fields: Record<string, string>, status: number, message: RegExp, field?: string, clientId = CLIENT, id = WHMCS_ID) => {
      const chains = await chainCount();
      const commands = commandsSince(node, 0).length;
      const r = await act(action, fields, clientId, id);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(r.body.error, message);
      if (field !== undefined) assert.equal(r.body.field, field);
      assert.equal(await chainCount(), chains, 'no chain was queued');
      const writes = commandsSince(node, commands).filter((c) => !/v-list-/.test(c.command));
      assert.deepEqual(writes.map((c) => c.command), [], 'nothing was written on the mail node');
    };

    before(async () => {
      world = await startPanelWorld(dialect, 'hb-hpanel-', { web: 1, mail: 1, dns: 0, combo: 0, pdns: false }, WHMCS_ID, { service: { domain: DOMAIN, client_id: CLIENT }, configOptions: { configoption11: '2' }, quiet: 'node-work' });
      tdb = world.tdb;
      const { svc } = world;
      serviceId = svc.id;
      user = svc.plan!.names.users.mail!;
      node = world.fleet.node(world.reg.names[svc.plan!.placement.mail!]!);
    });
    after(async () => { await world?.close(); });

    test('refusals: unknown action, another client\'s or an unknown service, bad fields; each with its message and nothing queued', async () => {
      await refused('mailbox-explode', {}, 404, /"mailbox-explode" is not an action of the hosting panel/, 'action');
      await refused('mailbox-create', { name: 'info', password: PASSWORD }, 404, /service 8901 does not exist/, undefined, CLIENT + 1);
      await refused('mailbox-create', { name: 'info', password: PASSWORD }, 404, /service 999999 does not exist/, undefined, CLIENT, 999_999);
      for (const name of ['<script>alert(1)</script>', '--flag', 'a"b\'c', 'x'.repeat(300), 'іnfo', 'inf@o', '']) {
        await refused('mailbox-create', { name, password: PASSWORD }, 422, /mailbox name|letters a–z|at most 64/, 'name');
      }
      await refused('mailbox-create', { name: 'info', password: 'short1' }, 422, /8 to 128/, 'password');
      await refused('mailbox-create', { name: 'info', password: 'no digits here at all' }, 422, /letter and one digit/, 'password');
      await refused('mailbox-create', { name: 'info', password: PASSWORD, quota: '999999' }, 422, /at most 1024 MB/, 'quota');
      await refused('mailbox-create', { name: 'info', password: PASSWORD, quota: '-5' }, 422, /whole number/, 'quota');
      await refused('mailbox-delete', { name: 'nobody' }, 404, /there is no mailbox nobody@panel8901\.example/, 'name');
      // The refusals are in the Operation Log with the actor; no password is.
      const log = await tdb.db(T.oplog).where('actor', `WHMCS client #${CLIENT}`).where('result', 'refused').pluck('message');
      assert.ok(log.some((m: string) => /mailbox-explode/.test(m)), log.join('\n'));
      assert.ok(!log.some((m: string) => m.includes(PASSWORD)));
    });

    test('a role that is off: no tab, and its actions are refused', async () => {
      const row = await tdb.db(T.services).where('id', serviceId).first('params');
      const plan = JSON.parse(row.params);
      plan.product.roles.mail = false;
      await tdb.db(T.services).where('id', serviceId).update({ params: JSON.stringify(plan) });
      try {
        await refused('mailbox-create', { name: 'info', password: PASSWORD }, 403, /not part of your plan/);
        const page = await call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel`, { client_id: CLIENT, tab: 'mailboxes' });
        assert.equal(page.status, 200, JSON.stringify(page.body));
        assert.doesNotMatch(page.body.html, /hp-tab-mailboxes/);
        assert.match(page.body.html, /hp-overview/);
      } finally {
        await tdb.db(T.services).where('id', serviceId).update({ params: row.params });
      }
    });

    test('a mailbox is created, its password and quota changed, then deleted, on the mail node', async () => {
      const created = await queued('mailbox-create', { name: 'Info', password: PASSWORD, quota: '500' });
      assert.equal(created.message, `Mailbox info@${DOMAIN} is being created.`);
      assert.equal(mailboxes().info?.QUOTA, '500');
      assert.ok(mailConf().includes(passwordHash(PASSWORD)), 'the mailbox has the password typed');
      await refused('mailbox-create', { name: 'info', password: PASSWORD }, 409, /exists already/, 'name');

      await queued('mailbox-password', { name: 'info', password: PASSWORD2 });
      assert.ok(mailConf().includes(passwordHash(PASSWORD2)), 'the new password is set');
      assert.ok(!mailConf().includes(passwordHash(PASSWORD)));

      await queued('mailbox-quota', { name: 'info', quota: '300' });
      assert.equal(mailboxes().info?.QUOTA, '300');

      const page = await call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel`, { client_id: CLIENT, tab: 'mailboxes', token: 'abc123' });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.match(page.body.html, /info@panel8901\.example/);
      assert.match(page.body.html, /name="hb_action" value="mailbox-delete"/);
      assert.match(page.body.html, /name="token" value="abc123"/);
      assert.match(page.body.html, /hbtab&#x3D;mailboxes&amp;modop&#x3D;custom&amp;a&#x3D;HostingAction/);

      await queued('mailbox-delete', { name: 'info' });
      assert.equal(mailboxes().info, undefined);
    });

    test('the plan\'s mail accounts limit: the third mailbox is refused', async () => {
      await queued('mailbox-create', { name: 'one', password: PASSWORD });
      await queued('mailbox-create', { name: 'two', password: PASSWORD });
      await refused('mailbox-create', { name: 'three', password: PASSWORD }, 409, /^Your plan includes 2 mailboxes and all 2 are in use\.$/);
      assert.deepEqual(Object.keys(mailboxes()).sort(), ['one', 'two']);
    });

    test('suspended: every write is refused; active again: accepted', async () => {
      await tdb.db(T.services).where('id', serviceId).update({ state: 'suspended' });
      try {
        const msg = /while suspended, client-area write actions are blocked/;
        await refused('mailbox-create', { name: 'three', password: PASSWORD }, 409, msg);
        await refused('mailbox-delete', { name: 'one' }, 409, msg);
        await refused('mailbox-password', { name: 'one', password: PASSWORD2 }, 409, msg);
        await refused('mailbox-quota', { name: 'one', quota: '10' }, 409, msg);
        const page = await call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel`, { client_id: CLIENT, tab: 'mailboxes' });
        assert.match(page.body.html, /<fieldset disabled/);
        assert.match(page.body.html, /while suspended, client-area write actions are blocked/);
      } finally {
        await tdb.db(T.services).where('id', serviceId).update({ state: 'active' });
      }
      await queued('mailbox-delete', { name: 'two' });
      assert.deepEqual(Object.keys(mailboxes()), ['one']);
    });

    test('a failed deployment: Try again runs the repair chain and the service is active again; refused while active', async () => {
      await refused('deploy-retry', {}, 409, /nothing to try again/);
      await tdb.db(T.services).where('id', serviceId).update({ state: 'failed' });
      await refused('mailbox-create', { name: 'three', password: PASSWORD }, 409, /deployment stopped on an error/);
      const page = await call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel`, { client_id: CLIENT, tab: 'overview' });
      assert.match(page.body.html, /id="hp-retry-form"/);
      const r = await act('deploy-retry');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(await chainEnds(r.body.chain_id), 'succeeded');
      assert.equal((await tdb.db(T.services).where('id', serviceId).first('state')).state, 'active');
      assert.deepEqual(Object.keys(mailboxes()), ['one'], 'the repair deleted nothing');
    });

    test('the passwords are in no task arg, task log, Operation Log entry, page or kept secret', async () => {
      const hay: string[] = [];
      for (const t of await tdb.db(T.tasks).select('args', 'last_error', 'result')) hay.push(JSON.stringify(t));
      for (const a of await tdb.db(T.attempts).select()) hay.push(JSON.stringify(a));
      for (const o of await tdb.db(T.oplog).select()) hay.push(JSON.stringify(o));
      for (const o of await tdb.db(T.adminActions).select()) hay.push(JSON.stringify(o));
      for (const tab of ['overview', 'mailboxes']) hay.push((await call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel`, { client_id: CLIENT, tab })).body.html);
      const all = hay.join('\n');
      assert.ok(all.includes('mailbox.create'), 'the tasks were read');
      for (const p of [PASSWORD, PASSWORD2]) assert.ok(!all.includes(p), 'a password leaked');
      // Secrets of ended chains are swept when the next action is queued; one more sweep here.
      await queued('usage-sync');
      assert.equal(Number(((await tdb.db(T.panelSecrets).count({ n: '*' }).first()) as { n: number }).n), 0, 'no sealed secret is kept');
    });
  });
}
