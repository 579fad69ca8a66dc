// The customer's VM panel inside the WHMCS client area (issue 16), in Chromium, on MariaDB: a VM
// deployed on the Proxmox VE emulator, a WHMCS client area stand-in (test/whmcs-client/router.php)
// running the real PHP module, and a customer who logs in there and, through the module's
// ClientArea output and custom functions only:
//  - reboots the VM from the Overview and watches the progress until it runs again;
//  - takes a snapshot (with a hostile description, shown as text) and rolls back to it;
//  - backs the VM up, then restores that backup (the VM ends running);
//  - reads the network graph: an SVG path whose points are Proxmox's RRD samples;
//  - sees "cannot be read right now" when the cluster does not answer, not a broken page;
//  - once the service is suspended, finds every form disabled with the reason, and a forged
//    submission refused by the daemon with the same reason.
// A firewall rule's comment and a reverse DNS name made of markup stay text. The browser never talks to the daemon; no page holds the shared secret or the daemon's address;
// another client's service is "not found"; a wrong CSRF token changes nothing; the Module Log never
// holds a password. Screenshots of each tab go to test-artifacts/screenshots/vm-panel-*.png.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createTestDb, waitFor, type TestDb } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { TEST_SECRET } from '../helpers/daemon.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { failedSteps, kvmOrderBody, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import type { Daemon } from '../../daemon/runtime.ts';
import { T } from '../../daemon/common/tables.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { proxmoxClient } from '../../daemon/fleet/proxmox-access.ts';
import { CLIENT_FEATURES } from '../../daemon/services/vm-panel-types.ts';
import { KVM_CLIENT_FEATURES, normaliseKvmProfile } from '../../daemon/pipelines/kvm-product.ts';
import { kvmProfileInput } from '../../daemon/pages/admin/kvm-profiles.ts';
import { rrdClock } from '../emulator/proxmox/config.ts';
import { buildGraphs, niceMax } from '../../daemon/pages/vm-panel/graphs.ts';
import type { RrdPoint } from '../../daemon/pages/vm-panel/cluster-reads.ts';
import { requireChromium, SHOTS, launchChromium } from './harness.ts';
import { loginToClientArea, startWhmcsClientArea, type WhmcsClientArea } from './whmcs-client-harness.ts';

const ID = 9401;
const OTHER = 9402;
const HOSTNAME = 'panel.example.org';
const EMAIL = 'owner@example.com';
const LOGIN = 'Client-Login-Pa55';
const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>"&\'';
const NEW_PASSWORD = 'Panel-N3w-Secret!';

describe('the panel\'s graphs, drawn from samples', () => {
  test('a point per sample, scaled to a round top; a missing value breaks the line', () => {
    const samples: RrdPoint[] = [{ time: 0, netin: 10, netout: 40 }, { time: 60 }, { time: 120, netin: 20, netout: 30 }, { time: 180, netin: 0, netout: 35 }];
    const net = buildGraphs(samples).find((g) => g.id === 'network')!;
    assert.equal(net.max, 50);
    assert.equal(net.maxText, '50 B/s');
    assert.equal(net.series[0]!.d, 'M0,120 M400,90 L600,150');
    assert.equal(net.series[1]!.d, 'M0,30 M400,60 L600,45');
    const cpu = buildGraphs([{ time: 0, cpu: 0.5 }, { time: 10, cpu: 1 }]).find((g) => g.id === 'cpu')!;
    assert.equal(cpu.max, 100);
    assert.equal(cpu.series[0]!.d, 'M0,75 L600,0');
    assert.equal(buildGraphs([]).every((g) => g.empty), true);
    assert.deepEqual([niceMax(3 * 1024 ** 3, true), niceMax(0.03 * 100), niceMax(0)], [5 * 1024 ** 3, 5, 1]);
  });
});

describe('the customer\'s VM panel in the WHMCS client area (mysql)', () => {
  let t: TestDb;
  let daemon: Daemon;
  let lab: KvmLab;
  let whmcs: WhmcsClientArea;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const seen: string[] = [];
  const db = () => daemon.core.db;
  const masterKey = () => daemon.core.config.masterKey;
  const vm = () => lab.vmOf(ID) as unknown as { vmid: number; node: string; status: string; config: Record<string, unknown>; snapmeta: Array<{ name: string }> };
  const product = (tab?: string, extra = '') => `${whmcs.url}/clientarea.php?action=productdetails&id=${ID}${tab ? `&hbtab=${tab}` : ''}${extra}`;
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `vm-panel-${name}.png`), fullPage: true });
  const serviceRow = async () => db()(T.services).where('whmcs_service_id', ID).first('id', 'state');
  /** The newest chain of an operation, to its end: it must succeed. */
  const chainDone = async (op: string) => {
    const sid = Number((await serviceRow()).id);
    const row = await waitFor(`the ${op} chain to end`, async () => {
      const c = await db()(T.chains).where({ service_id: sid, operation: op }).orderBy('id', 'desc').first('state');
      return c && ['succeeded', 'failed', 'cancelled'].includes(c.state) ? c : null;
    }, 30_000, 50);
    assert.equal(row.state, 'succeeded', (await failedSteps(db())).join('\n'));
  };
  /** The page once it shows the panel with nothing running (its script reloads it when an action ends). */
  const settled = async () => {
    await waitFor('the panel to show no action in progress', async () => {
      try {
        return (await page.getAttribute('.hb-panel', 'data-busy', { timeout: 500 })) === '0';
      } catch {
        return false; // between two documents
      }
    }, 40_000, 200);
  };
  const result = async () => (await page.locator('#module-result').textContent())?.trim();
  /** Waits for the newest backup or restore run to succeed (a failure ends the wait with its result). */
  const runEnds = async (kind: 'backup' | 'restore') => {
    let last: { state: string; result: string | null } | undefined;
    await waitFor(`the ${kind} run to finish`, async () => {
      last = await db()(T.vmBackupRuns).where({ kind }).orderBy('id', 'desc').first('state', 'result');
      if (last?.state === 'failed') throw new Error(`the ${kind} failed: ${last.result}`);
      return last?.state === 'succeeded';
    }, 40_000, 200);
  };

  before(async () => {
    requireChromium();
    fs.mkdirSync(SHOTS, { recursive: true });
    t = await createTestDb('mysql', { migrate: false });
    // The console listener: the one place the browser goes besides WHMCS.
    daemon = await startTestDaemon(t.dir, t.url, { HOSTBRIDGE_POLL_MS: '50', HOSTBRIDGE_SCHEDULER_INTERVAL: '600', HOSTBRIDGE_CONSOLE_LISTEN: '127.0.0.1:0' });
    for (const [k, v] of [['retry.base_ms', '100'], ['retry.cap_ms', '500'], ['retry.jitter', '0']] as const) await writeSetting(db(), k, v);
    await daemon.core.settings.refresh();
    lab = await startKvmLab(daemon.url, {
      profile: { backups: 2, snapshots: 2, isos: ['local:iso/debian-12.iso'], firewall_rules: 5 },
      // Power tasks long enough for the progress to be seen on the page.
      emulator: { taskMs: { qmclone: 40, qmigrate: 40, resize: 10, qmstart: 900, qmstop: 300, qmshutdown: 900, qmdestroy: 20, qmconfig: 5, vzdump: 400, qmrestore: 600, qmsnapshot: 300, qmdelsnapshot: 10, qmrollback: 600, imgdel: 10 }, authFailDelayMs: 20 },
    });
    const cluster = (await call(daemon.url, 'GET', `/v1/proxmox/clusters/${lab.clusterId}`)).body.cluster;
    for (const s of cluster.storages.filter((x: { storage: string }) => x.storage === 'local')) {
      const r = await call(daemon.url, 'PUT', `/v1/proxmox/clusters/${lab.clusterId}/storages/${s.id}`, { backups: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const r = await call(daemon.url, 'POST', '/v1/services', kvmOrderBody(ID, HOSTNAME));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitFor('the VM to be deployed', async () => {
      const s = await serviceRow();
      if (s?.state === 'failed') throw new Error((await failedSteps(db())).join('\n'));
      const running = await db()(T.chains).where('service_id', s?.id ?? 0).whereIn('state', ['running', 'waiting']).first('id');
      return s?.state === 'active' && !running;
    }, 30_000, 50);
    whmcs = await startWhmcsClientArea({
      daemonUrl: daemon.url, secret: TEST_SECRET,
      clients: [{ id: 7, email: EMAIL, password: LOGIN, firstname: 'Olivia' }, { id: 8, email: 'other@example.com', password: 'Other-Pa55', firstname: 'Otto' }],
      services: [{ id: ID, userid: 7, packageid: 9, domain: HOSTNAME, domainstatus: 'Active' }, { id: OTHER, userid: 8, packageid: 9, domain: 'other.example.org', domainstatus: 'Active' }],
      products: [{ id: 9, name: 'VPS small', configoption1: 'kvm', configoption15: 'vps-small' }],
    });
    browser = await launchChromium();
    ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    page = await ctx.newPage();
    page.setDefaultTimeout(10_000);
    page.on('request', (req) => seen.push(req.url()));
    await loginToClientArea(page, whmcs.url, EMAIL, LOGIN);
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await whmcs?.close();
    await daemon?.stop();
    await lab?.close();
    await t?.drop();
  });

  test('the profile\'s features are the panel\'s features', () => {
    assert.deepEqual([...KVM_CLIENT_FEATURES], [...CLIENT_FEATURES]);
  });

  test('the admin form carries the panel settings: ticked features, ISOs, rule limit', () => {
    const form = {
      name: 'p', cluster_id: '1', cores: '1', memory_mb: '512', sd_size_gb: '10', sd_storage: 'local-lvm', bridge: 'vmbr0', default_os: 'debian-12',
      client_features: ['graphs', 'power'], isos: 'local:iso/a.iso  local:iso/b.iso', firewall_rules: '3',
    };
    const body = kvmProfileInput(form);
    assert.deepEqual([body.client_features, body.isos, body.firewall_rules], [['graphs', 'power'], ['local:iso/a.iso', 'local:iso/b.iso'], 3]);
    assert.deepEqual(normaliseKvmProfile(body).client_features, ['power', 'graphs']);
    // Nothing ticked: a product without a panel beyond its overview.
    assert.deepEqual(kvmProfileInput({ ...form, client_features: undefined }).client_features, []);
  });

  test('Overview: live figures, then Reboot with its progress, ending with the VM running', async () => {
    await page.goto(product());
    if (await page.locator('.hb-panel').count() === 0) {
      throw new Error(`no panel on the page:\n${(await page.innerText('body')).slice(0, 2000)}\n${JSON.stringify(whmcs.moduleLog()).slice(-3000)}\n${whmcs.output().slice(-2000)}`);
    }
    const tabs = await page.locator('.hb-tabs a').allTextContents();
    assert.deepEqual(tabs, ['Overview', 'Snapshots', 'Backups', 'Graphs', 'Reinstall', 'Network', 'Firewall', 'ISO', 'Password', 'Console']);
    assert.equal(await page.locator('#hb-status').textContent(), 'running');
    assert.equal(await page.locator('#hb-hostname').textContent(), HOSTNAME);
    // The live script fills the figures from VmLive (through WHMCS).
    await waitFor('a live refresh through VmLive', async () => seen.some((u) => u.includes('a=VmLive')), 15_000, 100);
    const live = await page.evaluate(async (u) => (await fetch(u)).json(), `${product()}&modop=custom&a=VmLive`);
    assert.equal(live.ok, true);
    assert.equal(live.status, 'running');
    assert.ok(live.maxmem > 0 && typeof live.cpu === 'number', JSON.stringify(live));
    await shot('overview');

    await page.click('#hb-reboot');
    assert.equal(await result(), 'Action completed successfully');
    // The progress box says what runs, once; no second box repeats it.
    assert.match((await page.locator('#hb-progress').textContent()) ?? '', /reboot is in progress[\s\S]*available again when it ends/i);
    assert.equal(await page.locator('#hb-lock').count(), 0);
    assert.equal(await page.locator('fieldset.hb-forms').getAttribute('disabled'), '');
    assert.ok(await page.locator('#hb-progress li').count() > 0, 'the steps are listed');
    await shot('progress');
    await chainDone('reboot');
    await settled();
    assert.equal(vm().status, 'running');
    assert.equal(await page.locator('#hb-status').textContent(), 'running');
    assert.equal(await page.locator('#hb-lock').count(), 0);
  });

  test('Snapshots: take one with a hostile description (shown as text), then roll back to it', async () => {
    await page.goto(product('snapshots'));
    assert.match((await page.locator('.hb-snapshots').textContent()) ?? '', /up to 2 snapshot/);
    await page.fill('#hb-snap-name', 'before-upgrade');
    await page.fill('#hb-snap-desc', HOSTILE);
    await page.click('#hb-snap-create');
    assert.equal(await result(), 'Action completed successfully');
    await chainDone('snapshot-create');
    await settled();
    assert.ok(vm().snapmeta.some((s) => s.name === 'before-upgrade'));
    await page.goto(product('snapshots'));
    const row = page.locator('tr[data-snapshot="before-upgrade"]');
    assert.equal(await row.locator('.hb-desc').textContent(), HOSTILE);
    assert.equal(await page.locator('.hb-panel img').count(), 0);
    assert.equal(await page.locator('.hb-panel script').count(), 1, 'only the panel script');
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    await shot('snapshots');

    const rollbacks = () => lab.pve.requests.filter((r) => r.method === 'POST' && /\/snapshot\/before-upgrade\/rollback$/.test(r.path)).length;
    const before = rollbacks();
    await row.locator('.hb-rollback').click();
    assert.equal(await result(), 'Action completed successfully');
    await chainDone('snapshot-rollback');
    await settled();
    assert.equal(rollbacks(), before + 1, 'Proxmox was asked to roll back');
    assert.equal(vm().status, 'running');
  });

  test('Backups: back up now, then restore that backup; the VM ends running', async () => {
    await page.goto(product('backups'));
    assert.match(await page.locator('#hb-backup-list').textContent() ?? '', /No backups yet/);
    await page.click('#hb-backup-now');
    assert.equal(await result(), 'Action completed successfully');
    assert.match((await page.locator('#hb-progress').textContent()) ?? '', /backup is being taken/);
    // The action started backup-status at once (its interval is 5 minutes), which follows the vzdump to its end.
    await runEnds('backup');
    await settled();
    await page.goto(product('backups'));
    const rows = page.locator('#hb-backup-list tr[data-volid]');
    assert.equal(await rows.count(), 1);
    const volid = (await rows.first().getAttribute('data-volid'))!;
    assert.match(volid, new RegExp(`^local:backup/vzdump-qemu-${vm().vmid}-`));
    assert.match((await rows.first().textContent()) ?? '', /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    await shot('backups');

    await rows.first().locator('.hb-restore').click();
    assert.equal(await result(), 'Action completed successfully');
    assert.match((await page.locator('#hb-progress').textContent()) ?? '', /backup is being restored/);
    // Likewise restore-backup, started by the action.
    await runEnds('restore');
    await settled();
    const run = await db()(T.vmBackupRuns).where({ kind: 'restore' }).orderBy('id', 'desc').first('state', 'volid');
    assert.deepEqual([run.state, run.volid], ['succeeded', volid]);
    assert.equal(vm().status, 'running');

    // The schedule: Monday and Thursday, sent as one comma-separated field.
    await page.goto(product('backups'));
    await page.check('#hb-days-form input[value="mon"]');
    await page.check('#hb-days-form input[value="thu"]');
    await page.click('#hb-days-form button');
    assert.equal(await result(), 'Action completed successfully');
    const days = await db()(T.vmBackupDays).where('service_id', Number((await serviceRow()).id)).first('days');
    assert.equal(days.days, '1,4');
    await page.goto(product('backups'));
    assert.deepEqual(await page.locator('#hb-days-form input:checked').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value)), ['mon', 'thu']);
  });

  test('Graphs: the network graph is an SVG path drawn from Proxmox\'s RRD samples', async () => {
    const real = rrdClock.nowMs;
    const pinned = Date.now();
    rrdClock.nowMs = () => pinned;
    // A VM running for days, so each period has samples (the emulator's series starts at the VM's creation).
    Object.assign(vm(), { createdAt: Math.floor(pinned / 1000) - 40 * 86_400, startedAt: Math.floor(pinned / 1000) - 40 * 86_400 });
    try {
      await page.goto(product('graphs'));
      const svg = page.locator('#hb-graph-network svg');
      const max = Number(await svg.getAttribute('data-max'));
      const d = (await svg.locator('path[data-key="netin"]').getAttribute('d'))!;
      // The same samples, read from the emulator as any client would.
      const { client } = await proxmoxClient(db(), masterKey(), lab.clusterId);
      let samples: Array<Record<string, number>>;
      try {
        samples = await client.request('GET', `/nodes/${vm().node}/qemu/${vm().vmid}/rrddata`, { timeframe: 'hour', cf: 'AVERAGE' });
      } finally {
        client.close();
      }
      const top = Math.max(...samples.flatMap((s) => [s.netin ?? 0, s.netout ?? 0]));
      assert.ok(top > 0, 'the VM had traffic');
      assert.ok(max >= top && max <= top * 5, `the top of the graph ${max} fits the samples' ${top}`);
      const from = samples[0]!.time;
      const to = samples[samples.length - 1]!.time;
      const withIn = samples.filter((s) => typeof s.netin === 'number');
      const points = [...d.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
      assert.equal(points.length, withIn.length, 'one point per sample with netin');
      points.forEach(([x, y], i) => {
        const s = withIn[i]!;
        assert.ok(Math.abs(x - ((s.time - from) / (to - from)) * 600) <= 0.06, `point ${i}: x ${x}`);
        assert.ok(Math.abs(y - (150 - (s.netin! / max) * 150)) <= 0.06, `point ${i}: y ${y} for netin ${s.netin}`);
      });
      assert.equal(await page.locator('#hb-graph-cpu svg path').count(), 1);
      assert.equal(await page.locator('#hb-graph-memory svg path').count(), 2);
      assert.equal(await page.locator('#hb-graph-disk svg path').count(), 2);
      await shot('graphs');
      await page.click('a[data-tf="week"]');
      assert.equal(await page.locator('a[data-tf="week"] strong').count(), 1);
      assert.ok(Number(await page.locator('#hb-graph-network path[data-key="netout"]').getAttribute('data-points')) > 0);
    } finally {
      rrdClock.nowMs = real;
    }
  });

  test('the other tabs: reinstall, network, firewall, ISO, password (masked in the Module Log) and console', async () => {
    for (const tab of ['reinstall', 'network', 'iso', 'console']) {
      await page.goto(product(tab));
      await page.waitForSelector(`.hb-panel[data-tab="${tab}"]`);
      await shot(tab);
    }
    const action = (await page.locator('#hb-console-form').getAttribute('action'))!;
    assert.equal(action, `clientarea.php?action=productdetails&id=${ID}&modop=custom&a=VmConsole`, 'the CSRF token is posted, never in the URL');
    assert.match((await page.locator('#hb-console-form input[name="token"]').getAttribute('value'))!, /^[0-9a-f]+$/);
    // Open console: VmConsole asks the daemon for a one-time link and sends the new tab there.
    const [popup] = await Promise.all([ctx.waitForEvent('page'), page.click('#hb-console')]);
    await popup.waitForURL(/\/console\/#t=/, { timeout: 10_000 });
    assert.ok(daemon.consoleUrl && popup.url().startsWith(`${daemon.consoleUrl}/console/#t=`), popup.url());
    assert.notEqual(new URL(popup.url()).origin, new URL(daemon.url).origin, 'the console is not the daemon\'s API');
    await popup.close();
    await page.goto(product('reinstall'));
    assert.deepEqual(await page.locator('select[name="hbf_os"] option').allTextContents(), ['Debian 12']);
    assert.equal(await page.locator('select[name="hbf_os"] option').getAttribute('value'), 'debian-12');
    await page.goto(product('iso'));
    assert.deepEqual(await page.locator('select[name="hbf_volid"] option').allTextContents(), ['debian-12.iso']);
    await page.goto(product('network'));
    assert.ok(((await page.locator('#hb-address-list').textContent()) ?? '').includes('198.51.100.'));

    // A firewall rule whose comment is markup: saved, and listed as text.
    await page.goto(product('firewall'));
    const rules = [{ type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22', comment: HOSTILE }];
    await page.fill('textarea[name="hbf_rules"]', JSON.stringify(rules));
    await page.click('#hb-rules-form button');
    assert.equal(await result(), 'Action completed successfully');
    await chainDone('firewall-rules');
    await settled();
    await page.goto(product('firewall'));
    assert.equal(await page.locator('#hb-rule-list tr[data-rule="0"] .hb-comment').textContent(), HOSTILE);
    assert.equal(await page.locator('.hb-panel img').count(), 0);
    await shot('firewall');
    // A reverse DNS name that is markup: refused by the daemon, and its words quoted as text.
    await page.goto(product('network'));
    await page.locator('#hb-address-list tr[data-ip] input[name="hbf_name"]').first().fill('<svg onload="window.__pwned=5">.example.com');
    await page.locator('#hb-address-list tr[data-ip] button').first().click();
    assert.match((await result()) ?? '', /svg onload/);
    assert.equal(await page.locator('#module-result.alert-danger').count(), 1);
    assert.equal(await page.locator('#module-result svg, #module-output svg').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);

    await page.goto(product('password'));
    await shot('password');
    await page.fill('input[name="hbf_password"]', NEW_PASSWORD);
    await page.click('#hb-password-form button');
    assert.equal(await result(), 'Action completed successfully');
    await chainDone('change-password');
    await settled();
    const log = JSON.stringify(whmcs.moduleLog());
    assert.ok(log.includes('VmAction'), 'the action is in the Module Log');
    assert.ok(!log.includes(NEW_PASSWORD), 'the new password is masked in the Module Log');
  });

  test('a cluster that does not answer: the box says so, the page still renders', async () => {
    lab.pve.fault({ path: /\/rrddata$/, kind: '500', count: 50, message: 'rrd broken' });
    await page.goto(product('graphs'));
    assert.match((await page.locator('#hb-unreadable').textContent()) ?? '', /cannot be read right now/);
    assert.equal(await page.locator('.hb-tabs a').count(), 10);
  });

  test('a hostile VM name on the host is shown as text', async () => {
    vm().config.name = '<img src=x onerror="window.__pwned=3">';
    await page.goto(product());
    assert.equal(await page.locator('#hb-pve-name').textContent(), '<img src=x onerror="window.__pwned=3">');
    assert.equal(await page.locator('.hb-panel img').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    vm().config.name = HOSTNAME;
  });

  test('another client\'s service is not found; a wrong CSRF token changes nothing', async () => {
    await page.goto(`${whmcs.url}/clientarea.php?action=productdetails&id=${OTHER}`);
    assert.equal(await page.locator('#not-found').count(), 1);
    const asOther = await call(daemon.url, 'POST', `/v1/services/${ID}/panel`, { client_id: 8, tab: 'overview' });
    assert.equal(asOther.status, 404, JSON.stringify(asOther.body));
    const chains = async () => Number((await db()(T.chains).count({ n: '*' }).first())!.n);
    const before = await chains();
    await page.goto(product());
    await page.evaluate(() => { (document.querySelector('#hb-reboot')!.closest('form')!.querySelector('input[name="token"]') as HTMLInputElement).value = 'forged'; });
    await page.click('#hb-reboot');
    assert.equal(await page.locator('#csrf-error').count(), 1);
    assert.equal(await chains(), before, 'nothing was queued');
  });

  test('the product decides the tabs, and the API checks every body', async () => {
    const listed = (await call(daemon.url, 'GET', '/v1/kvm-profiles')).body.profiles[0];
    const { id, created_at: _c, updated_at: _u, ...spec } = listed;
    const put = (features: string[]) => call(daemon.url, 'PUT', `/v1/kvm-profiles/${id}`, { ...spec, client_features: features });
    assert.equal((await put(['power', 'graphs'])).status, 200);
    try {
      const r = await call(daemon.url, 'POST', `/v1/services/${ID}/panel`, { client_id: 7, tab: 'snapshots' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const tabs = [...String(r.body.html).matchAll(/data-tab="(\w+)">/g)].map((m) => m[1]);
      assert.deepEqual(tabs, ['overview', 'graphs', 'network'], 'a tab the product does not allow is not shown');
      assert.match(r.body.html, /data-tab="overview" data-live-url/, 'asking for a hidden tab shows the overview');
      const refused = await call(daemon.url, 'POST', `/v1/services/${ID}/panel/actions`, { client_id: 7, action: 'snapshot-create', fields: { name: 'nope' } });
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      await page.goto(product('snapshots'));
      assert.deepEqual(await page.locator('.hb-tabs a').allTextContents(), ['Overview', 'Graphs', 'Network']);
    } finally {
      assert.equal((await put([...CLIENT_FEATURES])).status, 200);
    }
    const bad = async (path: string, body: unknown, field: string) => {
      const r = await call(daemon.url, 'POST', path, body);
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.equal(r.body.field, field, JSON.stringify(r.body));
    };
    await bad(`/v1/services/${ID}/panel`, { client_id: 7, tab: 'Over view' }, 'tab');
    await bad(`/v1/services/${ID}/panel`, { tab: 'overview' }, 'client_id');
    await bad(`/v1/services/${ID}/panel`, { client_id: 7, tab: 'overview', base: 'https://evil.example/' }, 'base');
    await bad(`/v1/services/${ID}/panel/actions`, { client_id: 7, action: 'reboot', fields: { name: 5 } }, 'fields.name');
    const live = await call(daemon.url, 'GET', `/v1/services/${ID}/panel/live?client_id=8`);
    assert.equal(live.status, 404, JSON.stringify(live.body));
  });

  test('suspended: every form is disabled with the reason, and a forged submission is refused by the daemon', async () => {
    const r = await call(daemon.url, 'POST', `/v1/services/${ID}/suspend`, { reason: 'Overdue on Invoice #42' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await chainDone('suspend');
    whmcs.setServiceStatus(ID, 'Suspended');
    await page.goto(product());
    assert.match((await page.locator('#hb-lock').textContent()) ?? '', /suspended/);
    assert.equal(await page.locator('fieldset.hb-forms').getAttribute('disabled'), '');
    assert.equal(await page.locator('fieldset.hb-forms button:enabled').count(), 0);
    await shot('suspended');
    await page.goto(product('snapshots'));
    assert.equal(await page.locator('fieldset.hb-forms button:enabled').count(), 0);
    // The browser's disabling is not the guard: a forged submission reaches the daemon, which refuses it.
    await page.goto(product());
    await page.evaluate(() => document.querySelector('fieldset.hb-forms')!.removeAttribute('disabled'));
    await page.click('#hb-start');
    assert.match((await result()) ?? '', /Your service is suspended/);
    assert.equal(await page.locator('#module-result.alert-danger').count(), 1);
    assert.equal(vm().status, 'stopped');
  });

  test('the browser only ever talked to WHMCS, and no page holds the secret or the daemon\'s address', async () => {
    const daemonOrigin = new URL(daemon.url).origin;
    assert.ok(seen.length > 20);
    assert.deepEqual(seen.filter((u) => !u.startsWith(whmcs.url)), [], 'every request went to the WHMCS stand-in');
    assert.ok(!seen.some((u) => u.startsWith(daemonOrigin)));
    const html = await page.content();
    assert.ok(!html.includes(TEST_SECRET));
    assert.ok(!html.includes(daemonOrigin) && !html.includes(`:${new URL(daemon.url).port}`));
  });
});
