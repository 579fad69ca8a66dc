// SRV records on a HestiaCP DNS node (issue 13). v-add-dns-record's validator
// (func/internal/dns_record_validator.php) reads a 3-field SRV value whose first field passes as a
// host name as "target port weight": "5 5060 sip.example.net" (any non-zero weight) is refused, and
// only a weight of 0 got through. With "priority weight port target" it stores the priority apart
// and the value as "weight port target.". The emulated node checks SRV as the script does; the
// zone host sends the 4-field form, and the same record is answered by the real PowerDNS.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { createNode, readNode, runHestia, startHestiaNode, type HestiaNodeHandle } from '../emulator/hestia/index.ts';
import { startPdns, type Pdns } from '../helpers/pdns.ts';
import { HestiaDriver, SshPool } from '../../daemon/drivers/hestia/index.ts';
import { PowerDnsClient } from '../../daemon/drivers/powerdns/index.ts';
import { HestiaZoneHost } from '../../daemon/dns/hestia-zone-host.ts';
import { PowerDnsZoneHost } from '../../daemon/dns/powerdns-zone-host.ts';
import { RecordRefusedError } from '../../daemon/dns/zone-host.ts';
import type { ZoneRecord } from '../../daemon/dns/records.ts';

const NODE_IP = '192.0.2.53';
const OWNER = 'srvowner';
const NS = ['ns1.example.net', 'ns2.example.net'];
let dir: string;
let node: HestiaNodeHandle;
let pdns: Pdns;
let password: string;
const pool = new SshPool();

/** The zone's SRV lines as the node stores them: "name PRIORITY VALUE". */
const srvOnNode = (zone: string) => readNode(dir).users[OWNER]!.dns.find((d) => d.zone.DOMAIN === zone)!.records
  .filter((r) => r.TYPE === 'SRV').map((r) => `${r.RECORD} ${r.PRIORITY} ${r.VALUE}`).sort();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hb-srv-'));
  createNode(dir, { hostname: 'ns-srv.example.net', ip: NODE_IP, roles: { dns: true } });
  const add = runHestia(dir, 'v-add-user', [OWNER, 'Owner-pw-1', 'owner@example.org', 'default']);
  assert.equal(add.code, 0, add.stdout);
  password = randomBytes(12).toString('hex');
  node = await startHestiaNode({ dir, users: [{ username: 'root', password, uid: 0 }] });
  pdns = await startPdns();
});

after(async () => {
  await pool.closeAll();
  await node?.close();
  await pdns?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the emulated v-add-dns-record checks SRV values as the real script', () => {
  it('refuses "weight port target" with a non-zero weight, takes it with weight 0 or with the priority in front', () => {
    const zone = 'srv-cli.example.org';
    assert.equal(runHestia(dir, 'v-add-dns-domain', [OWNER, zone, NODE_IP, ...NS]).code, 0);
    const before = srvOnNode(zone);
    const refused = runHestia(dir, 'v-add-dns-record', [OWNER, zone, '_sip._tcp', 'SRV', '5 5060 sip.example.net', '10']);
    assert.deepEqual({ code: refused.code, stdout: refused.stdout }, { code: 2, stdout: 'Error: invalid SRV record weight format (must be between 0 and 65535) :: 5 5060 sip.example.net.\n' });
    assert.deepEqual(srvOnNode(zone), before, 'nothing stored');
    assert.equal(runHestia(dir, 'v-add-dns-record', [OWNER, zone, '_a._tcp', 'SRV', '0 5060 sip.example.net', '7']).code, 0);
    // With four fields the value's priority wins over the PRIORITY argument.
    assert.equal(runHestia(dir, 'v-add-dns-record', [OWNER, zone, '_b._tcp', 'SRV', '20 5 5061 sip.example.net', '10']).code, 0);
    // A target with fewer than three dots (the trailing one counted) is not an FQDN to HestiaCP.
    const short = runHestia(dir, 'v-add-dns-record', [OWNER, zone, '_c._tcp', 'SRV', '10 5 5062 example.net']);
    assert.deepEqual({ code: short.code, stdout: short.stdout }, { code: 2, stdout: 'Error: SRV record 5 5062 example.net should be a fully qualified domain name (FQDN)\n' });
    const added = srvOnNode(zone).filter((l) => !before.includes(l));
    assert.deepEqual(added, ['_a._tcp 7 0 5060 sip.example.net.', '_b._tcp 20 5 5061 sip.example.net.']);
  });
});

describe('an SRV record with a non-zero weight is published on a HestiaCP node and on PowerDNS', () => {
  const srv: ZoneRecord = { name: '_sip._tcp', type: 'SRV', value: '5 5060 sip.example.net', priority: 10 };

  it('the Hestia zone host sends it as "priority weight port target": stored, listed back as sent, not sent twice', async () => {
    const zone = `srv-${randomBytes(3).toString('hex')}.example.org`;
    const driver = new HestiaDriver(pool, { id: 'ns-srv', host: '127.0.0.1', port: node.port, username: 'root', password, hostKeySha256: node.hostKeySha256, commandTimeoutMs: 20_000 });
    const host = new HestiaZoneHost(driver, { user: OWNER, nodeIp: NODE_IP, server: 'ns-srv' });
    assert.equal((await host.ensureZone(zone, { nameservers: NS, apex: '192.0.2.80', records: [{ name: '_xmpp._tcp', type: 'SRV', value: '30 5222 xmpp.example.net', priority: 0 }] })).created, true);
    assert.deepEqual(await host.ensureRecords(zone, [srv]), { added: 1, removed: 0 });
    assert.deepEqual(srvOnNode(zone), ['_sip._tcp 10 5 5060 sip.example.net.', '_xmpp._tcp 0 30 5222 xmpp.example.net.']);
    const listed = (await host.listRecords(zone)).filter((r) => r.type === 'SRV').map((r) => `${r.name} ${r.priority} ${r.value}`).sort();
    assert.deepEqual(listed, ['_sip._tcp 10 5 5060 sip.example.net', '_xmpp._tcp 0 30 5222 xmpp.example.net']);
    assert.deepEqual(await host.ensureRecords(zone, [srv]), { added: 0, removed: 0 }, 'the stored record is recognised');
    // What HestiaCP itself refuses is named as a refusal, and nothing changes.
    await assert.rejects(host.ensureRecords(zone, [{ name: '_d._tcp', type: 'SRV', value: '5 443 example.net', priority: 1 }]),
      (e: unknown) => e instanceof RecordRefusedError && /fully qualified domain name/.test(e.message));
    assert.equal(srvOnNode(zone).length, 2);
  });

  it('PowerDNS answers the same record on its DNS port', async () => {
    const zone = `srv-${randomBytes(3).toString('hex')}.example.org`;
    const host = new PowerDnsZoneHost(new PowerDnsClient({ url: pdns.url, apiKey: pdns.apiKey, timeoutMs: 5000 }), 'pdns-srv');
    await host.ensureZone(zone, { nameservers: NS, apex: '192.0.2.80' });
    await host.ensureRecords(zone, [srv]);
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${pdns.dnsPort}`]);
    assert.deepEqual(await resolver.resolveSrv(`_sip._tcp.${zone}`), [{ name: 'sip.example.net', port: 5060, priority: 10, weight: 5 }]);
  });
});
