// Planning a package change that switches roles (pipelines/placement.ts placeSwitchedRoles, plan.ts
// roleChangeSteps): an added role is placed as at order time and never shares the node of the
// service's other account; the zone waits for the new mail domain's DKIM; removal comes after.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveProduct, type ProductInput } from '../../daemon/pipelines/product.ts';
import { placeSwitchedRoles, type FleetServer, type GroupFleet } from '../../daemon/pipelines/placement.ts';
import { planChain } from '../../daemon/pipelines/plan.ts';
import { groupRefs, planOrder } from '../../daemon/pipelines/order.ts';

const server = (id: number, caps: Partial<FleetServer['caps']>, load = 0): FleetServer => ({
  id, name: `s${id}`, driver: 'hestiacp', ip: `192.0.2.${id}`, caps: { web: false, mail: false, dns: false, ...caps }, status: 'active', maxAccounts: 0, load,
});
const group = (members: FleetServer[]): GroupFleet => ({ id: 1, name: 'g', nameservers: ['ns1.example.net'], members, dns: [server(20, { dns: true })], vanity: [], reserved: [] });
const product = (mail: boolean, dns = true) => {
  const p: ProductInput = { product: { configoption1: 'split', configoption3: 'on', configoption4: mail ? 'on' : '', configoption5: dns ? 'on' : '', configoption6: '1024', configoption7: '512' }, config_options: {}, custom_fields: {} };
  return resolveProduct(p, null);
};

describe('role switches', () => {
  test('an added mail role goes to the least-loaded mail node that is not the web node', () => {
    const g = group([server(10, { web: true, mail: true }), server(12, { mail: true }, 5), server(13, { mail: true }, 2)]);
    const lean = planOrder({ whmcsServiceId: 42, domain: 'shop.example.com', email: '' }, product(false), g).plan;
    assert.equal(lean.placement.web, 10);
    assert.deepEqual(placeSwitchedRoles(lean.placement, product(true), g), { web: 10, mail: 13, unified: null, dns: [20] });
    // Only the web node itself takes mail: a Split service cannot get a second account there.
    const alone = group([server(10, { web: true, mail: true })]);
    assert.throws(() => placeSwitchedRoles(lean.placement, product(true), alone), /mail role cannot be added: server group "g" has no active HestiaCP mail node with room other than the service's web node/);
  });

  test('the chain: new limits, the mail account and domain, the zone after the DKIM, SSL, then the roles recorded; removal the other way', () => {
    const g = group([server(10, { web: true }), server(12, { mail: true })]);
    const lean = planOrder({ whmcsServiceId: 42, domain: 'shop.example.com', email: '' }, product(false), g).plan;
    const rich = { ...lean, product: product(true), placement: placeSwitchedRoles(lean.placement, product(true), g) };
    const on = planChain('change-package', rich, groupRefs(g), { before: lean }).steps;
    assert.deepEqual(on.map((s) => `${s.step}@${s.target ?? '-'}`), [
      'web.package@server:10', 'mail.package@server:12', 'mail.user@server:12', 'mail.domain@server:12', 'dns.zone@server:20', 'ssl.seed.mail@server:12', 'roles.applied@-',
    ]);
    assert.ok(on[4]!.dependsOn!.includes(3), 'the zone waits for the mail domain (its DKIM record)');
    assert.deepEqual(on[6]!.dependsOn, [0, 4, 5], 'the roles are recorded after the last step on each server');
    const off = planChain('change-package', lean, groupRefs(g), { before: rich }).steps;
    assert.deepEqual(off.map((s) => `${s.step}@${s.target ?? '-'}`), ['web.package@server:10', 'dns.zone@server:20', 'drop.mail.delete@server:12', 'roles.applied@-']);
    // Without a role switch the chain is the plain limit change.
    assert.deepEqual(planChain('change-package', rich, groupRefs(g), { before: rich }).steps.map((s) => s.step), ['web.package', 'mail.package']);
  });

  test('DNS switched off: the zone under the web account on a node that is also a DNS server goes alone; elsewhere the DNS user goes with its zone', () => {
    const webAndDns = server(10, { web: true, dns: true });
    const g: GroupFleet = { ...group([webAndDns, server(12, { mail: true })]), dns: [webAndDns, server(20, { dns: true })] };
    const before = planOrder({ whmcsServiceId: 42, domain: 'shop.example.com', email: '' }, product(true), g).plan;
    assert.deepEqual(before.placement.dns, [10, 20]);
    const after = { ...before, product: product(true, false), placement: placeSwitchedRoles(before.placement, product(true, false), g) };
    const steps = planChain('change-package', after, groupRefs(g), { before }).steps;
    const drops = steps.filter((s) => s.step.startsWith('drop.')).map((s) => `${s.type}@${s.target}:${JSON.stringify(s.args)}`);
    assert.deepEqual(drops, [
      `dns.zone-delete@server:10:${JSON.stringify({ server: 10, account: before.names.users.web, domain: 'shop.example.com' })}`,
      `account.delete@server:20:${JSON.stringify({ role: 'dns', server: 20, user: before.names.users.dns })}`,
    ], 'the web user on server 10 is kept; only its zone goes');
  });
});
