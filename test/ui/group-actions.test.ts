// The server group's Actions tab in Chromium, on SQLite and MariaDB, with the emulated web, mail
// and DNS nodes and the real PowerDNS: the members with their type, driver and status; the admin
// edits the mail config (a bad value is refused naming the key and saves nothing), presses Apply →
// Mail servers and sees the per-server and per-key results, while the web node is untouched. The
// same page inside WHMCS (POST /v1/admin/pages) points nowhere at /ui, and its Apply form works
// through the addon. Screenshot: test-artifacts/screenshots/group-actions.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, waitFor } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { startUi, type UiHarness } from './harness.ts';
import { readKeyFile } from '../emulator/hestia/conf.ts';
import { paths } from '../emulator/hestia/node.ts';
import { T } from '../../daemon/common/tables.ts';

for (const dialect of DIALECTS) {
  describe(`group Actions tab (${dialect})`, () => {
    let h: UiHarness;
    before(async () => { h = await startUi(dialect); });
    after(async () => { await h?.close(); });

    test('edit the mail config, Apply → Mail servers, see the results per server and key', async () => {
      const gid = h.reg.groupId;
      const page = await (await h.context()).newPage();
      await page.goto(await h.link({ audience: 'admin', page: 'groups' }));
      await page.click(`a[href="/ui/admin/groups/${gid}/actions"]`);
      await page.waitForSelector('#group-members');
      const row = (name: string) => page.locator(`#group-members tr[data-server="${name}"]`);
      assert.match(await row('web1').innerText(), /WEB\s+hestiacp\s+active/);
      assert.match(await row('mail1').innerText(), /MAIL\s+hestiacp\s+active/);
      assert.match(await row('pdns').innerText(), /DNS\s+powerdns/);
      assert.match(await row('ns1').innerText(), /never/);

      await page.click('nav[aria-label="Config by server role"] a:has-text("Mail servers")');
      await page.waitForSelector('#config-form');
      assert.equal(await page.locator('input[name="manage_ANTISPAM_SYSTEM"]').isChecked(), false, 'not managed by default');
      assert.match(await page.locator('.config-key[data-key="ANTISPAM_SYSTEM"]').innerText(), /\(not managed\)/);
      await page.check('input[name="manage_ANTISPAM_SYSTEM"]');
      await page.selectOption('select[name="val_ANTISPAM_SYSTEM"]', 'spamassassin');
      await page.check('input[name="manage_WEBMAIL_ALIAS"]');
      await page.fill('input[name="val_WEBMAIL_ALIAS"]', 'web mail');
      await page.click('#config-form button[type="submit"]');
      assert.match(await page.locator('#form-error').innerText(), /^WEBMAIL_ALIAS: must be 1-64 letters.*Nothing was saved\.$/);
      assert.equal(Number((await h.tdb.db(T.hestiaConfig).count({ n: '*' }).first())!.n), 0);
      assert.equal(await page.locator('input[name="val_WEBMAIL_ALIAS"]').inputValue(), 'web mail', 'what was typed is shown again');
      await page.fill('input[name="val_WEBMAIL_ALIAS"]', 'mail-web');
      await page.click('#config-form button[type="submit"]');
      await page.waitForSelector('.flash');
      assert.match(await page.locator('.flash').innerText(), /Mail servers config of group #\d+ saved: 2 managed key\(s\)/);
      assert.equal(await page.locator('input[name="manage_WEBMAIL_ALIAS"]').isChecked(), true);

      const webBefore = Object.fromEntries(readKeyFile(paths.conf(h.fleet.node('web1').dir)));
      await page.click('#apply-buttons button[data-role="mail"]');
      await page.waitForSelector('.flash');
      assert.match(await page.locator('.flash').innerText(), /Apply Hestia config to mail servers of group #\d+: queued on mail1\./);
      await waitFor('mail1 applied', async () => {
        await page.reload();
        return /applied/.test(await row('mail1').locator('.apply-result').innerText());
      }, 30_000, 200);
      const result = await row('mail1').locator('.apply-result').innerText();
      assert.match(result, /ANTISPAM_SYSTEM = spamassassin applied/);
      assert.match(result, /WEBMAIL_ALIAS = mail-web applied/);
      assert.match(await row('web1').locator('.apply-result').innerText(), /never/, 'Apply to mail servers does not touch the web node');
      assert.equal(readKeyFile(paths.conf(h.fleet.node('mail1').dir)).get('ANTISPAM_SYSTEM'), 'spamassassin');
      assert.deepEqual(Object.fromEntries(readKeyFile(paths.conf(h.fleet.node('web1').dir))), webBefore);
      await h.shot(page, 'group-actions');

      // Inside WHMCS: the same page, its links and forms pointing at the addon, and Apply through it.
      const admin = { id: 3, username: 'jane' };
      const embedded = await call(h.url, 'POST', '/v1/admin/pages', { admin, page: `groups/${gid}/actions`, query: 'tab=mail' });
      assert.equal(embedded.body.status, 200);
      const html = String(embedded.body.html);
      assert.doesNotMatch(html, /(href|action)="\/ui/);
      assert.match(html, new RegExp(`action="addonmodules.php\\?module=hostbridge&amp;page=groups/${gid}/apply"`));
      const applied = await call(h.url, 'POST', '/v1/admin/pages', { admin, method: 'POST', page: `groups/${gid}/apply`, form: 'role=web&tab=mail', token: 't' });
      assert.equal(applied.body.status, 303, JSON.stringify(applied.body).slice(0, 300));
      assert.equal(applied.body.location, `addonmodules.php?module=hostbridge&page=groups/${gid}/actions&tab=mail`);
      const queued = await h.tdb.db(T.tasks).where({ type: 'hestia.config', target: `server:${h.reg.ids.web1}` }).first('id');
      assert.ok(queued, 'the Apply sent through WHMCS queued the web node\'s task');
    });
  });
}
