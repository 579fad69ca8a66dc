// Issue 15, defect 6d: HestiaCP's default ENFORCE_SUBDOMAIN_OWNERSHIP=yes refuses a web domain
// under a base domain another user holds on that node (func/domain.sh is_base_domain_owner). A
// vanity site `<name>.<parent>` under a two-label parent (`mysites.net`) therefore cannot go on a
// web node that holds the parent's shared mail domain or zone. Placement avoids such nodes and
// refuses the order, naming the setting and the fix, when no other web node has room.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveProduct } from '../../daemon/pipelines/product.ts';
import { baseDomain, place, vanityParentHolders, type FleetServer, type GroupFleet } from '../../daemon/pipelines/placement.ts';
import { InputError } from '../../daemon/common/errors.ts';

const server = (id: number, caps: Partial<FleetServer['caps']>, load = 0, extra: Partial<FleetServer> = {}): FleetServer => ({
  id, name: `s${id}`, driver: 'hestiacp', ip: `192.0.2.${id}`, caps: { web: false, mail: false, dns: false, ...caps }, status: 'active', maxAccounts: 0, load, ...extra,
});

function vanityOrder(parent: string) {
  return resolveProduct({
    product: { configoption1: 'vanity', configoption3: 'on', configoption4: 'on', configoption5: 'on', configoption6: '1024', configoption7: '512' },
    config_options: { vanity_domain: parent }, custom_fields: { vanity_name: 'alice' },
  });
}

function group(members: FleetServer[], dns: FleetServer[], parent: string, mailServerId: number): GroupFleet {
  return {
    id: 1, name: 'g', nameservers: ['ns1.example.net', 'ns2.example.net'], members, dns, reserved: [],
    vanity: [{ domain: parent, mailServerId, mailUser: 'provider', dnsUser: 'provider' }],
  };
}

describe('vanity sites and ENFORCE_SUBDOMAIN_OWNERSHIP', () => {
  test('HestiaCP\'s base domain: two labels, three under a two-label public suffix', () => {
    assert.equal(baseDomain('alice.mysites.net'), 'mysites.net');
    assert.equal(baseDomain('alice.sites.example.net'), 'example.net');
    assert.equal(baseDomain('alice.shop.co.uk'), 'shop.co.uk');
  });

  test('the web node that holds the parent\'s mail domain is passed over for a less suitable one', () => {
    // s1 (web+mail, lightest) holds mysites.net's mail domain; s2 is a busier web node.
    const g = group([server(1, { web: true, mail: true }, 0), server(2, { web: true }, 5)], [], 'mysites.net', 1);
    assert.deepEqual([...vanityParentHolders(g, 'mysites.net').keys()], [1]);
    assert.equal(place(vanityOrder('mysites.net'), g).web, 2);
    // A three-label parent is not a base domain: nothing to avoid.
    const deep = group([server(1, { web: true, mail: true }, 0), server(2, { web: true }, 5)], [], 'sites.example.net', 1);
    assert.equal(place(vanityOrder('sites.example.net'), deep).web, 1);
  });

  test('a web node that is also a HestiaCP DNS server of the group holds the parent\'s zone', () => {
    const combo = server(1, { web: true, dns: true }, 0);
    const g = group([combo, server(2, { web: true }, 3), server(3, { mail: true })], [combo], 'mysites.net', 3);
    assert.equal(place(vanityOrder('mysites.net'), g).web, 2);
  });

  test('when every web node with room holds the parent, the order is refused with the setting and the fix named', () => {
    const g = group([server(1, { web: true, mail: true }, 0), server(2, { web: true }, 1, { maxAccounts: 1 })], [], 'mysites.net', 1);
    assert.throws(() => place(vanityOrder('mysites.net'), g), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.field, 'config_options.vanity_domain');
      assert.match(err.message, /alice\.mysites\.net/);
      assert.match(err.message, /s1: its mail domain \(user provider\)/);
      assert.match(err.message, /ENFORCE_SUBDOMAIN_OWNERSHIP=yes/);
      assert.match(err.message, /Fix: add to the group a web node that holds neither mysites\.net's mail domain nor its zone/);
      return true;
    });
  });
});
