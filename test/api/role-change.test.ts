// A package change that switches a role, as the routes plan it (engine stopped, so the chains are
// read as written): a Split service's removed role is deleted after the change and its zone
// republished, the holdings keep the removed account until the chain ends; a Unified service's
// removed role is its domain on the one account; a mode change is refused and changes nothing.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Daemon } from '../../daemon/runtime.ts';
import type { TestDb } from '../helpers/db.ts';
import { DIALECTS } from '../helpers/db.ts';
import { call, createBody, type TestFleet } from '../helpers/api.ts';
import { startRoutesWorld, type RoutesWorld } from '../helpers/world.ts';

for (const dialect of DIALECTS) {
  describe(`role switches on ChangePackage (${dialect})`, () => {
    let tdb: TestDb;
    let world: RoutesWorld;
    let daemon: Daemon;
    let fleet: TestFleet;
    before(async () => {
      world = await startRoutesWorld(dialect, 'hb-roles-');
      ({ tdb, daemon, fleet } = world);
    });
    after(async () => { await world?.close(); });

    const row = (id: number) => tdb.db('mod_hostbridge_services').where('whmcs_service_id', id).first();
    const product = (id: number, over: Record<string, string>) => (createBody(id, fleet.groupId, {}, over) as { product: Record<string, string> }).product;
    // The engine is stopped: a chain's end is written by hand, as the engine would (state, keys freed, service active).
    const finish = async (id: number) => {
      const svc = await row(id);
      await tdb.db('mod_hostbridge_chains').where('service_id', svc.id).update({ state: 'succeeded', active_key: null });
      await tdb.db('mod_hostbridge_tasks').where('service_id', svc.id).update({ status: 'succeeded', active_key: null });
      await tdb.db('mod_hostbridge_services').where('id', svc.id).update({ state: 'active' });
    };
    const change = (id: number, over: Record<string, string>) => call(daemon.url, 'POST', `/v1/services/${id}/change-package`, { product_id: 4, product: product(id, over), config_options: {}, custom_fields: {} });

    test('Split: Mail switched off deletes the mail account after the new limits, republishes the zone, then records the roles', async () => {
      assert.equal((await call(daemon.url, 'POST', '/v1/services', createBody(701, fleet.groupId))).status, 200);
      await finish(701);
      const svc = await row(701);
      const mailAt = JSON.parse(svc.params).placement.mail as number;
      const r = await change(701, { configoption4: '' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const steps = (await tdb.db('mod_hostbridge_tasks').where('chain_id', r.body.chain_id).orderBy('step_no')).map((t) => `${t.type}@${t.target ?? '-'}`);
      const [w, m] = [fleet.web[0]!, mailAt];
      assert.deepEqual(steps, [
        `account.package@server:${w}`, `dns.zone@server:${fleet.dns[0]}`, `dns.zone@server:${fleet.dns[1]}`,
        `account.delete@server:${m}`, 'service.roles-applied@-',
      ]);
      const plan = JSON.parse((await row(701)).params);
      assert.deepEqual([plan.product.roles.mail, plan.placement.mail], [false, null]);
      // Until the chain deletes it, the mail account is still held (a Terminate would remove it).
      assert.ok((await tdb.db('mod_hostbridge_service_servers').where('service_id', svc.id).pluck('role')).includes('mail'));
    });

    test('Split: a second switch while the first is still queued is refused and changes nothing', async () => {
      const before = await row(701);
      const r = await change(701, { configoption4: 'on' });
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.match(r.body.error, /change-package \(chain \d+\) has not finished.*nothing was changed/);
      assert.deepEqual(await row(701), before);
    });

    test('Split: Mail switched on again places it and plans its deployment', async () => {
      await finish(701);
      const r = await change(701, { configoption4: 'on' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const types = (await tdb.db('mod_hostbridge_tasks').where('chain_id', r.body.chain_id).orderBy('step_no')).map((t) => t.type);
      assert.deepEqual(types, ['account.package', 'account.package', 'account.user', 'mail.domain', 'dns.zone', 'dns.zone', 'ssl.seed', 'service.roles-applied']);
      const plan = JSON.parse((await row(701)).params);
      assert.equal(plan.product.roles.mail, true);
      assert.ok(fleet.mail.includes(plan.placement.mail), `mail placed on a mail node: ${plan.placement.mail}`);
    });

    test('Unified: Mail switched off removes the mail domain from its one account after the zone; Unified → Split is refused and nothing changes', async () => {
      assert.equal((await call(daemon.url, 'POST', '/v1/services', createBody(702, fleet.groupId, {}, { configoption1: 'unified' }))).status, 200);
      await finish(702);
      const before = await row(702);
      const chains = await tdb.db('mod_hostbridge_chains').where('service_id', before.id).count({ n: '*' });
      const split = await change(702, { configoption1: 'split', configoption4: '' });
      assert.equal(split.status, 409, JSON.stringify(split.body));
      assert.equal(split.body.field, 'product.configoption1');
      assert.match(split.body.error, /service 702 is unified, the new package says split; nothing was changed/);
      assert.deepEqual(await row(702), before);
      assert.deepEqual(await tdb.db('mod_hostbridge_chains').where('service_id', before.id).count({ n: '*' }), chains);
      const r = await change(702, { configoption1: 'unified', configoption4: '' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const u = JSON.parse(before.params).placement.unified as number;
      const steps = (await tdb.db('mod_hostbridge_tasks').where('chain_id', r.body.chain_id).orderBy('step_no')).map((t) => `${t.type}@${t.target ?? '-'}`);
      assert.deepEqual(steps, [
        `dns.zone@server:${fleet.dns[0]}`, `dns.zone@server:${fleet.dns[1]}`, `mail.domain-delete@server:${u}`, `account.package@server:${u}`, 'service.roles-applied@-',
      ]);
      const plan = JSON.parse((await row(702)).params);
      assert.deepEqual([plan.product.roles.mail, plan.placement.unified], [false, u]);
      assert.deepEqual((await tdb.db('mod_hostbridge_service_servers').where('service_id', before.id).pluck('role')).sort(), ['all', 'dns', 'dns'], 'still the one account');
    });
  });
}
