// IP pools on SQLite and MariaDB: pools are validated before anything is written; allocation is
// idempotent per service, takes the lowest free address, prefers node-specific pools, skips
// reserved addresses and disabled pools, and is all or nothing when a pool runs out (a terminal
// PoolExhaustedError that names the pools); release frees only what it is told; the admin side shows
// who holds each address. On MariaDB, two daemons (two connection pools) allocating for 30 services
// at once never hand out one address twice.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.ts';
import { connect } from '../../daemon/db/connect.ts';
import * as migration from '../../migrations/20261206000500_ip_pools.ts';
import { T } from '../../daemon/common/tables.ts';
import { InputError, classifyError } from '../../daemon/common/errors.ts';
import {
  addPool, allocateAddresses, getPool, listPools, markReleasing, poolAddresses, PoolExhaustedError, releaseServiceAddresses, removePool,
  reserveAddress, serviceAddresses, unreserveAddress, updatePool, type PoolInput, type PoolSelector,
} from '../../daemon/fleet/ip-pools.ts';

const SEL: PoolSelector = { clusterId: 1, node: 'pve1', bridge: 'vmbr0', vlan: null };
const v4Pool = (over: Partial<PoolInput> = {}): PoolInput => ({
  name: 'pub4', cluster_id: 1, bridge: 'vmbr0', network: '203.0.113.0/28', gateway: '203.0.113.1', resolvers: ['192.0.2.53', '2001:db8::53'], ...over,
});
const v6Pool = (over: Partial<PoolInput> = {}): PoolInput => ({
  name: 'pub6', cluster_id: 1, bridge: 'vmbr0', network: '2001:db8:1::/64', gateway: '2001:db8:1::1', resolvers: ['2001:db8::53'], ...over,
});

async function inputError(p: Promise<unknown>): Promise<InputError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  assert.fail('expected an InputError');
}

async function addService(db: Knex, whmcsId: number): Promise<number> {
  const [id] = await db(T.services).insert({ whmcs_service_id: whmcsId, mode: 'kvm', state: 'pending', created_at: 0, updated_at: 0 });
  return Number(id);
}

for (const dialect of DIALECTS) {
  describe(`IP pools (${dialect})`, () => {
    let tdb: TestDb;
    let db: Knex;
    before(async () => {
      tdb = await createTestDb(dialect);
      db = tdb.db;
    });
    after(async () => { await tdb?.drop(); });
    const clean = async () => {
      await db(T.ipAddresses).del();
      await db(T.ipPools).del();
    };

    test('bad pools are refused naming the field, and nothing is written', async () => {
      const cases: Array<[Partial<PoolInput>, RegExp]> = [
        [{ network: '203.0.113.0/33' }, /^network: \/33 is longer/],
        [{ network: '203.0.113.7/28' }, /^network: .*host bits set: the network is 203\.0\.113\.0\/28/],
        [{ network: 'banana' }, /^network: "banana" is not a network in CIDR form/],
        [{ gateway: '198.51.100.1' }, /^gateway: 198\.51\.100\.1 is not inside the network 203\.0\.113\.0\/28/],
        [{ gateway: '2001:db8::1' }, /^gateway: 2001:db8::1 is an IPv6 address; this pool is IPv4/],
        [{ gateway: '203.0.113.15' }, /^gateway: .*broadcast/],
        [{ family: 6 }, /^family: is 6, but 203\.0\.113\.0\/28 is an IPv4 network/],
        [{ ranges: ['203.0.113.2-203.0.113.40'] }, /^ranges\.0: .* is not inside the network/],
        [{ ranges: ['203.0.113.2-203.0.113.8', '203.0.113.8-203.0.113.9'] }, /^ranges: .* overlap/],
        [{ ranges: ['203.0.113.1'] }, /^ranges: leave no address to hand out/],
        [{ prefix: 29 }, /^prefix: \/29 is narrower than the network/],
        [{ prefix: 4 }, /^prefix: must be a prefix length from 8 to 32/],
        [{ resolvers: ['192.0.2.53', 'dns.example'] }, /^resolvers\.1: "dns\.example" is not an IPv4 or IPv6 address/],
        [{ resolvers: ['192.0.2.53', '192.0.2.053'] }, /^resolvers\.1: /],
        [{ vlan: 4095 }, /^vlan: must be a VLAN tag from 1 to 4094/],
        [{ vlan: 0 }, /^vlan: /],
        [{ bridge: 'vmbr0;reboot' }, /^bridge: "vmbr0;reboot" is not a bridge name/],
        [{ bridge: 'averyveryverylongbridge' }, /^bridge: /],
        [{ node: 'pve_1' }, /^node: "pve_1" is not a Proxmox node name/],
        [{ cluster_id: 0 }, /^cluster_id: /],
        [{ name: '  ' }, /^name: /],
        [{ network: '10.0.0.0/7' }, /^network: \/7 is larger than a pool may be/],
      ];
      for (const [over, want] of cases) {
        const err = await inputError(addPool(db, v4Pool(over)));
        assert.match(err.message, want, JSON.stringify(over));
      }
      assert.equal((await db(T.ipPools).count({ n: '*' }).first())!.n, 0, 'nothing was written');
    });

    test('pools are listed with their ranges, used and free counts; names and networks do not clash', async () => {
      await clean();
      const a = await addPool(db, v4Pool());
      const b = await addPool(db, v6Pool());
      const p = (await getPool(db, a))!;
      assert.deepEqual({ family: p.family, network: p.network, ranges: p.ranges, gateway: p.gateway, prefix: p.prefix, resolvers: p.resolvers, size: p.size, free: p.free, used: p.used, enabled: p.enabled, node: p.node, vlan: p.vlan },
        { family: 4, network: '203.0.113.0/28', ranges: ['203.0.113.2-203.0.113.14'], gateway: '203.0.113.1', prefix: 28, resolvers: ['192.0.2.53', '2001:db8::53'], size: '13', free: '13', used: 0, enabled: true, node: null, vlan: null });
      const q = (await getPool(db, b))!;
      assert.deepEqual({ ranges: q.ranges, size: q.size }, { ranges: ['2001:db8:1::2-2001:db8:1:0:ffff:ffff:ffff:ffff'], size: String((1n << 64n) - 2n) });
      assert.deepEqual((await listPools(db)).map((x) => x.name).sort(), ['pub4', 'pub6']);

      let err = await inputError(addPool(db, v4Pool({ network: '203.0.113.0/24', name: 'other' })));
      assert.equal(err.status, 409);
      assert.match(err.message, /^network: 203\.0\.113\.0\/24 overlaps pool "pub4" \(203\.0\.113\.0\/28\)/);
      err = await inputError(addPool(db, v4Pool({ network: '198.51.100.0/24', gateway: null })));
      assert.equal(err.status, 409);
      assert.match(err.message, /^name: an IP pool named "pub4" already exists/);
      err = await inputError(addPool(db, v6Pool({ name: 'six-b', cluster_id: 2, network: '2001:db8:1::/48', gateway: null })));
      assert.match(err.message, /overlaps pool "pub6"/, 'one address in one place, whatever the cluster');
      assert.equal((await listPools(db)).length, 2);
    });

    test('allocation is idempotent per service, lowest first, and written back as the service holds it', async () => {
      await clean();
      const p4 = await addPool(db, v4Pool());
      await addPool(db, v6Pool());
      const s1 = await addService(db, 9001);
      const s2 = await addService(db, 9002);
      const first = await allocateAddresses(db, s1, SEL, { v4: 2, v6: 1 });
      assert.deepEqual(first.map((a) => a.ip), ['203.0.113.2', '203.0.113.3', '2001:db8:1::2']);
      assert.deepEqual(first[0], { ip: '203.0.113.2', family: 4, prefix: 28, gateway: '203.0.113.1', resolvers: ['192.0.2.53', '2001:db8::53'], poolId: p4, poolName: 'pub4' });
      assert.deepEqual(await allocateAddresses(db, s1, SEL, { v4: 2, v6: 1 }), first, 'again: the same addresses, nothing new');
      assert.equal((await db(T.ipAddresses).count({ n: '*' }).first())!.n, 3);
      assert.deepEqual((await allocateAddresses(db, s1, SEL, { v4: 1, v6: 0 })).map((a) => a.ip), ['203.0.113.2'], 'fewer wanted: the first held, extras left alone');
      assert.equal((await db(T.ipAddresses).count({ n: '*' }).first())!.n, 3);
      const s2got = await allocateAddresses(db, s2, SEL, { v4: 1, v6: 1 });
      assert.deepEqual(s2got.map((a) => a.ip), ['203.0.113.4', '2001:db8:1::3']);
      assert.deepEqual((await allocateAddresses(db, s1, SEL, { v4: 3, v6: 1 })).map((a) => a.ip), ['203.0.113.2', '203.0.113.3', '203.0.113.5', '2001:db8:1::2'], 'only the shortfall is new');
      assert.deepEqual((await serviceAddresses(db, s1)).map((a) => a.ip), ['203.0.113.2', '203.0.113.3', '203.0.113.5', '2001:db8:1::2']);
      assert.equal((await getPool(db, p4))!.used, 4);
      assert.equal((await getPool(db, p4))!.free, '9');

      // Who holds what, with WHMCS's service id.
      const held = await poolAddresses(db, p4);
      assert.deepEqual(held.map((h) => [h.ip, h.status, h.whmcs_service_id]), [
        ['203.0.113.2', 'allocated', 9001], ['203.0.113.3', 'allocated', 9001], ['203.0.113.4', 'allocated', 9002], ['203.0.113.5', 'allocated', 9001],
      ]);

      // Release only after the VM is gone: the named address, then the rest; the hole is reused first.
      assert.equal(await releaseServiceAddresses(db, s1, ['203.0.113.3']), 1);
      assert.equal(await releaseServiceAddresses(db, s1, []), 0);
      const s3 = await addService(db, 9003);
      assert.deepEqual((await allocateAddresses(db, s3, SEL, { v4: 1, v6: 0 })).map((a) => a.ip), ['203.0.113.3'], 'the lowest free address, a hole');
      assert.equal(await markReleasing(db, s1), 3);
      assert.deepEqual((await serviceAddresses(db, s1)).map((a) => a.ip), ['203.0.113.2', '203.0.113.5', '2001:db8:1::2'], 'being released: still the service\'s');
      assert.deepEqual((await allocateAddresses(db, s3, SEL, { v4: 2, v6: 0 })).map((a) => a.ip), ['203.0.113.3', '203.0.113.6'], 'an address being released is not handed out');
      assert.equal(await releaseServiceAddresses(db, s1), 3);
      assert.deepEqual(await serviceAddresses(db, s1), []);
      assert.equal(await releaseServiceAddresses(db, s1), 0, 'twice is harmless');
      assert.deepEqual((await serviceAddresses(db, s2)).map((a) => a.ip), ['203.0.113.4', '2001:db8:1::3'], 'other services keep theirs');
    });

    test('pool matching: cluster, bridge and VLAN exactly, node-specific first, disabled pools skipped', async () => {
      await clean();
      await addPool(db, v4Pool({ name: 'any-node', network: '198.51.100.0/29', gateway: '198.51.100.1' }));
      const pinned = await addPool(db, v4Pool({ name: 'pve1-only', node: 'pve1', network: '198.51.100.8/29', gateway: '198.51.100.9' }));
      await addPool(db, v4Pool({ name: 'vlan7', vlan: 7, network: '198.51.100.16/29', gateway: '198.51.100.17' }));
      await addPool(db, v4Pool({ name: 'cluster2', cluster_id: 2, network: '198.51.100.24/29', gateway: '198.51.100.25' }));
      await addPool(db, v4Pool({ name: 'off', enabled: false, network: '198.51.100.32/29', gateway: '198.51.100.33' }));
      const s = await addService(db, 9100);
      const got = await allocateAddresses(db, s, SEL, { v4: 6, v6: 0 });
      assert.deepEqual(got.map((a) => `${a.poolName}:${a.ip}`), [
        'pve1-only:198.51.100.10', 'pve1-only:198.51.100.11', 'pve1-only:198.51.100.12', 'pve1-only:198.51.100.13', 'pve1-only:198.51.100.14',
        'any-node:198.51.100.2',
      ], 'the node\'s own pool first, then the cluster-wide one');
      const t = await addService(db, 9101);
      assert.deepEqual((await allocateAddresses(db, t, { ...SEL, node: 'pve2' }, { v4: 1, v6: 0 })).map((a) => a.poolName), ['any-node'], 'another node: not pve1\'s pool');
      assert.deepEqual((await allocateAddresses(db, await addService(db, 9102), { ...SEL, vlan: 7 }, { v4: 1, v6: 0 })).map((a) => a.poolName), ['vlan7']);
      assert.deepEqual((await allocateAddresses(db, await addService(db, 9103), { ...SEL, clusterId: 2, node: null }, { v4: 1, v6: 0 })).map((a) => a.poolName), ['cluster2']);
      const err = await allocateAddresses(db, await addService(db, 9104), { ...SEL, bridge: 'vmbr9' }, { v4: 1, v6: 0 }).catch((e) => e);
      assert.ok(err instanceof PoolExhaustedError);
      assert.match(err.message, /^No enabled IPv4 pool matches cluster 1, bridge vmbr9, VLAN none \(untagged\), node pve1: 1 IPv4 address\(es\) wanted, 0 free/);
      assert.equal((await poolAddresses(db, pinned)).length, 5);
    });

    test('a reserved address is never handed out; reservations are refused on held addresses and outside the ranges', async () => {
      await clean();
      const p = await addPool(db, v4Pool());
      assert.equal(await reserveAddress(db, p, '203.0.113.2', 'router'), '203.0.113.2');
      assert.equal(await reserveAddress(db, p, '203.0.113.3', null), '203.0.113.3');
      assert.equal(await reserveAddress(db, p, '203.0.113.3', 'switch'), '203.0.113.3', 'again: the note is replaced');
      const s = await addService(db, 9200);
      assert.deepEqual((await allocateAddresses(db, s, SEL, { v4: 1, v6: 0 })).map((a) => a.ip), ['203.0.113.4']);
      let err = await inputError(reserveAddress(db, p, '203.0.113.4', 'mine'));
      assert.equal(err.status, 409);
      assert.match(err.message, /^ip: 203\.0\.113\.4 is held by service 9200/);
      err = await inputError(reserveAddress(db, p, '203.0.113.1', 'gw'));
      assert.match(err.message, /^ip: 203\.0\.113\.1 is not in the ranges of pool "pub4"/);
      err = await inputError(reserveAddress(db, p, '2001:db8::5', 'x'));
      assert.match(err.message, /^ip: 2001:db8::5 is an IPv6 address; this pool is IPv4/);
      err = await inputError(unreserveAddress(db, p, '203.0.113.4'));
      assert.equal(err.status, 409);
      assert.match(err.message, /held by service 9200, not reserved/);
      err = await inputError(unreserveAddress(db, p, '203.0.113.9'));
      assert.equal(err.status, 404);
      const shown = await poolAddresses(db, p);
      assert.deepEqual(shown.map((h) => [h.ip, h.status, h.note, h.service_id === null]), [
        ['203.0.113.2', 'reserved', 'router', true], ['203.0.113.3', 'reserved', 'switch', true], ['203.0.113.4', 'allocated', null, false],
      ]);
      await unreserveAddress(db, p, '203.0.113.2');
      assert.deepEqual((await allocateAddresses(db, await addService(db, 9201), SEL, { v4: 1, v6: 0 })).map((a) => a.ip), ['203.0.113.2']);
    });

    test('a pool that runs out fails with a terminal error naming it, and keeps nothing of the call', async () => {
      await clean();
      await addPool(db, v4Pool({ name: 'tiny', network: '203.0.113.0/29', ranges: ['203.0.113.2-203.0.113.4'] }));
      await addPool(db, v6Pool());
      const a = await addService(db, 9300);
      const b = await addService(db, 9301);
      await allocateAddresses(db, a, SEL, { v4: 2, v6: 1 });
      const err = await allocateAddresses(db, b, SEL, { v4: 2, v6: 1 }).catch((e) => e);
      assert.ok(err instanceof PoolExhaustedError, String(err));
      assert.equal(classifyError(err), 'terminal', 'the step fails for good and opens a ticket');
      assert.equal(err.message, 'IP pool exhausted: 2 IPv4 address(es) wanted on cluster 1, bridge vmbr0, VLAN none (untagged), node pve1 (0 already held), but pool "tiny" has 1 free. Add a range or free addresses, then retry the step.');
      assert.deepEqual([err.family, err.wanted, err.free, err.pools], [4, 2, 1n, ['tiny']]);
      assert.deepEqual(await serviceAddresses(db, b), [], 'all or nothing: the one free address stays free');
      assert.deepEqual((await allocateAddresses(db, b, SEL, { v4: 1, v6: 1 })).map((x) => x.ip), ['203.0.113.4', '2001:db8:1::3']);
    });

    test('updating a pool keeps its held addresses inside; removing it is refused while a service holds one', async () => {
      await clean();
      const p = await addPool(db, v4Pool());
      const s = await addService(db, 9400);
      await allocateAddresses(db, s, SEL, { v4: 2, v6: 0 });
      await reserveAddress(db, p, '203.0.113.9', 'spare');
      let err = await inputError(updatePool(db, p, v4Pool({ ranges: ['203.0.113.3-203.0.113.14'] })));
      assert.equal(err.status, 409);
      assert.match(err.message, /^ranges: 203\.0\.113\.2 \(allocated\) would fall outside the pool's new ranges/);
      await updatePool(db, p, v4Pool({ name: 'pub4-renamed', ranges: ['203.0.113.2-203.0.113.10'], vlan: null, resolvers: [] }));
      const shown = (await getPool(db, p))!;
      assert.deepEqual([shown.name, shown.ranges, shown.size, shown.used, shown.free, shown.resolvers], ['pub4-renamed', ['203.0.113.2-203.0.113.10'], '9', 3, '6', []]);
      err = await inputError(updatePool(db, 999999, v4Pool()));
      assert.equal(err.status, 404);
      err = await inputError(removePool(db, p));
      assert.equal(err.status, 409);
      assert.match(err.message, /still has 2 address\(es\) held by services/);
      await releaseServiceAddresses(db, s);
      await removePool(db, p);
      assert.equal(await getPool(db, p), null);
      assert.equal((await db(T.ipAddresses).count({ n: '*' }).first())!.n, 0, 'its reservations went with it');
    });

    test('the migration goes down and up again', async () => {
      await clean();
      await migration.down(db);
      assert.equal(await db.schema.hasTable(T.ipPools), false);
      assert.equal(await db.schema.hasTable(T.ipAddresses), false);
      await migration.up(db);
      const id = await addPool(db, v4Pool());
      assert.equal((await getPool(db, id))!.free, '13');
      await clean();
    });

    if (dialect === 'mysql') {
      test('two daemons allocating for 30 services at once never hand out one address twice', async () => {
        await clean();
        // Exactly enough: 60 IPv4 addresses and plenty of IPv6.
        await addPool(db, v4Pool({ name: 'race4', network: '10.20.0.0/24', gateway: '10.20.0.1', ranges: ['10.20.0.10-10.20.0.69'] }));
        await addPool(db, v6Pool({ name: 'race6', network: '2001:db8:20::/64', gateway: '2001:db8:20::1' }));
        const ids: number[] = [];
        for (let i = 0; i < 30; i++) ids.push(await addService(db, 9500 + i));
        const daemons = [connect(tdb.config, { poolMax: 8 }), connect(tdb.config, { poolMax: 8 })];
        try {
          const results = await Promise.all(ids.map((sid, i) => allocateAddresses(daemons[i % 2]!, sid, SEL, { v4: 2, v6: 1 })));
          const ips = results.flat().map((a) => a.ip);
          assert.equal(ips.length, 90);
          assert.equal(new Set(ips).size, 90, 'no address handed out twice');
          for (const r of results) assert.deepEqual(r.map((a) => a.family), [4, 4, 6], 'every service got its count');
          const v4s = ips.filter((ip) => !ip.includes(':')).map((ip) => Number(ip.split('.')[3])).sort((x, y) => x - y);
          assert.deepEqual(v4s, Array.from({ length: 60 }, (_, i) => 10 + i), 'the whole range, each address once');
          const rows = await db(T.ipAddresses).select('ip', 'service_id');
          assert.equal(rows.length, 90);
          for (const [i, sid] of ids.entries()) {
            assert.deepEqual(rows.filter((r) => Number(r.service_id) === sid).map((r) => r.ip).sort(), results[i]!.map((a) => a.ip).sort());
          }
          // The pool is now full: the next service fails cleanly, on either daemon.
          const err = await allocateAddresses(daemons[1]!, await addService(db, 9600), SEL, { v4: 1, v6: 1 }).catch((e) => e);
          assert.ok(err instanceof PoolExhaustedError, String(err));
          assert.match(err.message, /pool "race4" has 0 free/);
        } finally {
          await Promise.all(daemons.map((d) => d.destroy()));
        }
      });
    }
  });
}
