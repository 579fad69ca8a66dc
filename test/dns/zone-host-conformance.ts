// The zone-host conformance suite: what every implementation of daemon/dns/zone-host.ts must do,
// as node:test cases run against a fixture per backend (test/dns/zone-host.test.ts). Each case
// checks through the contract AND through the backend's own state (the fixture's `raw`), so a host
// that lists wrongly cannot hide a wrong change. Adding a backend means passing this suite.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { classifyError, InputError } from '../../daemon/common/errors.ts';
import { reverseName } from '../../daemon/dns/reverse.ts';
import { convergeRecords, missingRecords } from '../../daemon/dns/converge.ts';
import { RecordRefusedError, ZoneMissingError, type ZoneHost } from '../../daemon/dns/zone-host.ts';
import type { ListedRecord, ZoneRecord } from '../../daemon/dns/records.ts';

/** A record as the backend itself holds it, read without the zone host (names relative, host names without the dot, TXT unquoted). */
export interface RawRecord { name: string; type: string; value: string; priority?: number; ttl?: number; suspended: boolean }

export interface ZoneHostFixture {
  /** The zone host under test. */
  host: ZoneHost;
  /** The zone's records straight from the backend's own state, or null when the backend has no such zone (for this host's account). */
  raw(zone: string): Promise<RawRecord[] | null>;
  /** How many zones of this name the backend holds (all accounts). */
  zoneCount(zone: string): Promise<number>;
  /** Remote calls made so far (commands run, HTTP requests sent). */
  calls(): number;
  /** A zone host for the same backend that cannot be reached (closed port). */
  unreachable(): ZoneHost;
  /** Whether the backend can suspend a whole zone (HestiaCP can; PowerDNS cannot). */
  canSuspendZone: boolean;
  /** Adds one record behind the host's back, even when an equal one exists; absent where the backend cannot hold duplicates (PowerDNS). */
  addDuplicate?(zone: string, record: ZoneRecord): Promise<void>;
  /** A change this backend refuses though the contract's checks pass (e.g. the zone's last A on HestiaCP). */
  refusedChange(host: ZoneHost, zone: string): Promise<unknown>;
  /** Records a new zone holds besides its NS and apex A (HestiaCP keeps `@ A <node IP>` in a zone made without an apex). */
  seededWithoutApex: RawRecord[];
}

export const NS = ['ns1.example.net', 'ns2.example.net'];

const zoneName = (tag: string) => `${tag}-${randomBytes(3).toString('hex')}.example.org`;
const key = (r: { name: string; type: string; value: string; priority?: number }) => `${r.name} ${r.type}${r.priority !== undefined ? ` ${r.priority}` : ''} ${r.value}`;
const keys = (rs: Array<{ name: string; type: string; value: string; priority?: number }>) => rs.map(key).sort();
const count = (rs: RawRecord[], r: ZoneRecord) => rs.filter((x) => key(x) === key({ ...r, ...(r.type === 'MX' ? { priority: r.priority ?? 10 } : {}) })).length;

function nsOf(): ZoneRecord[] {
  return NS.map((value) => ({ name: '@', type: 'NS', value }));
}

export function zoneHostConformance(backend: string, fixture: () => ZoneHostFixture): void {
  describe(`zone-host conformance: ${backend}`, () => {
    let fx: ZoneHostFixture;
    const f = () => (fx ??= fixture());
    const raw = async (z: string) => {
      const r = await f().raw(z);
      assert.ok(r, `zone ${z} exists in the backend`);
      return r;
    };

    it('ensureZone twice makes one zone holding its NS and apex A, and nothing from a template', async () => {
      const z = zoneName('twice');
      assert.equal(await f().host.zoneExists(z), false);
      assert.equal((await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.80' })).created, true);
      assert.deepEqual(await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.80' }), { created: false });
      assert.equal(await f().zoneCount(z), 1);
      assert.equal(await f().host.zoneExists(z), true);
      const want = keys([...nsOf(), { name: '@', type: 'A', value: '192.0.2.80' }]);
      assert.deepEqual(keys(await raw(z)), want, 'the backend holds the NS and the apex A only');
      assert.deepEqual(keys(await f().host.listRecords(z)), want, 'and lists them so');
    });

    it('a new zone comes back with its records as the backend read them, equal to a listing, in no more calls than before', async () => {
      const z = zoneName('listed');
      const records: ZoneRecord[] = [
        { name: 'www', type: 'CNAME', value: z },
        { name: '@', type: 'MX', value: `mail.${z}`, priority: 10 },
        { name: 'mail', type: 'A', value: '192.0.2.95' },
        { name: '@', type: 'TXT', value: 'v=spf1 a mx -all' },
      ];
      const made = await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.94', records });
      assert.equal(made.created, true);
      assert.ok(made.listed, 'the creation says what the zone holds');
      const canon = (rs: ListedRecord[]) => rs.map((r) => JSON.stringify(r, Object.keys(r).sort())).sort();
      assert.deepEqual(canon(made.listed!), canon(await f().host.listRecords(z)));
      const want = keys([...nsOf(), { name: '@', type: 'A', value: '192.0.2.94' }, ...records]);
      assert.deepEqual(keys(made.listed!), want);
      assert.deepEqual(keys(await raw(z)), want);
    });

    it('convergeRecords hands on the listing it read after its adds, equal to a fresh one, and none once it removed something', async () => {
      const z = zoneName('converge');
      await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.96' });
      const want: ZoneRecord[] = [{ name: 'site', type: 'A', value: '192.0.2.97' }];
      const owns = (r: ListedRecord) => r.name === 'site';
      const added = await convergeRecords(f().host, z, want, { owns });
      assert.equal(added.added, 1);
      assert.ok(added.listed);
      const canon = (rs: ListedRecord[]) => rs.map((r) => JSON.stringify(r, Object.keys(r).sort())).sort();
      assert.deepEqual(canon(added.listed!), canon(await f().host.listRecords(z)));
      assert.deepEqual(await missingRecords(f().host, z, want, added.listed), []);
      const moved = await convergeRecords(f().host, z, [{ name: 'site', type: 'A', value: '192.0.2.98' }], { owns });
      assert.deepEqual([moved.added, moved.removed, moved.listed], [1, 1, undefined], 'after a removal the caller lists again');
      assert.deepEqual(keys((await raw(z)).filter((r) => r.name === 'site')), ['site A 192.0.2.98']);
    });

    it('ensureRecords twice leaves exactly one of each and reports what it added', async () => {
      const z = zoneName('ensure');
      await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.81' });
      const recs: ZoneRecord[] = [
        { name: 'www', type: 'A', value: '192.0.2.82' },
        { name: '@', type: 'MX', value: 'mail.example.org', priority: 10 },
        { name: 'note', type: 'TXT', value: 'hello; world' },
      ];
      assert.deepEqual(await f().host.ensureRecords(z, recs), { added: 3, removed: 0 });
      assert.deepEqual(await f().host.ensureRecords(z, recs), { added: 0, removed: 0 });
      const r = await raw(z);
      for (const rec of recs) assert.equal(count(r, rec), 1, `${key(rec)} once in ${JSON.stringify(r)}`);
      // A given record that already exists is not added again, even listed twice in one call.
      assert.deepEqual(await f().host.ensureRecords(z, [recs[0]!, recs[0]!]), { added: 0, removed: 0 });
      assert.equal(count(await raw(z), recs[0]!), 1);
    });

    it('ensureRecords applies a TTL when one is given', async () => {
      const z = zoneName('ttl');
      await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.83' });
      await f().host.ensureRecords(z, [{ name: 'short', type: 'A', value: '192.0.2.84', ttl: 300 }]);
      assert.equal((await raw(z)).find((x) => x.name === 'short')!.ttl, 300);
      assert.equal((await f().host.listRecords(z)).find((x) => x.name === 'short')!.ttl, 300);
      assert.deepEqual(await f().host.ensureRecords(z, [{ name: 'short', type: 'A', value: '192.0.2.84', ttl: 600 }]), { added: 1, removed: 1 }, 'a new TTL replaces the record');
      assert.deepEqual((await raw(z)).filter((x) => x.name === 'short').map((x) => x.ttl), [600]);
    });

    it('deleteRecords removes an exact record, all of a name and type, or all of a name, and nothing else', async () => {
      const z = zoneName('delete');
      await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.85' });
      await f().host.ensureRecords(z, [
        { name: 'a', type: 'A', value: '192.0.2.1' }, { name: 'a', type: 'A', value: '192.0.2.2' }, { name: 'a', type: 'TXT', value: 'keep-a' },
        { name: 'b', type: 'A', value: '192.0.2.3' }, { name: 'b', type: 'TXT', value: 'b-text' }, { name: 'c', type: 'A', value: '192.0.2.4' },
      ]);
      assert.equal(await f().host.deleteRecords(z, [{ name: 'a', type: 'A', value: '192.0.2.1' }]), 1);
      assert.deepEqual(keys((await raw(z)).filter((x) => x.name === 'a')), ['a A 192.0.2.2', 'a TXT keep-a']);
      assert.equal(await f().host.deleteRecords(z, [{ name: 'a', type: 'A' }]), 1);
      assert.deepEqual(keys((await raw(z)).filter((x) => x.name === 'a')), ['a TXT keep-a']);
      assert.equal(await f().host.deleteRecords(z, [{ name: 'b' }]), 2);
      assert.equal(await f().host.deleteRecords(z, [{ name: 'b' }, { name: 'nothing', type: 'A' }]), 0, 'deleting what is gone is fine');
      assert.deepEqual(keys((await raw(z)).filter((x) => x.name !== '@')), ['a TXT keep-a', 'c A 192.0.2.4']);
      assert.deepEqual(keys((await raw(z)).filter((x) => x.name === '@')), keys([...nsOf(), { name: '@', type: 'A', value: '192.0.2.85' }]));
    });

    it('lists records in the contract\'s shape: relative names, host names without the dot, TXT unquoted, MX priority apart, state', async () => {
      const z = zoneName('list');
      await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.86' });
      await f().host.ensureRecords(z, [
        { name: 'mail', type: 'A', value: '192.0.2.87' },
        { name: '@', type: 'MX', value: 'mail.example.org', priority: 20 },
        { name: '_dmarc', type: 'TXT', value: 'v=DMARC1; p=quarantine; pct=100' },
        { name: 'www', type: 'CNAME', value: 'Example.ORG' },
      ]);
      const listed = await f().host.listRecords(z);
      const one = (name: string, type: string) => listed.filter((x) => x.name === name && x.type === type);
      assert.deepEqual(one('@', 'MX').map((x) => [x.value, x.priority]), [['mail.example.org', 20]]);
      assert.deepEqual(one('_dmarc', 'TXT').map((x) => x.value), ['v=DMARC1; p=quarantine; pct=100']);
      assert.deepEqual(one('www', 'CNAME').map((x) => x.value), ['example.org'], 'host names in lower case, no trailing dot');
      assert.deepEqual(one('@', 'NS').map((x) => x.value).sort(), NS);
      assert.ok(listed.every((x) => x.suspended === false && x.ttl > 0 && !x.name.endsWith('.') && x.type !== 'SOA'), JSON.stringify(listed));
      assert.deepEqual(keys(listed), keys(await raw(z)), 'the listing is what the backend holds');
    });

    it('suspends and unsuspends the records of one name, and only them', async () => {
      const z = zoneName('suspend');
      await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.88' });
      await f().host.ensureRecords(z, [
        { name: 'alice', type: 'A', value: '192.0.2.89' }, { name: 'alice', type: 'TXT', value: 'alice-text' }, { name: 'bob', type: 'A', value: '192.0.2.90' },
      ]);
      assert.equal(await f().host.setSuspended(z, { name: 'alice' }, true), 2);
      assert.equal(await f().host.setSuspended(z, { name: 'alice' }, true), 0, 'a second suspend changes nothing');
      const state = (rs: Array<RawRecord | ListedRecord>) => rs.filter((x) => x.name !== '@').map((x) => `${x.name} ${x.type} ${x.suspended}`).sort();
      assert.deepEqual(state(await raw(z)), ['alice A true', 'alice TXT true', 'bob A false']);
      assert.deepEqual(state(await f().host.listRecords(z)), ['alice A true', 'alice TXT true', 'bob A false']);
      // A suspended record still counts as there: ensuring it adds nothing and leaves it suspended.
      assert.deepEqual(await f().host.ensureRecords(z, [{ name: 'alice', type: 'A', value: '192.0.2.89' }]), { added: 0, removed: 0 });
      assert.equal(await f().host.setSuspended(z, { name: 'alice', type: 'TXT' }, false), 1);
      assert.deepEqual(state(await raw(z)), ['alice A true', 'alice TXT false', 'bob A false']);
      assert.equal(await f().host.setSuspended(z, { name: 'alice' }, false), 1);
      assert.deepEqual(state(await raw(z)), ['alice A false', 'alice TXT false', 'bob A false']);
    });

    it('suspends and unsuspends a whole zone where the backend can, and says so where it cannot', async () => {
      // A backend without whole-zone suspension (PowerDNS) must not pretend to have it: callers test for the method.
      if (!f().host.setZoneSuspended) {
        assert.equal(f().canSuspendZone, false, `${backend} offers no setZoneSuspended, but its fixture says it can suspend a zone`);
        return;
      }
      assert.equal(f().canSuspendZone, true);
      const setZoneSuspended = f().host.setZoneSuspended!.bind(f().host);
      const z = zoneName('zsusp');
      await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.99' });
      await f().host.ensureRecords(z, [{ name: 'a', type: 'A', value: '192.0.2.1' }, { name: 'b', type: 'TXT', value: 'b-text' }]);
      await f().host.setSuspended(z, { name: 'b' }, true);
      assert.equal(await setZoneSuspended(z, true), true);
      assert.equal(await setZoneSuspended(z, true), false, 'a second suspend changes nothing');
      assert.ok((await raw(z)).every((x) => x.suspended), 'every record of the zone is suspended');
      assert.equal(await f().host.zoneExists(z), true, 'a suspended zone still exists');
      assert.equal(await setZoneSuspended(z, false), true);
      assert.ok((await raw(z)).every((x) => !x.suspended), 'every record is active again');
      await assert.rejects(setZoneSuspended(zoneName('nozone'), true), ZoneMissingError);
    });

    it('deleteZone twice is fine; afterwards the zone is missing, clearly', async () => {
      const z = zoneName('gone');
      await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.91' });
      assert.deepEqual(await f().host.deleteZone(z), { deleted: true });
      assert.deepEqual(await f().host.deleteZone(z), { deleted: false });
      assert.equal(await f().raw(z), null);
      assert.equal(await f().zoneCount(z), 0);
      assert.equal(await f().host.zoneExists(z), false);
      for (const act of [() => f().host.listRecords(z), () => f().host.ensureRecords(z, [{ name: 'x', type: 'A', value: '192.0.2.1' }]), () => f().host.deleteRecords(z, [{ name: 'x' }])]) {
        await assert.rejects(act(), (err: unknown) => {
          assert.ok(err instanceof ZoneMissingError, String(err));
          assert.match((err as Error).message, new RegExp(`zone ${z.replace(/\./g, '\\.')} does not exist`));
          assert.equal(classifyError(err), 'terminal');
          return true;
        });
      }
    });

    it('a forward zone takes A, AAAA, MX, TXT, CNAME and NS records', async () => {
      const z = zoneName('forward');
      await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.92' });
      const recs: ZoneRecord[] = [
        { name: 'www', type: 'CNAME', value: z },
        { name: 'v6', type: 'AAAA', value: '2001:DB8:0:0:0:0:0:1' },
        { name: 'mail', type: 'A', value: '192.0.2.93' },
        { name: '@', type: 'MX', value: `mail.${z}`, priority: 10 },
        { name: '@', type: 'TXT', value: 'v=spf1 a mx ip4:192.0.2.93 -all' },
        { name: 'mail._domainkey', type: 'TXT', value: `v=DKIM1; k=rsa; p=${'A'.repeat(300)}` },
        { name: 'sub', type: 'NS', value: 'ns1.elsewhere.example.net' },
      ];
      assert.deepEqual(await f().host.ensureRecords(z, recs), { added: 7, removed: 0 });
      const want = keys([...nsOf(), { name: '@', type: 'A', value: '192.0.2.92' },
        ...recs.map((r) => (r.type === 'AAAA' ? { ...r, value: '2001:db8::1' } : r))]);
      assert.deepEqual(keys(await raw(z)), want);
      assert.deepEqual(keys(await f().host.listRecords(z)), want);
      assert.deepEqual(await f().host.ensureRecords(z, recs), { added: 0, removed: 0 }, 'the same records in another spelling are the same records');
    });

    it('a reverse IPv4 zone holds PTR records', async () => {
      const a = reverseName(`198.51.${Math.floor(Math.random() * 250)}.10`, 24);
      const b = reverseName(a.fqdn.split('.').slice(1, 4).reverse().join('.') + '.11', 24);
      assert.equal(b.zone, a.zone);
      assert.equal((await f().host.ensureZone(a.zone, { nameservers: NS })).created, true);
      const ptrs: ZoneRecord[] = [{ name: a.name, type: 'PTR', value: 'host10.example.org' }, { name: `${b.fqdn}.`, type: 'PTR', value: 'host11.example.org.' }];
      assert.deepEqual(await f().host.ensureRecords(a.zone, ptrs), { added: 2, removed: 0 });
      assert.deepEqual(await f().host.ensureRecords(a.zone, ptrs), { added: 0, removed: 0 });
      const want = keys([...nsOf(), ...f().seededWithoutApex, { name: '10', type: 'PTR', value: 'host10.example.org' }, { name: '11', type: 'PTR', value: 'host11.example.org' }]);
      assert.deepEqual(keys(await raw(a.zone)), want);
      assert.deepEqual(keys(await f().host.listRecords(a.zone)), want);
      assert.equal(await f().host.deleteRecords(a.zone, [{ name: '11', type: 'PTR' }]), 1);
      assert.deepEqual((await raw(a.zone)).filter((x) => x.type === 'PTR').map((x) => x.name), ['10']);
      assert.deepEqual(await f().host.deleteZone(a.zone), { deleted: true });
    });

    it('a reverse IPv6 nibble zone holds a PTR record', async () => {
      const ip = `2001:db8:${randomBytes(2).toString('hex')}:1::53`;
      const r = reverseName(ip, 64);
      assert.match(r.zone, /\.8\.b\.d\.0\.1\.0\.0\.2\.ip6\.arpa$/);
      await f().host.ensureZone(r.zone, { nameservers: NS });
      assert.deepEqual(await f().host.ensureRecords(r.zone, [{ name: r.name, type: 'PTR', value: 'v6host.example.org' }]), { added: 1, removed: 0 });
      const ptr = (await raw(r.zone)).filter((x) => x.type === 'PTR');
      assert.deepEqual(ptr.map((x) => [x.name, x.value]), [['3.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0', 'v6host.example.org']]);
      assert.deepEqual((await f().host.listRecords(r.zone)).filter((x) => x.type === 'PTR').map((x) => [x.name, x.value]), [[r.name, 'v6host.example.org']]);
      await f().host.deleteZone(r.zone);
    });

    it('refuses bad input with an error naming it, before any remote call, and changes nothing', async () => {
      const z = zoneName('bad');
      await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.94' });
      const before = keys(await raw(z));
      const calls = f().calls();
      const refusals: Array<[string, () => Promise<unknown>, RegExp]> = [
        ['a value with a newline', () => f().host.ensureRecords(z, [{ name: 'ok', type: 'A', value: '192.0.2.95' }, { name: 'x', type: 'TXT', value: 'line one\nline two' }]), /^records\[1\]\.value: .*newline/],
        ['a name outside the zone', () => f().host.ensureRecords(z, [{ name: 'www.other.example.', type: 'A', value: '192.0.2.95' }]), /^records\[0\]\.name: .*outside the zone/],
        ['a PTR that is no host name', () => f().host.ensureRecords(z, [{ name: 'p', type: 'PTR', value: '192.0.2.95' }]), /^records\[0\]\.value: /],
        ['an A that is no IPv4 address', () => f().host.ensureRecords(z, [{ name: 'a', type: 'A', value: '2001:db8::1' }]), /^records\[0\]\.value: .*not an IPv4/],
        ['a type outside the contract', () => f().host.ensureRecords(z, [{ name: 'a', type: 'HINFO' as 'A', value: 'x' }]), /^records\[0\]\.type: /],
        ['a CNAME at the apex', () => f().host.ensureRecords(z, [{ name: '@', type: 'CNAME', value: 'example.net' }]), /^records\[0\]\.name: /],
        ['a delete outside the zone', () => f().host.deleteRecords(z, [{ name: 'www.other.example.' }]), /^selectors\[0\]\.name: .*outside the zone/],
        ['a zone name with a newline', () => f().host.ensureZone('x.example.org\nother.org', { nameservers: NS }), /^zone: /],
        ['a zone without name servers', () => f().host.ensureZone(zoneName('nons'), { nameservers: [] }), /^nameservers: /],
      ];
      for (const [what, act, message] of refusals) {
        await assert.rejects(act(), (err: unknown) => {
          assert.ok(err instanceof InputError, `${what}: ${String(err)}`);
          assert.match((err as Error).message, message, what);
          assert.equal(classifyError(err), 'terminal', what);
          return true;
        }, what);
      }
      assert.equal(f().calls(), calls, 'no remote call was made for bad input');
      assert.deepEqual(keys(await raw(z)), before, 'the zone is unchanged');
    });

    it('a change the backend refuses comes back as a RecordRefusedError naming it, and is terminal', async () => {
      const z = zoneName('refused');
      await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.96' });
      await assert.rejects(f().refusedChange(f().host, z), (err: unknown) => {
        assert.ok(err instanceof RecordRefusedError, String(err));
        assert.equal(err.zone, z);
        assert.match(err.message, new RegExp(`refused .+ in zone ${z.replace(/\./g, '\\.')}: \\S`));
        assert.equal(classifyError(err), 'terminal');
        return true;
      });
    });

    it('an unreachable server is a retryable failure', async () => {
      const down = f().unreachable();
      for (const act of [() => down.zoneExists('x.example.org'), () => down.ensureRecords('x.example.org', [{ name: 'a', type: 'A', value: '192.0.2.1' }])]) {
        await assert.rejects(act(), (err: unknown) => {
          assert.equal(classifyError(err), 'retryable', String(err));
          return true;
        });
      }
    });

    it('ensureRecords removes duplicates of a given record that the backend holds', async () => {
      const z = zoneName('dups');
      if (!f().addDuplicate) {
        // A backend that cannot hold two equal records (PowerDNS keeps an RRset): ensuring one twice still leaves one.
        await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.97' });
        const rec: ZoneRecord = { name: 'twin', type: 'A', value: '192.0.2.98' };
        await f().host.ensureRecords(z, [rec, rec]);
        await f().host.ensureRecords(z, [rec]);
        assert.equal(count(await raw(z), rec), 1);
        return;
      }
      await f().host.ensureZone(z, { nameservers: NS, apex: '192.0.2.97' });
      const rec: ZoneRecord = { name: 'twin', type: 'A', value: '192.0.2.98' };
      await f().host.ensureRecords(z, [rec]);
      await f().addDuplicate!(z, rec);
      await f().addDuplicate!(z, rec);
      assert.equal(count(await raw(z), rec), 3);
      assert.deepEqual(await f().host.ensureRecords(z, [rec]), { added: 0, removed: 2 });
      assert.equal(count(await raw(z), rec), 1);
    });
  });
}
