// The IP pool routes through the signed API, on SQLite and MariaDB: a pool is added, shown, replaced
// and removed; bad bodies are refused naming the field and create nothing (a bad CIDR, a gateway
// outside the network, an unknown field, a VLAN out of range); reservations are made and freed by
// address, IPv6 in the path included; the addresses list shows who holds each one.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, type TestDb } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { startDaemonWorld, type DaemonWorld } from '../helpers/world.ts';
import { T } from '../../daemon/common/tables.ts';
import { allocateAddresses } from '../../daemon/fleet/ip-pools.ts';

const pool = (over: Record<string, unknown> = {}) => ({
  name: 'public-v4', cluster_id: 3, node: null, bridge: 'vmbr0', vlan: null, network: '192.0.2.0/27', gateway: '192.0.2.1', resolvers: ['192.0.2.53'], ...over,
});

for (const dialect of DIALECTS) {
  describe(`IP pool routes (${dialect})`, () => {
    let world: DaemonWorld;
    let tdb: TestDb;
    let url: string;
    before(async () => {
      world = await startDaemonWorld(dialect, 'hb-ip-pool-routes-');
      await world.daemon.engine.stop(1000);
      tdb = world.tdb;
      url = world.daemon.url;
    });
    after(async () => { await world?.close(); });
    const pools = async () => Number((await tdb.db(T.ipPools).count({ n: '*' }).first())!.n);

    test('bad bodies are refused naming the field, and create nothing', async () => {
      const cases: Array<[Record<string, unknown>, number, string, RegExp]> = [
        [pool({ network: '192.0.2.0/40' }), 422, 'network', /\/40 is longer than an IPv4 address/],
        [pool({ network: '192.0.2.9/27' }), 422, 'network', /host bits set: the network is 192\.0\.2\.0\/27/],
        [pool({ network: 'not-a-network' }), 422, 'network', /is not a network in CIDR form/],
        [pool({ gateway: '198.51.100.1' }), 422, 'gateway', /is not inside the network 192\.0\.2\.0\/27/],
        [pool({ vlan: 5000 }), 422, 'vlan', /must be at most 4094/],
        [pool({ bridge: 'vmbr0 tag=9' }), 422, 'bridge', /not allowed/],
        [pool({ colour: 'blue' }), 422, 'colour', /is not a known field/],
        [pool({ cluster_id: undefined }), 422, 'cluster_id', /is required/],
        [pool({ resolvers: ['192.0.2.53', 'nope'] }), 422, 'resolvers.1', /is not an IPv4 or IPv6 address/],
        [pool({ family: 6 }), 422, 'family', /is an IPv4 network/],
        [pool({ ranges: ['192.0.2.20-192.0.2.10'] }), 422, 'ranges.0', /comes after/],
      ];
      for (const [body, status, field, message] of cases) {
        const r = await call(url, 'POST', '/v1/ip-pools', body);
        assert.equal(r.status, status, JSON.stringify(r.body));
        assert.equal(r.body.field, field, JSON.stringify(r.body));
        assert.match(r.body.error, message);
      }
      assert.equal(await pools(), 0, 'nothing was created');
    });

    test('add, show, list, replace and remove a pool', async () => {
      const r = await call(url, 'POST', '/v1/ip-pools', pool({ ranges: ['192.0.2.10-192.0.2.19'] }));
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const id = r.body.id;
      assert.deepEqual({ ranges: r.body.pool.ranges, size: r.body.pool.size, free: r.body.pool.free, family: r.body.pool.family, prefix: r.body.pool.prefix },
        { ranges: ['192.0.2.10-192.0.2.19'], size: '10', free: '10', family: 4, prefix: 27 });
      const again = await call(url, 'POST', '/v1/ip-pools', pool({ name: 'other', network: '192.0.2.0/24', gateway: null }));
      assert.equal(again.status, 409);
      assert.equal(again.body.field, 'network');
      assert.match(again.body.error, /overlaps pool "public-v4"/);

      const six = await call(url, 'POST', '/v1/ip-pools', { name: 'public-v6', cluster_id: 3, node: 'pve1', bridge: 'vmbr0', network: '2001:DB8:7::/64', gateway: '2001:db8:7::1' });
      assert.equal(six.status, 201, JSON.stringify(six.body));
      assert.equal(six.body.pool.network, '2001:db8:7::/64', 'canonical form');

      const list = await call(url, 'GET', '/v1/ip-pools');
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.pools.map((p: { name: string }) => p.name).sort(), ['public-v4', 'public-v6']);
      const shown = await call(url, 'GET', `/v1/ip-pools/${id}`);
      assert.equal(shown.body.pool.gateway, '192.0.2.1');
      assert.equal((await call(url, 'GET', '/v1/ip-pools/99999')).status, 404);
      assert.equal((await call(url, 'GET', '/v1/ip-pools/abc')).status, 400);

      const put = await call(url, 'PUT', `/v1/ip-pools/${id}`, pool({ name: 'public-v4b', vlan: 12, enabled: false }));
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual([put.body.pool.name, put.body.pool.vlan, put.body.pool.enabled, put.body.pool.ranges], ['public-v4b', 12, false, ['192.0.2.2-192.0.2.30']]);
      const badPut = await call(url, 'PUT', `/v1/ip-pools/${id}`, pool({ gateway: '10.0.0.1' }));
      assert.equal(badPut.status, 422);
      assert.equal(badPut.body.field, 'gateway');
      assert.equal((await call(url, 'GET', `/v1/ip-pools/${id}`)).body.pool.name, 'public-v4b', 'the bad PUT changed nothing');

      assert.equal((await call(url, 'DELETE', `/v1/ip-pools/${six.body.id}`)).status, 200);
      assert.equal((await call(url, 'GET', `/v1/ip-pools/${six.body.id}`)).status, 404);
      assert.equal((await call(url, 'DELETE', `/v1/ip-pools/${six.body.id}`)).status, 404);
    });

    test('reservations by address, and who holds each address', async () => {
      const six = await call(url, 'POST', '/v1/ip-pools', { name: 'v6-res', cluster_id: 4, bridge: 'vmbr1', vlan: 20, network: '2001:db8:9::/64', gateway: '2001:db8:9::1' });
      assert.equal(six.status, 201, JSON.stringify(six.body));
      const id = six.body.id;
      const res = await call(url, 'POST', `/v1/ip-pools/${id}/reservations`, { ip: '2001:DB8:9:0:0:0:0:2', note: 'router' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.ip, '2001:db8:9::2');
      const bad = await call(url, 'POST', `/v1/ip-pools/${id}/reservations`, { ip: '192.0.2.5' });
      assert.equal(bad.status, 422);
      assert.equal(bad.body.field, 'ip');

      // Writes go through the daemon's own connection: on SQLite a second connection's write could wait on
      // the daemon's transaction while blocking this process (the daemon runs in it), until busy_timeout.
      const db = world.daemon.core.db;
      const [svc] = await db(T.services).insert({ whmcs_service_id: 777, mode: 'kvm', state: 'pending', created_at: 0, updated_at: 0 });
      const got = await allocateAddresses(db, Number(svc), { clusterId: 4, node: 'pve9', bridge: 'vmbr1', vlan: 20 }, { v4: 0, v6: 1 });
      assert.deepEqual(got.map((a) => a.ip), ['2001:db8:9::3'], 'the reserved address is skipped');

      const addrs = await call(url, 'GET', `/v1/ip-pools/${id}/addresses`);
      assert.equal(addrs.status, 200);
      assert.deepEqual(addrs.body.addresses.map((a: Record<string, unknown>) => [a.ip, a.status, a.whmcs_service_id, a.note]), [
        ['2001:db8:9::2', 'reserved', null, 'router'], ['2001:db8:9::3', 'allocated', 777, null],
      ]);
      const held = await call(url, 'DELETE', `/v1/ip-pools/${id}/reservations/${encodeURIComponent('2001:db8:9::3')}`);
      assert.equal(held.status, 409);
      assert.match(held.body.error, /held by service 777/);
      const busy = await call(url, 'DELETE', `/v1/ip-pools/${id}`);
      assert.equal(busy.status, 409);
      assert.equal((await call(url, 'DELETE', `/v1/ip-pools/${id}/reservations/${encodeURIComponent('2001:db8:9:0::2')}`)).status, 200);
      assert.equal((await call(url, 'DELETE', `/v1/ip-pools/${id}/reservations/2001:db8:9::2`)).status, 404, 'gone');
      assert.deepEqual((await call(url, 'GET', `/v1/ip-pools/${id}/addresses`)).body.addresses.map((a: { ip: string }) => a.ip), ['2001:db8:9::3']);
    });
  });
}
