// The daemon's admin pages inside WHMCS, in Chromium: a WHMCS admin area stand-in (php -S with
// test/whmcs-admin/router.php, doing what WHMCS does for addonmodules.php) calls the addon's
// hostbridge_output($vars), which fetches the page from the daemon over the signed API. A WHMCS
// admin whose role has the addon's Access Control opens a failed service from its WHMCS service
// tab, reads its timeline and tasks, retries the failed task, and reads the operation log, which
// names them as the actor, with no daemon login; the browser never talks to the daemon. A form
// without WHMCS's token changes nothing. An admin whose role lacks the permission sees nothing of
// the daemon's pages, and the daemon is never asked for one.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { call, createBody } from '../helpers/api.ts';
import { TEST_SECRET } from '../helpers/daemon.ts';
import { DIALECTS, waitFor } from '../helpers/db.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { startUi, type UiHarness } from './harness.ts';
import { startWhmcsAdmin, type WhmcsAdminArea } from './whmcs-admin-harness.ts';

const FULL_ADMIN = 1;
const SUPPORT = 3;
const JANE = { id: 1, username: 'jane', password: 'jane-whmcs-pass', roleid: FULL_ADMIN };
const BOB = { id: 2, username: 'bob', password: 'bob-whmcs-pass', roleid: SUPPORT };
const SERVICE = 7001;

for (const dialect of DIALECTS) {
  describe(`the admin pages inside WHMCS, in Chromium (${dialect})`, () => {
    let h: UiHarness;
    let w: WhmcsAdminArea;
    let ctx: BrowserContext;
    let a: Page;
    /** Every URL the admin's browser asked for. */
    const requested: string[] = [];
    const db = () => h.tdb.db;
    const sessionOf = (adminId: number) => db()('mod_hostbridge_ui_sessions').where('id', crypto.createHash('sha256').update(`whmcs-admin\n${adminId}`).digest('hex')).first();

    before(async () => {
      h = await startUi(dialect);
      // A deployment that fails for good at its first mail step: one attempt, the mail node down.
      await writeSetting(db(), 'retry.max_attempts', '1');
      await h.daemon.core.settings.refresh();
      w = await startWhmcsAdmin({ daemonUrl: h.url, secret: TEST_SECRET, admins: [JANE, BOB], access: [FULL_ADMIN, 2] });
    });
    after(async () => {
      await ctx?.close().catch(() => {});
      await w?.close();
      await h?.close();
    });

    async function login(page: Page, who: { username: string; password: string }): Promise<void> {
      await page.goto(`${w.url}/login.php`);
      await page.fill('#username', who.username);
      await page.fill('#password', who.password);
      await page.click('#login');
      await page.waitForURL('**/addonmodules.php?module=hostbridge');
    }

    test('a WHMCS admin opens the failed service from its service tab, retries the failed task and reads the operation log, with no daemon login', async () => {
      await h.fleet.mail[0]!.setDown(true);
      const created = await call(h.url, 'POST', '/v1/services', createBody(SERVICE, h.reg.groupId));
      assert.equal(created.status, 200, JSON.stringify(created.body));
      h.daemon.engine.wake();
      const failed = await waitFor('the deployment to fail for good', async () => {
        const t = await db()('mod_hostbridge_tasks as t').join('mod_hostbridge_services as s', 's.id', 't.service_id')
          .where('s.whmcs_service_id', SERVICE).where('t.status', 'failed').first('t.id', 't.step');
        return t ?? null;
      }, 60_000);
      const failedId = Number(failed.id);
      await h.fleet.mail[0]!.setDown(false);

      ctx = await h.context();
      a = await ctx.newPage();
      a.on('request', (r) => requested.push(r.url()));
      await login(a, JANE);
      // The addon's landing page is the daemon's Services page, in the WHMCS page shell.
      assert.equal(await a.locator('#whmcs-admin').innerText(), 'jane');
      assert.equal(await a.locator('#contentarea .hostbridge-ui h1').innerText(), 'Services');
      // Services, Task Queue, Infrastructure, Server groups, DNS Zones, Proxmox, IP pools, KVM profiles, Hosting plans, VM Management, Operation Log, Statistics, Settings.
      assert.equal(await a.locator('#contentarea nav.embedded-nav a').count(), 13);
      await h.shot(a, 'whmcs-addon-services');

      // The service's WHMCS page links to its timeline and its tasks in the addon.
      await a.goto(`${w.url}/clientsservices.php?id=${SERVICE}`);
      assert.equal(await a.locator('#module-tab a.hostbridge-timeline').getAttribute('href'), `addonmodules.php?module=hostbridge&page=services/${SERVICE}&tab=deploy`);
      await a.click('#module-tab a.hostbridge-timeline');
      await a.waitForURL(`**/addonmodules.php?module=hostbridge&page=services/${SERVICE}&tab=deploy`);
      const deploy = await a.locator('#contentarea .hostbridge-ui').innerText();
      assert.match(deploy, new RegExp(`Service #${SERVICE}`));
      assert.match(deploy, /Timeline of chain #\d+/);
      assert.match(deploy, /failed/);
      assert.equal(await a.locator('text=Customer\'s view').count(), 0, 'no link to the daemon\'s own customer page');
      await h.shot(a, 'whmcs-addon-service-timeline');

      await a.goto(`${w.url}/clientsservices.php?id=${SERVICE}`);
      await a.click('#module-tab a.hostbridge-tasks');
      await a.waitForURL(`**/addonmodules.php?module=hostbridge&page=services/${SERVICE}&tab=tasks`);
      const row = a.locator('#contentarea tr', { has: a.locator(`a:text-is("#${failedId}")`) });
      assert.match(await row.innerText(), /failed/);
      await h.shot(a, 'whmcs-addon-service-tasks');

      // The failed task's page, and its Retry, through the addon.
      await row.locator(`a:text-is("#${failedId}")`).click();
      await a.waitForURL(`**/addonmodules.php?module=hostbridge&page=tasks/${failedId}`);
      await a.locator('#contentarea button:text("Retry")').click();
      await a.waitForURL(`**/addonmodules.php?module=hostbridge&page=tasks/${failedId}**`);
      assert.match(await a.locator('#contentarea .flash').innerText(), new RegExp(`task #${failedId} queued again`));
      await waitFor('the retried task to succeed', async () => (await db()('mod_hostbridge_tasks').where('id', failedId).first('status')).status === 'succeeded', 30_000);
      await waitFor('the service to be active', async () => (await db()('mod_hostbridge_services').where('whmcs_service_id', SERVICE).first('state')).state === 'active', 60_000);
      await h.shot(a, 'whmcs-addon-task-retried');

      // The Operation Log names the WHMCS admin as the one who retried it.
      await a.click('#contentarea nav.embedded-nav a:text("Operation Log")');
      await a.waitForURL('**/addonmodules.php?module=hostbridge&page=log');
      const mine = a.locator('#log tbody tr', { hasText: `task #${failedId} queued again` });
      assert.equal(await mine.count(), 1);
      assert.match(await mine.innerText(), /WHMCS admin jane \(#1\)/);
      assert.match(await a.locator('#log').innerText(), /deploy/);
      // Paging and filters stay inside the addon.
      await a.click('#contentarea nav.tabs a:text("Admin actions")');
      await a.waitForURL('**/addonmodules.php?module=hostbridge&page=log&kind=actions');
      assert.equal(await a.locator('#log tbody tr').count(), 1);
      await h.shot(a, 'whmcs-addon-operation-log');

      // A GET form (the task filters) stays in the addon too.
      await a.goto(`${w.url}/addonmodules.php?module=hostbridge&page=tasks`);
      await a.selectOption('#filters select[name=status]', 'succeeded');
      await a.click('#filters button');
      await a.waitForURL((u) => u.pathname.endsWith('/addonmodules.php') && u.searchParams.get('page') === 'tasks' && u.searchParams.get('status') === 'succeeded');
      assert.ok(await a.locator(`#tasks tr[data-task="${failedId}"]`).count() === 1);

      // No daemon login, and the browser never spoke to the daemon: every request went to WHMCS.
      const origin = new URL(w.url).origin;
      assert.deepEqual(requested.filter((u) => new URL(u).origin !== origin), []);
      assert.equal(requested.some((u) => u.includes('/ui/')), false);
      // The scoped stylesheet leaves WHMCS's own page alone.
      const around = await a.evaluate(() => {
        const body = getComputedStyle(document.body);
        const td = getComputedStyle(document.querySelector('#whmcs-footer-table td')!);
        const ours = getComputedStyle(document.querySelector('.hostbridge-ui td')!);
        return { bg: body.backgroundColor, font: body.fontFamily, whmcsTd: td.borderBottomWidth, oursTd: ours.borderBottomWidth };
      });
      assert.equal(around.bg, 'rgb(240, 240, 233)');
      assert.match(around.font, /Georgia/);
      assert.equal(around.whmcsTd, '0px');
      assert.equal(around.oursTd, '1px');
    });

    test('a form without WHMCS\'s token is refused and changes nothing', async () => {
      const before = await db()('mod_hostbridge_admin_actions').count({ n: '*' });
      const task = await db()('mod_hostbridge_tasks as t').join('mod_hostbridge_services as s', 's.id', 't.service_id').where('s.whmcs_service_id', SERVICE).first('t.id');
      for (const token of [undefined, 'not-the-token']) {
        const r = await a.request.post(`${w.url}/addonmodules.php?module=hostbridge&page=tasks/${task.id}/force-fail`, { form: token ? { token } : {}, maxRedirects: 0 });
        assert.equal(r.status(), 200);
        const html = await r.text();
        assert.match(html, /security token/);
        assert.doesNotMatch(html, /hostbridge-ui/);
      }
      assert.deepEqual(await db()('mod_hostbridge_admin_actions').count({ n: '*' }), before);
      assert.equal((await db()('mod_hostbridge_tasks').where('id', task.id).first('status')).status, 'succeeded');
    });

    test('an admin whose role lacks the addon permission sees nothing of the daemon\'s pages', async () => {
      const bobCtx = await h.context();
      try {
        const b = await bobCtx.newPage();
        await login(b, BOB);
        assert.match(await b.locator('#access-denied').innerText(), /do not have permission/);
        for (const p of ['', '&page=log', `&page=services/${SERVICE}&tab=tasks`, '&page=settings']) {
          await b.goto(`${w.url}/addonmodules.php?module=hostbridge${p}`);
          assert.equal(await b.locator('#access-denied').count(), 1, p);
          assert.equal(await b.locator('.hostbridge-ui, .hostbridge-admin').count(), 0, p);
          assert.doesNotMatch(await b.content(), /Operation Log|Task Queue|Timeline/);
        }
        const post = await b.request.post(`${w.url}/addonmodules.php?module=hostbridge&page=settings`, { form: { 'retry.max_attempts': '9' }, maxRedirects: 0 });
        assert.match(await post.text(), /do not have permission/);
        await h.shot(b, 'whmcs-addon-access-denied');
        // The daemon was never asked for a page on bob's behalf.
        assert.equal(await sessionOf(BOB.id), undefined);
        assert.ok(await sessionOf(JANE.id));
        assert.equal((await db()('mod_hostbridge_settings').where('key', 'retry.max_attempts').first('value')).value, '1');
        // Without a WHMCS admin session, WHMCS sends the browser to its login.
        const anon = await h.context();
        const p = await anon.newPage();
        await p.goto(`${w.url}/addonmodules.php?module=hostbridge&page=log`);
        assert.ok(p.url().endsWith('/login.php'));
        await anon.close();
      } finally {
        await bobCtx.close();
      }
    });
  });
}
