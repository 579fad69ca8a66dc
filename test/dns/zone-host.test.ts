// The zone-host conformance suite (zone-host-conformance.ts) run against both implementations:
// HestiaZoneHost over SSH to an emulated HestiaCP DNS node, PowerDnsZoneHost against Debian's real
// pdns_server. Each fixture reads its backend's own state (the node's files, the PowerDNS API) to
// check what the zone host did, plus the HestiaCP-only behaviour (a zone's owner account).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createNode, readNode, runHestia, startHestiaNode, type HestiaNodeHandle } from '../emulator/hestia/index.ts';
import { startPdns, type Pdns } from '../helpers/pdns.ts';
import { freePort } from '../helpers/sshd.ts';
import { HestiaDriver, SshPool } from '../../daemon/drivers/hestia/index.ts';
import { PowerDnsClient } from '../../daemon/drivers/powerdns/index.ts';
import { HestiaZoneHost } from '../../daemon/dns/hestia-zone-host.ts';
import { PowerDnsZoneHost } from '../../daemon/dns/powerdns-zone-host.ts';
import { ZoneConflictError } from '../../daemon/dns/zone-host.ts';
import { NS, zoneHostConformance, type RawRecord, type ZoneHostFixture } from './zone-host-conformance.ts';

const HOSTS = ['NS', 'CNAME', 'MX', 'PTR'];

// --- HestiaCP: an emulated DNS-only node behind the in-process ssh2 server -----------------------

const NODE_IP = '192.0.2.53';
const OWNER = 'zoneowner';
let hestiaDir: string;
let node: HestiaNodeHandle;
let rootPassword: string;
const pool = new SshPool();

function hestiaDriver(port = node.port): HestiaDriver {
  return new HestiaDriver(pool, { id: `ns-emu-${port}`, host: '127.0.0.1', port, username: 'root', password: rootPassword, hostKeySha256: port === node.port ? node.hostKeySha256 : null, commandTimeoutMs: 20_000 });
}

/** A zone's records from the node's own files (dns/<zone>.conf), read as Hestia wrote them. */
function hestiaRaw(user: string, zone: string): RawRecord[] | null {
  const z = readNode(hestiaDir).users[user]?.dns.find((d) => d.zone.DOMAIN === zone);
  if (!z) return null;
  return z.records.map((r) => {
    let value = (r.VALUE ?? '').replace(/%quote%/g, "'");
    if (HOSTS.includes(r.TYPE!)) value = value.replace(/\.$/, '').toLowerCase();
    if (r.TYPE === 'TXT') value = value.replace(/^"(.*)"$/s, '$1');
    return {
      name: r.RECORD!, type: r.TYPE!, value, ...(r.TYPE === 'MX' || r.TYPE === 'SRV' ? { priority: Number(r.PRIORITY) } : {}),
      ttl: Number(r.TTL || z.zone.TTL), suspended: r.SUSPENDED === 'yes',
    };
  });
}

function hestiaFixture(): ZoneHostFixture {
  return {
    host: new HestiaZoneHost(hestiaDriver(), { user: OWNER, nodeIp: NODE_IP, server: 'ns-emu' }),
    raw: async (zone) => hestiaRaw(OWNER, zone),
    zoneCount: async (zone) => Object.values(readNode(hestiaDir).users).flatMap((u) => u.dns).filter((d) => d.zone.DOMAIN === zone).length,
    calls: () => node.commandLog().length,
    unreachable: () => new HestiaZoneHost(hestiaDriver(closedPort), { user: OWNER, nodeIp: NODE_IP, server: 'ns-down' }),
    canSuspendZone: true,
    addDuplicate: async (zone, r) => {
      const res = runHestia(hestiaDir, 'v-add-dns-record', [OWNER, zone, r.name, r.type, r.value]);
      assert.equal(res.code, 0, res.stdout);
    },
    // Hestia keeps a zone's last A record (is_dns_record_critical).
    refusedChange: (host, zone) => host.deleteRecords(zone, [{ name: '@', type: 'A' }]),
    seededWithoutApex: [{ name: '@', type: 'A', value: NODE_IP, suspended: false }],
  };
}

// --- PowerDNS: the real pdns_server with SQLite ------------------------------------------------------

let pdns: Pdns;
let pdnsCalls = 0;
let closedPort: number;

function pdnsClient(url = pdns.url): PowerDnsClient {
  return new PowerDnsClient({ url, apiKey: pdns.apiKey, timeoutMs: 5000 }, { log: (l) => { if (!l.includes('→')) pdnsCalls++; } });
}

function pdnsFixture(): ZoneHostFixture {
  const reader = new PowerDnsClient({ url: pdns.url, apiKey: pdns.apiKey, timeoutMs: 5000 });
  return {
    host: new PowerDnsZoneHost(pdnsClient(), 'pdns-test'),
    canSuspendZone: false,
    raw: async (zone) => {
      const z = await reader.getZone(zone);
      if (!z) return null;
      const rel = (n: string) => (n === `${zone}.` ? '@' : n.slice(0, -(zone.length + 2)));
      return z.rrsets!.filter((r) => r.type !== 'SOA').flatMap((r) => r.records.map((x) => {
        let value = x.content;
        let priority: number | undefined;
        if (r.type === 'MX') [priority, value] = [Number(value.split(' ')[0]), value.split(' ')[1]!];
        if (HOSTS.includes(r.type)) value = value.replace(/\.$/, '').toLowerCase();
        if (r.type === 'TXT') value = [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]).join('');
        return { name: rel(r.name), type: r.type, value, ...(priority !== undefined ? { priority } : {}), ttl: r.ttl, suspended: !!x.disabled };
      }));
    },
    zoneCount: async (zone) => ((await reader.getZone(zone)) ? 1 : 0),
    calls: () => pdnsCalls,
    unreachable: () => new PowerDnsZoneHost(pdnsClient(`http://127.0.0.1:${closedPort}`), 'pdns-down'),
    // PowerDNS refuses a CNAME beside other data of its name.
    refusedChange: async (host, zone) => {
      await host.ensureRecords(zone, [{ name: 'both', type: 'A', value: '192.0.2.1' }]);
      return host.ensureRecords(zone, [{ name: 'both', type: 'CNAME', value: 'example.net' }]);
    },
    seededWithoutApex: [],
  };
}

before(async () => {
  closedPort = await freePort();
  hestiaDir = mkdtempSync(join(tmpdir(), 'hb-zonehost-'));
  createNode(hestiaDir, { hostname: 'ns-emu.example.net', ip: NODE_IP, roles: { dns: true } });
  const add = runHestia(hestiaDir, 'v-add-user', [OWNER, 'Owner-pw-1', 'owner@example.org', 'default']);
  assert.equal(add.code, 0, add.stdout);
  rootPassword = randomBytes(12).toString('hex');
  node = await startHestiaNode({ dir: hestiaDir, users: [{ username: 'root', password: rootPassword, uid: 0 }] });
  pdns = await startPdns();
});

after(async () => {
  await pool.closeAll();
  await node?.close();
  await pdns?.stop();
  if (hestiaDir) rmSync(hestiaDir, { recursive: true, force: true });
});

zoneHostConformance('HestiaCP (emulated node over SSH)', hestiaFixture);
zoneHostConformance('PowerDNS (real pdns_server)', pdnsFixture);

describe('HestiaCP zone host: the account that holds the zones', () => {
  it('creates its owner on ensureZone when told how, and refuses without', async () => {
    const user = `svc${randomBytes(3).toString('hex')}`;
    const bare = new HestiaZoneHost(hestiaDriver(), { user, nodeIp: NODE_IP, server: 'ns-emu' });
    assert.equal(await bare.zoneExists('owned.example.org'), false, 'a missing user holds no zone');
    await assert.rejects(bare.ensureZone('owned.example.org', { nameservers: NS }), new RegExp(`user ${user}, who should hold the zones, does not exist on ns-emu`));
    assert.equal(readNode(hestiaDir).users[user], undefined);
    const owned = new HestiaZoneHost(hestiaDriver(), { user, nodeIp: NODE_IP, server: 'ns-emu', owner: { password: 'Svc-pw-12345', email: 'svc@example.org' } });
    assert.deepEqual(await owned.ensureZone('owned.example.org', { nameservers: NS, apex: '192.0.2.7' }), { created: true });
    assert.deepEqual(readNode(hestiaDir).users[user]!.dns.map((d) => d.zone.DOMAIN), ['owned.example.org']);
    assert.ok(!JSON.stringify(node.commandLog()).includes('Svc-pw-12345'), 'the password stays off the command line');
  });

  it('a zone another user holds is a conflict, not a success', async () => {
    const other = new HestiaZoneHost(hestiaDriver(), { user: 'admin', nodeIp: NODE_IP, server: 'ns-emu' });
    await other.ensureZone('taken.example.org', { nameservers: NS, apex: '192.0.2.8' });
    const mine = new HestiaZoneHost(hestiaDriver(), { user: OWNER, nodeIp: NODE_IP, server: 'ns-emu' });
    await assert.rejects(mine.ensureZone('taken.example.org', { nameservers: NS, apex: '192.0.2.8' }), (err: unknown) => {
      assert.ok(err instanceof ZoneConflictError, String(err));
      assert.match(err.message, /zone taken\.example\.org cannot be created on ns-emu: another account holds it \(Error: DNS domain taken\.example\.org exists\)/);
      return true;
    });
    assert.equal(await mine.zoneExists('taken.example.org'), false);
    assert.deepEqual(await mine.deleteZone('taken.example.org'), { deleted: false }, 'and deleting it from this account leaves the other\'s zone');
    assert.ok(hestiaRaw('admin', 'taken.example.org'));
  });

  it('creates a zone with the given records in place of the template\'s', async () => {
    const host = new HestiaZoneHost(hestiaDriver(), { user: OWNER, nodeIp: NODE_IP, server: 'ns-emu' });
    await host.ensureZone('made.example.org', { nameservers: NS, apex: '192.0.2.9', records: [
      { name: 'www', type: 'CNAME', value: 'made.example.org' }, { name: '_dmarc', type: 'TXT', value: 'v=DMARC1; p=quarantine; pct=100' },
      { name: '@', type: 'MX', value: 'mail.made.example.org', priority: 10 }, { name: 'mail', type: 'A', value: '192.0.2.10' },
    ] });
    assert.deepEqual(hestiaRaw(OWNER, 'made.example.org')!.map((r) => `${r.name} ${r.type} ${r.value}`).sort(), [
      '@ A 192.0.2.9', '@ MX mail.made.example.org', '@ NS ns1.example.net', '@ NS ns2.example.net',
      '_dmarc TXT v=DMARC1; p=quarantine; pct=100', 'mail A 192.0.2.10', 'www CNAME made.example.org',
    ]);
  });
});

describe('PowerDNS zone host: a new zone', () => {
  it('is created in one call with its SOA naming the first name server, and the given records', async () => {
    const host = new PowerDnsZoneHost(pdnsClient(), 'pdns-test');
    const before = pdnsCalls;
    await host.ensureZone('one.example.org', { nameservers: NS, apex: '192.0.2.9', records: [{ name: 'www', type: 'CNAME', value: 'one.example.org' }] });
    assert.equal(pdnsCalls - before, 2, 'a GET to check, a POST to create');
    const z = (await pdnsClient().getZone('one.example.org'))!;
    assert.match(z.rrsets!.find((r) => r.type === 'SOA')!.records[0]!.content, /^ns1\.example\.net\. hostmaster\.one\.example\.org\. /);
    assert.deepEqual(z.rrsets!.filter((r) => r.type !== 'SOA').map((r) => `${r.name} ${r.type} ${r.records.map((x) => x.content).sort().join(',')}`).sort(), [
      'one.example.org. A 192.0.2.9', 'one.example.org. NS ns1.example.net.,ns2.example.net.', 'www.one.example.org. CNAME one.example.org.',
    ]);
  });
});
