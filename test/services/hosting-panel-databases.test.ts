// The hosting panel's Databases tab on an emulated Split fleet (a web node with a MySQL and a
// PostgreSQL server registered, a mail node), a service deployed through the signed API with a plan
// of 2 databases, and the actions run through the panel's dispatcher (what the module's
// HostingAction calls) and the engine:
//  - the tab lists the databases by the names the customer types, with the full names beside;
//    PostgreSQL is not offered (the account name has a "-", which HestiaCP refuses for it);
//  - bad fields are refused naming the field, the limit with the plan's words, a suspended service
//    with the customer's words, and then nothing is queued and nothing is written on any node;
//  - create, change password and delete land on the web node under the web user (never the mail
//    node), with the typed password (its hash on the node);
//  - a step finding its work half done (a retry after a crash) converges;
//  - the password is in no task argument, task log, Operation Log entry or command line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import type { Daemon } from '../../daemon/runtime.ts';
import { T } from '../../daemon/common/tables.ts';
import { inTx } from '../../daemon/db/connect.ts';
import { enqueueChainIn } from '../../daemon/engine/chains.ts';
import { serviceByWhmcsId } from '../../daemon/services/store.ts';
import type { HostingService } from '../../daemon/services/hosting-panel/dispatch.ts';
import { databaseLimit, databasesTab, dbPlace, offeredEngines, planDbCreate, planDbDelete, shortName } from '../../daemon/services/hosting-panel/databases.ts';
import { sealSecrets } from '../../daemon/services/hosting-panel/secrets.ts';
import { call } from '../helpers/api.ts';
import { DIALECTS, type TestDb } from '../helpers/db.ts';
import { commandsSince, type EmulatedNode } from '../helpers/fleet.ts';
import { panelHelpers, startPanelWorld, type PanelWorld } from '../helpers/hosting-panel.ts';
import { paths, runHestia } from '../emulator/hestia/index.ts';
import { readObjects } from '../emulator/hestia/conf.ts';
import { addDbHost } from '../emulator/hestia/commands/databases.ts';
import { passwordHash } from '../emulator/hestia/commands/users.ts';
import { TEMPLATE_DIR } from '../../daemon/pages/render.ts';

const WHMCS_ID = 8831;
const CLIENT = 7;
const PASSWORDS = ['Blog-Secret-71x', 'Shop-Secret-82y', 'Next-Secret-93z', 'Conv-Secret-14w'];

describe('the Databases tab\'s rules (pure)', () => {
  test('the account: Unified\'s single user, Split\'s web user; none without web hosting', () => {
    const svc = (placement: object, users: object) => ({ plan: { placement: { web: null, mail: null, unified: null, dns: [], ...placement }, names: { users, packages: {} } } }) as unknown as HostingService;
    assert.deepEqual(dbPlace(svc({ unified: 4 }, { all: 'shop-1', dns: 'shop-1-dns' })), { server: 4, user: 'shop-1' });
    assert.deepEqual(dbPlace(svc({ web: 2, mail: 3 }, { web: 'shop-1-web', mail: 'shop-1-mail' })), { server: 2, user: 'shop-1-web' });
    assert.throws(() => dbPlace(svc({ mail: 3 }, { mail: 'shop-1-mail' })), /Your plan has no web hosting, so it has no databases\./);
  });
  test('the limit\'s words; the engines offered', () => {
    assert.deepEqual(databaseLimit('unlimited', 9), { used: 9, max: null, full: null });
    assert.equal(databaseLimit(0, 0).full, 'Your plan includes no databases.');
    assert.equal(databaseLimit(1, 1).full, 'Your plan includes 1 database and it is in use.');
    assert.equal(databaseLimit(3, 2).full, null);
    assert.equal(databaseLimit(3, 3).full, 'Your plan includes 3 databases and all 3 are in use.');
    assert.deepEqual(offeredEngines('mysql,pgsql', 'shop1'), { engines: ['mysql', 'pgsql'], pgsqlBlocked: false });
    assert.deepEqual(offeredEngines('mysql,pgsql', 'shop-1-web'), { engines: ['mysql'], pgsqlBlocked: true });
    assert.deepEqual(offeredEngines('', 'shop1'), { engines: [], pgsqlBlocked: false });
    assert.equal(shortName('shop-1-web', 'shop-1-web_blog'), 'blog');
  });
});

for (const dialect of DIALECTS) {
  describe(`the Databases tab on an emulated node (${dialect})`, () => {
    let world: PanelWorld;
    let tdb: TestDb;
    let daemon: Daemon;
    let web: EmulatedNode;
    let mail: EmulatedNode;
    let user: string;
    let serviceId: number;

    const { act, chainEnds, view: viewOf, refusedWith } = panelHelpers(() => world, WHMCS_ID, CLIENT);
    const dbLines = (node: EmulatedNode, u: string) => readObjects(paths.userFile(node.dir, u, 'db.conf'));
    const onWeb = () => dbLines(web, user).map((o) => ({ db: o.get('DB'), user: o.get('DBUSER'), type: o.get('TYPE'), charset: o.get('CHARSET') }));
    const hashOf = (full: string) => dbLines(web, user).find((o) => o.get('DB') === full)?.get('MD5');
    const writes = (node: EmulatedNode) => commandsSince(node, 0).filter((e) => e.ran && /v-(add|delete|change)-database/.test((e.argv ?? [])[0] ?? '')).length;
    const view = () => viewOf(databasesTab);
    /** Refused with an InputError naming `field` (and matching `message`); no chain, no write on either node. */
    const refused = refusedWith(() => [writes(web), writes(mail)], 'no database command reached a node');

    before(async () => {
      // configoption10: the plan's databases.
      world = await startPanelWorld(dialect, 'hb-hp-db-', { web: 1, mail: 1, dns: 0, combo: 0, pdns: false }, WHMCS_ID, { service: { domain: 'dbs8831.example' }, configOptions: { configoption10: '2' } });
      ({ tdb, daemon } = world);
      const { svc, fleet, reg } = world;
      serviceId = svc.id;
      user = svc.plan!.names.users.web!;
      web = fleet.node(reg.names[svc.plan!.placement.web!]!);
      mail = fleet.node(reg.names[svc.plan!.placement.mail!]!);
      // A database server of each engine on the web node, as HestiaCP's installer registers them.
      addDbHost(web.dir, { type: 'mysql' });
      addDbHost(web.dir, { type: 'pgsql' });
    });
    after(async () => {
      await world?.close();
    });

    test('the tab: nothing yet, 0 of 2 in use, MySQL only (PostgreSQL refuses the "-" in the account name)', async () => {
      assert.match(user, /-/);
      const v = await view();
      assert.deepEqual({ prefix: v.prefix, empty: v.empty, limitText: v.limitText, full: v.full, canCreate: v.canCreate, pgsqlBlocked: v.pgsqlBlocked },
        { prefix: `${user}_`, empty: true, limitText: '0 of 2 in use', full: null, canCreate: true, pgsqlBlocked: true });
      assert.deepEqual(v.engines.map((e: { value: string }) => e.value), ['mysql']);
      assert.equal(v.nameMax, 63 - user.length - 1);
      assert.equal(v.userMax, 32 - user.length - 1);
    });

    test('bad fields are refused naming the field; nothing is queued or written', async () => {
      const ok = { name: 'blog', password: PASSWORDS[0]! };
      await refused('database-create', { ...ok, name: '' }, 'name', /is required/);
      await refused('database-create', { ...ok, name: '<script>alert(1)</script>' }, 'name', /is not allowed: use letters, digits and "_"/);
      await refused('database-create', { ...ok, name: '--flag' }, 'name', /is not allowed/);
      await refused('database-create', { ...ok, name: 'b\u04cfog' }, 'name', /is not allowed/);
      await refused('database-create', { ...ok, name: "blog'; DROP" }, 'name', /is not allowed/);
      await refused('database-create', { ...ok, name: 'x'.repeat(5000) }, 'name', new RegExp(`at most ${63 - user.length - 1} fit`));
      await refused('database-create', { ...ok, db_user: 'u'.repeat(40) }, 'db_user', new RegExp(`at most ${32 - user.length - 1} fit`));
      await refused('database-create', { ...ok, password: '' }, 'password', /is required/);
      await refused('database-create', { ...ok, password: 'short1A' }, 'password', /at least 8/);
      await refused('database-create', { ...ok, password: 'alllowercase1' }, 'password', /lower-case letter, an upper-case letter and a digit/);
      await refused('database-create', { ...ok, password: "Quote'Pass1" }, 'password', /quotes/);
      await refused('database-create', { ...ok, password: 'Line\nBreak1A' }, 'password', /control or invisible/);
      await refused('database-create', { ...ok, type: 'pgsql' }, 'type', /must be one of mysql \(MySQL \/ MariaDB\): PostgreSQL refuses names with "-"/);
      await refused('database-create', { ...ok, type: 'oracle' }, 'type', /must be one of mysql/);
      await refused('database-create', { ...ok, charset: 'WIN1250' }, 'charset', /is not a MySQL \/ MariaDB character set offered here/);
      await refused('database-delete', { database: 'nothere' }, 'database', /you have no database named "nothere"/);
      await refused('database-password', { database: 'nothere', password: PASSWORDS[0]! }, 'database', /you have no database named/);
      assert.deepEqual(onWeb(), []);
    });

    test('create lands on the web node under the web user with the typed password; the mail node has none', async () => {
      const r = await act('database-create', { name: 'blog', db_user: '', password: PASSWORDS[0]!, type: 'mysql', charset: '' });
      assert.equal(r.message, `Creating database blog (${user}_blog, user ${user}_blog)`);
      assert.equal(await chainEnds(r.chainId), 'succeeded');
      assert.deepEqual(onWeb(), [{ db: `${user}_blog`, user: `${user}_blog`, type: 'mysql', charset: 'UTF8MB4' }]);
      assert.equal(hashOf(`${user}_blog`), passwordHash(PASSWORDS[0]!));
      const mailUser = (await serviceByWhmcsId(tdb.db, WHMCS_ID))!.plan!.names.users.mail!;
      assert.deepEqual(dbLines(mail, mailUser), []);
      assert.equal(writes(mail), 0);
      assert.equal(writes(web), 1, 'one v-add-database on the web node');
      // The same name again (typed with its prefix) is refused.
      await refused('database-create', { name: `${user}_blog`, password: PASSWORDS[1]! }, 'name', /you already have a database named "blog"/);
      await refused('database-create', { name: 'other', db_user: 'blog', password: PASSWORDS[1]! }, 'db_user', /already the user of another database/);
      const v = await view();
      assert.deepEqual(v.databases.map((d: Record<string, unknown>) => [d.name, d.full, d.dbUser, d.engine, d.charset, d.host, d.suspended, d.size]),
        [['blog', `${user}_blog`, 'blog', 'MySQL / MariaDB', 'utf8mb4', 'localhost', false, null]]);
      assert.equal(v.limitText, '1 of 2 in use');
    });

    test('the limit: a second database fills the plan, a third is refused with the plan\'s words', async () => {
      const r = await act('database-create', { name: 'shop', db_user: 'shopper', password: PASSWORDS[1]!, charset: 'latin1' });
      assert.equal(await chainEnds(r.chainId), 'succeeded');
      assert.deepEqual(onWeb().map((d) => [d.db, d.user, d.charset]), [[`${user}_blog`, `${user}_blog`, 'UTF8MB4'], [`${user}_shop`, `${user}_shopper`, 'LATIN1']]);
      await refused('database-create', { name: 'third', password: PASSWORDS[2]! }, '', /^Your plan includes 2 databases and all 2 are in use\.$/);
      const v = await view();
      assert.deepEqual({ full: v.full, canCreate: v.canCreate }, { full: 'Your plan includes 2 databases and all 2 are in use.', canCreate: false });
    });

    test('change password sets the new one on the node; delete removes the database', async () => {
      const p = await act('database-password', { database: 'blog', password: PASSWORDS[2]! });
      assert.equal(await chainEnds(p.chainId), 'succeeded');
      assert.equal(hashOf(`${user}_blog`), passwordHash(PASSWORDS[2]!));
      const d = await act('database-delete', { database: `${user}_shop` });
      assert.equal(d.message, `Deleting database shop (${user}_shop) and its data`);
      assert.equal(await chainEnds(d.chainId), 'succeeded');
      assert.deepEqual(onWeb().map((x) => x.db), [`${user}_blog`]);
    });

    test('a suspended service refuses every write; unsuspended it accepts them again', async () => {
      await tdb.db(T.services).where('id', serviceId).update({ state: 'suspended' });
      try {
        for (const [action, fields] of [['database-create', { name: 'later', password: PASSWORDS[3]! }], ['database-delete', { database: 'blog' }], ['database-password', { database: 'blog', password: PASSWORDS[3]! }]] as const) {
          await refused(action, fields, '', /while suspended, client-area write actions are blocked/);
        }
      } finally {
        await tdb.db(T.services).where('id', serviceId).update({ state: 'active' });
      }
      const r = await act('database-create', { name: 'later', password: PASSWORDS[3]! });
      assert.equal(await chainEnds(r.chainId), 'succeeded');
      assert.ok(onWeb().some((x) => x.db === `${user}_later`));
    });

    test('a step finding its work half done converges: the database already made gets the typed password; a gone one is not deleted twice', async () => {
      const at = { server: (await serviceByWhmcsId(tdb.db, WHMCS_ID))!.plan!.placement.web!, user };
      const queue = async (operation: string, steps: ReturnType<typeof planDbCreate>, secret?: string) => inTx(tdb.db, async (trx) => {
        const { chainId } = await enqueueChainIn(trx, { serviceId, operation, steps });
        if (secret) await sealSecrets(trx, daemon.core.config.masterKey, chainId, [{ name: 'password', value: secret }]);
        return chainId;
      });
      // As if an attempt had created it and the daemon died before hearing back (another password on the node).
      await act('database-delete', { database: 'later' }).then((r) => chainEnds(r.chainId));
      const made = runHestia(web.dir, 'v-add-database', [user, 'later', 'later', 'Some-Other-Pw1', 'mysql']);
      assert.equal(made.code, 0, made.stdout);
      const c = await queue('database-create', planDbCreate(at, { database: 'later', dbUser: 'later', engine: 'mysql', charset: 'UTF8MB4' }), PASSWORDS[3]);
      assert.equal(await chainEnds(c), 'succeeded');
      assert.equal(hashOf(`${user}_later`), passwordHash(PASSWORDS[3]!));
      const log = (await tdb.db(T.attempts).join(T.tasks, `${T.tasks}.id`, `${T.attempts}.task_id`).where(`${T.tasks}.chain_id`, c).pluck('output')).join('\n');
      assert.match(log, /already has .*_later with user .*_later: setting its password/);
      // Deleted meanwhile on the node: the delete step finds nothing to do and succeeds.
      assert.equal(runHestia(web.dir, 'v-delete-database', [user, `${user}_later`]).code, 0);
      const before = writes(web);
      const d = await queue('database-delete', planDbDelete(at, `${user}_later`));
      assert.equal(await chainEnds(d), 'succeeded');
      assert.equal(writes(web), before, 'no v-delete-database was sent for a database already gone');
      // The password's secret is gone: the step fails for good, naming why, without guessing.
      const lost = await queue('database-create', planDbCreate(at, { database: 'nopw', dbUser: 'nopw', engine: 'mysql', charset: 'UTF8MB4' }));
      assert.match(await chainEnds(lost), /^failed: .*the password this step needs is no longer kept/);
      assert.ok(!onWeb().some((x) => x.db === `${user}_nopw`));
    });

    test('the partial renders the list and the forms, every value escaped', async () => {
      const hb = Handlebars.create();
      for (const name of ['hp-form', 'hp-databases']) hb.registerPartial(name, fs.readFileSync(path.join(TEMPLATE_DIR, 'whmcs', `_${name}.hbs`), 'utf8'));
      const v = await view();
      // A row as a hostile node might list it: shown as text, never markup.
      v.databases.push({ ...v.databases[0], name: '<script>x()</script>', full: '"><img src=x>', dbUser: "' onmouseover='y", engine: 'MySQL / MariaDB' });
      const html = hb.compile('{{> hp-databases}}')(v, { data: { root: { action: 'clientarea.php?action=productdetails&id=1&modop=custom&a=HostingAction', token: 'abc123' } } });
      assert.ok(!html.includes('<script>x()') && !html.includes('<img src=x>') && !html.includes("' onmouseover="), 'hostile values are escaped');
      assert.ok(html.includes('&lt;script&gt;x()&lt;/script&gt;'));
      assert.match(html, /<form method="post" action="clientarea\.php\?action&#x3D;productdetails&amp;id&#x3D;1&amp;modop&#x3D;custom&amp;a&#x3D;HostingAction" class="hb-inline hp-databases-password"><input type="hidden" name="hb_action" value="database-password"><input type="hidden" name="token" value="abc123">/);
      assert.match(html, /<input type="hidden" name="hbf_database" value="blog">/);
      assert.match(html, /name="hb_action" value="database-delete"/);
      assert.match(html, /id="hp-databases-create"/);
      assert.match(html, /<option value="mysql" selected>MySQL \/ MariaDB<\/option>/);
      assert.match(html, /PostgreSQL is not offered/);
      assert.ok(!/name="hbf_[^"]*[^a-z0-9_"][^"]*"/.test(html), 'field names are hbf_<a-z0-9_>');
      // The plan full: no create form, the plan's words instead.
      const full = hb.compile('{{> hp-databases}}')({ ...v, full: 'Your plan includes 2 databases and all 2 are in use.' }, { data: { root: { action: 'x', token: 't' } } });
      assert.ok(!full.includes('id="hp-databases-create"'));
      assert.match(full, /<p id="hp-databases-full">Your plan includes 2 databases and all 2 are in use\.<\/p>/);
      const unreadable = hb.compile('{{> hp-databases}}')({ readError: true }, { data: { root: { action: 'x', token: 't' } } });
      assert.match(unreadable, /id="hp-databases-unreadable"/);
    });

    test('through the signed API: the panel renders the tab, a refused field comes back 422, a create is queued and lands', async () => {
      const page = await call(daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel`, { tab: 'databases', client_id: CLIENT });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      const html = JSON.stringify(page.body);
      assert.match(html, /hp-databases-list/);
      assert.match(html, /data-row=\\"blog\\"/);
      const bad = await call(daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel/actions`, { action: 'database-create', client_id: CLIENT, fields: { name: '"><script>', password: PASSWORDS[1] } });
      assert.equal(bad.status, 422, JSON.stringify(bad.body));
      assert.match(JSON.stringify(bad.body), /name/);
      const ok = await call(daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel/actions`, { action: 'database-create', client_id: CLIENT, fields: { name: 'viaapi', password: PASSWORDS[1] } });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(await chainEnds(Number((ok.body as { chain_id: number }).chain_id)), 'succeeded');
      assert.equal(hashOf(`${user}_viaapi`), passwordHash(PASSWORDS[1]!));
    });

    test('the passwords are in no task argument, task log, Operation Log entry or command line; who asked is recorded', async () => {
      const texts = [
        JSON.stringify(await tdb.db(T.tasks).where('service_id', serviceId).select('args', 'last_error', 'result')),
        JSON.stringify(await tdb.db(T.attempts).select('output', 'error')),
        JSON.stringify(await tdb.db(T.oplog).select('message', 'error')),
        JSON.stringify(await tdb.db(T.adminActions).select('message')),
        JSON.stringify(await tdb.db(T.panelSecrets).select('sealed')),
        JSON.stringify(commandsSince(web, 0).map((e) => e.argv)),
      ];
      for (const p of PASSWORDS) for (const t of texts) assert.ok(!t.includes(p), 'a typed password leaked');
      const oplog = await tdb.db(T.oplog).where({ kind: 'action', whmcs_service_id: WHMCS_ID }).select('actor', 'message');
      assert.ok(oplog.some((o: { message: string }) => /database-create: Creating database blog/.test(o.message)), JSON.stringify(oplog));
      assert.ok(oplog.some((o: { message: string }) => /database-create: refused: Your plan includes 2 databases/.test(o.message)));
      assert.ok(oplog.every((o: { actor: string }) => o.actor === `WHMCS client #${CLIENT}`));
    });
  });
}
