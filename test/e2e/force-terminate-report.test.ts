// Force terminate after a terminate that failed half way, through the PHP module (issue 15,
// defect 5): the terminate removed the web account and the DNS zones (its steps on different
// servers run side by side) and failed on the mail node (down); the force-terminate, with the mail
// node back up, removes the mail user, and its report (its close step's task log) lists as left
// only what is really still on the nodes (nothing), and names what was removed as removed.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../helpers/db.ts';
import { nodeSummary } from '../helpers/fleet.ts';
import { chainsOf, serviceRow, tasksOfChain } from '../helpers/service-chains.ts';
import { ok, startE2E, type E2E, type Order } from './whmcs.ts';

for (const dialect of DIALECTS) {
  describe(`force terminate after a failed terminate reports only what is left (${dialect})`, () => {
    let e: E2E;
    before(async () => {
      e = await startE2E({ dialect });
      // Two attempts, close together: the terminate fails in a second, not in minutes.
      await e.setting('retry.max_attempts', '2');
      await e.setting('retry.base_ms', '100');
      await e.setting('retry.cap_ms', '200');
    });
    after(async () => { await e?.close(); });

    test('the web account the failed terminate removed is not reported as left; everything reported as left is on its node', async () => {
      const o: Order = { serviceId: 7401, mode: 'split', domain: 'half-gone.example.com' };
      const dump = async () => JSON.stringify(await e.tasks(o.serviceId), null, 1).slice(0, 8000);
      ok(await e.module('CreateAccount', o), 'CreateAccount');
      const svc = await e.waitState(o.serviceId, ['active', 'failed'], 90_000);
      assert.equal(svc.state, 'active', await dump());
      const at = Object.fromEntries((svc.accounts as { role: string; server: string }[]).filter((x) => x.role === 'web' || x.role === 'mail').map((x) => [x.role, x.server]));
      const names = JSON.parse((await serviceRow(e.db, o.serviceId))!.names!) as { users: Record<string, string> };

      // The terminate removes the web account and the zones, and cannot reach the mail node.
      const mailNode = e.fleet.node(at.mail!);
      await mailNode.setDown(true);
      try {
        ok(await e.module('TerminateAccount', o), 'TerminateAccount');
        assert.equal((await e.waitState(o.serviceId, ['terminate-failed', 'terminated'], 60_000)).state, 'terminate-failed', await dump());
      } finally {
        await mailNode.setDown(false);
      }
      const [, terminate] = await chainsOf(e.db, o.serviceId);
      const steps = await tasksOfChain(e.db, terminate!.id);
      assert.deepEqual(steps.map((t) => [t.step, t.status]), [
        ['web.delete', 'succeeded'], ['mail.delete', 'failed'], ...e.fleet.dns.map(() => ['dns.delete', 'succeeded']), ['dns.zone-delete', 'succeeded'], ['service.close', 'cancelled'],
      ], await dump());
      const before = nodeSummary(e.fleet);
      assert.ok(!before[at.web!]!.users.includes(names.users.web!), 'the web user is gone from its node');
      assert.ok(before[at.mail!]!.users.includes(names.users.mail!), 'the mail user is still on its node');

      ok(await e.module('ForceTerminate', o), 'ForceTerminate');
      assert.equal((await e.waitState(o.serviceId, ['terminated', 'terminate-failed'], 60_000)).state, 'terminated', await dump());
      const force = (await chainsOf(e.db, o.serviceId)).at(-1)!;
      assert.deepEqual([force.operation, force.state], ['force-terminate', 'succeeded']);
      const close = await e.db('mod_hostbridge_tasks').where({ chain_id: force.id, type: 'service.close' }).first('id');
      const log = String((await e.db('mod_hostbridge_task_attempts').where('task_id', close.id).orderBy('id', 'desc').first('output')).output);

      // Every "left on" line names something really on that server.
      const left = [...log.matchAll(/left on (\S+): (\w+) (\S*)/g)].map((m) => ({ server: m[1]!, role: m[2]!, account: m[3]! }));
      const sum = nodeSummary(e.fleet);
      for (const l of left) {
        if (sum[l.server]) assert.ok(sum[l.server]!.users.includes(l.account), `reported as left on ${l.server}: ${l.role} ${l.account}, but the node does not hold it:\n${log}`);
        else assert.ok(l.role === 'dns' && await e.fleet.pdns!.zone(o.domain), `reported as left on ${l.server}: ${l.role}, but PowerDNS has no zone ${o.domain}:\n${log}`);
      }
      // Nothing is left: the force terminate removed the mail user (its node is back up: seed 000,
      // it removes what it can); not the web user, not the zones, which the terminate had removed.
      for (const ns of e.fleet.dns) assert.ok(!sum[ns.name]!.users.includes(names.users.dns!), `the DNS user is gone from ${ns.name}`);
      assert.equal(await e.fleet.pdns!.zone(o.domain), null, 'PowerDNS no longer holds the zone');
      assert.ok(!sum[at.mail!]!.users.includes(names.users.mail!), 'the force terminate removed the mail user');
      const reported = left.map((l) => `${l.server}: ${l.role} ${l.account}`);
      assert.ok(!reported.some((r) => r.startsWith(`${at.web}: web `)), `the web account the terminate removed is reported as left:\n${log}`);
      assert.equal(left.length, 0, `nothing is left:\n${log}`);
      assert.match(log, new RegExp(`already removed from ${at.web}: web ${names.users.web}`), log);
      assert.match(log, new RegExp(`already removed from ${at.mail}: mail ${names.users.mail}`), log);
      for (const ns of e.fleet.dns) assert.match(log, new RegExp(`already removed from ${ns.name}: dns ${names.users.dns}`), log);
    });
  });
}
