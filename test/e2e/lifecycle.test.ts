// Lifecycle end to end through the PHP module: Suspend, Unsuspend, ChangePackage, ChangePassword,
// Terminate and ForceTerminate leave every emulated node as expected, and a Vanity service's
// operations never touch the provider's parent domain, zone or shared mail user (vanitySnapshot).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { passwordHash } from '../emulator/hestia/commands/users.ts';
import { nodeSummary, vanitySnapshot, PROVIDER_USER, VANITY_PARENT, type NodeSummary } from '../helpers/fleet.ts';
import { DIALECTS } from '../helpers/db.ts';
import { ok, startE2E, type E2E, type Order } from './whmcs.ts';

for (const dialect of DIALECTS) {
  describe(`lifecycle end to end (PHP module → daemon → emulated fleet) (${dialect})`, () => {
    let e: E2E;
    const a: Order = { serviceId: 5001, mode: 'split', domain: 'alpha.example.com' };
    const b: Order = { serviceId: 5002, mode: 'split', domain: 'bravo.example.com' };
    const v: Order = { serviceId: 5101, mode: 'vanity', domain: 'bob.sites.example.net', vanityName: 'bob' };
    const names: Record<number, { users: Record<string, string>; packages: Record<string, string> }> = {};
    const placed: Record<number, Record<string, string[]>> = {};
    let parent: Record<string, string>;
    const vanityUnchanged = async (after: string) => assert.deepEqual(await vanitySnapshot(e.fleet, ['bob']), parent, `the provider's parent changed after ${after}`);

    const run = async (fn: string, o: Order, states: string[], extra: Record<string, unknown> = {}) => {
      ok(await e.module(fn, o, extra), `${fn} ${o.serviceId}`);
      const svc = await e.waitState(o.serviceId, [...states, 'failed', 'terminate-failed'], 60_000);
      if (!states.includes(svc.state)) assert.fail(`${fn} ${o.serviceId} left the service ${svc.state}: ${JSON.stringify(await e.tasks(o.serviceId), null, 1).slice(0, 8000)}`);
      // The last chain of the operation must have finished well, not just the state look right.
      const chain = await e.db('mod_hostbridge_chains').join('mod_hostbridge_services', 'mod_hostbridge_services.id', 'mod_hostbridge_chains.service_id')
        .where('mod_hostbridge_services.whmcs_service_id', o.serviceId).orderBy('mod_hostbridge_chains.id', 'desc').first('mod_hostbridge_chains.state', 'mod_hostbridge_chains.error', 'mod_hostbridge_chains.operation');
      assert.equal(chain.state, 'succeeded', `${fn} ${o.serviceId}: chain ${chain.operation} ${chain.state} ${chain.error ?? ''}\n${JSON.stringify(await e.tasks(o.serviceId), null, 1).slice(0, 8000)}`);
      return svc;
    };
    const user = (sum: Record<string, NodeSummary>, node: string, u: string) => sum[node]!.state.users[u];

    before(async () => {
      e = await startE2E({ dialect });
      parent = await vanitySnapshot(e.fleet, ['bob']);
      for (const o of [a, b, v]) ok(await e.module('CreateAccount', o), `CreateAccount ${o.serviceId}`);
      for (const o of [a, b, v]) {
        const svc = await e.waitState(o.serviceId, ['active', 'failed'], 90_000);
        if (svc.state !== 'active') assert.fail(`deploy ${o.serviceId} ended ${svc.state}: ${JSON.stringify(await e.tasks(o.serviceId), null, 1).slice(0, 8000)}`);
        names[o.serviceId] = JSON.parse((await e.db('mod_hostbridge_services').where('whmcs_service_id', o.serviceId).first('names')).names);
        placed[o.serviceId] = {};
        for (const acc of svc.accounts as { role: string; server: string }[]) (placed[o.serviceId]![acc.role] ??= []).push(acc.server);
      }
      await vanityUnchanged('deploy');
    });
    after(async () => { await e?.close(); });

    test('Suspend: the service\'s users are suspended on every node; the vanity mailbox and records only', async () => {
      await run('SuspendAccount', a, ['suspended'], { suspendreason: 'Overdue on Payment' });
      await run('SuspendAccount', v, ['suspended'], { suspendreason: 'Overdue on Payment' });
      const sum = nodeSummary(e.fleet);
      const n = names[a.serviceId]!;
      assert.equal(user(sum, placed[a.serviceId]!.web![0]!, n.users.web!)!.suspended, true, 'web user suspended');
      assert.equal(user(sum, placed[a.serviceId]!.mail![0]!, n.users.mail!)!.suspended, true, 'mail user suspended');
      for (const ns of e.fleet.dns) assert.equal(user(sum, ns.name, n.users.dns!)!.suspended, true, `DNS user suspended on ${ns.name}`);
      // b is untouched.
      const nb = names[b.serviceId]!;
      assert.equal(user(sum, placed[b.serviceId]!.web![0]!, nb.users.web!)!.suspended, false);
      // Vanity: its web user, its mailbox and its records; the provider stays active.
      const nv = names[v.serviceId]!;
      assert.equal(user(sum, placed[v.serviceId]!.web![0]!, nv.users.web!)!.suspended, true);
      const prov = user(sum, 'mail1', PROVIDER_USER)!;
      assert.equal(prov.suspended, false, 'the provider mail user must never be suspended');
      const boxes = prov.mail.find((m) => m.domain.DOMAIN === VANITY_PARENT)!;
      assert.equal(boxes.domain.SUSPENDED, 'no');
      assert.deepEqual(boxes.accounts.map((x) => [x.ACCOUNT, x.SUSPENDED]).sort(), [['bob', 'yes'], ['info', 'no']]);
      for (const ns of e.fleet.dns) {
        const zone = user(sum, ns.name, PROVIDER_USER)!.dns.find((z) => z.zone.DOMAIN === VANITY_PARENT)!;
        assert.equal(zone.zone.SUSPENDED, 'no', `the parent zone on ${ns.name} stays active`);
        assert.deepEqual(zone.records.filter((r) => r.RECORD === 'bob').map((r) => r.SUSPENDED), ['yes'], `record bob suspended on ${ns.name}`);
        assert.ok(zone.records.filter((r) => r.RECORD !== 'bob').every((r) => r.SUSPENDED === 'no'));
      }
      await vanityUnchanged('suspend');
    });

    test('Unsuspend: everything active again', async () => {
      await run('UnsuspendAccount', a, ['active']);
      await run('UnsuspendAccount', v, ['active']);
      const sum = nodeSummary(e.fleet);
      for (const node of e.fleet.nodes) assert.deepEqual(sum[node.name]!.suspended, [], `suspended users left on ${node.name}`);
      const boxes = user(sum, 'mail1', PROVIDER_USER)!.mail.find((m) => m.domain.DOMAIN === VANITY_PARENT)!;
      assert.ok(boxes.accounts.every((x) => x.SUSPENDED === 'no'));
      for (const ns of e.fleet.dns) {
        const zone = user(sum, ns.name, PROVIDER_USER)!.dns.find((z) => z.zone.DOMAIN === VANITY_PARENT)!;
        assert.ok(zone.records.every((r) => r.SUSPENDED === 'no'), `records active on ${ns.name}`);
      }
      const z = await e.fleet.pdns!.zone(VANITY_PARENT);
      assert.ok(z!.rrsets.filter((r) => r.name === `bob.${VANITY_PARENT}.`).every((r) => r.records.every((x) => !x.disabled)), 'bob enabled in PowerDNS');
      await vanityUnchanged('unsuspend');
    });

    test('ChangePackage: the new limits reach the Hestia packages and the vanity mailbox quota', async () => {
      const more = { configoption6: '4096', configoption7: '3072', configoption8: '20480', configoption11: '25' };
      await run('ChangePackage', { ...a, product: more }, ['active']);
      await run('ChangePackage', { ...v, product: { configoption13: '768' } }, ['active']);
      const sum = nodeSummary(e.fleet);
      const n = names[a.serviceId]!;
      const webPkg = sum[placed[a.serviceId]!.web![0]!]!.state.packages[n.packages.web!]!;
      const mailPkg = sum[placed[a.serviceId]!.mail![0]!]!.state.packages[n.packages.mail!]!;
      assert.equal(webPkg.DISK_QUOTA, '4096', JSON.stringify(webPkg));
      assert.equal(webPkg.BANDWIDTH, '20480', JSON.stringify(webPkg));
      assert.equal(mailPkg.DISK_QUOTA, '3072', JSON.stringify(mailPkg));
      assert.equal(mailPkg.MAIL_ACCOUNTS, '25', JSON.stringify(mailPkg));
      // The users are on the package and their limits follow it.
      assert.equal(user(sum, placed[a.serviceId]!.web![0]!, n.users.web!)!.conf.DISK_QUOTA, '4096');
      const bob = user(sum, 'mail1', PROVIDER_USER)!.mail.find((m) => m.domain.DOMAIN === VANITY_PARENT)!.accounts.find((x) => x.ACCOUNT === 'bob')!;
      assert.equal(bob.QUOTA, '768');
      await vanityUnchanged('change-package');
    });

    test('ChangePassword: the customer\'s accounts get the new password (the stored hash changes to it)', async () => {
      const pw = 'N3w-Passw0rd-2026!';
      const sum0 = nodeSummary(e.fleet);
      const n = names[a.serviceId]!;
      const dnsBefore = user(sum0, 'ns1', n.users.dns!)!.conf.MD5;
      await run('ChangePassword', { ...a, password: pw }, ['active']);
      await run('ChangePassword', { ...v, password: pw }, ['active']);
      const sum = nodeSummary(e.fleet);
      assert.equal(user(sum, placed[a.serviceId]!.web![0]!, n.users.web!)!.conf.MD5, passwordHash(pw));
      assert.equal(user(sum, placed[a.serviceId]!.mail![0]!, n.users.mail!)!.conf.MD5, passwordHash(pw));
      assert.equal(user(sum, 'ns1', n.users.dns!)!.conf.MD5, dnsBefore, 'the DNS-only user never logs in and keeps its password');
      const nv = names[v.serviceId]!;
      assert.equal(user(sum, placed[v.serviceId]!.web![0]!, nv.users.web!)!.conf.MD5, passwordHash(pw));
      const bob = user(sum, 'mail1', PROVIDER_USER)!.mail.find((m) => m.domain.DOMAIN === VANITY_PARENT)!.accounts.find((x) => x.ACCOUNT === 'bob')!;
      assert.equal(bob.MD5, passwordHash(pw), 'the vanity mailbox gets the new password');
      assert.equal(user(sum, 'mail1', PROVIDER_USER)!.conf.MD5, user(sum0, 'mail1', PROVIDER_USER)!.conf.MD5, 'the provider\'s own password is untouched');
      await vanityUnchanged('change-password');
    });

    test('Terminate: everything of the service is gone from every node and from PowerDNS; the vanity parent stays', async () => {
      await run('TerminateAccount', a, ['terminated']);
      await run('TerminateAccount', v, ['terminated']);
      const sum = nodeSummary(e.fleet);
      const n = names[a.serviceId]!;
      const nv = names[v.serviceId]!;
      for (const node of e.fleet.nodes) {
        const s = sum[node.name]!;
        for (const u of [...Object.values(n.users), nv.users.web!]) assert.ok(!s.users.includes(u), `${u} left on ${node.name}`);
        for (const p of [...Object.values(n.packages), nv.packages.web!]) assert.ok(!s.packages.includes(p), `package ${p} left on ${node.name}`);
        for (const list of [s.web, s.mail, s.zones]) {
          assert.ok(!Object.values(list).flat().includes(a.domain), `${a.domain} left on ${node.name}`);
          assert.ok(!Object.values(list).flat().includes(`bob.${VANITY_PARENT}`), `bob.${VANITY_PARENT} left on ${node.name}`);
        }
      }
      assert.equal(await e.fleet.pdns!.zone(a.domain), null, 'PowerDNS zone removed');
      assert.deepEqual(sum.mail1!.mailboxes[VANITY_PARENT], ['info'], 'only bob\'s mailbox went');
      for (const ns of e.fleet.dns) assert.ok(!sum[ns.name]!.records[VANITY_PARENT]!.some((r) => r.startsWith('bob ')), `record bob left on ${ns.name}`);
      const z = await e.fleet.pdns!.zone(VANITY_PARENT);
      assert.ok(!z!.rrsets.some((r) => r.name === `bob.${VANITY_PARENT}.`), 'bob left in PowerDNS');
      // b is intact.
      const nb = names[b.serviceId]!;
      assert.ok(sum[placed[b.serviceId]!.web![0]!]!.users.includes(nb.users.web!));
      assert.ok(await e.fleet.pdns!.zone(b.domain));
      await vanityUnchanged('terminate');
      assert.equal(Number((await e.db('mod_hostbridge_service_servers').join('mod_hostbridge_services', 'mod_hostbridge_services.id', 'mod_hostbridge_service_servers.service_id')
        .whereIn('mod_hostbridge_services.whmcs_service_id', [a.serviceId, v.serviceId]).count({ c: '*' }))[0]!.c), 0, 'holdings of terminated services');
    });

    test('ForceTerminate with a node refusing connections removes what it can, closes the service and lists the rest', async () => {
      const webNode = e.fleet.node(placed[b.serviceId]!.web![0]!);
      const before = nodeSummary(e.fleet);
      const zonesBefore = await e.fleet.pdns!.zones();
      await webNode.setDown(true);
      try {
        await run('ForceTerminate', b, ['terminated']);
      } finally {
        await webNode.setDown(false);
      }
      const after = nodeSummary(e.fleet);
      // Force-terminate removes what it can (seed 000): the down node is untouched and what b held
      // there is left for the admin (the task log lists it); every reachable node is clean of b.
      assert.deepEqual({ ...after[webNode.name], state: null }, { ...before[webNode.name], state: null }, `${webNode.name} (down) changed`);
      const bUsers = Object.values(names[b.serviceId]!.users);
      for (const node of e.fleet.nodes.filter((n) => n !== webNode)) {
        assert.deepEqual(after[node.name]!.users.filter((u) => bUsers.includes(u)), [], `${node.name} still holds a user of ${b.serviceId}`);
      }
      assert.deepEqual(await e.fleet.pdns!.zones(), zonesBefore.filter((z) => z !== `${b.domain}.`));
      const svc = await e.db('mod_hostbridge_services').where('whmcs_service_id', b.serviceId).first('id', 'state');
      assert.equal(svc.state, 'terminated');
      assert.equal(Number((await e.db('mod_hostbridge_service_servers').where('service_id', svc.id).count({ c: '*' }))[0]!.c), 0);
      const close = await e.db('mod_hostbridge_tasks').where({ service_id: svc.id, type: 'service.close' }).orderBy('id', 'desc').first('id');
      const log = await e.db('mod_hostbridge_task_attempts').where('task_id', close.id).first('output');
      assert.match(String(log.output), new RegExp(`left on ${webNode.name}`), 'the close step names what was left behind');
      await vanityUnchanged('force-terminate');
    });
  });
}
