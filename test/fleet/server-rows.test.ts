// Task handlers reuse a server's inventory row for a moment instead of reading it for every step
// (daemon/fleet/server-rows.ts): a change made in this process is seen by the next read, another
// process's within the reuse time, and a server that is gone is never served from memory.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { TEST_MASTER_KEY } from '../helpers/daemon.ts';
import { addServer, removeServer, updateServer, type ServerInput } from '../../daemon/fleet/inventory.ts';
import { FleetAccess } from '../../daemon/fleet/access.ts';
import { ServerRows } from '../../daemon/fleet/server-rows.ts';
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
    before(async () => {
      t = await createTestDb(dialect);
      t.db.on('query', (q: { sql: string }) => { if (/from [`"]?mod_hostbridge_servers[`"]?/i.test(q.sql)) reads++; });
    });
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
  });
}
