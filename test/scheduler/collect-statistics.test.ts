// collect-statistics: a deployed VM's traffic equals the sums of its RRD samples (netin/netout are
// bytes/s, so Σ value × seconds) from its VM row's creation up to the last complete sample; a second
// run with no new sample changes nothing; later samples are added once; two collections racing (two
// daemons) count every sample once. The emulator's RRD clock is pinned so its series is fixed, and
// the VM is backdated three hours so the collector must go past the hour timeframe. On both dialects.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { call } from '../helpers/api.ts';
import { createTestDb, DIALECTS, tmpDir, waitFor, type TestDb } from '../helpers/db.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { kvmOrderBody, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import { rrdClock } from '../emulator/proxmox/config.ts';
import type { Daemon } from '../../daemon/runtime.ts';
import { proxmoxClient } from '../../daemon/fleet/proxmox-access.ts';
import { addTraffic, collectTraffic, countTraffic, periodOf } from '../../daemon/services/vm-traffic.ts';
import { T } from '../../daemon/common/tables.ts';

const ID = 8301;
const realClock = rrdClock.nowMs;

for (const dialect of DIALECTS) {
  describe(`collect-statistics (${dialect})`, () => {
    let dir: string;
    let t: TestDb | null = null;
    let daemon: Daemon;
    let lab: KvmLab;
    let serviceId: number;
    let vm: { vmid: number; node: string };
    let start: number;
    let clock: number;

    before(async () => {
      dir = tmpDir('hb-collect-stats-');
      if (dialect === 'mysql') t = await createTestDb('mysql', { migrate: false });
      daemon = await startTestDaemon(dir, t?.url, { HOSTBRIDGE_POLL_MS: '50', HOSTBRIDGE_SCHEDULER_INTERVAL: '3600' });
      lab = await startKvmLab(daemon.url);
      const r = await call(daemon.url, 'POST', '/v1/services', kvmOrderBody(ID, 'stats.example.org'));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitFor('the VM to be deployed', async () => (await call(daemon.url, 'GET', `/v1/services/${ID}`)).body.service?.state === 'active', 60_000, 50);
      serviceId = Number((await daemon.core.db(T.services).where('whmcs_service_id', ID).first('id')).id);
      const emulated = lab.vmOf(ID)!;
      vm = { vmid: emulated.vmid, node: emulated.node };
      // Three hours of running: the VM on the emulator and its row in the daemon; the RRD clock pinned
      // to a fixed minute well inside the month, so the series and the period are fixed.
      clock = Math.floor(Date.now() / 60_000) * 60_000;
      if (new Date(clock).getUTCDate() === 1 && new Date(clock).getUTCHours() < 4) clock += 4 * 3_600_000; // keep the three hours in one month
      rrdClock.nowMs = () => clock;
      start = Math.floor(clock / 1000) - 3 * 3600 - 17; // not on a minute: the first sample counts in part
      Object.assign(emulated as object, { createdAt: start - 600, startedAt: start - 600 });
      await daemon.core.db(T.vms).where('service_id', serviceId).update({ created_at: start * 1000 });
    });
    after(async () => {
      rrdClock.nowMs = realClock;
      await daemon?.stop();
      await lab?.close();
      await t?.drop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Σ value × seconds of the samples' parts in [from, until), read independently from the day RRD (60 s steps). */
    const rrdSums = async (from: number, until: number) => {
      const { client } = await proxmoxClient(daemon.core.db, daemon.core.config.masterKey, lab.clusterId);
      try {
        const samples = await client.request<Array<{ time: number; netin?: number; netout?: number }>>('GET', `/nodes/${vm.node}/qemu/${vm.vmid}/rrddata`, { timeframe: 'day' });
        let inB = 0;
        let outB = 0;
        for (const s of samples) {
          const seconds = Math.max(0, Math.min(s.time + 60, until) - Math.max(s.time, from));
          inB += (s.netin ?? 0) * seconds;
          outB += (s.netout ?? 0) * seconds;
        }
        return { inB, outB };
      } finally {
        client.close();
      }
    };
    const figures = async () => {
      const rows = await daemon.core.db(T.vmTraffic).where('service_id', serviceId).select('period', 'bytes_in', 'bytes_out');
      const cursor = await daemon.core.db(T.vmTrafficCursor).where('service_id', serviceId).first('counted_until');
      return { rows: rows.map((r) => ({ period: r.period, in: Number(r.bytes_in), out: Number(r.bytes_out) })), until: cursor ? Number(cursor.counted_until) : null };
    };
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, b), `${what}: ${a} != ${b}`);
    const assertEqualsRrd = async () => {
      const f = await figures();
      assert.equal(f.rows.length, 1, 'one period');
      assert.equal(f.rows[0]!.period, periodOf(Math.floor(clock / 1000)));
      const sums = await rrdSums(start, f.until!);
      close(f.rows[0]!.in, sums.inB, 'bytes in');
      close(f.rows[0]!.out, sums.outB, 'bytes out');
      return f;
    };

    test('the first run counts from the VM row\'s creation to the last complete sample, from the day RRD', async () => {
      const lines: string[] = [];
      const r = await daemon.core.scheduler.runNow('collect-statistics', (l) => lines.push(l));
      assert.equal(r.result, 'ok', r.message);
      assert.match(lines.join('\n'), /from the day RRD/, 'the hour RRD does not reach three hours back');
      const f = await assertEqualsRrd();
      assert.equal(f.until, Math.floor(clock / 1000), 'the newest sample (still filling) is left for later');
      assert.ok(f.rows[0]!.in > 3 * 3600 * 1000, 'three hours of traffic at over 1 kB/s');
      // What GET /v1/usage gives WHMCS: the month's figures in MB, and the bytes.
      const u = await call(daemon.url, 'GET', `/v1/usage?whmcs_service_ids=${ID}`);
      const row = u.body.services[0];
      assert.equal(row.traffic.in_bytes, Math.round(f.rows[0]!.in));
      assert.equal(row.traffic.total_bytes, Math.round(f.rows[0]!.in + f.rows[0]!.out));
      assert.equal(row.metrics.traffic_total_mb, Math.round(((f.rows[0]!.in + f.rows[0]!.out) / 1048576) * 1000) / 1000);
      assert.equal(row.bw_used_mb, Math.round((f.rows[0]!.in + f.rows[0]!.out) / 1048576));
    });

    test('a second run with no new sample changes nothing', async () => {
      const before = await figures();
      const r = await daemon.core.scheduler.runNow('collect-statistics', () => {});
      assert.equal(r.result, 'ok', r.message);
      assert.deepEqual(await figures(), before);
    });

    test('ten minutes later, a run adds those ten minutes once; the figures still equal the RRD sums', async () => {
      const before = await figures();
      clock += 600_000;
      assert.equal((await daemon.core.scheduler.runNow('collect-statistics', () => {})).result, 'ok');
      const f = await assertEqualsRrd();
      assert.equal(f.until, before.until! + 600);
      const added = await rrdSums(before.until!, f.until!);
      close(f.rows[0]!.in - before.rows[0]!.in, added.inB, 'the ten minutes in');
      assert.equal((await daemon.core.scheduler.runNow('collect-statistics', () => {})).result, 'ok');
      assert.deepEqual(await figures(), f, 'and a rerun adds nothing');
    });

    test('two collections racing (two daemons) count every sample once', async () => {
      clock += 300_000;
      const [a, b] = await Promise.all([
        collectTraffic(daemon.core.db, daemon.core.config.masterKey, () => {}),
        collectTraffic(daemon.core.db, daemon.core.config.masterKey, () => {}),
      ]);
      assert.equal(a.failed + b.failed, 0);
      assert.ok(a.updated + b.updated >= 1, 'one of them counted the new samples');
      const f = await assertEqualsRrd();
      assert.equal(f.until, Math.floor(clock / 1000));
      // The loser of a race read the cursor before the winner moved it: its write is refused whole.
      const stale = countTraffic([{ time: f.until! - 600, netin: 1e6, netout: 1e6 }, { time: f.until! - 540 }, { time: f.until! - 480 }], f.until! - 600);
      assert.equal(await addTraffic(daemon.core.db, serviceId, f.until! - 600, stale, Date.now()), false);
      assert.equal(await addTraffic(daemon.core.db, serviceId, null, stale, Date.now()), false, 'a second first collection too');
      assert.deepEqual(await figures(), f);
    });
  });
}
