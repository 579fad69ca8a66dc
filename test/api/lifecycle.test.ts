// The lifecycle routes on SQLite and MariaDB: CreateAccount writes the service, its holdings and
// its chain in one go and answers at once; repeats change nothing; placement spreads by load;
// each mode plans its own chain; bad bodies are refused naming the field; the mode is locked.
// The engine is stopped so the test reads the chains exactly as the routes wrote them.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Daemon } from '../../daemon/runtime.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { accountsPage, usagePage } from '../../daemon/services/reads.ts';
import { createTestDb, DIALECTS, tmpDir, type TestDb } from '../helpers/db.ts';
import { call, createBody, type TestFleet } from '../helpers/api.ts';
import { startRoutesWorld, type RoutesWorld } from '../helpers/world.ts';
import { openApiDocument } from '../../daemon/api/openapi.ts';

const OPENAPI_FILE = new URL('../../docs/openapi.json', import.meta.url);

for (const dialect of DIALECTS) {
  describe(`lifecycle routes (${dialect})`, () => {
    let tdb: TestDb;
    let world: RoutesWorld;
    let daemon: Daemon;
    let fleet: TestFleet;
    let url: string;

    before(async () => {
      world = await startRoutesWorld(dialect, 'hb-life-');
      ({ tdb, daemon, fleet } = world);
      url = daemon.url;
    });
    after(async () => { await world?.close(); });

    const db = () => tdb.db;
    const serviceRow = (whmcsId: number) => db()('mod_hostbridge_services').where('whmcs_service_id', whmcsId).first();
    const chainSteps = async (chainId: number) => (await db()('mod_hostbridge_tasks').where('chain_id', chainId).orderBy('step_no')).map((t) => `${t.type}@${t.target ?? '-'}`);
    const srv = (id: number) => `server:${id}`;

    test('CreateAccount (split) writes the service, its holdings and its chain, and answers in milliseconds', async () => {
      const t0 = performance.now();
      const r = await call(url, 'POST', '/v1/services', createBody(101, fleet.groupId));
      const ms = performance.now() - t0;
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.ok, true);
      assert.equal(r.body.created, true);
      assert.equal(r.body.state, 'deploying');
      assert.ok(ms < 1000, `answered in ${ms.toFixed(1)} ms`);
      const svc = await serviceRow(101);
      assert.equal(svc.mode, 'split');
      assert.equal(svc.domain, 'shop101.example.com');
      // The password is stored sealed, never in clear.
      assert.ok(!JSON.stringify(svc).includes('Cust0mer-Pa55!'));
      assert.match(JSON.parse(svc.names).password_sealed, /^v1:/);
      const names = JSON.parse(svc.names);
      assert.deepEqual(names.users, { web: 'shop101-101-web', mail: 'shop101-101-mail', dns: 'shop101-101-dns' });
      const [w, m] = [fleet.web[0]!, fleet.mail[0]!];
      assert.deepEqual(await chainSteps(r.body.chain_id), [
        `account.package@${srv(w)}`, `account.user@${srv(w)}`, `web.domain@${srv(w)}`,
        `account.package@${srv(m)}`, `account.user@${srv(m)}`, `mail.domain@${srv(m)}`,
        `dns.zone@${srv(fleet.dns[0]!)}`, `dns.zone@${srv(fleet.dns[1]!)}`, `ssl.seed@${srv(w)}`, `ssl.seed@${srv(m)}`,
      ]);
      const held = await db()('mod_hostbridge_service_servers').where('service_id', svc.id).orderBy(['role', 'server_id']);
      assert.deepEqual(held.map((h) => `${h.role}@${h.server_id}:${h.account}`), [
        `dns@${fleet.dns[0]}:shop101-101-dns`, `dns@${fleet.dns[1]}:shop101-101-dns`,
        `mail@${m}:shop101-101-mail`, `web@${w}:shop101-101-web`,
      ]);
      // No secret reaches any task argument.
      const args = (await db()('mod_hostbridge_tasks').where('chain_id', r.body.chain_id).pluck('args')).join('\n');
      assert.ok(!args.includes('Cust0mer-Pa55!'));
    });

    test('the same CreateAccount again, even 20 at once, creates nothing new', async () => {
      // Tasks of chains only: the daemon's own scheduled jobs (health checks, usage) may queue chainless tasks meanwhile.
      const chainTasks = () => db()('mod_hostbridge_tasks').whereNotNull('chain_id').count({ n: '*' });
      const before = { services: await db()('mod_hostbridge_services').count({ n: '*' }), chains: await db()('mod_hostbridge_chains').count({ n: '*' }), tasks: await chainTasks() };
      const first = await call(url, 'POST', '/v1/services', createBody(101, fleet.groupId));
      assert.equal(first.status, 200);
      assert.equal(first.body.created, false);
      const many = await Promise.all(Array.from({ length: 20 }, () => call(url, 'POST', '/v1/services', createBody(101, fleet.groupId))));
      for (const r of many) assert.deepEqual([r.status, r.body.created], [200, false], JSON.stringify(r.body));
      const fresh = await Promise.all(Array.from({ length: 20 }, () => call(url, 'POST', '/v1/services', createBody(150, fleet.groupId))));
      assert.equal(fresh.filter((r) => r.status === 200 && r.body.created).length, 1, JSON.stringify(fresh.map((r) => r.body)));
      assert.equal(new Set(fresh.map((r) => r.body.chain_id)).size, 1);
      assert.equal(Number((await db()('mod_hostbridge_services').count({ n: '*' }))[0]!.n), Number(before.services[0]!.n) + 1);
      assert.equal(Number((await db()('mod_hostbridge_chains').count({ n: '*' }))[0]!.n), Number(before.chains[0]!.n) + 1);
      assert.equal(Number((await chainTasks())[0]!.n), Number(before.tasks[0]!.n) + 10);
    });

    test('placement spreads split services over the least-loaded web and mail nodes', async () => {
      const webs: number[] = [];
      for (const id of [201, 202, 203, 204]) {
        const r = await call(url, 'POST', '/v1/services', createBody(id, fleet.groupId));
        assert.equal(r.status, 200, JSON.stringify(r.body));
        webs.push(JSON.parse((await serviceRow(id)).params).placement.web);
      }
      const counts = await db()('mod_hostbridge_service_servers').whereIn('server_id', fleet.web).select('server_id').count({ n: '*' }).groupBy('server_id');
      const spread = counts.map((c) => Number(c.n)).sort();
      assert.ok(Math.max(...spread) - Math.min(...spread) <= 1, `web loads ${JSON.stringify(counts)} after placing ${webs}`);
    });

    test('unified puts web and mail in one account on a node with both capabilities', async () => {
      const r = await call(url, 'POST', '/v1/services', createBody(301, fleet.groupId, {}, { configoption1: 'unified' }));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const c = fleet.all[0]!;
      assert.deepEqual(await chainSteps(r.body.chain_id), [
        `account.package@${srv(c)}`, `account.user@${srv(c)}`, `web.domain@${srv(c)}`, `mail.domain@${srv(c)}`,
        `dns.zone@${srv(fleet.dns[0]!)}`, `dns.zone@${srv(fleet.dns[1]!)}`, `ssl.seed@${srv(c)}`, `ssl.seed@${srv(c)}`,
      ]);
    });

    test('vanity: a site on name.parent, one mailbox on the shared mail user, one record per DNS server', async () => {
      const body = createBody(401, fleet.groupId, { domain: '', config_options: { 'vanity_domain|Parent domain': 'sites.example.net' }, custom_fields: { vanity_name: 'Alice' } }, { configoption1: 'vanity' });
      const r = await call(url, 'POST', '/v1/services', body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const svc = await serviceRow(401);
      assert.equal(svc.domain, 'alice.sites.example.net');
      const tasks = await db()('mod_hostbridge_tasks').where('chain_id', r.body.chain_id).orderBy('step_no');
      assert.deepEqual(tasks.map((t) => t.type), ['account.package', 'account.user', 'web.domain', 'vanity.mailbox', 'vanity.record', 'vanity.record', 'ssl.seed']);
      const mailbox = JSON.parse(tasks[3].args);
      assert.deepEqual([mailbox.user, mailbox.domain, mailbox.account, tasks[3].target], ['provider', 'sites.example.net', 'alice', srv(fleet.mail[0]!)]);
      const record = JSON.parse(tasks[4].args);
      assert.deepEqual([record.zone, record.record], ['sites.example.net', 'alice']);

      const reserved = await call(url, 'POST', '/v1/services', { ...body, whmcs_service_id: 402, custom_fields: { vanity_name: 'admin' } });
      assert.equal(reserved.status, 422);
      assert.equal(reserved.body.field, 'custom_fields.vanity_name');
      assert.match(reserved.body.error, /reserved/);
      const taken = await call(url, 'POST', '/v1/services', { ...body, whmcs_service_id: 403 });
      assert.equal(taken.status, 409);
      assert.match(taken.body.error, /alice\.sites\.example\.net is already served by service 401/);
      const unknownParent = await call(url, 'POST', '/v1/services', { ...body, whmcs_service_id: 404, config_options: { vanity_domain: 'other.example.org' } });
      assert.equal(unknownParent.status, 422);
      assert.equal(unknownParent.body.field, 'config_options.vanity_domain');
      assert.equal(await serviceRow(402), undefined);
      assert.equal(await serviceRow(404), undefined);
    });

    test('role gating: a zero quota disables its role; neither web nor mail is refused', async () => {
      const mailOnly = await call(url, 'POST', '/v1/services', createBody(501, fleet.groupId, {}, { configoption6: '0' }));
      assert.equal(mailOnly.status, 200, JSON.stringify(mailOnly.body));
      const types = (await chainSteps(mailOnly.body.chain_id)).map((s) => s.split('@')[0]);
      // The mail role's automatic SSL is seeded; the web role's is not.
      assert.ok(!types.includes('web.domain') && types.filter((t) => t === 'ssl.seed').length === 1 && types.includes('mail.domain'), types.join(','));
      const none = await call(url, 'POST', '/v1/services', createBody(502, fleet.groupId, {}, { configoption6: '0', configoption4: '' }));
      assert.equal(none.status, 422);
      assert.equal(none.body.field, 'product.configoption3');
      assert.match(none.body.error, /neither Web nor Mail/);
      const viaOption = await call(url, 'POST', '/v1/services', createBody(503, fleet.groupId, { config_options: { 'mail_disk_quota|Mail space': '0|None' } }, { configoption3: '' }));
      assert.equal(viaOption.status, 422, JSON.stringify(viaOption.body));
      assert.equal(await serviceRow(502), undefined);
    });

    test('ChangePackage that switches the mode is refused and changes nothing; a limit change is planned', async () => {
      const before = await serviceRow(101);
      const chains = await db()('mod_hostbridge_chains').count({ n: '*' });
      const p: Record<string, string> = {};
      for (let i = 1; i <= 24; i++) p[`configoption${i}`] = '';
      Object.assign(p, { configoption1: 'unified', configoption3: 'on', configoption4: 'on', configoption5: 'on', configoption6: '4096', configoption7: '1024' });
      const r = await call(url, 'POST', '/v1/services/101/change-package', { product_id: 4, product: p, config_options: {}, custom_fields: {} });
      assert.equal(r.status, 409);
      assert.equal(r.body.field, 'product.configoption1');
      assert.match(r.body.error, /mode is locked.*split.*unified/);
      assert.deepEqual(await serviceRow(101), before);
      assert.deepEqual(await db()('mod_hostbridge_chains').count({ n: '*' }), chains);
      const ok = await call(url, 'POST', '/v1/services/101/change-package', { product_id: 4, product: { ...p, configoption1: 'split' }, config_options: {}, custom_fields: {} });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(JSON.parse((await serviceRow(101)).params).product.web.diskMb, 4096);
      assert.deepEqual((await chainSteps(ok.body.chain_id)).map((s) => s.split('@')[0]), ['account.package', 'account.package']);
    });

    test('suspend, unsuspend and terminate queue behind the running deployment', async () => {
      const s = await call(url, 'POST', '/v1/services/201/suspend', { reason: 'Overdue on Payment' });
      assert.equal(s.status, 200, JSON.stringify(s.body));
      const chain = await db()('mod_hostbridge_chains').where('id', s.body.chain_id).first();
      assert.equal(chain.state, 'waiting');
      assert.equal(chain.operation, 'suspend');
      // Each Hestia DNS user's suspension is followed by its zone's (dns.zone-state, issue 14).
      assert.deepEqual((await chainSteps(s.body.chain_id)).map((x) => x.split('@')[0]), ['account.suspend', 'account.suspend', 'account.suspend', 'dns.zone-state', 'account.suspend', 'dns.zone-state']);
      const again = await call(url, 'POST', '/v1/services/201/suspend', { reason: 'Overdue on Payment' });
      assert.deepEqual([again.body.chain_id, again.body.created], [s.body.chain_id, false]);
      const t = await call(url, 'POST', '/v1/services/201/terminate', {});
      assert.equal(t.status, 200);
      const steps = await chainSteps(t.body.chain_id);
      assert.equal(steps.at(-1), 'service.close@-');
      assert.equal(steps.filter((x) => x.startsWith('account.delete')).length, 4);
      for (const action of ['redeploy', 'verify-repair', 'sync-usage']) {
        const a = await call(url, 'POST', `/v1/services/202/actions/${action}`, {});
        assert.equal(a.status, 200, `${action}: ${JSON.stringify(a.body)}`);
      }
      const pw = await call(url, 'POST', '/v1/services/202/change-password', { password: 'N3w-Secret-Pass' });
      assert.equal(pw.status, 200);
      assert.ok(!JSON.stringify(await serviceRow(202)).includes('N3w-Secret-Pass'));
    });

    test('calls on an unknown service, unknown operations and bad bodies are refused naming the problem', async () => {
      const cases: Array<[string, string, unknown, number, RegExp, string?]> = [
        ['POST', '/v1/services/999999/suspend', {}, 404, /service 999999 is not known/],
        ['POST', '/v1/services/101/explode', {}, 404, /unknown operation "explode"/],
        ['POST', '/v1/services/101/actions/format-disk', {}, 404, /unknown action/],
        ['POST', '/v1/services/abc/suspend', {}, 400, /service id in the path/],
        ['POST', '/v1/services/101/suspend', { reason: 'x', extra: 1 }, 422, /extra: is not a known field/, 'extra'],
        ['POST', '/v1/services', { ...createBody(601, fleet.groupId), domain: 'a;rm -rf /.com' }, 422, /domain/, 'domain'],
        ['POST', '/v1/services', { ...createBody(602, fleet.groupId), domain: '-rf.example.com' }, 422, /must not start with "-"/, 'domain'],
        ['POST', '/v1/services', { ...createBody(603, fleet.groupId), domain: `${'a'.repeat(64)}.com` }, 422, /label of 64 characters/, 'domain'],
        ['POST', '/v1/services', { ...createBody(604, fleet.groupId), domain: 'pаypal.com' }, 422, /ASCII/, 'domain'],
        ['POST', '/v1/services', { ...createBody(605, fleet.groupId), whmcs_service_id: '605' }, 422, /must be integer/, 'whmcs_service_id'],
        ['POST', '/v1/services', { ...createBody(606, fleet.groupId), password: 'two\nlines' }, 422, /control characters/, 'password'],
        ['POST', '/v1/services', { ...createBody(607, 999) }, 422, /server group 999 does not exist/, 'server_group_id'],
        ['POST', '/v1/services', '{"whmcs_service_id": 1,', 400, /not valid JSON/],
        ['POST', '/v1/services', '[1,2]', 422, /must be a JSON object/],
      ];
      for (const [method, path, body, status, message, field] of cases) {
        const r = await call(url, method, path, body);
        assert.equal(r.status, status, `${path} ${JSON.stringify(body).slice(0, 80)} → ${JSON.stringify(r.body)}`);
        assert.match(r.body.error, message);
        if (field) assert.equal(r.body.field, field);
      }
      for (const id of [601, 602, 603, 604, 605, 606, 607]) assert.equal(await serviceRow(id), undefined);
    });

    test('reads: service progress, rendered views, usage, accounts and server groups', async () => {
      const v = await call(url, 'GET', '/v1/services/101');
      assert.equal(v.status, 200);
      assert.equal(v.body.service.progress.operation, 'deploy');
      assert.equal(v.body.service.progress.total, 10);
      // Nothing runs yet: 'now' names every step ready to start, the first on each server.
      assert.equal(v.body.service.progress.current, 'Configuring hosting plan on web1 · Configuring hosting plan on mail1');
      // Steps are numbered from 1, name the steps they wait for (depends_on) and their lane: one per server (web, mail, each DNS server).
      const steps = v.body.service.progress.steps as Array<{ no: number; after: number[]; lane: number; step: string }>;
      assert.deepEqual(steps.map((s) => s.no), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.deepEqual(steps.map((s) => [s.step, s.after, s.lane]), [
        ['web.package', [], 0], ['web.user', [1], 0], ['web.domain', [2], 0], ['mail.package', [], 1], ['mail.user', [4], 1],
        ['mail.domain', [5], 1], ['dns.zone', [6], 2], ['dns.zone', [6], 3], ['ssl.seed', [3], 0], ['ssl.seed.mail', [6], 1],
      ]);
      const client = await call(url, 'GET', '/v1/services/101/view?audience=client');
      assert.equal(client.status, 200);
      assert.match(client.body.html, /being deployed/);
      assert.equal(client.body.refresh_s, 5);
      const admin = await call(url, 'GET', '/v1/services/101/view?audience=admin');
      assert.match(admin.body.html, /shop101-101-web/);
      const bad = await call(url, 'GET', '/v1/services/101/view?audience=everyone');
      assert.equal(bad.status, 400);
      const u = await call(url, 'GET', '/v1/usage?whmcs_service_ids=101,202');
      assert.deepEqual(u.body.services.map((s: { whmcs_service_id: number }) => s.whmcs_service_id), [101, 202]);
      assert.equal(u.body.services[0].collected_at, null);
      const a = await call(url, 'GET', '/v1/accounts');
      const mine = a.body.accounts.find((x: { whmcs_service_id: number }) => x.whmcs_service_id === 101);
      assert.deepEqual([mine.domain, mine.email, mine.primary_ip], ['shop101.example.com', 'owner@example.com', '192.0.2.11']);
      assert.match(mine.created_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      // The pages the API writes them in: after a WHMCS id, in order, at most `limit`.
      const whole = (await usagePage(db(), null, 0, 10_000)).map((r) => r.whmcs_service_id);
      assert.ok(whole.length >= 2);
      const paged: number[] = [];
      for (let after = 0, page; (page = await usagePage(db(), null, after, 1)).length; after = page[0]!.whmcs_service_id) paged.push(page[0]!.whmcs_service_id);
      assert.deepEqual(paged, whole);
      assert.deepEqual((await accountsPage(db(), 101, 1)).map((r) => r.whmcs_service_id), [a.body.accounts.map((x: { whmcs_service_id: number }) => x.whmcs_service_id).find((id: number) => id > 101)]);
      const g = await call(url, 'GET', '/v1/server-groups');
      assert.deepEqual(g.body.groups.map((x: { name: string }) => x.name), ['main']);
      const servers = await call(url, 'GET', '/v1/servers');
      assert.ok(!JSON.stringify(servers.body).includes('secret'), 'no credential is shown back');
      assert.equal(servers.body.servers[0].has_credential, true);
    });

    test('zone redeploy on one DNS server queues a zone step per service on that server only', async () => {
      const ns = fleet.dns[0]!;
      const r = await call(url, 'POST', `/v1/servers/${ns}/redeploy-zones`, {});
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(r.body.chains.length >= 5, JSON.stringify(r.body));
      for (const chainId of r.body.chains) {
        const steps = await chainSteps(chainId);
        assert.equal(steps.length, 1);
        assert.match(steps[0]!, new RegExp(`^(dns\\.zone|vanity\\.record)@server:${ns}$`));
      }
      const again = await call(url, 'POST', `/v1/servers/${ns}/redeploy-zones`, {});
      assert.deepEqual(again.body.chains, r.body.chains, 'a redeploy still queued is not queued twice');
      const web = await call(url, 'POST', `/v1/servers/${fleet.web[0]}/redeploy-zones`, {});
      assert.equal(web.status, 409);
      assert.match(web.body.error, /does not have the DNS capability/);
      const zones = await call(url, 'GET', `/v1/dns-zones?server_id=${ns}`);
      assert.deepEqual(zones.body.zones, [], 'no zone is deployed while the engine is stopped');
    });

    test('a hostile server name renders as inert text on the admin overview', async () => {
      const r = await call(url, 'POST', '/v1/servers', { name: '<script>alert(1)</script>', driver: 'hestiacp', hostname: 'evil.test.invalid', ip: '192.0.2.99', username: 'root', password: 'whatever-secret', capabilities: { web: true } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const page = await call(url, 'GET', '/v1/admin/view?page=overview');
      assert.equal(page.status, 200);
      assert.ok(!page.body.html.includes('<script>'));
      assert.match(page.body.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    });
  });
}

describe('replay memory is shared by daemons on one database', () => {
  test('a request accepted by one daemon is refused when replayed to another', async () => {
    const tdb = await createTestDb('mysql', { migrate: false });
    const dirs = [tmpDir('hb-nonce-a-'), tmpDir('hb-nonce-b-')];
    const a = await startTestDaemon(dirs[0]!, tdb.url);
    const b = await startTestDaemon(dirs[1]!, tdb.url);
    try {
      const { signedHeaders } = await import('../../daemon/api/signature.ts');
      const { TEST_SECRET } = await import('../helpers/daemon.ts');
      const headers = signedHeaders(TEST_SECRET, 'GET', '/v1/status', '');
      assert.equal((await fetch(a.url + '/v1/status', { headers })).status, 200);
      const replay = await fetch(b.url + '/v1/status', { headers });
      assert.equal(replay.status, 401);
      assert.match((await replay.json()).error, /replayed/);
    } finally {
      await a.stop();
      await b.stop();
      await tdb.drop();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('OpenAPI', () => {
  test('docs/openapi.json is the document generated from the route schemas', () => {
    const committed = JSON.parse(fs.readFileSync(OPENAPI_FILE, 'utf8'));
    assert.deepEqual(committed, openApiDocument(), 'docs/openapi.json is stale: regenerate it with "npm run hostbridge -- openapi > docs/openapi.json"');
  });
});
