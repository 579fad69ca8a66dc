// The admin's Hosting tab inside WHMCS (Addons › hostbridge), in Chromium: the WHMCS admin area
// stand-in (php -S with test/whmcs-admin/router.php and the real addon, which fetches each page from
// the daemon server-side) on an emulated fleet, MariaDB. A WHMCS admin creates a mailbox for the
// customer: the page that comes back follows the chain — no script runs in the embedded page, so
// it reloads itself (through the addon) while the chain runs — shows the step running, then done
// with the mailbox listed, and stops reloading. The browser only ever talks to WHMCS.
// Screenshots: test-artifacts/screenshots/admin-hosting-whmcs-*.png.
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
import type { EmulatedNode } from '../helpers/fleet.ts';
import { requireChromium, SHOTS, launchChromium } from './harness.ts';
import { startWhmcsAdmin, type WhmcsAdminArea } from './whmcs-admin-harness.ts';

const ID = 9653;
const DOMAIN = 'adminwhmcs9653.example';
const PASSWORD = 'Whmcs-Admin-Secret-91';
const JANE = { id: 1, username: 'jane', password: 'jane-whmcs-pass', roleid: 1 };
/** Every mail node command takes this long, so the chain outlasts a page or two. */
const LATENCY_MS = 1200;

describe('the admin\'s Hosting tab inside WHMCS follows a form\'s chain (mysql)', () => {
  let world: FleetWorld;
  let w: WhmcsAdminArea;
  let browser: Browser;
  let page: Page;
  let mailUser = '';
  let mailNode: EmulatedNode;
  const requested: string[] = [];
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `admin-hosting-whmcs-${name}.png`), fullPage: true });

  before(async () => {
    requireChromium();
    fs.mkdirSync(SHOTS, { recursive: true });
    world = await startFleetWorld('mysql', 'hb-admin-hosting-whmcs-', { web: 1, mail: 1, dns: 1, combo: 0, pdns: true }, { HOSTBRIDGE_POLL_MS: '50' });
    await quietScheduledNodeWork(world.daemon, world.tdb);
    const r = await call(world.daemon.url, 'POST', '/v1/services', createBody(ID, world.reg.groupId, { domain: DOMAIN, client_id: 9 }, { configoption11: '3', configoption7: '500' }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const svc = await waitFor(`service ${ID} active and idle`, async () => {
      const s = await serviceByWhmcsId(world.tdb.db, ID);
      assert.notEqual(s?.state, 'failed');
      const running = s ? await world.tdb.db(T.chains).where('service_id', s.id).whereIn('state', ['running', 'waiting']).first('id') : null;
      return s?.state === 'active' && !running ? s : null;
    }, 60_000, 50);
    mailUser = svc.plan!.names.users.mail!;
    mailNode = world.fleet.node(world.reg.names[svc.plan!.placement.mail!]!);
    w = await startWhmcsAdmin({ daemonUrl: world.daemon.url, secret: TEST_SECRET, admins: [JANE], access: [1] });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    page.setDefaultTimeout(20_000);
    page.on('request', (req) => requested.push(`${req.method()} ${req.url()}`));
    await page.goto(`${w.url}/login.php`);
    await page.fill('#username', JANE.username);
    await page.fill('#password', JANE.password);
    await page.click('#login');
    await page.waitForURL('**/addonmodules.php?module=hostbridge');
  });
  after(async () => {
    mailNode?.ssh.setLatency(0);
    await browser?.close().catch(() => {});
    await w?.close();
    await world?.close();
  });

  test('a WHMCS admin creates a mailbox: the page reloads itself through the addon while the step runs, then shows it done and listed', async () => {
    const tab = `${w.url}/addonmodules.php?module=hostbridge&page=services/${ID}&tab=hosting&htab=mailboxes`;
    await page.goto(tab);
    if (await page.locator('#hp-mailbox-create').count() === 0) throw new Error(`no form:\n${(await page.innerText('body')).slice(0, 2000)}\n${w.output().slice(-2000)}`);
    await page.fill('#hp-mailbox-name', 'office');
    await page.fill('#hp-mailbox-password', PASSWORD);
    mailNode.ssh.setLatency(LATENCY_MS);
    try {
      await page.click('#hp-mailbox-create-btn');
      await page.waitForURL((u) => u.pathname.endsWith('/addonmodules.php') && u.searchParams.get('page') === `services/${ID}` && u.searchParams.has('chain'));
      const chain = new URL(page.url()).searchParams.get('chain')!;
      assert.match(await page.locator('#contentarea .flash').innerText(), new RegExp(`chain #${chain}, on the customer's behalf`));
      // Running, on the page the addon brought back: no script, a reload while it runs.
      await page.locator('#hosting-progress li[data-step="1"][data-status="running"]').waitFor();
      assert.equal(await page.getAttribute('#hosting-progress', 'data-chain'), chain);
      assert.equal(await page.locator('#contentarea meta[http-equiv="refresh"]').count(), 1);
      assert.equal(await page.locator('#contentarea script').count(), 0);
      await shot('running');
      // It ends with the test doing nothing: the page reloads itself until the chain is done.
      await page.locator('#hosting-progress[data-state="succeeded"]').waitFor({ timeout: 40_000 });
      assert.equal(new URL(page.url()).searchParams.get('chain'), chain);
    } finally {
      mailNode.ssh.setLatency(0);
    }
    assert.equal(await page.locator('#contentarea meta[http-equiv="refresh"]').count(), 0, 'no more reloads once it ended');
    assert.equal(await page.locator('tr[data-row="office"] .hp-address').textContent(), `office@${DOMAIN}`);
    const r = runHestia(mailNode.dir, 'v-list-mail-accounts', [mailUser, DOMAIN, 'json']);
    assert.deepEqual(Object.keys(JSON.parse(r.stdout) as Record<string, unknown>), ['office']);
    await shot('done');
    // The page reloaded itself: the followed page was fetched more than once, each time from WHMCS.
    const followed = requested.filter((u) => u.startsWith('GET ') && u.includes('chain='));
    assert.ok(followed.length >= 2, `reloads: ${JSON.stringify(followed)}`);
    const origin = new URL(w.url).origin;
    assert.deepEqual(requested.filter((u) => new URL(u.slice(u.indexOf(' ') + 1)).origin !== origin), []);
    assert.ok(!(await page.content()).includes(PASSWORD));
  });
});
