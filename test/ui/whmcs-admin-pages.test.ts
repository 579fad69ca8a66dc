// POST /v1/admin/pages, the route the WHMCS addon fetches the daemon's admin pages through: every
// admin page comes back in its embedded form (no page chrome, no link or form left pointing at
// /ui, the stylesheet scoped), a bad request is refused naming its field and changes nothing, an
// unsigned one is refused, and a form's result is recorded with the WHMCS admin as its actor.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { call, createBody } from '../helpers/api.ts';
import { DIALECTS } from '../helpers/db.ts';
import { startRoutesWorld, type RoutesWorld } from '../helpers/world.ts';
import { addonLink, scopeCss } from '../../daemon/pages/embed.ts';

const ADMIN = { id: 7, username: 'jane' };
const ask = (w: RoutesWorld, body: Record<string, unknown>, secret?: string) => call(w.daemon.url, 'POST', '/v1/admin/pages', { admin: ADMIN, ...body }, secret);

test('addonLink: a /ui/admin path becomes the addon\'s link; the pages\' own paging travels as pg', () => {
  const base = 'addonmodules.php?module=hostbridge';
  assert.equal(addonLink(base, '/ui/admin'), `${base}&page=services`);
  assert.equal(addonLink(base, '/ui/admin/services/12?tab=tasks'), `${base}&page=services/12&tab=tasks`);
  assert.equal(addonLink(base, '/ui/admin/log?kind=all&page=3'), `${base}&page=log&kind=all&pg=3`);
  assert.equal(addonLink(base, '/ui/admin/tasks?type=a b&service=<x>'), `${base}&page=tasks&type=a%20b&service=%3Cx%3E`);
});

test('scopeCss puts every rule under the scope, media blocks included', () => {
  const css = scopeCss(':root { --a: 1; }\nbody { margin: 0; }\n/* c { } */\na, .x td { color: red; }\n@media (max-width: 9px) { main { padding: 0; } }', '.hb');
  assert.equal(css, '.hb { --a: 1; }\n.hb { margin: 0; }\n.hb a, .hb .x td { color: red; }\n@media (max-width: 9px) {\n.hb main { padding: 0; }\n}\n');
});

for (const dialect of DIALECTS) {
  describe(`POST /v1/admin/pages (${dialect})`, () => {
    let w: RoutesWorld;
    before(async () => {
      w = await startRoutesWorld(dialect, 'hb-admin-pages-');
      const r = await call(w.daemon.url, 'POST', '/v1/services', createBody(8101, w.fleet.groupId));
      assert.equal(r.status, 200, JSON.stringify(r.body));
    });
    after(async () => { await w?.close(); });

    test('every admin page comes back embedded, with nothing pointing at /ui', async () => {
      const task = await w.tdb.db('mod_hostbridge_tasks').first('id');
      const server = await w.tdb.db('mod_hostbridge_servers').first('id');
      const pages = ['', 'services', 'overview', 'services/8101', 'tasks', `tasks/${task.id}`, 'servers', 'servers/new', `servers/${server.id}/edit`,
        'groups', 'groups/new', `groups/${w.fleet.groupId}/edit`, 'log', 'statistics', 'settings'];
      for (const page of pages) {
        const r = await ask(w, { page, query: 'module=hostbridge&page=x&tab=tasks' });
        assert.equal(r.status, 200, `${page}: ${JSON.stringify(r.body).slice(0, 300)}`);
        assert.equal(r.body.status, 200, `${page}: ${String(r.body.html).slice(0, 600)}`);
        const html = String(r.body.html);
        assert.ok(html.startsWith('<style>.hostbridge-ui {'), page);
        assert.match(html, /<div class="hostbridge-ui">/, page);
        assert.doesNotMatch(html, /<html|<head|<body|Log out|<script/i, page);
        assert.doesNotMatch(html, /(href|action)="\/ui/, page);
        assert.doesNotMatch(html, /name="_csrf"/, page);
        assert.match(html, /<a href="addonmodules.php\?module=hostbridge&amp;page=log"/, `${page}: the nav`);
      }
      // A filter form keeps the addon's module and page, as the browser replaces an action's query.
      const tasks = String((await ask(w, { page: 'tasks' })).body.html);
      assert.match(tasks, /<form method="get" action="addonmodules.php" class="row card" id="filters"><input type="hidden" name="module" value="hostbridge"><input type="hidden" name="page" value="tasks">/);
      // A page that is not there is the pages' own 404, inside the addon.
      const none = await ask(w, { page: 'nosuchpage' });
      assert.equal(none.body.status, 404);
      assert.match(String(none.body.html), /There is no such page/);
    });

    test('a form runs the page\'s own action as the WHMCS admin, and the log names them', async () => {
      const r = await ask(w, { method: 'POST', page: 'tasks/clean', form: 'token=t&days=abc' });
      assert.deepEqual(r.body, { ok: true, status: 303, location: 'addonmodules.php?module=hostbridge&page=tasks' });
      const next = await ask(w, { page: 'tasks', token: 'whmcs-token-1' });
      assert.match(String(next.body.html), /Older than \(days\) must be a whole number between 0 and 3650; nothing was changed\./);
      assert.match(String(next.body.html), /<input type="hidden" name="token" value="whmcs-token-1">/);
      const ok = await ask(w, { method: 'POST', page: 'tasks/clean', form: 'days=30' });
      assert.equal(ok.body.status, 303);
      const rows = await w.tdb.db('mod_hostbridge_admin_actions').orderBy('id').select('actor', 'via', 'ok', 'message');
      assert.deepEqual(rows.map((x) => [x.actor, x.via, Boolean(Number(x.ok)), x.message]), [
        ['WHMCS admin jane (#7)', 'whmcs', false, 'Older than (days) must be a whole number between 0 and 3650; nothing was changed.'],
        ['WHMCS admin jane (#7)', 'whmcs', true, 'Cleaned 0 finished task(s) older than 30 day(s).'],
      ]);
      const log = String((await ask(w, { page: 'log', query: 'kind=actions' })).body.html);
      assert.match(log, /WHMCS admin jane \(#7\)/);
      // A WHMCS username is shown as text, whatever it holds.
      const hostile = { id: 8, username: '<img src=x onerror=alert(1)>"' };
      await call(w.daemon.url, 'POST', '/v1/admin/pages', { admin: hostile, method: 'POST', page: 'tasks/clean', form: 'days=1' });
      const shown = String((await ask(w, { page: 'log', query: 'kind=actions' })).body.html);
      assert.ok(shown.includes('WHMCS admin &lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;&quot; (#8)'), shown.slice(0, 2000));
      assert.ok(!shown.includes('<img'));
    });

    test('a bad request is refused, naming the field, and changes nothing', async () => {
      const sessions = await w.tdb.db('mod_hostbridge_ui_sessions').count({ n: '*' });
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ admin: undefined }, 'admin'],
        [{ admin: { id: 0, username: 'x' } }, 'admin.id'],
        [{ admin: { id: 3, username: '' } }, 'admin.username'],
        [{ admin: { id: 3, username: 'a\nb' } }, 'admin.username'],
        [{ method: 'DELETE' }, 'method'],
        [{ page: '../etc' }, 'page'],
        [{ page: 'Tasks' }, 'page'],
        [{ base: 'https://evil.example/?module=x' }, 'base'],
        [{ form: 5 }, 'form'],
        [{ query: 'x'.repeat(4001) }, 'query'],
      ];
      for (const [body, field] of cases) {
        const r = await call(w.daemon.url, 'POST', '/v1/admin/pages', { admin: ADMIN, ...body });
        assert.equal(r.status, 422, `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.field, field);
      }
      assert.deepEqual(await w.tdb.db('mod_hostbridge_ui_sessions').count({ n: '*' }), sessions);
      // Unsigned (a wrong secret): refused before anything runs.
      const forged = await ask(w, { method: 'POST', page: 'tasks/clean', form: 'days=0' }, 'not-the-secret-at-all');
      assert.equal(forged.status, 401);
      assert.equal(Number((await w.tdb.db('mod_hostbridge_admin_actions').count({ n: '*' }))[0]!.n), 3);
    });
  });
}
