// DNS going away in the middle of a deployment (PHP module → daemon → emulated fleet and the real
// pdns_server). A DNS step is retried with back-off like any other (docs/task-engine.md): the
// deployment waits, each failed attempt is in the step's task log, and once the DNS server is
// back the step runs again from what the broken attempt left, the service becomes active, and
// every DNS server holds the zone's records once each.
//  - a HestiaCP DNS node that dies between two commands of its zone step (its SSH connection reset);
//  - PowerDNS stopped (pdns_server killed, its API gone) while the deployment's earlier steps run.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/db.ts';
import { nodeSummary } from '../helpers/fleet.ts';
import { duplicates, ok, startE2E, type E2E, type Order } from './whmcs.ts';

describe('a DNS server going down mid-deployment', () => {
  let e: E2E;
  before(async () => {
    e = await startE2E({ dialect: 'mysql' });
    // Unlimited attempts, short fixed back-off: the deployment waits for DNS, however long it is away.
    for (const [k, v] of [['retry.max_attempts', '0'], ['retry.base_ms', '200'], ['retry.cap_ms', '800'], ['retry.jitter', '0']]) await e.setting(k!, v!);
  });
  after(async () => { await e?.close(); });

  const internalId = async (serviceId: number) => Number((await e.db('mod_hostbridge_services').where('whmcs_service_id', serviceId).first('id')).id);
  /** The dns.zone task of a service on one server, with its attempts. */
  const zoneTask = async (serviceId: number, serverId: number) => {
    const task = await e.db('mod_hostbridge_tasks').where({ service_id: await internalId(serviceId), type: 'dns.zone', target: `server:${serverId}` }).orderBy('id', 'desc').first('id', 'status', 'attempts');
    const attempts = task ? await e.db('mod_hostbridge_task_attempts').where('task_id', task.id).orderBy('attempt').select('attempt', 'result', 'error', 'output') : [];
    return { task, attempts: attempts as Array<{ attempt: number; result: string; error: string | null; output: string | null }> };
  };
  /** The service's zone row (mod_hostbridge_dns_zones) for one server. */
  const zoneRow = async (serviceId: number, serverId: number) =>
    e.db('mod_hostbridge_dns_zones').where({ service_id: await internalId(serviceId), server_id: serverId }).first('state', 'last_error') as Promise<{ state: string; last_error: string | null } | undefined>;
  /** The service's records on PowerDNS as "name TYPE content", one per record. */
  const pdnsRecords = async (domain: string) => {
    const z = await e.fleet.pdns!.zone(domain);
    assert.ok(z, `PowerDNS holds ${domain}`);
    const rrsets = z.rrsets.map((r) => `${r.name} ${r.type}`);
    assert.deepEqual(duplicates(rrsets), [], `one rrset per name and type in ${domain}`);
    return z.rrsets.flatMap((r) => r.records.map((x) => `${r.name} ${r.type} ${x.content}`));
  };
  /** Asserts every Hestia DNS node holds the zone once, under the service's DNS user, with no record twice. */
  const hestiaZones = async (serviceId: number, domain: string) => {
    const names = JSON.parse((await e.db('mod_hostbridge_services').where('whmcs_service_id', serviceId).first('names')).names);
    const sum = nodeSummary(e.fleet);
    const out: Record<string, string[]> = {};
    for (const ns of e.fleet.dns) {
      assert.deepEqual(sum[ns.name]!.zones[names.users.dns], [domain], `${ns.name} holds the zone under ${names.users.dns}`);
      const zoneOwners = Object.entries(sum[ns.name]!.zones).filter(([, zs]) => zs.includes(domain)).map(([u]) => u);
      assert.deepEqual(zoneOwners, [names.users.dns], `${ns.name}: the zone exists once`);
      const records = sum[ns.name]!.records[domain]!;
      assert.deepEqual(duplicates(records), [], `${ns.name}: no record twice in ${domain}`);
      out[ns.name] = [...records].sort();
    }
    return out;
  };

  test('a HestiaCP DNS node dies inside its zone step: the step retries, the node returns, the service completes', async () => {
    const ns1 = e.fleet.node('ns1');
    const o: Order = { serviceId: 7001, mode: 'split', domain: 'dns-node-down.example.com' };
    // Slow commands on ns1 leave room to cut it off between two commands of its zone step.
    ns1.ssh.setLatency(300);
    const logStart = ns1.ssh.commandLog().length;
    try {
      ok(await e.module('CreateAccount', o), 'CreateAccount');
      // Cut off once the zone exists on ns1 but before its records are converged: the retry starts from a half-made zone.
      await waitFor('the zone step to add the zone on ns1', async () => ns1.ssh.commandLog().slice(logStart).some((c) => c.command.includes('v-add-dns-domain') && (c.argv ?? []).includes(o.domain)), 30_000, 10);
      await ns1.setDown(true);
      const ns1Id = e.reg.ids.ns1!;
      const failing = await waitFor('two failed attempts of the zone step on ns1', async () => {
        const z = await zoneTask(o.serviceId, ns1Id);
        return z.attempts.filter((a) => a.result === 'retry').length >= 2 ? z : null;
      }, 30_000, 50);
      assert.notEqual(failing.task.status, 'succeeded');
      assert.equal((await e.service(o.serviceId)).state, 'deploying', 'the deployment waits for the DNS node');
      for (const a of failing.attempts.filter((x) => x.result === 'retry')) {
        assert.match(String(a.error), /ECONNREFUSED|ECONNRESET|connect|closed|reset|ended|lost/i, `the task log says why: ${a.error}`);
      }
      // The zone's state on ns1 says it waits for a retry, and why (the DNS tab and DNS Zones page show it).
      const row = await zoneRow(o.serviceId, ns1Id);
      assert.equal(row?.state, 'pending', JSON.stringify(row));
      assert.match(String(row?.last_error), /ECONNREFUSED|ECONNRESET|connect|closed|reset|ended|lost/i);
    } finally {
      ns1.ssh.setLatency(0);
      await ns1.setDown(false);
    }
    const done = await e.waitState(o.serviceId, ['active', 'failed'], 60_000);
    assert.equal(done.state, 'active', JSON.stringify(await e.tasks(o.serviceId)).slice(0, 6000));
    const final = await zoneTask(o.serviceId, e.reg.ids.ns1!);
    assert.equal(final.task.status, 'succeeded');
    assert.equal(final.attempts.at(-1)!.result, 'succeeded');
    assert.ok(final.attempts.length >= 3, `failed attempts then a success: ${JSON.stringify(final.attempts.map((a) => a.result))}`);
    // The successful attempt found the half-made zone and converged it; the zone was added once.
    assert.match(String(final.attempts.at(-1)!.output), new RegExp(`zone ${o.domain.replace(/\./g, '\\.')} holds its \\d+ records`));
    assert.doesNotMatch(String(final.attempts.at(-1)!.output), /created on/);
    const adds = ns1.ssh.commandLog().slice(logStart).filter((c) => c.command.includes('v-add-dns-domain') && (c.argv ?? []).includes(o.domain));
    assert.equal(adds.length, 1, 'the zone was added once on ns1');

    const zones = await hestiaZones(o.serviceId, o.domain);
    assert.deepEqual(zones.ns1, zones.ns2, 'the node that was down holds the same records as the one that was not');
    assert.ok(zones.ns1!.some((r) => /^@ A 192\.0\.2\./.test(r)), `the apex A record is there: ${zones.ns1!.join(' | ')}`);
    const pdns = await pdnsRecords(o.domain);
    assert.deepEqual(duplicates(pdns), []);
    const state = await e.db('mod_hostbridge_dns_zones').where({ service_id: await internalId(o.serviceId) }).orderBy('server_id').select('server_id', 'state', 'records', 'last_error');
    assert.equal(state.length, 3, JSON.stringify(state));
    assert.ok(state.every((s) => s.state === 'deployed' && s.last_error === null), `every server's zone deployed, the error of ns1's retries cleared: ${JSON.stringify(state)}`);
  });

  test('PowerDNS stops while the deployment runs: its zone step retries, PowerDNS returns, the service completes', async () => {
    const pdns = e.fleet.pdns!;
    const pdnsId = e.reg.pdns!;
    const o: Order = { serviceId: 7002, mode: 'split', domain: 'pdns-down.example.com' };
    // A slow mail node: the zone steps wait for the mail domain (its DKIM record), so PowerDNS is
    // reached well after the mail account exists.
    const mailNodes = e.fleet.nodes.filter((n) => n.name.startsWith('mail'));
    for (const n of mailNodes) n.ssh.setLatency(150);
    try {
      ok(await e.module('CreateAccount', o), 'CreateAccount');
      const svc = await internalId(o.serviceId);
      await waitFor('the mail account of the deployment', async () => (await e.db('mod_hostbridge_tasks').where({ service_id: svc, step: 'mail.user' }).first('status'))?.status === 'succeeded', 30_000, 10);
      assert.equal((await zoneTask(o.serviceId, pdnsId)).attempts.length, 0, 'precondition: PowerDNS not reached yet');
      await pdns.server.halt();
      const failing = await waitFor('two failed attempts of the PowerDNS zone step', async () => {
        const z = await zoneTask(o.serviceId, pdnsId);
        return z.attempts.filter((a) => a.result === 'retry').length >= 2 ? z : null;
      }, 30_000, 50);
      assert.equal((await e.service(o.serviceId)).state, 'deploying', 'the deployment waits for PowerDNS');
      for (const a of failing.attempts.filter((x) => x.result === 'retry')) {
        assert.match(String(a.error), /PowerDNS|502|ECONNREFUSED|connect/i, `the task log says why: ${a.error}`);
      }
      const row = await zoneRow(o.serviceId, pdnsId);
      assert.equal(row?.state, 'pending', JSON.stringify(row));
      assert.match(String(row?.last_error), /PowerDNS|502|ECONNREFUSED|connect/i);
      // The Hestia DNS zone steps do not depend on PowerDNS: they complete while it is down.
      for (const ns of e.fleet.dns) {
        await waitFor(`the zone step on ${ns.name}`, async () => (await zoneTask(o.serviceId, e.reg.ids[ns.name]!)).task?.status === 'succeeded', 30_000, 20);
      }
      assert.equal((await e.service(o.serviceId)).state, 'deploying', 'the deployment still waits for PowerDNS');
    } finally {
      for (const n of mailNodes) n.ssh.setLatency(0);
      await pdns.server.resume();
    }
    const done = await e.waitState(o.serviceId, ['active', 'failed'], 60_000);
    assert.equal(done.state, 'active', JSON.stringify(await e.tasks(o.serviceId)).slice(0, 6000));
    const final = await zoneTask(o.serviceId, pdnsId);
    assert.equal(final.task.status, 'succeeded');
    assert.equal(final.attempts.at(-1)!.result, 'succeeded');

    const records = await pdnsRecords(o.domain);
    assert.deepEqual(duplicates(records), [], 'no record twice in PowerDNS');
    assert.ok(records.some((r) => r.startsWith(`${o.domain}. A `)), `the apex A record is in PowerDNS: ${records.join(' | ')}`);
    const hestia = await hestiaZones(o.serviceId, o.domain);
    assert.equal(records.filter((r) => !/ SOA /.test(r)).length, hestia.ns1!.filter((r) => !/ SOA /.test(r)).length,
      `PowerDNS and the Hestia nodes hold as many records: ${records.join(' | ')} vs ${hestia.ns1!.join(' | ')}`);
  });
});
