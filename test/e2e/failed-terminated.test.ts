// What WHMCS can do to a service that failed or was terminated, and to one whose package would
// switch a role of a Unified service on or off, through the PHP module against the emulated fleet:
// - CreateAccount again on a service whose deployment failed deploys it again, on the same plan;
// - a terminated service refuses every operation but terminate (409, naming CreateAccount), and
//   CreateAccount provisions it afresh;
// - a package change that switches Web or Mail on or off of a Unified service is refused (its web
//   and mail share one account) and changes nothing; a Split service switches roles
//   (test/e2e/role-change.test.ts).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../helpers/api.ts';
import { waitFor } from '../helpers/db.ts';
import { nodeSummary } from '../helpers/fleet.ts';
import { chainsOf, fleetHoldings, serviceRow, tasksOfChain } from '../helpers/service-chains.ts';
import { ok, startE2E, whmcsParams, type E2E, type Order } from './whmcs.ts';

type Names = { users: Record<string, string>; packages: Record<string, string> };

describe('failed and terminated services, and role switches, end to end', () => {
  let e: E2E;
  before(async () => {
    e = await startE2E({ dialect: 'mysql' });
    // Two attempts, close together: a failed deployment in a second, not in minutes.
    await e.setting('retry.max_attempts', '2');
    await e.setting('retry.base_ms', '100');
    await e.setting('retry.cap_ms', '200');
  });
  after(async () => { await e?.close(); });

  const names = async (o: Order) => JSON.parse((await serviceRow(e.db, o.serviceId))!.names!) as Names;
  const dump = async (o: Order) => JSON.stringify(await e.tasks(o.serviceId), null, 1).slice(-8000);
  const placement = async (o: Order) => {
    const svc = await serviceRow(e.db, o.serviceId);
    const rows = await e.db('mod_hostbridge_service_servers').where('service_id', svc!.id).orderBy(['role', 'server_id']).select('role', 'server_id', 'account');
    return rows.map((r: any) => `${r.role}@${e.reg.names[Number(r.server_id)]}:${r.account ?? ''}`);
  };
  const deployed = async (o: Order) => {
    const svc = await e.waitState(o.serviceId, ['active', 'failed'], 90_000);
    assert.equal(svc.state, 'active', await dump(o));
  };
  /** What a Split service must hold once deployed: each user and package once, on its own node; its zone on every DNS node. */
  const expectedHoldings = async (o: Order): Promise<string[]> => {
    const n = await names(o);
    const at = Object.fromEntries((await placement(o)).map((p) => p.split(/[@:]/)).map(([role, node]) => [role, node]));
    const out = [
      `${at.web}: user ${n.users.web}`, `${at.web}: package ${n.packages.web}`, `${at.web}: web ${o.domain} (${n.users.web})`,
      `${at.mail}: user ${n.users.mail}`, `${at.mail}: package ${n.packages.mail}`, `${at.mail}: mail ${o.domain} (${n.users.mail})`,
    ];
    for (const ns of e.fleet.dns) out.push(`${ns.name}: user ${n.users.dns}`, `${ns.name}: zone ${o.domain} (${n.users.dns})`);
    return out.sort();
  };

  test('CreateAccount again on a service whose deployment failed deploys it again, on the same plan, and it holds each account once', async () => {
    const o: Order = { serviceId: 6201, mode: 'split', domain: 'second-try.example.com' };
    // Slow enough that the mail node can be taken down before the deployment reaches it.
    e.fleet.setLatency(150);
    ok(await e.module('CreateAccount', o), 'CreateAccount');
    const planned = await placement(o);
    const mailNode = e.fleet.node(planned.find((p) => p.startsWith('mail@'))!.split(/[@:]/)[1]!);
    await mailNode.setDown(true);
    e.fleet.setLatency(0);
    let svc;
    try {
      svc = await e.waitState(o.serviceId, ['active', 'failed'], 60_000);
    } finally {
      await mailNode.setDown(false);
    }
    assert.equal(svc.state, 'failed', `the deployment should fail with ${mailNode.name} down: ${await dump(o)}`);
    const [first] = await chainsOf(e.db, o.serviceId);
    assert.equal(first!.state, 'failed');
    const failedStep = (await tasksOfChain(e.db, first!.id)).find((t) => t.status === 'failed')!;
    assert.equal(failedStep.step, 'mail.package', await dump(o));
    assert.equal(failedStep.attempts, 2);
    // Half deployed: the web account is there, the mail one is not.
    const n = await names(o);
    const half = fleetHoldings(e.fleet, n, o.domain);
    assert.ok(half.some((h) => h.endsWith(`user ${n.users.web}`)) && !half.some((h) => h.endsWith(`user ${n.users.mail}`)), half.join(', '));

    ok(await e.module('CreateAccount', o), 'CreateAccount on the failed service');
    assert.equal((await serviceRow(e.db, o.serviceId))!.state, 'deploying', 'the service is deploying again at once');
    await deployed(o);
    const chains = await chainsOf(e.db, o.serviceId);
    assert.deepEqual(chains.map((c) => [c.operation, c.state]), [['deploy', 'failed'], ['deploy', 'succeeded']]);
    assert.deepEqual(await placement(o), planned, 'the second deployment keeps the first one\'s plan');
    assert.deepEqual(fleetHoldings(e.fleet, n, o.domain), await expectedHoldings(o), 'each account, package and domain once, where the plan put it');
    assert.ok(await e.fleet.pdns!.zone(o.domain), 'the PowerDNS zone');

    // CreateAccount once more on the active service changes nothing.
    const again = await call(e.url, 'POST', '/v1/services', { whmcs_service_id: o.serviceId, client_id: 7, product_id: 3, domain: o.domain, password: 'Cust0mer-Pa55!', server_group_id: e.reg.groupId, product: productOf(e, o), config_options: {}, custom_fields: {} });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual([again.body.created, again.body.state, again.body.message], [false, 'active', 'the service already exists; nothing was changed']);
    assert.equal((await chainsOf(e.db, o.serviceId)).length, 2);
  });

  test('a terminated service refuses every operation but terminate with 409; CreateAccount provisions it again', async () => {
    const o: Order = { serviceId: 6202, mode: 'split', domain: 'come-back.example.com' };
    ok(await e.module('CreateAccount', o), 'CreateAccount');
    await deployed(o);
    ok(await e.module('TerminateAccount', o), 'TerminateAccount');
    const t = await e.waitState(o.serviceId, ['terminated', 'terminate-failed'], 60_000);
    assert.equal(t.state, 'terminated', await dump(o));
    assert.deepEqual(fleetHoldings(e.fleet, await names(o), o.domain), []);
    const chainsBefore = (await chainsOf(e.db, o.serviceId)).length;

    const refusal = `service ${o.serviceId} is terminated; run CreateAccount to provision it again`;
    const product = productOf(e, o);
    const refused: Array<[string, unknown, string, Record<string, unknown>?]> = [
      [`/v1/services/${o.serviceId}/suspend`, { reason: 'Overdue on Payment' }, 'SuspendAccount', { suspendreason: 'Overdue on Payment' }],
      [`/v1/services/${o.serviceId}/unsuspend`, {}, 'UnsuspendAccount'],
      [`/v1/services/${o.serviceId}/change-package`, { product_id: 3, product, config_options: {}, custom_fields: {} }, 'ChangePackage'],
      [`/v1/services/${o.serviceId}/change-password`, { password: 'An0ther-Passw0rd!' }, 'ChangePassword'],
      [`/v1/services/${o.serviceId}/actions/redeploy`, {}, 'Redeploy'],
      [`/v1/services/${o.serviceId}/actions/verify-repair`, {}, 'VerifyRepair'],
      [`/v1/services/${o.serviceId}/actions/sync-usage`, {}, 'SyncUsage'],
    ];
    for (const [path, body, fn, extra] of refused) {
      const r = await call(e.url, 'POST', path, body);
      assert.equal(r.status, 409, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error, refusal, path);
      // What the WHMCS admin reads after pressing the button.
      assert.equal(await e.module(fn, o, extra), `hostbridge: the daemon answered HTTP 409: ${refusal}`, fn);
    }
    for (const [path, fn] of [[`/v1/services/${o.serviceId}/terminate`, 'TerminateAccount'], [`/v1/services/${o.serviceId}/actions/force-terminate`, 'ForceTerminate']] as const) {
      const r = await call(e.url, 'POST', path, {});
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
      assert.deepEqual([r.body.created, r.body.state, r.body.chain_id, r.body.message], [false, 'terminated', null, 'the service is already terminated']);
      ok(await e.module(fn, o), `${fn} on a terminated service`);
    }
    assert.equal((await chainsOf(e.db, o.serviceId)).length, chainsBefore, 'a refused call queues nothing');
    assert.equal((await serviceRow(e.db, o.serviceId))!.state, 'terminated');

    // Ordered again: a fresh deployment, on the same service row, holding everything once.
    const rowBefore = await serviceRow(e.db, o.serviceId);
    ok(await e.module('CreateAccount', o), 'CreateAccount on the terminated service');
    await deployed(o);
    assert.equal((await serviceRow(e.db, o.serviceId))!.id, rowBefore!.id);
    assert.deepEqual((await chainsOf(e.db, o.serviceId)).map((c) => [c.operation, c.state]), [['deploy', 'succeeded'], ['terminate', 'succeeded'], ['deploy', 'succeeded']]);
    assert.deepEqual(fleetHoldings(e.fleet, await names(o), o.domain), await expectedHoldings(o));
    assert.ok(await e.fleet.pdns!.zone(o.domain), 'the PowerDNS zone is back');
    // And it takes operations again.
    ok(await e.module('SuspendAccount', o, { suspendreason: 'Overdue on Payment' }), 'SuspendAccount after the new CreateAccount');
    assert.equal((await e.waitState(o.serviceId, ['suspended', 'active'], 60_000)).state, 'suspended', await dump(o));
  });

  test('a package change that switches the mode of a Unified service is refused and changes nothing on the service or the nodes', async () => {
    const both: Order = { serviceId: 6203, mode: 'split', domain: 'two-roles.example.com' };
    const uni: Order = { serviceId: 6205, mode: 'unified', domain: 'uni.example.com' };
    for (const o of [both, uni]) ok(await e.module('CreateAccount', o), `CreateAccount ${o.serviceId}`);
    for (const o of [both, uni]) await deployed(o);

    // A Unified service's roles switch (test/e2e/role-change-unified.test.ts); its mode does not, with or without a role switch.
    const cases: Array<[Order, Record<string, string>]> = [
      [uni, { configoption1: 'split' }],
      [uni, { configoption1: 'split', configoption4: '' }],
      [uni, { configoption1: 'split', configoption3: '' }],
    ];
    for (const [o, change] of cases) {
      const params = async () => e.db('mod_hostbridge_services').where('whmcs_service_id', o.serviceId).first('params', 'product_id', 'state');
      const before = { row: await params(), chains: (await chainsOf(e.db, o.serviceId)).length, nodes: nodeSummary(e.fleet) };
      const text = `the deployment mode is locked at creation: service ${o.serviceId} is unified, the new package says split; nothing was changed`;
      const product = { ...productOf(e, o), ...change };
      const r = await call(e.url, 'POST', `/v1/services/${o.serviceId}/change-package`, { product_id: 9, product, config_options: {}, custom_fields: {} });
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.deepEqual([r.body.field, r.body.error], ['product.configoption1', `product.configoption1: ${text}`]);
      assert.equal(await e.module('ChangePackage', { ...o, product: { ...o.product, ...change } }), `hostbridge: the daemon answered HTTP 409: product.configoption1: ${text}`);
      assert.deepEqual(await params(), before.row, 'the stored plan and product are unchanged');
      assert.equal((await chainsOf(e.db, o.serviceId)).length, before.chains, 'nothing was queued');
      assert.deepEqual(nodeSummary(e.fleet), before.nodes, 'no node changed');
    }
    // A change within the same roles still goes through.
    ok(await e.module('ChangePackage', { ...both, product: { configoption6: '3072' } }), 'ChangePackage keeping the roles');
    await waitFor('the package change to finish', async () => (await chainsOf(e.db, both.serviceId)).at(-1)!.state === 'succeeded', 60_000);
    const n = await names(both);
    const webAt = (await placement(both)).find((p) => p.startsWith('web@'))!.split(/[@:]/)[1]!;
    assert.equal(nodeSummary(e.fleet)[webAt]!.state.packages[n.packages.web!]!.DISK_QUOTA, '3072');
  });
});

/** The product settings the module sends for an order (configoption1…24), for a body sent straight to the API. */
function productOf(e: E2E, o: Order): Record<string, string> {
  const params = whmcsParams(e.url, e.reg.groupId, o);
  return Object.fromEntries(Object.entries(params).filter(([k]) => /^configoption\d+$/.test(k)).map(([k, v]) => [k, String(v)]));
}
