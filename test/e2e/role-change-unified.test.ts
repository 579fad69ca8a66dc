// A package change that switches a role of a Unified service (seed 000, issue 13 item 3), through
// the PHP module on the emulated fleet and the real PowerDNS: one Hestia user holds web and mail on
// one node, so a role switched on adds its domain to that user (mail with DKIM, MX on every DNS
// server) and a role switched off removes only its domain (web: with the user's databases and cron
// jobs); the user and the other role stay. A removal step run again finds nothing and changes
// nothing; Unified → Split and a package with neither web nor mail are refused with nothing changed.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { inTx } from '../../daemon/db/connect.ts';
import { enqueueChainIn } from '../../daemon/engine/chains.ts';
import { plannedStep } from '../../daemon/pipelines/steps.ts';
import { runHestia } from '../emulator/hestia/index.ts';
import { addDbHost } from '../emulator/hestia/commands/databases.ts';
import { nodeSummary } from '../helpers/fleet.ts';
import { DIALECTS, waitFor } from '../helpers/db.ts';
import { ok, startE2E, type E2E, type Order } from './whmcs.ts';

const MAIL_DOMAIN = 'uni-mail.example.com';
const WEB_DOMAIN = 'uni-web.example.com';

for (const dialect of DIALECTS) {
  describe(`package changes that switch a role of a Unified service (${dialect})`, () => {
    let e: E2E;
    const webOnly: Order = { serviceId: 6301, mode: 'unified', domain: MAIL_DOMAIN, product: { configoption4: '' } };
    const withMail: Order = { ...webOnly, product: { configoption4: 'on' } };
    const mailQuotaZero: Order = { ...webOnly, product: { configoption4: 'on', configoption7: '0' } };
    const both: Order = { serviceId: 6302, mode: 'unified', domain: WEB_DOMAIN };
    const mailOnly: Order = { ...both, product: { configoption3: '' } };
    const resolver = new Resolver({ timeout: 2000, tries: 1 });

    const row = async (o: Order) => e.db('mod_hostbridge_services').where('whmcs_service_id', o.serviceId).first();
    const namesOf = async (o: Order): Promise<{ users: Record<string, string>; packages: Record<string, string> }> => JSON.parse((await row(o)).names);
    const lastChain = async (o: Order) => e.db('mod_hostbridge_chains').where('service_id', (await row(o)).id).orderBy('id', 'desc').first('id', 'state', 'error', 'operation');
    const run = async (fn: string, o: Order) => {
      ok(await e.module(fn, o), `${fn} ${o.serviceId}`);
      const svc = await e.waitState(o.serviceId, ['active', 'failed'], 60_000);
      const chain = await lastChain(o);
      assert.equal(chain.state, 'succeeded', `${fn}: chain ${chain.operation} ${chain.state} ${chain.error ?? ''}\n${JSON.stringify(await e.tasks(o.serviceId), null, 1).slice(0, 6000)}`);
      assert.equal(svc.state, 'active');
    };
    const combo = () => e.fleet.node('combo1');
    const on = () => nodeSummary(e.fleet).combo1!;
    const ns1Records = (domain: string) => nodeSummary(e.fleet).ns1!.records[domain] ?? [];
    const mailRecords = (recs: string[]) => recs.filter((r) => /^(@ MX|mail A|webmail CNAME|mail\._domainkey TXT)/.test(r));
    const mx = async (domain: string) => resolver.resolveMx(domain).then((a) => a.map((r) => `${r.priority} ${r.exchange}`), (err) => {
      if (err.code === 'ENODATA' || err.code === 'ENOTFOUND') return [];
      throw err;
    });
    /** What a v-list-* json command lists for the user on the unified node, by key. */
    const listed = (command: string, user: string) => {
      const r = runHestia(combo().dir, command, [user, 'json']);
      assert.equal(r.code, 0, `${command}: ${r.stdout}`);
      return Object.keys(JSON.parse(r.stdout || '{}'));
    };
    const sslRoles = async (o: Order) => (await e.db('mod_hostbridge_ssl').where('service_id', (await row(o)).id).pluck('role')).sort();
    const holdingRoles = async (o: Order) => (await e.db('mod_hostbridge_service_servers').where('service_id', (await row(o)).id).pluck('role')).sort();
    const chainCount = async (o: Order) => Number((await e.db('mod_hostbridge_chains').where('service_id', (await row(o)).id).count({ n: '*' }).first())!.n);
    // The node's files as the test reads them, without the per-run `state` dump (its timestamps).
    const fleetNow = () => JSON.stringify(nodeSummary(e.fleet), (k, v) => (k === 'state' ? undefined : v));

    before(async () => {
      // One node with Web and Mail (where Unified services go), a HestiaCP DNS node and PowerDNS.
      e = await startE2E({ dialect, fleet: { web: 0, mail: 0, dns: 1, combo: 1 } });
      resolver.setServers([`127.0.0.1:${e.fleet.pdns!.server.dnsPort}`]);
      await run('CreateAccount', webOnly);
      await run('CreateAccount', both);
      const n = await namesOf(webOnly);
      assert.deepEqual(on().web[n.users.all!], [MAIL_DOMAIN], 'the web-only service has its website on the unified node');
      assert.equal(on().mail[n.users.all!], undefined, 'and no mail domain');
    });
    after(async () => { await e?.close(); });

    test('ChangePackage ticking Mail adds the mail domain to the same Unified user, MX on every DNS server', async () => {
      const n = await namesOf(webOnly);
      await run('ChangePackage', withMail);
      const sum = on();
      assert.deepEqual(sum.mail[n.users.all!], [MAIL_DOMAIN], 'the mail domain is under the Unified user');
      assert.ok(sum.dkim.includes(MAIL_DOMAIN), 'with DKIM');
      assert.deepEqual(sum.web[n.users.all!], [MAIL_DOMAIN], 'the website stays under the same user');
      assert.ok(!sum.users.some((u) => u.endsWith('-mail')), 'no second account was made');
      assert.notEqual(sum.state.packages[n.packages.all!]!.MAIL_DOMAINS, '0', 'the Unified package allows the mail domain now');
      const recs = mailRecords(ns1Records(MAIL_DOMAIN));
      assert.ok(recs.some((r) => r.startsWith('@ MX')), `MX on ns1: ${recs.join('; ')}`);
      assert.ok(recs.includes(`mail A ${combo().ip}`), `mail A on ns1 names the unified node: ${recs.join('; ')}`);
      assert.ok(recs.some((r) => r.startsWith('mail._domainkey TXT')), 'DKIM on ns1');
      const answered = await mx(MAIL_DOMAIN);
      assert.equal(answered.length, 1, `PowerDNS answers one MX: ${answered.join(', ')}`);
      assert.match(answered[0]!, new RegExp(`^\\d+ mail\\.${MAIL_DOMAIN.replace(/\./g, '\\.')}$`));
      assert.deepEqual(await sslRoles(webOnly), ['mail', 'web'], 'automatic SSL for mail is seeded');
      assert.deepEqual(await holdingRoles(webOnly), ['all', 'dns', 'dns'], 'still one account (and the zone on each DNS server)');
      const plan = JSON.parse((await row(webOnly)).params);
      assert.equal(plan.product.roles.mail, true);
      assert.deepEqual([plan.placement.unified, plan.placement.mail], [e.reg.combo[0], null]);
    });

    test('ChangePackage with a mail quota of 0 removes the mail domain and its mailboxes; the user and the website stay', async () => {
      const n = await namesOf(webOnly);
      assert.equal(runHestia(combo().dir, 'v-add-mail-account', [n.users.all!, MAIL_DOMAIN, 'info', 'Mailb0x-pass!']).code, 0);
      assert.deepEqual(on().mailboxes[MAIL_DOMAIN], ['info']);
      await run('ChangePackage', mailQuotaZero);
      const sum = on();
      assert.equal(sum.mail[n.users.all!], undefined, 'the mail domain is gone from the node');
      assert.equal(sum.mailboxes[MAIL_DOMAIN], undefined, 'with its mailbox');
      assert.ok(sum.users.includes(n.users.all!), 'the Unified user stays');
      assert.deepEqual(sum.web[n.users.all!], [MAIL_DOMAIN], 'the website stays');
      assert.equal(sum.state.packages[n.packages.all!]!.MAIL_DOMAINS, '0', 'the package no longer allows mail');
      assert.equal(sum.state.users[n.users.all!]!.conf.U_MAIL_DOMAINS, '0', 'HestiaCP counts no mail domain');
      const all = ns1Records(MAIL_DOMAIN);
      assert.deepEqual(mailRecords(all), [], `no mail records on ns1: ${all.join('; ')}`);
      assert.ok(all.some((r) => r.startsWith('@ A')), 'the zone stays on ns1');
      const z = await e.fleet.pdns!.zone(MAIL_DOMAIN);
      assert.ok(z, 'the zone stays on PowerDNS');
      assert.deepEqual(z.rrsets.filter((r) => r.type === 'MX' || r.name.startsWith('mail.')).map((r) => `${r.name} ${r.type}`), [], 'no mail records on PowerDNS');
      // PowerDNS may answer from its packet cache for a few seconds.
      await waitFor('PowerDNS to answer no MX', async () => (await mx(MAIL_DOMAIN)).length === 0, 30_000, 500);
      assert.deepEqual(await sslRoles(webOnly), ['web'], 'the mail SSL row is dropped');
      assert.deepEqual(await holdingRoles(webOnly), ['all', 'dns', 'dns']);
    });

    test('the mail removal run again after it finished (as after a crash) succeeds and changes nothing', async () => {
      const n = await namesOf(webOnly);
      const svcId = (await row(webOnly)).id;
      const before = fleetNow();
      for (const attempt of [1, 2]) {
        const step = plannedStep('mail.domain-delete', 'drop.mail.domain', `server:${e.reg.combo[0]}`, { server: e.reg.combo[0]!, user: n.users.all!, domain: MAIL_DOMAIN });
        const { chainId } = await inTx(e.db, (trx) => enqueueChainIn(trx, { serviceId: svcId, operation: `rerun-${attempt}`, steps: [step] }));
        const chain = await waitFor(`rerun ${attempt}`, async () => {
          const c = await e.db('mod_hostbridge_chains').where('id', chainId).first('state', 'error');
          return c.state === 'running' || c.state === 'waiting' ? null : c;
        }, 30_000, 50);
        assert.equal(chain.state, 'succeeded', `rerun ${attempt}: ${chain.error}`);
        const out = (await e.db('mod_hostbridge_task_attempts').join('mod_hostbridge_tasks', 'mod_hostbridge_tasks.id', 'mod_hostbridge_task_attempts.task_id')
          .where('mod_hostbridge_tasks.chain_id', chainId).pluck('output')).join('\n');
        assert.match(out, /mail domain uni-mail\.example\.com is already gone/);
        assert.equal(fleetNow(), before, `rerun ${attempt} changed nothing on the nodes`);
      }
    });

    test('Web switched off on a web+mail Unified service: the site, its databases and cron jobs go; mail stays; then web comes back', async () => {
      const n = await namesOf(both);
      const user = n.users.all!;
      addDbHost(combo().dir, { type: 'mysql' });
      assert.equal(runHestia(combo().dir, 'v-add-database', [user, 'shop', 'shop', 'Shop-Pw-5678', 'mysql']).code, 0);
      assert.equal(runHestia(combo().dir, 'v-add-cron-job', [user, '*/5', '*', '*', '*', '*', 'echo hi']).code, 0);
      assert.equal(runHestia(combo().dir, 'v-add-mail-account', [user, WEB_DOMAIN, 'sales', 'Mailb0x-pass!']).code, 0);
      assert.deepEqual([listed('v-list-databases', user), listed('v-list-cron-jobs', user)], [[`${user}_shop`], ['1']]);
      await run('ChangePackage', mailOnly);
      let sum = on();
      assert.equal(sum.web[user], undefined, 'the website is gone');
      assert.deepEqual(listed('v-list-databases', user), [], 'its database is gone');
      assert.deepEqual(listed('v-list-cron-jobs', user), [], 'its cron job is gone');
      assert.ok(sum.users.includes(user), 'the Unified user stays');
      assert.deepEqual(sum.mail[user], [WEB_DOMAIN], 'the mail domain stays');
      assert.deepEqual(sum.mailboxes[WEB_DOMAIN], ['sales'], 'with its mailbox');
      assert.equal(sum.state.packages[n.packages.all!]!.WEB_DOMAINS, '0');
      assert.ok(mailRecords(ns1Records(WEB_DOMAIN)).some((r) => r.startsWith('@ MX')), 'MX stays on ns1');
      assert.deepEqual(await sslRoles(both), ['mail'], 'the web SSL row is dropped');

      await run('ChangePackage', both);
      sum = on();
      assert.deepEqual(sum.web[user], [WEB_DOMAIN], 'the website is back under the same user');
      assert.deepEqual(sum.mail[user], [WEB_DOMAIN], 'mail untouched');
      assert.deepEqual(sum.mailboxes[WEB_DOMAIN], ['sales']);
      assert.ok(ns1Records(WEB_DOMAIN).includes(`@ A ${combo().ip}`), 'the apex names the node');
      assert.deepEqual(await sslRoles(both), ['mail', 'web']);
      assert.deepEqual(await holdingRoles(both), ['all', 'dns', 'dns']);
    });

    test('Unified → Split, and a package with neither web nor mail, are refused and change nothing', async () => {
      for (const [product, why] of [
        [{ configoption1: 'split', configoption4: 'on' }, /mode is locked at creation: service 6301 is unified, the new package says split; nothing was changed/],
        // Refused when the package is read, before the service is looked at.
        [{ configoption3: '', configoption4: '' }, /HTTP 422: product\.configoption3: neither Web nor Mail is enabled/],
      ] as const) {
        const before = { row: await row(webOnly), chains: await chainCount(webOnly), fleet: fleetNow() };
        const r = await e.module('ChangePackage', { ...webOnly, product: { ...product } });
        assert.match(String(r), why);
        assert.deepEqual(await row(webOnly), before.row, 'the stored plan is unchanged');
        assert.equal(await chainCount(webOnly), before.chains, 'no chain was queued');
        assert.equal(fleetNow(), before.fleet, 'no node changed');
      }
    });
  });
}
