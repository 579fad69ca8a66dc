// The hosting panel's DNS tab on an emulated Split fleet whose group publishes zones on a HestiaCP
// DNS node (ns1) AND the real PowerDNS, a service deployed through the signed API with a hosting plan
// of 3 records of its own, and the actions run through the panel's dispatcher and the engine:
//  - the rules (pure): each field checked by the record's type and named; the managed records
//    cannot be shadowed; a CNAME stands alone; the limit's words;
//  - refusals name the field, and then nothing is queued and no DNS server changes;
//  - add, edit and delete land on every DNS server of the group (ns1 and PowerDNS), the managed
//    records untouched, and a redeploy of the zone keeps the customer's records;
//  - a suspended service refuses, unsuspended it accepts; the plan's limit refuses a fourth record;
//  - an SRV record with a non-zero weight is published on ns1 and answered by PowerDNS;
//  - a publish that fails (ns1's HestiaCP refuses the value) saves nothing: the panel lists the record
//    as it was and the next converge undoes it where it was published; with ns1 down, ns1's state
//    is pending and the change waits; once ns1 is back the retry converges and the record is saved;
//  - the partial escapes every value and writes the forms the module expects.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Resolver } from 'node:dns/promises';
import Handlebars from 'handlebars';
import type { Daemon } from '../../daemon/runtime.ts';
import { T } from '../../daemon/common/tables.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { redeployZone } from '../../daemon/services/zone-redeploy.ts';
import { checkCustomerRecord, conflict, dnsTab, recordLimit, withChange, type StoredRecord } from '../../daemon/services/hosting-panel/dns.ts';
import { zoneRecords } from '../../daemon/pipelines/records.ts';
import { call } from '../helpers/api.ts';
import { waitFor, type TestDb } from '../helpers/db.ts';
import { nodeSummary, type EmulatedFleet, type RegisteredFleet } from '../helpers/fleet.ts';
import { panelHelpers, startPanelWorld, type PanelWorld } from '../helpers/hosting-panel.ts';
import { TEMPLATE_DIR } from '../../daemon/pages/render.ts';

const WHMCS_ID = 8851;
const CLIENT = 7;
const DOMAIN = 'dns8851.example';

describe('the DNS tab\'s rules (pure)', () => {
  const zone = 'shop.example.com';
  const refuses = (fields: Record<string, string>, field: string, message: RegExp) => assert.throws(() => checkCustomerRecord(zone, fields), (err: unknown) => {
    assert.ok(err instanceof InputError, String(err));
    assert.equal(err.field, field, err.message);
    assert.match(err.message, message);
    return true;
  });
  test('each value is checked by its type, the field named', () => {
    assert.deepEqual(checkCustomerRecord(zone, { name: 'App', type: 'a', value: '192.0.2.7' }), { name: 'app', type: 'A', value: '192.0.2.7' });
    assert.deepEqual(checkCustomerRecord(zone, { name: '', type: 'MX', value: 'MX.Other.Example.', priority: '0', ttl: '3600' }), { name: '@', type: 'MX', value: 'mx.other.example', priority: 0, ttl: 3600 });
    assert.deepEqual(checkCustomerRecord(zone, { name: 'v6.shop.example.com.', type: 'AAAA', value: '2001:DB8:0::7' }), { name: 'v6', type: 'AAAA', value: '2001:db8::7' });
    assert.deepEqual(checkCustomerRecord(zone, { name: '@', type: 'TXT', value: '"google-site-verification=abc"' }), { name: '@', type: 'TXT', value: 'google-site-verification=abc' });
    assert.deepEqual(checkCustomerRecord(zone, { name: '_sip._tcp', type: 'SRV', value: '5 5060 sip.other.example', priority: '10' }), { name: '_sip._tcp', type: 'SRV', value: '5 5060 sip.other.example', priority: 10 });
    assert.deepEqual(checkCustomerRecord(zone, { name: '@', type: 'CAA', value: '0 issue "letsencrypt.org"' }), { name: '@', type: 'CAA', value: '0 issue "letsencrypt.org"' });
    refuses({ name: 'x', type: 'NS', value: 'ns.other.example' }, 'type', /must be one of A, AAAA, CNAME, MX, TXT, SRV, CAA/);
    refuses({ name: 'x', type: 'PTR', value: 'h.other.example' }, 'type', /must be one of/);
    refuses({ name: 'a b', type: 'A', value: '192.0.2.1' }, 'name', /must not contain spaces/);
    refuses({ name: 'x.other.example.', type: 'A', value: '192.0.2.1' }, 'name', /outside the zone/);
    refuses({ name: '$(reboot)', type: 'A', value: '192.0.2.1' }, 'name', /labels are letters, digits/);
    refuses({ name: 'x', type: 'A', value: '192.0.2.300' }, 'value', /is not an IPv4 address/);
    refuses({ name: 'x', type: 'A', value: '2001:db8::1' }, 'value', /is not an IPv4 address/);
    refuses({ name: 'x', type: 'AAAA', value: '192.0.2.1' }, 'value', /is not an IPv6 address/);
    refuses({ name: 'x', type: 'CNAME', value: 'not a host' }, 'value', /printable|not a fully qualified host name/);
    refuses({ name: 'x', type: 'CNAME', value: '192.0.2.1' }, 'value', /is an address, not a host name/);
    refuses({ name: '@', type: 'CNAME', value: 'other.example' }, 'name', /cannot sit at the zone apex/);
    refuses({ name: 'x', type: 'TXT', value: 'say "hi"' }, 'value', /must not contain/);
    refuses({ name: 'x', type: 'TXT', value: 'a\\b' }, 'value', /must not contain/);
    refuses({ name: 'x', type: 'TXT', value: 'line\nbreak' }, 'value', /control characters/);
    refuses({ name: 'x', type: 'TXT', value: 't'.repeat(2001) }, 'value', /at most 2000/);
    refuses({ name: 'x', type: 'TXT', value: 'caf\u00e9' }, 'value', /printable ASCII/);
    refuses({ name: 'x', type: 'MX', value: 'mx.other.example' }, 'priority', /is required for MX records/);
    refuses({ name: 'x', type: 'MX', value: 'mx.other.example', priority: '70000' }, 'priority', /from 0 to 65535/);
    refuses({ name: 'x', type: 'A', value: '192.0.2.1', priority: '5' }, 'priority', /only MX and SRV records have a priority/);
    refuses({ name: 'x', type: 'SRV', value: '5 sip.other.example', priority: '1' }, 'value', /weight port target/);
    refuses({ name: 'x', type: 'CAA', value: '0 issue letsencrypt.org' }, 'value', /flags tag "value"/);
    refuses({ name: 'x', type: 'CAA', value: '0 badtag "x"' }, 'value', /flags tag "value"/);
    refuses({ name: 'x', type: 'A', value: '192.0.2.1', ttl: '30' }, 'ttl', /from 60 to 604800/);
    refuses({ name: 'x', type: 'A', value: '192.0.2.1', ttl: '1e3' }, 'ttl', /whole number/);
    refuses({ name: 'x', type: 'A', value: '' }, 'value', /is required/);
  });
  test('the managed records are not shadowed, a CNAME stands alone, a record is not there twice', () => {
    const managed = zoneRecords({ domain: zone, webIp: '192.0.2.11', mailIp: '192.0.2.21', nameservers: ['ns1.example.net'], dkim: 'v=DKIM1; p=abc' });
    const mine: StoredRecord[] = [{ id: 1, name: 'app', type: 'A', value: '192.0.2.7', priority: null, ttl: null }, { id: 2, name: 'docs', type: 'CNAME', value: 'pages.other.example', priority: null, ttl: null }];
    const c = (r: { name: string; type: string; value: string; priority?: number }) => conflict(r, managed, mine)?.why ?? null;
    assert.match(c({ name: '@', type: 'A', value: '192.0.2.9' })!, /the zone apex A is managed by your hosting/);
    assert.match(c({ name: '@', type: 'MX', value: 'mx.other.example', priority: 5 })!, /MX is managed/);
    assert.match(c({ name: 'mail', type: 'A', value: '192.0.2.9' })!, /"mail" A is managed/);
    assert.match(c({ name: 'www', type: 'A', value: '192.0.2.9' })!, /"www" is a CNAME managed by your hosting/);
    assert.match(c({ name: 'webmail', type: 'TXT', value: 'x' })!, /"webmail" is a CNAME managed/);
    assert.match(c({ name: '_dmarc', type: 'TXT', value: 'v=DMARC1; p=none' })!, /"_dmarc" TXT is managed/);
    assert.match(c({ name: 'mail._domainkey', type: 'TXT', value: 'v=DKIM1; p=x' })!, /TXT is managed/);
    assert.match(c({ name: '@', type: 'TXT', value: 'v=spf1 -all' })!, /the SPF record/);
    assert.match(c({ name: 'mail', type: 'CNAME', value: 'other.example' })!, /a CNAME must stand alone/);
    assert.equal(c({ name: '@', type: 'TXT', value: 'google-site-verification=abc' }), null, 'a verification text beside the SPF');
    assert.match(c({ name: 'app', type: 'A', value: '192.0.2.7' })!, /you already have this record/);
    assert.equal(c({ name: 'app', type: 'A', value: '192.0.2.8' }), null, 'a second A at one name');
    assert.match(c({ name: 'app', type: 'CNAME', value: 'other.example' })!, /a CNAME must stand alone/);
    assert.match(c({ name: 'docs', type: 'TXT', value: 'x' })!, /already has a CNAME/);
    // Without mail, the apex MX is the customer's to set.
    assert.equal(conflict({ name: '@', type: 'MX', value: 'mx.other.example', priority: 5 }, zoneRecords({ domain: zone, webIp: '192.0.2.11', mailIp: null, nameservers: ['ns1.example.net'], dkim: null }), []), null);
    assert.deepEqual(withChange(mine, { change: 'edit', record: 1, name: 'app', type: 'A', value: '192.0.2.8' }).map((r) => r.value), ['pages.other.example', '192.0.2.8']);
    assert.deepEqual(withChange(mine, { change: 'delete', record: 2, name: 'docs', type: 'CNAME', value: 'pages.other.example' }).map((r) => r.name), ['app']);
  });
  test('the limit\'s words', () => {
    assert.deepEqual(recordLimit('unlimited', 9), { used: 9, max: null, full: null });
    assert.equal(recordLimit(0, 0).full, 'Your plan includes no DNS records of your own.');
    assert.equal(recordLimit(1, 1).full, 'Your plan includes 1 DNS record of your own and it is in use.');
    assert.equal(recordLimit(3, 2).full, null);
    assert.equal(recordLimit(3, 3).full, 'Your plan includes 3 DNS records of your own and all 3 are in use.');
  });
});

describe('the DNS tab on an emulated HestiaCP DNS node and the real PowerDNS', () => {
  let world: PanelWorld;
  let tdb: TestDb;
  let daemon: Daemon;
  let fleet: EmulatedFleet;
  let reg: RegisteredFleet;
  let serviceId: number;
  let dnsUser: string;

  const { act, chainEnds, view: viewOf, refusedWith } = panelHelpers(() => world, WHMCS_ID, CLIENT);
  /** ns1's records of the zone, "name TYPE value" sorted. */
  const onNs1 = () => [...(nodeSummary(fleet).ns1!.records[DOMAIN] ?? [])].sort();
  /** PowerDNS's records of the zone, "name TYPE content" (names relative), sorted. */
  const onPdns = async () => {
    const z = await fleet.pdns!.zone(DOMAIN);
    assert.ok(z, 'PowerDNS holds the zone');
    return z.rrsets.filter((r) => r.type !== 'SOA').flatMap((r) => r.records.map((x) => `${r.name === `${DOMAIN}.` ? '@' : r.name.slice(0, -(DOMAIN.length + 2))} ${r.type} ${x.content}`)).sort();
  };
  const has = (list: string[], re: RegExp) => list.some((l) => re.test(l));
  const stored = async () => (await tdb.db(T.zoneRecords).where('service_id', serviceId).orderBy('id').select('name', 'type', 'value', 'priority', 'ttl')).map((r) => `${r.name} ${r.type}${r.priority !== null ? ` ${r.priority}` : ''} ${r.value}${r.ttl !== null ? ` ttl=${r.ttl}` : ''}`);
  const view = () => viewOf(dnsTab);
  const setting = async (k: string, v: string) => { await writeSetting(tdb.db, k, v); await daemon.core.settings.refresh(); };
  /** Refused with an InputError naming `field`; no chain, and neither DNS server changed. */
  const refused = refusedWith(async () => [onNs1(), await onPdns()], 'no DNS server changed');
  const idOf = async (name: string, type: string) => String((await tdb.db(T.zoneRecords).where({ service_id: serviceId, name, type }).first('id')).id);

  before(async () => {
    world = await startPanelWorld('mysql', 'hb-hp-dns-', { web: 1, mail: 1, dns: 1, combo: 0, pdns: true }, WHMCS_ID, {
      service: { domain: DOMAIN }, hostingPlan: { name: 'dns-three', dns: { records: 3 } }, configOptions: { configoption16: 'dns-three' },
      settings: [['retry.base_ms', '100'], ['retry.cap_ms', '300'], ['retry.jitter', '0']],
    });
    ({ tdb, daemon, fleet, reg } = world);
    const { svc } = world;
    serviceId = svc.id;
    dnsUser = svc.plan!.names.users.dns!;
    assert.deepEqual([...svc.plan!.placement.dns].sort(), [reg.ids.ns1!, reg.pdns!].sort(), 'the zone is on ns1 and PowerDNS');
  });
  after(async () => {
    await world?.close();
  });

  test('the tab: the managed records read-only, none of the customer\'s, 0 of 3 in use, both servers published', async () => {
    assert.ok(dnsUser);
    const v = await view();
    assert.deepEqual({ zone: v.zone, empty: v.empty, limitText: v.limitText, full: v.full, change: v.change }, { zone: DOMAIN, empty: true, limitText: '0 of 3 in use', full: null, change: null });
    assert.deepEqual(v.managed.map((m: { name: string; type: string }) => `${m.name} ${m.type}`).sort(), ['@ A', '@ MX', '@ NS', '@ NS', '@ TXT', '_dmarc TXT', 'mail A', 'mail._domainkey TXT', 'webmail CNAME', 'www CNAME']);
    assert.deepEqual(v.servers.map((s: { server: string; state: string }) => `${s.server} ${s.state}`).sort(), ['ns1 published', 'pdns published']);
  });

  test('bad fields and shadowing are refused naming the field; nothing is queued and no server changes', async () => {
    await refused('dns-record-add', { name: 'app', type: 'A', value: '999.1.1.1' }, 'value', /is not an IPv4 address/);
    await refused('dns-record-add', { name: 'app', type: 'NS', value: 'ns.evil.example' }, 'type', /must be one of/);
    await refused('dns-record-add', { name: 'app;rm', type: 'A', value: '192.0.2.7' }, 'name', /labels are letters/);
    await refused('dns-record-add', { name: 'x', type: 'TXT', value: 'x"; v-delete-user admin; "' }, 'value', /must not contain/);
    await refused('dns-record-add', { name: 'x', type: 'MX', value: 'mx.other.example' }, 'priority', /is required/);
    await refused('dns-record-add', { name: 'www', type: 'A', value: '192.0.2.7' }, 'name', /"www" is a CNAME managed by your hosting/);
    await refused('dns-record-add', { name: '@', type: 'A', value: '192.0.2.7' }, 'name', /the zone apex A is managed by your hosting/);
    await refused('dns-record-add', { name: '@', type: 'TXT', value: 'v=spf1 include:evil.example -all' }, 'name', /the SPF record/);
    await refused('dns-record-edit', { record: '999', name: 'x', type: 'A', value: '192.0.2.7' }, 'record', /you have no DNS record "999"/);
    await refused('dns-record-delete', { record: 'abc' }, 'record', /you have no DNS record "abc"/);
    assert.deepEqual(await stored(), []);
  });

  test('add lands on ns1 and PowerDNS (A, apex TXT beside the SPF, MX with priority 0 elsewhere), the managed records untouched', async () => {
    const before = [onNs1(), await onPdns()];
    const adds: Array<Record<string, string>> = [{ name: 'app', type: 'A', value: '192.0.2.77', ttl: '600' }, { name: '@', type: 'TXT', value: 'google-site-verification=xyz' }, { name: 'in', type: 'MX', value: 'mx.other.example', priority: '0' }];
    for (const f of adds) {
      const r = await act('dns-record-add', f);
      assert.equal(await chainEnds(r.chainId), 'succeeded', JSON.stringify(f));
    }
    assert.deepEqual(await stored(), ['app A 192.0.2.77 ttl=600', '@ TXT google-site-verification=xyz', 'in MX 0 mx.other.example']);
    const ns1 = onNs1();
    const pdns = await onPdns();
    assert.ok(has(ns1, /^app A 192\.0\.2\.77$/) && has(ns1, /^@ TXT .*google-site-verification=xyz/) && has(ns1, /^in MX mx\.other\.example\.?$/), ns1.join('\n'));
    assert.ok(has(pdns, /^app A 192\.0\.2\.77$/) && has(pdns, /^@ TXT "google-site-verification=xyz"$/) && has(pdns, /^in MX 0 mx\.other\.example\.$/), pdns.join('\n'));
    assert.equal((await fleet.pdns!.zone(DOMAIN))!.rrsets.find((r) => r.name === `app.${DOMAIN}.` && r.type === 'A')!.ttl, 600);
    for (const [i, list] of [ns1, pdns].entries()) for (const old of before[i]!) assert.ok(list.includes(old), `a managed record kept: ${old}`);
    const v = await view();
    assert.deepEqual(v.records.map((r: { name: string; type: string; servers: Array<{ state: string }> }) => `${r.name} ${r.type} ${r.servers.map((s) => s.state).join(',')}`), ['@ TXT published,published', 'app A published,published', 'in MX published,published']);
    assert.deepEqual({ limitText: v.limitText, full: v.full }, { limitText: '3 of 3 in use', full: 'Your plan includes 3 DNS records of your own and all 3 are in use.' });
    await refused('dns-record-add', { name: 'four', type: 'A', value: '192.0.2.4' }, '', /^Your plan includes 3 DNS records of your own and all 3 are in use\.$/);
    await refused('dns-record-edit', { record: await idOf('app', 'A'), name: 'app', type: 'A', value: '192.0.2.77', ttl: '600' }, 'value', /is unchanged/);
    await refused('dns-record-edit', { record: await idOf('app', 'A'), name: 'in', type: 'CNAME', value: 'other.example' }, 'name', /a CNAME must stand alone/);
  });

  test('edit and delete land on both servers; a redeploy of the zone keeps the customer\'s records', async () => {
    const e = await act('dns-record-edit', { record: await idOf('app', 'A'), name: 'app', type: 'A', value: '192.0.2.78' });
    assert.equal(await chainEnds(e.chainId), 'succeeded');
    for (const list of [onNs1(), await onPdns()]) {
      assert.ok(has(list, /^app A 192\.0\.2\.78$/) && !has(list, /192\.0\.2\.77/), list.join('\n'));
    }
    const d = await act('dns-record-delete', { record: await idOf('in', 'MX') });
    assert.equal(await chainEnds(d.chainId), 'succeeded');
    for (const list of [onNs1(), await onPdns()]) assert.ok(!has(list, /^in MX/), list.join('\n'));
    assert.deepEqual(await stored(), ['app A 192.0.2.78', '@ TXT google-site-verification=xyz']);
    const rd = await redeployZone(tdb.db, WHMCS_ID);
    assert.equal(await chainEnds(rd.chain_id), 'succeeded');
    for (const list of [onNs1(), await onPdns()]) assert.ok(has(list, /^app A 192\.0\.2\.78$/) && has(list, /google-site-verification=xyz/), list.join('\n'));
  });

  test('a suspended service refuses every write; unsuspended it accepts them again', async () => {
    await tdb.db(T.services).where('id', serviceId).update({ state: 'suspended' });
    try {
      for (const [action, fields] of [['dns-record-add', { name: 'x', type: 'A', value: '192.0.2.5' }], ['dns-record-edit', { record: await idOf('app', 'A'), name: 'app', type: 'A', value: '192.0.2.5' }], ['dns-record-delete', { record: await idOf('app', 'A') }]] as const) {
        await refused(action, fields, '', /while suspended, client-area write actions are blocked/);
      }
    } finally {
      await tdb.db(T.services).where('id', serviceId).update({ state: 'active' });
    }
    // A non-zero weight: HestiaCP takes it only as "priority weight port target" (issue 13).
    const r = await act('dns-record-add', { name: '_sip._tcp', type: 'SRV', value: '5 5060 sip.other.example', priority: '10' });
    assert.equal(await chainEnds(r.chainId), 'succeeded');
    assert.ok(has(await onPdns(), /^_sip\._tcp SRV 10 5 5060 sip\.other\.example\.$/));
    assert.ok(has(onNs1(), /^_sip\._tcp SRV 5 5060 sip\.other\.example\.$/), onNs1().join('\n'));
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${fleet.pdns!.server.dnsPort}`]);
    assert.deepEqual(await resolver.resolveSrv(`_sip._tcp.${DOMAIN}`), [{ name: 'sip.other.example', port: 5060, priority: 10, weight: 5 }]);
  });

  test('a publish that fails saves nothing; with ns1 down its state is pending and the retry converges once it is back', async () => {
    const ns1 = fleet.node('ns1');
    const id = await idOf('_sip._tcp', 'SRV');
    // HestiaCP refuses an SRV target with fewer than three dots (is_dns_fqnd counts the trailing
    // one), which PowerDNS takes: the publish fails for good on ns1 after PowerDNS took it.
    const r = await act('dns-record-edit', { record: id, name: '_sip._tcp', type: 'SRV', value: '5 5060 other.example', priority: '10' });
    assert.match(await chainEnds(r.chainId), /^failed: ns1 .*refused _sip\._tcp SRV.*fully qualified domain name/);
    assert.ok(has(await onPdns(), /^_sip\._tcp SRV 10 5 5060 other\.example\.$/), 'PowerDNS published it before the chain failed');
    assert.deepEqual(await stored(), ['app A 192.0.2.78', '@ TXT google-site-verification=xyz', '_sip._tcp SRV 10 5 5060 sip.other.example'], 'nothing saved');
    const failed = await view();
    assert.match(failed.change, /could not be published on every DNS server and was not saved/);
    assert.deepEqual(failed.records.filter((x: { type: string }) => x.type === 'SRV').map((x: { value: string }) => x.value), ['5 5060 sip.other.example'], 'the panel lists the record as it was');
    assert.equal(failed.servers.find((s: { server: string }) => s.server === 'ns1').state, 'failed');
    // The next converge (a redeploy) brings PowerDNS back to what is stored.
    const rd = await redeployZone(tdb.db, WHMCS_ID);
    assert.equal(await chainEnds(rd.chain_id), 'succeeded');
    assert.ok(!has(await onPdns(), /^_sip\._tcp SRV 10 5 5060 other\./) && has(await onPdns(), /^_sip\._tcp SRV 10 5 5060 sip\.other\.example\.$/));

    // Retries on: the change waits for ns1, which shows pending; back, it converges and is saved.
    await setting('retry.max_attempts', '0');
    await ns1.setDown(true);
    let chainId = 0;
    try {
      const r = await act('dns-record-delete', { record: id });
      chainId = r.chainId;
      await waitFor('a failed attempt on ns1', async () => {
        const t = await tdb.db(T.tasks).where({ chain_id: chainId, type: 'dns.record-publish', target: `server:${reg.ids.ns1}` }).first('id');
        return t && (await tdb.db(T.attempts).where('task_id', t.id).first('attempt')) ? t : null;
      }, 20_000, 50);
      const waiting = await view();
      assert.match(waiting.change, /^Deleting _sip\._tcp SRV 10 5 5060 sip\.other\.example: waiting for every DNS server/);
      assert.equal(waiting.servers.find((s: { server: string }) => s.server === 'ns1').state, 'pending');
      assert.ok(waiting.records.some((x: { name: string }) => x.name === '_sip._tcp'), 'still listed until every server holds the change');
    } finally {
      await ns1.setDown(false);
    }
    assert.equal(await chainEnds(chainId), 'succeeded');
    for (const list of [onNs1(), await onPdns()]) assert.ok(!has(list, /SRV/), list.join('\n'));
    assert.deepEqual(await stored(), ['app A 192.0.2.78', '@ TXT google-site-verification=xyz']);
    const v = await view();
    assert.deepEqual(v.servers.map((s: { state: string }) => s.state), ['published', 'published']);
    assert.equal(v.change, null);
  });

  test('the partial renders the records and the forms, every value escaped; the panel renders the tab through the signed API', async () => {
    const hb = Handlebars.create();
    for (const name of ['hp-form', 'hp-dns']) hb.registerPartial(name, fs.readFileSync(path.join(TEMPLATE_DIR, 'whmcs', `_${name}.hbs`), 'utf8'));
    const v = await view();
    // A row as a hostile store might hold it: shown as text, never markup.
    v.records.push({ id: 99, name: '<script>x()</script>', type: 'MX', value: '"><img src=x>', priority: 0, ttl: null, hasPriority: true, servers: v.servers });
    const html = hb.compile('{{> hp-dns}}')(v, { data: { root: { action: 'clientarea.php?action=productdetails&id=1&modop=custom&a=HostingAction', token: 'abc123' } } });
    assert.ok(!html.includes('<script>x()') && !html.includes('<img src=x>'), 'hostile values are escaped');
    assert.match(html, /name="hb_action" value="dns-record-edit"><input type="hidden" name="token" value="abc123">\s*<input type="hidden" name="hbf_record" value="99"><input type="hidden" name="hbf_type" value="MX">/);
    assert.match(html, /<input type="number" name="hbf_priority" value="0"/);
    assert.match(html, /name="hb_action" value="dns-record-delete"/);
    assert.match(html, /id="hp-dns-add"/);
    assert.match(html, /data-managed="www CNAME"/);
    assert.match(html, /<td class="hp-dns-ttl">default<\/td>/);
    assert.ok(!/name="hbf_[^"]*[^a-z0-9_"][^"]*"/.test(html), 'field names are hbf_<a-z0-9_>');
    const full = hb.compile('{{> hp-dns}}')({ ...v, full: 'Your plan includes 3 DNS records of your own and all 3 are in use.' }, { data: { root: { action: 'x', token: 't' } } });
    assert.ok(!full.includes('id="hp-dns-add"'));
    assert.match(full, /<p id="hp-dns-full">Your plan includes 3 DNS records/);
    const page = await call(daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel`, { tab: 'dns', client_id: CLIENT });
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.match(JSON.stringify(page.body), /hp-dns-list/);
    const bad = await call(daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel/actions`, { action: 'dns-record-add', client_id: CLIENT, fields: { name: 'x', type: 'A', value: '"><script>' } });
    assert.equal(bad.status, 422, JSON.stringify(bad.body));
    assert.match(JSON.stringify(bad.body), /value/);
  });
});
