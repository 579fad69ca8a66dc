// The admin's Hosting tab follows what a form started (issue 13: every write is a queued task with
// live progress on the page), in Chromium, on MariaDB, on an emulated fleet (web, mail, DNS nodes
// and PowerDNS), with every mail node command slowed so the chain is seen while it runs:
//  - the admin creates a mailbox for the customer: the page shows the chain's step running, then
//    done, by its own polling (no navigation by the test), then the tab again with the mailbox
//    listed; the mailbox is on the mail node;
//  - the mail node fails the next mailbox (HestiaCP exit 13, E_DISK): the page shows the failing
//    step's error and links its task in Tasks; nothing else changed (the node, the list, the state);
//  - inside WHMCS (POST /v1/admin/pages) the same tab has no script: it reloads itself while the
//    chain runs, and the task link points at the addon; the JSON poll is not served there.
// Screenshots: test-artifacts/screenshots/admin-hosting-live-*.png.
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
import type { EmulatedNode } from '../helpers/fleet.ts';
import { requireChromium, SHOTS, launchChromium } from './harness.ts';

const ID = 9652;
const DOMAIN = 'adminlive9652.example';
const PASSWORD = 'Adm1n-Live-Secret-42';
/** Every mail node command takes this long: the mailbox step runs for seconds, the page polls meanwhile. */
const LATENCY_MS = 900;

interface LiveAnswer { ok: boolean; chainId: number; state: string; active: boolean; steps: Array<{ status: string; label: string; error: string | null }> }

describe('the admin\'s Hosting tab follows the chain a form started (mysql)', () => {
  let world: FleetWorld;
  let browser: Browser;
  let page: Page;
  let mailUser = '';
  let mailNode: EmulatedNode;
  let serviceId = 0;
  const polls: LiveAnswer[] = [];
  const bodies: string[] = [];
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `admin-hosting-live-${name}.png`), fullPage: true });
  const tab = () => `${world.daemon.url}/ui/admin/services/${ID}?tab=hosting&htab=mailboxes`;
  const mailboxes = () => {
    const r = runHestia(mailNode.dir, 'v-list-mail-accounts', [mailUser, DOMAIN, 'json']);
    assert.equal(r.code, 0, r.stdout);
    return Object.keys(JSON.parse(r.stdout) as Record<string, unknown>).sort();
  };
  const chains = async () => (await world.tdb.db(T.chains).where('service_id', serviceId).orderBy('id').select('id', 'operation', 'state')) as Array<{ id: number; operation: string; state: string }>;
  // The page's script marks the chain ended (data-active="0") and then replaces itself with the tab
  // rendered afresh; wait for that page, known by what the server rendered: no following note.
  const reloaded = () => page.waitForFunction(() => document.readyState === 'complete' && !document.querySelector('#hosting-following'), undefined, { timeout: 30_000 });
  const embedded = (query: string, pageName = `services/${ID}`) => call(world.daemon.url, 'POST', '/v1/admin/pages', { admin: { id: 3, username: 'wendy' }, page: pageName, query });
  /** Submits the Create mailbox form; answers the chain id the page now follows. */
  const create = async (name: string) => {
    await page.goto(tab());
    await page.fill('#hp-mailbox-name', name);
    await page.fill('#hp-mailbox-password', PASSWORD);
    await page.click('#hp-mailbox-create-btn');
    await page.waitForURL((u) => u.pathname === `/ui/admin/services/${ID}` && u.searchParams.has('chain'));
    return Number(new URL(page.url()).searchParams.get('chain'));
  };

  before(async () => {
    requireChromium();
    fs.mkdirSync(SHOTS, { recursive: true });
    world = await startFleetWorld('mysql', 'hb-admin-hosting-live-', { web: 1, mail: 1, dns: 1, combo: 0, pdns: true }, { HOSTBRIDGE_POLL_MS: '50' });
    await quietScheduledNodeWork(world.daemon, world.tdb);
    const r = await call(world.daemon.url, 'POST', '/v1/services', createBody(ID, world.reg.groupId, { domain: DOMAIN, client_id: 8 }, { configoption11: '3', configoption7: '500' }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const svc = await waitFor(`service ${ID} active and idle`, async () => {
      const s = await serviceByWhmcsId(world.tdb.db, ID);
      assert.notEqual(s?.state, 'failed');
      const running = s ? await world.tdb.db(T.chains).where('service_id', s.id).whereIn('state', ['running', 'waiting']).first('id') : null;
      return s?.state === 'active' && !running ? s : null;
    }, 60_000, 50);
    serviceId = svc.id;
    mailUser = svc.plan!.names.users.mail!;
    mailNode = world.fleet.node(world.reg.names[svc.plan!.placement.mail!]!);
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    page.setDefaultTimeout(15_000);
    // Every answer of the page's live poll, recorded on its way to the page (it may navigate right after).
    await page.route((u) => u.pathname.endsWith('/hosting/live'), async (route) => {
      const res = await route.fetch();
      const t = await res.text();
      bodies.push(t);
      if (res.status() === 200) polls.push(JSON.parse(t) as LiveAnswer);
      await route.fulfill({ response: res, body: t });
    });
    const link = await call(world.daemon.url, 'POST', '/v1/ui-links', { audience: 'admin', page: 'overview' });
    assert.equal(link.status, 200, JSON.stringify(link.body));
    await page.goto(link.body.url as string);
  });
  after(async () => {
    mailNode?.ssh.setLatency(0);
    await mailNode?.ssh.setFault(null);
    await browser?.close().catch(() => {});
    await world?.close();
  });

  test('the admin creates a mailbox and watches its step run, then done; the list then shows it and it is on the mail node', async () => {
    mailNode.ssh.setLatency(LATENCY_MS);
    let chainId: number;
    try {
      chainId = await create('sales');
      assert.match((await page.locator('p.flash.flash-ok').first().textContent()) ?? '', new RegExp(`chain #${chainId}, on the customer's behalf`));
      // An intermediate state, on the page, while the chain runs: the step running, the forms off.
      await page.locator('#hosting-progress li[data-step="1"][data-status="running"]').waitFor();
      assert.equal(await page.getAttribute('#hosting-progress', 'data-chain'), String(chainId));
      assert.equal(await page.getAttribute('#hosting-progress', 'data-active'), '1');
      assert.match((await page.locator('#hosting-progress li[data-step="1"]').textContent()) ?? '', /in progress/);
      assert.equal(await page.locator('#hosting-forms').getAttribute('disabled'), '', 'the forms are off while it runs');
      assert.equal(await page.locator('#hosting-failure').count(), 0);
      await shot('running');
      // Inside WHMCS, at the same moment: no script, the page reloads itself while the chain runs.
      const emb = await embedded(`module=hostbridge&page=services/${ID}&tab=hosting&htab=mailboxes&chain=${chainId}`);
      assert.equal(emb.body.status, 200, JSON.stringify(emb.body).slice(0, 500));
      const html = String(emb.body.html);
      assert.match(html, new RegExp(`id="hosting-progress" data-chain="${chainId}"`));
      assert.doesNotMatch(html, /<script/i);
      const activeThere = /data-active="1"/.test(html);
      assert.equal(/<meta http-equiv="refresh" content="3">/.test(html), activeThere, 'reloads itself exactly while the chain runs');
      assert.ok(!html.includes(PASSWORD));
      // The page, by its own polling, reaches done and loads the tab again (the test does not navigate).
      await page.locator('#hosting-progress[data-state="succeeded"][data-active="0"]').waitFor({ timeout: 30_000 });
      await reloaded();
    } finally {
      mailNode.ssh.setLatency(0);
    }
    assert.equal(new URL(page.url()).searchParams.get('chain'), String(chainId), 'the page reloaded itself to the same chain');
    const mine = polls.filter((p) => p.chainId === chainId);
    assert.ok(mine.some((p) => p.active && p.steps.some((s) => s.status === 'running' || s.status === 'queued')), `the poll saw the chain running: ${JSON.stringify(mine.map((p) => p.state))}`);
    assert.ok(mine.some((p) => !p.active && p.state === 'succeeded'), 'the poll saw it end');
    assert.equal(await page.locator('#hosting-progress li[data-step="1"]').getAttribute('data-status'), 'succeeded');
    assert.match((await page.locator('#hosting-progress li[data-step="1"]').textContent()) ?? '', /done/);
    assert.equal(await page.locator('#hosting-failure').count(), 0);
    // The list, read afresh: the mailbox, and the card's count; the forms are on again.
    assert.equal(await page.locator('tr[data-row="sales"] .hp-address').textContent(), `sales@${DOMAIN}`);
    assert.equal(await page.locator('.hosting-card[data-role="mail"] [data-gauge="mailboxes"] .hp-used').textContent(), '1');
    assert.equal(await page.locator('#hosting-forms').getAttribute('disabled'), null);
    assert.deepEqual(mailboxes(), ['sales']);
    await shot('done');
    assert.ok(bodies.every((b) => !b.includes(PASSWORD)), 'the password is never in the live answer');
    assert.ok(!(await page.content()).includes(PASSWORD));
  });

  test('a mailbox the mail node refuses: the failing step\'s error and its task are shown, and nothing else changes', async () => {
    const before = await chains();
    await mailNode.ssh.setFault({ kind: 'exit', match: /v-add-mail-account/, code: 13, message: 'Error: not enough disk space on /home', times: 1 });
    mailNode.ssh.setLatency(LATENCY_MS);
    let chainId: number;
    try {
      chainId = await create('support');
      await page.locator('#hosting-progress li[data-step="1"][data-status="running"]').waitFor();
      await shot('failing');
      await page.locator('#hosting-progress[data-active="0"]').waitFor({ timeout: 30_000 });
      await reloaded();
    } finally {
      mailNode.ssh.setLatency(0);
      await mailNode.ssh.setFault(null);
    }
    assert.equal(await page.getAttribute('#hosting-progress', 'data-state'), 'failed');
    const failure = (await page.locator('#hosting-failure').textContent()) ?? '';
    assert.match(failure, /^Step 1 \(.+\) failed: v-add-mail-account on .+ failed with E_DISK \(13\): Error: not enough disk space on \/home/, failure);
    const task = await world.tdb.db(T.tasks).where('chain_id', chainId).first('id', 'status', 'last_error');
    assert.equal(task.status, 'failed');
    assert.equal(await page.getAttribute('#hosting-failure-task', 'href'), `/ui/admin/tasks/${task.id}`);
    assert.equal(await page.locator(`#hosting-progress li[data-status="failed"] a[href="/ui/admin/tasks/${task.id}"]`).count(), 1);
    assert.ok(polls.some((p) => p.chainId === chainId && p.state === 'failed' && p.steps[0]?.error?.includes('E_DISK')), 'the poll carried the error');
    await shot('failed');
    // Nothing else changed: the node, the list, the card, the service, no other chain.
    assert.deepEqual(mailboxes(), ['sales']);
    assert.equal(await page.locator('tr[data-row="support"]').count(), 0);
    assert.equal(await page.locator('.hosting-card[data-role="mail"] [data-gauge="mailboxes"] .hp-used').textContent(), '1');
    assert.equal((await serviceByWhmcsId(world.tdb.db, ID))?.state, 'active');
    assert.deepEqual((await chains()).map((c) => c.id), [...before.map((c) => c.id), chainId]);
    assert.equal(await page.locator('#hosting-forms').getAttribute('disabled'), null, 'the admin may act again');
    // The link opens the task in Tasks, with its error.
    await page.click('#hosting-failure-task');
    await page.waitForURL((u) => u.pathname === `/ui/admin/tasks/${task.id}`);
    assert.match(await page.innerText('body'), /E_DISK/);
    // Inside WHMCS: the same failure, the task link to the addon's Tasks page, no reload once ended.
    const emb = await embedded(`tab=hosting&htab=mailboxes&chain=${chainId}`);
    const html = String(emb.body.html);
    assert.match(html, /id="hosting-failure"/);
    assert.match(html, new RegExp(`href="addonmodules.php\\?module=hostbridge&amp;page=tasks/${task.id}" id="hosting-failure-task"`));
    assert.doesNotMatch(html, /<script|http-equiv="refresh"/i);
    assert.ok(!(await page.content()).includes(PASSWORD));
  });

  test('the live answer: only a chain of this service, only to an admin, not through WHMCS', async () => {
    const mine = await chains();
    const last = mine[mine.length - 1]!.id;
    const ok = await page.request.get(`${world.daemon.url}/ui/admin/services/${ID}/hosting/live?chain=${last}`);
    assert.equal(ok.status(), 200);
    assert.equal((await ok.json() as LiveAnswer).state, 'failed');
    const other = await world.tdb.db(T.chains).whereNot('service_id', serviceId).orWhereNull('service_id').first('id');
    if (other) assert.equal((await page.request.get(`${world.daemon.url}/ui/admin/services/${ID}/hosting/live?chain=${other.id}`)).status(), 404);
    assert.equal((await page.request.get(`${world.daemon.url}/ui/admin/services/${ID}/hosting/live?chain=x1`)).status(), 422);
    // A page ignores a chain that is not the service's: nothing is followed.
    await page.goto(`${tab()}&chain=999999`);
    assert.equal(await page.locator('#hosting-progress').count(), 0);
    const anon = await fetch(`${world.daemon.url}/ui/admin/services/${ID}/hosting/live?chain=${last}`, { redirect: 'manual' });
    assert.ok([302, 303, 401].includes(anon.status), `no session: ${anon.status}`);
    const emb = await embedded(`chain=${last}`, `services/${ID}/hosting/live`);
    assert.equal(emb.body.status, 404);
  });
});
