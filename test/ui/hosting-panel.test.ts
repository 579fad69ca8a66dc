// The customer's hosting panel inside the WHMCS client area (issue 13), in Chromium, on MariaDB: a
// Split service deployed on an emulated fleet (one web, one mail node), a WHMCS client area stand-in
// (test/whmcs-client/router.php) running the real PHP module, and a customer who logs in there and,
// through the module's ClientArea output and HostingAction/HostingLive only:
//  - reads the Overview's usage gauges;
//  - adds a mailbox and watches the progress until the panel shows it;
//  - types hostile names (markup, quotes, a --flag, a very long string, an IDN look-alike): each is
//    refused in words, nothing is created and nothing runs in the page;
//  - on a product without mail, finds no Mailboxes tab.
// The browser never talks to the daemon; the Module Log and the pages never hold the password.
// Screenshots go to test-artifacts/screenshots/hosting-panel-*.png.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { T } from '../../daemon/common/tables.ts';
import { serviceByWhmcsId } from '../../daemon/services/store.ts';
import { call, createBody } from '../helpers/api.ts';
import { TEST_SECRET } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/db.ts';
import { quietScheduledNodeWork, startFleetWorld, type FleetWorld } from '../helpers/world.ts';
import { runHestia } from '../emulator/hestia/index.ts';
import { requireChromium, SHOTS, launchChromium } from './harness.ts';
import { loginToClientArea, startWhmcsClientArea, type WhmcsClientArea } from './whmcs-client-harness.ts';

const ID = 9501;
const NOMAIL = 9502;
const DOMAIN = 'hpanel9501.example';
const EMAIL = 'owner@example.com';
const LOGIN = 'Client-Login-Pa55';
const PASSWORD = 'Mailb0x-UI-Secret-5';

describe('the customer\'s hosting panel in the WHMCS client area (mysql)', () => {
  let world: FleetWorld;
  let whmcs: WhmcsClientArea;
  let browser: Browser;
  let page: Page;
  const seen: string[] = [];
  let mailUser = '';
  let mailDir = '';
  const product = (id: number, tab?: string) => `${whmcs.url}/clientarea.php?action=productdetails&id=${id}${tab ? `&hbtab=${tab}` : ''}`;
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `hosting-panel-${name}.png`), fullPage: true });
  const result = async () => (await page.locator('#module-result').textContent())?.trim();
  const mailboxes = () => {
    const r = runHestia(mailDir, 'v-list-mail-accounts', [mailUser, DOMAIN, 'json']);
    assert.equal(r.code, 0, r.stdout);
    return Object.keys(JSON.parse(r.stdout) as Record<string, unknown>);
  };
  const deployed = async (id: number) => waitFor(`service ${id} active`, async () => {
    const s = await serviceByWhmcsId(world.tdb.db, id);
    assert.notEqual(s?.state, 'failed');
    const running = s ? await world.tdb.db(T.chains).where('service_id', s.id).whereIn('state', ['running', 'waiting']).first('id') : null;
    return s?.state === 'active' && !running ? s : null;
  }, 60_000, 50);
  const settled = async () => {
    await waitFor('the panel to show no action in progress', async () => {
      try {
        return (await page.getAttribute('.hp-panel', 'data-busy', { timeout: 500 })) === '0';
      } catch {
        return false; // between two documents
      }
    }, 40_000, 200);
  };

  before(async () => {
    requireChromium();
    fs.mkdirSync(SHOTS, { recursive: true });
    world = await startFleetWorld('mysql', 'hb-hpanel-ui-', { web: 1, mail: 1, dns: 0, combo: 0, pdns: false }, { HOSTBRIDGE_POLL_MS: '50' });
    await quietScheduledNodeWork(world.daemon, world.tdb);
    for (const [id, over] of [[ID, { configoption11: '3', configoption7: '500' }], [NOMAIL, { configoption4: '' }]] as const) {
      const r = await call(world.daemon.url, 'POST', '/v1/services', createBody(id, world.reg.groupId, { domain: id === ID ? DOMAIN : `nomail${id}.example`, client_id: 7 }, over));
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const svc = await deployed(ID);
    await deployed(NOMAIL);
    mailUser = svc.plan!.names.users.mail!;
    mailDir = world.fleet.node(world.reg.names[svc.plan!.placement.mail!]!).dir;
    whmcs = await startWhmcsClientArea({
      daemonUrl: world.daemon.url, secret: TEST_SECRET,
      clients: [{ id: 7, email: EMAIL, password: LOGIN, firstname: 'Olivia' }],
      services: [{ id: ID, userid: 7, packageid: 3, domain: DOMAIN, domainstatus: 'Active' }, { id: NOMAIL, userid: 7, packageid: 3, domain: `nomail${NOMAIL}.example`, domainstatus: 'Active' }],
      products: [{ id: 3, name: 'Hosting split', configoption1: 'split' }],
    });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1200, height: 900 } })).newPage();
    page.setDefaultTimeout(10_000);
    page.on('request', (req) => seen.push(req.url()));
    await loginToClientArea(page, whmcs.url, EMAIL, LOGIN);
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await whmcs?.close();
    await world?.close();
  });

  test('Overview: the tabs of the product\'s roles and the usage gauges', async () => {
    await page.goto(product(ID));
    if (await page.locator('.hp-panel').count() === 0) {
      throw new Error(`no panel on the page:\n${(await page.innerText('body')).slice(0, 2000)}\n${JSON.stringify(whmcs.moduleLog()).slice(-3000)}\n${whmcs.output().slice(-2000)}`);
    }
    const tabs = await page.locator('.hp-panel .hb-tabs a').allTextContents();
    assert.deepEqual(tabs.slice(0, 2), ['Overview', 'Mailboxes']);
    assert.equal(await page.locator('[data-gauge="mailboxes"] .hp-limit').textContent(), '3');
    assert.equal(await page.locator('[data-gauge="mailboxes"] .hp-used').textContent(), '0');
    assert.ok(await page.locator('[data-gauge="disk"]').count() === 1);
    await shot('overview');
  });

  test('Mailboxes: the customer adds a mailbox and watches the progress until it is listed', async () => {
    await page.goto(product(ID, 'mailboxes'));
    await page.fill('#hp-mailbox-name', 'info');
    await page.fill('#hp-mailbox-password', PASSWORD);
    await page.fill('#hp-mailbox-quota', '200');
    await page.click('#hp-mailbox-create-btn');
    assert.equal(await result(), 'Action completed successfully');
    if ((await page.getAttribute('.hp-panel', 'data-busy')) === '1') {
      // The chain still runs: the progress is shown, the forms are off, and the page follows it.
      assert.match((await page.locator('#hb-progress').textContent()) ?? '', /a mailbox being created/);
      assert.ok(await page.locator('#hb-progress').count() === 1);
      assert.equal(await page.locator('#hb-lock').count(), 0, 'the busy reason is said once, in the progress box');
      assert.equal(await page.locator('fieldset.hp-forms').getAttribute('disabled'), '');
      await shot('progress');
      await waitFor('a progress poll through HostingLive', async () => seen.some((u) => u.includes('a=HostingLive')), 15_000, 100);
    }
    await settled();
    await page.goto(product(ID, 'mailboxes'));
    assert.equal(await page.locator(`tr[data-row="info"] .hp-address`).textContent(), `info@${DOMAIN}`);
    assert.deepEqual(mailboxes(), ['info']);
    await shot('mailboxes');
  });

  test('hostile values are refused in words, create nothing and run nothing', async () => {
    const hostile = ['<script>window.__pwned=1</script>', '"quoted\'name', '--flag', 'a'.repeat(500), 'іnfo', 'x@evil.example'];
    for (const name of hostile) {
      await page.goto(product(ID, 'mailboxes'));
      // Set past the input's maxlength, as a forged form would: the daemon's check is what refuses.
      await page.$eval('#hp-mailbox-name', (el, v) => { (el as HTMLInputElement).value = v; }, name);
      await page.fill('#hp-mailbox-password', PASSWORD);
      await page.click('#hp-mailbox-create-btn');
      const r = (await result()) ?? '';
      assert.notEqual(r, 'Action completed successfully', name);
      assert.match(r, /^name: /, name);
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
      assert.equal(await page.locator('.hp-panel script').count(), 1, 'only the panel script');
    }
    assert.deepEqual(mailboxes(), ['info']);
    await shot('refused');
  });

  test('a product without mail has no Mailboxes tab', async () => {
    await page.goto(product(NOMAIL, 'mailboxes'));
    const tabs = await page.locator('.hp-panel .hb-tabs a').allTextContents();
    assert.ok(!tabs.includes('Mailboxes'), tabs.join(', '));
    assert.equal(await page.locator('.hp-panel').getAttribute('data-tab'), 'hp-overview');
    await shot('no-mail');
  });

  test('the browser only talked to WHMCS; no password in the Module Log or the pages', async () => {
    const daemonHost = new URL(world.daemon.url).host;
    assert.ok(!seen.some((u) => u.includes(daemonHost)), 'the browser reached the daemon');
    assert.ok(!JSON.stringify(whmcs.moduleLog()).includes(PASSWORD), 'the Module Log holds the password');
    await page.goto(product(ID, 'mailboxes'));
    assert.ok(!(await page.content()).includes(PASSWORD));
  });
});
