// The hosting panel's Backups tab on an emulated Split fleet (a web node with a MySQL server, a mail
// node), a service deployed through the signed API (its plan keeps 1 backup per account, the
// built-in default), and the actions run through the panel's dispatcher and the engine:
//  - the tab lists both accounts' backups, labelled; bad fields are refused naming the field, and
//    then nothing is queued and no backup command reaches either node;
//  - "back up both" makes one archive on each node under its own user; the quota is then full and
//    a new one is refused with the plan's words: the count never exceeds the plan;
//  - a mailbox deleted, then the mail part restored: the mailbox is back; a database deleted, then
//    the databases part (one item) and the whole archive restored: it is back;
//  - a backup deleted is gone from the node, and a new one can be made;
//  - a suspended service refuses every write, unsuspended it accepts them;
//  - a create step never rotates past the quota, and a retry finding its archive made converges.
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
import { backupAccounts, backupFull, backupsTab, planBackupCreate, type BackupAccount } from '../../daemon/services/hosting-panel/backups.ts';
import { restoreParts } from '../../daemon/handlers/hosting/panel-backups.ts';
import { call } from '../helpers/api.ts';
import { DIALECTS, type TestDb } from '../helpers/db.ts';
import { commandsSince, type EmulatedNode } from '../helpers/fleet.ts';
import { panelHelpers, startPanelWorld, type PanelWorld } from '../helpers/hosting-panel.ts';
import { paths, runHestia } from '../emulator/hestia/index.ts';
import { readObjects } from '../emulator/hestia/conf.ts';
import { addDbHost } from '../emulator/hestia/commands/databases.ts';
import { TEMPLATE_DIR } from '../../daemon/pages/render.ts';

const WHMCS_ID = 8841;
const CLIENT = 7;
const DOMAIN = 'bk8841.example';

describe('the Backups tab\'s rules (pure)', () => {
  const svc = (mode: string, placement: object, users: object, roles = { web: true, mail: true, dns: true }) => ({
    plan: { placement: { web: null, mail: null, unified: null, dns: [], ...placement }, names: { users, packages: {} }, product: { mode, roles, hostingPlan: null } },
  }) as unknown as HostingService;
  test('the accounts: Unified\'s one, Split\'s web and mail, a Vanity site\'s web only, none without either', () => {
    const pick = (a: BackupAccount[]) => a.map((x) => [x.role, x.server, x.user, x.max, x.label]);
    assert.deepEqual(pick(backupAccounts(svc('unified', { unified: 4 }, { all: 'u-1', dns: 'u-1-dns' }))), [['all', 4, 'u-1', 1, 'Web and mail']]);
    assert.deepEqual(pick(backupAccounts(svc('split', { web: 2, mail: 3 }, { web: 's-web', mail: 's-mail' }))), [['web', 2, 's-web', 1, 'Web hosting'], ['mail', 3, 's-mail', 1, 'Mail']]);
    assert.deepEqual(pick(backupAccounts(svc('vanity', { web: 2, mail: 3 }, { web: 'v-web' }))), [['web', 2, 'v-web', 1, 'Web hosting']]);
    assert.deepEqual(backupAccounts(svc('split', { mail: 3 }, { mail: 's-mail' }, { web: false, mail: false, dns: true })), []);
  });
  test('the quota\'s words; what a restore asks HestiaCP for', () => {
    assert.equal(backupFull({ max: 0, label: 'Mail' }, 0), 'Your plan includes no backups of mail.');
    assert.equal(backupFull({ max: 2, label: 'Mail' }, 1), null);
    assert.equal(backupFull({ max: 1, label: 'Web hosting' }, 1), 'Your plan keeps 1 backup of web hosting and it is in use: delete one to make a new one now.');
    assert.equal(backupFull({ max: 3, label: 'Mail' }, 3), 'Your plan keeps 3 backups of mail and all 3 are in use: delete one to make a new one now.');
    assert.deepEqual(restoreParts('all', undefined), { web: 'all', dns: 'all', mail: 'all', db: 'all', cron: 'all', udir: 'all' });
    assert.deepEqual(restoreParts('mail', undefined), { mail: 'all' });
    assert.deepEqual(restoreParts('db', 'x_shop'), { db: ['x_shop'] });
  });
});

for (const dialect of DIALECTS) {
  describe(`the Backups tab on an emulated Split fleet (${dialect})`, () => {
    let world: PanelWorld;
    let tdb: TestDb;
    let daemon: Daemon;
    let web: EmulatedNode;
    let mail: EmulatedNode;
    let webUser: string;
    let mailUser: string;
    let serviceId: number;

    const { chainEnds, done, view: viewOf, refusedWith } = panelHelpers(() => world, WHMCS_ID, CLIENT);
    const archives = (node: EmulatedNode, u: string) => readObjects(paths.userFile(node.dir, u, 'backup.conf')).map((o) => o.get('BACKUP')!);
    const mailboxes = () => readObjects(paths.userFile(mail.dir, mailUser, `mail/${DOMAIN}.conf`)).map((o) => o.get('ACCOUNT'));
    const databases = () => readObjects(paths.userFile(web.dir, webUser, 'db.conf')).map((o) => o.get('DB'));
    const writes = (node: EmulatedNode) => commandsSince(node, 0).filter((e) => e.ran && /^v-(backup|delete|restore|schedule)-user/.test((e.argv ?? [])[0] ?? '')).length;
    const view = () => viewOf(backupsTab);
    /** Refused with an InputError naming `field` (and matching `message`); no chain, no backup command on either node. */
    const refused = refusedWith(() => [writes(web), writes(mail)], 'no backup command reached a node');

    before(async () => {
      world = await startPanelWorld(dialect, 'hb-hp-bk-', { web: 1, mail: 1, dns: 0, combo: 0, pdns: false }, WHMCS_ID, { service: { domain: DOMAIN }, configOptions: { configoption10: '3' } });
      ({ tdb, daemon } = world);
      const { svc, fleet, reg } = world;
      serviceId = svc.id;
      webUser = svc.plan!.names.users.web!;
      mailUser = svc.plan!.names.users.mail!;
      web = fleet.node(reg.names[svc.plan!.placement.web!]!);
      mail = fleet.node(reg.names[svc.plan!.placement.mail!]!);
      addDbHost(web.dir, { type: 'mysql' });
      // What the customer has before the backup: a mailbox and a database.
      assert.equal(runHestia(mail.dir, 'v-add-mail-account', [mailUser, DOMAIN, 'info', 'Mailbox-Pw-1234']).code, 0);
      assert.equal(runHestia(web.dir, 'v-add-database', [webUser, 'shop', 'shop', 'Shop-Pw-5678', 'mysql']).code, 0);
    });
    after(async () => {
      await world?.close();
    });

    test('the tab: web and mail, labelled, no backups yet, 0 of 1 kept each', async () => {
      const v = await view();
      assert.equal(v.many, true);
      assert.equal(v.canCreateAll, true);
      assert.deepEqual(v.accounts.map((a: Record<string, unknown>) => [a.role, a.label, a.empty, a.limitText, a.full]),
        [['web', 'Web hosting', true, '0 of 1 kept', null], ['mail', 'Mail', true, '0 of 1 kept', null]]);
    });

    test('bad fields are refused naming the field; nothing is queued or run', async () => {
      await refused('backup-create', { account: 'dns' }, 'account', /must be one of web \(Web hosting\), mail \(Mail\)/);
      await refused('backup-delete', { account: 'web', archive: '' }, 'archive', /is required/);
      await refused('backup-delete', { account: 'web', archive: '../../etc/passwd' }, 'archive', /you have no backup "\.\.\/\.\.\/etc\/passwd" of web hosting/);
      await refused('backup-restore', { account: 'mail', archive: 'x.tar', part: 'mail' }, 'archive', /you have no backup/);
      await refused('backup-restore', { account: 'mail', archive: 'x.tar', part: 'cron' }, 'part', /must be one of all/);
      await refused('backup-restore', { account: '', archive: 'x.tar' }, 'account', /must be one of/);
      assert.deepEqual([archives(web, webUser), archives(mail, mailUser)], [[], []]);
    });

    test('back up both: one archive on each node under its own user; the quota is then full and refused', async () => {
      const r = await done('backup-create', { account: 'both' });
      assert.equal(r.message, 'Backing up web hosting and mail now (this can take a while)');
      const [w, m] = [archives(web, webUser), archives(mail, mailUser)];
      assert.equal(w.length, 1);
      assert.equal(m.length, 1);
      assert.match(w[0]!, new RegExp(`^${webUser}\\.\\d{4}-\\d\\d-\\d\\d_\\d\\d-\\d\\d-\\d\\d\\.tar$`));
      assert.match(m[0]!, new RegExp(`^${mailUser}\\.`));
      assert.deepEqual(archives(web, mailUser).length + archives(mail, webUser).length, 0, 'each account only on its own node');
      await refused('backup-create', { account: 'web' }, '', /^Your plan keeps 1 backup of web hosting and it is in use: delete one to make a new one now\.$/);
      await refused('backup-create', { account: 'both' }, '', /^Your plan keeps 1 backup of/);
      await refused('backup-create', {}, '', /^Your plan keeps 1 backup of/);
      await refused('backup-restore', { account: 'mail', archive: m[0]!, part: 'db' }, 'part', /this backup holds no databases/);
      await refused('backup-restore', { account: 'web', archive: w[0]!, part: 'db', item: 'someone_else' }, 'item', /is not in this backup's databases/);
      await refused('backup-restore', { account: 'web', archive: w[0]!, part: 'all', item: 'nothere.example' }, 'item', /"nothere\.example" is not in this backup$/);
      await refused('backup-restore', { account: 'web', archive: w[0]!, part: 'toString' }, 'part', /must be one of all/);
      const v = await view();
      assert.deepEqual(v.accounts.map((a: Record<string, unknown>) => [a.limitText, a.canCreate]), [['1 of 1 kept', false], ['1 of 1 kept', false]]);
      assert.equal(v.canCreateAll, false);
      assert.deepEqual(v.accounts[0].backups[0].db, `${webUser}_shop`);
      assert.deepEqual(v.accounts[1].backups[0].mail, DOMAIN);
    });

    test('a mailbox deleted, then the mail part restored: the mailbox is back', async () => {
      await done('mailbox-delete', { name: 'info' });
      assert.ok(!mailboxes().includes('info'));
      const [m] = archives(mail, mailUser);
      const r = await done('backup-restore', { account: 'mail', archive: m!, part: 'mail' });
      assert.match(r.message, /^Restoring the mail from the backup of mail made \d{4}-/);
      assert.ok(mailboxes().includes('info'), 'the mailbox is back');
      assert.equal(archives(mail, mailUser).length, 1, 'a restore makes no backup');
    });

    test('a database deleted comes back with its part (one item), and with the whole archive', async () => {
      const [w] = archives(web, webUser);
      await done('database-delete', { database: 'shop' });
      assert.ok(!databases().includes(`${webUser}_shop`));
      await done('backup-restore', { account: 'web', archive: w!, part: 'db', item: `${webUser}_shop` });
      assert.ok(databases().includes(`${webUser}_shop`));
      // The item chosen with "everything": its part (databases) only.
      await done('database-delete', { database: 'shop' });
      const one = await done('backup-restore', { account: 'web', archive: w!, part: 'all', item: `${webUser}_shop` });
      assert.match(one.message, new RegExp(`^Restoring ${webUser}_shop from the backup of web hosting`));
      const args = await tdb.db(T.tasks).where('chain_id', one.chainId).pluck('args');
      assert.deepEqual(args.map((x: unknown) => { const o = (typeof x === 'string' ? JSON.parse(x) : x) as Record<string, unknown>; return [o.part, o.item]; }), [['db', `${webUser}_shop`]]);
      assert.ok(databases().includes(`${webUser}_shop`));
      await done('database-delete', { database: 'shop' });
      const r = await done('backup-restore', { account: 'web', archive: w!, part: 'all' });
      assert.match(r.message, /^Restoring everything from the backup of web hosting/);
      assert.ok(databases().includes(`${webUser}_shop`));
    });

    test('a suspended service refuses every write; unsuspended it accepts them', async () => {
      const [m] = archives(mail, mailUser);
      await tdb.db(T.services).where('id', serviceId).update({ state: 'suspended' });
      try {
        for (const [action, fields] of [['backup-create', { account: 'web' }], ['backup-delete', { account: 'mail', archive: m! }], ['backup-restore', { account: 'mail', archive: m!, part: 'all' }]] as const) {
          await refused(action, fields, '', /while suspended, client-area write actions are blocked/);
        }
      } finally {
        await tdb.db(T.services).where('id', serviceId).update({ state: 'active' });
      }
      await done('backup-restore', { account: 'mail', archive: m!, part: 'mail', item: DOMAIN });
      assert.ok(mailboxes().includes('info'));
    });

    test('delete removes the archive from its node; a new backup then fits the plan again', async () => {
      const [m] = archives(mail, mailUser);
      const r = await done('backup-delete', { account: 'mail', archive: m! });
      assert.match(r.message, /^Deleting the backup of mail made /);
      assert.deepEqual(archives(mail, mailUser), []);
      assert.equal(archives(web, webUser).length, 1, 'the web backup is kept');
      const v = await view();
      assert.deepEqual(v.accounts.map((a: Record<string, unknown>) => a.canCreate), [false, true]);
      await done('backup-create', { account: 'mail' });
      assert.equal(archives(mail, mailUser).length, 1);
    });

    test('the create step never rotates past the quota, and a retry that finds its archive made converges', async () => {
      const svc = (await serviceByWhmcsId(tdb.db, WHMCS_ID)) as HostingService;
      const [acc] = backupAccounts(svc);
      const queue = async (known: string[]) => inTx(tdb.db, async (trx) => (await enqueueChainIn(trx, { serviceId, operation: 'backup-create', steps: planBackupCreate([acc!], { web: known }) })).chainId);
      const before = archives(web, webUser);
      const ranBefore = writes(web);
      // Full (queued around the panel's check): it fails rather than let HestiaCP delete the customer's backup.
      assert.match(await chainEnds(await queue(before)), /^failed: .*already keeps 1 of 1 backups: a new one would make HestiaCP delete the oldest/);
      assert.deepEqual(archives(web, webUser), before);
      // Asked when there was none, and one is listed now (an earlier attempt made it): no second backup.
      assert.equal(await chainEnds(await queue([])), 'succeeded');
      assert.deepEqual(archives(web, webUser), before);
      assert.equal(writes(web), ranBefore, 'no v-backup-user ran');
    });

    test('the partial renders both accounts and the forms, every value escaped', async () => {
      const hb = Handlebars.create();
      for (const name of ['hp-form', 'hp-backups']) hb.registerPartial(name, fs.readFileSync(path.join(TEMPLATE_DIR, 'whmcs', `_${name}.hbs`), 'utf8'));
      const v = await view();
      v.accounts[0].backups.push({ ...v.accounts[0].backups[0], archive: '"><script>x()</script>', web: '<img src=x>' });
      const root = { action: 'clientarea.php?action=productdetails&id=1&modop=custom&a=HostingAction', token: 'abc123' };
      const html = hb.compile('{{> hp-backups}}')(v, { data: { root } });
      assert.ok(!html.includes('<script>x()') && !html.includes('<img src=x>'), 'hostile values are escaped');
      assert.match(html, /id="hp-backups-web" data-account="web"/);
      assert.match(html, /<h5>Mail<\/h5>/);
      assert.match(html, /name="hb_action" value="backup-restore"><input type="hidden" name="token" value="abc123">\s*<input type="hidden" name="hbf_account" value="web">/);
      assert.match(html, /name="hb_action" value="backup-delete"/);
      assert.match(html, /<p class="hp-backups-full">Your plan keeps 1 backup of web hosting and it is in use/);
      assert.ok(!/name="hbf_[^"]*[^a-z0-9_"][^"]*"/.test(html), 'field names are hbf_<a-z0-9_>');
      assert.match(hb.compile('{{> hp-backups}}')({ none: true }, { data: { root } }), /id="hp-backups-none"/);
    });

    test('through the signed API: the panel renders the tab; who asked is in the Operation Log', async () => {
      const page = await call(daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel`, { tab: 'backups', client_id: CLIENT });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.match(JSON.stringify(page.body), /hp-backups-mail/);
      const bad = await call(daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel/actions`, { action: 'backup-create', client_id: CLIENT, fields: { account: 'web' } });
      assert.equal(bad.status, 409, JSON.stringify(bad.body));
      const oplog = await tdb.db(T.oplog).where({ kind: 'action', whmcs_service_id: WHMCS_ID }).select('actor', 'message');
      assert.ok(oplog.some((o: { message: string }) => /backup-create: Backing up web hosting and mail now/.test(o.message)), JSON.stringify(oplog));
      assert.ok(oplog.some((o: { message: string }) => /backup-create: refused: Your plan keeps 1 backup/.test(o.message)));
    });
  });
}
