// The Web settings tab's changes that must outlive the chain that made them (issue 13), on an
// emulated Split fleet whose zone is published on a HestiaCP DNS node (ns1) AND the real PowerDNS,
// the actions run through the panel's dispatcher and the engine (MariaDB):
//  - an alias under the service's domain gets an A record with the web server's address on ns1 and
//    in PowerDNS (asked on its DNS port), shown per DNS server as the DNS tab shows the zone; the
//    DNS tab then refuses to shadow it; a package change and a redeploy of the zone keep it; removed
//    with the alias, it is gone from both. An alias with the customer's own record at its name, or
//    outside the domain (put on the node by an admin), gets none: the tab says to point it at the
//    server's address. After a redeploy (which starts the web domain afresh) the record left behind is
//    listed and can be removed.
//  - the PHP template the customer picks stays through a package change (same plan) and a redeploy
//    (hard reset); when the web server no longer offers it, the plan's default applies and the
//    web.templates step's log says why;
//  - a terminated service's web settings row is deleted with its other rows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { T } from '../../daemon/common/tables.ts';
import { redeployZone } from '../../daemon/services/zone-redeploy.ts';
import { serviceByWhmcsId } from '../../daemon/services/store.ts';
import { webTab } from '../../daemon/services/hosting-panel/web.ts';
import { saveTemplateChoice, webSettings } from '../../daemon/services/hosting-panel/web-settings.ts';
import { call, createBody } from '../helpers/api.ts';
import { waitFor } from '../helpers/db.ts';
import { nodeSummary, type EmulatedNode } from '../helpers/fleet.ts';
import { panelHelpers, startPanelWorld, type PanelWorld } from '../helpers/hosting-panel.ts';
import { paths, runHestia } from '../emulator/hestia/index.ts';
import { readObjects } from '../emulator/hestia/conf.ts';
import { setWebTemplates, TYPICAL_WEB_TEMPLATES } from '../emulator/hestia/commands/web-templates.ts';

const WHMCS_ID = 8861;
const CLIENT = 7;
const DOMAIN = 'persist8861.example';

describe('web aliases in DNS and the customer\'s PHP template, kept by later chains (mysql)', () => {
  let world: PanelWorld;
  let web: EmulatedNode;
  let user: string;
  let webIp: string;
  let planId = 0;
  const resolver = new Resolver({ timeout: 2000, tries: 1 });

  const { act, chainEnds, view, refusedWith } = panelHelpers(() => world, WHMCS_ID, CLIENT);
  const onNs1 = () => [...(nodeSummary(world.fleet).ns1!.records[DOMAIN] ?? [])].sort();
  const onWeb = () => readObjects(paths.userFile(web.dir, user, 'web.conf')).find((o) => o.get('DOMAIN') === DOMAIN)!;
  /** PowerDNS's answer for an A name; [] when it has none. */
  const answer = async (name: string) => {
    try {
      return await resolver.resolve4(name);
    } catch (err) {
      if (['ENOTFOUND', 'ENODATA'].includes((err as { code?: string }).code ?? '')) return [];
      throw err;
    }
  };
  const refusedDns = refusedWith(async () => [onNs1(), await answer(`blog.${DOMAIN}`)], 'no DNS server changed');
  const lastChain = async (operation: string) => {
    const svc = await serviceByWhmcsId(world.tdb.db, WHMCS_ID);
    await waitFor(`the ${operation} to finish`, async () => {
      const open = await world.tdb.db(T.chains).where('service_id', svc!.id).whereIn('state', ['running', 'waiting']).first('id');
      return open ? null : true;
    }, 90_000, 50);
    const last = await world.tdb.db(T.chains).where('service_id', svc!.id).orderBy('id', 'desc').first('id', 'operation', 'state');
    const errors = (await world.tdb.db(T.tasks).where('chain_id', last.id).pluck('last_error')).filter(Boolean);
    assert.deepEqual([last.operation, last.state], [operation, 'succeeded'], errors.join('; '));
    return Number(last.id);
  };
  /** The web.templates step's log lines in a chain. */
  const templateLog = async (chainId: number) => {
    const t = await world.tdb.db(T.tasks).where({ chain_id: chainId, type: 'web.templates' }).first('id');
    assert.ok(t, 'the chain has a web.templates step');
    const rows = await world.tdb.db(T.attempts).where('task_id', t.id).orderBy('attempt');
    return rows.map((r: Record<string, unknown>) => String(r.output ?? '')).join('\n');
  };
  const changePackage = async () => {
    const r = await call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/change-package`, {
      product: createBody(WHMCS_ID, world.reg.groupId, {}, { configoption16: String(planId) }).product, config_options: {}, custom_fields: {}, product_id: 3,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return lastChain('change-package');
  };

  before(async () => {
    world = await startPanelWorld('mysql', 'hb-hp-webkeep-', { web: 1, mail: 1, dns: 1, combo: 0, pdns: true }, WHMCS_ID, {
      service: { domain: DOMAIN }, hostingPlan: { name: 'web-keep', web: { aliases: 6 } }, configOptions: (id) => { planId = id; return { configoption16: String(id) }; },
    });
    const { svc, fleet, reg } = world;
    user = svc.plan!.names.users.web!;
    web = fleet.node(reg.names[svc.plan!.placement.web!]!);
    webIp = (await world.tdb.db(T.servers).where('id', svc.plan!.placement.web!).first('ip')).ip;
    assert.deepEqual([...svc.plan!.placement.dns].sort(), [reg.ids.ns1!, reg.pdns!].sort(), 'the zone is on ns1 and PowerDNS');
    resolver.setServers([`127.0.0.1:${fleet.pdns!.server.dnsPort}`]);
    setWebTemplates(web.dir, 'backend', TYPICAL_WEB_TEMPLATES.backend);
    setWebTemplates(web.dir, 'proxy', TYPICAL_WEB_TEMPLATES.proxy);
  });
  after(async () => {
    await world?.close();
  });

  test('an alias under the domain gets the web server\'s address on ns1 and in PowerDNS, shown per server', async () => {
    assert.deepEqual(await answer(`blog.${DOMAIN}`), []);
    const r = await act('web-alias-add', { alias: 'blog' });
    assert.equal(r.message, `Adding the alias blog.${DOMAIN} to ${DOMAIN} and its DNS record`);
    assert.equal(await chainEnds(r.chainId), 'succeeded');
    assert.ok(onNs1().includes(`blog A ${webIp}`), onNs1().join('\n'));
    assert.deepEqual(await answer(`blog.${DOMAIN}`), [webIp]);
    assert.deepEqual((await webSettings(world.tdb.db, world.svc.id)).dnsAliases, [`blog.${DOMAIN}`]);
    const v = await view(webTab);
    const blog = v.aliases.find((a: { name: string }) => a.name === `blog.${DOMAIN}`);
    assert.equal(blog.dnsState, 'published');
    assert.deepEqual(blog.servers.map((s: { server: string; state: string }) => `${s.server} ${s.state}`).sort(), ['ns1 published', 'pdns published']);
    // HestiaCP's own www alias is answered by the zone's www CNAME.
    assert.equal(v.aliases.find((a: { name: string }) => a.name === `www.${DOMAIN}`).dnsState, 'zone');
  });

  test('the DNS tab cannot shadow the alias\'s record; an alias where the customer has records, or outside the domain, gets none and the tab says where to point it', async () => {
    await refusedDns('dns-record-add', { name: 'blog', type: 'CNAME', value: 'elsewhere.example' }, 'name', /"blog" already holds records managed by your hosting/);
    await refusedDns('dns-record-add', { name: 'blog', type: 'A', value: '192.0.2.99' }, 'name', /"blog" A is managed by your hosting/);
    const own = await act('dns-record-add', { name: 'shop', type: 'A', value: '192.0.2.44' });
    assert.equal(await chainEnds(own.chainId), 'succeeded');
    const r = await act('web-alias-add', { alias: 'shop' });
    assert.equal(r.message, `Adding the alias shop.${DOMAIN} to ${DOMAIN}`, 'no DNS step');
    assert.equal(await chainEnds(r.chainId), 'succeeded');
    assert.deepEqual(await answer(`shop.${DOMAIN}`), ['192.0.2.44'], 'the customer\'s own record decides');
    // An alias an admin put on the node outside the domain: no record anywhere.
    assert.equal(runHestia(web.dir, 'v-add-web-domain-alias', [user, DOMAIN, 'brand-other.example']).code, 0);
    const v = await view(webTab);
    const shop = v.aliases.find((a: { name: string }) => a.name === `shop.${DOMAIN}`);
    assert.deepEqual([shop.dnsState, shop.pointAt], ['point', webIp]);
    assert.match(shop.dnsNote, new RegExp(`it has DNS records of your own: point shop\\.${DOMAIN.replace('.', '\\.')} at ${webIp.replace(/\./g, '\\.')}`));
    const other = v.aliases.find((a: { name: string }) => a.name === 'brand-other.example');
    assert.deepEqual([other.dnsState, other.pointAt], ['point', webIp]);
    assert.match(other.dnsNote, new RegExp(`not in your domain ${DOMAIN.replace('.', '\\.')}: point brand-other\\.example at ${webIp.replace(/\./g, '\\.')}`));
    assert.ok(!onNs1().some((l) => l.startsWith('brand-other')), onNs1().join('\n'));
  });

  test('the PHP template the customer picked stays through a package change and a redeploy', async () => {
    const b = await act('web-backend', { template: 'PHP-8_2' });
    assert.equal(await chainEnds(b.chainId), 'succeeded');
    assert.equal(onWeb().get('BACKEND'), 'PHP-8_2');
    assert.equal((await webSettings(world.tdb.db, world.svc.id)).backend, 'PHP-8_2');
    const cp = await changePackage();
    assert.equal(onWeb().get('BACKEND'), 'PHP-8_2', 'the package change kept the customer\'s choice');
    assert.match(await templateLog(cp), /backend \(PHP\) template: the customer's choice PHP-8_2 is kept \(the plan's default is default\)/);
    // The zone's converge in the package change kept the alias's record.
    assert.deepEqual(await answer(`blog.${DOMAIN}`), [webIp]);
    const rd = await call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/actions/redeploy`, {});
    assert.ok([200, 202].includes(rd.status), JSON.stringify(rd.body));
    await lastChain('redeploy');
    assert.equal(onWeb().get('BACKEND'), 'PHP-8_2', 'the redeploy (a fresh web domain) got the customer\'s choice again');
    const z = await redeployZone(world.tdb.db, WHMCS_ID);
    assert.equal(await chainEnds(z.chain_id), 'succeeded');
    assert.deepEqual(await answer(`blog.${DOMAIN}`), [webIp], 'a redeploy of the zone keeps the alias\'s record');
  });

  test('a template the web server no longer offers gives way to the plan\'s default, and the log says why', async () => {
    setWebTemplates(web.dir, 'backend', ['default', 'PHP-8_3', 'no-php']);
    const cp = await changePackage();
    assert.equal(onWeb().get('BACKEND'), 'default');
    assert.match(await templateLog(cp), /the customer's choice PHP-8_2 is no longer offered on .* \(it has: default, no-php, PHP-8_3\), so the plan's default default applies/);
    assert.equal((await webSettings(world.tdb.db, world.svc.id)).backend, null, 'the choice is forgotten: it does not come back with the template');
  });

  test('the alias removed: its record is gone from ns1 and PowerDNS', async () => {
    // The redeploy started the web domain afresh, without the customer's aliases: the record it left is
    // listed so that it can be removed (or the alias added again).
    assert.ok(!(onWeb().get('ALIAS') ?? '').split(',').includes(`blog.${DOMAIN}`), 'a redeploy is a hard reset of the web domain');
    const v = await view(webTab);
    const blog = v.aliases.find((a: { name: string }) => a.name === `blog.${DOMAIN}`);
    assert.equal(blog.dnsState, 'orphan');
    assert.match(blog.dnsNote, /your site no longer answers on blog\./);
    const r = await act('web-alias-delete', { alias: `blog.${DOMAIN}` });
    assert.equal(r.message, `Removing the alias blog.${DOMAIN} from ${DOMAIN} and its DNS record`);
    assert.equal(await chainEnds(r.chainId), 'succeeded');
    assert.ok(!onNs1().some((l) => l.startsWith('blog ')), onNs1().join('\n'));
    assert.deepEqual(await answer(`blog.${DOMAIN}`), []);
    assert.deepEqual((await webSettings(world.tdb.db, world.svc.id)).dnsAliases, []);
    // The customer may now use the name in the DNS tab.
    const own = await act('dns-record-add', { name: 'blog', type: 'A', value: '192.0.2.98' });
    assert.equal(await chainEnds(own.chainId), 'succeeded');
    assert.deepEqual(await answer(`blog.${DOMAIN}`), ['192.0.2.98']);
  });

  test('terminated: the service\'s web settings row goes with its other rows', async () => {
    await saveTemplateChoice(world.tdb.db, world.svc.id, 'backend', 'PHP-8_3');
    const r = await call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/terminate`, {});
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await lastChain('terminate');
    assert.equal(await world.tdb.db(T.webSettings).where('service_id', world.svc.id).first(), undefined);
    assert.equal(await world.tdb.db(T.zoneRecords).where('service_id', world.svc.id).first(), undefined);
  });
});
