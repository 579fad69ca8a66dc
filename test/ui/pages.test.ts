// The pages in Debian's Chromium (playwright-core): a customer watches a real Split deployment over
// the emulated fleet from queued to done and lands on the service panel, and gets Try again after
// a failure; an admin logs in, adds a server (whose credential is never shown back), retries a
// failed task, force-fails stuck ones and reads a task's log; hostile names render as text on
// every page; POSTs without the CSRF token and expired, tampered or reused links are refused.
// A screenshot of each page is kept under test-artifacts/screenshots/.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { call, createBody } from '../helpers/api.ts';
import { TEST_SECRET } from '../helpers/daemon.ts';
import { DIALECTS, waitFor } from '../helpers/db.ts';
import { enqueueChain } from '../../daemon/engine/chains.ts';
import { forceFailTask } from '../../daemon/engine/sql/force-fail.ts';
import { setAdminPassword } from '../../daemon/pages/auth.ts';
import { signLink } from '../../daemon/pages/links.ts';
import { TEMPLATE_DIR } from '../../daemon/pages/render.ts';
import { startUi, type UiHarness } from './harness.ts';

const ADMIN_PASSWORD = 'correct-horse-battery-staple';
const SERVER_PASSWORD = 'S3rver-Pa55word-never-shown';
const HOSTILE = '<script>window.__xss=1</script>';
const HOSTILE_IMG = '<img src=x onerror="window.__xss=2">';

for (const dialect of DIALECTS) {
  describe(`the pages in Chromium (${dialect})`, () => {
    let h: UiHarness;
    let admin: BrowserContext;
    let a: Page;
    const db = () => h.tdb.db;
    const SPLIT = 5001;
    const BROKEN = 5002;

    before(async () => {
      h = await startUi(dialect);
      await setAdminPassword(db(), ADMIN_PASSWORD);
    });
    after(async () => {
      await h?.close();
    });

    /** Fails the test on any dialog (an injected script would raise one) and records page errors. */
    function guard(page: Page): void {
      page.on('dialog', (d) => { void d.dismiss(); assert.fail(`a dialog opened: ${d.message()}`); });
    }

    async function noXss(page: Page, where: string): Promise<void> {
      assert.equal(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined, `a hostile value ran as script on ${where}`);
      assert.equal(await page.locator('main script').count() <= 1, true, `unexpected script elements on ${where}`);
    }

    /** #steps (of the page, or of served HTML) as elements, attributes (sorted), list numbers and text: its structure. */
    async function stepsStructure(page: Page, html?: string): Promise<string> {
      return page.evaluate(`((html) => {
        const doc = html === null ? document : new DOMParser().parseFromString(html, 'text/html');
        const walk = (n) => n.nodeType === 3 ? n.textContent : n.nodeType !== 1 ? '' :
          '<' + n.tagName + [...n.attributes].map((x) => ' ' + x.name + '=' + x.value).sort().join('') + (n.tagName === 'LI' ? ' #' + n.value : '') + '>' +
          [...n.childNodes].map(walk).join('') + '</' + n.tagName + '>';
        return walk(doc.getElementById('steps'));
      })(${JSON.stringify(html ?? null)})`);
    }

    /**
     * A Split deployment's deploy page shows its steps in parallel lanes side by side: the web
     * server's steps in a lane titled by it, the mail server's in one titled by it, each DNS server's
     * zone in a lane that names that server, at least 3 lanes; every step once, numbered from 1.
     */
    async function splitLanes(page: Page, chainId: number): Promise<void> {
      const tasks = await db()('mod_hostbridge_tasks').where('chain_id', chainId).orderBy('step_no').select('step_no', 'type', 'target');
      const serverOf = (target: string | null) => (target?.startsWith('server:') ? h.reg.names[Number(target.slice(7))]! : null);
      const lanes: Array<{ title: string; steps: number[]; shown: number[] }> = await page.evaluate(`[...document.querySelectorAll('#steps.parallel section.lane')].map((l) => ({
        title: l.querySelector('.lane-title')?.textContent ?? '',
        steps: [...l.querySelectorAll('li')].map((li) => Number(li.getAttribute('data-step'))),
        shown: [...l.querySelectorAll('li')].map((li) => li.value),
      }))`);
      const seen = lanes.map((l) => `${l.title}: ${l.steps.join(',')}`).join(' | ');
      assert.ok(lanes.length >= 3, `at least 3 lanes side by side: ${seen}`);
      assert.deepEqual(lanes.flatMap((l) => l.steps).sort((a, b) => a - b), tasks.map((t) => Number(t.step_no) + 1), `every step once, numbered from 1: ${seen}`);
      for (const l of lanes) assert.deepEqual(l.shown, l.steps, `the list shows each step's own number: ${seen}`);
      const laneOf = (no: number) => lanes.find((l) => l.steps.includes(no))!;
      const web = h.reg.names[h.reg.web[0]!]!;
      const mail = h.reg.names[h.reg.mail[0]!]!;
      const webLane = lanes.find((l) => l.title === web);
      assert.ok(webLane, `a lane titled ${web}: ${seen}`);
      assert.deepEqual(webLane.steps, tasks.filter((t) => serverOf(t.target) === web).map((t) => Number(t.step_no) + 1), `the ${web} lane holds the web server's steps: ${seen}`);
      const onMail = tasks.filter((t) => serverOf(t.target) === mail).map((t) => Number(t.step_no) + 1);
      assert.ok(onMail.length >= 2 && onMail.every((n) => laneOf(n).title === mail), `the mail server's steps in a lane titled ${mail}: ${seen}`);
      const zones = tasks.filter((t) => t.type === 'dns.zone');
      assert.ok(zones.length >= 2, `a zone on each of the ${zones.length} DNS servers`);
      // One lane per server: each zone in the lane of its DNS server, alone.
      for (const z of zones) assert.deepEqual([laneOf(Number(z.step_no) + 1).title, laneOf(Number(z.step_no) + 1).steps], [serverOf(z.target)!, [Number(z.step_no) + 1]], `the zone on ${serverOf(z.target)} in a lane of its own: ${seen}`);
      // On a phone the lanes stack; on a wide screen they sit side by side.
      const corners = () => page.locator('#steps section.lane').evaluateAll((els) => els.map((e) => { const b = e.getBoundingClientRect(); return { x: Math.round(b.x), y: Math.round(b.y) }; }));
      const narrow = await corners();
      assert.ok(narrow.every((b, i) => i === 0 || (b.y > narrow[i - 1]!.y && b.x === narrow[0]!.x)), `lanes stack on a phone: ${JSON.stringify(narrow)}`);
      const size = page.viewportSize()!;
      await page.setViewportSize({ width: 1280, height: 900 });
      const wide = await corners();
      assert.ok(wide.every((b, i) => i === 0 || (b.x > wide[i - 1]!.x && b.y === wide[0]!.y)), `lanes side by side on a wide screen: ${JSON.stringify(wide)}`);
      await h.shot(page, 'customer-deploy-lanes-wide');
      await page.setViewportSize(size);
    }

    test('every template escapes: no triple braces anywhere in templates/views (pages and WHMCS fragments)', () => {
      const files = (fs.readdirSync(TEMPLATE_DIR, { recursive: true }) as string[]).filter((n) => n.endsWith('.hbs'));
      assert.ok(files.some((f) => f.startsWith('ui')) && files.some((f) => f.startsWith('whmcs')), `templates found: ${files.join(', ')}`);
      for (const f of files) {
        const text = fs.readFileSync(path.join(TEMPLATE_DIR, f), 'utf8');
        assert.ok(!text.includes('{{{') && !text.includes('{{&'), `${f} uses an unescaped expression`);
      }
    });

    test('a customer with a client link watches a Split deployment go from queued to done and land on the service panel', async () => {
      await h.daemon.engine.stop(2000);
      const r = await call(h.url, 'POST', '/v1/services', createBody(SPLIT, h.reg.groupId));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const ctx = await h.context({ phone: true });
      const page = await ctx.newPage();
      guard(page);
      await page.goto(await h.link({ audience: 'client', whmcs_service_id: SPLIT }));
      await page.waitForURL(`**/ui/service/${SPLIT}`);
      await page.locator('#deploy').waitFor();
      assert.match(await page.locator('h1').first().innerText(), /being deployed/);
      assert.match(await page.locator('#summary').innerText(), /^Progress: 0 of \d+ steps completed · \d+ pending/);
      assert.match(await page.locator('#now').innerText(), /\S/);
      assert.ok((await page.locator('#steps li').count()) >= 5);
      await splitLanes(page, r.body.chain_id as number);
      await h.shot(page, 'customer-deploy-queued');
      // The live update redraws the structure the server renders (nothing moves while the engine is stopped).
      const served = await (await page.request.get(`${h.url}/ui/service/${SPLIT}`)).text();
      await page.waitForResponse((res) => res.url().endsWith('/progress.json') && res.ok(), { timeout: 10_000 });
      await page.waitForTimeout(200);
      const [drawn, rendered] = [await stepsStructure(page), await stepsStructure(page, served)];
      assert.match(rendered, /lane-title/);
      assert.equal(drawn, rendered, 'the script redraws the lanes as the server renders them');
      // The token has left the address bar; the session cookie is HttpOnly and SameSite=Strict.
      assert.ok(!page.url().includes('t='));
      const cookie = (await ctx.cookies()).find((c) => c.name === 'hb_session')!;
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');

      // Each remote command takes a little while, so the page shows the deployment under way.
      h.fleet.setLatency(60);
      h.daemon.engine.start();
      await page.waitForFunction(() => /Progress: [1-9]/.test(document.getElementById('summary')?.textContent ?? ''), null, { timeout: 60_000 });
      await h.shot(page, 'customer-deploy-progress');
      await page.locator('#panel').waitFor({ timeout: 90_000 });
      h.fleet.setLatency(0);
      const panel = await page.locator('#panel').innerText();
      assert.match(panel, new RegExp(`shop${SPLIT}\\.example\\.com`));
      assert.match(panel, /active/);
      for (const role of ['web', 'mail', 'dns']) assert.match(panel, new RegExp(`\\b${role}\\b`));
      await h.shot(page, 'customer-service-panel');
      // The client link opens this service only.
      const other = await page.goto(`${h.url}/ui/service/${SPLIT + 1000}`);
      assert.equal(other!.status(), 403);
      const adminPage = await page.goto(`${h.url}/ui/admin/tasks`);
      assert.equal(adminPage!.url().endsWith('/ui/login'), true);
      await ctx.close();
    });

    test('after a failed deployment the customer gets an error screen, and Try again repairs it', async () => {
      await h.daemon.engine.stop(2000);
      const r = await call(h.url, 'POST', '/v1/services', createBody(BROKEN, h.reg.groupId));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const first = await db()('mod_hostbridge_tasks').where('chain_id', r.body.chain_id).orderBy('step_no').first('id');
      await forceFailTask(h.daemon.core.queue, Number(first.id), 'web1 unreachable (simulated)');
      h.daemon.engine.start();
      const ctx = await h.context();
      const page = await ctx.newPage();
      guard(page);
      await page.goto(await h.link({ audience: 'client', whmcs_service_id: BROKEN }));
      await page.locator('#failed').waitFor();
      await h.shot(page, 'customer-deploy-failed');
      await page.getByRole('button', { name: 'Try again' }).click();
      await page.locator('#panel').waitFor({ timeout: 90_000 });
      assert.match(await page.locator('#panel').innerText(), /active/);
      const chains = await db()('mod_hostbridge_chains').join('mod_hostbridge_services', 'mod_hostbridge_services.id', 'mod_hostbridge_chains.service_id')
        .where('mod_hostbridge_services.whmcs_service_id', BROKEN).orderBy('mod_hostbridge_chains.id').pluck('operation');
      assert.deepEqual(chains, ['deploy', 'verify-repair']);
      await ctx.close();
    });

    test('an admin logs in (a wrong password is refused)', async () => {
      admin = await h.context();
      a = await admin.newPage();
      guard(a);
      await a.goto(`${h.url}/ui/admin`);
      await a.waitForURL('**/ui/login');
      await h.shot(a, 'admin-login');
      await a.fill('input[name=password]', 'not the password');
      await a.click('button[type=submit]');
      assert.match(await a.locator('.flash-error').innerText(), /not right/);
      await a.fill('input[name=password]', ADMIN_PASSWORD);
      await a.click('button[type=submit]');
      await a.waitForURL('**/ui/admin');
      assert.match(await a.locator('h1').innerText(), /Services/);
      assert.match(await a.locator('main').innerText(), new RegExp(`#${SPLIT}`));
      await h.shot(a, 'admin-services');
    });

    test('the admin service panel: Deploy tab with timeline and Redeploy, Tasks tab', async () => {
      await a.goto(`${h.url}/ui/admin/services/${SPLIT}`);
      const deploy = await a.locator('main').innerText();
      assert.match(deploy, /Deploy status/);
      assert.match(deploy, /Timeline of chain/);
      assert.match(deploy, /Latest chains/);
      await timelineBars(a);
      await h.shot(a, 'admin-service-deploy');
      await a.goto(`${h.url}/ui/admin/services/${SPLIT}?tab=tasks`);
      const rows = await a.locator('main table tbody tr').count();
      assert.ok(rows >= 5, `${rows} task rows`);
      assert.match(await a.locator('main table').innerText(), /succeeded/);
      await h.shot(a, 'admin-service-tasks');
      await a.goto(`${h.url}/ui/admin/services/${SPLIT}`);
      await a.getByRole('button', { name: 'Redeploy (hard reset)' }).click();
      assert.match(await a.locator('.flash').innerText(), /Redeploy queued as chain #\d+/);
      await waitFor('the redeploy to finish', async () => {
        const c = await db()('mod_hostbridge_chains').where('operation', 'redeploy').first('state');
        return c && c.state === 'succeeded';
      }, 90_000, 100);
    });

    test('Infrastructure shows each server\'s groups and the CPU, RAM, disk and load its health check read', async () => {
      // A check still running from the daemon's start would keep its key, so the job below would
      // queue nothing for that server and its row would stay older than `checked`.
      await waitFor('no health check running', async () =>
        (await db()('mod_hostbridge_tasks').where('operation', 'health').whereNotNull('active_key').first()) ? null : true, 30_000);
      const checked = Date.now();
      const r = await h.daemon.core.scheduler.runNow('check-servers', () => {});
      assert.equal(r.result, 'ok', r.message);
      await waitFor('every server checked', async () => {
        const rows = await db()('mod_hostbridge_server_health').where('checked_at', '>=', checked);
        return rows.length === Object.keys(h.reg.ids).length || null;
      }, 30_000);
      await a.goto(`${h.url}/ui/admin/servers`);
      const mail = await a.locator('#servers tr', { hasText: 'mail1' }).innerText();
      assert.match(mail, /CPU \d+(\.\d)?% of \d+ · RAM \d+(\.\d)?% of [\d.]+ [GM]B · Disk \d+% of [\d.]+[KMGTP] · Load \d+(\.\d)?%/);
      assert.match(mail, /emulated/, 'the group column names the group');
      assert.match(await a.locator('#servers tr', { hasText: 'pdns' }).innerText(), /PowerDNS \d[\s\S]*no figures/);
    });

    /**
     * The admin timeline numbers steps from 1, its After column lists what each step waits for
     * (depends_on, numbered from 1), and each step's bar sits on one time axis: two steps that ran
     * at the same time have overlapping bars, and a step's bar starts where the steps it waits for ended.
     */
    async function timelineBars(page: Page): Promise<void> {
      const chainId = Number(/Timeline of chain #(\d+)/.exec(await page.locator('main').innerText())![1]);
      const tasks = await db()('mod_hostbridge_tasks').where('chain_id', chainId).orderBy('step_no').select('step_no', 'depends_on', 'started_at', 'finished_at');
      const rows: Array<{ no: string; after: string; bar: { left: number; right: number } | null }> = await page.locator('#timeline tbody tr').evaluateAll((trs) => trs.map((tr) => {
        const b = tr.querySelector('svg.timeline rect')?.getBoundingClientRect();
        return { no: tr.children[0]!.textContent!.trim(), after: tr.children[1]!.textContent!.trim(), bar: b ? { left: b.left, right: b.right } : null };
      }));
      assert.deepEqual(rows.map((r) => r.no), tasks.map((t) => String(Number(t.step_no) + 1)), 'the steps are numbered from 1');
      // depends_on NULL means the step before (graph.ts); stored numbers count from 0.
      const after = (t: Record<string, any>) => (t.depends_on === null ? (t.step_no > 0 ? [Number(t.step_no)] : []) : (JSON.parse(t.depends_on) as number[]).map((d) => d + 1));
      assert.deepEqual(rows.map((r) => r.after), tasks.map((t) => after(t).join(', ') || '—'), 'the After column is depends_on, numbered from 1');
      assert.ok(rows.every((r) => r.bar && r.bar.right > r.bar.left), 'every step that ran has a bar');
      // The two steps that overlapped the longest (by the engine's timestamps) overlap on the page.
      let best: [number, number, number] = [-1, -1, 0];
      for (let i = 0; i < tasks.length; i++) for (let j = i + 1; j < tasks.length; j++) {
        const o = Math.min(Number(tasks[i].finished_at), Number(tasks[j].finished_at)) - Math.max(Number(tasks[i].started_at), Number(tasks[j].started_at));
        if (o > best[2]) best = [i, j, o];
      }
      assert.ok(best[2] > 0, 'steps on different servers ran at the same time');
      const [p, q] = [rows[best[0]]!.bar!, rows[best[1]]!.bar!];
      assert.ok(p.left < q.right && q.left < p.right, `steps ${best[0] + 1} and ${best[1] + 1} ran together for ${best[2]} ms; their bars overlap: ${JSON.stringify([p, q])}`);
      tasks.forEach((t, i) => {
        for (const d of after(t)) assert.ok(rows[i]!.bar!.left >= rows[d - 1]!.bar!.right - 1, `step ${i + 1}'s bar starts after step ${d}'s ends: ${JSON.stringify([rows[d - 1]!.bar, rows[i]!.bar])}`);
      });
    }

    test('an admin adds a server; its credential is never shown back; bad input changes nothing', async () => {
      const before = (await db()('mod_hostbridge_servers').count({ n: '*' }))[0]!.n;
      await a.goto(`${h.url}/ui/admin/servers/new`);
      await h.shot(a, 'admin-server-add');
      await a.fill('input[name=name]', 'web-extra');
      await a.fill('input[name=hostname]', 'web-extra.example.net');
      await a.fill('input[name=ip]', 'not-an-ip');
      await a.fill('input[name=password]', SERVER_PASSWORD);
      await a.check('input[name=cap][value=web]');
      await a.click('#server-form button[type=submit]');
      assert.match(await a.locator('#form-error').innerText(), /^ip: .*Nothing was saved/);
      assert.equal(await a.inputValue('input[name=password]'), '');
      assert.ok(!(await a.content()).includes(SERVER_PASSWORD));
      assert.equal((await db()('mod_hostbridge_servers').count({ n: '*' }))[0]!.n, before);

      await a.fill('input[name=ip]', '192.0.2.99');
      await a.fill('input[name=password]', SERVER_PASSWORD);
      await a.click('#server-form button[type=submit]');
      await a.waitForURL('**/ui/admin/servers');
      assert.match(await a.locator('.flash').innerText(), /web-extra/);
      assert.match(await a.locator('#servers').innerText(), /web-extra/);
      await h.shot(a, 'admin-servers');
      const row = await db()('mod_hostbridge_servers').where('name', 'web-extra').first();
      assert.ok(!String(row.credential).includes(SERVER_PASSWORD), 'the credential is stored sealed');

      await a.goto(`${h.url}/ui/admin/servers/${row.id}/edit`);
      for (const f of ['password', 'api_key']) assert.equal(await a.inputValue(`input[name=${f}]`), '');
      assert.equal(await a.inputValue('textarea[name=private_key]'), '');
      assert.match(await a.locator('#credential-state').innerText(), /set \(password\).*leave these fields blank/i);
      assert.ok(!(await a.content()).includes(SERVER_PASSWORD));
      await h.shot(a, 'admin-server-edit');
      // Saving with the credential left blank keeps it.
      await a.fill('input[name=max_accounts]', '40');
      await a.click('#server-form button[type=submit]');
      await a.waitForURL('**/ui/admin/servers');
      const after = await db()('mod_hostbridge_servers').where('id', row.id).first();
      assert.equal(after.credential, row.credential);
      assert.equal(Number(after.max_accounts), 40);
      // The capability tabs.
      await a.goto(`${h.url}/ui/admin/servers?cap=mail`);
      const mail = await a.locator('#servers').innerText();
      assert.match(mail, /mail1/);
      assert.ok(!mail.includes('web-extra'));
      await h.shot(a, 'admin-servers-mail');
      await a.goto(`${h.url}/ui/admin/servers?cap=dns`);
      assert.match(await a.locator('#servers').innerText(), /pdns/);
    });

    test('server groups: list and edit', async () => {
      await a.goto(`${h.url}/ui/admin/groups`);
      assert.match(await a.locator('#groups').innerText(), /sites\.example\.net/);
      await h.shot(a, 'admin-groups');
      await a.click('#groups a:text("Edit")');
      assert.match(await a.inputValue('textarea[name=vanity_domains]'), /^sites\.example\.net mail1 provider provider$/);
      await h.shot(a, 'admin-group-edit');
      await a.fill('textarea[name=reserved_names]', 'www mail admin ftp webmail shop');
      await a.click('#group-form button[type=submit]');
      await a.waitForURL('**/ui/admin/groups');
      assert.deepEqual((await db()('mod_hostbridge_reserved_names').where('group_id', h.reg.groupId).orderBy('name').pluck('name')),
        ['admin', 'ftp', 'mail', 'shop', 'webmail', 'www']);
      // A bad vanity domain is refused and changes nothing.
      await a.click('#groups a:text("Edit")');
      await a.fill('textarea[name=vanity_domains]', 'not a domain!');
      await a.click('#group-form button[type=submit]');
      assert.match(await a.locator('#form-error').innerText(), /vanity_domains.*Nothing was saved/);
      assert.equal((await db()('mod_hostbridge_vanity_domains').where('group_id', h.reg.groupId).pluck('domain')).join(), 'sites.example.net');
    });

    test('Task Queue: retry a failed task, force-fail one, force-fail stuck ones, read a task\'s log', async () => {
      const flaky = await enqueueChain(db(), { operation: 'ui-test-flaky', steps: [{ step: 'flaky', type: 'builtin.flaky', args: { failTimes: 1, terminal: true, message: 'simulated outage' } }] });
      h.daemon.engine.wake();
      const flakyTask = await waitFor('the flaky task to fail', async () => {
        const t = await db()('mod_hostbridge_tasks').where('chain_id', flaky.chainId).first();
        return t && t.status === 'failed' ? t : null;
      }, 20_000);
      // The cause is fixed (builtin.flaky counts attempts, and a retry starts them again at 1).
      await db()('mod_hostbridge_tasks').where('id', flakyTask.id).update({ args: JSON.stringify({ failTimes: 0 }) });
      await a.goto(`${h.url}/ui/admin/tasks?status=failed`);
      await h.shot(a, 'admin-task-queue');
      await a.locator(`tr[data-task="${flakyTask.id}"] button:text("Retry")`).click();
      assert.match(await a.locator('.flash').innerText(), new RegExp(`task #${flakyTask.id} queued again`));
      await waitFor('the retried task to succeed', async () => (await db()('mod_hostbridge_tasks').where('id', flakyTask.id).first('status')).status === 'succeeded', 20_000);

      // Its log: every attempt, with its output.
      await a.goto(`${h.url}/ui/admin/tasks/${flakyTask.id}`);
      const detail = await a.locator('main').innerText();
      assert.match(detail, /Attempt 1/);
      assert.match(detail, /failing: simulated outage/);
      assert.match(detail, /succeeding on attempt 1/);
      assert.equal(await a.locator('section.attempt').count(), 2);
      await h.shot(a, 'admin-task-detail');

      // Two long tasks: one force-failed from its row, one found stuck by the bulk control.
      const long1 = await enqueueChain(db(), { operation: 'ui-test-long1', steps: [{ step: 'sleep', type: 'builtin.sleep', args: { ms: 600_000 } }] });
      const long2 = await enqueueChain(db(), { operation: 'ui-test-long2', steps: [{ step: 'sleep', type: 'builtin.sleep', args: { ms: 600_000 } }] });
      h.daemon.engine.wake();
      const [t1, t2] = await waitFor('both long tasks to run', async () => {
        const rows = await db()('mod_hostbridge_tasks').whereIn('chain_id', [long1.chainId, long2.chainId]).orderBy('chain_id');
        return rows.length === 2 && rows.every((t) => t.status === 'running') ? rows : null;
      }, 20_000);
      await a.goto(`${h.url}/ui/admin/tasks?status=running`);
      await a.locator(`tr[data-task="${t1.id}"] button:text("Force-fail")`).click();
      assert.match(await a.locator('.flash').innerText(), new RegExp(`task #${t1.id} failed`));
      assert.equal((await db()('mod_hostbridge_tasks').where('id', t1.id).first('status')).status, 'failed');
      // The second has "been running" for an hour.
      await db()('mod_hostbridge_tasks').where('id', t2.id).update({ started_at: Date.now() - 3_600_000 });
      await a.goto(`${h.url}/ui/admin/tasks`);
      await a.fill('#stuck input[name=minutes]', '30');
      await a.click('#stuck button');
      assert.match(await a.locator('.flash').innerText(), new RegExp(`Force-failed 1 stuck task\\(s\\): #${t2.id}`));
      assert.equal((await db()('mod_hostbridge_tasks').where('id', t2.id).first('status')).status, 'failed');
      // Filters.
      await a.goto(`${h.url}/ui/admin/tasks?type=builtin.sleep`);
      assert.equal(await a.locator('#tasks tbody tr').count(), 2);
      // Bulk delete of failed tasks (finished chains only), then the filter shows none.
      await a.check('#bulk-delete input[value=failed]');
      await a.click('#bulk-delete button');
      assert.match(await a.locator('.flash').innerText(), /Deleted \d+ failed task/);
      assert.equal(await a.locator('#tasks tbody tr[data-task]').count(), 0);
      // A bad number is refused and changes nothing.
      await a.goto(`${h.url}/ui/admin/tasks`);
      const count = (await db()('mod_hostbridge_tasks').count({ n: '*' }))[0]!.n;
      await a.locator('#clean input[name=days]').evaluate((el) => { (el as HTMLInputElement).type = 'text'; (el as HTMLInputElement).value = 'soon'; });
      await a.click('#clean button');
      assert.match(await a.locator('.flash-error').innerText(), /whole number.*nothing was changed/);
      assert.equal((await db()('mod_hostbridge_tasks').count({ n: '*' }))[0]!.n, count);
    });

    test('Operation Log, Statistics and Settings', async () => {
      await a.goto(`${h.url}/ui/admin/log`);
      const log = await a.locator('#log').innerText();
      assert.match(log, /deploy/);
      assert.match(log, /attempt/);
      await h.shot(a, 'admin-operation-log');
      // The hourly sync-usage job runs at the scheduler's first pass and could collect (or overwrite)
      // figures at any moment: hold it off, let any sync already queued finish, then set the figures.
      await db()('mod_hostbridge_jobs').where('name', 'sync-usage').update({ last_slot: Number.MAX_SAFE_INTEGER });
      await waitFor('queued usage syncs to finish', async () =>
        (await db()('mod_hostbridge_tasks').where('type', 'usage.sync').whereIn('status', ['queued', 'running']).count({ n: '*' }))[0].n == 0 || null, 20_000);
      const broken = await db()('mod_hostbridge_services').where('whmcs_service_id', BROKEN).first('id');
      await db()('mod_hostbridge_usage').where('service_id', broken.id).delete();
      await db()('mod_hostbridge_usage_parts').where('service_id', broken.id).delete();
      // Usage figures as a sync would write them.
      const svc = await db()('mod_hostbridge_services').where('whmcs_service_id', SPLIT).first('id');
      const now = Date.now();
      await db()('mod_hostbridge_usage').insert({ service_id: svc.id, disk_used_mb: 700, disk_limit_mb: 2048, bw_used_mb: 1500, bw_limit_mb: 10240, mailboxes: 2, databases: 1, web_domains: 1, collected_at: now })
        .onConflict('service_id').merge();
      await db()('mod_hostbridge_usage_parts').insert([
        { service_id: svc.id, server_id: h.reg.web[0], role: 'web', disk_mb: 600, bw_mb: 1500, mailboxes: 0, databases: 1, web_domains: 1, collected_at: now },
        { service_id: svc.id, server_id: h.reg.mail[0], role: 'mail', disk_mb: 100, bw_mb: 0, mailboxes: 2, databases: 0, web_domains: 0, collected_at: now },
      ]).onConflict(['service_id', 'server_id', 'role']).merge();
      await a.goto(`${h.url}/ui/admin/statistics`);
      const stats = await a.locator('#usage').innerText();
      assert.match(stats, /600 MB/);
      assert.match(stats, /700 MB \/ 2\.0 GB/);
      assert.match(stats, /not collected yet/);
      assert.match(await a.locator('.pager').innerText(), /1–2 of 2/);
      await h.shot(a, 'admin-statistics');
      // The "over a limit" filter, counted by the database.
      await a.goto(`${h.url}/ui/admin/statistics?over=1`);
      assert.match(await a.locator('#usage').innerText(), /No service is over a limit/);
      await db()('mod_hostbridge_usage').where('service_id', svc.id).update({ bw_used_mb: 12_000 });
      await a.goto(`${h.url}/ui/admin/statistics?over=1`);
      assert.match(await a.locator('#usage').innerText(), /shop5001\.example\.com[\s\S]*11\.7 GB \/ 10\.0 GB/);
      assert.match(await a.locator('nav.tabs').innerText(), /Over a limit \(1\)/);
      assert.ok(!(await a.locator('#usage').innerText()).includes('shop5002'));
      await db()('mod_hostbridge_usage').where('service_id', svc.id).update({ bw_used_mb: 1500 });

      await a.goto(`${h.url}/ui/admin/settings`);
      assert.match(await a.locator('#jobs').innerText(), /reap-expired-leases/);
      assert.match(await a.locator('main').innerText(), /whmcs\.api_secret[\s\S]*not set/);
      assert.ok(!(await a.content()).includes('admin_password_hash'));
      await h.shot(a, 'admin-settings');
      await a.fill('input[name="retry.max_attempts"]', 'lots');
      await a.fill('input[name="retry.base_ms"]', '1000');
      await a.click('#settings-form button[type=submit]');
      assert.match(await a.locator('#form-error').innerText(), /retry\.max_attempts: must be a whole number[\s\S]*Nothing was saved/);
      assert.equal(await db()('mod_hostbridge_settings').where('key', 'retry.base_ms').first(), undefined);
      await a.fill('input[name="retry.max_attempts"]', '7');
      await a.fill('input[name="whmcs.api_secret"]', 'whmcs-api-secret-value');
      await a.click('#settings-form button[type=submit]');
      assert.match(await a.locator('.flash').innerText(), /Saved 3 setting/);
      assert.equal((await db()('mod_hostbridge_settings').where('key', 'retry.max_attempts').first()).value, '7');
      assert.match(await a.locator('main').innerText(), /whmcs\.api_secret[\s\S]*?\bset\b/);
      assert.ok(!(await a.content()).includes('whmcs-api-secret-value'));
    });

    test('hostile names render as inert text on every page', async () => {
      const s = await call(h.url, 'POST', '/v1/servers', { name: HOSTILE, driver: 'hestiacp', hostname: 'evil.example.net', ip: '192.0.2.66', username: 'root', password: 'pw-evil-0123', capabilities: { web: true, dns: true } });
      assert.equal(s.status, 201, JSON.stringify(s.body));
      const g = await call(h.url, 'POST', '/v1/server-groups', { name: HOSTILE_IMG, servers: [s.body.id], dns_servers: [s.body.id] });
      assert.equal(g.status, 201, JSON.stringify(g.body));
      // Text from remote commands reaches errors and logs: a task whose error and output are hostile.
      const c = await enqueueChain(db(), { operation: 'ui-test-hostile', steps: [{ step: 'flaky', type: 'builtin.flaky', target: `server:${s.body.id}`, args: { failTimes: 1, terminal: true, message: HOSTILE_IMG + HOSTILE } }] });
      h.daemon.engine.wake();
      const t = await waitFor('the hostile task to fail', async () => {
        const row = await db()('mod_hostbridge_tasks').where('chain_id', c.chainId).first();
        return row && row.status === 'failed' ? row : null;
      }, 20_000);
      await db()('mod_hostbridge_services').where('whmcs_service_id', SPLIT).update({ username: HOSTILE });
      const pages = [
        '/ui/admin', `/ui/admin/services/${SPLIT}`, `/ui/admin/services/${SPLIT}?tab=tasks`, '/ui/admin/tasks', `/ui/admin/tasks/${t.id}`,
        '/ui/admin/servers', '/ui/admin/servers?cap=dns', `/ui/admin/servers/${s.body.id}/edit`, '/ui/admin/groups', `/ui/admin/groups/${g.body.id}/edit`,
        `/ui/admin/tasks?server=${s.body.id}`, '/ui/admin/log', '/ui/admin/statistics', '/ui/admin/settings', `/ui/service/${SPLIT}`,
      ];
      for (const p of pages) {
        const res = await a.goto(`${h.url}${p}`);
        assert.equal(res!.status(), 200, p);
        await noXss(a, p);
      }
      await a.goto(`${h.url}/ui/admin/servers`);
      assert.ok((await a.locator('#servers').innerText()).includes(HOSTILE), 'the server name shows as text');
      await a.goto(`${h.url}/ui/admin/groups`);
      assert.ok((await a.locator('#groups').innerText()).includes(HOSTILE_IMG), 'the group name shows as text');
      assert.equal(await a.locator('#groups img').count(), 0);
      await a.goto(`${h.url}/ui/admin/tasks/${t.id}`);
      assert.ok((await a.locator('pre.log').first().innerText()).includes(HOSTILE));
      await h.shot(a, 'hostile-task-detail');
    });

    test('a POST without the CSRF token (or with a wrong one) is refused with 403 and changes nothing', async () => {
      const servers = (await db()('mod_hostbridge_servers').count({ n: '*' }))[0]!.n;
      const form = { name: 'csrf-probe', driver: 'hestiacp', hostname: 'probe.example.net', ip: '192.0.2.77', username: 'root', password: 'pw-probe-0123', cap: 'web' };
      const none = await admin.request.post(`${h.url}/ui/admin/servers`, { form, maxRedirects: 0 });
      assert.equal(none.status(), 403);
      assert.match(await none.text(), /security token/);
      const wrong = await admin.request.post(`${h.url}/ui/admin/servers`, { form: { ...form, _csrf: 'x'.repeat(43) }, maxRedirects: 0 });
      assert.equal(wrong.status(), 403);
      const settings = await admin.request.post(`${h.url}/ui/admin/settings`, { form: { 'retry.max_attempts': '99' }, maxRedirects: 0 });
      assert.equal(settings.status(), 403);
      const logout = await admin.request.post(`${h.url}/ui/logout`, { form: {}, maxRedirects: 0 });
      assert.equal(logout.status(), 403);
      assert.equal((await db()('mod_hostbridge_servers').count({ n: '*' }))[0]!.n, servers);
      assert.equal((await db()('mod_hostbridge_settings').where('key', 'retry.max_attempts').first()).value, '7');
      // A token from another session does not do either.
      const other = await h.context();
      const op = await other.newPage();
      await op.goto(await h.link({ audience: 'admin' }));
      await op.waitForURL('**/ui/admin');
      const otherToken = await op.locator('input[name=_csrf]').first().inputValue();
      const stolen = await admin.request.post(`${h.url}/ui/admin/servers`, { form: { ...form, _csrf: otherToken }, maxRedirects: 0 });
      assert.equal(stolen.status(), 403);
      assert.equal((await db()('mod_hostbridge_servers').count({ n: '*' }))[0]!.n, servers);
      await h.shot(op, 'admin-from-link');
      await other.close();
      // And the page itself refuses it as a page.
      const p = await admin.newPage();
      await p.goto(`${h.url}/ui/admin/tasks`);
      await p.locator('#clean input[name=_csrf]').evaluate((el) => (el as HTMLInputElement).remove());
      await p.click('#clean button');
      assert.match(await p.locator('main').innerText(), /Refused[\s\S]*security token/);
      await h.shot(p, 'csrf-refused');
      await p.close();
    });

    test('expired, tampered, reused and foreign links are refused', async () => {
      const ctx = await h.context();
      const page = await ctx.newPage();
      const good = await h.link({ audience: 'client', whmcs_service_id: SPLIT });
      const token = new URL(good).searchParams.get('t')!;
      // Tampered: one character of the signature, or of the payload.
      const [body, mac] = token.split('.');
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
      for (const bad of [`${body}.${flip(mac!, 5)}`, `${flip(body!, 3)}.${mac}`, `${body}.`, 'garbage']) {
        const r = await page.goto(`${h.url}/ui/link?t=${encodeURIComponent(bad)}`);
        assert.equal(r!.status(), 403, bad);
        assert.match(await page.locator('main').innerText(), /not valid/);
      }
      await h.shot(page, 'link-tampered');
      // Signed with another secret.
      const forged = signLink('another-secret-0123456789abcdef0123456789', { a: 'admin', e: Math.floor(Date.now() / 1000) + 600, j: 'a'.repeat(24) });
      assert.equal((await page.goto(`${h.url}/ui/link?t=${forged}`))!.status(), 403);
      // Expired.
      const expired = signLink(TEST_SECRET, { a: 'admin', e: Math.floor(Date.now() / 1000) - 1, j: 'b'.repeat(24) });
      const r = await page.goto(`${h.url}/ui/link?t=${expired}`);
      assert.equal(r!.status(), 403);
      assert.match(await page.locator('main').innerText(), /expired/);
      await h.shot(page, 'link-expired');
      // Nothing above opened a session.
      assert.equal((await ctx.cookies()).filter((c) => c.name === 'hb_session').length, 0);
      assert.equal((await page.goto(`${h.url}/ui/service/${SPLIT}`))!.status(), 401);
      // The good one opens once.
      await page.goto(good);
      await page.waitForURL(`**/ui/service/${SPLIT}`);
      const again = await page.goto(good);
      assert.equal(again!.status(), 403);
      assert.match(await page.locator('main').innerText(), /already used/);
      await ctx.close();
      // The API refuses links it cannot honour.
      assert.equal((await call(h.url, 'POST', '/v1/ui-links', { audience: 'client' })).status, 422);
      assert.equal((await call(h.url, 'POST', '/v1/ui-links', { audience: 'client', whmcs_service_id: 999999 })).status, 404);
      assert.equal((await call(h.url, 'POST', '/v1/ui-links', { audience: 'admin', page: '../etc' })).status, 422);
      assert.equal((await call(h.url, 'POST', '/v1/ui-links', { audience: 'admin' }, 'wrong-secret-0123456789abcdef0123456789')).status, 401);
    });

    test('failed logins are rate-limited, and logout ends the session', async () => {
      const ctx = await h.context();
      const page = await ctx.newPage();
      for (let i = 0; i < 5; i++) {
        await page.goto(`${h.url}/ui/login`);
        await page.fill('input[name=password]', `wrong-${i}`);
        await page.click('button[type=submit]');
        assert.match(await page.locator('.flash-error').innerText(), /not right/);
      }
      await page.goto(`${h.url}/ui/login`);
      await page.fill('input[name=password]', ADMIN_PASSWORD);
      const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/ui/login') && r.request().method() === 'POST'), page.click('button[type=submit]')]);
      assert.equal(res.status(), 429);
      assert.match(await page.locator('.flash-error').innerText(), /Too many failed logins/);
      await h.shot(page, 'login-rate-limited');
      await db()('mod_hostbridge_ui_login_failures').delete();
      await ctx.close();

      await a.goto(`${h.url}/ui/admin`);
      await a.click('header button:text("Log out")');
      await a.waitForURL('**/ui/login');
      const r = await a.goto(`${h.url}/ui/admin/tasks`);
      assert.ok(r!.url().endsWith('/ui/login'));
      assert.equal(await db()('mod_hostbridge_ui_sessions').where({ kind: 'admin', via: 'password' }).count({ n: '*' }).then((x) => Number(x[0]!.n)), 0);
    });

    test('the old embedded views keep working', async () => {
      const view = await call(h.url, 'GET', `/v1/services/${SPLIT}/view?audience=client`);
      assert.equal(view.status, 200);
      assert.match(view.body.html, /hostbridge-client/);
      const overview = await call(h.url, 'GET', '/v1/admin/view?page=overview');
      assert.equal(overview.status, 200);
      assert.ok(!overview.body.html.includes(HOSTILE), 'escaped in the addon view too');
    });
  });
}
