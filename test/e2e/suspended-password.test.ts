// ChangePassword on a suspended service, through the PHP module (issue 15, defect 1). HestiaCP
// refuses a suspended user's and a suspended mailbox's new password (v-change-user-password and
// v-change-mail-account-password exit 5, E_SUSPENDED): WHMCS must not be told 'success' for a
// change that then fails and opens a ticket. The call is accepted, no command reaches a node while
// the service is suspended, a second change replaces the first, the Unsuspend sets the newest one
// on every account the password change sets (Split: web and mail users; Vanity: web user and
// mailbox), and a Terminate drops a password still waiting (docs/whmcs.md).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { passwordHash } from '../emulator/hestia/commands/users.ts';
import { commandsSince, nodeSummary, PROVIDER_USER, VANITY_PARENT, type NodeSummary } from '../helpers/fleet.ts';
import { DIALECTS } from '../helpers/db.ts';
import { readCommandLog, runHestia } from '../emulator/hestia/index.ts';
import { ok, startE2E, type E2E, type Order } from './whmcs.ts';

for (const dialect of DIALECTS) {
  describe(`ChangePassword on a suspended service, end to end (${dialect})`, () => {
    let e: E2E;
    const a: Order = { serviceId: 7301, mode: 'split', domain: 'locked-out.example.com' };
    const v: Order = { serviceId: 7302, mode: 'vanity', domain: 'carol.sites.example.net', vanityName: 'carol' };
    const names: Record<number, { users: Record<string, string> }> = {};
    const placed: Record<number, Record<string, string>> = {};

    const dump = async (o: Order) => JSON.stringify(await e.tasks(o.serviceId), null, 1).slice(0, 8000);
    const row = async (o: Order) => e.db('mod_hostbridge_services').where('whmcs_service_id', o.serviceId).first('id', 'state', 'names');
    const pending = async (o: Order) => JSON.parse((await row(o)).names).password_pending === true;
    const user = (sum: Record<string, NodeSummary>, node: string, u: string) => sum[node]!.state.users[u]!;
    const mailbox = (sum: Record<string, NodeSummary>, account: string) =>
      user(sum, 'mail1', PROVIDER_USER).mail.find((m) => m.domain.DOMAIN === VANITY_PARENT)!.accounts.find((x) => x.ACCOUNT === account)!;
    /** The module call answered 'success' and every chain it queued ended well, leaving the service in `state`. */
    const run = async (fn: string, o: Order, state: string, extra: Record<string, unknown> = {}) => {
      ok(await e.module(fn, o, extra), `${fn} ${o.serviceId}`);
      const svc = await e.waitState(o.serviceId, [state, 'failed', 'terminate-failed'], 60_000);
      assert.equal(svc.state, state, `${fn} ${o.serviceId}: ${await dump(o)}`);
      const chain = await e.db('mod_hostbridge_chains').where('service_id', (await row(o)).id).orderBy('id', 'desc').first('operation', 'state', 'error');
      assert.equal(chain.state, 'succeeded', `${fn} ${o.serviceId}: chain ${chain.operation} ${chain.state} ${chain.error ?? ''}\n${await dump(o)}`);
      return svc;
    };
    /** What must not follow a password change on a suspended service: a failed task, a ticket. */
    const noFailureNorTicket = async (o: Order) => {
      const id = (await row(o)).id;
      assert.deepEqual(await e.db('mod_hostbridge_tasks').where('service_id', id).whereIn('status', ['failed', 'retrying']).pluck('step'), [], await dump(o));
      assert.equal((await e.db('mod_hostbridge_ticket_outbox').where('service_id', id)).length, 0, 'no ticket is opened');
    };

    before(async () => {
      e = await startE2E({ dialect });
      // A refused command fails fast: the old behaviour shows as a failed task, not a long retry.
      await e.setting('retry.max_attempts', '2');
      await e.setting('retry.base_ms', '100');
      await e.setting('retry.cap_ms', '200');
      for (const o of [a, v]) ok(await e.module('CreateAccount', o), `CreateAccount ${o.serviceId}`);
      for (const o of [a, v]) {
        const svc = await e.waitState(o.serviceId, ['active', 'failed'], 90_000);
        assert.equal(svc.state, 'active', await dump(o));
        names[o.serviceId] = JSON.parse((await row(o)).names);
        placed[o.serviceId] = Object.fromEntries((svc.accounts as { role: string; server: string }[]).filter((x) => x.role !== 'dns' && x.role !== 'record').map((x) => [x.role, x.server]));
      }
    });
    after(async () => { await e?.close(); });

    test('the emulator refuses a suspended user\'s and a suspended mailbox\'s new password with exit 5, as HestiaCP does', () => {
      // The exit code itself, from the emulator's CLI run on the node's files (HestiaCP: is_object_unsuspended, E_SUSPENDED).
      const n = names[a.serviceId]!;
      const web = e.fleet.node(placed[a.serviceId]!.web!);
      const r1 = runHestia(web.dir, 'v-suspend-user', [n.users.web!]);
      assert.equal(r1.code, 0, r1.stdout);
      const r2 = runHestia(web.dir, 'v-change-user-password', [n.users.web!, 'Any-Passw0rd-1']);
      assert.equal(r2.code, 5, r2.stdout);
      assert.equal(r2.stdout, `Error: user ${n.users.web} is suspended\n`);
      assert.equal(runHestia(web.dir, 'v-unsuspend-user', [n.users.web!]).code, 0);
      const mail = e.fleet.node('mail1');
      assert.equal(runHestia(mail.dir, 'v-suspend-mail-account', [PROVIDER_USER, VANITY_PARENT, 'carol']).code, 0);
      const r3 = runHestia(mail.dir, 'v-change-mail-account-password', [PROVIDER_USER, VANITY_PARENT, 'carol', 'Any-Passw0rd-1']);
      assert.equal(r3.code, 5, r3.stdout);
      assert.equal(runHestia(mail.dir, 'v-unsuspend-mail-account', [PROVIDER_USER, VANITY_PARENT, 'carol']).code, 0);
      assert.equal(r3.stdout, `Error: ${VANITY_PARENT} carol is suspended\n`);
    });

    test('suspended: ChangePassword answers success, runs no command on any node, fails nothing and opens no ticket; the Unsuspend sets the newest password everywhere', async () => {
      for (const o of [a, v]) await run('SuspendAccount', o, 'suspended', { suspendreason: 'Overdue on Payment' });
      const before = nodeSummary(e.fleet);
      const logAt = new Map(e.fleet.nodes.map((n) => [n.name, readCommandLog(n.dir).length]));
      const first = 'F1rst-Passw0rd-2026!';
      const newest = 'N3west-Passw0rd-2026!';
      for (const o of [a, v]) {
        await run('ChangePassword', { ...o, password: first }, 'suspended');
        // A second change while suspended replaces the first.
        await run('ChangePassword', { ...o, password: newest }, 'suspended');
        await noFailureNorTicket(o);
        assert.equal(await pending(o), true, 'the new password waits for the Unsuspend');
        // What the customer and the admin read on the service's timeline.
        const svc = await e.service(o.serviceId);
        assert.equal(svc.progress.operation, 'change-password');
        assert.match(svc.progress.steps.map((s: { label: string }) => s.label).join(' | '), /set when the service is unsuspended/);
      }
      for (const n of e.fleet.nodes) assert.deepEqual(commandsSince(n, logAt.get(n.name)!).map((c) => c.command), [], `no command runs on ${n.name} while the service is suspended`);
      assert.deepEqual(nodeSummary(e.fleet), before, 'no node changed');

      for (const o of [a, v]) await run('UnsuspendAccount', o, 'active');
      const sum = nodeSummary(e.fleet);
      const n = names[a.serviceId]!;
      assert.equal(user(sum, placed[a.serviceId]!.web!, n.users.web!).conf.MD5, passwordHash(newest), 'the web user has the newest password');
      assert.equal(user(sum, placed[a.serviceId]!.mail!, n.users.mail!).conf.MD5, passwordHash(newest), 'the mail user has the newest password');
      assert.equal(user(sum, placed[a.serviceId]!.web!, n.users.web!).suspended, false);
      for (const ns of e.fleet.dns) assert.equal(user(sum, ns.name, n.users.dns!).conf.MD5, user(before, ns.name, n.users.dns!).conf.MD5, `the DNS-only user on ${ns.name} keeps its password`);
      const nv = names[v.serviceId]!;
      assert.equal(user(sum, placed[v.serviceId]!.web!, nv.users.web!).conf.MD5, passwordHash(newest), 'the vanity web user has the newest password');
      assert.equal(mailbox(sum, 'carol').MD5, passwordHash(newest), 'the vanity mailbox has the newest password');
      assert.equal(mailbox(sum, 'carol').SUSPENDED, 'no');
      assert.equal(user(sum, 'mail1', PROVIDER_USER).conf.MD5, user(before, 'mail1', PROVIDER_USER).conf.MD5, 'the provider\'s own password is untouched');
      for (const o of [a, v]) {
        assert.equal(await pending(o), false, 'nothing waits any more');
        await noFailureNorTicket(o);
      }

      // Active again: a password change goes straight to the accounts, as before.
      const later = 'L4ter-Passw0rd-2026!';
      await run('ChangePassword', { ...a, password: later }, 'active');
      assert.equal(user(nodeSummary(e.fleet), placed[a.serviceId]!.web!, n.users.web!).conf.MD5, passwordHash(later));
    });

    test('a Terminate drops a password that was waiting for the Unsuspend', async () => {
      await run('SuspendAccount', a, 'suspended', { suspendreason: 'Overdue on Payment' });
      await run('ChangePassword', { ...a, password: 'Dr0pped-Passw0rd!' }, 'suspended');
      assert.equal(await pending(a), true);
      await run('TerminateAccount', a, 'terminated');
      assert.equal(await pending(a), false, 'the terminated service has no password waiting');
      await noFailureNorTicket(a);
    });

    test('a mailbox suspended by hand on its node: the change reaches the rest, the mailbox gets it at the next Unsuspend', async () => {
      assert.equal(runHestia(e.fleet.node('mail1').dir, 'v-suspend-mail-account', [PROVIDER_USER, VANITY_PARENT, 'carol']).code, 0);
      const pw = 'By-H4nd-Passw0rd!';
      await run('ChangePassword', { ...v, password: pw }, 'active');
      await noFailureNorTicket(v);
      let sum = nodeSummary(e.fleet);
      assert.equal(user(sum, placed[v.serviceId]!.web!, names[v.serviceId]!.users.web!).conf.MD5, passwordHash(pw), 'the web user has it at once');
      assert.notEqual(mailbox(sum, 'carol').MD5, passwordHash(pw), 'the suspended mailbox not yet');
      assert.equal(await pending(v), true);
      await run('UnsuspendAccount', v, 'active');
      sum = nodeSummary(e.fleet);
      assert.equal(mailbox(sum, 'carol').SUSPENDED, 'no');
      assert.equal(mailbox(sum, 'carol').MD5, passwordHash(pw), 'the mailbox has it after the Unsuspend');
      assert.equal(await pending(v), false);
    });
  });
}
