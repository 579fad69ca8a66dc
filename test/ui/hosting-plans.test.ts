// The hosting plan admin pages over plain HTTP (no browser), on SQLite and MariaDB: the list and
// the nav entry, the add form refusing a bad template naming the field and saving nothing (what
// was typed shown again), a good plan saved with its defaults for the empty fields, the edit form
// with the stored values, removal behind the CSRF check, refused while a live service uses the plan.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, type TestDb } from '../helpers/db.ts';
import { startDaemonWorld, type DaemonWorld } from '../helpers/world.ts';
import { createSession } from '../../daemon/pages/auth.ts';
import { T } from '../../daemon/common/tables.ts';
import { getHostingPlan } from '../../daemon/fleet/hosting-plans.ts';

for (const dialect of DIALECTS) {
  describe(`hosting plan pages (${dialect})`, () => {
    let world: DaemonWorld;
    let tdb: TestDb;
    let url: string;
    let cookie: string;
    let csrf: string;
    before(async () => {
      world = await startDaemonWorld(dialect, 'hb-hosting-plan-pages-');
      await world.daemon.engine.stop(1000);
      tdb = world.tdb;
      url = world.daemon.url;
      const { token, session } = await createSession(world.daemon.core.db, 'admin', 'password');
      cookie = `hb_session=${token}`;
      csrf = session.csrf;
    });
    after(async () => { await world?.close(); });

    const get = async (path: string) => {
      const r = await fetch(`${url}${path}`, { headers: { cookie }, redirect: 'manual' });
      return { status: r.status, html: await r.text() };
    };
    const post = async (path: string, form: Record<string, string>, withCsrf = true) => {
      const body = new URLSearchParams({ ...(withCsrf ? { _csrf: csrf } : {}), ...form });
      const r = await fetch(`${url}${path}`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });
      return { status: r.status, location: r.headers.get('location'), html: await r.text() };
    };
    const count = async () => Number((await tdb.db(T.hostingPlans).count({ n: '*' }).first())!.n);

    test('the list, the nav entry, a refused form that saves nothing, a saved plan with its defaults', async () => {
      const empty = await get('/ui/admin/hosting-plans');
      assert.equal(empty.status, 200);
      assert.match(empty.html, /No hosting plans yet/);
      assert.match(empty.html, /href="\/ui\/admin\/hosting-plans"[^>]*>Hosting plans</);
      const fresh = await get('/ui/admin/hosting-plans/new');
      assert.match(fresh.html, /name="web_backend_template" value="default"/, 'a new plan starts at the defaults');

      const bad = await post('/ui/admin/hosting-plans', { name: 'web-pro', web_aliases: '5', web_backend_template: 'PHP 8.3 <b>' });
      assert.equal(bad.status, 422);
      assert.match(bad.html, /id="form-error">web\.backend_template: &quot;PHP 8\.3 &lt;b&gt;&quot; is not a HestiaCP template name/);
      assert.match(bad.html, /Nothing was saved\./);
      assert.match(bad.html, /name="web_aliases" value="5"/, 'what was typed is shown again');
      assert.doesNotMatch(bad.html, /<b>/, 'typed text stays inert');
      assert.equal(await count(), 0);
      assert.equal((await post('/ui/admin/hosting-plans', { name: 'web-pro' }, false)).status, 403);
      assert.equal(await count(), 0);

      const ok = await post('/ui/admin/hosting-plans', { name: 'web-pro', web_aliases: '5', web_backend_template: 'PHP-8_3', mail_accounts: 'unlimited', unified_backups: '4' });
      assert.equal(ok.status, 303, ok.html.slice(0, 300));
      const id = Number((await tdb.db(T.hostingPlans).first('id'))!.id);
      const stored = await getHostingPlan(tdb.db, id);
      assert.equal(stored?.web.aliases, 5);
      assert.equal(stored?.web.backend_template, 'PHP-8_3');
      assert.equal(stored?.web.domains, 1, 'an empty field takes its default');
      assert.equal(stored?.unified.backups, 4);
      const list = await get('/ui/admin/hosting-plans');
      assert.match(list.html, /<tr data-plan="\d+">[\s\S]*?web-pro[\s\S]*?default \/ PHP-8_3 \/ default/);
      const edit = await get(`/ui/admin/hosting-plans/${id}/edit`);
      assert.match(edit.html, /name="web_aliases" value="5"/);
      const saved = await post(`/ui/admin/hosting-plans/${id}`, { name: 'web-pro', web_aliases: '7' });
      assert.equal(saved.status, 303);
      assert.equal((await getHostingPlan(tdb.db, id))?.web.aliases, 7);
      assert.equal((await getHostingPlan(tdb.db, id))?.web.backend_template, 'default', 'a PUT: a field left empty takes its default');
    });

    test('removal: refused while a live service was built from the plan, done when none is', async () => {
      const id = Number((await tdb.db(T.hostingPlans).first('id'))!.id);
      await world.daemon.core.db(T.services).insert({
        whmcs_service_id: 4343, mode: 'split', state: 'active', created_at: 0, updated_at: 0,
        params: JSON.stringify({ product: { mode: 'split', hostingPlan: { id, name: 'web-pro' } } }),
      });
      await post(`/ui/admin/hosting-plans/${id}/remove`, {});
      const after1 = await get('/ui/admin/hosting-plans');
      assert.match(after1.html, new RegExp(`hosting plan ${id} is in use by 1 service`));
      assert.equal(await count(), 1);
      await world.daemon.core.db(T.services).where('whmcs_service_id', 4343).update({ state: 'terminated' });
      const removed = await post(`/ui/admin/hosting-plans/${id}/remove`, {});
      assert.equal(removed.status, 303);
      assert.equal(await count(), 0);
    });
  });
}
