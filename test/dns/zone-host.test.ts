// The zone-host conformance suite (zone-host-conformance.ts) run against both implementations:
// HestiaZoneHost over SSH to an emulated HestiaCP DNS node, PowerDnsZoneHost against Debian's real
// pdns_server. Each fixture reads its backend's own state (the node's files, the PowerDNS API) to
// check what the zone host did, plus the HestiaCP-only behaviour (a zone's owner account).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createNode, readNode, runHestia, startHestiaNode, type HestiaNodeHandle } from '../emulator/hestia/index.ts';
import { paths } from '../emulator/hestia/node.ts';
import { startPdns, type Pdns } from '../helpers/pdns.ts';
import { freePort } from '../helpers/sshd.ts';
import { dnsConfLine, HestiaDriver, SshPool, type DnsConfRecord, type RestartOption } from '../../daemon/drivers/hestia/index.ts';
import { PowerDnsClient } from '../../daemon/drivers/powerdns/index.ts';
import { HestiaZoneHost } from '../../daemon/dns/hestia-zone-host.ts';
import { PowerDnsZoneHost } from '../../daemon/dns/powerdns-zone-host.ts';
import { RecordRefusedError, ZoneConflictError } from '../../daemon/dns/zone-host.ts';
import { convergeRecords } from '../../daemon/dns/converge.ts';
import type { ZoneRecord } from '../../daemon/dns/records.ts';
import { NS, zoneHostConformance, type RawRecord, type ZoneHostFixture } from './zone-host-conformance.ts';

const HOSTS = ['NS', 'CNAME', 'MX', 'PTR'];

// --- HestiaCP: an emulated DNS-only node behind the in-process ssh2 server -----------------------

const NODE_IP = '192.0.2.53';
const OWNER = 'zoneowner';
let hestiaDir: string;
let node: HestiaNodeHandle;
let rootPassword: string;
const SUDO_USER = 'hbsudo';
const pool = new SshPool();

function hestiaDriver(port = node.port, username = 'root'): HestiaDriver {
  return new HestiaDriver(pool, { id: `ns-emu-${port}-${username}`, host: '127.0.0.1', port, username, password: rootPassword, hostKeySha256: port === node.port ? node.hostKeySha256 : null, commandTimeoutMs: 20_000 });
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
    canSuspendZone: true,
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
  node = await startHestiaNode({ dir: hestiaDir, users: [{ username: 'root', password: rootPassword, uid: 0 }, { username: SUDO_USER, password: rootPassword, uid: 1001, sudo: true }] });
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
    assert.equal((await owned.ensureZone('owned.example.org', { nameservers: NS, apex: '192.0.2.7' })).created, true);
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
    assert.equal(pdnsCalls - before, 1, 'one POST: PowerDNS refusing an existing zone is the check');
    // Again: refused as existing (409), reported as not created, nothing changed.
    assert.deepEqual(await host.ensureZone('one.example.org', { nameservers: NS, apex: '192.0.2.10' }), { created: false });
    const z = (await pdnsClient().getZone('one.example.org'))!;
    assert.match(z.rrsets!.find((r) => r.type === 'SOA')!.records[0]!.content, /^ns1\.example\.net\. hostmaster\.one\.example\.org\. /);
    assert.deepEqual(z.rrsets!.filter((r) => r.type !== 'SOA').map((r) => `${r.name} ${r.type} ${r.records.map((x) => x.content).sort().join(',')}`).sort(), [
      'one.example.org. A 192.0.2.9', 'one.example.org. NS ns1.example.net.,ns2.example.net.', 'www.one.example.org. CNAME one.example.org.',
    ]);
  });
});

// --- HestiaCP: publishing a new zone in a fixed number of commands ---------------------------------

/** The program each logged command ran (a v-* script's name, or install/rm), sudo aside; a new connection's `id -u` left out. */
function programs(from: number): string[] {
  return node.commandLog().slice(from).map((e) => {
    const argv = e.argv ?? [];
    const prog = argv[0] === 'sudo' ? argv[2] ?? '' : argv[0] ?? '';
    return prog.split('/').pop()!;
  }).filter((p) => p !== 'id');
}

/** A Split service's zone: name servers, web apex, www, mail A, MX, SPF, DMARC, DKIM. */
function splitZone(z: string): { nameservers: string[]; apex: string; records: ZoneRecord[] } {
  return {
    nameservers: ['ns1.example.net', 'ns2.example.net', 'ns3.example.net'], apex: '192.0.2.20',
    records: [
      { name: 'www', type: 'CNAME', value: z }, { name: 'mail', type: 'A', value: '192.0.2.21' },
      { name: '@', type: 'MX', value: `mail.${z}`, priority: 10 }, { name: '@', type: 'TXT', value: 'v=spf1 a mx ip4:192.0.2.20 ip4:192.0.2.21 -all' },
      { name: '_dmarc', type: 'TXT', value: 'v=DMARC1; p=quarantine; pct=100' }, { name: 'mail._domainkey', type: 'TXT', value: `v=DKIM1; k=rsa; p=${'B'.repeat(216)}` },
    ],
  };
}

const wantedKeys = (z: ReturnType<typeof splitZone>) => [
  ...z.nameservers.map((v) => `@ NS ${v}`), `@ A ${z.apex}`, ...z.records.map((r) => `${r.name} ${r.type} ${r.value}`),
].sort();
const rawKeys = (user: string, zone: string) => hestiaRaw(user, zone)!.map((r) => `${r.name} ${r.type} ${r.value}`).sort();

/** The same publish every time, in this many commands: two checks, five to publish, one to verify. */
const PUBLISH = ['v-list-users', 'v-list-dns-domains', 'v-add-dns-domain', 'install', 'v-insert-dns-records', 'v-update-user-counters', 'v-add-dns-record', 'v-list-dns-records'];

describe('HestiaCP zone host: publishing a new zone', () => {
  for (const username of ['root', SUDO_USER]) {
    it(`takes ${PUBLISH.length} commands whatever the zone's size, and leaves exactly its records (as ${username})`, async () => {
      for (const size of ['small', 'split']) {
        const z = `${size}-${username}-${randomBytes(3).toString('hex')}.example.org`;
        const zone = size === 'split' ? splitZone(z) : { ...splitZone(z), records: [] };
        const host = new HestiaZoneHost(hestiaDriver(node.port, username), { user: OWNER, nodeIp: NODE_IP, server: 'ns-emu' });
        const from = node.commandLog().length;
        const errorsBefore = readFileSync(paths.errorLog(hestiaDir), 'utf8');
        const countBefore = readNode(hestiaDir).users[OWNER]!.counters.U_DNS_RECORDS!;
        assert.equal((await host.ensureZone(z, zone)).created, true);
        assert.deepEqual(programs(from), PUBLISH, `${size} zone (${wantedKeys(zone).length} records)`);
        assert.ok(node.commandLog().slice(from).every((e) => e.code === 0 && (e.runAs === 'root' || e.argv?.[0] === 'install' || e.argv?.[0] === 'id')), 'every command ran, the v-* ones as root');
        assert.deepEqual(rawKeys(OWNER, z), wantedKeys(zone), 'the node holds exactly the wanted records');
        const st = readNode(hestiaDir).users[OWNER]!;
        const held = st.dns.find((d) => d.zone.DOMAIN === z)!;
        assert.equal(held.zone.RECORDS, String(wantedKeys(zone).length), 'the zone\'s record count');
        assert.equal(held.zone.SERIAL, '3000000001', 'the serial moved once: the zone was rebuilt after the records were replaced');
        assert.equal(st.counters.U_DNS_RECORDS! - countBefore, wantedKeys(zone).length, 'the user\'s record counter grew by the zone\'s records, not the template\'s');
        assert.equal(readFileSync(paths.errorLog(hestiaDir), 'utf8'), errorsBefore, 'no HestiaCP error-log line');
        assert.deepEqual(readdirSync(paths.tmp(hestiaDir)).filter((f) => f.startsWith('hb-')), [], 'no file left in /tmp');
        // A second ensure is a check only.
        const again = node.commandLog().length;
        assert.deepEqual(await host.ensureZone(z, zone), { created: false });
        assert.deepEqual(programs(again), ['v-list-dns-domains']);
      }
    });
  }

  it('killed after any command, the next dns.zone (ensureZone, then converge) leaves exactly the records, the zone rebuilt last', async () => {
    const steps = ['addDnsDomain', 'replaceDnsRecords', 'updateUserCounters', 'addDnsRecord'] as const;
    for (const step of steps) {
      const z = `crash-${step.toLowerCase()}-${randomBytes(3).toString('hex')}.example.org`;
      const zone = splitZone(z);
      const crashing = crashAfter(step);
      await assert.rejects(new HestiaZoneHost(crashing, { user: OWNER, nodeIp: NODE_IP, server: 'ns-emu' }).ensureZone(z, zone), /killed after/);
      // The rerun, as the dns.zone step does it.
      const host = new HestiaZoneHost(hestiaDriver(), { user: OWNER, nodeIp: NODE_IP, server: 'ns-emu' });
      const all = [...zone.nameservers.map((value) => ({ name: '@', type: 'NS' as const, value })), { name: '@', type: 'A' as const, value: zone.apex }, ...zone.records];
      assert.deepEqual(await host.ensureZone(z, zone), { created: false }, step);
      await convergeRecords(host, z, all);
      assert.deepEqual(rawKeys(OWNER, z), wantedKeys(zone), `killed after ${step}`);
      const log = node.commandLog().map((e) => e.argv ?? []);
      const touches = (i: number, names: string[]) => names.includes((log[i]![0] ?? '').split('/').pop()!) && log[i]!.includes(z);
      const lastIndex = (names: string[]) => log.reduce((at, _, i) => (touches(i, names) ? i : at), -1);
      const lastMove = lastIndex(['v-insert-dns-records']);
      const lastRebuild = lastIndex(['v-add-dns-record', 'v-delete-dns-record']);
      assert.ok(lastMove >= 0 || step === 'addDnsDomain', 'the records were moved in');
      assert.ok(lastRebuild > lastMove, `killed after ${step}: a rebuilding command ran after the records were moved in`);
    }
  });

  it('refuses, before creating anything, what Hestia would refuse in a record that goes in unchecked', async () => {
    const z = `refuse-${randomBytes(3).toString('hex')}.example.org`;
    const host = new HestiaZoneHost(hestiaDriver(), { user: OWNER, nodeIp: NODE_IP, server: 'ns-emu' });
    const cases: Array<[ZoneRecord, RegExp]> = [
      [{ name: 'sub', type: 'NS', value: `ns1.${z}` }, new RegExp(`IN A ns1\\.${z.replace(/\./g, '\\.')} does not exist`)],
      [{ name: 'sub', type: 'NS', value: 'example.net' }, /NS record example\.net should be a fully qualified domain name/],
      [{ name: 'long', type: 'TXT', value: 'x'.repeat(3000) }, /longer than 2048/],
    ];
    assert.equal(await host.zoneExists(z), false);
    for (const [rec, message] of cases) {
      const from = node.commandLog().length;
      await assert.rejects(host.ensureZone(z, { nameservers: NS, apex: '192.0.2.30', records: [rec] }), (err: unknown) => {
        assert.ok(err instanceof RecordRefusedError, String(err));
        assert.match(err.message, message);
        return true;
      });
      assert.deepEqual(programs(from), ['v-list-dns-domains'], 'the check only: nothing was created');
      assert.equal(hestiaRaw(OWNER, z), null);
    }
    // With its A, the in-zone name server goes in; SRV records are added one by one, checked by Hestia.
    await host.ensureZone(z, { nameservers: NS, apex: '192.0.2.30', records: [
      { name: 'sub', type: 'NS', value: `ns1.${z}` }, { name: 'ns1', type: 'A', value: '192.0.2.31' },
      { name: '_sip._tcp', type: 'SRV', value: '0 5060 sip.example.net', priority: 5 },
    ] });
    assert.deepEqual(rawKeys(OWNER, z), ['@ A 192.0.2.30', '@ NS ns1.example.net', '@ NS ns2.example.net', '_sip._tcp SRV 0 5060 sip.example.net.', 'ns1 A 192.0.2.31', `sub NS ns1.${z}`]);
  });

  it('falls back to one record at a time when the node ignored the records file', async () => {
    const z = `ignored-${randomBytes(3).toString('hex')}.example.org`;
    const zone = splitZone(z);
    // v-insert-dns-records exits 0 without a file: here the file never reaches it.
    const driver = hestiaDriver();
    driver.replaceDnsRecords = async (user, domain, _records: DnsConfRecord[]) => {
      assert.equal(runHestia(hestiaDir, 'v-insert-dns-records', [user, domain, '/tmp/hb-not-there']).code, 0);
    };
    await new HestiaZoneHost(driver, { user: OWNER, nodeIp: NODE_IP, server: 'ns-emu' }).ensureZone(z, zone);
    assert.deepEqual(rawKeys(OWNER, z), wantedKeys(zone));
  });
});

describe('HestiaCP driver: the records file', () => {
  it('holds each record as the very line v-add-dns-record writes', () => {
    const zone = `lines-${randomBytes(3).toString('hex')}.example.org`;
    assert.equal(runHestia(hestiaDir, 'v-add-dns-domain', [OWNER, zone, NODE_IP, ...NS]).code, 0);
    const recs: DnsConfRecord[] = [
      { id: 101, record: 'www', type: 'CNAME', value: zone }, { id: 102, record: '@', type: 'MX', value: `mail.${zone}`, priority: 20 },
      { id: 103, record: 'note', type: 'TXT', value: "it's; here" }, { id: 104, record: 'plain', type: 'TXT', value: 'single' },
      { id: 105, record: 'v6', type: 'AAAA', value: '2001:db8::1' }, { id: 106, record: '_sip._tcp', type: 'SRV', value: '0 5060 sip.example.net', priority: 5 },
      { id: 107, record: '@', type: 'CAA', value: '0 issue "letsencrypt.org"' }, { id: 108, record: 'short', type: 'A', value: '192.0.2.1', ttl: 300 },
      { id: 109, record: 'sub', type: 'NS', value: 'ns1.elsewhere.example.net.' }, { id: 110, record: 'mx2', type: 'MX', value: 'mx.example.net' },
    ];
    const stamp = { time: 'TIME', date: 'DATE' };
    const file = paths.userFile(hestiaDir, OWNER, `dns/${zone}.conf`);
    for (const r of recs) {
      const res = runHestia(hestiaDir, 'v-add-dns-record', [OWNER, zone, r.record, String(r.type), r.value, r.priority === undefined ? '' : String(r.priority), String(r.id), 'no', ...(r.ttl ? [String(r.ttl)] : [])]);
      assert.equal(res.code, 0, res.stdout);
      const written = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`ID='${r.id}' `))!;
      assert.equal(written.replace(/TIME='[^']*' DATE='[^']*'/, "TIME='TIME' DATE='DATE'"), dnsConfLine(r, 'r', stamp), `${r.record} ${r.type}`);
    }
    assert.throws(() => dnsConfLine({ id: 1, record: 'x', type: 'TXT', value: 'a\nb' }, 'records[0]', stamp), /records\[0\]\.value: must not contain control characters or newlines/);
    assert.throws(() => dnsConfLine({ id: 1, record: "x' y", type: 'A', value: '192.0.2.1' }, 'records[0]', stamp), /records\[0\]\.record/);
  });
});

/** A driver that dies (like a killed daemon) right after one of the publishing commands succeeded. */
function crashAfter(step: 'addDnsDomain' | 'replaceDnsRecords' | 'updateUserCounters' | 'addDnsRecord'): HestiaDriver {
  const d = hestiaDriver();
  const kill = () => { throw new Error(`killed after ${step}`); };
  if (step === 'addDnsDomain') {
    const f = d.addDnsDomain.bind(d);
    d.addDnsDomain = async (u: string, z: string, ip: string, ns?: string[], o?: RestartOption) => { await f(u, z, ip, ns, o); kill(); };
  } else if (step === 'replaceDnsRecords') {
    const f = d.replaceDnsRecords.bind(d);
    d.replaceDnsRecords = async (u, z, r) => { await f(u, z, r); kill(); };
  } else if (step === 'updateUserCounters') {
    const f = d.updateUserCounters.bind(d);
    d.updateUserCounters = async (u) => { await f(u); kill(); };
  } else {
    const f = d.addDnsRecord.bind(d);
    d.addDnsRecord = async (u, z, name, type, value, o) => { await f(u, z, name, type, value, o); kill(); };
  }
  return d;
}
