// Force terminate with one DNS node down (seed 000, issue 14 item 6): every reachable server is
// cleaned — the web and mail accounts, the zone on the Hestia DNS node that answers, the PowerDNS
// zone — and what the dead node still holds is listed for later cleanup in the close step's
// report, while the service ends terminated (the dead node stops nothing).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { nodeSummary } from '../helpers/fleet.ts';
import { DIALECTS } from '../helpers/db.ts';
import { chainsOf, serviceRow, tasksOfChain } from '../helpers/service-chains.ts';
import { ok, startE2E, type E2E, type Order } from './whmcs.ts';

for (const dialect of DIALECTS) {
  describe(`force terminate with a DNS node down removes what it can and lists the rest (${dialect})`, () => {
    let e: E2E;
    before(async () => { e = await startE2E({ dialect, fleet: { web: 1, mail: 1, dns: 2, combo: 0 } }); });
    after(async () => { await e?.close(); });

    test('reachable servers are clean; the down node\'s zone is reported as left', async () => {
      const o: Order = { serviceId: 7801, mode: 'split', domain: 'half-down.example.com' };
      const dump = async () => JSON.stringify(await e.tasks(o.serviceId), null, 1).slice(0, 8000);
      ok(await e.module('CreateAccount', o), 'CreateAccount');
      assert.equal((await e.waitState(o.serviceId, ['active', 'failed'], 90_000)).state, 'active', await dump());
      const names = JSON.parse((await serviceRow(e.db, o.serviceId))!.names!) as { users: Record<string, string> };
      const [up, down] = e.fleet.dns as [typeof e.fleet.dns[0], typeof e.fleet.dns[0]];
      assert.ok(await e.fleet.pdns!.zone(o.domain), 'PowerDNS holds the zone before');

      await down.setDown(true);
      try {
        ok(await e.module('ForceTerminate', o), 'ForceTerminate');
        assert.equal((await e.waitState(o.serviceId, ['terminated', 'terminate-failed'], 60_000)).state, 'terminated', await dump());
      } finally {
        await down.setDown(false);
      }
      const force = (await chainsOf(e.db, o.serviceId)).at(-1)!;
      assert.deepEqual([force.operation, force.state], ['force-terminate', 'succeeded']);
      const steps = await tasksOfChain(e.db, force.id);
      assert.ok(steps.every((s) => s.status === 'succeeded'), JSON.stringify(steps));
      assert.ok(steps.some((s) => s.step === 'force.dns.zone-delete'), 'the PowerDNS zone is removed by the force terminate');

      // Reachable: clean.
      const sum = nodeSummary(e.fleet);
      assert.ok(!sum[e.fleet.web[0]!.name]!.users.includes(names.users.web!), 'the web user is gone');
      assert.ok(!sum[e.fleet.mail[0]!.name]!.users.includes(names.users.mail!), 'the mail user is gone');
      assert.ok(!sum[up.name]!.users.includes(names.users.dns!), `the DNS user and its zone are gone from ${up.name}`);
      assert.equal(await e.fleet.pdns!.zone(o.domain), null, 'PowerDNS no longer holds the zone');
      // Down: untouched, and reported.
      assert.deepEqual(sum[down.name]!.zones[names.users.dns!], [o.domain], `${down.name} still holds the zone`);
      const close = await e.db('mod_hostbridge_tasks').where({ chain_id: force.id, type: 'service.close' }).first('id');
      const log = String((await e.db('mod_hostbridge_task_attempts').where('task_id', close.id).orderBy('id', 'desc').first('output')).output);
      const left = [...log.matchAll(/left on (\S+): (\w+) (\S*)/g)].map((m) => `${m[1]}: ${m[2]} ${m[3]}`);
      assert.deepEqual(left, [`${down.name}: dns ${names.users.dns}`], log);
      const tryDown = await e.db('mod_hostbridge_tasks').where({ chain_id: force.id, target: `server:${e.reg.ids[down.name]}` }).first('result', 'id');
      assert.equal(JSON.parse(tryDown.result).removed, false);
      const tryLog = String((await e.db('mod_hostbridge_task_attempts').where('task_id', tryDown.id).orderBy('id', 'desc').first('output')).output);
      assert.match(tryLog, new RegExp(`could not remove dns on ${down.name}: .+; left for cleanup`), tryLog);
      // Kept for later cleanup after the service's rows are gone (the DNS Zones page lists it).
      const kept = await e.db('mod_hostbridge_leftovers').where('whmcs_service_id', o.serviceId).whereNull('cleaned_at').select('role', 'server', 'account', 'domain');
      assert.deepEqual(kept.map((k) => `${k.server}: ${k.role} ${k.account} ${k.domain}`), [`${down.name}: dns ${names.users.dns} ${o.domain}`]);
      // The service's zone rows go with it: the DNS Zones page no longer lists the zone.
      assert.equal((await e.db('mod_hostbridge_dns_zones').where('zone', o.domain)).length, 0);
    });
  });
}
