// The pure planners: product settings and role gating, names, placement, a whole order, the wanted
// zone records.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveProduct, type ProductInput } from '../../daemon/pipelines/product.ts';
import { accountNames, HESTIA_NEW_USER } from '../../daemon/pipelines/names.ts';
import { leastLoaded, place, type FleetServer, type GroupFleet } from '../../daemon/pipelines/placement.ts';
import { normalValue, recordKey, zoneRecords } from '../../daemon/pipelines/records.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { dnsUser, planChain } from '../../daemon/pipelines/plan.ts';
import { groupRefs, orderDomain, planOrder } from '../../daemon/pipelines/order.ts';

function product(over: Record<string, string> = {}, config: ProductInput['config_options'] = {}, custom: ProductInput['custom_fields'] = {}): ProductInput {
  return { product: { configoption1: 'split', configoption3: 'on', configoption4: 'on', configoption5: 'on', configoption6: '1024', configoption7: '512', ...over }, config_options: config, custom_fields: custom };
}

const server = (id: number, caps: Partial<FleetServer['caps']>, load = 0, extra: Partial<FleetServer> = {}): FleetServer => ({
  id, name: `s${id}`, driver: 'hestiacp', ip: `192.0.2.${id}`, caps: { web: false, mail: false, dns: false, ...caps }, status: 'active', maxAccounts: 0, load, ...extra,
});

function group(members: FleetServer[], dns: FleetServer[] = [], extra: Partial<GroupFleet> = {}): GroupFleet {
  return { id: 1, name: 'g', nameservers: ['ns1.example.net', 'ns2.example.net'], members, dns, vanity: [], reserved: [], ...extra };
}

describe('product settings', () => {
  test('a role is enabled when ticked and its quota is not 0; configurable options override', () => {
    const p = resolveProduct(product());
    assert.deepEqual(p.roles, { web: true, mail: true, dns: true });
    assert.equal(p.web.diskMb, 1024);
    assert.equal(p.web.domains, 1, 'default');
    assert.equal(resolveProduct(product({ configoption6: '0' })).roles.web, false);
    assert.equal(resolveProduct(product({}, { 'web_disk_quota|Web space': '0|None' })).roles.web, false);
    assert.equal(resolveProduct(product({}, { web_disk_quota: 'unlimited' })).web.diskMb, 'unlimited');
    assert.equal(resolveProduct(product({ configoption5: '' })).roles.dns, false);
  });

  test('bad settings name the field', () => {
    const cases: Array<[ProductInput, string, RegExp]> = [
      [product({ configoption1: 'hybrid' }), 'product.configoption1', /must be one of split, unified, vanity/],
      [product({ configoption6: '-5' }), 'product.configoption6', /whole number/],
      [product({ configoption6: '0', configoption4: '' }), 'product.configoption3', /neither Web nor Mail/],
      [product({}, { mail_disk_quota: '1e3' }), 'config_options.mail_disk_quota', /whole number/],
      [product({ configoption1: 'vanity' }), 'config_options.vanity_domain', /vanity_domain/],
      [product({ configoption1: 'vanity' }, { vanity_domain: 'sites.example.net' }), 'custom_fields.vanity_name', /vanity_name/],
      [product({ configoption1: 'vanity' }, { vanity_domain: 'sites.example.net' }, { vanity_name: '-x' }), 'custom_fields.vanity_name', /letters, digits/],
      [product({ configoption1: 'vanity' }, { vanity_domain: 'a;b.net' }, { vanity_name: 'x' }), 'config_options.vanity_domain', /label/],
    ];
    for (const [input, field, message] of cases) {
      assert.throws(() => resolveProduct(input), (e: unknown) => e instanceof InputError && e.field === field && message.test(e.message), `${field} ${message}`);
    }
  });
});

describe('names', () => {
  test('derived from the domain and the service id, valid Hestia user names, stable', () => {
    for (const [domain, mode] of [['shop.example.com', 'split'], ['9lives.example.co.uk', 'unified'], ['a-very-long-name-indeed-for-a-shop.example.com', 'split'], ['x.sites.example.net', 'vanity']] as const) {
      const n = accountNames(2147483647, domain, mode);
      for (const u of Object.values(n.users)) assert.match(u!, HESTIA_NEW_USER, `${domain}: ${u}`);
      assert.deepEqual(accountNames(2147483647, domain, mode), n);
    }
    assert.deepEqual(accountNames(42, 'shop.example.com', 'split').users, { web: 'shop-example-42-web', mail: 'shop-example-42-mail', dns: 'shop-example-42-dns' });
  });
});

describe('placement', () => {
  test('least loaded active node with room, ties to the lower id', () => {
    const list = [server(3, { web: true }, 2), server(1, { web: true }, 2), server(2, { web: true }, 5), server(4, { web: true }, 0, { status: 'disabled' }), server(5, { web: true }, 1, { maxAccounts: 1 })];
    assert.equal(leastLoaded(list, (s) => s.caps.web)?.id, 1);
  });

  test('split places web and mail by capability, DNS on every active DNS server', () => {
    const p = place(resolveProduct(product()), group([server(1, { web: true }, 3), server(2, { web: true }, 1), server(3, { mail: true })], [server(7, { dns: true }), server(6, { dns: true }), server(8, { dns: true }, 0, { status: 'maintenance' })]));
    assert.deepEqual(p, { web: 2, mail: 3, unified: null, dns: [6, 7] });
  });

  test('split keeps web and mail apart when it can, and gives them one account when the group has one mail node', () => {
    const split = resolveProduct(product());
    assert.deepEqual(place(split, group([server(1, { web: true, mail: true }), server(2, { mail: true }, 9)])), { web: 1, mail: 2, unified: null, dns: [] });
    const allInOne = place(split, group([server(1, { web: true, mail: true, dns: true })], [server(1, { web: true, mail: true, dns: true })]));
    assert.deepEqual(allInOne, { web: null, mail: null, unified: 1, dns: [1] });
    const plan = { whmcsServiceId: 5, groupId: 1, domain: 'a.example.com', email: '', product: split, placement: allInOne, names: accountNames(5, 'a.example.com', 'split', true), vanity: null };
    assert.equal(dnsUser(plan, 1), 'a-example-5', 'the zone goes under the account the service has on that node');
    assert.equal(dnsUser(plan, 2), 'a-example-5-dns');
  });

  test('unified needs one node with both capabilities; a group with no DNS servers skips DNS', () => {
    const g = group([server(1, { web: true }), server(2, { mail: true }), server(3, { web: true, mail: true })]);
    assert.deepEqual(place(resolveProduct(product({ configoption1: 'unified' })), g), { web: null, mail: null, unified: 3, dns: [] });
    assert.throws(() => place(resolveProduct(product({ configoption1: 'unified' })), group([server(1, { web: true }), server(2, { mail: true })])), /both the Web and Mail capabilities/);
  });

  test('vanity: the parent must belong to the group, reserved names are refused', () => {
    const plan = resolveProduct(product({ configoption1: 'vanity' }, { vanity_domain: 'sites.example.net' }, { vanity_name: 'admin' }));
    const g = group([server(1, { web: true }), server(2, { mail: true })], [], { vanity: [{ domain: 'sites.example.net', mailServerId: 2, mailUser: 'provider', dnsUser: 'provider' }], reserved: ['admin'] });
    assert.throws(() => place(plan, g), (e: unknown) => e instanceof InputError && e.field === 'custom_fields.vanity_name');
    const ok = resolveProduct(product({ configoption1: 'vanity' }, { vanity_domain: 'sites.example.net' }, { vanity_name: 'alice' }));
    assert.deepEqual(place(ok, g), { web: 1, mail: 2, unified: null, dns: [] });
    assert.throws(() => place(ok, { ...g, vanity: [] }), /not a vanity domain of server group/);
  });
});

describe('an order', () => {
  test('one pure step from the request, the product and the group: plan, holdings and deploy chain', () => {
    const split = resolveProduct(product());
    const g = group([server(1, { web: true }, 4), server(2, { web: true }, 1), server(3, { mail: true })], [server(7, { dns: true }, 0, { driver: 'powerdns' })]);
    const before = structuredClone(g);
    const o = planOrder({ whmcsServiceId: 42, domain: orderDomain(split, 'Shop.Example.com'), email: 'owner@example.com' }, split, g);
    assert.deepEqual(g, before, 'the group is not changed');
    assert.equal(o.plan.domain, 'shop.example.com');
    assert.deepEqual(o.plan.placement, { web: 2, mail: 3, unified: null, dns: [7] });
    assert.deepEqual(o.plan.names, accountNames(42, 'shop.example.com', 'split'));
    assert.deepEqual(o.holdings.map((h) => `${h.role}@${h.serverId}:${h.account}`), ['web@2:shop-example-42-web', 'mail@3:shop-example-42-mail', 'dns@7:shop-example-42-dns']);
    assert.deepEqual(o.chain.steps.map((s) => `${s.step}@${s.target}`), [
      'web.package@server:2', 'web.user@server:2', 'web.domain@server:2', 'mail.package@server:3', 'mail.user@server:3', 'mail.domain@server:3',
      'dns.zone@server:7', 'ssl.seed@server:2', 'ssl.seed.mail@server:3',
    ]);
    assert.deepEqual(o.chain.steps.find((s) => s.type === 'dns.zone')!.args, { server: 7, user: 'shop-example-42-dns', domain: 'shop.example.com' }, 'no driver: the step\'s zone host is chosen from its server when it runs');
    assert.deepEqual(planChain('terminate', o.plan, groupRefs(g)).steps.map((s) => `${s.step}@${s.target}`),
      ['web.delete@server:2', 'mail.delete@server:3', 'dns.zone-delete@server:7', 'service.close@null'], 'the drivers come from the same group read: a PowerDNS zone is deleted, not its (absent) account');
    assert.equal(o.chain.successState, 'active');
    assert.deepEqual(planOrder({ whmcsServiceId: 42, domain: 'shop.example.com', email: 'owner@example.com' }, split, g), o, 'the same input plans the same order');
  });

  test('the chains are graphs: web, mail and each zone run side by side, a zone after the mail domain (its DKIM record), one node\'s steps in order, closing after all', () => {
    const split = resolveProduct(product());
    const g = group([server(2, { web: true }), server(3, { mail: true })], [server(7, { dns: true }), server(8, { dns: true }, 0, { driver: 'powerdns' })]);
    const { plan } = planOrder({ whmcsServiceId: 42, domain: 'shop.example.com', email: '' }, split, g);
    const graph = (op: 'deploy' | 'terminate' | 'redeploy' | 'unsuspend', state = {}) => {
      const steps = planChain(op, plan, groupRefs(g), state).steps;
      return steps.map((s) => `${s.step}@${s.target} ← ${(s.dependsOn ?? []).map((d) => steps[d].step).join(',') || '∅'}`);
    };
    assert.deepEqual(graph('deploy'), [
      'web.package@server:2 ← ∅', 'web.user@server:2 ← web.package', 'web.domain@server:2 ← web.user',
      'mail.package@server:3 ← ∅', 'mail.user@server:3 ← mail.package', 'mail.domain@server:3 ← mail.user',
      'dns.zone@server:7 ← mail.domain', 'dns.zone@server:8 ← mail.domain', 'ssl.seed@server:2 ← web.domain',
      'ssl.seed.mail@server:3 ← mail.domain',
    ]);
    assert.deepEqual(graph('terminate'), [
      'web.delete@server:2 ← ∅', 'mail.delete@server:3 ← ∅', 'dns.delete@server:7 ← ∅', 'dns.zone-delete@server:8 ← ∅',
      'service.close@null ← web.delete,mail.delete,dns.delete,dns.zone-delete',
    ]);
    assert.deepEqual(graph('unsuspend', { passwordPending: true }), [
      'web.unsuspend@server:2 ← ∅', 'mail.unsuspend@server:3 ← ∅', 'dns.unsuspend@server:7 ← ∅',
      'dns.zone-unsuspend@server:7 ← dns.unsuspend', 'dns.zone-unsuspend@server:8 ← ∅',
      'web.password@server:2 ← web.unsuspend', 'mail.password@server:3 ← mail.unsuspend', 'password.applied@null ← dns.zone-unsuspend,dns.zone-unsuspend,web.password,mail.password',
    ]);
    // A redeploy removes before it creates, on each node.
    const redeploy = graph('redeploy');
    assert.ok(redeploy.includes('web.package@server:2 ← reset.web.delete'), redeploy.join('\n'));
    assert.ok(redeploy.includes('dns.zone@server:8 ← reset.dns.zone-delete,mail.domain'), redeploy.join('\n'));
  });

  test('vanity: the domain is the name under its parent, the parent\'s users come from the group', () => {
    const v = resolveProduct(product({ configoption1: 'vanity' }, { vanity_domain: 'sites.example.net' }, { vanity_name: 'alice' }));
    const g = group([server(1, { web: true }), server(2, { mail: true })], [server(5, { dns: true })], { vanity: [{ domain: 'sites.example.net', mailServerId: 2, mailUser: 'provider', dnsUser: 'provider-dns' }] });
    const o = planOrder({ whmcsServiceId: 9, domain: orderDomain(v, 'ignored.example.com'), email: '' }, v, g);
    assert.equal(o.plan.domain, 'alice.sites.example.net');
    assert.deepEqual(o.plan.vanity, { parent: 'sites.example.net', name: 'alice', mailUser: 'provider', dnsUser: 'provider-dns' });
    assert.deepEqual(o.holdings.map((h) => `${h.role}@${h.serverId}:${h.account}`), ['web@1:alice-sites-9-web', 'mailbox@2:alice@sites.example.net', 'record@5:alice']);
    assert.throws(() => orderDomain(resolveProduct(product()), 'not a domain'), (e: unknown) => e instanceof InputError && e.field === 'domain');
  });

  test('a password changed while suspended: no remote step then; the Unsuspend sets it after unsuspending, then records it set', () => {
    const split = resolveProduct(product());
    const g = group([server(2, { web: true }), server(3, { mail: true })], [server(7, { dns: true })]);
    const { plan } = planOrder({ whmcsServiceId: 42, domain: 'shop.example.com', email: '' }, split, g);
    const steps = (op: 'change-password' | 'unsuspend', state = {}) => planChain(op, plan, groupRefs(g), state).steps.map((s) => `${s.step}@${s.target}`);
    assert.deepEqual(steps('change-password'), ['web.password@server:2', 'mail.password@server:3']);
    assert.deepEqual(steps('change-password', { suspended: true }), ['password.pending@null']);
    assert.deepEqual(steps('unsuspend'), ['web.unsuspend@server:2', 'mail.unsuspend@server:3', 'dns.unsuspend@server:7', 'dns.zone-unsuspend@server:7']);
    assert.deepEqual(steps('unsuspend', { passwordPending: true }), [
      'web.unsuspend@server:2', 'mail.unsuspend@server:3', 'dns.unsuspend@server:7', 'dns.zone-unsuspend@server:7', 'web.password@server:2', 'mail.password@server:3', 'password.applied@null',
    ]);
  });
});

describe('zone records', () => {
  test('split: apex on the web node, mail and webmail on the mail node, SPF naming both, DKIM and DMARC', () => {
    const r = zoneRecords({ domain: 'shop.example.com', webIp: '192.0.2.1', mailIp: '192.0.2.2', nameservers: ['ns1.example.net.'], dkim: 'v=DKIM1; k=rsa; p=ABC' });
    assert.deepEqual(r.map((x) => `${x.name} ${x.type} ${x.value}`), [
      '@ NS ns1.example.net', '@ A 192.0.2.1', 'www CNAME shop.example.com', 'mail A 192.0.2.2', 'webmail CNAME mail.shop.example.com', '@ MX mail.shop.example.com',
      '@ TXT v=spf1 a mx ip4:192.0.2.1 ip4:192.0.2.2 -all', '_dmarc TXT v=DMARC1; p=quarantine; pct=100', 'mail._domainkey TXT v=DKIM1; k=rsa; p=ABC',
    ]);
    const webOnly = zoneRecords({ domain: 'a.example.com', webIp: '192.0.2.1', mailIp: null, nameservers: [], dkim: null });
    assert.deepEqual(webOnly.map((x) => x.type), ['A', 'CNAME']);
  });

  test('values listed by Hestia or PowerDNS compare equal to the wanted ones', () => {
    assert.equal(normalValue('TXT', '"v=spf1 a mx -all"'), 'v=spf1 a mx -all');
    assert.equal(normalValue('TXT', '"v=DKIM1; k=rsa; " "p=ABC"'), 'v=DKIM1; k=rsa; p=ABC');
    assert.equal(normalValue('TXT', "'v=DKIM1; k=rsa; p=ABC'"), 'v=DKIM1; k=rsa; p=ABC');
    assert.equal(normalValue('CNAME', 'Shop.Example.com.'), 'shop.example.com');
    assert.equal(recordKey({ name: '@', type: 'MX', value: 'mail.x.com.', priority: 10 }), recordKey({ name: '@', type: 'MX', value: 'mail.x.com', priority: 10 }));
    assert.notEqual(recordKey({ name: '@', type: 'MX', value: 'mail.x.com', priority: 10 }), recordKey({ name: '@', type: 'MX', value: 'mail.x.com', priority: 0 }));
  });
});
