// A VM's live deploy page, in Chromium: a KVM order placed through the signed API against the
// Proxmox VE emulator (its tasks slowed so the steps can be watched), the customer's page followed
// while the VM deploys — the steps appear with their labels and complete live, the address, VM and
// DNS steps in lanes of their own — ending with the VM card showing its VMID, node and addresses.
// The admin's service page and the WHMCS fragments show the same VM; no page shows a secret.
// Screenshots are kept under test-artifacts/screenshots/.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { DIALECTS } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { kvmOrderBody, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import { startUi, type UiHarness } from './harness.ts';

const SERVICE = 8801;
const HOSTNAME = 'vm8801.example.org';
const PASSWORD = 'Vm-Ui-Pa55word!';

/** What the deploy page shows of one step at one moment. */
interface Seen { no: number; label: string; status: string; lane: string; waits: string }

/** The steps as the page draws them now (null while the page reloads). */
async function stepsOnPage(page: Page): Promise<Seen[] | null> {
  try {
    return await page.evaluate(() => [...document.querySelectorAll('#steps li[data-step]')].map((li) => {
      const bare = li.cloneNode(true) as Element;
      for (const el of bare.querySelectorAll('.status, .waits')) el.remove();
      return {
        no: Number(li.getAttribute('data-step')),
        label: (bare.textContent ?? '').trim(),
        status: li.querySelector('.status')?.className.replace(/^status status-/, '') ?? '',
        lane: li.closest('.lane')?.querySelector('.lane-title')?.textContent ?? '',
        waits: li.querySelector('.waits')?.textContent ?? '',
      };
    }));
  } catch {
    return null; // the page is between two documents (its reload into the panel)
  }
}

for (const dialect of DIALECTS) {
  describe(`a VM's deploy page, live (${dialect})`, () => {
    let h: UiHarness;
    let lab: KvmLab;

    before(async () => {
      h = await startUi(dialect);
      // Slower Proxmox tasks than the lab's default: the page polls every 1.5 s, the deployment takes several polls.
      lab = await startKvmLab(h.url, {
        pdns: { url: h.fleet.pdns!.server.url, apiKey: h.fleet.pdns!.server.apiKey },
        emulator: { taskMs: { qmclone: 2500, qmigrate: 2500, resize: 300, qmstart: 1200, qmstop: 300, qmshutdown: 300, qmdestroy: 300 } },
      });
    });
    after(async () => {
      await h?.close();
      await lab?.close();
    });

    test('the customer follows the VM deploying, step by step, and ends on the VM card', async () => {
      const ordered = await call(h.url, 'POST', '/v1/services', kvmOrderBody(SERVICE, HOSTNAME, { password: PASSWORD }));
      assert.equal(ordered.status, 200, JSON.stringify(ordered.body));
      assert.equal(ordered.body.state, 'deploying');

      const ctx = await h.context();
      const page = await ctx.newPage();
      const fromPage: string[] = [];
      page.on('request', (r) => fromPage.push(r.url()));
      await page.goto(await h.link({ audience: 'client', whmcs_service_id: SERVICE }));
      await page.waitForURL(`**/ui/service/${SERVICE}`);
      assert.equal(await page.locator('#deploy h1').textContent(), 'Service is being deployed');
      assert.match(await page.locator('#deploy').innerText(), new RegExp(`Host name: ${HOSTNAME.replace(/\./g, '\\.')}`));

      // Follow the page as its script redraws it, until it reloads into the panel.
      const snapshots: Seen[][] = [];
      let midShot = false;
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        if (await page.locator('#vm').count() > 0) break;
        const seen = await stepsOnPage(page);
        if (seen && seen.length > 0) {
          const last = snapshots.at(-1);
          if (!last || JSON.stringify(last) !== JSON.stringify(seen)) snapshots.push(seen);
          if (!midShot && seen.some((s) => s.status === 'succeeded') && seen.some((s) => s.status !== 'succeeded')) {
            await h.shot(page, `kvm-deploy-live-${dialect}`);
            midShot = true;
          }
        }
        await page.waitForTimeout(150);
      }
      const svc = (await call(h.url, 'GET', `/v1/services/${SERVICE}`)).body.service;
      assert.equal(svc.state, 'active', `the VM deployed: ${JSON.stringify(svc.progress?.steps?.filter((s: { error: string | null }) => s.error))}`);
      await page.locator('#vm').waitFor({ timeout: 10_000 });

      // Every step showed with its label; the page changed while the VM deployed (it is live, not one render).
      const first = snapshots[0]!;
      const final = snapshots.at(-1)!;
      assert.ok(snapshots.length >= 3, `the page was redrawn as the steps moved: ${snapshots.length} different pictures`);
      assert.equal(first.length, svc.progress.total, 'every step of the chain is on the page from the start');
      assert.ok(first.filter((s) => s.status === 'succeeded').length < final.filter((s) => s.status === 'succeeded').length, 'steps completed while the page was watched');
      const statusesOf = (no: number) => new Set(snapshots.map((snap) => snap.find((s) => s.no === no)?.status));
      const clone = first.find((s) => s.label.startsWith('Cloning the template'))!;
      assert.ok(clone, `a clone step: ${first.map((s) => s.label).join(' | ')}`);
      assert.ok(statusesOf(clone.no).has('running'), 'the clone was seen running');
      assert.ok(svc.progress.steps.every((s: { status: string }) => s.status === 'succeeded'), 'then every step completed');
      assert.ok(midShot, 'the page was seen half-way (some steps done, some not)');
      const labels = first.map((s) => s.label);
      for (const label of ['Allocating IP addresses on lab', 'Cloning the template on pve1', 'Recording the addresses in WHMCS', 'Publishing DNS records on pdns',
        'Moving the VM to its node on pve2', 'Setting CPU and RAM on pve2', 'Configuring cloud-init on pve2', 'Starting the VM on pve2', 'Checking that the VM runs on pve2']) {
        assert.ok(labels.includes(label), `"${label}" is on the page: ${labels.join(' | ')}`);
      }
      // Numbered from 1, every step once, whatever lane it is drawn in.
      assert.deepEqual(first.map((s) => s.no).sort((a, b) => a - b), first.map((_, i) => i + 1));
      // The side steps (addresses to WHMCS, DNS) run beside the VM's own steps: lanes of their own, titled.
      const laneOf = (prefix: string) => first.find((s) => s.label.startsWith(prefix))!.lane;
      assert.equal(laneOf('Cloning the template'), 'pve1 · pve2');
      assert.equal(laneOf('Checking that the VM runs'), 'pve1 · pve2');
      assert.equal(laneOf('Publishing DNS records'), 'pdns');
      assert.equal(laneOf('Recording the addresses in WHMCS'), laneOf('Allocating IP addresses'));
      assert.notEqual(laneOf('Recording the addresses in WHMCS'), laneOf('Cloning the template'));
      // The last step waits for the DNS lane too, and says so.
      const dnsNo = first.find((s) => s.label.startsWith('Publishing DNS records'))!.no;
      assert.match(first.find((s) => s.label.startsWith('Checking that the VM runs'))!.waits, new RegExp(`after steps? .*\\b${dnsNo}\\b`));

      // The panel: the VM card with what the cluster really has.
      const vm = lab.vmOf(SERVICE);
      assert.ok(vm, 'the VM exists on the emulator');
      const ips = await lab.addresses(SERVICE);
      assert.equal(ips.length, 2);
      assert.equal((await page.locator('#vm .vmid').textContent())?.trim(), String(vm.vmid));
      assert.equal((await page.locator('#vm .node').textContent())?.trim(), vm.node);
      assert.equal(vm.node, 'pve2');
      const shown = (await page.locator('#vm td.ip').allTextContents()).map((t) => t.replace(/\/\d+$/, '')).sort();
      assert.deepEqual(shown, ips);
      const card = await page.locator('#vm').innerText();
      assert.match(card, new RegExp(HOSTNAME.replace(/\./g, '\\.')));
      assert.match(card, /Debian 12/);
      assert.match(card, /running/);
      assert.match(card, /2 core/);
      assert.match(card, /2\.0 GB/);
      assert.match(card, /20 GB/);
      assert.doesNotMatch(card, /Profile|Cluster/, 'the profile and cluster are the admin\'s words');
      const html = await page.content();
      for (const secret of [PASSWORD, lab.pve.token.secret]) assert.ok(!html.includes(secret), 'no secret on the page');
      await h.shot(page, `kvm-deploy-done-${dialect}`);
      // The browser asked only the daemon's own pages.
      assert.ok(fromPage.every((u) => u.startsWith(h.url)), fromPage.filter((u) => !u.startsWith(h.url)).join(', '));

      // On a phone the lanes stack and the card fits.
      const phone = await (await h.context({ phone: true })).newPage();
      await phone.goto(await h.link({ audience: 'client', whmcs_service_id: SERVICE }));
      await phone.locator('#vm').waitFor();
      await h.shot(phone, `kvm-service-phone-${dialect}`);
      await phone.context().close();
      await ctx.close();
    });

    test('the admin service page and the WHMCS fragments show the same VM', async () => {
      const vm = lab.vmOf(SERVICE)!;
      const ips = await lab.addresses(SERVICE);
      const ctx = await h.context();
      const page = await ctx.newPage();
      await page.goto(await h.link({ audience: 'admin', whmcs_service_id: SERVICE }));
      await page.locator('#vm').waitFor();
      const card = await page.locator('#vm').innerText();
      assert.equal((await page.locator('#vm .vmid').textContent())?.trim(), String(vm.vmid));
      assert.equal((await page.locator('#vm .node').textContent())?.trim(), 'pve2');
      assert.match(card, /vps-small/, 'the profile');
      assert.match(card, /lab/, 'the cluster');
      for (const ip of ips) assert.ok(card.includes(ip), `${ip} on the admin page`);
      // The timeline names each step's server: the VM's node, the DNS server.
      const timeline = await page.locator('#timeline').innerText();
      assert.match(timeline, /Cloning the template on pve1/);
      assert.match(timeline, /Publishing DNS records on pdns/);
      await h.shot(page, `kvm-admin-service-${dialect}`);
      await ctx.close();

      for (const audience of ['client', 'admin']) {
        const r = await call(h.url, 'GET', `/v1/services/${SERVICE}/view?audience=${audience}`);
        assert.equal(r.status, 200);
        const html = r.body.html as string;
        assert.ok(html.includes(`<tr><th>VMID</th><td>${vm.vmid}</td></tr>`), `${audience}: ${html}`);
        assert.ok(html.includes('<tr><th>Node</th><td>pve2</td></tr>'), audience);
        for (const ip of ips) assert.ok(html.includes(ip), `${audience}: ${ip}`);
        assert.equal(html.includes('<tr><th>Profile</th>'), audience === 'admin');
        assert.ok(!html.includes(PASSWORD) && !html.includes(lab.pve.token.secret), 'no secret in the fragment');
      }
    });
  });
}
