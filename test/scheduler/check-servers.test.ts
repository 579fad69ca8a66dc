// check-servers: one server.check task per active server (Hestia or PowerDNS), none for a server
// that is disabled or in maintenance.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { TEST_MASTER_KEY } from '../helpers/daemon.ts';
import { addServer } from '../../daemon/fleet/inventory.ts';
import { Scheduler } from '../../daemon/scheduler/scheduler.ts';
import { checkServersJob } from '../../daemon/scheduler/jobs/check-servers.ts';
import { SettingsCache } from '../../daemon/settings/settings.ts';
import { T } from '../../daemon/common/tables.ts';

const KEY = Buffer.from(TEST_MASTER_KEY, 'hex');

for (const dialect of DIALECTS) {
  describe(`check-servers on ${dialect}`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDb(dialect);
    });
    after(async () => t.drop());

    test('with no server it queues nothing', async () => {
      let woken = 0;
      const job = checkServersJob({ db: t.db, onWork: () => woken++ });
      assert.equal(await job.run({ log: () => {} }), 'no active servers');
      assert.equal((await t.db(T.tasks)).length, 0);
      assert.equal(woken, 0);
    });

    test('queues one health check per active server and wakes the engine', async () => {
      const hestia = (name: string, ip: string, status?: 'disabled' | 'maintenance') =>
        addServer(t.db, KEY, { name, driver: 'hestiacp', hostname: `${name}.test.invalid`, ip, username: 'root', password: `pw-${name}`, capabilities: { web: true }, status });
      const web1 = await hestia('web1', '192.0.2.11');
      const web2 = await hestia('web2', '192.0.2.12');
      await hestia('web3', '192.0.2.13', 'disabled');
      await hestia('web4', '192.0.2.14', 'maintenance');
      const ns1 = await addServer(t.db, KEY, { name: 'ns1', driver: 'powerdns', hostname: 'ns1.test.invalid', ip: '192.0.2.31', api_key: 'pdns-api-key' });

      let woken = 0;
      const lines: string[] = [];
      const scheduler = new Scheduler(t.db, new SettingsCache(t.db), 'test-daemon', [checkServersJob({ db: t.db, onWork: () => woken++ })]);
      const r = await scheduler.runNow('check-servers', (l) => lines.push(l));
      assert.equal(r.result, 'ok', r.message);
      assert.equal(r.message, 'queued 3 health check(s)');
      assert.deepEqual(lines, ['check-servers: queued server.check on 3 server(s)']);
      assert.equal(woken, 1);

      const tasks = await t.db(T.tasks).orderBy('id');
      assert.deepEqual(tasks.map((x) => ({ operation: x.operation, type: x.type, step: x.step, target: x.target, status: x.status, args: JSON.parse(x.args) })).sort((a, b) => a.args.server - b.args.server),
        [web1, web2, ns1].map((id) => ({ operation: 'health', type: 'server.check', step: `server.check#${id}`, target: `server:${id}`, status: 'queued', args: { server: id } })));
    });
  });
}
