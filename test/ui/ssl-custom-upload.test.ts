// The customer's own certificate, end to end in Debian's Chromium, for one deployed Split service on
// the emulated fleet (automatic SSL off, so only the custom certificate moves the web row). Through
// the WHMCS client area and the module's SslAction, the customer pastes into "Use my own
// certificate": a certificate whose key does not match, an expired one, one for another domain —
// each refused with the reason, the key nowhere in the page, nothing sent to the node — then a good
// one, which the engine installs: the box reads "Your own certificate, valid until …", the node
// serves its fingerprint with LETSENCRYPT='no', and the key is in no page, task log, Operation Log
// entry or Module Log entry. The admin's SSL tab shows it (issuer, expiry); Remove takes it off: the
// row waits for DNS again and the node has SSL off.
// Screenshots: test-artifacts/screenshots/ssl-custom-client-refused.png, ssl-custom-client-installed.png,
// ssl-custom-admin-tab.png.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { Locator, Page } from 'playwright-core';
import { call, createBody } from '../helpers/api.ts';
import { DIALECTS, waitFor } from '../helpers/db.ts';
import { TEST_SECRET } from '../helpers/daemon.ts';
import { DAY, issueCert, makeCa, makeKey, type TestCert } from '../helpers/certs.ts';
import { commandsSince, type EmulatedNode } from '../helpers/fleet.ts';
import { runHestia } from '../emulator/hestia/index.ts';
import { T } from '../../daemon/common/tables.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { serviceByWhmcsId } from '../../daemon/services/store.ts';
import { startUi, type UiHarness } from './harness.ts';
import { startWhmcsClientArea, type WhmcsClientArea } from './whmcs-client-harness.ts';

const ID = 7801;
// Two labels: HestiaCP gives the domain a www. alias, so the certificate must name both.
const DOMAIN = `own${ID}.example`;
const NAMES = [DOMAIN, `www.${DOMAIN}`];
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The customer's box shows dates as "6 March 2027" (ssl/state.ts day()). */
const longDay = (ms: number) => new Date(ms).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

for (const dialect of DIALECTS) {
  describe(`a customer's own certificate, uploaded in the client area and removed by the admin, in Chromium (${dialect})`, () => {
    let h: UiHarness;
    let whmcs: WhmcsClientArea;
    let c: Page;
    let svcId = 0;
    let node: EmulatedNode;
    let user = '';
    const ca = makeCa('hostbridge custom CA');
    const good = issueCert(ca, NAMES);
    /** Every key pasted in this test: none may show up anywhere. */
    const keyLines: string[] = [];
    const db = () => h.tdb.db;

    const sslOnNode = () => {
      const r = runHestia(node.dir, 'v-list-web-domain-ssl', [user, DOMAIN, 'json']);
      assert.equal(r.code, 0, r.stdout);
      return JSON.parse(r.stdout)[DOMAIN] as Record<string, string>;
    };
    const webDomain = () => {
      const r = runHestia(node.dir, 'v-list-web-domains', [user, 'json']);
      assert.equal(r.code, 0, r.stdout);
      return JSON.parse(r.stdout)[DOMAIN] as Record<string, string>;
    };
    const served = () => {
      const crt = (sslOnNode().CRT ?? '').trim();
      return crt === '' ? null : new X509Certificate(crt).fingerprint256;
    };
    /** Commands that touch SSL on the web node (the scheduler's own reads do not count). */
    const sslCommands = (from: number) => commandsSince(node, from).filter((e) => e.ran && /ssl|letsencrypt/.test((e.argv ?? [e.command]).join(' ')));
    const leaks = (text: string) => keyLines.filter((l) => text.includes(l)).length;
    const webBox = (): Locator => c.locator('.hostbridge-ssl [data-role="web"]');

    /** Pastes a certificate into the web role's "Use my own certificate" form and submits it; the module's answer. */
    async function paste(cert: TestCert): Promise<string> {
      for (const l of cert.key.split('\n')) if (l.length >= 40 && !l.startsWith('-----') && !keyLines.includes(l)) keyLines.push(l);
      await webBox().locator('details summary:text("Use my own certificate")').click();
      const form = webBox().locator('form:has(input[name="hb_action"][value="upload-custom"])');
      await form.locator('textarea[name="hbf_certificate"]').fill(cert.cert);
      await form.locator('textarea[name="hbf_private_key"]').fill(cert.key);
      await form.locator('textarea[name="hbf_chain"]').fill(cert.chain);
      await form.locator('button:text("Install my certificate")').click();
      await c.waitForSelector('#module-result');
      return c.locator('#module-result').innerText();
    }

    /** A refusal: the reason shown, the key nowhere in the page, nothing stored, nothing sent to the node. */
    async function refused(cert: TestCert, reason: RegExp): Promise<string> {
      const from = commandsSince(node, 0).length;
      const message = await paste(cert);
      assert.match(message, reason, whmcs.output().slice(-2000));
      assert.equal(leaks(await c.content()), 0, 'the key is not in the page');
      assert.equal(await webBox().locator('textarea[name="hbf_private_key"]').inputValue(), '', 'the key field is empty');
      assert.deepEqual(sslCommands(from).map((e) => e.command), [], 'no SSL command reached the node');
      assert.equal(served(), null, 'the node serves no certificate');
      assert.equal(await db()(T.sslCustom).where('service_id', svcId).first(), undefined, 'nothing stored');
      assert.equal((await db()(T.ssl).where({ service_id: svcId, domain: DOMAIN }).first('state')).state, 'waiting-dns');
      return message;
    }

    /** The service's last chain of this operation, once it has ended. */
    const chainEnds = (operation: string) => waitFor(operation, async () => {
      const row = await db()(T.chains).where({ service_id: svcId, operation }).orderBy('id', 'desc').first('id', 'state');
      if (!row || ['running', 'waiting'].includes(row.state)) return null;
      const errors = (await db()(T.tasks).where('chain_id', row.id).pluck('last_error')).filter(Boolean);
      return `${row.state}${errors.length ? `: ${errors.join('; ')}` : ''}`;
    }, 30_000, 50);

    before(async () => {
      h = await startUi(dialect);
      await writeSetting(db(), 'ssl.enabled', 'false');
      await h.daemon.core.settings.refresh();
      const r = await call(h.url, 'POST', '/v1/services', createBody(ID, h.reg.groupId, { domain: DOMAIN }));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitFor('the deployment', async () => (await db()(T.services).where('whmcs_service_id', ID).first('state'))?.state === 'active' ? true : null, 90_000, 100);
      const svc = (await serviceByWhmcsId(db(), ID))!;
      svcId = svc.id;
      user = svc.plan!.names.users.web!;
      node = h.fleet.node(h.reg.names[svc.plan!.placement.web!]!);
      assert.equal(served(), null, 'no certificate before the test');
      whmcs = await startWhmcsClientArea({
        daemonUrl: h.url, secret: TEST_SECRET,
        clients: [{ id: 7, email: 'owner@example.com', password: 'Client-Login-Pa55', firstname: 'Olivia' }],
        services: [{ id: ID, userid: 7, packageid: 3, domain: DOMAIN, domainstatus: 'Active' }],
        products: [{ id: 3, name: 'Web Split', configoption1: 'split' }],
      });
      c = await (await h.context()).newPage();
      await c.goto(`${whmcs.url}/clientarea.php`);
      await c.fill('#inputEmail', 'owner@example.com');
      await c.fill('#inputPassword', 'Client-Login-Pa55');
      await c.click('#login');
      await c.goto(`${whmcs.url}/clientarea.php?action=productdetails&id=${ID}`);
      if (await webBox().count() === 0) throw new Error(`no web role in the SSL box:\n${(await c.innerText('body')).slice(0, 2000)}\n${whmcs.output().slice(-2000)}`);
    });
    after(async () => {
      await whmcs?.close();
      await h?.close();
    });

    test('a certificate with a key that does not match is refused naming the private key; nothing changes', async () => {
      const message = await refused({ ...good, key: makeKey().pem }, /^private_key: does not match the certificate/);
      assert.doesNotMatch(message, /BEGIN|PRIVATE KEY-----/);
      await h.shot(c, 'ssl-custom-client-refused');
    });

    test('an expired certificate is refused with its date; one for another domain with the names it covers', async () => {
      const expiredOn = new Date(Date.now() - 2 * DAY);
      const expired = issueCert(ca, NAMES, { notBefore: new Date(Date.now() - 100 * DAY), notAfter: expiredOn });
      await refused(expired, new RegExp(`^certificate: expired on ${expiredOn.toISOString().slice(0, 10)}T`));
      const other = issueCert(ca, ['other.example', 'www.other.example']);
      await refused(other, new RegExp(`^certificate: does not cover ${re(DOMAIN)} and www\\.${re(DOMAIN)}: it covers other\\.example, www\\.other\\.example`));
      const refusals = await db()(T.oplog).where({ whmcs_service_id: ID, kind: 'action', result: 'refused' }).pluck('message');
      assert.equal(refusals.filter((m: string) => /upload a custom web certificate: refused/.test(m)).length, 3, JSON.stringify(refusals));
    });

    test('a good certificate is accepted and installed: the box says so, the node serves it with Let\'s Encrypt off', async () => {
      const from = commandsSince(node, 0).length;
      assert.equal(await paste(good), 'Action completed successfully', whmcs.output().slice(-2000));
      assert.equal(leaks(await c.content()), 0, 'the key is not in the page');
      assert.equal(await chainEnds('ssl-custom-web-install'), 'succeeded');
      const fp = new X509Certificate(good.cert).fingerprint256;
      assert.equal(served(), fp, 'the node serves the customer\'s certificate');
      assert.deepEqual([webDomain().SSL, webDomain().LETSENCRYPT], ['yes', 'no']);
      assert.ok(sslCommands(from).some((e) => /v-add-web-domain-ssl/.test((e.argv ?? [e.command]).join(' '))), 'installed with HestiaCP\'s command');
      await c.goto(`${whmcs.url}/clientarea.php?action=productdetails&id=${ID}`);
      const notAfter = new X509Certificate(good.cert).validTo;
      assert.equal(await webBox().locator('.hostbridge-ssl-line').innerText(), `Your own certificate, valid until ${longDay(Date.parse(notAfter))}`);
      assert.equal(await webBox().getAttribute('data-state'), 'custom');
      assert.equal(await webBox().locator('button:text("Remove my certificate")').count(), 1);
      assert.equal(await webBox().locator('button:text("Renew now")').count(), 0, 'no Renew for a custom certificate');
      assert.equal(leaks(await c.content()), 0, 'the key is not in the page');
      await h.shot(c, 'ssl-custom-client-installed');

      const ok = await db()(T.oplog).where({ whmcs_service_id: ID, kind: 'action', result: 'done' }).select('actor', 'message');
      const upload = ok.find((o: { message: string }) => /upload a custom web certificate: certificate .* is being installed/.test(o.message));
      assert.ok(upload, JSON.stringify(ok));
      assert.equal(upload.actor, 'WHMCS client #7');
      const log = whmcs.moduleLog();
      const sslCalls = log.filter((e) => e[0] === 'SslAction');
      assert.equal(sslCalls.length, 4, 'each paste is one SslAction call in the Module Log');
      assert.ok(sslCalls.every((e) => JSON.stringify(e[1]).includes('"private_key":"********"')), `the log shows the key's field was sent, masked: ${JSON.stringify(sslCalls[3]?.[1]).slice(0, 300)}`);
      assert.ok(leaks(good.key) > 10 && leaks(JSON.stringify(good.key)) > 10, 'the leak check finds the key where it is');
      const texts = {
        'the task logs': JSON.stringify(await db()(T.attempts).select('output', 'error')),
        'the tasks': JSON.stringify(await db()(T.tasks).where('service_id', svcId).select('args', 'last_error', 'result')),
        'the Operation Log': JSON.stringify(await db()(T.oplog).select('message', 'error')),
        'the Module Log': JSON.stringify(log),
        'the node\'s command lines': JSON.stringify(commandsSince(node, 0).map((e) => e.argv)),
      };
      for (const [where, text] of Object.entries(texts)) assert.equal(leaks(text), 0, `a line of a private key is in ${where}`);
    });

    test('the admin\'s SSL tab shows the custom certificate; Remove takes it off and automatic SSL waits for DNS again', async () => {
      const a = await (await h.context()).newPage();
      a.on('dialog', (d) => { void d.dismiss(); assert.fail(`a dialog opened: ${d.message()}`); });
      await a.goto(await h.link({ audience: 'admin', page: 'overview' }));
      await a.waitForURL('**/ui/admin');
      await a.goto(`${h.url}/ui/admin/services/${ID}?tab=ssl`);
      const web = a.locator('#ssl-web');
      assert.equal(await web.getAttribute('data-state'), 'custom');
      const text = await web.innerText();
      const until = new Date(Date.parse(new X509Certificate(good.cert).validTo)).toISOString().slice(0, 10);
      assert.match(text, new RegExp(`Custom certificate\\s+${re(NAMES.join(', '))} · CN=hostbridge custom CA, O=hostbridge tests · until ${until}`), text);
      assert.doesNotMatch(text, /\(in progress\)/);
      assert.match(text, /Served certificate\s+CN=hostbridge custom CA, O=hostbridge tests, valid until \d{4}-\d\d-\d\d/, text);
      assert.equal(await web.locator('button.ssl-check').count(), 0, 'no Issue / Renew now for a custom certificate');
      assert.equal(leaks(await a.content()), 0, 'the key is not in the admin page');
      await h.shot(a, 'ssl-custom-admin-tab');

      const from = commandsSince(node, 0).length;
      await web.locator('form[action$="/ssl/custom/remove"] button[type="submit"]').click();
      await a.waitForURL(`**/ui/admin/services/${ID}?tab=ssl`);
      assert.match(await a.locator('.flash').innerText(), /Custom certificate of the web role queued for removal/);
      assert.equal(await chainEnds('ssl-custom-web-remove'), 'succeeded');
      assert.ok(sslCommands(from).some((e) => /v-delete-web-domain-ssl/.test((e.argv ?? [e.command]).join(' '))), 'taken off with HestiaCP\'s command');
      assert.equal(served(), null, 'the node serves no certificate');
      assert.equal(webDomain().SSL, 'no');
      await a.reload();
      assert.equal(await web.getAttribute('data-state'), 'waiting-dns');
      assert.match(await web.innerText(), /Custom certificate\s+none/);
      assert.match(await web.locator('.ssl-result').innerText(), /custom certificate removed: automatic SSL resumes/);
      assert.equal(await db()(T.sslCustom).where('service_id', svcId).first(), undefined, 'the certificate and its key are deleted');
      const removal = await db()(T.oplog).where({ whmcs_service_id: ID, kind: 'action', result: 'done' }).orderBy('id', 'desc').first('actor', 'message');
      assert.match(removal.message, /remove the custom web certificate/);
      assert.match(removal.actor, /admin/);
      // The customer's box offers automatic SSL and their own certificate again.
      await c.goto(`${whmcs.url}/clientarea.php?action=productdetails&id=${ID}`);
      assert.match(await webBox().locator('.hostbridge-ssl-line').innerText(), /^Waiting for your domain to point to our servers/);
      assert.equal(await webBox().locator('summary:text("Use my own certificate")').count(), 1);
    });
  });
}
