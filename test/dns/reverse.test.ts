// The reverse-name helper: an address's in-addr.arpa / ip6.arpa zone for a prefix and its PTR name.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIPv6, ipv6Nibbles, reverseName, reverseZone } from '../../daemon/dns/reverse.ts';
import { InputError } from '../../daemon/common/errors.ts';

describe('reverse names', () => {
  it('IPv4: the /24, /16 and /8 zones and the PTR name relative to each', () => {
    assert.deepEqual(reverseName('192.0.2.10', 24), { zone: '2.0.192.in-addr.arpa', name: '10', fqdn: '10.2.0.192.in-addr.arpa' });
    assert.deepEqual(reverseName('192.0.2.10', 16), { zone: '0.192.in-addr.arpa', name: '10.2', fqdn: '10.2.0.192.in-addr.arpa' });
    assert.deepEqual(reverseName('10.1.2.3', 8), { zone: '10.in-addr.arpa', name: '3.2.1', fqdn: '3.2.1.10.in-addr.arpa' });
    assert.equal(reverseName('198.51.100.0', 24).name, '0');
  });

  it('IPv6: nibble zones for /48 and /64, compressed and embedded-IPv4 forms alike', () => {
    const r = reverseName('2001:db8::1', 64);
    assert.equal(r.zone, '0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
    assert.equal(r.name, '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0');
    assert.equal(r.fqdn, `${r.name}.${r.zone}`);
    const s = reverseName('2001:DB8:abcd:12::5', 48);
    assert.equal(s.zone, 'd.c.b.a.8.b.d.0.1.0.0.2.ip6.arpa');
    assert.equal(s.name, '5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.1.0.0');
    assert.equal(reverseName('::ffff:192.0.2.1', 124).name, '1');
    assert.equal(ipv6Nibbles('::ffff:192.0.2.1').join(''), '00000000000000000000ffffc0000201');
    assert.equal(ipv6Nibbles('::').length, 32);
  });

  it('the zone of a network, which must have no host bits', () => {
    assert.equal(reverseZone('192.0.2.0/24'), '2.0.192.in-addr.arpa');
    assert.equal(reverseZone('2001:db8::/48'), '0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
    assert.throws(() => reverseZone('192.0.2.5/24'), /host bits set/);
    assert.throws(() => reverseZone('2001:db8::1/64'), /host bits set/);
    assert.throws(() => reverseZone('192.0.2.0'), /CIDR/);
  });

  it('refuses what it cannot cut, naming the field', () => {
    for (const [ip, prefix, field, msg] of [
      ['192.0.2.10', 25, 'prefix', /classless/], ['192.0.2.10', 32, 'prefix', /octet/], ['2001:db8::1', 50, 'prefix', /nibble/],
      ['2001:db8::1', 128, 'prefix', /nibble/], ['192.0.2.300', 24, 'ip', /not an IPv4 or IPv6/], ['host.example', 24, 'ip', /not an IPv4 or IPv6/],
    ] as const) {
      assert.throws(() => reverseName(ip, prefix), (err: unknown) => err instanceof InputError && err.field === field && msg.test(err.message), `${ip}/${prefix}`);
    }
  });

  it('canonical IPv6 text (RFC 5952)', () => {
    assert.equal(canonicalIPv6('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(canonicalIPv6('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canonicalIPv6('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1', 'a single zero group stays');
    assert.equal(canonicalIPv6('0:0:0:0:0:0:0:0'), '::');
    assert.equal(canonicalIPv6('fe80::0001'), 'fe80::1');
  });
});
