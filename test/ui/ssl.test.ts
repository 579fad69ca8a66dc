// The SSL tab of the admin service panel and the customer's SSL box, in Debian's Chromium, for one
// deployed Split service (automatic SSL off, so the rows keep the states the test gives them): the
// web certificate waits for DNS with the reason, the mail certificate is frozen. The admin sees both
// with their names, last check, failures and freeze; Issue / Renew now lifts the freeze and makes
// the check due (recorded with the admin as actor); a custom certificate that is not one is refused
// with the reason and the key is not shown back. Through the WHMCS client area: the box says each
// state in the customer's words, the frozen role has no Renew button, Renew now on the web role goes
// through the module's SslAction and queues the check (actor "WHMCS client #7").
// Screenshots: test-artifacts/screenshots/ssl-admin-tab.png, ssl-client-box.png.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { call, createBody } from '../helpers/api.ts';
import { DIALECTS, waitFor } from '../helpers/db.ts';
import { TEST_SECRET } from '../helpers/daemon.ts';
import { T } from '../../daemon/common/tables.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { startUi, type UiHarness } from './harness.ts';
import { startWhmcsClientArea, type WhmcsClientArea } from './whmcs-client-harness.ts';

const ID = 6801;
const DOMAIN = `shop${ID}.example.com`;
const KEY_MARK = 'MIIEvgIBADANUiSslTestKeyMark0042';

for (const dialect of DIALECTS) {
  describe(`the SSL tab and the customer's SSL box in Chromium (${dialect})`, () => {
    let h: UiHarness;
    let whmcs: WhmcsClientArea;
    let a: Page;
    let svcId = 0;
    const db = () => h.tdb.db;
    const sslRow = (domain: string) => db()(T.ssl).where({ service_id: svcId, domain }).first();

    before(async () => {
      h = await startUi(dialect);
      await writeSetting(db(), 'ssl.enabled', 'false');
      await h.daemon.core.settings.refresh();
      const r = await call(h.url, 'POST', '/v1/services', createBody(ID, h.reg.groupId));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitFor('the deployment', async () => (await db()(T.services).where('whmcs_service_id', ID).first('state'))?.state === 'active' ? true : null, 90_000, 100);
      svcId = Number((await db()(T.services).where('whmcs_service_id', ID).first('id')).id);
      const now = Date.now();
      await db()(T.ssl).where({ service_id: svcId, domain: DOMAIN }).update({
        state: 'waiting-dns', checks: 3, last_check_at: now - 30_000, next_check_at: now + 3_600_000, last_result: `DNS: ${DOMAIN} resolves to 203.0.113.5, not 192.0.2.11`,
      });
      await db()(T.ssl).where({ service_id: svcId, domain: `mail.${DOMAIN}` }).update({
        state: 'frozen', checks: 9, failures: 5, frozen_until: now + 20 * 3_600_000, next_check_at: now + 20 * 3_600_000, last_check_at: now - 60_000,
        last_result: 'Let\'s Encrypt refused (5 failures in a row)', last_error: 'Error: Let\'s Encrypt new auth status 429 (shop6801.example.com)',
      });
      a = await (await h.context()).newPage();
      a.on('dialog', (d) => { void d.dismiss(); assert.fail(`a dialog opened: ${d.message()}`); });
      await a.goto(await h.link({ audience: 'admin', page: 'overview' }));
      await a.waitForURL('**/ui/admin');
    });
    after(async () => {
      await whmcs?.close();
      await h?.close();
    });

    test('the admin\'s SSL tab shows each certificate: names, state, last check, failures, freeze', async () => {
      await a.goto(`${h.url}/ui/admin/services/${ID}?tab=deploy`);
      await a.click('nav.tabs a:text("SSL")');
      await a.waitForURL(`**/ui/admin/services/${ID}?tab=ssl`);
      assert.equal(await a.locator('nav.tabs a[aria-current="page"]').textContent(), 'SSL');
      const web = a.locator('#ssl-web');
      const mail = a.locator('#ssl-mail');
      assert.equal(await web.getAttribute('data-state'), 'waiting-dns');
      assert.match(await web.innerText(), new RegExp(`Names\\s+${DOMAIN.replace(/\./g, '\\.')}`));
      assert.match(await web.locator('.ssl-result').innerText(), /resolves to 203\.0\.113\.5, not 192\.0\.2\.11/);
      assert.equal(await mail.getAttribute('data-state'), 'frozen');
      const mailText = await mail.innerText();
      assert.match(mailText, new RegExp(`mail\\.${DOMAIN.replace(/\./g, '\\.')}, webmail\\.${DOMAIN.replace(/\./g, '\\.')}`));
      assert.match(mailText, /Failures in a row\s+5/);
      assert.match(mailText, /Frozen until\s+\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC/);
      assert.match(mailText, /new auth status 429/);
      await h.shot(a, 'ssl-admin-tab');
    });

    test('Issue / Renew now lifts the freeze and makes the check due, recorded with the admin', async () => {
      const before = Date.now();
      await a.click('#ssl-mail button.ssl-check');
      await a.waitForURL(`**/ui/admin/services/${ID}?tab=ssl`);
      assert.match(await a.locator('.flash').innerText(), new RegExp(`SSL check of mail\\.${DOMAIN.replace(/\./g, '\\.')} queued \\(freeze lifted\\)`));
      const row = await sslRow(`mail.${DOMAIN}`);
      assert.deepEqual([row.state, row.frozen_until, Number(row.failures)], ['failed', null, 0]);
      assert.ok(Number(row.next_check_at) <= Date.now() && Number(row.next_check_at) >= before - 1000, 'due now');
      assert.equal(await a.locator('#ssl-mail').getAttribute('data-state'), 'failed');
      const log = await db()(T.oplog).where({ whmcs_service_id: ID, kind: 'action', operation: 'ssl-check' }).orderBy('id', 'desc').first('actor', 'via', 'result');
      assert.deepEqual([log.via, log.result], ['ui', 'done']);
      assert.match(log.actor, /admin/);
    });

    test('a custom certificate that is not one is refused with the reason; the key is not shown back', async () => {
      await a.locator('#ssl-web details.ssl-upload summary').click();
      await a.fill('#ssl-web textarea[name="certificate"]', 'not a certificate');
      await a.fill('#ssl-web textarea[name="private_key"]', `-----BEGIN PRIVATE KEY-----\n${KEY_MARK}\n-----END PRIVATE KEY-----\n`);
      await a.click('#ssl-web form[action$="/ssl/custom"] button[type="submit"]');
      await a.waitForURL(`**/ui/admin/services/${ID}?tab=ssl`);
      const flash = await a.locator('.flash').innerText();
      assert.match(flash, /certificate/i, flash);
      assert.ok(!(await a.content()).includes(KEY_MARK), 'the key is not in the page');
      assert.equal(await a.locator('#ssl-web textarea[name="private_key"]').inputValue(), '');
      assert.equal((await sslRow(DOMAIN)).state, 'waiting-dns', 'nothing changed');
    });

    test('the customer\'s box in the WHMCS client area: each state in their words; Renew now through SslAction queues the check', async () => {
      whmcs = await startWhmcsClientArea({
        daemonUrl: h.url, secret: TEST_SECRET,
        clients: [{ id: 7, email: 'owner@example.com', password: 'Client-Login-Pa55', firstname: 'Olivia' }],
        services: [{ id: ID, userid: 7, packageid: 3, domain: DOMAIN, domainstatus: 'Active' }],
        products: [{ id: 3, name: 'Web Split', configoption1: 'split' }],
      });
      // The mail role is frozen again for the customer's view.
      await db()(T.ssl).where({ service_id: svcId, domain: `mail.${DOMAIN}` }).update({ state: 'frozen', failures: 5, frozen_until: Date.now() + 20 * 3_600_000 });
      const c = await (await h.context()).newPage();
      await c.goto(`${whmcs.url}/clientarea.php`);
      await c.fill('#inputEmail', 'owner@example.com');
      await c.fill('#inputPassword', 'Client-Login-Pa55');
      await c.click('#login');
      await c.goto(`${whmcs.url}/clientarea.php?action=productdetails&id=${ID}`);
      const box = c.locator('.hostbridge-ssl');
      if (await box.count() === 0) throw new Error(`no SSL box:\n${(await c.innerText('body')).slice(0, 2000)}\n${whmcs.output().slice(-2000)}`);
      assert.match(await box.locator('[data-role="web"] .hostbridge-ssl-line').innerText(), /^Waiting for your domain to point to our servers: shop6801\.example\.com resolves to 203\.0\.113\.5/);
      assert.match(await box.locator('[data-role="mail"] .hostbridge-ssl-line').innerText(), /^Paused until \d{4}-\d\d-\d\d \d\d:\d\d UTC after repeated failures/);
      assert.equal(await box.locator('[data-role="mail"] button:text("Renew now")').count(), 0, 'no Renew while paused');
      await h.shot(c, 'ssl-client-box');
      await box.locator('[data-role="web"] button:text("Renew now")').click();
      await c.waitForSelector('#module-result');
      assert.equal(await c.locator('#module-result').innerText(), 'Action completed successfully', whmcs.output().slice(-2000));
      assert.ok(Number((await sslRow(DOMAIN)).next_check_at) <= Date.now(), 'the check is due now');
      const log = await db()(T.oplog).where({ whmcs_service_id: ID, kind: 'action', operation: 'ssl-check' }).orderBy('id', 'desc').first('actor', 'via', 'result');
      assert.deepEqual([log.actor, log.via, log.result], ['WHMCS client #7', 'whmcs', 'done']);
    });
  });
}
