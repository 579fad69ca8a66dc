// Server health: the check-servers job queues one server.check task per active server; each
// records whether the server answered, its version, OS, load, uptime, CPU, RAM and disk use, shown
// by GET /v1/servers and the Infrastructure page. The emulator reports this host's own figures.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import type { Daemon } from '../../daemon/runtime.ts';
import { DIALECTS, waitFor } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import type { EmulatedFleet, RegisteredFleet } from '../helpers/fleet.ts';
import { startFleetWorld, type FleetWorld } from '../helpers/world.ts';

for (const dialect of DIALECTS) {
  describe(`server health (${dialect})`, () => {
    let world: FleetWorld;
    let daemon: Daemon;
    let fleet: EmulatedFleet;
    let reg: RegisteredFleet;

    before(async () => {
      world = await startFleetWorld(dialect, 'hb-health-', { web: 1, mail: 1, dns: 0, combo: 0, pdns: true });
      ({ daemon, fleet, reg } = world);
    });
    after(async () => { await world?.close(); });

    async function check(): Promise<Record<string, any>> {
      const before = Date.now();
      const r = await daemon.core.scheduler.runNow('check-servers', () => {});
      assert.equal(r.result, 'ok', r.message);
      const ids = Object.values(reg.ids);
      return waitFor('every server checked', async () => {
        const servers = (await call(daemon.url, 'GET', '/v1/servers')).body.servers as Array<Record<string, any>>;
        const mine = servers.filter((s) => ids.includes(s.id));
        return mine.every((s) => s.health && s.health.checked_at >= before) ? Object.fromEntries(mine.map((s) => [s.name, s.health])) : null;
      });
    }

    test('each server is checked with four reads, and an unreachable one is reported as such', async () => {
      const web = fleet.web[0]!;
      const commandsBefore = web.ssh.commandLog().length;
      const first = await check();
      assert.deepEqual(Object.keys(first).sort(), ['mail1', 'pdns', 'web1']);
      assert.equal(first.web1.ok, true);
      assert.match(first.web1.version, /^HestiaCP \d+\.\d+/);
      assert.match(first.web1.load, /\d/);
      assert.equal(first.pdns.ok, true);
      assert.match(first.pdns.version, /^PowerDNS \d/);
      // The figures are this host's: the emulator prints top/lscpu, free and df layouts from node:os and statfs.
      assert.equal(first.web1.cpus, os.cpus().length);
      assert.ok(first.web1.cpu_pct >= 0 && first.web1.cpu_pct <= 100, `cpu_pct ${first.web1.cpu_pct}`);
      assert.ok(Math.abs(first.web1.mem_total_mb - Math.floor(os.totalmem() / 1048576)) <= 1, `mem_total_mb ${first.web1.mem_total_mb}`);
      assert.ok(first.web1.mem_pct > 0 && first.web1.mem_pct <= 100, `mem_pct ${first.web1.mem_pct}`);
      assert.ok(first.web1.disk_pct >= 0 && first.web1.disk_pct <= 100, `disk_pct ${first.web1.disk_pct}`);
      assert.match(first.web1.disk_size, /^\d+(\.\d)?[KMGTP]$/);
      const load1 = Number(first.web1.load.split('/')[0]);
      assert.equal(first.web1.load_pct, Math.round((load1 / os.cpus().length) * 1000) / 10);
      const listed = (await call(daemon.url, 'GET', '/v1/servers')).body.servers as Array<Record<string, any>>;
      assert.deepEqual(listed.find((x) => x.name === 'web1')!.groups, ['emulated'], 'a member lists its group');
      assert.deepEqual(listed.find((x) => x.name === 'pdns')!.groups, ['emulated'], 'a DNS server lists the group it serves');
      assert.equal(first.pdns.cpu_pct, null, 'PowerDNS reports no CPU figure');
      const ran = web.ssh.commandLog().slice(commandsBefore).filter((e) => e.ran).map((e) => (e.argv ?? []).find((a) => a.includes('v-list-sys-')) ?? '').filter(Boolean);
      assert.deepEqual(ran.map((c) => c.replace(/^.*\//, '')).sort(), ['v-list-sys-cpu-status', 'v-list-sys-disk-status', 'v-list-sys-info', 'v-list-sys-memory-status'],
        `four Hestia reads per check: ${JSON.stringify(ran)}`);

      await web.setDown(true);
      try {
        const second = await check();
        assert.equal(second.web1.ok, false);
        assert.match(second.web1.error, /ECONNREFUSED|ECONNRESET|connect|closed/i);
        assert.equal(second.mail1.ok, true, 'the other servers are unaffected');
      } finally {
        await web.setDown(false);
      }
      assert.equal((await check()).web1.ok, true);
    });
  });
}
