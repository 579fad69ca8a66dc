// Two independent steps of one deployment fail on different servers (PHP module → daemon →
// emulated fleet and the real pdns_server). The web domain on the web node and the zone on one
// DNS node do not depend on each other: each retries on its own back-off while the rest of the
// deployment (mail, the other zones) completes; the deployment fails once both have given up,
// with one ticket thread for the operation (a ticket and a note); Verify & Repair then completes
// it with nothing made twice.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { nodeSummary } from '../helpers/fleet.ts';
import { duplicates, ok, startE2E, type E2E, type Order } from './whmcs.ts';

for (const dialect of DIALECTS) {
  describe(`two independent failures in one deployment on ${dialect}`, () => {
    let e: E2E;
    before(async () => {
      e = await startE2E({ dialect });
      for (const [k, v] of [['retry.max_attempts', '3'], ['retry.base_ms', '300'], ['retry.cap_ms', '300'], ['retry.jitter', '0']]) await e.setting(k!, v!);
    });
    after(async () => { await e?.close(); });

    test('each failing step retries on its own, one ticket thread, Verify & Repair completes the service', async () => {
      const o: Order = { serviceId: dialect === 'sqlite' ? 7301 : 7302, mode: 'split', domain: `two-faults-${dialect}.example.com` };
      const web = e.fleet.node('web1');
      const ns1 = e.fleet.node('ns1');
      // Each command that would add the web domain, or the zone on ns1, loses its connection before it runs.
      await web.ssh.setFault({ kind: 'drop', when: 'before', match: /v-add-web-domain\b/, times: 1000 });
      await ns1.ssh.setFault({ kind: 'drop', when: 'before', match: /v-add-dns-domain\b/, times: 1000 });
      try {
        ok(await e.module('CreateAccount', o), 'CreateAccount');
        const failed = await e.waitState(o.serviceId, ['failed', 'active'], 90_000);
        assert.equal(failed.state, 'failed', JSON.stringify(await e.tasks(o.serviceId)).slice(0, 4000));
      } finally {
        await web.ssh.setFault(null);
        await ns1.ssh.setFault(null);
      }
      const svc = Number((await e.db('mod_hostbridge_services').where('whmcs_service_id', o.serviceId).first('id')).id);
      const tasks = await e.db('mod_hostbridge_tasks').where('service_id', svc).orderBy('step_no')
        .select('id', 'step', 'type', 'target', 'status', 'attempts', 'last_error');
      const byStep = (step: string, target?: string) => tasks.find((t) => t.step === step && (!target || t.target === target))!;
      const webDomain = byStep('web.domain');
      const ns1Zone = byStep('dns.zone', `server:${e.reg.ids.ns1}`);
      assert.deepEqual([webDomain.status, webDomain.attempts], ['failed', 3], 'the web domain used its three attempts');
      assert.deepEqual([ns1Zone.status, ns1Zone.attempts], ['failed', 3], 'the zone on ns1 used its three attempts');
      // The steps that depend on neither completed; only the web domain's dependent was not run.
      for (const t of tasks.filter((x) => x.id !== webDomain.id && x.id !== ns1Zone.id)) {
        assert.equal(t.status, t.step === 'ssl.seed' ? 'cancelled' : 'succeeded', `${t.step}@${t.target}: ${t.status} ${t.last_error ?? ''}`);
      }
      // Each retried on its own: their attempts interleave in time rather than one after the other.
      const attempts = async (taskId: number) => e.db('mod_hostbridge_task_attempts').where('task_id', taskId).orderBy('attempt').select('attempt', 'result', 'started_at', 'finished_at', 'retry_delay_ms');
      const [wa, za] = [await attempts(webDomain.id), await attempts(ns1Zone.id)];
      assert.deepEqual(wa.map((a) => a.result), ['retry', 'retry', 'failed']);
      assert.deepEqual(za.map((a) => a.result), ['retry', 'retry', 'failed']);
      assert.ok(Number(wa[0].started_at) < Number(za.at(-1).finished_at) && Number(za[0].started_at) < Number(wa.at(-1).finished_at),
        `the two steps' attempts overlap in time: web ${JSON.stringify(wa)} zone ${JSON.stringify(za)}`);

      const outbox = await e.db('mod_hostbridge_ticket_outbox').where('service_id', svc);
      assert.equal(outbox.length, 1, 'one ticket for the operation');
      const notes = await e.db('mod_hostbridge_ticket_notes').where('outbox_id', outbox[0].id);
      assert.equal(notes.length, 1, 'the second failure is a note on the same ticket');
      const chain = await e.db('mod_hostbridge_chains').where({ service_id: svc, operation: 'deploy' }).first('state', 'error');
      assert.equal(chain.state, 'failed');
      assert.match(chain.error, /web\.domain: /);
      assert.match(chain.error, /dns\.zone: /);

      // The faults are gone: Verify & Repair converges from what is there.
      const repair = await call(e.url, 'POST', `/v1/services/${o.serviceId}/actions/verify-repair`, {});
      assert.equal(repair.status, 200, JSON.stringify(repair.body));
      const done = await e.waitState(o.serviceId, ['active', 'failed'], 60_000);
      assert.equal(done.state, 'active', JSON.stringify(await e.tasks(o.serviceId)).slice(0, 4000));
      const sum = nodeSummary(e.fleet);
      const names = JSON.parse((await e.db('mod_hostbridge_services').where('id', svc).first('names')).names);
      assert.deepEqual(sum.web1!.web[names.users.web], [o.domain], 'the web domain exists once on web1');
      for (const ns of e.fleet.dns) {
        const owners = Object.entries(sum[ns.name]!.zones).filter(([, zs]) => zs.includes(o.domain)).map(([u]) => u);
        assert.equal(owners.length, 1, `${ns.name} holds the zone once`);
        assert.deepEqual(duplicates(sum[ns.name]!.records[o.domain]!), [], `${ns.name}: no record twice`);
      }
    });
  });
}
