// The Operation Log in Debian's Chromium: two Split services are deployed over the emulated fleet,
// the admin cleans the whole finished queue from the Task Queue page, and the log still lists both
// deployments; filtered by one service it shows only that service's chain and attempts, the
// filters stay in the tab links, the server filter narrows it to one server, a bad filter gets a
// clear message (a 400, not a 500), and the same filtered page works inside WHMCS (the addon).
// Screenshot: test-artifacts/screenshots/operation-log.png.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { call, createBody } from '../helpers/api.ts';
import { DIALECTS, waitFor } from '../helpers/db.ts';
import { setAdminPassword } from '../../daemon/pages/auth.ts';
import { T } from '../../daemon/common/tables.ts';
import { startUi, type UiHarness } from './harness.ts';

const ADMIN_PASSWORD = 'oplog-admin-horse-battery';
const A = 6101;
const B = 6102;

for (const dialect of DIALECTS) {
  describe(`the Operation Log in Chromium (${dialect})`, () => {
    let h: UiHarness;
    let a: Page;
    const db = () => h.tdb.db;

    before(async () => {
      h = await startUi(dialect);
      await setAdminPassword(db(), ADMIN_PASSWORD);
    });
    after(async () => {
      await h?.close();
    });

    /** The log's rows as [service, kind, server] (service '' for none). */
    const rows = async () => a.locator('#log tbody tr').evaluateAll((trs) => trs.map((tr) => {
      const cells = [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim());
      return { service: tr.getAttribute('data-service') ?? '', kind: cells[1] ?? '', what: cells[3] ?? '', server: cells[5] ?? '', text: cells.join(' | ') };
    }));

    test('after a queue clean-up the admin filters the log by one service and sees only its entries', async () => {
      for (const id of [A, B]) {
        const r = await call(h.url, 'POST', '/v1/services', createBody(id, h.reg.groupId));
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      const deployed = async () => Number((await db()(`${T.chains} as c`).join(`${T.services} as s`, 's.id', 'c.service_id')
        .whereIn('s.whmcs_service_id', [A, B]).where({ 'c.operation': 'deploy', 'c.state': 'succeeded' }).count({ n: '*' }))[0]!.n);
      await waitFor('both deployments to succeed', async () => (await deployed()) === 2, 90_000, 100);

      const ctx = await h.context();
      a = await ctx.newPage();
      a.on('dialog', (d) => { void d.dismiss(); assert.fail(`a dialog opened: ${d.message()}`); });
      await a.goto(`${h.url}/ui/login`);
      await a.fill('input[name=password]', ADMIN_PASSWORD);
      await a.click('button[type=submit]');
      await a.waitForURL('**/ui/admin');

      // The admin cleans every finished task from the queue (older than 0 days).
      await a.goto(`${h.url}/ui/admin/tasks`);
      await a.fill('#clean input[name=days]', '0');
      await a.click('#clean button');
      assert.match(await a.locator('.flash').innerText(), /Cleaned \d+ finished task\(s\) older than 0 day\(s\)/);
      const left = await db()(`${T.tasks} as t`).join(`${T.services} as s`, 's.id', 't.service_id').whereIn('s.whmcs_service_id', [A, B]).where('t.operation', 'deploy').count({ n: '*' });
      assert.equal(Number(left[0]!.n), 0, 'the queue holds none of the two deployments\' tasks any more');
      assert.equal(Number((await db()(T.chains).join(T.services, `${T.services}.id`, `${T.chains}.service_id`).whereIn(`${T.services}.whmcs_service_id`, [A, B]).where(`${T.chains}.operation`, 'deploy').count({ n: '*' }))[0]!.n), 0);

      // The log still lists both deployments, and the clean-up itself with who did it.
      await a.goto(`${h.url}/ui/admin/log?kind=chains`);
      const chains = await rows();
      for (const id of [A, B]) {
        assert.ok(chains.some((r) => r.service === String(id) && r.kind === 'operation' && /deploy/.test(r.what) && /succeeded/.test(r.text)), `service ${id}'s deploy chain is listed:\n${chains.map((r) => r.text).join('\n')}`);
      }
      await a.goto(`${h.url}/ui/admin/log`);
      const all = await rows();
      assert.ok(all.some((r) => r.kind === 'admin action' && /Cleaned \d+ finished task/.test(r.text) && /daemon admin/.test(r.text)), all.map((r) => r.text).join('\n'));

      // Filter by service A through the form.
      await a.fill('#log-filters input[name=service]', String(A));
      await a.click('#log-filters button[type=submit]');
      // The empty server choice travels too (server=): the page reads it as any server.
      await a.waitForURL((u) => u.pathname === '/ui/admin/log' && u.searchParams.get('service') === String(A));
      const onlyA = await rows();
      assert.ok(onlyA.length >= 6, onlyA.map((r) => r.text).join('\n'));
      assert.deepEqual([...new Set(onlyA.map((r) => r.service))], [String(A)], 'only service A\'s entries');
      assert.ok(onlyA.some((r) => r.kind === 'operation' && /chain #\d+ deploy/.test(r.what)) && onlyA.some((r) => r.kind === 'attempt'));
      assert.ok(!(await a.locator('#log').innerText()).includes(`shop${B}.example.com`));
      await h.shot(a, 'operation-log');

      // The kind tabs keep the filter.
      assert.equal(await a.locator('nav.tabs a', { hasText: 'Task attempts' }).getAttribute('href'), `/ui/admin/log?kind=attempts&service=${A}`);
      await a.click('nav.tabs a:has-text("Task attempts")');
      await a.waitForURL(`**/ui/admin/log?kind=attempts&service=${A}`);
      const attempts = await rows();
      assert.ok(attempts.length >= 5 && attempts.every((r) => r.kind === 'attempt' && r.service === String(A)));

      // And the server filter narrows it to the web server's attempts.
      const web = h.reg.names[h.reg.web[0]!]!;
      await a.selectOption('#log-filters select[name=server]', { label: web });
      await a.click('#log-filters button[type=submit]');
      await a.waitForURL((u) => u.searchParams.get('kind') === 'attempts' && u.searchParams.get('service') === String(A) && u.searchParams.get('server') === String(h.reg.web[0]));
      const onWeb = await rows();
      assert.ok(onWeb.length >= 1, 'the web server ran some of A\'s steps');
      assert.deepEqual([...new Set(onWeb.map((r) => `${r.service} ${r.server}`))], [`${A} ${web}`]);
      assert.ok(onWeb.length < attempts.length, 'the other servers\' attempts are left out');

      // A bad filter value is named, with a 400, not a 500.
      const bad = await a.goto(`${h.url}/ui/admin/log?service=shop&server=nowhere`);
      assert.equal(bad!.status(), 400);
      const problems = await a.locator('#log-problems').innerText();
      assert.match(problems, /service must be a WHMCS service id/);
      assert.match(problems, /server must be a server's id or a Proxmox node/);
      assert.equal(await a.locator('#log tbody tr td').first().innerText(), '—');
      await ctx.close();

      // Inside WHMCS (the addon): the same filtered page, its form and links pointing at the addon.
      const embedded = await call(h.url, 'POST', '/v1/admin/pages', { admin: { id: 7, username: 'jane' }, page: 'log', query: `module=hostbridge&page=log&service=${B}` });
      assert.equal(embedded.status, 200);
      assert.equal(embedded.body.status, 200);
      const html = String(embedded.body.html);
      assert.match(html, /<form method="get" action="addonmodules.php" class="row card" id="log-filters"><input type="hidden" name="module" value="hostbridge"><input type="hidden" name="page" value="log">/);
      assert.ok(html.includes(`href="addonmodules.php?module=hostbridge&amp;page=log&amp;kind=chains&amp;service=${B}"`), 'the tabs keep the filter in the addon');
      assert.ok(html.includes(`data-service="${B}"`) && !html.includes(`data-service="${A}"`));
    });
  });
}
