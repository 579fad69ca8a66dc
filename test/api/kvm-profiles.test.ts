// /v1/kvm-profiles through the signed API on SQLite and MariaDB: create, list, show, replace and
// delete; every bad body is refused with the field named (schema errors and range errors alike)
// and nothing is saved; an unsigned call is refused; a profile a live service uses is not deleted.
// Then the admin pages over plain HTTP with a session from a signed link: the list, the form with
// its errors (nothing saved, what was typed kept), the CSRF check, edit and remove.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { startDaemonWorld, type DaemonWorld } from '../helpers/world.ts';
import { T } from '../../daemon/common/tables.ts';

const PROFILE = {
  name: 'vps-small', cluster_id: 1, node: null, cores: 2, sockets: 1, memory_mb: 2048,
  system_disk: { size_gb: 25, storage: 'local-lvm', iops_rd: 1500, iops_wr: null, mbps_rd: 120.5, mbps_wr: null },
  additional_disk: null, network: { bridge: 'vmbr0', vlan: null, rate_mbps: 12.5, model: 'virtio' },
  firewall: { enable: true, dhcp: false, ndp: true, macfilter: true, ipfilter: true, log_level_in: 'nolog', log_level_out: 'nolog', policy_in: 'DROP', policy_out: 'ACCEPT' },
  ipv4: 1, ipv6: 1, os_templates: ['debian-12', 'ubuntu-24.04'], default_os: 'debian-12', clone_mode: 'linked', bandwidth_gb: null, snapshots: 1, backups: 2,
  client_features: ['power', 'snapshots', 'graphs'], isos: ['local:iso/debian-12.iso'], firewall_rules: 5,
};

for (const dialect of DIALECTS) {
  describe(`/v1/kvm-profiles (${dialect})`, () => {
    let world: DaemonWorld;
    let url: string;
    before(async () => {
      world = await startDaemonWorld(dialect, 'hb-kvm-profiles-');
      await world.daemon.engine.stop(1000);
      url = world.daemon.url;
    });
    after(async () => { await world?.close(); });
    const count = async () => Number((await world.tdb.db(T.kvmProfiles).count({ n: '*' }).first())!.n);

    test('create, list, show, replace, delete', async () => {
      const created = await call(url, 'POST', '/v1/kvm-profiles', PROFILE);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id as number;
      const listed = await call(url, 'GET', '/v1/kvm-profiles');
      assert.equal(listed.status, 200);
      assert.equal(listed.body.profiles.length, 1);
      const { id: shownId, created_at, updated_at, cpu_type, balloon_mb, ...rest } = listed.body.profiles[0];
      assert.equal(shownId, id);
      assert.ok(created_at > 0 && updated_at > 0);
      assert.equal(cpu_type, null);
      assert.equal(balloon_mb, null);
      assert.deepEqual(rest, PROFILE);
      const shown = await call(url, 'GET', `/v1/kvm-profiles/${id}`);
      assert.equal(shown.status, 200);
      assert.deepEqual(shown.body.profile, listed.body.profiles[0]);

      const put = await call(url, 'PUT', `/v1/kvm-profiles/${id}`, { ...PROFILE, name: 'vps-large', cores: 8, memory_mb: 16384 });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const after = (await call(url, 'GET', `/v1/kvm-profiles/${id}`)).body.profile;
      assert.deepEqual([after.name, after.cores, after.memory_mb], ['vps-large', 8, 16384]);

      const del = await call(url, 'DELETE', `/v1/kvm-profiles/${id}`);
      assert.equal(del.status, 200, JSON.stringify(del.body));
      assert.equal((await call(url, 'GET', `/v1/kvm-profiles/${id}`)).status, 404);
      assert.equal(await count(), 0);
    });

    test('bad bodies are refused naming the field, and nothing is saved', async () => {
      const cases: Array<[Record<string, unknown>, number, string, RegExp]> = [
        [{ ...PROFILE, name: undefined }, 422, 'name', /is required/],
        [{ ...PROFILE, colour: 'blue' }, 422, 'colour', /not a known field/],
        [{ ...PROFILE, cores: '4' }, 422, 'cores', /must be integer/],
        [{ ...PROFILE, cores: 0 }, 422, 'cores', /0 is out of range: from 1–512/],
        [{ ...PROFILE, memory_mb: 1 << 30 }, 422, 'memory_mb', /out of range: from 16–4,194,304 MiB/],
        [{ ...PROFILE, system_disk: { ...PROFILE.system_disk, size_gb: 100000 } }, 422, 'system_disk.size_gb', /from 1–65,536 GiB/],
        [{ ...PROFILE, system_disk: { ...PROFILE.system_disk, storage: 'local-lvm\nx' } }, 422, 'system_disk.storage', /not a Proxmox storage id/],
        [{ ...PROFILE, system_disk: { ...PROFILE.system_disk, mbps_rd: 100000.5 } }, 422, 'system_disk.mbps_rd', /100,000/],
        [{ ...PROFILE, network: { ...PROFILE.network, vlan: 0 } }, 422, 'network.vlan', /from 1–4,094/],
        [{ ...PROFILE, network: { ...PROFILE.network, bridge: 'vmbr0 tag=5' } }, 422, 'network.bridge', /not a bridge name/],
        [{ ...PROFILE, firewall: { ...PROFILE.firewall, policy_out: 'drop' } }, 422, 'firewall.policy_out', /ACCEPT, REJECT, DROP/],
        [{ ...PROFILE, default_os: 'centos-7' }, 422, 'default_os', /not one of the profile's OS templates/],
        [{ ...PROFILE, name: 'Has Spaces' }, 422, 'name', /slug/],
        [{ ...PROFILE, client_features: ['power', 'teleport'] }, 422, 'client_features.1', /not a panel feature/],
        [{ ...PROFILE, isos: ['local:images/disk.raw'] }, 422, 'isos.0', /not an ISO volid/],
        [{ ...PROFILE, firewall_rules: 51 }, 422, 'firewall_rules', /from 0 to 50/],
      ];
      for (const [bad, status, field, message] of cases) {
        const r = await call(url, 'POST', '/v1/kvm-profiles', JSON.parse(JSON.stringify(bad)));
        assert.equal(r.status, status, `${field}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.field, field, JSON.stringify(r.body));
        assert.match(r.body.error, message);
      }
      assert.equal((await call(url, 'POST', '/v1/kvm-profiles', '{"name":')).status, 400);
      assert.equal(await count(), 0, 'nothing was saved');

      const ok = await call(url, 'POST', '/v1/kvm-profiles', PROFILE);
      assert.equal(ok.status, 201);
      const clash = await call(url, 'POST', '/v1/kvm-profiles', PROFILE);
      assert.deepEqual([clash.status, clash.body.field], [409, 'name']);
      const badPut = await call(url, 'PUT', `/v1/kvm-profiles/${ok.body.id}`, { ...PROFILE, ipv4: 1000 });
      assert.deepEqual([badPut.status, badPut.body.field], [422, 'ipv4']);
      assert.equal((await call(url, 'GET', `/v1/kvm-profiles/${ok.body.id}`)).body.profile.ipv4, 1, 'the bad PUT changed nothing');
      assert.equal((await call(url, 'PUT', '/v1/kvm-profiles/424242', PROFILE)).status, 404);
      assert.equal((await call(url, 'GET', '/v1/kvm-profiles/abc')).status, 400);
      assert.equal(await count(), 1);
    });

    test('unsigned calls are refused', async () => {
      const r = await fetch(`${url}/v1/kvm-profiles`);
      assert.equal(r.status, 401);
      const w = await call(url, 'POST', '/v1/kvm-profiles', { ...PROFILE, name: 'unsigned' }, 'not-the-secret-0123456789abcdef0123456789');
      assert.equal(w.status, 401);
      assert.equal(await world.tdb.db(T.kvmProfiles).where('name', 'unsigned').first(), undefined);
    });

    test('a profile a live service was built from is not deleted (409)', async () => {
      const id = (await call(url, 'POST', '/v1/kvm-profiles', { ...PROFILE, name: 'held' })).body.id as number;
      const now = Date.now();
      await world.tdb.db(T.services).insert({
        whmcs_service_id: 7001, mode: 'kvm', state: 'active', params: JSON.stringify({ kind: 'kvm', profileId: id, clusterId: 1 }), created_at: now, updated_at: now,
      });
      const r = await call(url, 'DELETE', `/v1/kvm-profiles/${id}`);
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.match(r.body.error, /in use by 1 service/);
      assert.equal((await call(url, 'GET', `/v1/kvm-profiles/${id}`)).status, 200);
    });

    test('admin pages: list, add with a clear error then for real, CSRF, edit, remove', async () => {
      const link = await call(url, 'POST', '/v1/ui-links', { audience: 'admin' });
      assert.equal(link.status, 200, JSON.stringify(link.body));
      const opened = await fetch(`${url}${link.body.path}`, { redirect: 'manual' });
      const cookie = opened.headers.getSetCookie().find((c) => c.startsWith('hb_session='))!.split(';')[0]!;
      const get = async (path: string) => {
        const r = await fetch(`${url}${path}`, { headers: { cookie }, redirect: 'manual' });
        return { status: r.status, html: await r.text() };
      };
      const post = (path: string, form: Record<string, string | string[]>) => {
        const body = new URLSearchParams();
        for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) body.append(k, one);
        return fetch(`${url}${path}`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });
      };
      const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? assert.fail('no CSRF token on the page');

      const list = await get('/ui/admin/kvm-profiles');
      assert.equal(list.status, 200);
      assert.match(list.html, /<table id="kvm-profiles">/);
      assert.match(list.html, /vps-small/);
      const blank = await get('/ui/admin/kvm-profiles/new');
      assert.equal(blank.status, 200);
      const csrf = csrfOf(blank.html);
      const form = {
        _csrf: csrf, name: 'from-form', cluster_id: '4', node: '', cores: '2', sockets: '1', cpu_type: '', memory_mb: '99999999', balloon_mb: '',
        sd_size_gb: '30', sd_storage: 'local-lvm', sd_iops_rd: '', sd_iops_wr: '800', sd_mbps_rd: '', sd_mbps_wr: '', ad_size_gb: '', ad_storage: '',
        bridge: 'vmbr0', vlan: '42', rate_mbps: '12.5', model: 'virtio', fw: ['enable', 'macfilter'], log_level_in: 'info', log_level_out: 'nolog',
        policy_in: 'DROP', policy_out: 'ACCEPT', ipv4: '1', ipv6: '0', os_templates: 'debian-12 ubuntu-24.04', default_os: 'debian-12', clone_mode: 'full',
        bandwidth_gb: '', snapshots: '0', backups: '0',
      };
      const before = await count();
      const bad = await post('/ui/admin/kvm-profiles', form);
      assert.equal(bad.status, 422);
      const badHtml = await bad.text();
      assert.match(badHtml, /id="form-error">memory_mb: 99999999 MiB is out of range: from 16–4,194,304 MiB\. Nothing was saved\.</);
      assert.match(badHtml, /name="name" value="from-form"/, 'what was typed is kept');
      assert.match(badHtml, /name="vlan" value="42"/);
      const notNumber = await post('/ui/admin/kvm-profiles', { ...form, memory_mb: '2048', cores: 'two' });
      assert.equal(notNumber.status, 422);
      assert.match(await notNumber.text(), /cores: &quot;two&quot; must be a whole number\. Nothing was saved/);
      const noCsrf = await post('/ui/admin/kvm-profiles', { ...form, _csrf: '', memory_mb: '2048' });
      assert.equal(noCsrf.status, 403);
      assert.equal(await count(), before, 'nothing was saved');

      const good = await post('/ui/admin/kvm-profiles', { ...form, memory_mb: '2048' });
      assert.equal(good.status, 303, await good.text());
      assert.equal(good.headers.get('location'), '/ui/admin/kvm-profiles');
      const saved = (await call(url, 'GET', '/v1/kvm-profiles')).body.profiles.find((p: { name: string }) => p.name === 'from-form');
      assert.ok(saved, 'the profile was saved');
      assert.deepEqual([saved.cluster_id, saved.memory_mb, saved.system_disk.iops_wr, saved.network.vlan, saved.network.rate_mbps, saved.firewall.enable, saved.firewall.ndp, saved.os_templates],
        [4, 2048, 800, 42, 12.5, true, false, ['debian-12', 'ubuntu-24.04']]);
      assert.match((await get('/ui/admin/kvm-profiles')).html, /from-form/);

      const edit = await get(`/ui/admin/kvm-profiles/${saved.id}/edit`);
      assert.equal(edit.status, 200);
      assert.match(edit.html, /name="memory_mb" value="2048"/);
      assert.match(edit.html, /name="os_templates" value="debian-12 ubuntu-24.04"/);
      const edited = await post(`/ui/admin/kvm-profiles/${saved.id}`, { ...form, _csrf: csrfOf(edit.html), memory_mb: '4096', ad_size_gb: '50' });
      assert.equal(edited.status, 303);
      const now = (await call(url, 'GET', `/v1/kvm-profiles/${saved.id}`)).body.profile;
      assert.equal(now.memory_mb, 4096);
      assert.equal(now.additional_disk.size_gb, 50);
      assert.equal((await get('/ui/admin/kvm-profiles/424242/edit')).status, 404);

      const removed = await post(`/ui/admin/kvm-profiles/${saved.id}/remove`, { _csrf: csrf });
      assert.equal(removed.status, 303);
      assert.equal((await call(url, 'GET', `/v1/kvm-profiles/${saved.id}`)).status, 404);
    });
  });
}
