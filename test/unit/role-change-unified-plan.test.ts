// Planning a package change that switches roles of a Unified service (pipelines/placement.ts
// placeSwitchedRoles, plan.ts unifiedRoleChangeSteps): the one account and its node stay; an added
// role needs the node's capability and comes after the raised package; a removed role's domain goes
// after the zone no longer names it, and the package is lowered after that.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveProduct, type ProductInput } from '../../daemon/pipelines/product.ts';
import { placeSwitchedRoles, type FleetServer, type GroupFleet } from '../../daemon/pipelines/placement.ts';
import { planChain, type ServicePlan } from '../../daemon/pipelines/plan.ts';
import { groupRefs, planOrder } from '../../daemon/pipelines/order.ts';
import { normaliseHostingPlan, type HostingPlanProfile } from '../../daemon/pipelines/hosting-plan.ts';

/** A hosting plan profile at its defaults: plans the web.templates step. */
const PROFILE: HostingPlanProfile = { id: 5, created_at: 0, updated_at: 0, ...normaliseHostingPlan({ name: 'web-pro' }) };

const server = (id: number, caps: Partial<FleetServer['caps']>, driver: FleetServer['driver'] = 'hestiacp'): FleetServer => ({
  id, name: `s${id}`, driver, ip: `192.0.2.${id}`, caps: { web: false, mail: false, dns: false, ...caps }, status: 'active', maxAccounts: 0, load: 0,
});
const group = (members: FleetServer[], dns: FleetServer[] = [server(20, { dns: true }), server(21, { dns: true }, 'powerdns')]): GroupFleet => ({
  id: 1, name: 'g', nameservers: ['ns1.example.net', 'ns2.example.net'], members, dns, vanity: [], reserved: [],
});
const product = (roles: { web?: boolean; mail?: boolean; dns?: boolean }, profile: HostingPlanProfile | null = null) => {
  const p: ProductInput = {
    product: { configoption1: 'unified', configoption3: roles.web === false ? '' : 'on', configoption4: roles.mail === false ? '' : 'on', configoption5: roles.dns === false ? '' : 'on', configoption6: '1024', configoption7: '512', configoption16: profile ? String(profile.id) : '' },
    config_options: {}, custom_fields: {},
  };
  return resolveProduct(p, profile);
};
const order = (g: GroupFleet, roles: Parameters<typeof product>[0]) => planOrder({ whmcsServiceId: 42, domain: 'shop.example.com', email: '' }, product(roles), g).plan;
const switched = (before: ServicePlan, roles: Parameters<typeof product>[0], g: GroupFleet): ServicePlan => {
  const p = product(roles);
  return { ...before, product: p, placement: placeSwitchedRoles(before.placement, p, g, before.product.roles) };
};
const lines = (steps: ReturnType<typeof planChain>['steps']) => steps.map((s) => `${s.step}@${s.target ?? '-'}`);

describe('Unified role switches', () => {
  const g = group([server(11, { web: true, mail: true })]);

  test('the placement keeps the one node; an added role needs its capability there', () => {
    const webOnly = order(g, { mail: false });
    assert.deepEqual(webOnly.placement, { web: null, mail: null, unified: 11, dns: [20, 21] });
    assert.deepEqual(placeSwitchedRoles(webOnly.placement, product({}), g, webOnly.product.roles), { web: null, mail: null, unified: 11, dns: [20, 21] });
    // A web-only Unified service placed on a web node without Mail.
    const webNode = group([server(12, { web: true })]);
    const lean = order(webNode, { mail: false });
    assert.equal(lean.placement.unified, 12);
    assert.throws(() => placeSwitchedRoles(lean.placement, product({}), webNode, lean.product.roles), /mail role cannot be added: the service's node s12 does not have the Mail capability/);
    assert.throws(() => placeSwitchedRoles(lean.placement, product({}), group([server(11, { web: true, mail: true })]), lean.product.roles), /no longer a member of server group "g"/);
    // Removing needs nothing of the group; DNS off drops the DNS servers.
    const full = order(g, {});
    assert.deepEqual(placeSwitchedRoles(full.placement, product({ web: false, dns: false }), group([]), full.product.roles), { web: null, mail: null, unified: 11, dns: [] });
  });

  test('mail on: the package raised, the mail domain, then the zone on every DNS server, then its SSL; off the other way', () => {
    const lean = order(g, { mail: false });
    const rich = switched(lean, {}, g);
    const on = planChain('change-package', rich, groupRefs(g), { before: lean }).steps;
    assert.deepEqual(lines(on), ['all.package@server:11', 'mail.domain@server:11', 'dns.zone@server:20', 'dns.zone@server:21', 'ssl.seed.mail@server:11', 'roles.applied@-']);
    assert.deepEqual(on[0]!.args, { role: 'all', server: 11, user: lean.names.users.all, package: lean.names.packages.all, apply: true });
    assert.deepEqual(on[1]!.args, { server: 11, user: lean.names.users.all, domain: 'shop.example.com' });
    assert.deepEqual([on[2]!.dependsOn, on[3]!.dependsOn], [[1], [1]], 'each zone waits for the DKIM of the new mail domain');
    const off = planChain('change-package', lean, groupRefs(g), { before: rich }).steps;
    assert.deepEqual(lines(off), ['dns.zone@server:20', 'dns.zone@server:21', 'drop.mail.domain@server:11', 'all.package@server:11', 'roles.applied@-']);
    assert.equal(off[2]!.type, 'mail.domain-delete');
    assert.deepEqual(off[2]!.dependsOn, [0, 1], 'the mail domain goes once no zone names it');
    assert.deepEqual(off[3]!.dependsOn, [2], 'the package is lowered after the domain is gone');
  });

  test('web off and on again, with a hosting plan profile\'s templates', () => {
    const full = { ...order(g, {}), product: product({}, PROFILE) };
    const mailOnly = { ...switched(full, { web: false }, g), product: product({ web: false }, PROFILE) };
    assert.ok(full.product.hostingPlan && mailOnly.product.hostingPlan);
    const off = planChain('change-package', mailOnly, groupRefs(g), { before: full }).steps;
    assert.deepEqual(lines(off), ['dns.zone@server:20', 'dns.zone@server:21', 'drop.web.domain@server:11', 'all.package@server:11', 'roles.applied@-']);
    const on = planChain('change-package', full, groupRefs(g), { before: mailOnly }).steps;
    assert.deepEqual(lines(on), ['all.package@server:11', 'web.domain@server:11', 'dns.zone@server:20', 'dns.zone@server:21', 'web.templates@server:11', 'ssl.seed@server:11', 'roles.applied@-']);
  });

  test('web off and mail on at once: the removal first, so the lowered limits fit', () => {
    const webOnly = order(g, { mail: false });
    const mailOnly = switched(webOnly, { web: false }, g);
    const steps = planChain('change-package', mailOnly, groupRefs(g), { before: webOnly }).steps;
    assert.deepEqual(lines(steps), ['drop.web.domain@server:11', 'all.package@server:11', 'mail.domain@server:11', 'dns.zone@server:20', 'dns.zone@server:21', 'ssl.seed.mail@server:11', 'roles.applied@-']);
  });

  test('DNS off: the zone leaves every DNS server; on the service\'s own node only the zone goes, not its account', () => {
    const own = server(11, { web: true, mail: true, dns: true });
    const g2 = group([own], [own, server(20, { dns: true }), server(21, { dns: true }, 'powerdns')]);
    const full = order(g2, {});
    assert.deepEqual(full.placement.dns, [11, 20, 21]);
    const noDns = switched(full, { dns: false }, g2);
    const off = planChain('change-package', noDns, groupRefs(g2), { before: full }).steps;
    assert.deepEqual(off.map((s) => `${s.step}@${s.target} ${JSON.stringify(s.args)}`), [
      `all.package@server:11 ${JSON.stringify({ role: 'all', server: 11, user: full.names.users.all, package: full.names.packages.all, apply: true })}`,
      `drop.dns.zone-delete@server:11 ${JSON.stringify({ server: 11, account: full.names.users.all, domain: 'shop.example.com' })}`,
      `drop.dns.delete@server:20 ${JSON.stringify({ role: 'dns', server: 20, user: full.names.users.dns })}`,
      `drop.dns.zone-delete@server:21 ${JSON.stringify({ server: 21, account: null, domain: 'shop.example.com' })}`,
      'roles.applied@null {}',
    ]);
    const on = planChain('change-package', full, groupRefs(g2), { before: noDns }).steps;
    assert.deepEqual(lines(on), ['dns.zone@server:11', 'dns.zone@server:20', 'dns.zone@server:21', 'all.package@server:11', 'roles.applied@-']);
    assert.equal((on[0]!.args as { user: string }).user, full.names.users.all, 'the zone on the service\'s own node is its account\'s');
  });
});
