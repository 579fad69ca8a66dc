// sync-usage: one usage.sync task per Hestia server that holds accounts, however many accounts it
// holds; none for an empty server or a PowerDNS server.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { TEST_MASTER_KEY } from '../helpers/daemon.ts';
import { addServer } from '../../daemon/fleet/inventory.ts';
import { Scheduler } from '../../daemon/scheduler/scheduler.ts';
import { syncUsageJob } from '../../daemon/scheduler/jobs/sync-usage.ts';
import { SettingsCache } from '../../daemon/settings/settings.ts';
import { T } from '../../daemon/common/tables.ts';

const KEY = Buffer.from(TEST_MASTER_KEY, 'hex');

for (const dialect of DIALECTS) {
  describe(`sync-usage on ${dialect}`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDb(dialect);
    });
    after(async () => t.drop());

    const hestia = (name: string, ip: string, caps: { web?: boolean; mail?: boolean; dns?: boolean }) =>
      addServer(t.db, KEY, { name, driver: 'hestiacp', hostname: `${name}.test.invalid`, ip, username: 'root', password: `pw-${name}`, capabilities: caps });

    test('with servers but no accounts it queues nothing', async () => {
      await hestia('empty1', '192.0.2.10', { web: true });
      let woken = 0;
      const job = syncUsageJob({ db: t.db, onWork: () => woken++ });
      assert.equal(await job.run({ log: () => {} }), 'no server holds accounts yet');
      assert.equal((await t.db(T.tasks)).length, 0);
      assert.equal(woken, 0);
    });

    test('queues one usage sync per Hestia server holding accounts and wakes the engine', async () => {
      const web = await hestia('web1', '192.0.2.11', { web: true });
      const mail = await hestia('mail1', '192.0.2.21', { mail: true });
      const dns = await hestia('dns1', '192.0.2.31', { dns: true });
      const pdns = await addServer(t.db, KEY, { name: 'ns1', driver: 'powerdns', hostname: 'ns1.test.invalid', ip: '192.0.2.41', api_key: 'pdns-api-key' });
      // Three services on web1 and mail1, their zones on dns1 and on the PowerDNS server.
      for (const service of [1, 2, 3]) {
        await t.db(T.holdings).insert([
          { service_id: service, role: 'web', server_id: web, account: `shop${service}` },
          { service_id: service, role: 'mail', server_id: mail, account: `shop${service}` },
          { service_id: service, role: 'dns', server_id: dns, account: 'provider' },
          { service_id: service, role: 'dns', server_id: pdns, account: null },
        ]);
      }

      let woken = 0;
      const lines: string[] = [];
      const scheduler = new Scheduler(t.db, new SettingsCache(t.db), 'test-daemon', [syncUsageJob({ db: t.db, onWork: () => woken++ })]);
      const r = await scheduler.runNow('sync-usage', (l) => lines.push(l));
      assert.equal(r.result, 'ok', r.message);
      assert.equal(r.message, 'queued 3 usage sync task(s)');
      assert.deepEqual(lines, ['sync-usage: queued usage.sync on 3 server(s)']);
      assert.equal(woken, 1);

      const tasks = await t.db(T.tasks).orderBy('id');
      assert.deepEqual(tasks.map((x) => ({ operation: x.operation, type: x.type, step: x.step, target: x.target, status: x.status, args: JSON.parse(x.args) })).sort((a, b) => a.args.server - b.args.server),
        [web, mail, dns].map((id) => ({ operation: 'usage', type: 'usage.sync', step: `usage.sync#${id}`, target: `server:${id}`, status: 'queued', args: { server: id } })));
    });
  });
}
