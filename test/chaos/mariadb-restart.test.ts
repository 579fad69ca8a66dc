// MariaDB restarted while a daemon is working: the daemon reconnects on its own and nothing is
// lost — every chain completes and every effect is applied once.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTestDb, waitFor, type TestDb } from '../helpers/db.ts';
import { daemonEnv, startDaemonProcess, type DaemonProcess } from '../helpers/daemon.ts';
import { mariadbUp, startMariadb, stopMariadb } from '../helpers/mariadb.ts';
import { createServiceWithChain } from '../../daemon/engine/chains.ts';
import { T } from '../../daemon/common/tables.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { openLedger, TEST_SERVE } from '../helpers/task-types.ts';

const CHAINS = 80;
const STEPS = 5;

describe('MariaDB restarted during a run', () => {
  let t: TestDb;
  let daemon: DaemonProcess | undefined;
  before(async () => {
    t = await createTestDb('mysql');
    await writeSetting(t.db, 'scheduler.reap-expired-leases.interval_s', '1');
  });
  after(async () => {
    await daemon?.kill('SIGKILL');
    if (!(await mariadbUp())) await startMariadb();
    await t.drop();
  });

  test('the daemon reconnects and every chain completes, each effect applied once', { timeout: 300_000 }, async (ctx) => {
    const ledger = path.join(t.dir, 'ledger.sqlite');
    const logFile = path.join(t.dir, 'daemon.log');
    for (let s = 0; s < CHAINS; s++) {
      await createServiceWithChain(t.db, { whmcsServiceId: 90_000 + s, mode: 'split' }, {
        operation: 'create', successState: 'active',
        steps: Array.from({ length: STEPS }, (_, j) => ({ step: `step-${j}`, type: 'builtin.ledger', target: `node-${(s + j) % 4}`, args: { ledger, key: `svc-${s}/${j}`, holdMs: 25 } })),
      });
    }
    daemon = await startDaemonProcess(daemonEnv(t.url, { HOSTBRIDGE_LEASE_MS: '3000', HOSTBRIDGE_SCHEDULER_INTERVAL: '1', HOSTBRIDGE_CONCURRENCY: '4', HOSTBRIDGE_POLL_MS: '50' }), logFile, 30_000, TEST_SERVE);
    const done = async () => Number(((await t.db(T.tasks).where('status', 'succeeded').count({ n: '*' }).first()) as { n: number }).n);
    await waitFor('some progress', async () => (await done()) >= 40, 60_000, 50);
    const before = await done();

    const down = Date.now();
    stopMariadb();
    await new Promise((r) => setTimeout(r, 1500)); // the daemon meets a dead server for a while
    await startMariadb();
    const upMs = Date.now() - down;
    assert.equal(daemon.child.exitCode, null, 'the daemon exited while the database was down');

    // Our own pool's connections died with the server; retry reads until they are replaced.
    const total = CHAINS * STEPS;
    await waitFor('every task after the restart', async () => {
      try {
        return (await done()) === total;
      } catch {
        return false;
      }
    }, 180_000, 250);
    assert.equal(daemon.child.exitCode, null, 'the daemon exited');
    await daemon.kill('SIGTERM');

    assert.ok(before < total, 'the work was finished before the restart');
    assert.equal((await t.db(T.chains).whereNot('state', 'succeeded')).length, 0);
    const effects = openLedger(ledger).prepare('SELECT key, count(*) AS n FROM effects GROUP BY key').all() as Array<{ key: string; n: number }>;
    assert.equal(effects.length, total);
    assert.deepEqual(effects.filter((e) => e.n !== 1), []);
    const log = fs.readFileSync(logFile, 'utf8');
    assert.match(log, /cannot (claim tasks|record the result|renew task leases)/, 'the daemon never noticed the database was down');
    const lost = Number(((await t.db(T.attempts).where('result', 'lost').count({ n: '*' }).first()) as { n: number }).n);
    ctx.diagnostic(`MariaDB down and back in ${upMs} ms with ${before} of ${total} tasks done; the same daemon process finished all ${total}; ${lost} attempt(s) taken back by lease expiry; every effect applied once`);
  });
});
