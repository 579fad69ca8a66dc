// The ssl-check worker and Issue / Renew now against a real database (SQLite and MariaDB), with the
// DNS check and the TLS probe replaced: which rows a run picks (due, active service, not custom, not
// frozen), what it records, that it queues one ssl.issue chain per role and no second while one is
// queued, and the request's refusals (suspended, no such role, custom, a customer's on a frozen row)
// recorded with their actor in the Operation Log.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { T } from '../../daemon/common/tables.ts';
import { sslSettingsFrom } from '../../daemon/ssl/cadence.ts';
import { runSslChecks } from '../../daemon/ssl/worker.ts';
import { seedSslRow, sslRow, sslRowsOf } from '../../daemon/ssl/state.ts';
import { requestSslCheck } from '../../daemon/services/ssl-auto.ts';
import { SETTING_DEFINITIONS } from '../../daemon/settings/settings.ts';
import type { DnsCheck } from '../../daemon/ssl/dns-check.ts';

const settings = sslSettingsFrom(Object.fromEntries(Object.entries(SETTING_DEFINITIONS).map(([k, d]) => [k, d.default])));
const IP = '192.0.2.10';
const DAY = 86_400_000;

for (const dialect of DIALECTS) {
  describe(`the ssl-check worker on ${dialect}`, () => {
    let t: TestDb;
    let server = 0;
    const svc: Record<string, number> = {};
    // What the stubs answer, by name: resolves to the server or not; what the server serves.
    const resolves = new Set<string>();
    const serves = new Map<string, number>();
    const dnsAsked: string[] = [];
    const probed: string[] = [];
    const checkDns = async (names: string[], ip: string): Promise<DnsCheck> => {
      dnsAsked.push(names[0]!);
      const bad = names.find((n) => !resolves.has(n));
      return bad ? { ok: false, names: [], reason: `${bad} resolves to 203.0.113.5, not ${ip}` } : { ok: true, names: [], reason: null };
    };
    const probe = async (o: { servername: string }) => {
      probed.push(o.servername);
      const until = serves.get(o.servername);
      return until
        ? { verdict: 'valid' as const, detail: 'valid certificate', notBefore: new Date(Date.now() - DAY), notAfter: new Date(until), issuer: 'CN=Test ACME', names: [o.servername], fingerprint256: 'AA' }
        : { verdict: 'self-signed' as const, detail: 'self-signed certificate for node.example', notBefore: null, notAfter: null, issuer: 'CN=node', names: [], fingerprint256: null };
    };
    const run = (now = Date.now()) => runSslChecks({ db: t.db, settings, checkDns, probe: probe as never, now: () => now });

    before(async () => {
      t = await createTestDb(dialect);
      const now = Date.now();
      await t.db(T.servers).insert({ name: 'web-a', driver: 'hestiacp', hostname: 'web-a.example.net', ip: IP, port: 22, auth_method: 'password', created_at: now, updated_at: now });
      server = Number((await t.db(T.servers).where('name', 'web-a').first('id')).id);
      for (const [name, whmcs, state] of [['a', 501, 'active'], ['b', 502, 'active'], ['s', 503, 'suspended'], ['d', 504, 'deploying']] as const) {
        await t.db(T.services).insert({ whmcs_service_id: whmcs, mode: 'split', state, domain: `${name}.example.com`, created_at: now, updated_at: now });
        svc[name] = Number((await t.db(T.services).where('whmcs_service_id', whmcs).first('id')).id);
      }
      const seed = (s: string, role: 'web' | 'mail', names: string[]) => seedSslRow(t.db, { serviceId: svc[s]!, role, names, serverId: server, user: `${s}-user`, issued: false, now });
      await seed('a', 'web', ['a.example.com', 'www.a.example.com']);
      await seed('a', 'mail', ['mail.a.example.com', 'webmail.a.example.com']);
      await seed('b', 'web', ['b.example.com']);
      await seed('s', 'web', ['s.example.com']);
      await seed('d', 'web', ['d.example.com']);
    });
    after(async () => { await t?.drop(); });

    test('a run checks the due rows of active services only: names not resolving wait for DNS, with the reason', async () => {
      const r = await run();
      assert.deepEqual([...dnsAsked].sort(), ['a.example.com', 'b.example.com', 'mail.a.example.com']);
      assert.equal(r.checked, 3);
      assert.equal(probed.length, 0, 'no probe while DNS does not point at the server');
      const a = (await sslRow(t.db, svc.a!, 'a.example.com'))!;
      assert.equal(a.state, 'waiting-dns');
      assert.equal(a.checks, 1);
      assert.match(a.lastResult!, /^DNS: a\.example\.com resolves to 203\.0\.113\.5, not 192\.0\.2\.10/);
      assert.ok(a.nextCheckAt - a.lastCheckAt! === 60_000, 'fast mode');
      assert.equal((await sslRow(t.db, svc.s!, 's.example.com'))!.checks, 0, 'a suspended service is skipped');
      assert.equal((await run()).checked, 0, 'nothing is due again before the fast interval');
    });

    test('names resolving but no valid certificate: one ssl.issue chain per role, no second one while it is queued', async () => {
      for (const n of ['a.example.com', 'www.a.example.com', 'mail.a.example.com', 'webmail.a.example.com']) resolves.add(n);
      const later = Date.now() + 61_000;
      await run(later);
      const chains = await t.db(T.chains).where('service_id', svc.a!).orderBy('id');
      // One request per role; the two are checked at once, so either may be queued first.
      assert.deepEqual(chains.map((c) => c.operation).sort(), ['ssl-issue-mail', 'ssl-issue-web']);
      const chainOf = (op: string) => chains.find((c) => c.operation === op)!;
      const task = await t.db(T.tasks).where('chain_id', chainOf('ssl-issue-web').id).first();
      assert.equal(task.type, 'ssl.issue');
      assert.deepEqual(JSON.parse(task.args), { server, user: 'a-user', domain: 'a.example.com', role: 'web', names: 'a.example.com,www.a.example.com' });
      const mailTask = await t.db(T.tasks).where('chain_id', chainOf('ssl-issue-mail').id).first();
      assert.equal(JSON.parse(mailTask.args).domain, 'a.example.com', 'mail: the HestiaCP mail domain, the row is mail.<d>');
      assert.equal((await sslRow(t.db, svc.a!, 'a.example.com'))!.state, 'issuing');
      await run(later + 61_000);
      assert.equal(await t.db(T.chains).where('service_id', svc.a!).count({ n: '*' }).first().then((r) => Number(r!.n)), 2, 'no second chain');
      assert.match((await sslRow(t.db, svc.a!, 'a.example.com'))!.lastResult!, /request already queued/);
    });

    test('a valid certificate far from expiry: issued, with its expiry and issuer, next check a day later', async () => {
      resolves.add('b.example.com');
      serves.set('b.example.com', Date.now() + 80 * DAY);
      const now = Date.now() + 200_000;
      await run(now);
      const b = (await sslRow(t.db, svc.b!, 'b.example.com'))!;
      assert.deepEqual([b.state, b.issuer, b.nextCheckAt - now], ['issued', 'CN=Test ACME', DAY]);
      assert.ok(Math.abs(b.notAfter! - (Date.now() + 80 * DAY)) < 5000);
      assert.equal(await t.db(T.chains).where('service_id', svc.b!).first(), undefined);
    });

    test('custom and frozen rows are left alone', async () => {
      const now = Date.now() + 400_000;
      await t.db(T.ssl).where({ service_id: svc.a!, domain: 'a.example.com' }).update({ state: 'custom', next_check_at: 0 });
      await t.db(T.ssl).where({ service_id: svc.a!, domain: 'mail.a.example.com' }).update({ state: 'frozen', frozen_until: now + 3_600_000, failures: 5, next_check_at: now + 3_600_000 });
      dnsAsked.length = 0;
      await run(now);
      assert.ok(!dnsAsked.includes('a.example.com') && !dnsAsked.includes('mail.a.example.com'), dnsAsked.join(','));
    });

    test('Issue / Renew now: refusals with their reason; a customer\'s leaves a freeze, an admin\'s lifts it; each recorded with its actor', async () => {
      const client = { actor: 'WHMCS client #7', via: 'whmcs' as const, admin: false };
      const admin = { actor: 'admin', via: 'ui' as const, admin: true };
      await assert.rejects(requestSslCheck(t.db, 503, undefined, client), /service 503 is suspended/);
      await assert.rejects(requestSslCheck(t.db, 502, 'mail', client), /has no mail role with SSL/);
      await assert.rejects(requestSslCheck(t.db, 501, 'web', client), /a\.example\.com uses a custom certificate/);
      await assert.rejects(requestSslCheck(t.db, 501, 'mail', client), /paused until .* after 5 failed attempts/);
      const r = await requestSslCheck(t.db, 501, 'mail', admin);
      assert.equal(r.rows, 1);
      const mail = (await sslRow(t.db, svc.a!, 'mail.a.example.com'))!;
      assert.deepEqual([mail.state, mail.frozenUntil, mail.failures], ['failed', null, 0]);
      assert.ok(mail.nextCheckAt <= Date.now());
      const log = await t.db(T.oplog).where({ whmcs_service_id: 501, kind: 'action' }).orderBy('id').select('actor', 'via', 'result', 'message');
      assert.deepEqual(log.map((l) => [l.actor, l.result]), [['WHMCS client #7', 'refused'], ['WHMCS client #7', 'refused'], ['admin', 'done']]);
      assert.match(log[2].message, /SSL check of mail\.a\.example\.com queued \(freeze lifted\)/);
      assert.equal((await sslRowsOf(t.db, svc.a!)).length, 2);
    });
  });
}
