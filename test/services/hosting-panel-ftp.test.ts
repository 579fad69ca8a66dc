// The hosting panel's FTP tab on an emulated HestiaCP web node, through the engine: a Split service
// deployed through the signed API with a hosting plan allowing 2 FTP accounts. prepare() refuses bad
// fields (naming each), an account that exists, one that does not, and the third account (the
// plan's limit, with its message) — nothing queued, nothing changed on the node. Create (in a
// folder and in the domain directory), change password, change folder and delete each land on the
// web node under the service's web user; a step run again after a crash converges. The password
// is in no task argument, task log, Operation Log entry, command line or
// rendered tab. Through HF's dispatcher: queued and recorded for the client, another client refused,
// a suspended service refuses every FTP write and an unsuspended one accepts again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import Handlebars from 'handlebars';
import { T } from '../../daemon/common/tables.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { inTx } from '../../daemon/db/connect.ts';
import { enqueueChainIn } from '../../daemon/engine/chains.ts';
import { serviceByWhmcsId } from '../../daemon/services/store.ts';
import { runHostingAction } from '../../daemon/services/hosting-panel/dispatch.ts';
import { ftpActions, ftpTab, planFtpStep, type FtpPlace } from '../../daemon/services/hosting-panel/ftp.ts';
import { sealSecrets } from '../../daemon/services/hosting-panel/secrets.ts';
import type { HostingContext, PreparedAction } from '../../daemon/services/hosting-panel/types.ts';
import type { PlannedStep } from '../../daemon/pipelines/steps.ts';
import { call } from '../helpers/api.ts';
import { DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { commandsSince, type EmulatedNode } from '../helpers/fleet.ts';
import { panelHelpers, startPanelWorld, type PanelWorld } from '../helpers/hosting-panel.ts';
import { paths, runHestia } from '../emulator/hestia/index.ts';
import { passwordHash } from '../emulator/hestia/commands/users.ts';

const WHMCS_ID = 8811;
const DOMAIN = 'ftp8811.example';
const PASSWORDS = ['Ftp-first-Pa55', 'Ftp-second-Pa55', 'Ftp-changed-Pa55', 'Ftp-retried-Pa55'];

/** The tab's partial as HF's panel renders it: the view model as context, the form target and token on @root. */
function renderTab(view: Record<string, unknown>): string {
  const hb = Handlebars.create();
  for (const name of ['hp-form', 'hp-ftp']) hb.registerPartial(name, fs.readFileSync(new URL(`../../templates/views/whmcs/_${name}.hbs`, import.meta.url), 'utf8'));
  return hb.compile('{{#with tab}}{{> hp-ftp}}{{/with}}')({ action: 'clientarea.php?action=productdetails&id=5&modop=custom&a=HostingAction', token: 'abc123', tab: view });
}

describe('the FTP tab\'s partial', () => {
  const base = { domain: 'shop.example', prefix: 'shop-5-web_', nameRoom: 19, unlimited: false, limit: 2, passwordMin: 8, passwordMax: 128, readError: false, refusal: null };
  test('a row per account with its three forms, each carrying the action, the token and the account; values stay text', () => {
    const html = renderTab({ ...base, count: 1, full: false, accounts: [{ account: 'shop-5-web_up', path: '<script>x</script>', shown: 'shop.example/<script>x</script>' }] });
    for (const a of ['ftp-password', 'ftp-path', 'ftp-delete', 'ftp-create']) assert.match(html, new RegExp(`name="hb_action" value="${a}"><input type="hidden" name="token" value="abc123">`));
    assert.equal(html.match(/method="post" action="clientarea\.php\?action&#x3D;productdetails&amp;id&#x3D;5&amp;modop&#x3D;custom&amp;a&#x3D;HostingAction"/g)?.length, 4);
    assert.equal(html.match(/name="hbf_account" value="shop-5-web_up"/g)?.length, 3);
    assert.ok(!html.includes('<script>'), 'a value from the node is escaped');
    assert.match(html, /&lt;script&gt;x&lt;\/script&gt;/);
    assert.match(html, /id="hp-ftp-create"/);
    assert.match(html, /Your plan includes <strong id="hp-ftp-limit">2<\/strong> FTP account\(s\)/);
  });
  test('at the limit the create form gives way to the refusal; unreadable says so; no limit says so', () => {
    const full = renderTab({ ...base, count: 2, full: true, refusal: 'Your plan includes 2 FTP accounts and all 2 are in use.', accounts: [] });
    assert.ok(!full.includes('id="hp-ftp-create"'));
    assert.match(full, /<p id="hp-ftp-full">Your plan includes 2 FTP accounts and all 2 are in use\.<\/p>/);
    assert.match(renderTab({ ...base, readError: true, full: true, accounts: [] }), /id="hp-ftp-unreadable"/);
    assert.match(renderTab({ ...base, unlimited: true, limit: null, full: false, accounts: [] }), /Your plan does not limit the number of FTP accounts\./);
  });
});

for (const dialect of DIALECTS) {
  describe(`the hosting panel's FTP tab on an emulated node (${dialect})`, () => {
    let world: PanelWorld;
    let tdb: TestDb;
    let node: EmulatedNode;
    let ctx: HostingContext;
    let place: FtpPlace;
    let user: string;

    const { chainCount, chainEnds } = panelHelpers(() => world, WHMCS_ID, 7);
    const webDomain = () => {
      const r = runHestia(node.dir, 'v-list-web-domains', [user, 'json']);
      assert.equal(r.code, 0, r.stdout);
      return JSON.parse(r.stdout)[DOMAIN] as Record<string, string>;
    };
    const accounts = () => {
      const w = webDomain();
      const paths = (w.FTP_PATH ?? '').split(':');
      return (w.FTP_USER ?? '').split(':').filter(Boolean).map((u, i) => [u, (paths[i] ?? '').replace(/^\/+/, '')]);
    };
    /** The account's stored hash (web.conf FTP_MD5, which HestiaCP does not list) is the emulator's hash of this password. */
    const hasPassword = (account: string, password: string) => {
      const line = fs.readFileSync(paths.userFile(node.dir, user, 'web.conf'), 'utf8').split('\n').find((l) => l.includes(`DOMAIN='${DOMAIN}'`)) ?? '';
      const users = (/FTP_USER='([^']*)'/.exec(line)?.[1] ?? '').split(':');
      const hashes = (/FTP_MD5='([^']*)'/.exec(line)?.[1] ?? '').split(':');
      return hashes[users.indexOf(account)] === passwordHash(password);
    };
    const home = (account: string) => fs.readFileSync(paths.passwd(node.dir), 'utf8').split('\n').find((l) => l.startsWith(`${account}:`))?.split(':')[5];
    /** The FTP commands that ran on the node (other jobs, such as automatic SSL, may write meanwhile). */
    const writes = () => commandsSince(node, 0).filter((e) => e.ran && /^v-[a-z]+-web-domain-ftp/.test((e.argv ?? [])[0]?.split('/').pop() ?? '')).length;

    /** What HF's dispatcher does with a prepared action: one chain, its secrets sealed in the same transaction. */
    const queue = async (p: PreparedAction | { operation: string; steps: PlannedStep[]; secrets?: PreparedAction['secrets'] }) => {
      const chainId = await inTx(tdb.db, async (trx) => {
        const r = await enqueueChainIn(trx, { serviceId: ctx.svc.id, operation: p.operation, steps: p.steps });
        await sealSecrets(trx, world.daemon.core.config.masterKey, r.chainId, p.secrets ?? []);
        return r.chainId;
      });
      world.daemon.engine.wake();
      return chainId;
    };
    const run = async (action: string, fields: Record<string, string>) => {
      const p = await ftpActions[action]!.prepare(ctx, fields);
      return { prepared: p, outcome: await chainEnds(await queue(p)) };
    };
    const refused = async (action: string, fields: Record<string, string>, field: string, message: RegExp, status?: number) => {
      const [w, c] = [writes(), await chainCount()];
      await assert.rejects(ftpActions[action]!.prepare(ctx, fields), (err: unknown) => {
        assert.ok(err instanceof InputError, String(err));
        assert.equal(err.field, field, err.message);
        assert.match(err.message, message);
        if (status !== undefined) assert.equal(err.status, status);
        return true;
      });
      assert.equal(writes(), w, 'nothing changed on the node');
      assert.equal(await chainCount(), c, 'nothing was queued');
    };

    before(async () => {
      world = await startPanelWorld(dialect, 'hb-hp-ftp-', { web: 1, mail: 1, dns: 0, combo: 0, pdns: false }, WHMCS_ID, {
        service: { domain: DOMAIN }, hostingPlan: { name: 'ftp-two', web: { ftp_accounts: 2 } }, configOptions: (plan) => ({ configoption16: String(plan) }),
        quiet: ['check-servers', 'sync-usage', 'ssl-check'],
      });
      tdb = world.tdb;
      const { svc, fleet, reg } = world;
      user = svc.plan!.names.users.web!;
      node = fleet.node(reg.names[svc.plan!.placement.web!]!);
      ctx = { db: tdb.db, svc: { ...svc, plan: svc.plan! }, hestia: world.deps.hestia, now: Date.now() };
      place = { server: svc.plan!.placement.web!, user, domain: DOMAIN };
    });
    after(async () => {
      await world?.close();
    });

    test('bad fields are refused naming the field; nothing is queued or changed', async () => {
      const ok = { name: 'uploads', password: PASSWORDS[0]!, path: 'public_html/uploads' };
      await refused('ftp-create', { ...ok, name: '' }, 'name', /is required/);
      await refused('ftp-create', { ...ok, name: 'up-loads' }, 'name', /letters, digits and "_"/);
      await refused('ftp-create', { ...ok, name: '--flag' }, 'name', /letters, digits and "_"/);
      await refused('ftp-create', { ...ok, name: '<script>' }, 'name', /letters, digits and "_"/);
      await refused('ftp-create', { ...ok, name: 'x'.repeat(40) }, 'name', new RegExp(`at most ${30 - user.length - 1} fit \\(the account is called ${user}_<name>`));
      await refused('ftp-create', { ...ok, password: '' }, 'password', /is required/);
      await refused('ftp-create', { ...ok, password: 'Sh0rt' }, 'password', /needs at least 8/);
      await refused('ftp-create', { ...ok, password: 'alllowercase1' }, 'password', /upper-case letter/);
      await refused('ftp-create', { ...ok, password: 'Two\nLines99' }, 'password', /control or invisible character/);
      await refused('ftp-create', { ...ok, password: 'A1b'.repeat(50) }, 'password', /at most 128/);
      await refused('ftp-create', { ...ok, path: '../../etc' }, 'path', /without empty, "\." or "\.\." parts/);
      await refused('ftp-create', { ...ok, path: 'public_html/../..' }, 'path', /"\.\."/);
      await refused('ftp-create', { ...ok, path: 'public_html/-x' }, 'path', /not first/);
      await refused('ftp-create', { ...ok, path: 'a b' }, 'path', /folder names are letters/);
      await refused('ftp-delete', { account: '' }, 'account', /is required/);
      await refused('ftp-delete', { account: 'root' }, 'account', /is not one of your FTP accounts/, 404);
      await refused('ftp-delete', { account: `${user}_no-such` }, 'account', /is not one of your FTP accounts/, 404);
      await refused('ftp-delete', { account: `${user}_nosuch` }, 'account', /is not one of your FTP accounts/, 404);
      await refused('ftp-password', { account: `${user}_nosuch`, password: PASSWORDS[1]! }, 'account', /is not one of your FTP accounts/, 404);
      await refused('ftp-path', { account: `${user}_nosuch`, path: 'x' }, 'account', /is not one of your FTP accounts/, 404);
      await refused('ftp-path', { account: `${user}_nosuch`, path: '' }, 'path', /is required/);
      assert.deepEqual(accounts(), []);
    });

    test('create lands on the web node under the web user, in a folder or the domain directory; the limit then refuses a third', async () => {
      const a = await run('ftp-create', { name: 'uploads', password: PASSWORDS[0]!, path: '/public_html/uploads/' });
      assert.equal(a.outcome, 'succeeded');
      assert.equal(a.prepared.message, `Creating FTP account ${user}_uploads for ${DOMAIN}/public_html/uploads`);
      assert.deepEqual(a.prepared.steps.map((s) => [s.type, s.target]), [['ftp.create', `server:${place.server}`]]);
      const b = await run('ftp-create', { name: 'whole', password: PASSWORDS[1]!, path: '' });
      assert.equal(b.outcome, 'succeeded');
      assert.deepEqual(accounts(), [[`${user}_uploads`, 'public_html/uploads'], [`${user}_whole`, '']]);
      assert.equal(writes(), 2, 'one v-add-web-domain-ftp each (the count the refusals hold still)');
      assert.equal(home(`${user}_uploads`), `/home/${user}/web/${DOMAIN}/public_html/uploads`);
      assert.equal(home(`${user}_whole`), `/home/${user}/web/${DOMAIN}`);
      assert.ok(hasPassword(`${user}_uploads`, PASSWORDS[0]!), 'the first account has the password typed');
      assert.ok(hasPassword(`${user}_whole`, PASSWORDS[1]!), 'the second account has the password typed');
      assert.ok(fs.existsSync(`${node.dir}/home/${user}/web/${DOMAIN}/public_html/uploads`), 'the folder was created');

      await refused('ftp-create', { name: 'uploads', password: PASSWORDS[0]!, path: '' }, 'name', new RegExp(`you have an FTP account ${user}_uploads already`), 409);
      await refused('ftp-create', { name: 'third', password: PASSWORDS[0]!, path: '' }, '', /^Your plan includes 2 FTP accounts and all 2 are in use\.$/, 409);

      const view = await ftpTab.load(ctx);
      assert.deepEqual(view.accounts, [
        { account: `${user}_uploads`, path: 'public_html/uploads', shown: `${DOMAIN}/public_html/uploads` },
        { account: `${user}_whole`, path: '', shown: `${DOMAIN}/` },
      ]);
      assert.deepEqual({ full: view.full, refusal: view.refusal, limit: view.limit, count: view.count }, { full: true, refusal: 'Your plan includes 2 FTP accounts and all 2 are in use.', limit: 2, count: 2 });
    });

    test('change password and change folder act on that account only', async () => {
      const p = await run('ftp-password', { account: `${user}_uploads`, password: PASSWORDS[2]! });
      assert.equal(p.outcome, 'succeeded');
      assert.equal(p.prepared.message, `Changing the password of FTP account ${user}_uploads`);
      assert.ok(hasPassword(`${user}_uploads`, PASSWORDS[2]!), 'the new password is set');
      assert.ok(hasPassword(`${user}_whole`, PASSWORDS[1]!), 'the other account keeps its password');

      await refused('ftp-path', { account: `${user}_uploads`, path: 'public_html/uploads' }, 'path', /is already the folder of/, 409);
      const f = await run('ftp-path', { account: `${user}_uploads`, path: 'private/files' });
      assert.equal(f.outcome, 'succeeded');
      assert.deepEqual(accounts(), [[`${user}_uploads`, 'private/files'], [`${user}_whole`, '']]);
      assert.equal(home(`${user}_uploads`), `/home/${user}/web/${DOMAIN}/private/files`);
    });

    test('a step run again after a crash converges: create of an existing account sets its password and folder; delete of a gone one succeeds', async () => {
      // As if an earlier attempt had created the account and the daemon died before recording it.
      const pre = runHestia(node.dir, 'v-add-web-domain-ftp', [user, DOMAIN, 'again', 'Some-0ther-pass', 'public_html']);
      assert.equal(pre.code, 0, pre.stdout);
      const again = await chainEnds(await queue({ operation: 'ftp-create', steps: [planFtpStep('ftp-create', place, `${user}_again`, 'public_html/again')], secrets: [{ name: 'password', value: PASSWORDS[3]! }] }));
      assert.equal(again, 'succeeded');
      assert.deepEqual(accounts().find(([u]) => u === `${user}_again`), [`${user}_again`, 'public_html/again']);
      assert.ok(hasPassword(`${user}_again`, PASSWORDS[3]!), 'the password typed, not the earlier one');
      const log = (await tdb.db(T.attempts).where('task_id', (await tdb.db(T.tasks).where({ service_id: ctx.svc.id, type: 'ftp.create' }).orderBy('id', 'desc').first('id')).id).pluck('output')).join('\n');
      assert.match(log, /was already on .* \(an earlier attempt\): its password is set and its folder moved to public_html\/again/);

      const del = await run('ftp-delete', { account: `${user}_again` });
      assert.equal(del.outcome, 'succeeded');
      assert.ok(!accounts().some(([u]) => u === `${user}_again`));
      const twice = await chainEnds(await queue({ operation: 'ftp-delete', steps: [planFtpStep('ftp-delete', place, `${user}_again`)] }));
      assert.equal(twice, 'succeeded', 'deleting an account already gone is done');
      // A password change of an account gone meanwhile fails for good, with the reason.
      const gone = await chainEnds(await queue({ operation: 'ftp-password', steps: [planFtpStep('ftp-password', place, `${user}_again`)], secrets: [{ name: 'password', value: PASSWORDS[3]! }] }));
      assert.match(gone, new RegExp(`^failed: FTP account ${user}_again is not on .* \\(deleted meanwhile\\?\\)`));
    });

    test('delete removes the account and its login; one more fits the plan again', async () => {
      const d = await run('ftp-delete', { account: `${user}_whole` });
      assert.equal(d.outcome, 'succeeded');
      assert.equal(d.prepared.message, `Deleting FTP account ${user}_whole`);
      assert.deepEqual(accounts(), [[`${user}_uploads`, 'private/files']]);
      assert.equal(home(`${user}_whole`), undefined, 'its system user is gone');
      const view = await ftpTab.load(ctx);
      assert.equal(view.full, false);
      await ftpActions['ftp-create']!.prepare(ctx, { name: 'third', password: PASSWORDS[0]!, path: '' });
    });

    test('through the dispatcher: queued and recorded for the client; refused for another client; a suspended service refuses every FTP write, an unsuspended one accepts again', async () => {
      const { deps } = world;
      const client = { actor: 'WHMCS client #7', via: 'whmcs' as const };
      const q = await runHostingAction(deps, WHMCS_ID, 'ftp-create', { name: 'viadispatch', password: PASSWORDS[1]!, path: 'public_html' }, client, 7);
      assert.equal(q.message, `Creating FTP account ${user}_viadispatch for ${DOMAIN}/public_html`);
      assert.equal(await chainEnds(q.chainId), 'succeeded');
      assert.ok(hasPassword(`${user}_viadispatch`, PASSWORDS[1]!));
      await assert.rejects(runHostingAction(deps, WHMCS_ID, 'ftp-delete', { account: `${user}_viadispatch` }, { actor: 'WHMCS client #8', via: 'whmcs' }, 8), /service 8811 does not exist/);

      const lifecycle = async (op: 'suspend' | 'unsuspend', state: string) => {
        const r = await call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/${op}`, op === 'suspend' ? { reason: 'Overdue on Payment' } : {});
        assert.ok(r.status < 300, JSON.stringify(r.body));
        await waitFor(`the service ${state}`, async () => ((await serviceByWhmcsId(tdb.db, WHMCS_ID))?.state === state ? true : null), 30_000, 50);
        await waitFor('its chain ended', async () => ((await tdb.db(T.chains).where('service_id', ctx.svc.id).whereIn('state', ['running', 'waiting']).first('id')) ? null : true), 30_000, 50);
      };
      await lifecycle('suspend', 'suspended');
      const [w, c] = [writes(), await chainCount()];
      for (const [action, fields] of [
        ['ftp-create', { name: 'blocked', password: PASSWORDS[0]!, path: '' }], ['ftp-delete', { account: `${user}_viadispatch` }],
        ['ftp-password', { account: `${user}_viadispatch`, password: PASSWORDS[0]! }], ['ftp-path', { account: `${user}_viadispatch`, path: 'private' }],
      ] as const) {
        await assert.rejects(runHostingAction(deps, WHMCS_ID, action, { ...fields }, client, 7), (err: unknown) => {
          assert.ok(err instanceof InputError && err.status === 409, String(err));
          assert.match(err.message, /while suspended, client-area write actions are blocked/);
          return true;
        });
      }
      assert.equal(writes(), w, 'no FTP command reached the node');
      assert.equal(await chainCount(), c, 'nothing was queued');
      await lifecycle('unsuspend', 'active');
      const d = await runHostingAction(deps, WHMCS_ID, 'ftp-delete', { account: `${user}_viadispatch` }, client, 7);
      assert.equal(await chainEnds(d.chainId), 'succeeded');
      assert.ok(!accounts().some(([u]) => u === `${user}_viadispatch`));
      const oplog = await tdb.db(T.oplog).where({ kind: 'action', whmcs_service_id: WHMCS_ID }).select('actor', 'message', 'result');
      assert.ok(oplog.some((o) => o.actor === 'WHMCS client #7' && o.result === 'done' && o.message.includes(`ftp-create: Creating FTP account ${user}_viadispatch`)), JSON.stringify(oplog));
      assert.equal(oplog.filter((o) => o.result === 'refused' && /ftp-(create|delete|password|path): refused: .*while suspended/.test(o.message)).length, 4);
    });

    test('through the signed API: the FTP tab renders the live accounts, and an action posted there runs', async () => {
      const page = await call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel`, { client_id: 7, tab: 'ftp', token: 'abc123' });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      const html = String(page.body.html);
      assert.match(html, /id="hp-ftp-list"/);
      assert.match(html, new RegExp(`<tr data-row="${user}_uploads"><td class="hp-ftp-account">${user}_uploads</td><td class="hp-ftp-path">${DOMAIN.replace('.', '\\.')}/private/files</td>`));
      const posted = await call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel/actions`, { client_id: 7, action: 'ftp-password', fields: { account: `${user}_uploads`, password: PASSWORDS[1]! } });
      assert.equal(posted.status, 200, JSON.stringify(posted.body));
      assert.equal(posted.body.message, `Changing the password of FTP account ${user}_uploads`);
      assert.equal(await chainEnds(posted.body.chain_id), 'succeeded');
      assert.ok(hasPassword(`${user}_uploads`, PASSWORDS[1]!));
      const bad = await call(world.daemon.url, 'POST', `/v1/services/${WHMCS_ID}/hosting-panel/actions`, { client_id: 7, action: 'ftp-create', fields: { name: 'x', password: 'Zq9xW' } });
      assert.equal(bad.status, 422);
      assert.match(JSON.stringify(bad.body), /password: is 5 characters long; an FTP password needs at least 8/);
      assert.ok(!JSON.stringify(bad.body).includes('Zq9xW'), 'the refusal does not echo the password');
    });

    test('the passwords are in no task argument, task log, Operation Log entry, command line or the tab\'s page', async () => {
      const texts = [
        JSON.stringify(await tdb.db(T.tasks).where('service_id', ctx.svc.id).select('args', 'last_error', 'result')),
        JSON.stringify(await tdb.db(T.attempts).select('output', 'error')),
        JSON.stringify(await tdb.db(T.oplog).select('message', 'error')),
        JSON.stringify(commandsSince(node, 0).map((e) => e.argv)),
        renderTab(await ftpTab.load(ctx)),
      ];
      const args = await tdb.db(T.tasks).where('service_id', ctx.svc.id).where('type', 'like', 'ftp.%').pluck('args');
      assert.ok(args.length >= 7, `${args.length} FTP tasks`);
      for (const t of texts) for (const p of PASSWORDS) assert.ok(!t.includes(p), 'a password leaked');
      const sealed = JSON.stringify(await tdb.db(T.panelSecrets).select('sealed'));
      for (const p of PASSWORDS) assert.ok(!sealed.includes(p), 'a password is stored in clear');
    });
  });
}
