// A customer's own certificate through the engine, on an emulated HestiaCP web node: a Split
// service deployed through the signed API, then services/ssl-custom.ts's upload and remove with
// the steps they queue. A mismatched key, an expired certificate and a wrong domain are refused
// with the field and nothing changed (no row, no chain, no command on the node); a good one is
// installed (v-list-web-domain-ssl serves our fingerprint, LETSENCRYPT='no'), its SSL row is
// 'custom'; a second upload replaces it (Let's Encrypt turned off on the way); remove takes it off
// and hands the role back to automatic SSL in fast mode. The expiry job e-mails once per
// certificate. The key appears in no task argument, task log, Operation Log entry or e-mail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { Daemon } from '../../daemon/runtime.ts';
import { T } from '../../daemon/common/tables.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { serviceByWhmcsId } from '../../daemon/services/store.ts';
import { customCertificateOf, removeCustomCertificate, uploadCustomCertificate, type CustomCertDeps } from '../../daemon/services/ssl-custom.ts';
import { call, createBody } from '../helpers/api.ts';
import { DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { commandsSince, type EmulatedFleet, type EmulatedNode, type RegisteredFleet } from '../helpers/fleet.ts';
import { DAY, issueCert, makeCa, type TestCert } from '../helpers/certs.ts';
import { startFleetWorld, type FleetWorld } from '../helpers/world.ts';
import { paths, runHestia } from '../emulator/hestia/index.ts';

const WHMCS_ID = 8801;
const DOMAIN = 'certs8801.example';
const NAMES = [DOMAIN, `www.${DOMAIN}`];

for (const dialect of DIALECTS) {
  describe(`custom certificates on an emulated node (${dialect})`, () => {
    let world: FleetWorld;
    let tdb: TestDb;
    let daemon: Daemon;
    let fleet: EmulatedFleet;
    let reg: RegisteredFleet;
    let deps: CustomCertDeps;
    let node: EmulatedNode;
    let user: string;
    let serviceId: number;
    const ca = makeCa('hostbridge custom CA');
    const good = issueCert(ca, NAMES);
    const keyLines: string[] = [];

    const sslOnNode = () => {
      const r = runHestia(node.dir, 'v-list-web-domain-ssl', [user, DOMAIN, 'json']);
      assert.equal(r.code, 0, r.stdout);
      return JSON.parse(r.stdout)[DOMAIN] as Record<string, string>;
    };
    const webDomain = () => {
      const r = runHestia(node.dir, 'v-list-web-domains', [user, 'json']);
      assert.equal(r.code, 0, r.stdout);
      return JSON.parse(r.stdout)[DOMAIN] as Record<string, string>;
    };
    const served = () => {
      const crt = sslOnNode().CRT ?? '';
      return crt.trim() === '' ? null : new X509Certificate(crt).fingerprint256;
    };
    const sslRow = async () => tdb.db(T.ssl).where({ service_id: serviceId, domain: DOMAIN }).first();
    const input = (c: TestCert) => ({ cert: c.cert, key: c.key, chain: c.chain });
    /** Waits for the chain to end and returns its state, with its tasks' errors for the message. */
    const chainEnds = async (chainId: number) => {
      const c = await waitFor(`chain ${chainId}`, async () => {
        const row = await tdb.db(T.chains).where('id', chainId).first('state', 'error');
        return row && !['running', 'waiting'].includes(row.state) ? row : null;
      }, 30_000);
      const errors = (await tdb.db(T.tasks).where('chain_id', chainId).pluck('last_error')).filter(Boolean);
      return `${c.state}${errors.length ? `: ${errors.join('; ')}` : ''}`;
    };
    const refusedWith = async (c: Partial<TestCert>, field: string, message: RegExp) => {
      const commands = commandsSince(node, 0).length;
      const chains = (await tdb.db(T.chains).where('service_id', serviceId).count({ n: '*' }).first()) as { n: number };
      const before = await tdb.db(T.sslCustom).where('service_id', serviceId).select('fingerprint256', 'state');
      await assert.rejects(uploadCustomCertificate(deps, WHMCS_ID, 'web', { cert: c.cert ?? '', key: c.key ?? '', chain: c.chain ?? '' }, 'WHMCS client #7'), (err: unknown) => {
        assert.ok(err instanceof InputError, String(err));
        assert.equal(err.field, field);
        assert.match(err.message, message);
        return true;
      });
      assert.equal(commandsSince(node, 0).length, commands, 'no command reached the node');
      assert.deepEqual(await tdb.db(T.chains).where('service_id', serviceId).count({ n: '*' }).first(), chains, 'no chain was queued');
      assert.deepEqual(await tdb.db(T.sslCustom).where('service_id', serviceId).select('fingerprint256', 'state'), before, 'the stored certificate is unchanged');
    };

    before(async () => {
      world = await startFleetWorld(dialect, 'hb-ssl-custom-', { web: 1, mail: 1, dns: 0, combo: 0, pdns: false }, { HOSTBRIDGE_POLL_MS: '50' });
      ({ tdb, daemon, fleet, reg } = world);
      // Automatic SSL and the expiry job only when the test says: one pass now, then a day away.
      for (const job of ['check-servers', 'sync-usage', 'ssl-check', 'ssl-custom-expiry']) await writeSetting(tdb.db, `scheduler.${job}.interval_s`, '86400');
      await daemon.core.settings.refresh();
      await daemon.core.scheduler.pass(() => {});
      deps = { db: daemon.core.db, masterKey: daemon.core.config.masterKey, onTick: () => daemon.engine.wake() };
      const r = await call(daemon.url, 'POST', '/v1/services', createBody(WHMCS_ID, reg.groupId, { domain: DOMAIN }));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const svc = await waitFor('the service active', async () => {
        const s = await serviceByWhmcsId(tdb.db, WHMCS_ID);
        assert.notEqual(s?.state, 'failed');
        return s?.state === 'active' ? s : null;
      }, 60_000, 50);
      serviceId = svc.id;
      user = svc.plan!.names.users.web!;
      node = fleet.node(reg.names[svc.plan!.placement.web!]!);
      keyLines.push(...good.key.split(/\r?\n/).filter((l) => l.length >= 40 && !l.startsWith('-----')));
      assert.ok(keyLines.length > 10);
    });
    after(async () => { await world?.close(); });

    test('a mismatched key, an expired certificate and a wrong domain are refused, naming the field; nothing changes', async () => {
      const other = issueCert(ca, NAMES);
      await refusedWith({ ...good, key: other.key }, 'private_key', /does not match the certificate/);
      const expired = issueCert(ca, NAMES, { notBefore: new Date(Date.now() - 100 * DAY), notAfter: new Date(Date.now() - DAY) });
      await refusedWith(expired, 'certificate', /^certificate: expired on \d{4}-\d\d-\d\dT/);
      const wrong = issueCert(ca, ['elsewhere.example', 'www.elsewhere.example']);
      await refusedWith(wrong, 'certificate', /does not cover certs8801\.example and www\.certs8801\.example: it covers elsewhere\.example, www\.elsewhere\.example/);
      await refusedWith(issueCert(ca, [DOMAIN]), 'certificate', /does not cover www\.certs8801\.example/);
      assert.equal(served(), null, 'the node serves no certificate');
      assert.equal(await customCertificateOf(tdb.db, serviceId, 'web'), null);
      await assert.rejects(removeCustomCertificate(deps, WHMCS_ID, 'web', 'WHMCS client #7'), /no custom web certificate to remove/);
    });

    test('a suspended service, a role it lacks and an unknown service are refused', async () => {
      await tdb.db(T.services).where('id', serviceId).update({ state: 'suspended' });
      try {
        await assert.rejects(uploadCustomCertificate(deps, WHMCS_ID, 'web', input(good), 'WHMCS client #7'), /while suspended, client-area write actions are blocked/);
      } finally {
        await tdb.db(T.services).where('id', serviceId).update({ state: 'active' });
      }
      await assert.rejects(uploadCustomCertificate(deps, 999_999, 'web', input(good), 'x'), /service 999999 does not exist/);
      await assert.rejects(uploadCustomCertificate(deps, WHMCS_ID, 'dns' as 'web', input(good), 'x'), /role: must be web or mail/);
    });

    test('a good certificate is installed with LETSENCRYPT off; the SSL row is custom; the view shows it without the key', async () => {
      const { chain_id } = await uploadCustomCertificate(deps, WHMCS_ID, 'web', input(good), 'WHMCS client #7');
      assert.equal(await chainEnds(chain_id), 'succeeded');
      const fp = new X509Certificate(good.cert).fingerprint256;
      assert.equal(served(), fp);
      assert.equal(webDomain().SSL, 'yes');
      assert.equal(webDomain().LETSENCRYPT, 'no');
      assert.equal((await sslRow()).state, 'custom');
      const view = await customCertificateOf(tdb.db, serviceId, 'web');
      assert.ok(view);
      assert.deepEqual({ names: view.names, fp: view.fingerprint256, pending: view.pending, state: view.state, issuer: view.issuer }, { names: NAMES, fp, pending: false, state: 'installed', issuer: 'CN=hostbridge custom CA, O=hostbridge tests' });
      assert.ok(!JSON.stringify(view).includes(keyLines[3]!), 'the view holds no key');
      const stored = await tdb.db(T.sslCustom).where({ service_id: serviceId, role: 'web' }).first();
      assert.match(String(stored.key_sealed), /^v1:/);
      for (const line of keyLines) assert.ok(!JSON.stringify(stored).includes(line), 'the key is stored sealed only');
      // Automatic SSL leaves it alone: its rows due now exclude this one.
      const { dueSslRows } = await import('../../daemon/ssl/state.ts');
      assert.ok(!(await dueSslRows(tdb.db, Date.now() + 365 * DAY, 100)).some((r) => r.serviceId === serviceId && r.domain === DOMAIN));
    });

    test('a new upload replaces it, turning Let\'s Encrypt off; a change in progress refuses another', async () => {
      // As if HestiaCP's own Let's Encrypt had been on for the domain: its renewal would overwrite ours.
      const conf = paths.userFile(node.dir, user, 'web.conf');
      fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(/(DOMAIN='certs8801\.example'.*?)LETSENCRYPT='no'/, "$1LETSENCRYPT='yes'"));
      assert.equal(webDomain().LETSENCRYPT, 'yes');
      const next = issueCert(ca, [DOMAIN, `*.${DOMAIN}`]);
      const from = commandsSince(node, 0).length;
      const { chain_id } = await uploadCustomCertificate(deps, WHMCS_ID, 'web', input(next), 'WHMCS client #7');
      // Its chain is active from the moment it is queued: a second change waits for it to end.
      await assert.rejects(uploadCustomCertificate(deps, WHMCS_ID, 'web', input(good), 'WHMCS client #7'), /A certificate change for your service is still in progress/);
      await assert.rejects(removeCustomCertificate(deps, WHMCS_ID, 'web', 'WHMCS client #7'), /A certificate change for your service is still in progress/);
      assert.equal(await chainEnds(chain_id), 'succeeded');
      assert.equal(served(), new X509Certificate(next.cert).fingerprint256);
      assert.equal(webDomain().LETSENCRYPT, 'no');
      const ran = commandsSince(node, from).filter((e) => e.ran).map((e) => (e.argv ?? [])[0]?.split('/').pop());
      assert.deepEqual(ran.filter((c) => /^v-(add|delete|change)-(web-domain-ssl|letsencrypt)/.test(c ?? '')), ['v-delete-letsencrypt-domain', 'v-add-web-domain-ssl'], 'Let\'s Encrypt and its certificate were taken off, then ours installed');
      assert.deepEqual((await customCertificateOf(tdb.db, serviceId, 'web'))?.names, [DOMAIN, `*.${DOMAIN}`]);
    });

    test('the mail role: a certificate for mail.<domain> is installed on the mail node and removed again', async () => {
      const svc = (await serviceByWhmcsId(tdb.db, WHMCS_ID))!;
      const mailNode = fleet.node(reg.names[svc.plan!.placement.mail!]!);
      const mailUser = svc.plan!.names.users.mail!;
      const mailServed = () => {
        const r = runHestia(mailNode.dir, 'v-list-mail-domain-ssl', [mailUser, DOMAIN, 'json']);
        assert.equal(r.code, 0, r.stdout);
        const crt = (JSON.parse(r.stdout)[DOMAIN] as Record<string, string>).CRT ?? '';
        return crt.trim() === '' ? null : new X509Certificate(crt).fingerprint256;
      };
      await assert.rejects(uploadCustomCertificate(deps, WHMCS_ID, 'mail', input(good), 'WHMCS client #7'), /does not cover mail\.certs8801\.example and webmail\.certs8801\.example: it covers certs8801\.example, www\.certs8801\.example/);
      // The names automatic SSL lists for the role: mail.<domain> and the webmail alias.
      const mailCert = issueCert(ca, [`mail.${DOMAIN}`, `webmail.${DOMAIN}`]);
      const up = await uploadCustomCertificate(deps, WHMCS_ID, 'mail', input(mailCert), 'WHMCS client #7');
      assert.equal(await chainEnds(up.chain_id), 'succeeded');
      assert.equal(mailServed(), new X509Certificate(mailCert.cert).fingerprint256);
      assert.equal((await tdb.db(T.ssl).where({ service_id: serviceId, domain: `mail.${DOMAIN}` }).first()).state, 'custom');
      const down = await removeCustomCertificate(deps, WHMCS_ID, 'mail', 'WHMCS client #7');
      assert.equal(await chainEnds(down.chain_id), 'succeeded');
      assert.equal(mailServed(), null);
      assert.equal((await tdb.db(T.ssl).where({ service_id: serviceId, domain: `mail.${DOMAIN}` }).first()).state, 'waiting-dns');
      assert.equal(await customCertificateOf(tdb.db, serviceId, 'mail'), null);
    });

    test('remove takes it off; automatic SSL resumes in fast mode', async () => {
      const before = Date.now();
      const { chain_id } = await removeCustomCertificate(deps, WHMCS_ID, 'web', 'WHMCS client #7');
      assert.equal(await chainEnds(chain_id), 'succeeded');
      assert.equal(served(), null);
      assert.equal(webDomain().SSL, 'no');
      const row = await sslRow();
      assert.equal(row.state, 'waiting-dns');
      assert.equal(Number(row.checks), 0);
      assert.ok(Number(row.next_check_at) <= Date.now() && Number(row.next_check_at) >= before - 1000);
      assert.equal(await customCertificateOf(tdb.db, serviceId, 'web'), null);
      assert.equal(await tdb.db(T.sslCustom).where('service_id', serviceId).first(), undefined);
    });

    test('the expiry job e-mails once for a certificate expiring in 5 days, not again on the next run', async () => {
      const soon = issueCert(ca, NAMES, { notAfter: new Date(Date.now() + 5 * DAY) });
      const { chain_id } = await uploadCustomCertificate(deps, WHMCS_ID, 'web', input(soon), 'WHMCS client #7');
      assert.equal(await chainEnds(chain_id), 'succeeded');
      const first = await daemon.core.scheduler.runNow('ssl-custom-expiry', () => {});
      assert.equal(first.result, 'ok', first.message);
      assert.match(String(first.message), /^1 expiry warning\(s\) queued/);
      const rows = await tdb.db(T.emailOutbox).where('template', 'ssl-custom-expiry');
      assert.equal(rows.length, 1);
      assert.equal(Number(rows[0].whmcs_service_id), WHMCS_ID);
      const vars = JSON.parse(rows[0].vars);
      assert.equal(vars.ssl_domain, DOMAIN);
      assert.equal(vars.ssl_days_left, '4');
      const again = await daemon.core.scheduler.runNow('ssl-custom-expiry', () => {});
      assert.match(String(again.message), /^0 expiry warning\(s\) queued/);
      assert.equal((await tdb.db(T.emailOutbox).where('template', 'ssl-custom-expiry')).length, 1);
    });

    test('a refusal by HestiaCP fails the install for good with HestiaCP\'s line, kept for the view', async () => {
      const suspend = runHestia(node.dir, 'v-suspend-web-domain', [user, DOMAIN]);
      assert.equal(suspend.code, 0, suspend.stdout);
      try {
        const other = issueCert(ca, NAMES);
        const { chain_id } = await uploadCustomCertificate(deps, WHMCS_ID, 'web', input(other), 'WHMCS client #7');
        assert.match(await chainEnds(chain_id), /^failed: HestiaCP refused to install the certificate: Error: web certs8801\.example is suspended/);
        const tries = await tdb.db(T.tasks).where('chain_id', chain_id).first('attempts');
        assert.equal(Number(tries.attempts), 1, 'a refusal is not retried');
        const view = await customCertificateOf(tdb.db, serviceId, 'web');
        assert.deepEqual({ pending: view?.pending, state: view?.state }, { pending: false, state: 'installing' });
        assert.match(String(view?.lastError), /^HestiaCP refused to install the certificate: Error: web certs8801\.example is suspended/);
      } finally {
        runHestia(node.dir, 'v-unsuspend-web-domain', [user, DOMAIN]);
      }
    });

    test('the key is in no task argument, task log, Operation Log entry, e-mail or command line', async () => {
      const texts = [
        JSON.stringify(await tdb.db(T.tasks).where('service_id', serviceId).select('args', 'last_error', 'result')),
        JSON.stringify(await tdb.db(T.attempts).select('output', 'error')),
        JSON.stringify(await tdb.db(T.oplog).select('message', 'error')),
        JSON.stringify(await tdb.db(T.emailOutbox).select('vars', 'last_error')),
        JSON.stringify(commandsSince(node, 0).map((e) => e.argv)),
      ];
      const oplog = await tdb.db(T.oplog).where({ kind: 'action', whmcs_service_id: WHMCS_ID }).pluck('message');
      assert.ok(oplog.some((m: string) => /upload a custom web certificate: certificate .* is being installed/.test(m)), JSON.stringify(oplog));
      assert.ok(oplog.some((m: string) => /upload a custom web certificate: refused: private_key: does not match/.test(m)));
      assert.ok((await tdb.db(T.oplog).where({ kind: 'action', whmcs_service_id: WHMCS_ID }).pluck('actor')).every((a: string) => a === 'WHMCS client #7' || a === 'x'));
      for (const line of keyLines) for (const t of texts) assert.ok(!t.includes(line), 'a line of the private key leaked');
    });
  });
}
