// The hosting panel through the PHP module as WHMCS calls it (issue 13), in Chromium, on MariaDB: a
// Split service on emulated nodes (a web node with a MySQL server registered, a mail node, a HestiaCP
// DNS node ns1) and the real PowerDNS, with a hosting plan of 1 database; the WHMCS client area
// stand-in (test/whmcs-client/router.php) runs the real module, and the customer, through ClientArea
// and its HostingAction custom action only:
//  - creates and deletes a mailbox, a database, an FTP account, a cron job and a DNS A record; each
//    lands on its node (mail on the mail node, the rest on the web node, the record on ns1 AND
//    answered by PowerDNS) and is gone after the delete;
//  - at the plan's 1 database, a forged second create is refused with the plan's words shown by
//    WHMCS, no chain is queued and no command changes anything on any node.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { type Browser, type Page } from 'playwright-core';
import { T } from '../../daemon/common/tables.ts';
import { TEST_SECRET } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/db.ts';
import { commandsSince, nodeSummary, type EmulatedNode } from '../helpers/fleet.ts';
import { startPanelWorld, type PanelWorld } from '../helpers/hosting-panel.ts';
import { paths, runHestia } from '../emulator/hestia/index.ts';
import { readObjects } from '../emulator/hestia/conf.ts';
import { addDbHost } from '../emulator/hestia/commands/databases.ts';
import { requireChromium, launchChromium } from '../ui/harness.ts';
import { loginToClientArea, startWhmcsClientArea, type WhmcsClientArea } from '../ui/whmcs-client-harness.ts';

const ID = 9701;
const DOMAIN = 'hpwhmcs9701.example';
const EMAIL = 'panel-owner@example.com';
const LOGIN = 'Client-Login-Whmcs-7';
const OK = 'Action completed successfully';
/** A command that changes something on a node (the tabs' reads are v-list-*). */
const WRITE = /v-(add|delete|change|update|rebuild|suspend|unsuspend|restore)-/;

describe('the hosting panel through the PHP module: create and delete each object, and a limit (mysql)', () => {
  let world: PanelWorld;
  let whmcs: WhmcsClientArea;
  let browser: Browser;
  let page: Page;
  let web: EmulatedNode;
  let mail: EmulatedNode;
  let webUser = '';
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  const tab = (name: string) => `${whmcs.url}/clientarea.php?action=productdetails&id=${ID}&hbtab=${name}`;
  const result = async () => (await page.locator('#module-result').textContent())?.trim() ?? '';
  const settled = async () => {
    await waitFor('the panel to show no action in progress', async () => {
      try {
        return (await page.getAttribute('.hp-panel', 'data-busy', { timeout: 500 })) === '0';
      } catch {
        return false; // between two documents
      }
    }, 40_000, 200);
  };
  /** Submits a form by clicking its button, then waits for the chain it queued to end. */
  const submit = async (button: string) => {
    await page.click(button);
    const r = await result();
    if (r === OK) await settled();
    return r;
  };
  const chainFailures = async () => Number(((await world.tdb.db(T.chains).where('service_id', world.svc.id).where('state', 'failed').count({ n: '*' }).first()) as { n: number }).n);
  const mailboxes = (node: EmulatedNode) => nodeSummary(world.fleet)[node.name]!.mailboxes[DOMAIN] ?? [];
  const databases = (node: EmulatedNode) => fs.existsSync(paths.userFile(node.dir, webUser, 'db.conf')) ? readObjects(paths.userFile(node.dir, webUser, 'db.conf')).map((o) => o.get('DB')) : [];
  const ftpUsers = () => {
    const r = runHestia(web.dir, 'v-list-web-domains', [webUser, 'json']);
    assert.equal(r.code, 0, r.stdout);
    return ((JSON.parse(r.stdout)[DOMAIN] as Record<string, string>).FTP_USER ?? '').split(':').filter(Boolean);
  };
  const cronCommands = () => {
    const r = runHestia(web.dir, 'v-list-cron-jobs', [webUser, 'json']);
    assert.equal(r.code, 0, r.stdout);
    return Object.values(JSON.parse(r.stdout || '{}') as Record<string, { CMD: string }>).map((j) => j.CMD);
  };
  const onNs1 = () => nodeSummary(world.fleet).ns1!.records[DOMAIN] ?? [];
  const writes = () => Object.fromEntries(world.fleet.nodes.map((n) => [n.name, commandsSince(n, 0).filter((c) => c.ran && WRITE.test(c.command)).length]));

  before(async () => {
    requireChromium();
    world = await startPanelWorld('mysql', 'hb-hp-whmcs-', { web: 1, mail: 1, dns: 1, combo: 0, pdns: true }, ID, {
      service: { domain: DOMAIN, client_id: 7 },
      hostingPlan: { name: 'small-one', web: { databases: 1, ftp_accounts: 2, cron_jobs: 2 }, dns: { records: 5 } },
      configOptions: { configoption16: 'small-one' },
    });
    const { svc, fleet, reg } = world;
    assert.deepEqual([...svc.plan!.placement.dns].sort(), [reg.ids.ns1!, reg.pdns!].sort(), 'the zone is on ns1 and PowerDNS');
    web = fleet.node(reg.names[svc.plan!.placement.web!]!);
    mail = fleet.node(reg.names[svc.plan!.placement.mail!]!);
    webUser = svc.plan!.names.users.web!;
    addDbHost(web.dir, { type: 'mysql' }); // as HestiaCP's installer registers it
    resolver.setServers([`127.0.0.1:${fleet.pdns!.server.dnsPort}`]);
    whmcs = await startWhmcsClientArea({
      daemonUrl: world.daemon.url, secret: TEST_SECRET,
      clients: [{ id: 7, email: EMAIL, password: LOGIN, firstname: 'Olivia' }],
      services: [{ id: ID, userid: 7, packageid: 3, domain: DOMAIN, domainstatus: 'Active' }],
      products: [{ id: 3, name: 'Hosting split', configoption1: 'split' }],
    });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1300, height: 900 } })).newPage();
    page.setDefaultTimeout(10_000);
    page.on('dialog', (d) => { void d.accept(); });
    await loginToClientArea(page, whmcs.url, EMAIL, LOGIN);
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await whmcs?.close();
    await world?.close();
  });

  test('a mailbox: created on the mail node (not the web node), then deleted', async () => {
    await page.goto(tab('mailboxes'));
    if (await page.locator('#hp-mailbox-create').count() === 0) {
      throw new Error(`no mailbox form:\n${(await page.innerText('body')).slice(0, 3000)}\n${JSON.stringify(whmcs.moduleLog()).slice(-2000)}\n${whmcs.output().slice(-2000)}`);
    }
    await page.fill('#hp-mailbox-name', 'info');
    await page.fill('#hp-mailbox-password', 'Mailb0x-E2E-Secret-7');
    assert.equal(await submit('#hp-mailbox-create-btn'), OK);
    assert.deepEqual(mailboxes(mail), ['info']);
    assert.deepEqual(mailboxes(web), []);
    await page.goto(tab('mailboxes'));
    assert.equal(await submit('form.hp-mailbox-delete:has(input[name="hbf_name"][value="info"]) button'), OK);
    assert.deepEqual(mailboxes(mail), []);
    assert.equal(await chainFailures(), 0);
  });

  test('a database: created on the web node under the web user, then deleted', async () => {
    await page.goto(tab('databases'));
    await page.fill('#hp-databases-new-name', 'shop');
    await page.fill('#hp-databases-new-password', 'Datab4se-E2E-Secret');
    assert.equal(await submit('#hp-databases-submit'), OK);
    assert.deepEqual(databases(web), [`${webUser}_shop`]);
    assert.deepEqual(databases(mail), []);
    await page.goto(tab('databases'));
    assert.equal(await page.locator('form.hp-databases-delete button').count(), 1);
    assert.equal(await submit('form.hp-databases-delete button'), OK);
    assert.deepEqual(databases(web), []);
    assert.equal(await chainFailures(), 0);
  });

  test('an FTP account: created on the web node, then deleted', async () => {
    await page.goto(tab('ftp'));
    await page.fill('#hp-ftp-name', 'uploads');
    await page.fill('#hp-ftp-password', 'Ftp-E2E-Secret-71');
    await page.fill('#hp-ftp-path', 'public_html');
    assert.equal(await submit('#hp-ftp-submit'), OK);
    assert.deepEqual(ftpUsers(), [`${webUser}_uploads`]);
    await page.goto(tab('ftp'));
    assert.equal(await submit(`form.hp-ftp-delete:has(input[name="hbf_account"][value="${webUser}_uploads"]) button`), OK);
    assert.deepEqual(ftpUsers(), []);
    assert.equal(await chainFailures(), 0);
  });

  test('a cron job: created on the web node, then deleted', async () => {
    const command = `php /home/${webUser}/web/${DOMAIN}/public_html/cron.php`;
    await page.goto(tab('cron'));
    await page.fill('#hp-cron-min', '15');
    await page.fill('#hp-cron-command', command);
    assert.equal(await submit('#hp-cron-submit'), OK);
    assert.deepEqual(cronCommands(), [command]);
    await page.goto(tab('cron'));
    assert.equal(await page.locator('form.hp-cron-delete button').count(), 1);
    assert.equal(await submit('form.hp-cron-delete button'), OK);
    assert.deepEqual(cronCommands(), []);
    assert.equal(await chainFailures(), 0);
  });

  test('a DNS A record: on ns1 and answered by PowerDNS, then deleted from both', async () => {
    await page.goto(tab('dns'));
    await page.fill('#hp-dns-new-name', 'app');
    await page.selectOption('#hp-dns-new-type', 'A');
    await page.fill('#hp-dns-new-value', '192.0.2.97');
    assert.equal(await submit('#hp-dns-submit'), OK);
    assert.ok(onNs1().includes('app A 192.0.2.97'), onNs1().join('\n'));
    assert.deepEqual(await resolver.resolve4(`app.${DOMAIN}`), ['192.0.2.97']);
    await page.goto(tab('dns'));
    const row = page.locator('tr.hp-dns-own').filter({ has: page.locator('td.hp-dns-name', { hasText: /^app$/ }) });
    assert.equal(await row.count(), 1);
    await row.locator('form.hp-dns-delete button').click();
    assert.equal(await result(), OK);
    await settled();
    assert.ok(!onNs1().some((l) => l.startsWith('app ')), onNs1().join('\n'));
    await assert.rejects(resolver.resolve4(`app.${DOMAIN}`), (err: NodeJS.ErrnoException) => ['ENOTFOUND', 'ENODATA'].includes(err.code ?? ''));
    assert.equal(await chainFailures(), 0);
  });

  test('at the plan\'s 1 database a second is refused with the plan\'s words; nothing changes on any node', async () => {
    await page.goto(tab('databases'));
    await page.fill('#hp-databases-new-name', 'first');
    await page.fill('#hp-databases-new-password', 'Datab4se-E2E-First');
    assert.equal(await submit('#hp-databases-submit'), OK);
    await page.goto(tab('databases'));
    assert.equal((await page.locator('#hp-databases-full').textContent())?.trim(), 'Your plan includes 1 database and it is in use.');
    assert.equal(await page.locator('#hp-databases-create').count(), 0, 'no create form at the limit');
    // The counter sees the writes so far (the creates and deletes above), so an unchanged count means something.
    assert.ok(writes()[web.name]! > 0 && writes()[mail.name]! > 0 && writes().ns1! > 0, JSON.stringify(writes()));
    const before = { writes: writes(), chains: await world.tdb.db(T.chains).where('service_id', world.svc.id).count({ n: '*' }).first(), dbs: databases(web), ns1: onNs1() };
    // The form WHMCS no longer shows, posted anyway (a stale page or a forged request).
    await page.evaluate(() => {
      const token = (document.querySelector('input[name="token"]') as HTMLInputElement).value;
      const action = (document.querySelector('form.hp-databases-delete') as HTMLFormElement).getAttribute('action')!;
      const f = document.createElement('form');
      f.method = 'post';
      f.action = action;
      for (const [k, v] of [['hb_action', 'database-create'], ['token', token], ['hbf_name', 'second'], ['hbf_password', 'Datab4se-E2E-Second'], ['hbf_type', 'mysql'], ['hbf_charset', '']]) {
        const i = document.createElement('input');
        i.type = 'hidden';
        i.name = k!;
        i.value = v!;
        f.appendChild(i);
      }
      document.body.appendChild(f);
      f.submit();
    });
    await page.waitForLoadState('load');
    await waitFor('the refusal on the page', async () => (await page.locator('#module-result').count()) === 1, 10_000, 100);
    assert.match(await result(), /Your plan includes 1 database and it is in use\./);
    assert.deepEqual(databases(web), [`${webUser}_first`]);
    assert.deepEqual(writes(), before.writes, 'no command changed anything on any node');
    assert.deepEqual(await world.tdb.db(T.chains).where('service_id', world.svc.id).count({ n: '*' }).first(), before.chains, 'no chain queued');
    assert.deepEqual(onNs1(), before.ns1);
  });
});
