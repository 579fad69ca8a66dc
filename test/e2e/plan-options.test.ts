// Configurable options over a hosting plan profile, end to end on the emulated fleet (MariaDB): a
// Split service whose product names a profile allowing 1 database, 1 FTP account and 1 web backup,
// ordered with configurable options raising each to 2. The web package on the node carries the
// raised limits (v-list-user-package; the emulator enforces DATABASES with exit 8 and rotates
// backups by BACKUPS), and the customer's panel allows one over the profile's limit and refuses one
// over the option's, in the plan's words, with nothing queued and nothing changed on the node. A
// package change lowering the options rewrites the package; a bad option value is refused naming
// it (ChangePackage and CreateAccount), nothing changed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { T } from '../../daemon/common/tables.ts';
import { serviceByWhmcsId } from '../../daemon/services/store.ts';
import { ftpTab } from '../../daemon/services/hosting-panel/ftp.ts';
import { databasesTab } from '../../daemon/services/hosting-panel/databases.ts';
import { backupsTab } from '../../daemon/services/hosting-panel/backups.ts';
import { overviewTab } from '../../daemon/services/hosting-panel/overview.ts';
import { call, createBody } from '../helpers/api.ts';
import { waitFor } from '../helpers/db.ts';
import type { EmulatedNode } from '../helpers/fleet.ts';
import { panelHelpers, startPanelWorld, type PanelWorld } from '../helpers/hosting-panel.ts';
import { paths, runHestia } from '../emulator/hestia/index.ts';
import { readObjects } from '../emulator/hestia/conf.ts';
import { addDbHost } from '../emulator/hestia/commands/databases.ts';

const WHMCS_ID = 8931;
const CLIENT = 7;
const DOMAIN = 'opts8931.example';
const PW = ['Plan-opt-Pa55-1', 'Plan-opt-Pa55-2', 'Plan-opt-Pa55-3'];
/** The options as WHMCS sends them: "system|Friendly" names, dropdown values "value|label". */
const RAISED = { 'databases|Databases': '2|2 databases', 'ftp_accounts|FTP accounts': '2|2 accounts', 'web_backups|Backups kept': '2' };

describe('configurable options raising a hosting plan profile\'s limits (emulated Split fleet, MariaDB)', () => {
  let world: PanelWorld;
  let web: EmulatedNode;
  let user: string;
  let pkg: string;
  let planId = 0;

  const { chainCount, done, view, refusedWith } = panelHelpers(() => world, WHMCS_ID, CLIENT);
  const hestiaJson = (cmd: string, args: string[]) => {
    const r = runHestia(web.dir, cmd, [...args, 'json']);
    assert.equal(r.code, 0, `${cmd}: ${r.stdout}`);
    return JSON.parse(r.stdout);
  };
  const webPackage = () => hestiaJson('v-list-user-package', [pkg])[pkg] as Record<string, string>;
  const databases = () => readObjects(paths.userFile(web.dir, user, 'db.conf')).map((o) => o.get('DB'));
  const ftpAccounts = () => (hestiaJson('v-list-web-domains', [user])[DOMAIN].FTP_USER ?? '').split(':').filter(Boolean);
  const archives = () => readObjects(paths.userFile(web.dir, user, 'backup.conf')).map((o) => o.get('BACKUP')!);
  /** What the node holds of everything these limits count: a refusal leaves it as it was. */
  const onNode = () => ({ databases: databases(), ftp: ftpAccounts(), backups: archives() });
  const refused = refusedWith(onNode, 'nothing changed on the node');
  const productBody = () => createBody(WHMCS_ID, world.reg.groupId, {}, { configoption16: String(planId) }).product;
  const changePackage = (config: Record<string, string>) =>
    call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/change-package`, { product: productBody(), config_options: config, custom_fields: {}, product_id: 3 });
  const settled = async () => {
    const svc = await serviceByWhmcsId(world.tdb.db, WHMCS_ID);
    await waitFor('the package change to finish', async () => {
      const open = await world.tdb.db(T.chains).where('service_id', svc!.id).whereIn('state', ['running', 'waiting']).first('id');
      return open ? null : true;
    }, 60_000, 50);
    const last = await world.tdb.db(T.chains).where('service_id', svc!.id).orderBy('id', 'desc').first('id', 'operation', 'state');
    const errors = (await world.tdb.db(T.tasks).where('chain_id', last.id).pluck('last_error')).filter(Boolean);
    assert.deepEqual([last.operation, last.state], ['change-package', 'succeeded'], errors.join('; '));
  };

  before(async () => {
    world = await startPanelWorld('mysql', 'hb-plan-opts-', { web: 1, mail: 1, dns: 0, combo: 0, pdns: false }, WHMCS_ID, {
      service: { domain: DOMAIN, client_id: CLIENT, config_options: RAISED },
      hostingPlan: { name: 'opt-base', web: { databases: 1, ftp_accounts: 1, backups: 1, cron_jobs: 3 } },
      configOptions: (id) => { planId = id; return { configoption16: String(id) }; },
    });
    const { svc, fleet, reg } = world;
    user = svc.plan!.names.users.web!;
    pkg = svc.plan!.names.packages.web!;
    web = fleet.node(reg.names[svc.plan!.placement.web!]!);
    addDbHost(web.dir, { type: 'mysql' });
  });
  after(async () => {
    await world?.close();
  });

  test('the web package on the node carries the raised limits; what no option names stays the profile\'s', () => {
    const p = webPackage();
    assert.deepEqual([p.DATABASES, p.BACKUPS, p.CRON_JOBS], ['2', '2', '3']);
    assert.equal(world.svc.plan!.product.hostingPlan?.web.ftpAccounts, 2, 'the FTP limit (which HestiaCP packages lack) is the plan\'s');
  });

  test('databases: one over the profile\'s limit is created, one over the option\'s refused in the plan\'s words; the package refuses it too (exit 8)', async () => {
    await done('database-create', { name: 'blog', password: PW[0]! });
    await done('database-create', { name: 'shop', password: PW[1]! });
    assert.deepEqual(databases(), [`${user}_blog`, `${user}_shop`]);
    await refused('database-create', { name: 'third', password: PW[2]! }, '', /^Your plan includes 2 databases and all 2 are in use\.$/, 409);
    assert.equal((await view(databasesTab)).limitText, '2 of 2 in use');
    // The node's own check: HestiaCP refuses a third under this package (E_LIMIT), and holds two.
    const direct = runHestia(web.dir, 'v-add-database', [user, 'third', 'third', PW[2]!, 'mysql']);
    assert.equal(direct.code, 8, direct.stdout);
    assert.deepEqual(databases(), [`${user}_blog`, `${user}_shop`]);
  });

  test('FTP: one over the profile\'s limit is created, one over the option\'s refused in the plan\'s words', async () => {
    await done('ftp-create', { name: 'one', password: PW[0]!, path: '' });
    await done('ftp-create', { name: 'two', password: PW[1]!, path: 'public_html' });
    assert.deepEqual(ftpAccounts(), [`${user}_one`, `${user}_two`]);
    await refused('ftp-create', { name: 'three', password: PW[2]!, path: '' }, '', /^Your plan includes 2 FTP accounts and all 2 are in use\.$/, 409);
    const v = await view(ftpTab);
    assert.deepEqual([v.limit, v.count, v.full], [2, 2, true]);
    const gauges = (await view(overviewTab)).gauges as Array<{ key: string; limitText: string }>;
    assert.deepEqual(['ftp', 'databases', 'cron'].map((k) => gauges.find((x) => x.key === k)?.limitText), ['2', '2', '3'], 'the overview shows the plan\'s limits');
  });

  test('backups: the node keeps two (the profile\'s one would have rotated the first away), a third is refused in the plan\'s words', async () => {
    await done('backup-create', { account: 'web' });
    // Archives are named to the second: the second backup gets its own name.
    await new Promise((r) => setTimeout(r, 1100));
    await done('backup-create', { account: 'web' });
    assert.equal(archives().length, 2, archives().join(', '));
    await refused('backup-create', { account: 'web' }, '', /^Your plan keeps 2 backups of web hosting and all 2 are in use: delete one to make a new one now\.$/);
    const v = await view(backupsTab);
    assert.equal(v.accounts.find((a: { role: string }) => a.role === 'web').limitText, '2 of 2 kept');
  });

  test('a package change with a bad option value is refused naming it; the stored plan, the package and the chains are as they were', async () => {
    const [chains, before, stored] = [await chainCount(), webPackage(), (await serviceByWhmcsId(world.tdb.db, WHMCS_ID))!.plan];
    for (const [config, field, words] of [
      [{ ...RAISED, 'ftp_accounts|FTP accounts': 'lots' }, 'config_options.ftp_accounts|FTP accounts', /"lots" must be a whole number/],
      [{ ...RAISED, 'web_backups|Backups kept': 'unlimited' }, 'config_options.web_backups|Backups kept', /whole number of backups kept/],
      [{ ...RAISED, backend_template: 'PHP 8.3' }, 'config_options.backend_template', /not a HestiaCP template name/],
    ] as const) {
      const r = await changePackage(config);
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.equal(r.body.field, field, JSON.stringify(r.body));
      assert.match(r.body.error, words);
    }
    assert.equal(await chainCount(), chains, 'nothing was queued');
    assert.deepEqual(webPackage(), before);
    assert.deepEqual((await serviceByWhmcsId(world.tdb.db, WHMCS_ID))!.plan, stored);
  });

  test('a package change lowering the options rewrites the package; the panel then reads the lower limits', async () => {
    // HestiaCP refuses a package below what the user holds (v-change-user-package: "Package doesn't cover DATABASE usage"): one goes first.
    await done('database-delete', { database: `${user}_shop` });
    const r = await changePackage({ 'databases|Databases': '1', 'ftp_accounts|FTP accounts': '1', web_backups: '1', cron_jobs: 'unlimited' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await settled();
    const p = webPackage();
    assert.deepEqual([p.DATABASES, p.BACKUPS, p.CRON_JOBS], ['1', '1', 'unlimited']);
    assert.equal(hestiaJson('v-list-user', [user])[user].PACKAGE, pkg);
    await refused('ftp-create', { name: 'three', password: PW[2]!, path: '' }, '', /^Your plan includes 1 FTP account and 2 are in use: delete 2 before you create another\.$/, 409);
    await refused('database-create', { name: 'third', password: PW[2]! }, '', /^Your plan includes 1 database and it is in use\.$/, 409);
    // Dropping the options: the profile's limits again.
    const back = await changePackage({});
    assert.equal(back.status, 200, JSON.stringify(back.body));
    await settled();
    assert.deepEqual([webPackage().DATABASES, webPackage().CRON_JOBS], ['1', '3']);
    assert.equal((await view(ftpTab)).limit, 1);
  });

  test('an order with a bad option value is refused naming it; no service is written', async () => {
    const body = createBody(8932, world.reg.groupId, { config_options: { 'cron_jobs|Cron jobs': '-5' } }, { configoption16: String(planId) });
    const r = await call(world.daemon.url, 'POST', '/v1/services', body);
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.field, 'config_options.cron_jobs|Cron jobs', JSON.stringify(r.body));
    assert.match(r.body.error, /"-5" must be a whole number/);
    assert.equal(await world.tdb.db(T.services).where('whmcs_service_id', 8932).first('id'), undefined);
  });
});
