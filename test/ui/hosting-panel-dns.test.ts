// The customer's hosting panel's DNS tab inside the WHMCS client area (issue 13), in Chromium, on
// MariaDB: a Split service whose zone is published on an emulated HestiaCP DNS node (ns1) AND the
// real PowerDNS, a WHMCS client area stand-in (test/whmcs-client/router.php) running the real PHP
// module, and a customer who logs in there and, through the module's ClientArea output only:
//  - opens the DNS tab: the managed records are listed read-only (no form, no button);
//  - adds an A record through the form, with the fleet slowed so the progress is seen and the forms
//    are disabled while the chain runs, then a TXT record; both are listed with each server's state
//    and are on ns1 and answered by PowerDNS on its DNS port (node:dns Resolver);
//  - types hostile values: a --flag, markup, an IDN look-alike and a 300-character name, quotes and
//    a 300-character address as values; each is refused naming the field and changes nothing, and
//    markup in a TXT value (which DNS allows) is kept and shown as inert text: no script runs; a
//    300-character TXT value is kept whole and, like the DKIM key, stays inside the panel;
//  - adds an SRV record with a non-zero weight: on ns1 and answered by PowerDNS.
// Screenshots go to test-artifacts/screenshots/hosting-panel-dns-*.png.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Resolver } from 'node:dns/promises';
import { type Browser, type Page } from 'playwright-core';
import { T } from '../../daemon/common/tables.ts';
import { TEST_SECRET } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/db.ts';
import { nodeSummary } from '../helpers/fleet.ts';
import { startPanelWorld, type PanelWorld } from '../helpers/hosting-panel.ts';
import { requireChromium, SHOTS, launchChromium } from './harness.ts';
import { loginToClientArea, startWhmcsClientArea, type WhmcsClientArea } from './whmcs-client-harness.ts';

const ID = 9601;
const DOMAIN = 'hpdns9601.example';
const EMAIL = 'dns-owner@example.com';
const LOGIN = 'Client-Login-Dns-5';
const MARKUP = '<script>window.__pwned=1</script><b>bold</b>';

describe('the customer\'s DNS tab in the WHMCS client area, on ns1 and PowerDNS (mysql)', () => {
  let world: PanelWorld;
  let whmcs: WhmcsClientArea;
  let browser: Browser;
  let page: Page;
  const seen: string[] = [];
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  const dnsTab = () => `${whmcs.url}/clientarea.php?action=productdetails&id=${ID}&hbtab=dns`;
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `hosting-panel-dns-${name}.png`), fullPage: true });
  const result = async () => (await page.locator('#module-result').textContent())?.trim() ?? '';
  /** ns1's records of the zone, "name TYPE value". */
  const onNs1 = () => [...(nodeSummary(world.fleet).ns1!.records[DOMAIN] ?? [])].sort();
  const stored = async () => (await world.tdb.db(T.zoneRecords).where('service_id', world.svc.id).orderBy('id').select('name', 'type', 'value')).map((r) => `${r.name} ${r.type} ${r.value}`);
  const ownRow = (name: string, type: string) => page.locator('tr.hp-dns-own').filter({ has: page.locator('td.hp-dns-name', { hasText: new RegExp(`^${name}$`) }) }).filter({ has: page.locator('td.hp-dns-type', { hasText: new RegExp(`^${type}$`) }) });
  const pwned = () => page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned);
  const settled = async () => {
    await waitFor('the panel to show no action in progress', async () => {
      try {
        return (await page.getAttribute('.hp-panel', 'data-busy', { timeout: 500 })) === '0';
      } catch {
        return false; // between two documents
      }
    }, 40_000, 200);
  };
  /** Fills the new-record form (values set past maxlength, as a forged form would) and submits it. */
  const add = async (f: { name: string; type: string; value: string; priority?: string; ttl?: string }) => {
    await page.goto(dnsTab());
    await page.$eval('#hp-dns-new-name', (el, v) => { (el as HTMLInputElement).value = v; }, f.name);
    await page.selectOption('#hp-dns-new-type', f.type);
    await page.fill('#hp-dns-new-priority', f.priority ?? '');
    await page.$eval('#hp-dns-new-value', (el, v) => { (el as HTMLInputElement).value = v; }, f.value);
    await page.fill('#hp-dns-new-ttl', f.ttl ?? '');
    await page.click('#hp-dns-submit');
    return result();
  };

  before(async () => {
    requireChromium();
    fs.mkdirSync(SHOTS, { recursive: true });
    world = await startPanelWorld('mysql', 'hb-hpanel-dns-ui-', { web: 1, mail: 1, dns: 1, combo: 0, pdns: true }, ID, {
      service: { domain: DOMAIN, client_id: 7 }, hostingPlan: { name: 'dns-five', dns: { records: 5 } }, configOptions: { configoption16: 'dns-five' },
    });
    assert.deepEqual([...world.svc.plan!.placement.dns].sort(), [world.reg.ids.ns1!, world.reg.pdns!].sort(), 'the zone is on ns1 and PowerDNS');
    resolver.setServers([`127.0.0.1:${world.fleet.pdns!.server.dnsPort}`]);
    whmcs = await startWhmcsClientArea({
      daemonUrl: world.daemon.url, secret: TEST_SECRET,
      clients: [{ id: 7, email: EMAIL, password: LOGIN, firstname: 'Olivia' }],
      services: [{ id: ID, userid: 7, packageid: 3, domain: DOMAIN, domainstatus: 'Active' }],
      products: [{ id: 3, name: 'Hosting split', configoption1: 'split' }],
    });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1300, height: 900 } })).newPage();
    page.setDefaultTimeout(10_000);
    page.on('request', (req) => seen.push(req.url()));
    await loginToClientArea(page, whmcs.url, EMAIL, LOGIN);
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await whmcs?.close();
    await world?.close();
  });

  test('the DNS tab: both servers published, the managed records read-only, none of the customer\'s', async () => {
    await page.goto(dnsTab());
    if (await page.locator('#hp-dns').count() === 0) {
      throw new Error(`no DNS tab on the page:\n${(await page.innerText("body")).slice(0, 6000)}\n${JSON.stringify(whmcs.moduleLog()).slice(-3000)}\n${whmcs.output().slice(-2000)}`);
    }
    await settled();
    assert.ok((await page.locator('.hp-panel .hb-tabs a').allTextContents()).includes('DNS'));
    assert.equal(await page.locator('.hp-panel').getAttribute('data-tab'), 'hp-dns');
    assert.deepEqual((await page.locator('#hp-dns-servers .hp-dns-server').allTextContents()).sort(), ['ns1: published', 'pdns: published']);
    assert.equal((await page.locator('#hp-dns-limit').textContent())?.trim(), '0 of 5 in use');
    const managed = (await page.locator('tr.hp-dns-managed').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-managed')))).sort();
    assert.ok(managed.includes('@ A') && managed.includes('www CNAME') && managed.includes('_dmarc TXT'), managed.join(', '));
    // Read-only: no form, field or button in a managed row, and each says so.
    assert.equal(await page.locator('tr.hp-dns-managed form, tr.hp-dns-managed input, tr.hp-dns-managed button').count(), 0);
    assert.equal(await page.locator('tr.hp-dns-managed', { hasText: 'managed by your hosting (read-only)' }).count(), managed.length);
    assert.equal(await page.locator('tr.hp-dns-own').count(), 0);
    await shot('tab');
  });

  test('the customer adds an A record and watches the progress, then a TXT record; both are on ns1 and PowerDNS', async () => {
    // Slowed, every node and PowerDNS call takes a while: the page is seen while the chain runs.
    world.fleet.setLatency(400);
    try {
      assert.equal(await add({ name: 'app', type: 'A', value: '192.0.2.77', ttl: '600' }), 'Action completed successfully');
      assert.equal(await page.getAttribute('.hp-panel', 'data-busy'), '1', 'the change still runs when the page comes back');
      assert.match((await page.locator('#hb-progress').textContent()) ?? '', /a DNS record being added/);
      assert.equal(await page.locator('#hb-progress').count(), 1);
      assert.match((await page.locator('#hp-dns-change').textContent()) ?? '', /^Adding app A 192\.0\.2\.77: waiting for every DNS server/);
      assert.equal(await page.locator('fieldset.hp-forms').getAttribute('disabled'), '');
      assert.ok(await page.locator('#hp-dns-submit').isDisabled(), 'the new-record form is off');
      await shot('progress');
      await waitFor('a progress poll through HostingLive', async () => seen.some((u) => u.includes('a=HostingLive')), 15_000, 100);
    } finally {
      world.fleet.setLatency(0);
    }
    await settled();
    assert.equal(await add({ name: 'verify', type: 'TXT', value: 'site-verification=ui-9601' }), 'Action completed successfully');
    await settled();
    await page.goto(dnsTab());
    for (const [name, type, value] of [['app', 'A', '192.0.2.77'], ['verify', 'TXT', 'site-verification=ui-9601']] as const) {
      const row = ownRow(name, type);
      assert.equal(await row.count(), 1, `${name} ${type} listed`);
      assert.equal(await row.locator('td.hp-dns-value').textContent(), value);
      assert.deepEqual((await row.locator('td.hp-dns-state span').allTextContents()).sort(), ['ns1: published', 'pdns: published']);
      assert.equal(await row.locator('form.hp-dns-edit').count(), 1, 'the customer\'s own record can be changed');
    }
    assert.equal(await ownRow('app', 'A').locator('td.hp-dns-ttl').textContent(), '600');
    assert.equal((await page.locator('#hp-dns-limit').textContent())?.trim(), '2 of 5 in use');
    assert.deepEqual(await stored(), ['app A 192.0.2.77', 'verify TXT site-verification=ui-9601']);
    const ns1 = onNs1();
    assert.ok(ns1.includes('app A 192.0.2.77'), ns1.join('\n'));
    assert.ok(ns1.some((l) => /^verify TXT "?site-verification=ui-9601"?$/.test(l)), ns1.join('\n'));
    assert.deepEqual(await resolver.resolve4(`app.${DOMAIN}`), ['192.0.2.77']);
    assert.deepEqual(await resolver.resolveTxt(`verify.${DOMAIN}`), [['site-verification=ui-9601']]);
    await shot('records');
  });

  test('hostile values are refused naming the field; markup in a TXT value stays inert text', async () => {
    const before = { ns1: onNs1(), rows: await stored() };
    const hostile: Array<[{ name: string; type: string; value: string }, RegExp]> = [
      [{ name: '--flag', type: 'A', value: '192.0.2.8' }, /^name: "--flag": labels are letters/],
      [{ name: '<img src=x onerror=window.__pwned=2>', type: 'A', value: '192.0.2.8' }, /^name: /],
      [{ name: 'іnfo', type: 'A', value: '192.0.2.8' }, /^name: /], // a Cyrillic "і"
      [{ name: 'a'.repeat(300), type: 'A', value: '192.0.2.8' }, /^name: .*longer than 253 characters/],
      [{ name: 'q', type: 'TXT', value: 'x"; v-delete-user admin; "' }, /^value: .*must not contain/],
      [{ name: 'q', type: 'TXT', value: 'it\'s "quoted"' }, /^value: .*must not contain/],
      [{ name: 'q', type: 'A', value: '1'.repeat(300) }, /^value: .*is not an IPv4 address/],
      [{ name: 'q', type: 'CNAME', value: 'іnfo.example' }, /^value: .*printable ASCII/],
    ];
    for (const [f, re] of hostile) {
      const r = await add(f);
      assert.match(r, re, JSON.stringify(f).slice(0, 120));
      assert.equal(await pwned(), undefined);
      assert.equal(await page.locator('.hp-panel script').count(), 1, 'only the panel script');
      assert.equal(await page.locator('.hp-panel img').count(), 0, 'no markup from the value');
    }
    await shot('refused');
    assert.deepEqual(await stored(), before.rows, 'nothing saved');
    assert.deepEqual(onNs1(), before.ns1, 'ns1 unchanged');
    // DNS allows markup in a TXT value: it is kept, published as the same text, and shown as text.
    assert.equal(await add({ name: 'markup', type: 'TXT', value: MARKUP }), 'Action completed successfully');
    await settled();
    await page.goto(dnsTab());
    const row = ownRow('markup', 'TXT');
    assert.equal(await row.locator('td.hp-dns-value').textContent(), MARKUP);
    assert.equal(await row.locator('td.hp-dns-value script, td.hp-dns-value b').count(), 0, 'no element made from the value');
    assert.equal(await row.locator('form.hp-dns-edit input[name="hbf_value"]').inputValue(), MARKUP);
    assert.equal(await pwned(), undefined);
    assert.equal(await page.locator('.hp-panel script').count(), 1, 'only the panel script');
    assert.deepEqual(await resolver.resolveTxt(`markup.${DOMAIN}`), [[MARKUP]]);
    // A 300-character TXT value (allowed) is kept whole, and it and the DKIM key stay inside the panel.
    const long = `v=${'x'.repeat(298)}`;
    assert.equal(await add({ name: 'long', type: 'TXT', value: long }), 'Action completed successfully');
    await settled();
    await page.goto(dnsTab());
    assert.equal(await ownRow('long', 'TXT').locator('td.hp-dns-value').textContent(), long);
    const widths = await page.$eval('#hp-dns', (el) => ({ box: el.clientWidth, table: el.querySelector('#hp-dns-list')!.scrollWidth }));
    assert.ok(widths.table <= widths.box, `the records table (${widths.table}px) overflows the panel (${widths.box}px)`);
    assert.deepEqual((await resolver.resolveTxt(`long.${DOMAIN}`)).map((parts) => parts.join('')), [long]);
    assert.equal(await pwned(), undefined);
    await shot('inert');
  });

  test('an SRV record with a non-zero weight is published on ns1 and answered by PowerDNS', async () => {
    // HestiaCP refuses "weight port target" whenever the weight is not 0; hostbridge sends it "priority weight port target".
    assert.equal(await add({ name: '_sip._tcp', type: 'SRV', value: '5 5060 sip.other.example', priority: '10' }), 'Action completed successfully');
    await settled();
    await page.goto(dnsTab());
    const row = ownRow('_sip._tcp', 'SRV');
    assert.equal(await row.locator('td.hp-dns-value').textContent(), '5 5060 sip.other.example');
    assert.deepEqual((await row.locator('td.hp-dns-state span').allTextContents()).sort(), ['ns1: published', 'pdns: published']);
    assert.ok(onNs1().includes('_sip._tcp SRV 5 5060 sip.other.example.'), onNs1().join('\n'));
    assert.deepEqual(await resolver.resolveSrv(`_sip._tcp.${DOMAIN}`), [{ name: 'sip.other.example', port: 5060, priority: 10, weight: 5 }]);
    await shot('srv');
  });

  test('the browser only talked to WHMCS', () => {
    const daemonHost = new URL(world.daemon.url).host;
    assert.ok(!seen.some((u) => u.includes(daemonHost)), 'the browser reached the daemon');
  });
});
