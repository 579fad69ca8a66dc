// A mail node that refuses connections during deployments: its step is retried with growing
// back-off while services on other nodes complete, and completes once the node is back. When it
// never comes back (a short retry policy), the chain fails with exactly one ticket intent, and
// Verify & Repair after the node returns completes the service without duplicating anything.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../helpers/api.ts';
import { DIALECTS, waitFor } from '../helpers/db.ts';
import { nodeSummary, PROVIDER_USER } from '../helpers/fleet.ts';
import { duplicates, ok, startE2E, type E2E, type Order } from './whmcs.ts';

for (const dialect of DIALECTS) {
  describe(`an unreachable mail node (PHP module → daemon → emulated fleet) (${dialect})`, () => {
    let e: E2E;
    before(async () => { e = await startE2E({ dialect }); });
    after(async () => { await e?.close(); });

    const internalId = async (serviceId: number) => Number((await e.db('mod_hostbridge_services').where('whmcs_service_id', serviceId).first('id')).id);
    const attemptsOf = async (serviceId: number, step: string) => {
      const task = await e.db('mod_hostbridge_tasks').where({ service_id: await internalId(serviceId), step }).orderBy('id', 'desc').first('id', 'attempts', 'status', 'last_error');
      if (!task) return { task: null, attempts: [] as { attempt: number; result: string; error: string | null; retry_delay_ms: number | null }[] };
      return { task, attempts: await e.db('mod_hostbridge_task_attempts').where('task_id', task.id).orderBy('attempt').select('attempt', 'result', 'error', 'retry_delay_ms') };
    };

    test('the mail step retries with growing delays while other services complete; the node returns and the service completes', async () => {
      // No limit on attempts, delays 200, 400, 800, 1600 ms, no jitter: the growth is exact.
      await e.setting('retry.max_attempts', '0');
      await e.setting('retry.base_ms', '200');
      await e.setting('retry.cap_ms', '1600');
      await e.setting('retry.jitter', '0');
      const mail1 = e.fleet.node('mail1');
      await mail1.setDown(true);
      const x: Order = { serviceId: 6001, mode: 'split', domain: 'stalled.example.com' };
      const y: Order = { serviceId: 6002, mode: 'split', domain: 'flowing.example.com' };
      const z: Order = { serviceId: 6003, mode: 'unified', domain: 'unified-flowing.example.com' };
      try {
        for (const o of [x, y, z]) ok(await e.module('CreateAccount', o), `CreateAccount ${o.serviceId}`);
        const sx = await e.service(x.serviceId);
        assert.ok(sx.accounts.some((a: any) => a.role === 'mail' && a.server === 'mail1'), `precondition: ${x.domain} placed on mail1 (${JSON.stringify(sx.accounts)})`);
        const sy = await e.service(y.serviceId);
        assert.ok(!sy.accounts.some((a: any) => a.server === 'mail1'), `precondition: ${y.domain} not on mail1 (${JSON.stringify(sy.accounts)})`);
        // The others complete while mail1 is down.
        for (const o of [y, z]) {
          const s = await e.waitState(o.serviceId, ['active', 'failed'], 60_000);
          assert.equal(s.state, 'active', `${o.domain}: ${JSON.stringify(await e.tasks(o.serviceId)).slice(0, 4000)}`);
        }
        const seen = await waitFor('four attempts of the mail step', async () => {
          const a = await attemptsOf(x.serviceId, 'mail.package');
          return a.attempts.length >= 4 ? a : null;
        }, 30_000, 100);
        assert.equal((await e.service(x.serviceId)).state, 'deploying');
        const delays = seen.attempts.map((a) => a.retry_delay_ms);
        assert.ok(seen.attempts.every((a) => a.result === 'retry'), JSON.stringify(seen.attempts));
        assert.deepEqual(delays.slice(0, 4), [200, 400, 800, 1600], `back-off ${JSON.stringify(delays)}`);
        assert.match(String(seen.attempts[0]!.error), /refused|ECONNREFUSED|connect/i, `the attempt says why: ${seen.attempts[0]!.error}`);
        // Nothing ran on mail1 while it was down.
        assert.ok(!mail1.ssh.commandLog().some((c) => c.argv?.join(' ').includes('stalled-example')), 'a command of the stalled service reached mail1');
      } finally {
        await mail1.setDown(false);
      }
      const done = await e.waitState(x.serviceId, ['active', 'failed'], 30_000);
      assert.equal(done.state, 'active', JSON.stringify(await e.tasks(x.serviceId)).slice(0, 6000));
      const sum = nodeSummary(e.fleet);
      const mailDomains = Object.values(sum).flatMap((s) => Object.values(s.mail).flat());
      assert.deepEqual(duplicates(mailDomains), []);
      assert.ok(mailDomains.includes(x.domain));
    });

    test('never back: the chain fails with exactly one ticket intent; after the node returns, Verify & Repair completes it once', async () => {
      await e.setting('retry.max_attempts', '3');
      await e.setting('retry.base_ms', '100');
      await e.setting('retry.cap_ms', '400');
      // Both mail nodes down, so wherever the order lands its mail step cannot run.
      const mails = e.fleet.mail;
      for (const m of mails) await m.setDown(true);
      const w: Order = { serviceId: 6101, mode: 'split', domain: 'doomed.example.com' };
      try {
        ok(await e.module('CreateAccount', w), 'CreateAccount');
        const failed = await e.waitState(w.serviceId, ['failed', 'active'], 30_000);
        assert.equal(failed.state, 'failed');
        const { task, attempts } = await attemptsOf(w.serviceId, 'mail.package');
        assert.equal(task.status, 'failed');
        assert.equal(attempts.length, 3, JSON.stringify(attempts));
        const id = await internalId(w.serviceId);
        const intents = await e.db('mod_hostbridge_ticket_outbox').where('service_id', id).select('id', 'operation', 'subject', 'body');
        assert.equal(intents.length, 1, JSON.stringify(intents));
        assert.equal(intents[0].operation, 'deploy');
        assert.ok(!String(intents[0].body).includes('Cust0mer-Pa55!'), 'no password in the ticket');
      } finally {
        for (const m of mails) await m.setDown(false);
      }
      const before = nodeSummary(e.fleet);
      const r = await call(e.url, 'POST', `/v1/services/${w.serviceId}/actions/verify-repair`, {});
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const done = await e.waitState(w.serviceId, ['active', 'failed'], 30_000);
      assert.equal(done.state, 'active', JSON.stringify(await e.tasks(w.serviceId)).slice(0, 6000));
      const sum = nodeSummary(e.fleet);
      const row = JSON.parse((await e.db('mod_hostbridge_services').where('whmcs_service_id', w.serviceId).first('names')).names);
      // The web side, done before the failure, was checked and kept, not made twice.
      const [webNode] = done.accounts.filter((a: any) => a.role === 'web').map((a: any) => a.server);
      assert.deepEqual(sum[webNode]!.web[row.users.web], [w.domain]);
      assert.deepEqual(sum[webNode]!.web, before[webNode]!.web, 'the web node changed on repair');
      const everywhere = (pick: (s: (typeof sum)[string]) => string[]) => Object.values(sum).flatMap(pick);
      assert.deepEqual(duplicates(everywhere((s) => Object.values(s.web).flat())), []);
      assert.deepEqual(duplicates(everywhere((s) => Object.values(s.mail).flat())), []);
      // A user exists on one node only; DNS users (and the provider) once per node that holds them.
      const users = Object.entries(sum).flatMap(([node, s]) => s.users.map((u) => (e.fleet.node(node).kind === 'dns' || u === PROVIDER_USER ? `${node}:${u}` : u)));
      assert.deepEqual(duplicates(users), []);
      for (const ns of e.fleet.dns) assert.deepEqual(sum[ns.name]!.zones[row.users.dns], [w.domain]);
      assert.ok(await e.fleet.pdns!.zone(w.domain));
      assert.equal((await e.db('mod_hostbridge_ticket_outbox').where('service_id', await internalId(w.serviceId))).length, 1, 'a repair adds no ticket');
    });
  });
}
