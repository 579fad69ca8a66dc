// Issue 15, defect 3, as the Infrastructure page sees it: a HestiaCP node without dmidecode and
// fdisk (a container, a minimal VM) answers v-list-sys-memory-status and v-list-sys-disk-status
// with exit 127 after printing free and df. The server check keeps its RAM and disk figures and
// does not call the node "not HestiaCP".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { paths } from '../emulator/hestia/index.ts';
import { DIALECTS, waitFor } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { startFleetWorld, type FleetWorld } from '../helpers/world.ts';

for (const dialect of DIALECTS) {
  describe(`server health on a node without dmidecode and fdisk (${dialect})`, () => {
    let world: FleetWorld;

    before(async () => {
      world = await startFleetWorld(dialect, 'hb-health-tools-', { web: 1, mail: 0, dns: 0, combo: 0, pdns: false });
      // The emulator reads hestia.conf on every command: from now on web1 has none of these tools.
      fs.appendFileSync(paths.conf(world.fleet.web[0]!.dir), "EMULATOR_MISSING_TOOLS='dmidecode,fdisk,lscpu'\n");
    });
    after(async () => { await world?.close(); });

    test('RAM, disk and CPU figures are recorded, with no error', async () => {
      const started = Date.now();
      const r = await world.daemon.core.scheduler.runNow('check-servers', () => {});
      assert.equal(r.result, 'ok', r.message);
      const web1 = await waitFor('web1 checked', async () => {
        const servers = (await call(world.daemon.url, 'GET', '/v1/servers')).body.servers as Array<Record<string, any>>;
        const s = servers.find((x) => x.id === world.reg.ids.web1);
        return s?.health && s.health.checked_at >= started ? s.health : null;
      });
      assert.equal(web1.ok, true, JSON.stringify(web1));
      assert.equal(web1.error, null);
      assert.ok(Math.abs(web1.mem_total_mb - Math.floor(os.totalmem() / 1048576)) <= 1, `mem_total_mb ${web1.mem_total_mb}`);
      assert.ok(web1.mem_pct > 0 && web1.mem_pct <= 100, `mem_pct ${web1.mem_pct}`);
      assert.ok(web1.disk_pct >= 0 && web1.disk_pct <= 100, `disk_pct ${web1.disk_pct}`);
      assert.match(web1.disk_size, /^\d+(\.\d)?[KMGTP]$/);
      assert.ok(web1.cpu_pct >= 0 && web1.cpu_pct <= 100, `cpu_pct ${web1.cpu_pct}`);
      // Without lscpu the count comes from /proc/cpuinfo's model names.
      assert.equal(web1.cpus, os.cpus().length);
    });
  });
}
