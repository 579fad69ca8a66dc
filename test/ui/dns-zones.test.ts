// The DNS Zones page in Debian's Chromium: two Split services deployed over the emulated fleet
// (a HestiaCP DNS node and the real PowerDNS) are listed with their state on each DNS server and
// their record count; the zone of one is deleted from PowerDNS by hand, and its Redeploy queues
// republishing it on every DNS server of its service as tasks, which put it back. A suspended
// service's zone shows suspended on each server. The server and state filters narrow the list; the
// page works inside WHMCS; a leftover of a force terminate is marked cleaned up.
// Screenshot: test-artifacts/screenshots/dns-zones.png.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { call, createBody } from '../helpers/api.ts';
import { DIALECTS, waitFor } from '../helpers/db.ts';
import { T } from '../../daemon/common/tables.ts';
import { startUi, type UiHarness } from './harness.ts';

const A = 6701;
const B = 6702;
const zoneOf = (id: number) => `shop${id}.example.com`;

for (const dialect of DIALECTS) {
  describe(`the DNS Zones page in Chromium (${dialect})`, () => {
    let h: UiHarness;
    let a: Page;
    const db = () => h.tdb.db;
    /** Per-server states of a zone's row on the page, as "server: state". */
    const states = async (id: number) => a.locator(`#dns-zones tr[data-service="${id}"] .zone-server`)
      .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-server')}: ${e.getAttribute('data-state')}`));
    const pdnsApi = (method: string, path: string) => fetch(`${h.fleet.pdns!.server.url}/api/v1/servers/localhost${path}`, { method, headers: { 'X-API-Key': h.fleet.pdns!.server.apiKey } });

    before(async () => {
      h = await startUi(dialect);
      for (const id of [A, B]) {
        const r = await call(h.url, 'POST', '/v1/services', createBody(id, h.reg.groupId));
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      await waitFor('both deployments to succeed', async () => Number((await db()(`${T.chains} as c`).join(`${T.services} as s`, 's.id', 'c.service_id')
        .whereIn('s.whmcs_service_id', [A, B]).where({ 'c.operation': 'deploy', 'c.state': 'succeeded' }).count({ n: '*' }))[0]!.n) === 2, 90_000, 100);
      a = await (await h.context()).newPage();
      a.on('dialog', (d) => { void d.dismiss(); assert.fail(`a dialog opened: ${d.message()}`); });
      await a.goto(await h.link({ audience: 'admin', page: 'overview' }));
      await a.waitForURL('**/ui/admin');
      await a.click('nav a:text("DNS Zones")');
      await a.waitForURL('**/ui/admin/dns-zones');
    });
    after(async () => { await h?.close(); });

    test('both services\' zones are listed with their state on each DNS server and their record count', async () => {
      assert.equal(await a.locator('nav a[aria-current="page"]').textContent(), 'DNS Zones');
      const ns = h.fleet.dns[0]!.name;
      for (const id of [A, B]) {
        const row = a.locator(`#dns-zones tr[data-service="${id}"]`);
        assert.equal(await row.locator('.zone').textContent(), zoneOf(id));
        assert.deepEqual(await states(id), [`${ns}: published`, 'pdns: published']);
        const held = await db()(T.dnsZones).join(T.services, `${T.services}.id`, `${T.dnsZones}.service_id`).where(`${T.services}.whmcs_service_id`, id).max({ n: 'records' });
        assert.equal(await row.locator('.records').textContent(), String(held[0]!.n));
        assert.ok(Number(held[0]!.n) >= 5, 'a split zone holds its NS, A, MX, SPF and DKIM records');
        assert.match(await row.locator('.updated').textContent() ?? '', /UTC$/);
      }
    });

    test('Redeploy of one zone queues its republishing on every DNS server as tasks, which put the zone back', async () => {
      assert.equal((await pdnsApi('DELETE', `/zones/${zoneOf(A)}.`)).status, 204, 'the zone is deleted from PowerDNS by hand');
      assert.equal((await pdnsApi('GET', `/zones/${zoneOf(A)}.`)).status, 404);
      await a.click(`#dns-zones tr[data-service="${A}"] button.redeploy`);
      await a.waitForURL('**/ui/admin/dns-zones');
      const flash = await a.locator('.flash').innerText();
      const run = /Zone shop6701\.example\.com \(service 6701\): republishing on 2 DNS server\(s\) queued as run #(\d+)\./.exec(flash);
      assert.ok(run, flash);
      const chain = await db()(T.chains).where('id', Number(run![1])).first('operation', 'service_id');
      assert.equal(chain.operation, 'dns-redeploy-zone');
      const svcB = await db()(T.services).where('whmcs_service_id', B).first('id');
      await waitFor('the redeploy to finish', async () => (await db()(T.chains).where('id', Number(run![1])).first('state'))?.state === 'succeeded' ? true : null, 60_000, 100);
      const tasks = await db()(T.tasks).where('chain_id', Number(run![1])).orderBy('step_no').select('type', 'target', 'status');
      assert.deepEqual(tasks.map((t) => `${t.type} ${t.status}`), ['dns.zone succeeded', 'dns.zone succeeded']);
      assert.deepEqual(tasks.map((t) => t.target).sort(), [`server:${h.reg.ids[h.fleet.dns[0]!.name]}`, `server:${h.reg.pdns}`].sort());
      assert.equal(await db()(T.tasks).where('service_id', svcB.id).where('operation', 'dns-redeploy-zone').first('id'), undefined, 'the other zone is left alone');
      assert.equal((await pdnsApi('GET', `/zones/${zoneOf(A)}.`)).status, 200, 'PowerDNS holds the zone again');
      await a.goto(`${h.url}/ui/admin/dns-zones`);
      assert.deepEqual(await states(A), [`${h.fleet.dns[0]!.name}: published`, 'pdns: published']);
      // The row links to the service's tasks.
      assert.equal(await a.locator(`#dns-zones tr[data-service="${A}"] a:text("Tasks")`).getAttribute('href'), `/ui/admin/tasks?service=${A}`);
    });

    test('a suspended service\'s zone shows suspended on each DNS server, and its Redeploy is refused with the reason', async () => {
      const r = await call(h.url, 'POST', `/v1/services/${B}/suspend`, { reason: 'Overdue on Payment' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitFor('the suspend to finish', async () => (await db()(T.chains).where('id', r.body.chain_id).first('state'))?.state === 'succeeded' ? true : null, 60_000, 100);
      await a.goto(`${h.url}/ui/admin/dns-zones`);
      assert.deepEqual(await states(B), [`${h.fleet.dns[0]!.name}: suspended`, 'pdns: suspended']);
      assert.deepEqual(await states(A), [`${h.fleet.dns[0]!.name}: published`, 'pdns: published']);
      await h.shot(a, 'dns-zones');
      await a.click(`#dns-zones tr[data-service="${B}"] button.redeploy`);
      await a.waitForURL('**/ui/admin/dns-zones');
      assert.match(await a.locator('.flash').innerText(), /service 6702 is suspended, and so is its zone: unsuspend it first/);
    });

    test('the server and state filters narrow the list; a bad filter value is ignored', async () => {
      await a.selectOption('#zone-filter select[name="server"]', { label: 'pdns' });
      await a.selectOption('#zone-filter select[name="state"]', 'published');
      await a.click('#zone-filter button[type="submit"]');
      await a.waitForURL(`**/ui/admin/dns-zones?server=${h.reg.pdns}&state=published`);
      assert.deepEqual(await a.locator('#dns-zones tr[data-service]').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-service'))), [String(A)]);
      await a.goto(`${h.url}/ui/admin/dns-zones?state=suspended`);
      assert.deepEqual(await a.locator('#dns-zones tr[data-service]').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-service'))), [String(B)]);
      await a.goto(`${h.url}/ui/admin/dns-zones?state=failed`);
      assert.equal(await a.locator('#dns-zones tr[data-service]').count(), 0);
      assert.match(await a.locator('#dns-zones tbody').innerText(), /No zones match/);
      await a.goto(`${h.url}/ui/admin/dns-zones?state=<b>&server=x`);
      assert.equal(await a.locator('#dns-zones tr[data-service]').count(), 2);
    });

    test('inside WHMCS (the addon\'s POST /v1/admin/pages): the page, its filter and a Redeploy run as the WHMCS admin', async () => {
      const ask = (body: Record<string, unknown>) => call(h.url, 'POST', '/v1/admin/pages', { admin: { id: 7, username: 'jane' }, ...body });
      const r = await ask({ page: 'dns-zones', query: `module=hostbridge&page=dns-zones&server=${h.reg.pdns}` });
      assert.equal(r.body.status, 200, String(r.body.html).slice(0, 600));
      const html = String(r.body.html);
      assert.match(html, /<div class="hostbridge-ui">/);
      assert.doesNotMatch(html, /(href|action)="\/ui/);
      assert.doesNotMatch(html, /<script/i);
      assert.match(html, /<a href="addonmodules.php\?module=hostbridge&amp;page=dns-zones" aria-current="page">DNS Zones<\/a>/);
      assert.match(html, new RegExp(`action="addonmodules.php\\?module=hostbridge&amp;page=dns-zones/${B}/redeploy"`));
      const post = await ask({ method: 'POST', page: `dns-zones/${A}/redeploy`, form: 'token=t' });
      assert.deepEqual(post.body, { ok: true, status: 303, location: 'addonmodules.php?module=hostbridge&page=dns-zones' });
      const svcA = await db()(T.services).where('whmcs_service_id', A).first('id');
      const chain = await db()(T.chains).where({ service_id: svcA.id, operation: 'dns-redeploy-zone' }).orderBy('id', 'desc').first('id');
      assert.ok(chain, 'the redeploy of A is queued');
      await waitFor('A\'s redeploy to finish', async () => (await db()(T.chains).where('id', chain.id).first('state'))?.state === 'succeeded' ? true : null, 60_000, 100);
      const actions = await db()('mod_hostbridge_admin_actions').orderBy('id', 'desc').first('actor', 'message');
      assert.equal(actions.actor, 'WHMCS admin jane (#7)');
      assert.match(actions.message, /Zone shop6701\.example\.com \(service 6701\): republishing on 2 DNS server\(s\) queued as run #\d+\./);
    });

    test('a leftover of a force terminate is listed until it is marked cleaned up', async () => {
      const [id] = await db()(T.leftovers).insert({ whmcs_service_id: 6799, domain: 'gone.example.com', role: 'dns', server_id: 99, server: 'ns-dead', account: 'gone_dns', created_at: Date.now() });
      await a.goto(`${h.url}/ui/admin/dns-zones`);
      const row = a.locator(`#leftover-list tr[data-leftover]`);
      assert.equal(await row.count(), 1);
      assert.match(await row.innerText(), /#6799\s+gone\.example\.com\s+dns gone_dns\s+ns-dead/);
      await row.locator('button').click();
      await a.waitForURL('**/ui/admin/dns-zones');
      assert.match(await a.locator('.flash').innerText(), /Marked cleaned up: dns gone_dns of gone\.example\.com on ns-dead\./);
      assert.equal(await a.locator('#leftover-list tr[data-leftover]').count(), 0);
      const kept = await db()(T.leftovers).where('id', Number(id)).first('cleaned_at', 'cleaned_by');
      assert.ok(Number(kept.cleaned_at) > 0);
      assert.match(String(kept.cleaned_by), /admin/);
    });
  });
}
