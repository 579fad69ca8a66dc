// Automatic SSL end to end (issue 14 item 1): a daemon with its scheduler ticking every second and
// an emulated fleet on loopback IPs (web and mail node, the real PowerDNS as every resolver, a TLS
// front per node, the fleet's ACME CA trusted by the daemon through ssl.extra_ca_file). Two Split
// services are deployed with automatic SSL off; then:
// (a) secure.example.com's A record is taken off PowerDNS: its row waits for DNS with the reason; the
//     zone is published again (its records converge) and the row reaches "issued" within the fast-mode window; the node's
//     TLS front then serves a certificate the probe calls valid;
// (d) its first certificate was issued with 20 days' validity: the next check on the active cadence
//     renews it (a second Let's Encrypt run, 90 days);
// (e) its mail role gets mail.<d> and webmail.<d> issued on the mail node;
// (b) elsewhere.example.com resolves to another address: never issued (no v-add-letsencrypt-domain
//     on the node), the row says why;
// (c) once it points here, five injected ACME failures freeze it for the configured window: exactly
//     five Let's Encrypt runs, no failed task, no ticket, and no sixth run while frozen.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS } from '../helpers/db.ts';
import { injectAcmeFailure, setAcme } from '../emulator/hestia/index.ts';
import { ok, startE2E, type E2E, type Order } from './whmcs.ts';
import { probeTls } from '../../daemon/ssl/tls-probe.ts';
import { redeployZone } from '../../daemon/services/zone-redeploy.ts';
import { call } from '../helpers/api.ts';

const DAY = 86_400_000;

for (const dialect of DIALECTS) {
  describe(`automatic SSL on the emulated fleet with the real PowerDNS (${dialect})`, () => {
    let e: E2E;
    const A: Order = { serviceId: 8801, mode: 'split', domain: 'secure.example.com' };
    const B: Order = { serviceId: 8802, mode: 'split', domain: 'elsewhere.example.com' };
    let webIp = '';
    let mailIp = '';

    const pdnsApi = async (method: string, p: string, body?: unknown) => {
      const s = e.fleet.pdns!.server;
      const res = await fetch(`${s.url}/api/v1/servers/localhost${p}`, {
        method, headers: { 'X-API-Key': s.apiKey, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      assert.ok(res.status < 300, `PowerDNS ${method} ${p}: ${res.status} ${text}`);
    };
    const setA = (zone: string, name: string, ip: string) => pdnsApi('PATCH', `/zones/${zone}.`, {
      rrsets: [{ name: `${name}.`, type: 'A', ttl: 60, changetype: 'REPLACE', records: [{ content: ip, disabled: false }] }],
    });
    const row = async (o: Order, domain: string) => {
      const svc = await e.db('mod_hostbridge_services').where('whmcs_service_id', o.serviceId).first('id');
      return e.db('mod_hostbridge_ssl').where({ service_id: svc.id, domain }).first();
    };
    const waitRow = async (o: Order, domain: string, what: string, pred: (r: any) => boolean, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await row(o, domain);
        if (r && pred(r)) return r;
        if (Date.now() > deadline) throw new Error(`${domain}: ${what} not reached in ${timeoutMs} ms; row: ${JSON.stringify(r)}\n${JSON.stringify(await e.tasks(o.serviceId), null, 1).slice(-4000)}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    };
    /** The node's Let's Encrypt runs for a domain (web mode, or mail mode). */
    const leRuns = (node: string, domain: string) => (e.fleet.commandLogs()[node] ?? []).map((c) => {
      const argv = c.argv ?? [];
      const i = argv.findIndex((a) => a.endsWith('v-add-letsencrypt-domain'));
      return i < 0 ? null : argv.slice(i + 1);
    }).filter((args): args is string[] => args !== null && args[1] === domain);

    before(async () => {
      e = await startE2E({
        dialect, fleet: { web: 1, mail: 1, dns: 0, combo: 0, ipBase: '127.0.1.', tls: { port: 0 }, acme: true },
        daemonEnv: { HOSTBRIDGE_SCHEDULER_INTERVAL: '1' },
      });
      webIp = e.fleet.web[0]!.ip;
      mailIp = e.fleet.mail[0]!.ip;
      const ca = path.join(e.dir, 'acme-ca.pem');
      fs.writeFileSync(ca, e.fleet.acmeCa!.cert);
      for (const [k, v] of Object.entries({
        'ssl.enabled': 'false', 'ssl.resolver': `127.0.0.1:${e.fleet.pdns!.server.dnsPort}`, 'ssl.probe_port': String(e.fleet.tlsPort), 'ssl.extra_ca_file': ca,
        'ssl.fast_checks': '60', 'ssl.fast_interval_s': '1', 'ssl.normal_interval_s': '3600', 'ssl.active_interval_s': '2', 'ssl.probe_timeout_ms': '2000',
        'ssl.freeze_after': '5', 'ssl.freeze_hours': '1', 'scheduler.ssl-check.interval_s': '1',
      })) await e.setting(k, v);
      // The first certificate of the web node is short-lived: its renewal is part (d).
      setAcme(e.fleet.web[0]!.dir, { validityDays: 20 });
      ok(await e.module('CreateAccount', A), 'CreateAccount A');
      ok(await e.module('CreateAccount', B), 'CreateAccount B');
      for (const o of [A, B]) assert.equal((await e.waitState(o.serviceId, ['active', 'failed'], 60_000)).state, 'active', JSON.stringify(await e.tasks(o.serviceId)).slice(0, 4000));
      // A's name does not resolve yet (its A record is not published); B's names point elsewhere.
      await pdnsApi('PATCH', `/zones/${A.domain}.`, { rrsets: [{ name: `${A.domain}.`, type: 'A', changetype: 'DELETE' }] });
      await setA(B.domain, B.domain, '203.0.113.5');
      await setA(B.domain, `mail.${B.domain}`, '203.0.113.5');
      await e.setting('ssl.enabled', 'true');
    });
    after(async () => { await e?.close(); });

    test('deployment seeds a row per role with its names, and its timeline step says where SSL is', async () => {
      const web = await row(A, A.domain);
      const mail = await row(A, `mail.${A.domain}`);
      // A subdomain has no www alias in HestiaCP: the certificate names what the web domain serves.
      assert.deepEqual([web.role, JSON.parse(web.names)], ['web', [A.domain]]);
      assert.deepEqual([mail.role, JSON.parse(mail.names)], ['mail', [`mail.${A.domain}`, `webmail.${A.domain}`]]);
      const svc = await e.service(A.serviceId);
      const labels = svc.progress.steps.map((s: { label: string }) => s.label).filter((l: string) => l.startsWith('Setting up automatic SSL'));
      assert.equal(labels.length, 2, labels.join(' | '));
      for (const l of labels) assert.match(l, /: (waiting for DNS|requesting a certificate|issued.*)$/, l);
    });

    test('(a) not resolving: waiting for DNS with the reason; once the zone is published: issued within the fast-mode window, and served', async () => {
      const waiting = await waitRow(A, A.domain, 'waiting-dns with a reason', (r) => r.state === 'waiting-dns' && Number(r.checks) >= 2);
      assert.match(waiting.last_result, /^DNS: secure\.example\.com (has no address|does not exist|resolves to nothing)|^DNS: .*secure\.example\.com/);
      assert.equal(leRuns(e.fleet.web[0]!.name, A.domain).length, 0);
      const redeploy = await redeployZone(e.db, A.serviceId);
      assert.equal(redeploy.created, true);
      const started = Date.now();
      const issued = await waitRow(A, A.domain, 'issued', (r) => r.state === 'issued', 30_000);
      assert.ok(Number(issued.checks) <= 60, `issued after ${issued.checks} checks, within fast mode`);
      assert.ok(Date.now() - started < 30_000);
      assert.match(issued.issuer, /hostbridge test ACME CA/);
      const p = await probeTls({ host: webIp, port: e.fleet.tlsPort!, servername: A.domain, names: [A.domain], extraCa: [e.fleet.acmeCa!.cert], timeoutMs: 3000 });
      assert.equal(p.verdict, 'valid', p.detail);
    });

    test('(d) a certificate near expiry (20 days) is renewed on the active cadence', async () => {
      setAcme(e.fleet.web[0]!.dir, { validityDays: 90 });
      const renewed = await waitRow(A, A.domain, 'renewed for 90 days', (r) => r.state === 'issued' && Number(r.not_after) > Date.now() + 80 * DAY, 20_000);
      assert.equal(leRuns(e.fleet.web[0]!.name, A.domain).length, 2, 'two Let\'s Encrypt runs: the first certificate and its renewal');
      const p = await probeTls({ host: webIp, port: e.fleet.tlsPort!, servername: A.domain, names: [A.domain], extraCa: [e.fleet.acmeCa!.cert], timeoutMs: 3000 });
      assert.equal(p.verdict, 'valid', p.detail);
      assert.ok(Math.abs(p.notAfter!.getTime() - Number(renewed.not_after)) < 5000);
    });

    test('(e) the mail role gets mail.<d> and webmail.<d> issued on the mail node', async () => {
      // webmail.<d> is published by the deployment (CNAME to mail.<d>), so both names resolve to the mail node.
      const mail = await waitRow(A, `mail.${A.domain}`, 'issued', (r) => r.state === 'issued', 30_000);
      assert.ok(Number(mail.not_after) > Date.now() + 80 * DAY);
      const runs = leRuns(e.fleet.mail[0]!.name, A.domain);
      assert.ok(runs.length >= 1 && runs.every((args) => args[3] === 'yes'), JSON.stringify(runs));
      const p = await probeTls({ host: mailIp, port: e.fleet.tlsPort!, servername: `mail.${A.domain}`, names: [`mail.${A.domain}`, `webmail.${A.domain}`], extraCa: [e.fleet.acmeCa!.cert], timeoutMs: 3000 });
      assert.equal(p.verdict, 'valid', p.detail);
    });

    test('(b) a name that resolves elsewhere is never issued; the row says why', async () => {
      const r = await waitRow(B, B.domain, 'checked a few times', (x) => Number(x.checks) >= 3);
      assert.equal(r.state, 'waiting-dns');
      assert.match(r.last_result, /203\.0\.113\.5/);
      assert.match(r.last_result, new RegExp(webIp.replace(/\./g, '\\.')));
      assert.equal(leRuns(e.fleet.web[0]!.name, B.domain).length, 0, 'no v-add-letsencrypt-domain for it');
    });

    test('(c) five ACME refusals freeze the domain for the window: five Let\'s Encrypt runs, no failed task, no sixth run', async () => {
      injectAcmeFailure(e.fleet.web[0]!.dir, { step: 'new-auth', status: 429, times: 50 });
      await setA(B.domain, B.domain, webIp);
      const frozen = await waitRow(B, B.domain, 'frozen', (r) => r.state === 'frozen', 40_000);
      const until = Number(frozen.frozen_until);
      assert.ok(Math.abs(until - (Date.now() + 3_600_000)) < 60_000, `frozen for the configured hour: ${new Date(until).toISOString()}`);
      assert.equal(Number(frozen.failures), 5);
      assert.match(frozen.last_error, /Let's Encrypt new auth status 429/);
      await new Promise((res) => setTimeout(res, 3000));
      assert.equal(leRuns(e.fleet.web[0]!.name, B.domain).length, 5, 'exactly five Let\'s Encrypt runs, none while frozen');
      const svc = await e.db('mod_hostbridge_services').where('whmcs_service_id', B.serviceId).first('id');
      const issues = await e.db('mod_hostbridge_tasks').where({ service_id: svc.id, type: 'ssl.issue' }).select('status', 'attempts');
      assert.ok(issues.length >= 5 && issues.every((t) => t.status === 'succeeded' && Number(t.attempts) === 1), JSON.stringify(issues));
      assert.equal((await e.db('mod_hostbridge_ticket_outbox').where('service_id', svc.id)).length, 0, 'no failure ticket');
      // The customer's Renew now is refused while frozen; the row says why.
      const { requestSslCheck } = await import('../../daemon/services/ssl-auto.ts');
      await assert.rejects(requestSslCheck(e.db, B.serviceId, 'web', { actor: 'WHMCS client #1', via: 'whmcs', admin: false }), /paused until .* after 5 failed attempts/);
    });

    test('the signed API: the certificates per role, and Issue / Renew now with its refusals', async () => {
      const v = await call(e.url, 'GET', `/v1/services/${A.serviceId}/ssl`);
      assert.equal(v.status, 200, JSON.stringify(v.body));
      assert.deepEqual(v.body.roles.map((r: { role: string; state: string }) => `${r.role}:${r.state}`).sort(), ['mail:issued', 'web:issued']);
      assert.match(v.body.roles.find((r: { role: string }) => r.role === 'web').line, /^Secured — certificate valid until \d{1,2} \w+ \d{4}$/);
      assert.equal((await call(e.url, 'POST', `/v1/services/${A.serviceId}/ssl/check`, { role: 'dns' })).status, 422);
      assert.equal((await call(e.url, 'POST', `/v1/services/${A.serviceId}/ssl/check`, { role: 'web', extra: 1 })).status, 422);
      assert.equal((await call(e.url, 'POST', '/v1/services/999999/ssl/check', {})).status, 404);
      const r = await call(e.url, 'POST', `/v1/services/${B.serviceId}/ssl/check`, { role: 'web', actor: 'ops script' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.match(r.body.message, /freeze lifted/, 'the API is the admin\'s: it lifts the freeze');
      assert.equal((await row(B, B.domain)).frozen_until, null);
      const log = await e.db('mod_hostbridge_operation_log').where({ whmcs_service_id: B.serviceId, kind: 'action' }).orderBy('id', 'desc').first('actor', 'via', 'result');
      assert.deepEqual([log.actor, log.via, log.result], ['ops script', 'api', 'done']);
    });
  });
}
