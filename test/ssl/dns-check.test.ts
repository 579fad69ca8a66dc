// The DNS check of automatic SSL against Debian's real pdns_server on loopback: names pointing at the
// server, elsewhere, through CNAME chains, missing, without an A record; resolvers that never
// answer or are not there; and the resolver setting's parser.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { startPdns, type Pdns } from '../helpers/pdns.ts';
import { PowerDnsClient } from '../../daemon/drivers/powerdns/index.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { checkNamesResolveTo, parseResolverSetting } from '../../daemon/ssl/dns-check.ts';

const IP = '127.0.1.11';
const ELSEWHERE = '203.0.113.5';
const IP6 = '2001:db8::10';

let pdns: Pdns;
let servers: string[];
let silent: Socket;
let silentServer: string;
let deadServer: string;

before(async () => {
  pdns = await startPdns();
  servers = [`127.0.0.1:${pdns.dnsPort}`];
  const c = new PowerDnsClient({ url: pdns.url, apiKey: pdns.apiKey, timeoutMs: 5000 }, { log: () => undefined });
  await c.createZone('ssl.example', 'Native', ['ns1.ssl.example']);
  const rr = (name: string, type: string, ...contents: string[]) => ({ name, type, changetype: 'REPLACE' as const, ttl: 60, records: contents.map((content) => ({ content })) });
  await c.patchRRsets('ssl.example', [
    rr('ssl.example', 'A', IP),
    rr('www.ssl.example', 'A', ELSEWHERE),
    rr('both.ssl.example', 'A', ELSEWHERE, IP),
    rr('alias.ssl.example', 'CNAME', 'hop.ssl.example.'),
    rr('hop.ssl.example', 'CNAME', 'ssl.example.'),
    rr('wrongalias.ssl.example', 'CNAME', 'www.ssl.example.'),
    rr('dangling.ssl.example', 'CNAME', 'nowhere.elsewhere.test.'),
    rr('txtonly.ssl.example', 'TXT', '"hello"'),
    rr('v6.ssl.example', 'AAAA', IP6),
    rr('dual.ssl.example', 'A', IP),
    rr('dual.ssl.example', 'AAAA', '2001:0db8:0:0:0:0:0:10'),
  ]);
  // A resolver that takes the query and never answers, and a port where nothing listens at all.
  silent = createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
  silentServer = `127.0.0.1:${silent.address().port}`;
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  deadServer = `127.0.0.1:${probe.address().port}`;
  await new Promise<void>((r) => probe.close(() => r()));
});
after(async () => {
  silent?.close();
  await pdns?.stop();
});

describe('checkNamesResolveTo', () => {
  it('passes names whose A records include the server, directly, among others, and through a CNAME chain', async () => {
    const r = await checkNamesResolveTo(['ssl.example', 'both.ssl.example', 'alias.ssl.example', 'dual.ssl.example'], IP, { servers, timeoutMs: 3000 });
    assert.equal(r.reason, null);
    assert.equal(r.ok, true);
    assert.deepEqual(r.names.map((n) => [n.name, n.error]), [
      ['ssl.example', null], ['both.ssl.example', null], ['alias.ssl.example', null], ['dual.ssl.example', null],
    ]);
    assert.deepEqual(r.names[1]!.addresses.sort(), [ELSEWHERE, IP].sort());
    assert.deepEqual(r.names[2]!.addresses, [IP]);
  });

  it('fails a name that resolves elsewhere, naming the addresses found, and keeps the others', async () => {
    const r = await checkNamesResolveTo(['ssl.example', 'www.ssl.example'], IP, { servers, timeoutMs: 3000 });
    assert.equal(r.ok, false);
    assert.equal(r.reason, `www.ssl.example resolves to ${ELSEWHERE}, not ${IP}`);
    assert.deepEqual(r.names[0], { name: 'ssl.example', addresses: [IP], error: null });
    assert.deepEqual(r.names[1], { name: 'www.ssl.example', addresses: [ELSEWHERE], error: r.reason });
  });

  it('follows a CNAME to a name that points elsewhere', async () => {
    const r = await checkNamesResolveTo(['wrongalias.ssl.example'], IP, { servers, timeoutMs: 3000 });
    assert.equal(r.reason, `wrongalias.ssl.example resolves to ${ELSEWHERE}, not ${IP}`);
  });

  it('gives a missing name, a name without an A record and a dangling alias each their own reason', async () => {
    const r = await checkNamesResolveTo(['nope.ssl.example', 'txtonly.ssl.example', 'dangling.ssl.example'], IP, { servers, timeoutMs: 3000 });
    assert.equal(r.ok, false);
    assert.deepEqual(r.names.map((n) => n.error), [
      'nope.ssl.example does not exist in DNS (NXDOMAIN)',
      'txtonly.ssl.example has no A record',
      'dangling.ssl.example is an alias (CNAME) of nowhere.elsewhere.test, which has no A record',
    ]);
    assert.equal(r.reason, r.names.map((n) => n.error).join('; '));
    assert.ok(r.names.every((n) => n.addresses.length === 0));
  });

  it('says when the resolver refuses a name it does not serve', async () => {
    const r = await checkNamesResolveTo(['www.not-served.test'], IP, { servers, timeoutMs: 3000 });
    assert.equal(r.reason, `the resolver ${servers[0]} refused to look up www.not-served.test (REFUSED)`);
  });

  it('checks AAAA records when the server address is IPv6, comparing addresses in one spelling', async () => {
    const ok = await checkNamesResolveTo(['v6.ssl.example', 'dual.ssl.example'], '2001:DB8:0::10', { servers, timeoutMs: 3000 });
    assert.equal(ok.reason, null);
    assert.deepEqual(ok.names.map((n) => n.addresses), [[IP6], [IP6]]);
    const bad = await checkNamesResolveTo(['ssl.example'], IP6, { servers, timeoutMs: 3000 });
    assert.equal(bad.reason, 'ssl.example has no AAAA record');
    const v4 = await checkNamesResolveTo(['v6.ssl.example'], IP, { servers, timeoutMs: 3000 });
    assert.equal(v4.reason, 'v6.ssl.example has no A record');
  });

  it('takes names in any case, with a trailing dot, and drops repeats', async () => {
    const r = await checkNamesResolveTo(['SSL.Example.', 'ssl.example'], IP, { servers, timeoutMs: 3000 });
    assert.deepEqual(r.names.map((n) => n.name), ['ssl.example']);
    assert.equal(r.ok, true);
  });

  it('gives up on a resolver that never answers within the timeout, with a clear reason', async () => {
    const t0 = Date.now();
    const r = await checkNamesResolveTo(['ssl.example', 'www.ssl.example'], IP, { servers: [silentServer], timeoutMs: 600 });
    const took = Date.now() - t0;
    // Bounded by the timeout (the default would be seconds); the margin absorbs a busy machine.
    assert.ok(took >= 550 && took < 4000, `took ${took} ms`);
    assert.equal(r.ok, false);
    assert.deepEqual(r.names.map((n) => n.error), [
      `no answer for ssl.example from the resolver ${silentServer} within 600 ms`,
      `no answer for www.ssl.example from the resolver ${silentServer} within 600 ms`,
    ]);
  });

  it('says so when nothing listens on the resolver port, within the timeout', async () => {
    const t0 = Date.now();
    const r = await checkNamesResolveTo(['ssl.example'], IP, { servers: [deadServer], timeoutMs: 600 });
    assert.ok(Date.now() - t0 < 4000);
    assert.equal(r.ok, false);
    assert.equal(r.reason, `the resolver ${deadServer} refused the connection while looking up ssl.example (nothing listens there)`);
  });

  it('moves on to the next resolver when the first does not answer', async () => {
    // Each resolver gets half the time: 2 s leaves the answering one room on a machine under load
    // (a CI run at load 10 saw 1 s run out).
    const r = await checkNamesResolveTo(['ssl.example'], IP, { servers: [silentServer, ...servers], timeoutMs: 4000 });
    assert.equal(r.reason, null);
  });

  it('refuses a bad address, no names, a bad name or a bad timeout before asking anyone', async () => {
    const refused = async (p: Promise<unknown>, field: string, words: RegExp) => assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.equal(e.field, field);
      assert.match(e.message, words);
      return true;
    });
    await refused(checkNamesResolveTo(['ssl.example'], 'server1', { servers, timeoutMs: 1000 }), 'ip', /"server1" is not an IP address/);
    await refused(checkNamesResolveTo([], IP, { servers, timeoutMs: 1000 }), 'names', /at least one name/);
    await refused(checkNamesResolveTo(['bad name.example'], IP, { servers, timeoutMs: 1000 }), 'names', /"bad name.example" is not a host name/);
    await refused(checkNamesResolveTo(['ssl.example'], IP, { servers, timeoutMs: 0 }), 'timeoutMs', /positive/);
  });
});

describe('parseResolverSetting', () => {
  it('takes addresses with and without ports, IPv6 bare or in brackets, separated by commas or spaces', () => {
    assert.deepEqual(parseResolverSetting(''), []);
    assert.deepEqual(parseResolverSetting('  '), []);
    assert.deepEqual(parseResolverSetting('127.0.0.1:5300'), ['127.0.0.1:5300']);
    assert.deepEqual(parseResolverSetting('1.1.1.1, 8.8.8.8:53 [2001:DB8::1]:5353 2001:db8::2 [::1]'),
      ['1.1.1.1', '8.8.8.8:53', '[2001:db8::1]:5353', '2001:db8::2', '::1']);
    assert.deepEqual(parseResolverSetting('9.9.9.9,9.9.9.9'), ['9.9.9.9']);
  });

  it('refuses names, bad ports and unbracketed IPv6 ports, naming the entry', () => {
    const refused = (raw: string, words: RegExp) => assert.throws(() => parseResolverSetting(raw), (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.match(e.message, words);
      return true;
    });
    refused('1.1.1.1, dns.google', /resolver "dns\.google" is not an IP address; write each as an address: host, host:port or \[IPv6\]:port/);
    refused('127.0.0.1:0', /resolver "127\.0\.0\.1:0" has a bad port: it must be a number from 1 to 65535/);
    refused('127.0.0.1:65536', /"127\.0\.0\.1:65536" has a bad port/);
    refused('127.0.0.1:', /"127\.0\.0\.1:" has a bad port/);
    refused('[127.0.0.1]:53', /"\[127\.0\.0\.1\]:53" is not an IPv6 address in brackets/);
    refused('999.1.1.1', /"999\.1\.1\.1" is not an IP address/);
    refused('2001:db8::1:5300x', /"2001:db8::1:5300x" is not an address/);
    refused(Array.from({ length: 9 }, (_, i) => `10.0.0.${i + 1}`).join(','), /lists 9 resolvers; at most 8/);
  });
});
