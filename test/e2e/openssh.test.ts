// A Split service's whole life over Debian's OpenSSH instead of the in-process SSH server: the PHP
// module as WHMCS calls it → the daemon → its real SSH driver → sshd (stock MaxSessions and
// MaxStartups) → `[sudo -n] <hestia_bin>/v-…` shims → the HestiaCP emulator's CLI on each node's
// files. Once logged in as root, once as a NOPASSWD sudo user. After every step each node holds
// what the step says, and the nodes' command logs and sshd's own log show that every command
// came in through sshd as that user.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Daemon } from '../../daemon/runtime.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { readNode, type NodeState } from '../emulator/hestia/index.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { createTestDb, tmpDir, waitFor, type TestDb } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { NAMESERVERS } from '../helpers/fleet.ts';
import { registerOpenSshFleet, startOpenSshFleet, type Login, type OpenSshFleet, type RegisteredOpenSshFleet } from '../helpers/openssh-fleet.ts';
import { moduleCall, ok, whmcsParams, type Order } from './whmcs.ts';

type User = NodeState['users'][string];

for (const login of ['root', 'sudo'] as Login[]) {
  describe(`Split lifecycle over OpenSSH, logged in as ${login === 'root' ? 'root' : 'a NOPASSWD sudo user'}`, () => {
    let fleet: OpenSshFleet;
    let reg: RegisteredOpenSshFleet;
    let daemon: Daemon;
    let tdb: TestDb;
    let db: Knex;
    let dir: string;
    const order: Order = { serviceId: login === 'root' ? 7001 : 7002, mode: 'split', domain: `${login}-ssh.example.com` };
    let names: { users: Record<string, string>; packages: Record<string, string> };

    const user = (node: string, name: string): User | undefined => readNode(fleet.node(node).dir).users[name];
    const tasks = async () => {
      const svc = await db('mod_hostbridge_services').where('whmcs_service_id', order.serviceId).first('id');
      if (!svc) return [];
      const rows = await db('mod_hostbridge_tasks').where('service_id', svc.id).orderBy('id').select('id', 'operation', 'type', 'target', 'status', 'attempts', 'last_error');
      for (const t of rows) t.output = (await db('mod_hostbridge_task_attempts').where('task_id', t.id).orderBy('id').select('output')).map((a: { output: string | null }) => String(a.output ?? '').slice(-1500));
      return rows;
    };
    /** The operation through the PHP module, then its chain to the end: it must have succeeded. */
    const step = async (fn: string, state: string, extra: Record<string, unknown> = {}) => {
      ok(await moduleCall(fn, { ...whmcsParams(daemon.url, reg.groupId, order), ...extra }), `${fn} ${order.serviceId}`);
      const chain = await waitFor(`${fn}'s chain to finish`, async () => {
        const c = await db('mod_hostbridge_chains').join('mod_hostbridge_services', 'mod_hostbridge_services.id', 'mod_hostbridge_chains.service_id')
          .where('mod_hostbridge_services.whmcs_service_id', order.serviceId).orderBy('mod_hostbridge_chains.id', 'desc')
          .first('mod_hostbridge_chains.state', 'mod_hostbridge_chains.error', 'mod_hostbridge_chains.operation');
        return c && !['running', 'waiting'].includes(c.state) ? c : null;
      }, 60_000, 50);
      const svc = (await call(daemon.url, 'GET', `/v1/services/${order.serviceId}`)).body.service;
      if (chain.state !== 'succeeded' || svc.state !== state) {
        assert.fail(`${fn}: chain ${chain.operation} ${chain.state} ${chain.error ?? ''}, service ${svc.state} (wanted ${state})\n${JSON.stringify(await tasks(), null, 1).slice(0, 8000)}`);
      }
      return svc;
    };

    before(async () => {
      dir = tmpDir('hb-openssh-e2e-');
      tdb = await createTestDb('sqlite', { migrate: false });
      db = tdb.db;
      fleet = await startOpenSshFleet(login);
      daemon = await startTestDaemon(dir, tdb.url, { HOSTBRIDGE_POLL_MS: '50' });
      reg = await registerOpenSshFleet(daemon.url, fleet, `openssh-${login}`);
      // The scheduler's health checks and usage syncs run once, now, and not during the steps.
      for (const job of ['check-servers', 'sync-usage']) await writeSetting(db, `scheduler.${job}.interval_s`, '86400');
      await daemon.core.settings.refresh();
      await daemon.core.scheduler.pass(() => {});
      await waitFor('the first health checks', async () => Number((await db('mod_hostbridge_tasks').whereIn('operation', ['health', 'usage'])
        .whereNotIn('status', ['succeeded', 'failed', 'cancelled']).count({ n: '*' }))[0]!.n) === 0, 30_000);
    });
    after(async () => {
      await daemon?.stop().catch(() => {});
      await fleet?.close().catch(() => {});
      await tdb?.drop().catch(() => {});
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('every node\'s sshd runs with OpenSSH\'s own MaxSessions and MaxStartups', () => {
      for (const n of fleet.nodes) {
        const conf = fs.readFileSync(path.join(n.sshd.dir, 'sshd_config'), 'utf8');
        assert.doesNotMatch(conf, /MaxSessions|MaxStartups/i, `${n.name}'s sshd_config sets a session limit`);
        const eff = n.sshd.effectiveConfig();
        assert.equal(eff.maxsessions, '10', `${n.name} maxsessions`);
        assert.equal(eff.maxstartups, '10:30:100', `${n.name} maxstartups`);
      }
    });

    test('CreateAccount: web user, package and domain on web1, mail domain with DKIM on mail1, zone on ns1', async () => {
      const svc = await step('CreateAccount', 'active');
      names = JSON.parse((await db('mod_hostbridge_services').where('whmcs_service_id', order.serviceId).first('names')).names);
      const placed = Object.fromEntries((svc.accounts as { role: string; server: string }[]).map((a) => [a.role, a.server]));
      assert.deepEqual(placed, { web: `openssh-${login}-web1`, mail: `openssh-${login}-mail1`, dns: `openssh-${login}-ns1` }, JSON.stringify(svc.accounts));
      const { web: w, mail: m, dns: d } = names.users as { web: string; mail: string; dns: string };

      const web = user('web1', w)!;
      assert.ok(web, `${w} on web1`);
      assert.equal(web.package, names.packages.web);
      assert.ok(readNode(fleet.node('web1').dir).packages[names.packages.web!], `package ${names.packages.web} on web1`);
      assert.deepEqual(web.web.map((x) => [x.DOMAIN, x.IP]), [[order.domain, fleet.node('web1').ip]]);
      assert.equal(web.suspended, false);

      const mail = user('mail1', m)!;
      assert.ok(mail, `${m} on mail1`);
      assert.equal(mail.package, names.packages.mail);
      assert.deepEqual(mail.mail.map((x) => [x.domain.DOMAIN, x.dkim]), [[order.domain, true]]);

      const dns = user('ns1', d)!;
      assert.ok(dns, `${d} on ns1`);
      assert.deepEqual(dns.dns.map((z) => z.zone.DOMAIN), [order.domain]);
      const recs = dns.dns[0]!.records.map((r) => `${r.RECORD} ${r.TYPE} ${r.VALUE}`);
      assert.ok(recs.includes(`@ A ${fleet.node('web1').ip}`), `apex A → web1: ${recs.join(' | ')}`);
      assert.ok(recs.includes(`mail A ${fleet.node('mail1').ip}`), `mail A → mail1: ${recs.join(' | ')}`);
      assert.ok(recs.some((r) => /^@ MX /.test(r) && r.includes(`mail.${order.domain}`)), `MX: ${recs.join(' | ')}`);
      for (const ns of NAMESERVERS) assert.ok(recs.some((r) => r.startsWith('@ NS ') && r.includes(ns)), `NS ${ns}: ${recs.join(' | ')}`);
      assert.ok(recs.some((r) => r.startsWith('mail._domainkey TXT ')), `DKIM record: ${recs.join(' | ')}`);

      // Each role on its own node only.
      for (const n of fleet.nodes) {
        const users = Object.keys(readNode(n.dir).users);
        for (const [role, u] of Object.entries(names.users)) {
          const home = role === 'dns' ? 'ns1' : role === 'web' ? 'web1' : 'mail1';
          assert.equal(users.includes(u), n.name === home, `${role} user ${u} on ${n.name}`);
        }
      }
    });

    test('Suspend: the service\'s user is suspended on every node', async () => {
      await step('SuspendAccount', 'suspended', { suspendreason: 'Overdue on Payment' });
      for (const [node, role] of [['web1', 'web'], ['mail1', 'mail'], ['ns1', 'dns']] as const) {
        assert.equal(user(node, names.users[role]!)!.suspended, true, `${role} user suspended on ${node}`);
      }
      assert.equal(user('web1', names.users.web!)!.web[0]!.SUSPENDED, 'yes', 'web domain suspended with its user');
      assert.equal(user('ns1', names.users.dns!)!.dns[0]!.zone.SUSPENDED, 'yes', 'zone suspended with its user');
    });

    test('Unsuspend: active again on every node', async () => {
      await step('UnsuspendAccount', 'active');
      for (const [node, role] of [['web1', 'web'], ['mail1', 'mail'], ['ns1', 'dns']] as const) {
        assert.equal(user(node, names.users[role]!)!.suspended, false, `${role} user active on ${node}`);
      }
      assert.equal(user('web1', names.users.web!)!.web[0]!.SUSPENDED, 'no');
      assert.equal(user('ns1', names.users.dns!)!.dns[0]!.zone.SUSPENDED, 'no');
    });

    test('Terminate: users, packages, domains and the zone are gone from every node', async () => {
      await step('TerminateAccount', 'terminated');
      for (const n of fleet.nodes) {
        const s = readNode(n.dir);
        assert.deepEqual(Object.keys(s.users), ['admin'], `users left on ${n.name}`);
        for (const p of Object.values(names.packages)) assert.ok(!s.packages[p], `package ${p} left on ${n.name}`);
      }
    });

    test(`every command came through sshd as ${login === 'root' ? 'root' : 'the sudo user, each v-command through sudo -n'}`, async () => {
      const username = fleet.user.username;
      for (const n of fleet.nodes) {
        const log = fleet.commandLog(n.name);
        // Only the CLI behind the shims writes entries noted "cli": nothing reached the files another way.
        assert.ok(log.length >= 3, `${n.name} ran ${log.length} commands`);
        for (const e of log) {
          assert.deepEqual([e.note, e.user, e.runAs, e.ran], ['cli', username, 'root', true], `${n.name}: ${JSON.stringify(e)}`);
        }
        const accepted = [...n.sshd.fullOutput().matchAll(/Accepted publickey for (\S+) from 127\.0\.0\.1/g)].map((m) => m[1]);
        assert.ok(accepted.length >= 1, `${n.name}'s sshd logged no login:\n${n.sshd.output()}`);
        assert.deepEqual([...new Set(accepted)], [username], `${n.name}'s sshd logins`);
      }
      // The driver's own lines: the command as it was sent.
      const lines = (await tasks()).flatMap((t) => t.output as string[]).join('\n');
      const add = new RegExp(`^\\$ ${login === 'root' ? '' : 'sudo -n '}'${fleet.node('web1').binDir}/v-add-user' '${names.users.web}' `, 'm');
      assert.match(lines, add);
      if (login === 'root') assert.doesNotMatch(lines, /^\$ sudo /m, 'root needs no sudo');
      else assert.doesNotMatch(lines, /^\$ '\//m, 'a v-command ran without sudo as the sudo user');
    });
  });
}
