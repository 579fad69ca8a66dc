// The IP pool admin pages over plain HTTP (no browser), on SQLite and MariaDB: the list with used
// and free counts, the add form refusing a bad network with the field named and saving nothing,
// a pool's page showing who holds each address (linked to the service's page), reserve and
// unreserve forms behind the CSRF check, and removal refused while a service holds an address.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, type TestDb } from '../helpers/db.ts';
import { startDaemonWorld, type DaemonWorld } from '../helpers/world.ts';
import { createSession } from '../../daemon/pages/auth.ts';
import { T } from '../../daemon/common/tables.ts';
import { allocateAddresses } from '../../daemon/fleet/ip-pools.ts';

for (const dialect of DIALECTS) {
  describe(`IP pool pages (${dialect})`, () => {
    let world: DaemonWorld;
    let tdb: TestDb;
    let url: string;
    let cookie: string;
    let csrf: string;
    before(async () => {
      world = await startDaemonWorld(dialect, 'hb-ip-pool-pages-');
      await world.daemon.engine.stop(1000);
      tdb = world.tdb;
      url = world.daemon.url;
      // Writes go through the daemon's own connection: on SQLite a second connection's write could wait on
      // the daemon's transaction while blocking this process (the daemon runs in it), until busy_timeout.
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
    const form = { name: 'public', cluster_id: '2', node: '', bridge: 'vmbr0', vlan: '', network: '198.51.100.0/28', gateway: '198.51.100.1', prefix: '', ranges: '', resolvers: '198.51.100.53\n2001:db8::53', enabled: 'true' };

    test('the add form refuses a bad network naming it and saves nothing; a good one lands on the pool page', async () => {
      const empty = await get('/ui/admin/ip-pools');
      assert.equal(empty.status, 200);
      assert.match(empty.html, /No IP pools yet/);
      const bad = await post('/ui/admin/ip-pools', { ...form, network: '198.51.100.3/28' });
      assert.equal(bad.status, 422);
      assert.match(bad.html, /id="form-error">network: 198\.51\.100\.3\/28 has host bits set: the network is 198\.51\.100\.0\/28\. Nothing was saved\./);
      assert.match(bad.html, /value="198\.51\.100\.3\/28"/, 'what was typed is shown again');
      assert.equal(Number((await tdb.db(T.ipPools).count({ n: '*' }).first())!.n), 0);
      const noCsrf = await post('/ui/admin/ip-pools', form, false);
      assert.equal(noCsrf.status, 403);
      assert.equal(Number((await tdb.db(T.ipPools).count({ n: '*' }).first())!.n), 0);

      const ok = await post('/ui/admin/ip-pools', form);
      assert.equal(ok.status, 303, ok.html.slice(0, 300));
      assert.match(ok.location!, /^\/ui\/admin\/ip-pools\/\d+$/);
      const list = await get('/ui/admin/ip-pools');
      assert.match(list.html, /<td class="used">0<\/td>/);
      assert.match(list.html, /<td class="free">13<\/td>/);
    });

    test('a pool page shows each holder linked to its service; reserve, unreserve and a refused removal', async () => {
      const id = Number((await tdb.db(T.ipPools).first('id'))!.id);
      const [svc] = await world.daemon.core.db(T.services).insert({ whmcs_service_id: 4242, mode: 'kvm', state: 'active', created_at: 0, updated_at: 0 });
      await allocateAddresses(world.daemon.core.db, Number(svc), { clusterId: 2, node: 'pve3', bridge: 'vmbr0', vlan: null }, { v4: 1, v6: 0 });

      const reserved = await post(`/ui/admin/ip-pools/${id}/reserve`, { ip: '198.51.100.9', note: 'core switch' });
      assert.equal(reserved.status, 303);
      const refused = await post(`/ui/admin/ip-pools/${id}/reserve`, { ip: '198.51.100.2', note: 'take it' });
      assert.equal(refused.status, 303);
      let p = await get(`/ui/admin/ip-pools/${id}`);
      assert.match(p.html, /ip: 198\.51\.100\.2 is held by service 4242/, 'the refusal is the next page\'s message');
      assert.match(p.html, /<tr data-ip="198\.51\.100\.2">[\s\S]*?<a href="\/ui\/admin\/services\/4242">service #4242<\/a>/);
      assert.match(p.html, /<tr data-ip="198\.51\.100\.9">[\s\S]*?reserved[\s\S]*?core switch[\s\S]*?Unreserve/);
      assert.match(p.html, /<span id="pool-used">2<\/span> used, <span id="pool-free">11<\/span> free/);

      const removal = await post(`/ui/admin/ip-pools/${id}/remove`, {});
      assert.equal(removal.status, 303);
      assert.equal(removal.location, `/ui/admin/ip-pools/${id}`);
      p = await get(`/ui/admin/ip-pools/${id}`);
      assert.match(p.html, /still has 1 address\(es\) held by services/);

      assert.equal((await post(`/ui/admin/ip-pools/${id}/unreserve`, { ip: '198.51.100.9' })).status, 303);
      p = await get(`/ui/admin/ip-pools/${id}`);
      assert.doesNotMatch(p.html, /data-ip="198\.51\.100\.9"/);
      assert.match(p.html, /198\.51\.100\.9 is free again/);

      const edit = await get(`/ui/admin/ip-pools/${id}/edit`);
      assert.match(edit.html, /name="network" value="198\.51\.100\.0\/28"/);
      const saved = await post(`/ui/admin/ip-pools/${id}`, { ...form, name: 'public-renamed', ranges: '198.51.100.2-198.51.100.8' });
      assert.equal(saved.status, 303);
      assert.equal((await tdb.db(T.ipPools).where('id', id).first('name'))!.name, 'public-renamed');
      assert.equal((await get('/ui/admin/ip-pools/99999')).status, 404);
    });
  });
}
