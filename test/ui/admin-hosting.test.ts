// The admin's Hosting tab of a hosting service (issue 13), in Chromium, on MariaDB: a Split service
// deployed on an emulated fleet (one web, one mail, one DNS node and PowerDNS). The admin, through a signed link:
//  - sees one card per role the service has, with its Hestia user, its server and an SSL state;
//  - creates a mailbox on the customer's behalf from the customer's Mailboxes tab, and it lands on
//    the mail node; the page follows the chain the form queued;
//  - finds the action in the Operation Log under the admin's name (via ui), and the password nowhere.
// Screenshot: test-artifacts/screenshots/admin-hosting-*.png.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { T } from '../../daemon/common/tables.ts';
import { serviceByWhmcsId } from '../../daemon/services/store.ts';
import { call, createBody } from '../helpers/api.ts';
import { waitFor } from '../helpers/db.ts';
import { quietScheduledNodeWork, startFleetWorld, type FleetWorld } from '../helpers/world.ts';
import { runHestia } from '../emulator/hestia/index.ts';
import { requireChromium, SHOTS, launchChromium } from './harness.ts';

const ID = 9651;
const DOMAIN = 'adminhosting9651.example';
const PASSWORD = 'Adm1n-Mailbox-Secret-7';

describe('the admin\'s Hosting tab (mysql)', () => {
  let world: FleetWorld;
  let browser: Browser;
  let page: Page;
  let mailUser = '';
  let webUser = '';
  let mailDir = '';
  let webServer = '';
  let mailServer = '';
  let dnsServers: string[] = [];
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `admin-hosting-${name}.png`), fullPage: true });
  const idle = async () => waitFor(`service ${ID} active and idle`, async () => {
    const s = await serviceByWhmcsId(world.tdb.db, ID);
    assert.notEqual(s?.state, 'failed');
    const running = s ? await world.tdb.db(T.chains).where('service_id', s.id).whereIn('state', ['running', 'waiting']).first('id') : null;
    return s?.state === 'active' && !running ? s : null;
  }, 60_000, 50);
  const mailboxes = () => {
    const r = runHestia(mailDir, 'v-list-mail-accounts', [mailUser, DOMAIN, 'json']);
    assert.equal(r.code, 0, r.stdout);
    return Object.keys(JSON.parse(r.stdout) as Record<string, unknown>);
  };

  before(async () => {
    requireChromium();
    fs.mkdirSync(SHOTS, { recursive: true });
    world = await startFleetWorld('mysql', 'hb-admin-hosting-', { web: 1, mail: 1, dns: 1, combo: 0, pdns: true }, { HOSTBRIDGE_POLL_MS: '50' });
    await quietScheduledNodeWork(world.daemon, world.tdb);
    const r = await call(world.daemon.url, 'POST', '/v1/services', createBody(ID, world.reg.groupId, { domain: DOMAIN, client_id: 7 }, { configoption11: '3', configoption7: '500' }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const svc = await idle();
    const plan = svc.plan!;
    mailUser = plan.names.users.mail!;
    webUser = plan.names.users.web!;
    const names = new Map((await world.tdb.db(T.servers).select('id', 'name')).map((s: { id: number; name: string }) => [Number(s.id), String(s.name)]));
    webServer = names.get(plan.placement.web!)!;
    mailServer = names.get(plan.placement.mail!)!;
    dnsServers = plan.placement.dns.map((id) => names.get(id)!).sort();
    assert.equal(dnsServers.length, 2, 'the zone is on the DNS node and PowerDNS');
    mailDir = world.fleet.node(world.reg.names[plan.placement.mail!]!).dir;
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    page.setDefaultTimeout(10_000);
    const link = await call(world.daemon.url, 'POST', '/v1/ui-links', { audience: 'admin', page: 'overview' });
    assert.equal(link.status, 200, JSON.stringify(link.body));
    await page.goto(link.body.url as string);
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await world?.close();
  });

  test('a card per role: its Hestia user, its server and an SSL state', async () => {
    await page.goto(`${world.daemon.url}/ui/admin/services/${ID}?tab=hosting`);
    if (await page.locator('#hosting-cards').count() === 0) throw new Error(`no cards:\n${(await page.innerText('body')).slice(0, 2000)}`);
    assert.equal(await page.locator('nav.tabs a[aria-current="page"]').first().textContent(), 'Hosting');
    const roles = await page.locator('.hosting-card').evaluateAll((els) => els.map((e) => e.getAttribute('data-role')));
    assert.deepEqual(roles, ['web', 'mail', 'dns']);
    const card = (role: string) => page.locator(`.hosting-card[data-role="${role}"]`);
    assert.equal(await card('web').locator('.hosting-user').textContent(), webUser);
    assert.equal(await card('mail').locator('.hosting-user').textContent(), mailUser);
    assert.equal((await card('web').locator('.hosting-server').textContent())?.trim(), webServer);
    assert.equal((await card('mail').locator('.hosting-server').textContent())?.trim(), mailServer);
    assert.deepEqual((await card('dns').locator('.hosting-server a').allTextContents()).sort(), dnsServers);
    assert.equal(await card('dns').locator('.hosting-ssl').count(), 0, 'DNS has no certificate');
    await shot('cards');
    const sslStates = await page.locator('.hosting-ssl').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    assert.ok(sslStates.length >= 1 && sslStates.every((s) => typeof s === 'string' && s.length > 0), `SSL states: ${JSON.stringify(sslStates)}`);
    assert.equal(await card('mail').locator('[data-gauge="mailboxes"] .hp-limit').textContent(), '3');
    assert.equal(await card('mail').locator('[data-gauge="mailboxes"] .hp-used').textContent(), '0');
    assert.equal(await card('web').locator('[data-gauge="disk"]').count(), 1);
  });

  test('the admin creates a mailbox on the customer\'s behalf: it lands on the mail node, logged under the admin', async () => {
    await page.goto(`${world.daemon.url}/ui/admin/services/${ID}?tab=hosting&htab=mailboxes`);
    await page.fill('#hp-mailbox-name', 'sales');
    await page.fill('#hp-mailbox-password', PASSWORD);
    await page.fill('#hp-mailbox-quota', '200');
    await page.click('#hp-mailbox-create-btn');
    await page.waitForURL((u) => u.pathname === `/ui/admin/services/${ID}` && u.searchParams.get('htab') === 'mailboxes');
    const flash = (await page.locator('p.flash.flash-ok').first().textContent()) ?? '';
    assert.match(flash, /on the customer's behalf/);
    // The page follows the chain the form queued (its steps live: admin-hosting-live.test.ts).
    const chain = /chain #(\d+)/.exec(flash)?.[1];
    assert.equal(new URL(page.url()).searchParams.get('chain'), chain);
    assert.equal(await page.getAttribute('#hosting-progress', 'data-chain'), chain);
    assert.equal(await page.locator('#hosting-progress li[data-step]').count(), 1);
    await idle();
    assert.deepEqual(mailboxes(), ['sales']);
    // Once the chain has ended the page loads the tab again by itself (location.replace): a
    // navigation of ours before that is aborted by it, so wait for that new page first. It is
    // known by what the server rendered: a page rendered while the chain ran carries the
    // following note (#hosting-following) and will replace itself; one rendered after does not.
    // (The replace may already have happened by now: the step can end before the first poll.)
    await page.waitForFunction(() => document.readyState === 'complete' && !document.querySelector('#hosting-following')
      && document.querySelector('#hosting-progress')?.getAttribute('data-active') === '0');
    await page.goto(`${world.daemon.url}/ui/admin/services/${ID}?tab=hosting&htab=mailboxes`);
    assert.equal(await page.locator('tr[data-row="sales"] .hp-address').textContent(), `sales@${DOMAIN}`);
    assert.equal(await page.locator('.hosting-card[data-role="mail"] [data-gauge="mailboxes"] .hp-used').textContent(), '1');
    await shot('mailboxes');
    // The dispatcher recorded the action with the admin as the actor, via ui.
    const rows = await world.tdb.db(T.adminActions).where('via', 'ui').select('actor', 'message');
    const row = rows.find((r: { message: string }) => /mailbox-create/.test(String(r.message)));
    assert.ok(row, `no ui action row: ${JSON.stringify(rows)}`);
    assert.match(String(row.actor), /admin/);
    assert.doesNotMatch(String(row.actor), /WHMCS client/);
    // Once: the page's message is not written to the log beside the dispatcher's own record.
    assert.equal(rows.filter((r: { message: string }) => String(r.message).includes(`sales@${DOMAIN}`)).length, 1, JSON.stringify(rows));
    await page.goto(`${world.daemon.url}/ui/admin/log`);
    const log = await page.innerText('body');
    assert.match(log, /mailbox-create/);
    assert.ok(log.includes(String(row.actor)), 'the Operation Log names the admin');
    for (const r of rows) assert.ok(!String(r.message).includes(PASSWORD));
    assert.ok(!log.includes(PASSWORD));
  });

  test('every customer tab of the product renders for the admin, its forms posting to the admin route', async () => {
    await page.goto(`${world.daemon.url}/ui/admin/services/${ID}?tab=hosting`);
    const keys = await page.locator('#hosting-tabs a').evaluateAll((els) => els.map((e) => e.getAttribute('data-htab')));
    assert.ok(keys.includes('mailboxes') && keys.includes('databases'), JSON.stringify(keys));
    assert.ok(!keys.includes('overview'), 'the usage is on the cards, not in a tab');
    for (const key of keys) {
      const r = await page.goto(`${world.daemon.url}/ui/admin/services/${ID}?tab=hosting&htab=${key}`);
      assert.equal(r?.status(), 200, `tab ${key}`);
      assert.equal(await page.getAttribute('#hosting-forms', 'data-htab'), key, `tab ${key}: ${(await page.innerText('body')).slice(0, 500)}`);
      const actions = await page.locator('#hosting-forms form[method="post"]').evaluateAll((els) => els.map((e) => e.getAttribute('action')));
      assert.ok(actions.every((a) => a === `/ui/admin/services/${ID}/hosting`), `tab ${key}: ${JSON.stringify(actions)}`);
      assert.equal(await page.locator('#hosting-forms input[name="token"]').count(), 0, `tab ${key}: a WHMCS token field`);
    }
  });

  test('a bad field is refused in words, as the customer would be, and nothing is queued', async () => {
    await page.goto(`${world.daemon.url}/ui/admin/services/${ID}?tab=hosting&htab=mailboxes`);
    await page.fill('#hp-mailbox-name', '--flag');
    await page.fill('#hp-mailbox-password', PASSWORD);
    await page.click('#hp-mailbox-create-btn');
    await page.waitForURL((u) => u.pathname === `/ui/admin/services/${ID}` && u.searchParams.get('htab') === 'mailboxes');
    assert.match((await page.locator('p.flash.flash-error').first().textContent()) ?? '', /name/);
    assert.deepEqual(mailboxes(), ['sales']);
    assert.ok(!(await page.content()).includes(PASSWORD));
  });

  test('a form without the page\'s CSRF token is refused and creates nothing', async () => {
    const r = await page.request.post(`${world.daemon.url}/ui/admin/services/${ID}/hosting`, { form: { hb_action: 'mailbox-create', hbf_name: 'forged', hbf_password: PASSWORD } });
    assert.equal(r.status(), 403);
    assert.deepEqual(mailboxes(), ['sales']);
  });
});
