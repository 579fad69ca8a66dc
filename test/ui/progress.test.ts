// One progress model: a Split deployment stopped half-way (its mail node is down, so the web steps
// are done and the first mail step waits to retry) reads the same "n of m" in the WHMCS client
// fragment, the customer's deploy page and its progress.json, the WHMCS admin tab and the admin
// service page. Also: the daemon's root sends a browser to the pages.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Daemon } from '../../daemon/runtime.ts';
import { DIALECTS, waitFor } from '../helpers/db.ts';
import { call, createBody } from '../helpers/api.ts';
import type { EmulatedFleet, RegisteredFleet } from '../helpers/fleet.ts';
import { startFleetWorld, type FleetWorld } from '../helpers/world.ts';

const SERVICE = 7001;

for (const dialect of DIALECTS) {
  describe(`a deployment half-way reads the same everywhere (${dialect})`, () => {
    let world: FleetWorld;
    let daemon: Daemon;
    let fleet: EmulatedFleet;
    let reg: RegisteredFleet;

    before(async () => {
      world = await startFleetWorld(dialect, 'hb-progress-', { latencyMs: 0, web: 1, mail: 1, dns: 1, combo: 0 }, { HOSTBRIDGE_POLL_MS: '50' });
      ({ daemon, fleet, reg } = world);
    });
    after(async () => {
      await fleet?.mail[0]?.setDown(false).catch(() => {});
      await world?.close();
    });

    /** A session cookie from a signed link, as a browser gets it when it opens the link. */
    async function sessionFrom(body: Record<string, unknown>): Promise<string> {
      const link = await call(daemon.url, 'POST', '/v1/ui-links', body);
      assert.equal(link.status, 200, JSON.stringify(link.body));
      const opened = await fetch(`${daemon.url}${link.body.path}`, { redirect: 'manual' });
      assert.equal(opened.status, 200);
      const cookie = opened.headers.getSetCookie().find((c) => c.startsWith('hb_session='));
      assert.ok(cookie, 'opening the link sets the session cookie');
      return cookie.split(';')[0]!;
    }

    async function pageHtml(path: string, cookie: string): Promise<string> {
      const res = await fetch(`${daemon.url}${path}`, { headers: { cookie }, redirect: 'manual' });
      assert.equal(res.status, 200, `${path}: ${res.status}`);
      return res.text();
    }

    /** The "n of m" a rendering shows, as numbers. */
    function nOfM(html: string, pattern: RegExp, where: string): [number, number] {
      const m = pattern.exec(html.replace(/\s+/g, ' '));
      assert.ok(m, `${where} shows no "n of m": ${html.slice(0, 400)}`);
      return [Number(m[1]), Number(m[2])];
    }

    test('the WHMCS client fragment and the customer page show the same n of m mid-deployment', async () => {
      await fleet.mail[0]!.setDown(true);
      const created = await call(daemon.url, 'POST', '/v1/services', createBody(SERVICE, reg.groupId));
      assert.equal(created.status, 200, JSON.stringify(created.body));
      // Half-way: the web server's steps (a lane of their own) have succeeded and the first mail step
      // has failed once and waits to retry; the steps after it wait for it (the first retry is 30 s
      // away by default, so nothing moves while the pages are read).
      type Step = { label: string; status: string; attempts: number };
      let failing: Step | undefined;
      const view = await waitFor('the chain to wait at its first mail step', async () => {
        const r = await call(daemon.url, 'GET', `/v1/services/${SERVICE}`);
        const p = r.body.service?.progress;
        const steps: Step[] = p?.steps ?? [];
        failing = steps.find((s) => s.attempts >= 1 && s.status === 'queued');
        const still = failing && steps.every((s) => s === failing || s.status === 'succeeded' || s.status === 'waiting');
        return p && p.done > 0 && still ? r.body.service : null;
      }, 60_000, 100);
      const { done, total } = view.progress as { done: number; total: number };
      assert.ok(done > 0 && done < total, `mid-deployment: ${done} of ${total}`);
      assert.match(failing!.label, /mail/i, 'the chain waits at a step on the mail node');

      const fragment = await call(daemon.url, 'GET', `/v1/services/${SERVICE}/view?audience=client`);
      assert.equal(fragment.status, 200);
      assert.match(fragment.body.html, /being deployed/);
      const inFragment = nOfM(fragment.body.html, /Progress: (\d+) of (\d+) steps completed/, 'the WHMCS client fragment');

      const client = await sessionFrom({ audience: 'client', whmcs_service_id: SERVICE });
      const customer = await pageHtml(`/ui/service/${SERVICE}`, client);
      assert.match(customer, /being deployed/);
      const onPage = nOfM(customer, /Progress: (\d+) of (\d+) steps completed/, 'the customer page');
      const json = await (await fetch(`${daemon.url}/ui/service/${SERVICE}/progress.json`, { headers: { cookie: client } })).json() as { done: number; total: number };

      const adminTab = await call(daemon.url, 'GET', `/v1/services/${SERVICE}/view?audience=admin`);
      const inAdminTab = nOfM(adminTab.body.html, /(\d+) of (\d+) steps/, 'the WHMCS admin tab');
      const admin = await sessionFrom({ audience: 'admin', whmcs_service_id: SERVICE });
      const adminPage = nOfM(await pageHtml(`/ui/admin/services/${SERVICE}`, admin), /\d+% · (\d+) of (\d+) steps/, 'the admin service page');

      assert.deepEqual(inFragment, [done, total], 'the WHMCS client fragment');
      assert.deepEqual(onPage, [done, total], 'the customer page');
      assert.deepEqual([json.done, json.total], [done, total], 'progress.json');
      assert.deepEqual(inAdminTab, [done, total], 'the WHMCS admin tab');
      assert.deepEqual(adminPage, [done, total], 'the admin service page');
    });

    test('GET / sends a browser to the pages, which send it on to the login', async () => {
      const root = await fetch(`${daemon.url}/`, { redirect: 'manual' });
      assert.equal(root.status, 302);
      assert.equal(root.headers.get('location'), '/ui/');
      const pages = await fetch(new URL(root.headers.get('location')!, daemon.url), { redirect: 'manual' });
      assert.equal(pages.status, 303);
      assert.equal(pages.headers.get('location'), '/ui/login');
      const login = await fetch(new URL('/ui/login', daemon.url));
      assert.equal(login.status, 200);
      assert.match(await login.text(), /Admin login/);
    });
  });
}
