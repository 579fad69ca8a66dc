// The IP pools' address arithmetic: parsing and canonical text (RFC 5952 for IPv6), networks and
// their ranges, the defaults (no network/broadcast/gateway for IPv4, no subnet-router anycast and
// gateway for IPv6), the gap search over taken addresses, and sizes of ranges that cannot be
// enumerated (an IPv6 /64).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalIp, cidrField, cidrsOverlap, countText, defaultRanges, formatCidr, formatIp, formatRange, gapIn, ipField, ipKey, lowestFree, parseIp,
  rangeField, rangesSize, sortedRanges, without, type Range,
} from '../../daemon/pipelines/ip-ranges.ts';
import { InputError } from '../../daemon/common/errors.ts';

const v4 = (s: string) => parseIp(s)!.value;
const v6 = (s: string) => parseIp(s)!.value;
const fieldOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InputError, `an InputError, not ${(err as Error).message}`);
    return err.message; // "field: problem"
  }
  assert.fail('no error');
};

describe('IP address text', () => {
  test('IPv4: dotted decimal, no leading zeros, each octet ≤ 255', () => {
    assert.equal(canonicalIp('192.0.2.1'), '192.0.2.1');
    assert.equal(canonicalIp(' 10.0.0.255 '), '10.0.0.255');
    for (const bad of ['192.0.2', '192.0.2.256', '010.0.0.1', '1.2.3.4.5', '1.2.3.-1', 'a.b.c.d', '', '192.0.2.1/24']) {
      assert.equal(parseIp(bad), null, bad);
    }
  });

  test('IPv6: RFC 5952 canonical form', () => {
    const cases: Array<[string, string]> = [
      ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of two equal runs
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed
      ['2001:db8::0:0:0:1', '2001:db8::1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['1::', '1::'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ];
    for (const [input, want] of cases) assert.equal(canonicalIp(input), want, input);
    for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', ':1', '1:', '12345::1', 'g::1', '1:2:3:4:5:6:7::8', '::1.2.3', 'fe80::1%eth0', ':::']) {
      assert.equal(parseIp(bad), null, bad);
    }
  });

  test('the sortable key is fixed-width hex, so text order is address order', () => {
    assert.equal(ipKey(parseIp('192.0.2.10')!), 'c000020a');
    assert.equal(ipKey(parseIp('2001:db8::a')!), '20010db800000000000000000000000a');
    const ips = ['10.0.0.9', '10.0.0.10', '9.255.255.255', '10.0.1.0'];
    const byKey = [...ips].sort((a, b) => (ipKey(parseIp(a)!) < ipKey(parseIp(b)!) ? -1 : 1));
    assert.deepEqual(byKey, ['9.255.255.255', '10.0.0.9', '10.0.0.10', '10.0.1.0']);
  });

  test('ipField names the field and the family it expected', () => {
    assert.match(fieldOf(() => ipField('gateway', 'nope')), /^gateway: "nope" is not an IPv4 or IPv6 address/);
    assert.match(fieldOf(() => ipField('gateway', '2001:db8::1', 4)), /^gateway: 2001:db8::1 is an IPv6 address; this pool is IPv4/);
  });
});

describe('networks and ranges', () => {
  test('CIDR: host bits must be zero, the prefix must fit, the error names the field', () => {
    assert.equal(formatCidr(cidrField('network', '203.0.113.0/24')), '203.0.113.0/24');
    assert.equal(formatCidr(cidrField('network', '2001:DB8:0:1::/64')), '2001:db8:0:1::/64');
    assert.match(fieldOf(() => cidrField('network', '203.0.113.5/24')), /^network: 203\.0\.113\.5\/24 has host bits set: the network is 203\.0\.113\.0\/24/);
    assert.match(fieldOf(() => cidrField('network', '203.0.113.0/33')), /^network: \/33 is longer than an IPv4 address/);
    assert.match(fieldOf(() => cidrField('network', '203.0.113.0')), /^network: "203\.0\.113\.0" is not a network in CIDR form/);
    assert.match(fieldOf(() => cidrField('network', '203.0.113.0/2x')), /^network: .* is not a network in CIDR form/);
    assert.match(fieldOf(() => cidrField('network', '2001:db8::1/64')), /has host bits set: the network is 2001:db8::\/64/);
  });

  test('overlap', () => {
    const n = (s: string) => cidrField('network', s);
    assert.equal(cidrsOverlap(n('10.0.0.0/24'), n('10.0.0.128/25')), true);
    assert.equal(cidrsOverlap(n('10.0.0.0/25'), n('10.0.0.128/25')), false);
    assert.equal(cidrsOverlap(n('10.0.0.0/8'), n('10.200.0.0/16')), true);
    assert.equal(cidrsOverlap(n('2001:db8::/64'), n('2001:db8::/48')), true);
    assert.equal(cidrsOverlap(n('2001:db8::/64'), n('2001:db8:0:1::/64')), false);
    assert.equal(cidrsOverlap(n('0.0.0.0/8'), n('::/8')), false, 'different families never overlap');
  });

  test('IPv4 default: the network without network, broadcast and gateway', () => {
    const net = cidrField('network', '203.0.113.0/24');
    const r = defaultRanges(net, v4('203.0.113.1'));
    assert.deepEqual(r.map((x) => formatRange(4, x)), ['203.0.113.2-203.0.113.254']);
    assert.equal(rangesSize(r), 253n);
    const mid = defaultRanges(net, v4('203.0.113.100'));
    assert.deepEqual(mid.map((x) => formatRange(4, x)), ['203.0.113.1-203.0.113.99', '203.0.113.101-203.0.113.254']);
    assert.equal(rangesSize(defaultRanges(net, null)), 254n);
    assert.deepEqual(defaultRanges(cidrField('n', '198.51.100.6/31'), null).map((x) => formatRange(4, x)), ['198.51.100.6-198.51.100.7'], 'a /31 keeps both (RFC 3021)');
    assert.deepEqual(defaultRanges(cidrField('n', '198.51.100.9/32'), null).map((x) => formatRange(4, x)), ['198.51.100.9']);
  });

  test('IPv6 default: the whole prefix but the subnet-router anycast and the gateway, sized without enumerating', () => {
    const net = cidrField('network', '2001:db8:1::/64');
    const r = defaultRanges(net, v6('2001:db8:1::1'));
    assert.deepEqual(r.map((x) => formatRange(6, x)), ['2001:db8:1::2-2001:db8:1:0:ffff:ffff:ffff:ffff']);
    assert.equal(rangesSize(r), (1n << 64n) - 2n);
    assert.equal(countText(rangesSize(r)), '1.84e19');
    assert.equal(countText(1n << 64n), '2^64');
    assert.equal(countText(253n), '253');
  });

  test('explicit ranges: inside the network, ordered, not over network/broadcast, no overlap; the gateway is cut out', () => {
    const net = cidrField('network', '203.0.113.0/24');
    const r = rangeField('ranges.0', '203.0.113.10-203.0.113.20', net);
    assert.deepEqual(without([r], v4('203.0.113.15')).map((x) => formatRange(4, x)), ['203.0.113.10-203.0.113.14', '203.0.113.16-203.0.113.20']);
    assert.deepEqual(rangeField('ranges.1', '203.0.113.50', net), { first: v4('203.0.113.50'), last: v4('203.0.113.50') });
    assert.match(fieldOf(() => rangeField('ranges.2', '203.0.113.10-198.51.100.20', net)), /^ranges\.2: .* is not inside the network 203\.0\.113\.0\/24/);
    assert.match(fieldOf(() => rangeField('ranges.0', '203.0.113.20-203.0.113.10', net)), /^ranges\.0: 203\.0\.113\.20 comes after 203\.0\.113\.10/);
    assert.match(fieldOf(() => rangeField('ranges.0', '203.0.113.200-203.0.113.255', net)), /includes the network or broadcast address/);
    assert.match(fieldOf(() => rangeField('ranges.0', '203.0.113.1-2001:db8::1', net)), /^ranges\.0: 2001:db8::1 is an IPv6 address; this pool is IPv4/);
    assert.match(fieldOf(() => rangeField('ranges.0', '1-2-3', net)), /^ranges\.0: "1-2-3" is not a range/);
    const a: Range = { first: 10n, last: 20n };
    const b: Range = { first: 20n, last: 30n };
    assert.match(fieldOf(() => sortedRanges('ranges', 4, [b, a])), /^ranges: 0\.0\.0\.10-0\.0\.0\.20 and 0\.0\.0\.20-0\.0\.0\.30 overlap/);
    assert.deepEqual(sortedRanges('ranges', 4, [{ first: 40n, last: 50n }, a]), [a, { first: 40n, last: 50n }]);
  });
});

describe('the lowest free address', () => {
  const ranges: Range[] = [{ first: 10n, last: 14n }, { first: 20n, last: 21n }];

  test('holes are found in order across ranges; a full set has none', () => {
    assert.equal(lowestFree(ranges, []), 10n);
    assert.equal(lowestFree(ranges, [10n, 11n, 13n]), 12n, 'the first hole');
    assert.equal(lowestFree(ranges, [10n, 11n, 12n, 13n, 14n]), 20n, 'the next range');
    assert.equal(lowestFree(ranges, [5n, 10n, 11n, 12n, 13n, 14n, 15n, 20n]), 21n, 'taken values outside the ranges are ignored');
    assert.equal(lowestFree(ranges, [10n, 11n, 12n, 13n, 14n, 20n, 21n]), null, 'exhausted');
  });

  test('the batched step: a full batch without a hole says where the next batch starts', () => {
    assert.deepEqual(gapIn(10n, 100n, [10n, 11n, 12n], false), { next: 13n });
    assert.deepEqual(gapIn(10n, 100n, [10n, 11n, 13n], false), { free: 12n });
    assert.deepEqual(gapIn(10n, 12n, [10n, 11n, 12n], true), null);
    assert.deepEqual(gapIn(10n, 12n, [10n, 11n], true), { free: 12n });
  });

  test('IPv6: a hole near the top of a /64 is found from the taken addresses alone', () => {
    const net = cidrField('network', '2001:db8::/64');
    const top = cidrField('n', '2001:db8::ffff:ffff:ffff:fffe/127');
    const r = [{ first: top.base, last: top.base + 1n }];
    assert.equal(formatIp({ family: 6, value: lowestFree(r, [top.base])! }), '2001:db8::ffff:ffff:ffff:ffff');
    const all = defaultRanges(net, null);
    assert.equal(formatIp({ family: 6, value: lowestFree(all, [v6('2001:db8::1'), v6('2001:db8::2')])! }), '2001:db8::3');
  });
});
