// A package change that switches a role (seed 000, issue 13 item 3), through the PHP module on the
// emulated fleet: a web-only Split service gets mail (placed on a mail node, its mail domain with
// DKIM, MX and mail records on every DNS server, an automatic SSL row for mail), then loses it
// again (a zero mail quota acts as an unticked box: the mail account and its records are gone);
// a package that would make the service Unified is refused and changes nothing.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { nodeSummary } from '../helpers/fleet.ts';
import { DIALECTS } from '../helpers/db.ts';
import { ok, startE2E, type E2E, type Order } from './whmcs.ts';

const DOMAIN = 'rolechange.example.com';

for (const dialect of DIALECTS) {
  describe(`package changes that switch a role (${dialect})`, () => {
    let e: E2E;
    const webOnly: Order = { serviceId: 6101, mode: 'split', domain: DOMAIN, product: { configoption4: '' } };
    const withMail: Order = { ...webOnly, product: { configoption4: 'on' } };
    const mailQuotaZero: Order = { ...webOnly, product: { configoption4: 'on', configoption7: '0' } };
    let names: { users: Record<string, string>; packages: Record<string, string> };

    const row = async () => e.db('mod_hostbridge_services').where('whmcs_service_id', webOnly.serviceId).first();
    const run = async (fn: string, o: Order) => {
      ok(await e.module(fn, o), `${fn} ${o.serviceId}`);
      const svc = await e.waitState(o.serviceId, ['active', 'failed'], 60_000);
      const chain = await e.db('mod_hostbridge_chains').where('service_id', (await row()).id).orderBy('id', 'desc').first('state', 'error', 'operation');
      assert.equal(chain.state, 'succeeded', `${fn}: chain ${chain.operation} ${chain.state} ${chain.error ?? ''}\n${JSON.stringify(await e.tasks(o.serviceId), null, 1).slice(0, 6000)}`);
      assert.equal(svc.state, 'active');
    };
    const mailHolders = () => Object.entries(nodeSummary(e.fleet)).filter(([, s]) => Object.values(s.mail).some((d) => d.includes(DOMAIN))).map(([n]) => n);
    const hestiaRecords = (zoneRecordsOf: string[]) => zoneRecordsOf.filter((r) => /^(@ MX|mail A|webmail CNAME|mail\._domainkey TXT)/.test(r));
    const pdnsMail = async () => {
      const z = await e.fleet.pdns!.zone(DOMAIN);
      assert.ok(z, 'the zone is on PowerDNS');
      return z.rrsets.filter((r) => r.type === 'MX' || r.name === `mail.${DOMAIN}.` || r.name === `mail._domainkey.${DOMAIN}.`).map((r) => `${r.name} ${r.type}`).sort();
    };
    const sslRoles = async () => (await e.db('mod_hostbridge_ssl').where('service_id', (await row()).id).pluck('role')).sort();
    const holdingRoles = async () => (await e.db('mod_hostbridge_service_servers').where('service_id', (await row()).id).pluck('role')).sort();

    before(async () => {
      e = await startE2E({ dialect, fleet: { web: 1, mail: 1, dns: 1, combo: 0 } });
      await run('CreateAccount', webOnly);
      names = JSON.parse((await row()).names);
      assert.deepEqual(mailHolders(), [], 'a web-only service has no mail domain');
    });
    after(async () => { await e?.close(); });

    test('ChangePackage ticking Mail places the mail role on a mail node and deploys it', async () => {
      await run('ChangePackage', withMail);
      const sum = nodeSummary(e.fleet);
      assert.deepEqual(mailHolders(), ['mail1'], 'the mail domain is on the mail node');
      assert.deepEqual(sum.mail1!.mail[names.users.mail!], [DOMAIN], 'under the service\'s own mail user');
      assert.ok(sum.mail1!.dkim.includes(DOMAIN), 'with DKIM');
      assert.ok(sum.mail1!.packages.includes(names.packages.mail!), 'the mail package exists');
      assert.deepEqual(sum.web1!.web[names.users.web!], [DOMAIN], 'the website stays');
      const mailIp = e.fleet.nodes.find((n) => n.name === 'mail1')!.ip;
      for (const ns of e.fleet.dns) {
        const recs = hestiaRecords(sum[ns.name]!.records[DOMAIN] ?? []);
        assert.ok(recs.some((r) => r.startsWith('@ MX')), `MX on ${ns.name}: ${recs.join('; ')}`);
        assert.ok(recs.includes(`mail A ${mailIp}`), `mail A on ${ns.name}: ${recs.join('; ')}`);
        assert.ok(recs.some((r) => r.startsWith('mail._domainkey TXT')), `DKIM on ${ns.name}`);
      }
      assert.deepEqual(await pdnsMail(), [`${DOMAIN}. MX`, `mail.${DOMAIN}. A`, `mail._domainkey.${DOMAIN}. TXT`].sort());
      assert.deepEqual(await sslRoles(), ['mail', 'web'], 'automatic SSL for the mail role is seeded');
      const plan = JSON.parse((await row()).params);
      assert.equal(plan.product.roles.mail, true);
      assert.equal(typeof plan.placement.mail, 'number');
      assert.ok((await holdingRoles()).includes('mail'), 'the mail account is held');
    });

    test('ChangePackage to a package whose mail quota is 0 removes the mail role after the change', async () => {
      await run('ChangePackage', mailQuotaZero);
      const sum = nodeSummary(e.fleet);
      assert.deepEqual(mailHolders(), [], 'the mail domain is gone from every node');
      assert.ok(!sum.mail1!.users.includes(names.users.mail!), 'the mail user is deleted');
      assert.ok(!sum.mail1!.packages.includes(names.packages.mail!), 'the mail package is deleted');
      assert.deepEqual(sum.web1!.web[names.users.web!], [DOMAIN], 'the website stays');
      for (const ns of e.fleet.dns) {
        const all = sum[ns.name]!.records[DOMAIN] ?? [];
        assert.deepEqual(hestiaRecords(all), [], `no mail records on ${ns.name}`);
        assert.ok(all.some((r) => r.startsWith('@ A')), `the zone stays on ${ns.name}`);
      }
      assert.deepEqual(await pdnsMail(), [], 'no mail records on PowerDNS');
      assert.deepEqual(await sslRoles(), ['web'], 'the mail role\'s automatic SSL row is dropped');
      assert.deepEqual(await holdingRoles(), ['dns', 'dns', 'web'], 'the mail holding is gone');
      const plan = JSON.parse((await row()).params);
      assert.equal(plan.product.roles.mail, false);
      assert.equal(plan.placement.mail, null);
    });

    test('ChangePackage from Split to Unified is refused and changes nothing', async () => {
      const before = await row();
      const chains = await e.db('mod_hostbridge_chains').where('service_id', before.id).count({ n: '*' }).first();
      const sum = JSON.stringify(nodeSummary(e.fleet), (k, v) => (k === 'state' ? undefined : v));
      const r = await e.module('ChangePackage', { ...withMail, product: { configoption1: 'unified', configoption4: 'on' } });
      assert.match(String(r), /mode is locked[\s\S]*nothing was changed/);
      const afterRow = await row();
      assert.equal(afterRow.params, before.params, 'the stored plan is unchanged');
      assert.deepEqual(await e.db('mod_hostbridge_chains').where('service_id', before.id).count({ n: '*' }).first(), chains, 'no chain was queued');
      assert.equal(JSON.stringify(nodeSummary(e.fleet), (k, v) => (k === 'state' ? undefined : v)), sum, 'no node changed');
    });
  });
}
