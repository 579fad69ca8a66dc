// VM Management in Chromium, with VMs deployed through the Proxmox VE emulator against a test daemon:
// the list shows every VM with its state, node, VMID, addresses and last run; a stuck VM (reset to
// failed) is reset to active from its page; a VM whose DELETE fails on the cluster ends in
// error_terminate with a red badge and the red banner naming the step and the error (a hostile
// error text shows as text), and Delete record (confirmed) ends it terminated with its addresses
// released and the VM left on the cluster. A plain HTTP client checks the forms' refusals.
// Screenshots are kept under test-artifacts/screenshots/.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { kvmOrderBody, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { startUi, type UiHarness } from './harness.ts';

const RUNS = 8911; // deployed, then verified again (its steps skip)
const STUCK = 8912; // reset to failed, then to active in the browser
const DOOMED = 8913; // its DELETE fails: error_terminate, then Delete record
const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> storage busy';

const rx = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

for (const dialect of DIALECTS) {
  describe(`VM Management (${dialect})`, () => {
    let h: UiHarness;
    let lab: KvmLab;
    let cookie = '';

    const stateOf = async (id: number): Promise<string> => String((await h.tdb.db('mod_hostbridge_services').where('whmcs_service_id', id).first('state'))?.state);
    const waitState = async (id: number, states: string[], ms = 60_000): Promise<string> => {
      const end = Date.now() + ms;
      for (;;) {
        const s = await stateOf(id);
        if (states.includes(s) || Date.now() > end) return s;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const waitIdle = async (id: number) => {
      const end = Date.now() + 60_000;
      const svc = await h.tdb.db('mod_hostbridge_services').where('whmcs_service_id', id).first('id');
      while (Date.now() < end) {
        if (!(await h.tdb.db('mod_hostbridge_chains').where('service_id', svc.id).whereIn('state', ['running', 'waiting']).first('id'))) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`service ${id} still runs a chain`);
    };
    const actions = async () => (await h.tdb.db('mod_hostbridge_admin_actions').orderBy('id').select('actor', 'ok', 'message'))
      .map((a) => [String(a.actor), Boolean(a.ok), String(a.message)]);
    const get = async (path: string) => {
      const res = await fetch(`${h.url}${path}`, { headers: { cookie } });
      assert.equal(res.status, 200, path);
      return res.text();
    };
    const post = (path: string, form: Record<string, string>) => fetch(`${h.url}${path}`, {
      method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString(),
    });
    const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? assert.fail('no CSRF token on the page');

    before(async () => {
      h = await startUi(dialect);
      // Quick retries: the failing DELETE uses up its attempts in about a second.
      for (const [k, v] of [['retry.base_ms', '200'], ['retry.cap_ms', '1000'], ['retry.jitter', '0']] as const) await writeSetting(h.tdb.db, k, v);
      await h.daemon.core.settings.refresh();
      lab = await startKvmLab(h.url, { pdns: { url: h.fleet.pdns!.server.url, apiKey: h.fleet.pdns!.server.apiKey } });
      for (const id of [RUNS, STUCK, DOOMED]) {
        const r = await call(h.url, 'POST', '/v1/services', kvmOrderBody(id, `vm${id}.example.org`));
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      for (const id of [RUNS, STUCK, DOOMED]) assert.equal(await waitState(id, ['active', 'failed'], 90_000), 'active', `service ${id} deployed`);
      // Verify & Repair finds everything in place: its VM steps skip.
      const vr = await call(h.url, 'POST', `/v1/services/${RUNS}/actions/verify-repair`, {});
      assert.equal(vr.status, 200, JSON.stringify(vr.body));
      await waitIdle(RUNS);
      // An admin session from a signed link, for the plain HTTP checks.
      const link = await call(h.url, 'POST', '/v1/ui-links', { audience: 'admin', page: 'vms' });
      assert.equal(link.status, 200, JSON.stringify(link.body));
      const opened = await fetch(`${h.url}${link.body.path}`, { redirect: 'manual' });
      cookie = opened.headers.getSetCookie().find((c) => c.startsWith('hb_session='))!.split(';')[0]!;
    });
    after(async () => {
      await h?.close();
      await lab?.close();
    });

    test('the list shows every VM with its state, node, VMID, addresses and last run; a VM\'s page its runs step by step', async () => {
      const page = await (await h.context()).newPage();
      await page.goto(await h.link({ audience: 'admin', page: 'vms' }));
      await page.waitForURL('**/ui/admin/vms');
      assert.equal(await page.locator('nav a[aria-current="page"]').textContent(), 'VM Management');
      for (const id of [RUNS, STUCK, DOOMED]) {
        const row = page.locator(`#vms tr[data-service="${id}"]`);
        const vm = lab.vmOf(id)!;
        assert.ok(vm, `VM of ${id} on the emulator`);
        assert.equal(await row.locator('.hostname').textContent(), `vm${id}.example.org`);
        assert.equal(await row.locator('.vm-state').textContent(), 'active');
        assert.match(await row.locator('.vm-state').getAttribute('class') ?? '', /status-active/);
        assert.equal((await row.locator('.node').innerText()).split('\n')[0], vm.node);
        assert.equal(await row.locator('.vmid').textContent(), String(vm.vmid));
        assert.deepEqual((await row.locator('.addresses .ip').allTextContents()).sort(), await lab.addresses(id));
        assert.match(await row.locator('.last-run').innerText(), id === RUNS ? /verify-repair succeeded/ : /deploy succeeded/);
        assert.equal(await row.locator('.delete-record').count(), 0, 'no Delete record for a live VM');
        // The WHMCS id links to the service page.
        assert.equal(await row.locator('td').first().locator('a').getAttribute('href'), `/ui/admin/services/${id}`);
      }
      // The state filter.
      await page.selectOption('select[name="state"]', 'failed');
      await page.click('form.row button[type="submit"]');
      await page.waitForURL('**/ui/admin/vms?state=failed');
      assert.equal(await page.locator('#vms tr[data-service]').count(), 0);
      await h.shot(page, `vm-management-list-${dialect}`);

      // One VM's runs: the repair's steps skip, each with its duration and transition line.
      await page.goto(`${h.url}/ui/admin/vms/${RUNS}`);
      assert.equal(await page.locator('#last-run-failed').count(), 0, 'no banner: the last run succeeded');
      assert.equal(await page.locator('#vm .vmid').textContent(), String(lab.vmOf(RUNS)!.vmid));
      const runs = page.locator('section.run');
      assert.equal(await runs.count(), 2);
      assert.equal(await runs.nth(0).getAttribute('data-operation'), 'verify-repair');
      assert.equal(await runs.nth(1).getAttribute('data-operation'), 'deploy');
      const repair = runs.nth(0);
      const cpu = repair.locator('tr[data-step="cpu-ram"]');
      assert.equal(await cpu.getAttribute('data-result'), 'skip');
      assert.match(await cpu.locator('.duration').textContent() ?? '', /^\d+\.\d\d s$/);
      assert.match(await cpu.locator('.transition').textContent() ?? '', /^→ next: /);
      assert.match(await repair.locator('h3').innerText(), /\d+ step\(s\) skipped \(no change\)/);
      const clone = runs.nth(1).locator('tr[data-step="clone"]');
      assert.equal(await clone.getAttribute('data-result'), 'success');
      assert.match(await clone.locator('.transition').textContent() ?? '', /^cloned → next: /);
      // Step numbers count from 1, in order.
      const nos = (await runs.nth(1).locator('tbody tr td:first-child').allTextContents()).map(Number);
      assert.deepEqual(nos, nos.map((_, i) => i + 1));
      await h.shot(page, `vm-management-runs-${dialect}`);
    });

    test('a stuck VM is reset to active in the browser; the reference of each target state is beside the form', async () => {
      const r = await call(h.url, 'POST', `/v1/services/${STUCK}/actions/reset-status`, { state: 'failed' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const page = await (await h.context()).newPage();
      await page.goto(await h.link({ audience: 'admin', page: `vms/${STUCK}` }));
      await page.waitForURL(`**/ui/admin/vms/${STUCK}`);
      assert.equal(await page.locator('#vm-status').textContent(), 'failed');
      const ref = page.locator('#reset-reference tr[data-target]');
      assert.deepEqual(await ref.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-target'))), ['active', 'failed', 'suspended']);
      for (const target of ['active', 'failed', 'suspended']) {
        const text = await page.locator(`#reset-reference tr[data-target="${target}"]`).innerText();
        assert.ok(text.split('\t').length >= 3 && text.length > 60, `${target}: what it means and when to use it: ${text}`);
      }
      await page.selectOption('#reset-status select[name="state"]', 'active');
      await page.click('#reset-status button[type="submit"]');
      await page.waitForURL(`**/ui/admin/vms/${STUCK}`);
      assert.equal(await page.locator('#vm-status').textContent(), 'active');
      assert.match(await page.locator('.flash-ok').innerText(), new RegExp(`VM of service ${STUCK}: state reset from failed to active; nothing on the cluster changed`));
      assert.equal(await stateOf(STUCK), 'active');
      assert.equal(lab.vmOf(STUCK)!.status, 'running', 'nothing on the cluster changed');
      assert.deepEqual((await actions()).at(-1), ['daemon admin (signed link)', true, `VM of service ${STUCK}: state reset from failed to active; nothing on the cluster changed.`]);
      await h.shot(page, `vm-management-reset-${dialect}`);
    });

    test('a failed terminate: red badge and banner; Delete record (confirmed) releases the addresses and leaves Proxmox alone', async () => {
      const vm = lab.vmOf(DOOMED)!;
      const ips = await lab.addresses(DOOMED);
      assert.equal(ips.length, 2);
      lab.pve.fault({ method: 'DELETE', path: new RegExp(`/qemu/${vm.vmid}$`), kind: '500', count: 3, message: HOSTILE });
      const t = await call(h.url, 'POST', `/v1/services/${DOOMED}/terminate`, {});
      assert.equal(t.status, 200, JSON.stringify(t.body));
      assert.equal(await waitState(DOOMED, ['error_terminate', 'terminated']), 'error_terminate');
      await waitIdle(DOOMED);

      const ctx = await h.context();
      const page = await ctx.newPage();
      const dialogs: string[] = [];
      page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
      await page.goto(await h.link({ audience: 'admin', page: 'vms' }));
      await page.waitForURL('**/ui/admin/vms');
      const row = page.locator(`#vms tr[data-service="${DOOMED}"]`);
      assert.equal(await row.locator('.vm-state').textContent(), 'error_terminate');
      const red = await row.locator('.vm-state').evaluate((el) => getComputedStyle(el).color);
      assert.equal(red, 'rgb(179, 38, 30)', 'the badge is red');
      assert.equal(await row.locator('.delete-record').count(), 1);
      assert.match(await row.locator('.last-run').innerText(), /terminate failed/);
      await h.shot(page, `vm-management-error-terminate-${dialect}`);

      await row.locator('.delete-record').click();
      await page.waitForURL(`**/ui/admin/vms/${DOOMED}`);
      const banner = page.locator('#last-run-failed');
      const said = await banner.innerText();
      assert.match(said, /The last run failed \(terminate, run #\d+\) at step destroy/);
      assert.ok(said.includes('<script>window.__pwned=1</script>'), `the error shows as text: ${said}`);
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, 'no script of the error ran');
      assert.equal(await page.locator('section.run img, #last-run-failed img, section.run script').count(), 0);
      const destroy = page.locator('section.run').first().locator('tr[data-step="destroy"]');
      assert.equal(await destroy.getAttribute('data-result'), 'error');
      assert.match(await destroy.locator('.transition').textContent() ?? '', /^the VM stays at /);
      assert.match(await destroy.locator('.err').innerText(), /attempt 1: .*storage busy/);
      const warning = await page.locator('#delete-record').innerText();
      assert.match(warning, /touches neither Proxmox nor WHMCS's service status/);
      assert.match(warning, /must be removed by hand/);
      assert.match(warning, /addresses are released/);
      await h.shot(page, `vm-management-banner-${dialect}`);

      // Not confirmed: the browser does not send the form.
      await page.click('#delete-record button[type="submit"]');
      assert.equal(await page.locator('#delete-record input[name="confirm"]').evaluate((el) => (el as HTMLInputElement).validity.valueMissing), true);
      assert.equal(await stateOf(DOOMED), 'error_terminate');
      await page.check('#delete-record input[name="confirm"]');
      await page.click('#delete-record button[type="submit"]');
      await page.waitForURL(`**/ui/admin/vms/${DOOMED}`);
      assert.match(await page.locator('.flash-ok').innerText(), /Delete record of service \d+ queued as run #\d+: its addresses are released/);
      assert.equal(await waitState(DOOMED, ['terminated']), 'terminated');
      await waitIdle(DOOMED);
      await page.reload();
      assert.equal(await page.locator('#vm-status').textContent(), 'terminated');
      assert.equal(await page.locator('#delete-record').count(), 0);
      assert.deepEqual(await lab.addresses(DOOMED), [], 'its addresses are back in the pools');
      assert.ok(lab.vmOf(DOOMED), 'the VM is still on the cluster: Delete record asked nothing of Proxmox');
      assert.deepEqual(dialogs, []);
      assert.ok(!(await page.content()).includes(lab.pve.token.secret), 'no secret on the page');
      await h.shot(page, `vm-management-deleted-${dialect}`);
    });

    test('the forms refuse without the CSRF token, with bad input, or for a VM not in error_terminate; nothing changes', async () => {
      const before = await actions();
      for (const [path, form] of [
        [`/ui/admin/vms/${STUCK}/reset-status`, { state: 'failed' }],
        [`/ui/admin/vms/${STUCK}/reset-status`, { state: 'failed', _csrf: 'x'.repeat(43) }],
        [`/ui/admin/vms/${RUNS}/delete-record`, { confirm: 'yes' }],
      ] as const) {
        const res = await post(path, form);
        assert.equal(res.status, 403, path);
      }
      assert.equal(await stateOf(STUCK), 'active');
      assert.equal(await stateOf(RUNS), 'active');
      assert.deepEqual(await actions(), before, 'nothing was done');

      const csrf = csrfOf(await get(`/ui/admin/vms/${RUNS}`));
      const ips = await lab.addresses(RUNS);
      const refusals: Array<[string, Record<string, string>, RegExp]> = [
        [`/ui/admin/vms/${RUNS}/reset-status`, { _csrf: csrf, state: 'terminated' }, /state/],
        [`/ui/admin/vms/${RUNS}/delete-record`, { _csrf: csrf }, /^confirm: tick "I understand"/],
        [`/ui/admin/vms/${RUNS}/delete-record`, { _csrf: csrf, confirm: 'yes' }, rx(`Delete record refused: service ${RUNS} is active: Delete record is only for a VM whose terminate failed (error_terminate); nothing was changed.`)],
        [`/ui/admin/vms/${DOOMED}/reset-status`, { _csrf: csrf, state: 'active' }, rx(`service ${DOOMED} is terminated`)],
      ];
      for (const [path, form, why] of refusals) {
        const res = await post(path, form);
        assert.equal(res.status, 303, path);
        const last = (await actions()).at(-1)!;
        assert.equal(last[1], false, `${path}: refused`);
        assert.match(String(last[2]), why);
      }
      assert.equal(await stateOf(RUNS), 'active');
      assert.equal(await stateOf(DOOMED), 'terminated');
      assert.deepEqual(await lab.addresses(RUNS), ips);
      // A service that is not a VM, or not there: 404 pages.
      for (const bad of ['abc', '0', '424242']) assert.equal((await fetch(`${h.url}/ui/admin/vms/${bad}`, { headers: { cookie } })).status, 404, bad);
      // The page through the WHMCS addon: the same page in the admin's nav.
      const embedded = await call(h.url, 'POST', '/v1/admin/pages', { admin: { id: 3, username: 'jane' }, method: 'GET', page: 'vms', query: '', form: '', token: 't', base: 'addonmodules.php?module=hostbridge' });
      assert.equal(embedded.status, 200, JSON.stringify(embedded.body).slice(0, 500));
      assert.equal(embedded.body.title, 'VM Management');
      assert.match(embedded.body.html, new RegExp(`data-service="${RUNS}"`));
    });
  });
}
