// E-mails through WHMCS (SendEmail, via the outbox): a VM deployment queues exactly one vm-ready
// e-mail with the access details and no password; delivery sends SendEmail once with the template
// named in the settings and the merge fields as PHP-serialized customvars; while WHMCS is down the
// e-mail stays pending and goes out later; a refusal (an unknown template) is kept, with WHMCS's
// message, and not sent again. The daemon on both dialects, WHMCS's tables on MariaDB.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { call } from '../helpers/api.ts';
import { createTestDb, DIALECTS, tmpDir, waitFor, type TestDb } from '../helpers/db.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { kvmOrderBody, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import { createWhmcsTables, startWhmcsStandin, type WhmcsStandin } from '../helpers/whmcs.ts';
import type { Daemon } from '../../daemon/runtime.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { queueEmail } from '../../daemon/whmcs/email-outbox.ts';
import { T } from '../../daemon/common/tables.ts';

const CREDS = { identifier: 'hbIdentifier0123', secret: 'hbApiSecret-9876543210' };
const PASSWORD = 'Vm-Pa55word!';

for (const dialect of DIALECTS) {
  describe(`e-mails through WHMCS (${dialect} daemon)`, () => {
    const ID = dialect === 'mysql' ? 8402 : 8401;
    let dir: string;
    let t: TestDb | null = null;
    let w: TestDb;
    let daemon: Daemon;
    let lab: KvmLab;
    let whmcs: WhmcsStandin;
    const set = async (k: string, v: string, secret = false) => {
      await writeSetting(daemon.core.db, k, v, secret ? daemon.core.config.masterKey : undefined);
      await daemon.core.settings.refresh();
    };
    const deliver = async () => {
      const r = await daemon.core.scheduler.runNow('deliver-emails', () => {});
      assert.equal(r.result, 'ok', r.message);
      return r.message ?? '';
    };
    const outbox = () => daemon.core.db(T.emailOutbox).orderBy('id').select();
    const sent = () => whmcs.calls.filter((c) => c.action === 'SendEmail');

    before(async () => {
      dir = tmpDir('hb-emails-');
      if (dialect === 'mysql') t = await createTestDb('mysql', { migrate: false });
      daemon = await startTestDaemon(dir, t?.url, { HOSTBRIDGE_POLL_MS: '50', HOSTBRIDGE_SCHEDULER_INTERVAL: '3600' });
      w = t ?? await createTestDb('mysql', { migrate: false });
      await createWhmcsTables(w.db);
      await w.db('tblclients').insert({ id: 7, firstname: 'Ada', lastname: 'Owner', email: 'owner@example.com' });
      await w.db('tblhosting').insert({ id: ID, userid: 7, packageid: 9, server: 1, regdate: '2026-12-06', domain: 'ready.example.org', username: `u${ID}`, password: '' });
      whmcs = await startWhmcsStandin(w.db, CREDS);
      await set('whmcs.api_url', whmcs.url); // the deploy writes the VM's addresses to WHMCS too
      await set('whmcs.api_identifier', CREDS.identifier);
      await set('whmcs.api_secret', CREDS.secret, true);
      await set('emails.enabled', 'true');
      lab = await startKvmLab(daemon.url);
    });
    after(async () => {
      await daemon?.stop();
      await lab?.close();
      await whmcs?.stop();
      if (w && w !== t) await w.drop();
      await t?.drop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('a VM deployment queues exactly one vm-ready e-mail with the access details and no password', async () => {
      const r = await call(daemon.url, 'POST', '/v1/services', kvmOrderBody(ID, 'ready.example.org', { password: PASSWORD }));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitFor('the VM to be deployed', async () => (await call(daemon.url, 'GET', `/v1/services/${ID}`)).body.service?.state === 'active', 60_000, 50);
      const rows = await outbox();
      assert.equal(rows.length, 1, JSON.stringify(rows));
      const svc = await daemon.core.db(T.services).where('whmcs_service_id', ID).first('id');
      const chain = await daemon.core.db(T.chains).where({ service_id: svc.id, operation: 'deploy' }).first('id');
      assert.equal(rows[0].dedupe_key, `vm-ready:${svc.id}:${chain.id}`);
      assert.equal(rows[0].template, 'vm-ready');
      assert.equal(rows[0].state, 'pending');
      const addresses = await lab.addresses(ID);
      assert.deepEqual(JSON.parse(rows[0].vars), {
        vm_hostname: 'ready.example.org', vm_ipv4: addresses.find((a) => !a.includes(':')), vm_ipv6: addresses.find((a) => a.includes(':')), vm_os: 'Debian 12', vm_username: 'root',
      });
      assert.ok(!JSON.stringify(rows).includes(PASSWORD), 'the password is never in the outbox');
      // The same intent again (a rerun of the hook, another daemon) changes nothing.
      await queueEmail(daemon.core.db, { whmcsServiceId: ID, template: 'vm-ready', vars: { vm_hostname: 'x' }, dedupeKey: rows[0].dedupe_key });
      assert.equal((await outbox()).length, 1);
      // A Verify & Repair ends another chain: no second "VM is ready".
      assert.equal((await call(daemon.url, 'POST', `/v1/services/${ID}/actions/verify-repair`, {})).status, 200);
      await waitFor('the repair to end', async () => {
        const open = await daemon.core.db(T.chains).where('service_id', svc.id).whereIn('state', ['running', 'waiting']).count({ n: '*' });
        return Number(open[0]!.n) === 0;
      }, 60_000, 50);
      assert.equal((await outbox()).length, 1);
    });

    test('a merge field that could carry a secret is refused, naming it, and nothing is queued', async () => {
      await assert.rejects(queueEmail(daemon.core.db, { whmcsServiceId: ID, template: 'backup-restored', vars: { root_password: 'x' }, dedupeKey: 'k1' }), /vars\.root_password/);
      assert.equal((await outbox()).length, 1);
    });

    test('WHMCS down: the e-mail stays pending with why, and is sent once when WHMCS is back', async () => {
      await set('whmcs.api_url', 'http://127.0.0.1:1/includes/api.php'); // nothing listens on port 1
      assert.match(await deliver(), /sent 0 e-mail\(s\), 1 not delivered/);
      let [row] = await outbox();
      assert.equal(row.state, 'pending');
      assert.equal(Number(row.attempts), 1);
      assert.match(row.last_error, /unreachable/);
      assert.ok(Number(row.next_attempt_at) > Date.now(), 'backed off');
      await set('whmcs.api_url', whmcs.url);
      assert.match(await deliver(), /sent 0 e-mail/, 'not before its back-off');
      await daemon.core.db(T.emailOutbox).update({ next_attempt_at: 0 }); // the back-off has passed
      assert.match(await deliver(), /sent 1 e-mail/);
      [row] = await outbox();
      assert.equal(row.state, 'delivered');
      assert.equal(sent().length, 1);
      const p = sent()[0]!.params;
      assert.equal(p.messagename, 'VPS Ready');
      assert.equal(p.id, String(ID));
      // customvars as WHMCS reads it: PHP's unserialize of the base64.
      const vars = JSON.parse(execFileSync('php', ['-r', 'echo json_encode(unserialize(base64_decode($argv[1])));', p.customvars!], { encoding: 'utf8' }));
      assert.equal(vars.vm_hostname, 'ready.example.org');
      assert.equal(vars.vm_username, 'root');
      await deliver();
      assert.equal(sent().length, 1, 'sent once');
    });

    test('a refusal (a template WHMCS does not have) is kept with WHMCS\'s message and not sent again', async () => {
      await set('emails.backup_restored_template', 'No Such Template');
      await queueEmail(daemon.core.db, { whmcsServiceId: ID, template: 'backup-restored', vars: { vm_hostname: 'ready.example.org' }, dedupeKey: `backup-restored:${ID}:1` });
      assert.match(await deliver(), /1 refused by WHMCS/);
      const row = (await outbox()).find((r) => r.template === 'backup-restored');
      assert.equal(row.state, 'refused');
      assert.match(row.last_error, /Email Template not found/);
      const calls = sent().length;
      await daemon.core.db(T.emailOutbox).update({ next_attempt_at: 0 });
      await deliver();
      assert.equal(sent().length, calls, 'not tried again');
    });
  });
}
