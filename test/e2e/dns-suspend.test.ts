// Suspend and Unsuspend reach the service's DNS on every DNS server (seed 000, issue 14 item 6),
// through the PHP module: on the emulated HestiaCP DNS node the zone is suspended
// (v-suspend-dns-domain, or already by v-suspend-user: the step checks and says so); on the real
// PowerDNS every record, SOA and NS included, is disabled, and a DNS query to it (node's
// Resolver, not dig) no longer gets an answer for the zone's names; the Unsuspend brings both back.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { nodeSummary } from '../helpers/fleet.ts';
import { DIALECTS } from '../helpers/db.ts';
import { chainsOf, tasksOfChain } from '../helpers/service-chains.ts';
import { ok, startE2E, type E2E, type Order } from './whmcs.ts';

for (const dialect of DIALECTS) {
  describe(`Suspend and Unsuspend disable and restore the zone on every DNS server (${dialect})`, () => {
    let e: E2E;
    const o: Order = { serviceId: 7701, mode: 'split', domain: 'paused.example.com' };
    let resolver: Resolver;
    let webIp = '';

    const dump = async () => JSON.stringify(await e.tasks(o.serviceId), null, 1).slice(0, 8000);
    const run = async (fn: string, want: string, extra: Record<string, unknown> = {}) => {
      ok(await e.module(fn, o, extra), fn);
      const svc = await e.waitState(o.serviceId, [want, 'failed'], 60_000);
      assert.equal(svc.state, want, await dump());
      const chain = (await chainsOf(e.db, o.serviceId)).at(-1)!;
      assert.equal(chain.state, 'succeeded', `${chain.operation}: ${chain.error}\n${await dump()}`);
      return tasksOfChain(e.db, chain.id);
    };
    /** The apex A record as the real PowerDNS answers it, or the resolver's error code. */
    const ask = async (): Promise<string[] | string> => {
      try {
        return await resolver.resolve4(o.domain);
      } catch (err) {
        return String((err as NodeJS.ErrnoException).code);
      }
    };
    const hestiaZone = (node: string) => {
      const u = Object.values(nodeSummary(e.fleet)[node]!.state.users).flatMap((x) => x.dns).find((z) => z.zone.DOMAIN === o.domain);
      assert.ok(u, `${node} holds zone ${o.domain}`);
      return u!;
    };
    const zoneRows = async () => (await e.db('mod_hostbridge_dns_zones as z').join('mod_hostbridge_servers as s', 's.id', 'z.server_id').where('z.zone', o.domain)
      .orderBy('s.name').select('s.name', 'z.state')).map((r) => `${r.name}: ${r.state}`);

    before(async () => {
      e = await startE2E({ dialect, fleet: { web: 1, mail: 1, dns: 1, combo: 0 } });
      resolver = new Resolver({ timeout: 3000, tries: 1 });
      resolver.setServers([`127.0.0.1:${e.fleet.pdns!.server.dnsPort}`]);
      webIp = e.fleet.web[0]!.ip;
      ok(await e.module('CreateAccount', o), 'CreateAccount');
      const svc = await e.waitState(o.serviceId, ['active', 'failed'], 90_000);
      assert.equal(svc.state, 'active', await dump());
    });
    after(async () => { await e?.close(); });

    test('deployed: PowerDNS answers for the zone, the Hestia zone is active', async () => {
      assert.deepEqual(await ask(), [webIp]);
      assert.equal(hestiaZone(e.fleet.dns[0]!.name).zone.SUSPENDED, 'no');
      assert.deepEqual(await zoneRows(), [`${e.fleet.dns[0]!.name}: deployed`, 'pdns: deployed']);
    });

    test('Suspend: the zone stops answering in PowerDNS and is suspended on the Hestia DNS node', async () => {
      const steps = await run('SuspendAccount', 'suspended', { suspendreason: 'Overdue on Payment' });
      const zoneSteps = steps.filter((s) => s.type === 'dns.zone-state').map((s) => `${s.step} ${s.status}`);
      assert.deepEqual(zoneSteps, ['dns.zone-suspend succeeded', 'dns.zone-suspend succeeded'], await dump());
      assert.equal(await ask(), 'EREFUSED', 'PowerDNS no longer holds the zone: it refuses the query');
      const z = await e.fleet.pdns!.zone(o.domain);
      assert.ok(z, 'the PowerDNS zone is kept');
      for (const rr of z!.rrsets) for (const r of rr.records) assert.equal(r.disabled, true, `${rr.name} ${rr.type} ${r.content} is disabled`);
      assert.ok(z!.rrsets.some((rr) => rr.type === 'SOA'), 'its SOA is there, disabled');
      const hz = hestiaZone(e.fleet.dns[0]!.name);
      assert.equal(hz.zone.SUSPENDED, 'yes');
      assert.ok(hz.records.every((r) => r.SUSPENDED === 'yes'), 'every record of the Hestia zone is suspended');
      assert.deepEqual(await zoneRows(), [`${e.fleet.dns[0]!.name}: suspended`, 'pdns: suspended']);
      // Check, act, verify: the Hestia zone was already suspended by v-suspend-user; the step says so.
      const t = await e.db('mod_hostbridge_tasks').where({ type: 'dns.zone-state', target: `server:${e.reg.ids[e.fleet.dns[0]!.name]}` }).orderBy('id', 'desc').first('id');
      const log = String((await e.db('mod_hostbridge_task_attempts').where('task_id', t.id).orderBy('id', 'desc').first('output')).output);
      assert.match(log, /already suspended/, log);
    });

    test('a suspended zone cannot be redeployed from the DNS Zones page; the refusal says why', async () => {
      const { redeployZone } = await import('../../daemon/services/zone-redeploy.ts');
      await assert.rejects(redeployZone(e.db, o.serviceId), /is suspended, and so is its zone: unsuspend it first/);
    });

    test('Unsuspend: PowerDNS answers again, the Hestia zone is active again', async () => {
      const steps = await run('UnsuspendAccount', 'active');
      assert.deepEqual(steps.filter((s) => s.type === 'dns.zone-state').map((s) => `${s.step} ${s.status}`), ['dns.zone-unsuspend succeeded', 'dns.zone-unsuspend succeeded']);
      assert.deepEqual(await ask(), [webIp]);
      const z = await e.fleet.pdns!.zone(o.domain);
      for (const rr of z!.rrsets) for (const r of rr.records) assert.equal(r.disabled, false, `${rr.name} ${rr.type} ${r.content} is enabled again`);
      const hz = hestiaZone(e.fleet.dns[0]!.name);
      assert.equal(hz.zone.SUSPENDED, 'no');
      assert.ok(hz.records.every((r) => r.SUSPENDED === 'no'));
      assert.deepEqual(await zoneRows(), [`${e.fleet.dns[0]!.name}: deployed`, 'pdns: deployed']);
    });
  });
}
