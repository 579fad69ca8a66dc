// The hosting panel's Web settings tab on an emulated Split fleet (a web node with PHP-FPM and nginx
// templates to choose from, a mail node), a service deployed through the signed API with a hosting
// plan of 2 web aliases, and the actions run through the panel's dispatcher and the engine:
//  - the tab shows the domain's PHP and proxy templates, the node's choices and the aliases;
//  - bad fields are refused naming the field (a template the node does not offer, naming the
//    choices; an alias outside the service's domain, a wildcard, mail.<domain>…), the limit with the
//    plan's words, a suspended service with the customer's words: nothing queued, nothing on a node;
//  - each action lands on the web node under the web user (never the mail node); an alias change
//    rewrites automatic SSL's certificate names and makes the row due;
//  - a step finding its work done (a retry after a crash) converges without a second command.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import type { Daemon } from '../../daemon/runtime.ts';
import { T } from '../../daemon/common/tables.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { inTx } from '../../daemon/db/connect.ts';
import { enqueueChainIn } from '../../daemon/engine/chains.ts';
import { sslRow } from '../../daemon/ssl/state.ts';
import type { HostingService } from '../../daemon/services/hosting-panel/dispatch.ts';
import { aliasLimitRefusal, checkAlias, planWebStep, vanityRefusal, webPlace, webTab, type WebPlace } from '../../daemon/services/hosting-panel/web.ts';
import { call } from '../helpers/api.ts';
import { DIALECTS, type TestDb } from '../helpers/db.ts';
import { commandsSince, type EmulatedNode } from '../helpers/fleet.ts';
import { panelHelpers, startPanelWorld, type PanelWorld } from '../helpers/hosting-panel.ts';
import { paths, runHestia } from '../emulator/hestia/index.ts';
import { readObjects } from '../emulator/hestia/conf.ts';
import { setWebTemplates, TYPICAL_WEB_TEMPLATES } from '../emulator/hestia/commands/web-templates.ts';
import { TEMPLATE_DIR } from '../../daemon/pages/render.ts';

const WHMCS_ID = 8841;
const CLIENT = 7;
const DOMAIN = 'web8841.example';

describe('the Web settings tab\'s rules (pure)', () => {
  test('an alias is a name under the service\'s domain: a label or the full name, never another domain', () => {
    assert.equal(checkAlias('shop.example', 'blog'), 'blog.shop.example');
    assert.equal(checkAlias('shop.example', ' Blog.Shop.Example. '), 'blog.shop.example');
    assert.equal(checkAlias('shop.example', 'a.b.shop.example'), 'a.b.shop.example');
    const refusal = (raw: string, re: RegExp) => assert.throws(() => checkAlias('shop.example', raw), (e: unknown) => e instanceof InputError && e.field === 'alias' && re.test(e.message));
    refusal('', /is required/);
    refusal('evil.com', /is not under shop\.example/);
    refusal('shop.example.evil.com', /is not under shop\.example/);
    refusal('shop.example', /your site's own name/);
    refusal('*.shop.example', /wildcard/);
    refusal('mail', /mail server's name/);
    refusal('webmail.shop.example', /mail server's name/);
    refusal('a_b', /is not a host name/);
    refusal('-x', /is not a host name/);
    refusal('x..shop.example', /is not a host name/);
    refusal(`${'a'.repeat(64)}`, /is not a host name/);
    refusal(`${'abc.'.repeat(70)}shop.example`, /at most 253/);
  });
  test('the limit\'s words; the place', () => {
    assert.equal(aliasLimitRefusal('unlimited', 50), null);
    assert.equal(aliasLimitRefusal(2, 1), null);
    assert.equal(aliasLimitRefusal(0, 0), 'Web aliases are not part of your plan.');
    assert.equal(aliasLimitRefusal(1, 1), 'Your plan includes 1 web alias and it is in use.');
    assert.equal(aliasLimitRefusal(2, 2), 'Your plan includes 2 web aliases and all 2 are in use.');
    assert.equal(aliasLimitRefusal(2, 3), 'Your plan includes 2 web aliases and 3 are in use: remove 2 before you add another.');
    const svc = (placement: object, users: object) => ({ plan: { domain: 'd.example', placement: { web: null, mail: null, unified: null, dns: [], ...placement }, names: { users } } }) as unknown as HostingService;
    assert.deepEqual(webPlace(svc({ unified: 4 }, { all: 'd-1' })), { server: 4, user: 'd-1', domain: 'd.example' });
    assert.deepEqual(webPlace(svc({ web: 2, mail: 3 }, { web: 'd-1-web', mail: 'd-1-mail' })), { server: 2, user: 'd-1-web', domain: 'd.example' });
    assert.throws(() => webPlace(svc({ mail: 3 }, { mail: 'd-1-mail' })), /no web hosting/);
    // A vanity site's name is one record in the provider's zone: an alias under it could never resolve.
    const mode = (m: string) => ({ plan: { domain: 'me.provider.example', product: { mode: m } } }) as unknown as HostingService;
    assert.match(vanityRefusal(mode('vanity'))!, /New aliases are not offered for me\.provider\.example: its DNS is your provider's/);
    assert.equal(vanityRefusal(mode('split')), null);
  });
});

for (const dialect of DIALECTS) {
  describe(`the Web settings tab on an emulated node (${dialect})`, () => {
    let world: PanelWorld;
    let tdb: TestDb;
    let daemon: Daemon;
    let web: EmulatedNode;
    let mail: EmulatedNode;
    let user: string;
    let serviceId: number;
    let at: WebPlace;

    const { act, chainEnds, view: viewOf, refusedWith } = panelHelpers(() => world, WHMCS_ID, CLIENT);
    const domainLine = () => readObjects(paths.userFile(web.dir, user, 'web.conf')).find((o) => o.get('DOMAIN') === DOMAIN)!;
    const onWeb = () => { const d = domainLine(); return { backend: d.get('BACKEND'), proxy: d.get('PROXY'), aliases: (d.get('ALIAS') ?? '').split(',').filter(Boolean) }; };
    const writes = (node: EmulatedNode) => commandsSince(node, 0).filter((e) => e.ran && /^v-(add|delete|change)-web-domain/.test((e.argv ?? [])[0] ?? '')).length;
    const view = () => viewOf(webTab);
    /** Refused with an InputError naming `field` (and matching `message`); no chain, no write on either node. */
    const refused = refusedWith(() => [writes(web), writes(mail)], 'no web command reached a node');
    const sslNames = async () => (await sslRow(tdb.db, serviceId, DOMAIN))!;

    before(async () => {
      world = await startPanelWorld(dialect, 'hb-hp-web-', { web: 1, mail: 1, dns: 0, combo: 0, pdns: false }, WHMCS_ID, {
        service: { domain: DOMAIN }, hostingPlan: { name: 'web-two-aliases', web: { aliases: 2 } }, configOptions: (plan) => ({ configoption16: String(plan) }),
      });
      ({ tdb, daemon } = world);
      const { svc, fleet, reg } = world;
      serviceId = svc.id;
      user = svc.plan!.names.users.web!;
      web = fleet.node(reg.names[svc.plan!.placement.web!]!);
      mail = fleet.node(reg.names[svc.plan!.placement.mail!]!);
      at = { server: svc.plan!.placement.web!, user, domain: DOMAIN };
      // What a HestiaCP install with nginx + apache2 + PHP-FPM offers.
      setWebTemplates(web.dir, 'backend', TYPICAL_WEB_TEMPLATES.backend);
      setWebTemplates(web.dir, 'proxy', TYPICAL_WEB_TEMPLATES.proxy);
    });
    after(async () => {
      await world?.close();
    });

    test('the tab: the templates now and the node\'s choices; HestiaCP\'s www alias, 1 of 2 in use', async () => {
      const v = await view();
      assert.deepEqual({ backend: v.backend, proxy: v.proxy, aliases: v.aliases.map((x: { name: string }) => ({ name: x.name })), limitText: v.limitText, canAdd: v.canAdd, full: v.full },
        { backend: 'default', proxy: 'default', aliases: [{ name: `www.${DOMAIN}` }], limitText: '1 of 2 in use', canAdd: true, full: null });
      assert.deepEqual(v.backends.map((o: { value: string }) => o.value), ['default', 'no-php', 'PHP-8_2', 'PHP-8_3']);
      assert.deepEqual(v.backends.filter((o: { selected: boolean }) => o.selected).map((o: { value: string }) => o.value), ['default']);
      assert.deepEqual(v.proxies.map((o: { value: string }) => o.value), ['caching', 'default', 'hosting']);
      assert.deepEqual((await sslNames()).names, [DOMAIN, `www.${DOMAIN}`], 'the deployment seeded automatic SSL with the www alias');
    });

    test('bad fields are refused naming the field; nothing is queued or written', async () => {
      await refused('web-backend', { template: '' }, 'template', /is required/);
      await refused('web-backend', { template: 'PHP-5_6' }, 'template', /"PHP-5_6" is not offered by your server: choose one of default, no-php, PHP-8_2, PHP-8_3/);
      await refused('web-backend', { template: '../../etc/passwd' }, 'template', /is not offered/);
      await refused('web-backend', { template: 'default' }, 'template', /already has the PHP \(backend\) template default/, 409);
      await refused('web-proxy', { template: 'PHP-8_3' }, 'template', /choose one of caching, default, hosting/);
      await refused('web-alias-add', { alias: '' }, 'alias', /is required/);
      await refused('web-alias-add', { alias: 'victim.example' }, 'alias', new RegExp(`is not under ${DOMAIN.replace('.', '\\.')}`));
      await refused('web-alias-add', { alias: `*.${DOMAIN}` }, 'alias', /wildcard/);
      await refused('web-alias-add', { alias: 'mail' }, 'alias', /mail server's name/);
      await refused('web-alias-add', { alias: '<script>' }, 'alias', /is not a host name/);
      await refused('web-alias-add', { alias: 'www' }, 'alias', /is already an alias/, 409);
      await refused('web-alias-delete', { alias: `nothere.${DOMAIN}` }, 'alias', /is not an alias of/, 404);
      await refused('web-alias-delete', { alias: DOMAIN }, 'alias', /is not an alias of/, 404);
      assert.deepEqual(onWeb(), { backend: 'default', proxy: 'default', aliases: [`www.${DOMAIN}`] });
    });

    test('PHP and proxy templates change on the web node; the mail node is not touched', async () => {
      const b = await act('web-backend', { template: 'PHP-8_3' });
      assert.equal(b.message, `Changing the PHP (backend) template of ${DOMAIN} from default to PHP-8_3`);
      assert.equal(await chainEnds(b.chainId), 'succeeded');
      const p = await act('web-proxy', { template: 'caching' });
      assert.equal(await chainEnds(p.chainId), 'succeeded');
      assert.deepEqual(onWeb(), { backend: 'PHP-8_3', proxy: 'caching', aliases: [`www.${DOMAIN}`] });
      assert.equal(writes(mail), 0);
      const v = await view();
      assert.deepEqual([v.backend, v.proxy], ['PHP-8_3', 'caching']);
    });

    test('an alias added lands on the web domain and in automatic SSL\'s names (due now); the limit refuses a third', async () => {
      await tdb.db(T.ssl).where({ service_id: serviceId, domain: DOMAIN }).update({ next_check_at: Date.now() + 86_400_000 });
      const r = await act('web-alias-add', { alias: 'shop' });
      assert.equal(r.message, `Adding the alias shop.${DOMAIN} to ${DOMAIN}`);
      const t0 = Date.now();
      assert.equal(await chainEnds(r.chainId), 'succeeded');
      assert.deepEqual(onWeb().aliases.sort(), [`shop.${DOMAIN}`, `www.${DOMAIN}`]);
      const row = await sslNames();
      assert.deepEqual(row.names, [DOMAIN, `www.${DOMAIN}`, `shop.${DOMAIN}`], 'the domain first, then its aliases as HestiaCP lists them');
      assert.ok(row.nextCheckAt <= t0 + 5_000, 'the certificate row is due now');
      assert.equal(writes(mail), 0);
      await refused('web-alias-add', { alias: 'blog' }, '', /^Your plan includes 2 web aliases and all 2 are in use\.$/, 409);
      const v = await view();
      assert.deepEqual({ full: v.full, canAdd: v.canAdd, limitText: v.limitText }, { full: 'Your plan includes 2 web aliases and all 2 are in use.', canAdd: false, limitText: '2 of 2 in use' });
    });

    test('an alias removed leaves the domain and the certificate\'s names', async () => {
      const r = await act('web-alias-delete', { alias: `shop.${DOMAIN}` });
      assert.equal(await chainEnds(r.chainId), 'succeeded');
      assert.deepEqual(onWeb().aliases, [`www.${DOMAIN}`]);
      assert.deepEqual((await sslNames()).names, [DOMAIN, `www.${DOMAIN}`]);
    });

    test('a suspended service refuses every write; unsuspended it accepts them again', async () => {
      await tdb.db(T.services).where('id', serviceId).update({ state: 'suspended' });
      try {
        for (const [action, fields] of [['web-backend', { template: 'PHP-8_2' }], ['web-proxy', { template: 'hosting' }], ['web-alias-add', { alias: 'blog' }], ['web-alias-delete', { alias: `www.${DOMAIN}` }]] as const) {
          await refused(action, fields, '', /while suspended, client-area write actions are blocked/, 409);
        }
      } finally {
        await tdb.db(T.services).where('id', serviceId).update({ state: 'active' });
      }
      const r = await act('web-alias-add', { alias: `blog.${DOMAIN}` });
      assert.equal(await chainEnds(r.chainId), 'succeeded');
      assert.ok(onWeb().aliases.includes(`blog.${DOMAIN}`), JSON.stringify(onWeb()));
    });

    test('a step finding its work done converges without a second command', async () => {
      const queue = async (operation: string, step: ReturnType<typeof planWebStep>) => inTx(tdb.db, async (trx) => (await enqueueChainIn(trx, { serviceId, operation, steps: [step] })).chainId);
      // Added on the node already (an attempt that ran before the daemon died): no second v-add-web-domain-alias.
      await act('web-alias-delete', { alias: `blog.${DOMAIN}` }).then((r) => chainEnds(r.chainId));
      assert.equal(runHestia(web.dir, 'v-add-web-domain-alias', [user, DOMAIN, `news.${DOMAIN}`]).code, 0);
      let before = writes(web);
      const c = await queue('web-alias-add', planWebStep(at, { kind: 'alias-add', alias: `news.${DOMAIN}` }));
      assert.equal(await chainEnds(c), 'succeeded');
      assert.equal(writes(web), before, 'nothing sent for an alias already there');
      assert.ok((await sslNames()).names.includes(`news.${DOMAIN}`), 'the certificate\'s names are still brought in step');
      // Removed meanwhile: the delete step finds nothing to do.
      assert.equal(runHestia(web.dir, 'v-delete-web-domain-alias', [user, DOMAIN, `news.${DOMAIN}`]).code, 0);
      before = writes(web);
      const d = await queue('web-alias-delete', planWebStep(at, { kind: 'alias-delete', alias: `news.${DOMAIN}` }));
      assert.equal(await chainEnds(d), 'succeeded');
      assert.equal(writes(web), before);
      // A template already set: nothing sent. One gone from the node meanwhile: the step fails naming the choices.
      before = writes(web);
      assert.equal(await chainEnds(await queue('web-backend', planWebStep(at, { kind: 'backend', template: 'PHP-8_3' }))), 'succeeded');
      assert.equal(writes(web), before);
      assert.match(await chainEnds(await queue('web-backend', planWebStep(at, { kind: 'backend', template: 'PHP-7_4' }))), /^failed: .*"PHP-7_4" is not on .*; it has: default, no-php, PHP-8_2, PHP-8_3/);
      assert.equal(onWeb().backend, 'PHP-8_3');
    });

    test('the partial renders the choices, the aliases and the forms, every value escaped', async () => {
      const hb = Handlebars.create();
      hb.registerHelper('limit', () => 'HELPER');
      for (const name of ['hp-form', 'hp-web']) hb.registerPartial(name, fs.readFileSync(path.join(TEMPLATE_DIR, 'whmcs', `_${name}.hbs`), 'utf8'));
      const v = await view();
      v.aliases.push({ name: '"><script>x()</script>' });
      const root = { action: 'clientarea.php?action=productdetails&id=1&modop=custom&a=HostingAction', token: 'abc123' };
      const html = hb.compile('{{> hp-web}}')(v, { data: { root } });
      assert.ok(!html.includes('<script>x()'), 'hostile values are escaped');
      assert.match(html, /<option value="PHP-8_3" selected>PHP-8_3<\/option>/);
      assert.match(html, /<option value="caching" selected>caching<\/option>/);
      assert.match(html, /name="hb_action" value="web-backend"/);
      assert.match(html, /name="hb_action" value="web-proxy"/);
      assert.match(html, new RegExp(`<input type="hidden" name="hbf_alias" value="www\\.${DOMAIN.replace('.', '\\.')}">`));
      assert.match(html, /id="hp-web-alias-add"/);
      assert.match(html, /<span id="hp-web-limit">2 of 2 in use<\/span>|<span id="hp-web-limit">1 of 2 in use<\/span>/);
      assert.ok(!html.includes('HELPER'), 'no view-model key is read through a helper');
      assert.ok(!/name="hbf_[^"]*[^a-z0-9_"][^"]*"/.test(html), 'field names are hbf_<a-z0-9_>');
      const full = hb.compile('{{> hp-web}}')({ ...v, full: 'Your plan includes 2 web aliases and all 2 are in use.' }, { data: { root } });
      assert.ok(!full.includes('id="hp-web-alias-add"'), 'no add form when the plan is full');
      assert.match(full, /<p id="hp-web-full">Your plan includes 2 web aliases and all 2 are in use\.<\/p>/);
      assert.match(hb.compile('{{> hp-web}}')({ readError: true }, { data: { root } }), /id="hp-web-unreadable"/);
    });

    test('through the signed API: the panel renders the tab; a refused alias comes back 422; who asked is recorded', async () => {
      const page = await call(daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel`, { tab: 'web', client_id: CLIENT });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.match(JSON.stringify(page.body), /hp-web-aliases/);
      const bad = await call(daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel/actions`, { action: 'web-alias-add', client_id: CLIENT, fields: { alias: 'victim.example' } });
      assert.equal(bad.status, 422, JSON.stringify(bad.body));
      const oplog = await tdb.db(T.oplog).where({ kind: 'action', whmcs_service_id: WHMCS_ID }).select('actor', 'message');
      assert.ok(oplog.some((o: { message: string }) => /web-alias-add: Adding the alias shop\./.test(o.message)), JSON.stringify(oplog));
      assert.ok(oplog.some((o: { message: string }) => /web-alias-add: refused: Your plan includes 2 web aliases/.test(o.message)), JSON.stringify(oplog));
      assert.ok(oplog.every((o: { actor: string }) => o.actor === `WHMCS client #${CLIENT}`), JSON.stringify(oplog));
    });
  });
}
