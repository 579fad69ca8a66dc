// usage.sync's writes, on both databases, with the server's listing given directly: each
// (service, server, role) part replaced round after round, each service's total the sum of all its
// parts even when the tasks of its web and mail servers run at once, a server holding two roles of
// one service counted twice, and servers holding more services than one transaction takes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { T } from '../../daemon/common/tables.ts';
import { TaskRegistry, type TaskContext } from '../../daemon/engine/registry.ts';
import { registerUsageHandlers } from '../../daemon/handlers/hosting/usage.ts';
import type { HestiaList } from '../../daemon/drivers/hestia/json.ts';

const WEB = 1;
const MAIL = 2;
const COMBO = 3;

/** A Split plan's product as the planner stores it: 2048 MB web quota, 1024 MB mail quota, 10 GB traffic. */
const plan = (id: number) => ({
  whmcsServiceId: 9000 + id, domain: `s${id}.example.com`,
  product: { mode: 'split', roles: { web: true, mail: true, dns: false }, web: { diskMb: 2048, bandwidthMb: 10_240, domains: 1, databases: 'unlimited' }, mail: { diskMb: 1024, accounts: 'unlimited' }, vanity: null },
});

for (const dialect of DIALECTS) {
  describe(`usage.sync totals on ${dialect}`, () => {
    let t: TestDb;
    /** What each server's v-list-users answers, by server id: account → its figures. */
    const listings = new Map<number, Record<string, { disk: number; bw: number; mailboxes?: number }>>();
    const asked: Array<readonly string[] | undefined> = [];
    let run: (server: number) => Promise<unknown>;

    before(async () => {
      t = await createTestDb(dialect);
      const registry = new TaskRegistry();
      const fleet = {
        hestia: async (server: number) => ({
          driver: {
            async listUsers(fields?: readonly string[]): Promise<HestiaList> {
              asked.push(fields);
              // Yielding first lets the two servers' tasks interleave the way two SSH replies do.
              await new Promise((r) => setImmediate(r));
              return Object.fromEntries(Object.entries(listings.get(server) ?? {}).map(([u, f]) => [u, {
                NAME: u, U_DISK: String(f.disk), U_BANDWIDTH: String(f.bw), U_MAIL_ACCOUNTS: String(f.mailboxes ?? 0), U_DATABASES: '0', U_WEB_DOMAINS: '1',
              }]));
            },
          },
        }),
      };
      registerUsageHandlers(registry, { db: t.db, masterKey: Buffer.alloc(32), fleet } as never);
      const type = registry.get('usage.sync')!;
      run = (server) => type.run({
        task: { id: server, chainId: null, stepNo: 1, serviceId: null, operation: 'usage', step: `usage.sync#${server}`, type: 'usage.sync', target: `server:${server}`, args: { server }, attempt: 1 },
        log: () => {}, secret: () => {}, signal: new AbortController().signal,
      } satisfies TaskContext);
    });
    after(async () => t?.drop());

    /** Services first..last, each with a web account on WEB and a mail account on MAIL. */
    async function addServices(first: number, last: number): Promise<void> {
      const rows = [];
      const holdings = [];
      for (let id = first; id <= last; id++) {
        rows.push({ id, whmcs_service_id: 9000 + id, mode: 'split', state: 'active', domain: `s${id}.example.com`, params: JSON.stringify(plan(id)), names: '{}', created_at: 1, updated_at: 1 });
        holdings.push({ service_id: id, role: 'web', server_id: WEB, account: `s${id}web` }, { service_id: id, role: 'mail', server_id: MAIL, account: `s${id}mail` });
      }
      for (let i = 0; i < rows.length; i += 200) await t.db(T.services).insert(rows.slice(i, i + 200));
      for (let i = 0; i < holdings.length; i += 200) await t.db(T.holdings).insert(holdings.slice(i, i + 200));
    }

    const usageOf = async (ids: number[]) => new Map((await t.db(T.usage).whereIn('service_id', ids)).map((r: Record<string, unknown>) => [Number(r.service_id), r]));

    test('the web and mail parts of each service add up, with both servers synced at once, round after round', async () => {
      await addServices(1, 3);
      for (const round of [1, 2]) {
        listings.set(WEB, Object.fromEntries([1, 2, 3].map((id) => [`s${id}web`, { disk: round * 100 + id, bw: round * 1000 + id }])));
        listings.set(MAIL, Object.fromEntries([1, 2, 3].map((id) => [`s${id}mail`, { disk: round * 10 + id, bw: 0, mailboxes: id }])));
        const started = Date.now();
        assert.deepEqual(await Promise.all([run(WEB), run(MAIL)]), [{ services: 3 }, { services: 3 }]);
        const usage = await usageOf([1, 2, 3]);
        for (const id of [1, 2, 3]) {
          const u = usage.get(id)!;
          assert.equal(Number(u.disk_used_mb), round * 100 + id + round * 10 + id, `round ${round}: service ${id}'s disk is its web plus its mail part`);
          assert.equal(Number(u.bw_used_mb), round * 1000 + id, `round ${round}: service ${id}'s bandwidth`);
          assert.equal(Number(u.mailboxes), id);
          assert.equal(Number(u.web_domains), 2, 'one web domain reported by each of its two accounts');
          assert.equal(Number(u.disk_limit_mb), 2048 + 1024, 'the limit is the web quota plus the mail quota');
          assert.equal(Number(u.bw_limit_mb), 10_240);
          assert.ok(Number(u.collected_at) >= started);
        }
        const parts = await t.db(T.usageParts).whereIn('service_id', [1, 2, 3]);
        assert.equal(parts.length, 6, `round ${round}: one part per service and server, replaced rather than added`);
      }
      assert.ok(asked.every((f) => f !== undefined && f.includes('U_DISK')), 'the listing is read for the usage fields only');
    });

    test('an account the server does not list leaves its part as it was', async () => {
      listings.set(WEB, { s1web: { disk: 7, bw: 70 }, s2web: { disk: 8, bw: 80 } });
      assert.deepEqual(await run(WEB), { services: 2 });
      const usage = await usageOf([1, 2, 3]);
      assert.equal(Number(usage.get(1)!.disk_used_mb), 7 + 21);
      assert.equal(Number(usage.get(2)!.disk_used_mb), 8 + 22);
      assert.equal(Number(usage.get(3)!.disk_used_mb), 203 + 23, 'service 3 is untouched: its web account was not listed');
    });

    test('one server holding two roles of a service counts both', async () => {
      await t.db(T.services).insert({ id: 50, whmcs_service_id: 9050, mode: 'split', state: 'active', domain: 's50.example.com', params: JSON.stringify(plan(50)), names: '{}', created_at: 1, updated_at: 1 });
      await t.db(T.holdings).insert([{ service_id: 50, role: 'web', server_id: COMBO, account: 's50' }, { service_id: 50, role: 'mail', server_id: COMBO, account: 's50' }]);
      listings.set(COMBO, { s50: { disk: 40, bw: 400 } });
      assert.deepEqual(await run(COMBO), { services: 1 });
      const u = (await usageOf([50])).get(50)!;
      assert.equal(Number(u.disk_used_mb), 80, 'the account is the web and the mail part of the service');
      assert.equal(Number(u.bw_used_mb), 800);
    });

    test('a server holding more services than one transaction takes updates every one of them', async () => {
      await addServices(101, 1300);
      const ids = Array.from({ length: 1200 }, (_, i) => 101 + i);
      listings.set(WEB, Object.fromEntries(ids.map((id) => [`s${id}web`, { disk: id, bw: 1 }])));
      listings.set(MAIL, Object.fromEntries(ids.map((id) => [`s${id}mail`, { disk: 1, bw: 0 }])));
      const [web, mail] = await Promise.all([run(WEB), run(MAIL)]);
      assert.deepEqual(web, { services: 1200 });
      assert.deepEqual(mail, { services: 1200 });
      const usage = await usageOf(ids);
      assert.equal(usage.size, 1200);
      for (const id of ids) assert.equal(Number(usage.get(id)!.disk_used_mb), id + 1, `service ${id}`);
    });
  });
}
