// Task handlers and orders reuse inventory rows (servers, server groups) for a moment instead of
// reading them for every step and every order (daemon/fleet/inventory-reuse.ts): a change made in
// this process is seen by the next read, another process's within the reuse time, and a server or
// group that is gone, or not there yet, is never served from memory. The accounts on each server
// are counted the same way, with the services this process creates added at once.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { TEST_MASTER_KEY } from '../helpers/daemon.ts';
import { accountsPlaced, addServer, groupNameservers, loadGroupFleet, removeServer, saveGroup, updateServer, type ServerInput } from '../../daemon/fleet/inventory.ts';
import { FleetAccess } from '../../daemon/fleet/access.ts';
import { INVENTORY_REUSE_MS, ServerRows } from '../../daemon/fleet/inventory-reuse.ts';
import { TerminalError } from '../../daemon/common/errors.ts';
import { T } from '../../daemon/common/tables.ts';

const KEY = Buffer.from(TEST_MASTER_KEY, 'hex');
const input = (name: string, ip: string): ServerInput => ({
  name, driver: 'hestiacp', hostname: `${name}.test.invalid`, ip, username: 'root', password: `pw-${name}`, capabilities: { web: true },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const dialect of DIALECTS) {
  describe(`server rows reused by task handlers (${dialect})`, () => {
    let t: TestDb;
    let reads = 0;
    const tables = new Map<string, number>();
    before(async () => {
      t = await createTestDb(dialect);
      t.db.on('query', (q: { sql: string }) => {
        if (/from [`"]?mod_hostbridge_servers[`"]?/i.test(q.sql)) reads++;
        const from = /from [`"]?(mod_hostbridge_\w+)/i.exec(q.sql)?.[1];
        if (from) tables.set(from, (tables.get(from) ?? 0) + 1);
      });
    });
    const readsOf = (table: string) => tables.get(table) ?? 0;
    after(async () => t.drop());

    test('concurrent and repeated reads within the reuse time are one read; each caller gets its own copy', async () => {
      const id = await addServer(t.db, KEY, input('rows-a', '192.0.2.10'));
      const rows = new ServerRows(t.db, 60_000);
      const before = reads;
      const [a, b] = await Promise.all([rows.get(id), rows.get(id)]);
      const c = await rows.get(id);
      assert.equal(reads - before, 1, 'one statement for three reads');
      assert.equal(a.ip, '192.0.2.10');
      a.ip = 'changed by a caller';
      assert.equal(b.ip, '192.0.2.10');
      assert.equal((await rows.get(id)).ip, '192.0.2.10', 'a caller\'s change to its copy reaches nobody else');
      assert.notEqual(a, c);
    });

    test('a change made through the inventory in this process is seen by the next read', async () => {
      const id = await addServer(t.db, KEY, input('rows-b', '192.0.2.20'));
      const fleet = new FleetAccess(t.db, KEY);
      try {
        assert.equal((await fleet.server(id)).ip, '192.0.2.20');
        await updateServer(t.db, KEY, id, input('rows-b', '192.0.2.21'));
        assert.equal((await fleet.server(id)).ip, '192.0.2.21');
        await removeServer(t.db, id);
        await assert.rejects(fleet.server(id), (err: unknown) => err instanceof TerminalError && /server \d+ is no longer in the inventory/.test((err as Error).message));
      } finally {
        await fleet.close();
      }
    });

    test("another process's change is seen once the reuse time has passed", async () => {
      const id = await addServer(t.db, KEY, input('rows-c', '192.0.2.30'));
      const rows = new ServerRows(t.db, 150);
      assert.equal((await rows.get(id)).ip, '192.0.2.30');
      // Written past this process's inventory functions, as a second daemon's API would.
      await t.db(T.servers).where('id', id).update({ ip: '192.0.2.31' });
      assert.equal((await rows.get(id)).ip, '192.0.2.30', 'within the reuse time the row read before serves');
      await sleep(200);
      assert.equal((await rows.get(id)).ip, '192.0.2.31');
    });

    test('a server not in the inventory is not remembered as missing', async () => {
      const rows = new ServerRows(t.db, 60_000);
      const next = Number((await t.db(T.servers).max({ m: 'id' }).first())?.m ?? 0) + 1000;
      await assert.rejects(rows.get(next), /server \d+ is no longer in the inventory/);
      await t.db(T.servers).insert({ id: next, name: 'rows-late', driver: 'hestiacp', hostname: 'rows-late.test.invalid', ip: '192.0.2.40', port: 22, auth_method: 'password', created_at: Date.now(), updated_at: Date.now() });
      assert.equal((await rows.get(next)).ip, '192.0.2.40');
    });

    test("a group's servers, names and the accounts on its servers are read once for many orders", async () => {
      const web = await addServer(t.db, KEY, input('rows-g-web', '192.0.2.50'));
      const gid = await saveGroup(t.db, { name: 'rows-group', nameservers: ['ns1.rows.test', 'ns2.rows.test'], servers: [web], reserved_names: ['www'] });
      const g0 = readsOf('mod_hostbridge_server_groups');
      const h0 = readsOf('mod_hostbridge_service_servers');
      const fleets = await Promise.all([loadGroupFleet(t.db, gid), loadGroupFleet(t.db, gid)]);
      const again = await loadGroupFleet(t.db, gid);
      assert.deepEqual(await groupNameservers(t.db, gid), ['ns1.rows.test', 'ns2.rows.test']);
      assert.equal(readsOf('mod_hostbridge_server_groups') - g0, 1, 'the group row: one read for three loads and a name-server lookup');
      assert.equal(readsOf('mod_hostbridge_service_servers') - h0, 1, 'the accounts on its servers: one count for three loads');
      for (const f of [...fleets, again]) {
        assert.equal(f?.name, 'rows-group');
        assert.deepEqual(f?.members.map((m) => m.id), [web]);
        assert.deepEqual(f?.reserved, ['www']);
      }
      fleets[0]!.reserved.push('changed by a caller');
      assert.deepEqual((await loadGroupFleet(t.db, gid))?.reserved, ['www'], 'a caller\'s change to its copy reaches nobody else');
    });

    test('a group or server change made in this process is seen by the next order; another process\'s within the reuse time', async () => {
      const web = await addServer(t.db, KEY, input('rows-h-web', '192.0.2.60'));
      const other = await addServer(t.db, KEY, input('rows-h-web2', '192.0.2.61'));
      const gid = await saveGroup(t.db, { name: 'rows-group-h', nameservers: ['ns1.rows.test'], servers: [web] });
      assert.deepEqual((await loadGroupFleet(t.db, gid))?.members.map((m) => m.id), [web]);
      await saveGroup(t.db, { name: 'rows-group-h', nameservers: ['ns9.rows.test'], servers: [web, other] }, gid);
      assert.deepEqual((await loadGroupFleet(t.db, gid))?.members.map((m) => m.id).sort(), [web, other].sort());
      assert.deepEqual(await groupNameservers(t.db, gid), ['ns9.rows.test']);
      await updateServer(t.db, KEY, other, { ...input('rows-h-web2', '192.0.2.61'), status: 'disabled' });
      assert.equal((await loadGroupFleet(t.db, gid))?.members.find((m) => m.id === other)?.status, 'disabled', 'a server disabled here is seen by the next order');
      // Written past this process's inventory functions, as a second daemon's API would.
      await t.db(T.groups).where('id', gid).update({ nameservers: 'ns7.rows.test' });
      assert.deepEqual(await groupNameservers(t.db, gid), ['ns9.rows.test'], 'within the reuse time the rows read before serve');
      await sleep(INVENTORY_REUSE_MS + 100);
      assert.deepEqual(await groupNameservers(t.db, gid), ['ns7.rows.test']);
    });

    test('the services this process places are counted at once; accounts written by another process at the next count', async () => {
      const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n, i) => addServer(t.db, KEY, input(`rows-l-${n}`, `192.0.2.${70 + i}`))));
      const gid = await saveGroup(t.db, { name: 'rows-group-l', nameservers: ['ns1.rows.test'], servers: [a!, b!, c!] });
      // Another group holding b: a count there moves with the same placements.
      const gid2 = await saveGroup(t.db, { name: 'rows-group-l2', nameservers: ['ns1.rows.test'], servers: [b!] });
      await t.db(T.holdings).insert([{ service_id: 9_000_001, role: 'web', server_id: a, account: 'u1' }, { service_id: 9_000_001, role: 'mail', server_id: a, account: 'u1' }]);
      const loadOf = async (g: number) => new Map((await loadGroupFleet(t.db, g))!.members.map((m) => [m.id, m.load]));
      const h0 = readsOf('mod_hostbridge_service_servers');
      assert.deepEqual([...(await loadOf(gid))].sort(), [[a!, 1], [b!, 0], [c!, 0]].sort(), 'a service with two roles on one server is one account there');
      assert.deepEqual([...(await loadOf(gid2))], [[b!, 0]]);
      // A service created here on b and c (its web and mail), another on b: counted before any read.
      accountsPlaced(t.db, [b!, c!, c!]);
      accountsPlaced(t.db, [b!]);
      assert.deepEqual([...(await loadOf(gid))].sort(), [[a!, 1], [b!, 2], [c!, 1]].sort());
      assert.deepEqual([...(await loadOf(gid2))], [[b!, 2]]);
      assert.equal(readsOf('mod_hostbridge_service_servers') - h0, 2, 'one count per group, none after the placements');
      // Written past this process, as a second daemon's order would be: in the next count.
      await t.db(T.holdings).insert([
        { service_id: 9_000_002, role: 'web', server_id: c, account: 'u2' }, { service_id: 9_000_003, role: 'web', server_id: c, account: 'u3' },
        { service_id: 9_000_004, role: 'web', server_id: b, account: 'u4' }, { service_id: 9_000_005, role: 'web', server_id: b, account: 'u5' },
      ]);
      assert.equal((await loadOf(gid)).get(c!), 1, 'within the reuse time the count read before serves');
      await sleep(INVENTORY_REUSE_MS + 100);
      // Only the rows in the database now: the two placements above were never written.
      assert.deepEqual([...(await loadOf(gid))].sort(), [[a!, 1], [b!, 2], [c!, 2]].sort());
      // An inventory change in this process: counted again at once.
      await t.db(T.holdings).where('service_id', 9_000_005).del();
      await updateServer(t.db, KEY, c!, input('rows-l-c', '192.0.2.79'));
      assert.equal((await loadOf(gid)).get(b!), 1);
    });

    test('a group not there yet is not remembered as missing', async () => {
      const next = Number((await t.db(T.groups).max({ m: 'id' }).first())?.m ?? 0) + 1000;
      assert.equal(await loadGroupFleet(t.db, next), null);
      assert.deepEqual(await groupNameservers(t.db, next), []);
      await t.db(T.groups).insert({ id: next, name: 'rows-late-group', nameservers: 'ns1.late.test', created_at: Date.now(), updated_at: Date.now() });
      assert.equal((await loadGroupFleet(t.db, next))?.name, 'rows-late-group');
    });
  });
}
