// The customer panel's ISO, firewall rules and reverse DNS (issue 16) end to end, on both
// databases: a VM deployed on the emulated cluster through the PHP module, then each action's
// run() called as the dispatcher would (with a PanelActionContext), its chain run by the daemon's
// engine against the Proxmox emulator and the real PowerDNS:
//  - an ISO goes in the VM's CD-ROM drive (not the cloud-init drive) and comes out again, as
//    Proxmox's config shows it; a drive added to the running VM is pending until its next start;
//  - the VM's rules equal the customer's list afterwards (an admin's rule removed, the provider's
//    security group kept first), and the step run again changes nothing;
//  - the PTR of an address takes the customer's name on PowerDNS, and a reset restores the host name;
//  - bad input is refused naming the field, and nothing is stored or queued.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../helpers/db.ts';
import { startKvmLab, KVM_PROFILE, type KvmLab } from '../helpers/kvm.ts';
import { ok, startE2E, type E2E, type Order } from '../e2e/whmcs.ts';
import { ProxmoxClient } from '../../daemon/drivers/proxmox/index.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { EXTRA_PANEL_ACTIONS, extrasView } from '../../daemon/services/vm-panel-extras.ts';
import type { PanelActionContext } from '../../daemon/services/vm-panel-types.ts';
import { isoState } from '../../daemon/handlers/kvm/extras.ts';
import { ipv6Nibbles, reverseName } from '../../daemon/dns/reverse.ts';

const ISOS = ['local:iso/debian-12.iso', 'local:iso/rescue.iso'];
const field = (f: string) => (err: unknown) => {
  assert.ok(err instanceof InputError, `an InputError, not ${String(err)}`);
  assert.equal(err.field, f, err.message);
  return true;
};

for (const dialect of DIALECTS) {
  describe(`the panel's ISO, firewall rules and reverse DNS (${dialect})`, () => {
    let e: E2E;
    let lab: KvmLab;
    let pve: ProxmoxClient;
    const o: Order = { serviceId: 8601, mode: 'split', domain: 'vm-extras.example.org', product: { configoption1: 'kvm', configoption15: KVM_PROFILE } };

    const ctx = (fields: Record<string, string>): PanelActionContext => ({
      queue: e.daemon.core.queue, masterKey: e.daemon.core.config.masterKey, whmcsServiceId: o.serviceId, actor: { kind: 'client', clientId: 7 }, fields,
    });
    const run = (action: string, fields: Record<string, string>) => EXTRA_PANEL_ACTIONS[action]!.run(ctx(fields));
    const serviceRow = async () => Number((await e.db('mod_hostbridge_services').where('whmcs_service_id', o.serviceId).first('id')).id);
    const chainCount = async () => Number((await e.db('mod_hostbridge_chains').where('service_id', await serviceRow()).count({ n: '*' }))[0]!.n);
    /** Runs an action and waits for its chain: its state and each step's whole log. */
    const perform = async (action: string, fields: Record<string, string>) => {
      const r = await run(action, fields);
      assert.ok(r.chainId, `${action} queued a chain: ${JSON.stringify(r)}`);
      await e.waitState(o.serviceId, ['active'], 30_000);
      const chain = await e.db('mod_hostbridge_chains').where('id', r.chainId).first('state');
      const tasks = await e.db('mod_hostbridge_tasks').where('chain_id', r.chainId).orderBy('id').select('id', 'step', 'status');
      const logs: Record<string, string> = {};
      for (const t of tasks) {
        logs[t.step] = (await e.db('mod_hostbridge_task_attempts').where('task_id', t.id).orderBy('id').select('output')).map((a: { output: string | null }) => String(a.output ?? '')).join('\n');
      }
      assert.equal(chain.state, 'succeeded', `${action}: ${JSON.stringify(logs).slice(0, 4000)}`);
      return { message: r.message, logs };
    };
    const vm = () => lab.vmOf(o.serviceId)!;
    /** The PTR contents of an address's name in a reverse zone, read from PowerDNS's API. */
    const ptrOf = async (zone: string, name: string) => {
      const pdns = e.fleet.pdns!.server;
      const res = await fetch(`${pdns.url}/api/v1/servers/localhost/zones/${zone}.`, { headers: { 'X-API-Key': pdns.apiKey } });
      assert.equal(res.status, 200);
      const body = await res.json() as { rrsets: Array<{ name: string; type: string; records: Array<{ content: string }> }> };
      return body.rrsets.filter((r) => r.name === `${name}.${zone}.` && r.type === 'PTR').flatMap((r) => r.records.map((x) => x.content));
    };

    before(async () => {
      e = await startE2E({ dialect, fleet: { web: 1, mail: 1, dns: 0, combo: 0 } });
      for (const [k, v] of [['retry.base_ms', '200'], ['retry.cap_ms', '1000'], ['retry.jitter', '0'], ['scheduler.proxmox-health.interval_s', '86400']]) await e.setting(k!, v!);
      lab = await startKvmLab(e.url, { pdns: { url: e.fleet.pdns!.server.url, apiKey: e.fleet.pdns!.server.apiKey }, profile: { isos: ISOS, firewall_rules: 3 } });
      ok(await e.module('CreateAccount', o), 'CreateAccount');
      const done = await e.waitState(o.serviceId, ['active', 'failed'], 60_000);
      assert.equal(done.state, 'active', JSON.stringify(await e.tasks(o.serviceId)).slice(0, 6000));
      pve = new ProxmoxClient({
        endpoints: [{ host: lab.pve.host, port: lab.pve.port }], fingerprintSha256: lab.pve.fingerprintSha256,
        credentials: { kind: 'token', tokenId: lab.pve.token.id, secret: lab.pve.token.secret }, pollMs: 20, timeoutMs: 5000,
      });
      // The image the product offers, on the node the VM runs on (local storage is per node).
      await pve.waitTask(await pve.request<string>('POST', `/nodes/${vm().node}/storage/local/download-url`, { url: 'https://mirror.example/debian-12.iso', filename: 'debian-12.iso', content: 'iso' }));
    });
    after(async () => {
      pve?.close();
      await e?.close();
      await lab?.close();
    });

    test('bad input is refused naming the field; nothing is stored or queued', async () => {
      const chains = await chainCount();
      const view = await extrasView(e.db, o.serviceId);
      const [v4] = await lab.addresses(o.serviceId);
      await assert.rejects(run('iso-mount', { volid: 'local:iso/other.iso' }), field('volid'));
      await assert.rejects(run('iso-mount', { volid: ` ${ISOS[0]}` }), field('volid'));
      await assert.rejects(run('iso-mount', {}), field('volid'));
      const rules = (list: unknown) => ({ rules: JSON.stringify(list) });
      await assert.rejects(run('firewall-rules', rules([{ action: 'ACCEPT', type: 'in', proto: 'tcp', dport: '70000' }])), field('rules.0.dport'));
      await assert.rejects(run('firewall-rules', rules([{ action: 'ACCEPT', type: 'in', proto: 'icmp', dport: '22' }])), field('rules.0.dport'));
      await assert.rejects(run('firewall-rules', rules([{ action: 'ACCEPT', type: 'in' }, { action: 'ALLOW', type: 'in' }])), field('rules.1.action'));
      await assert.rejects(run('firewall-rules', rules([{ action: 'ACCEPT', type: 'in', source: '192.0.2.1/24' }])), field('rules.0.source'));
      await assert.rejects(run('firewall-rules', rules([{ action: 'ACCEPT', type: 'in', comment: 'one\ntwo' }])), field('rules.0.comment'));
      await assert.rejects(run('firewall-rules', rules([{ action: 'ACCEPT', type: 'in', dest: '192.0.2.1' }])), field('rules.0.dest'));
      await assert.rejects(run('firewall-rules', rules(Array.from({ length: 4 }, () => ({ action: 'DROP', type: 'in' })))), field('rules'));
      await assert.rejects(run('firewall-rules', { rules: '[{' }), field('rules'));
      await assert.rejects(run('rdns', { address: '198.51.100.250', name: 'mail.example.net' }), field('address'));
      await assert.rejects(run('rdns', { address: 'not-an-ip', name: 'mail.example.net' }), field('address'));
      await assert.rejects(run('rdns', { address: v4!, name: '<script>alert(1)</script>.example.net' }), field('name'));
      await assert.rejects(run('rdns', { address: v4!, name: 'mail.example.net x' }), field('name'));
      await assert.rejects(run('rdns', { address: v4!, name: `${'a'.repeat(64)}.example.net` }), field('name'));
      await assert.rejects(run('rdns', { address: v4!, name: 'localhost' }), field('name'));
      assert.equal(await chainCount(), chains, 'nothing was queued');
      assert.deepEqual(await extrasView(e.db, o.serviceId), view, 'nothing was stored');
    });

    test('an ISO goes in the CD-ROM drive beside the cloud-init drive, waits for the next start, and comes out at once', async () => {
      const cloudinit = String(vm().config.ide2);
      assert.match(cloudinit, /cloudinit/, 'the template\'s cloud-init drive is on ide2');
      const mount = await perform('iso-mount', { volid: ISOS[0]! });
      assert.match(mount.message, /debian-12\.iso/);
      assert.match(mount.logs.iso!, /ide0: insert local:iso\/debian-12\.iso \(a new CD-ROM drive\)/);
      assert.match(mount.logs.iso!, /pending change: it takes effect when the VM is next started/);
      assert.equal((await pve.vmConfig(vm().node, vm().vmid)).ide0, 'local:iso/debian-12.iso,media=cdrom', 'the config with its pending values');
      assert.equal(vm().config.ide0, undefined, 'not plugged into the running VM yet');
      assert.equal(vm().config.ide2, cloudinit, 'the cloud-init drive is untouched');
      assert.equal((await pve.vmConfig(vm().node, vm().vmid)).boot, 'order=scsi0;ide0', 'bootable after the disk');
      assert.match(mount.logs.iso!, /boot order: order=scsi0;ide0/);
      assert.deepEqual(await isoState(pve, vm().node, vm().vmid), { slot: 'ide0', mounted: null, pending: 'local:iso/debian-12.iso' });
      assert.equal((await extrasView(e.db, o.serviceId)).iso, ISOS[0]);

      const again = await perform('iso-mount', { volid: ISOS[0]! });
      assert.match(again.logs.iso!, /skip \(no change\): ide0 already holds local:iso\/debian-12\.iso/);

      await pve.stop(vm().node, vm().vmid);
      await pve.start(vm().node, vm().vmid);
      assert.equal(vm().config.ide0, 'local:iso/debian-12.iso,media=cdrom', 'in the drive after the start');
      assert.equal(vm().config.boot, 'order=scsi0;ide0');
      assert.deepEqual(await isoState(pve, vm().node, vm().vmid), { slot: 'ide0', mounted: 'local:iso/debian-12.iso' });

      const eject = await perform('iso-unmount', {});
      assert.match(eject.logs.iso!, /ide0: eject/);
      assert.doesNotMatch(eject.logs.iso!, /pending/);
      assert.equal(vm().config.ide0, 'none,media=cdrom', 'ejected from the running VM at once');
      assert.equal((await pve.vmConfig(vm().node, vm().vmid)).ide0, 'none,media=cdrom', 'nothing pending');
      assert.deepEqual(await isoState(pve, vm().node, vm().vmid), { slot: 'ide0', mounted: null });
      assert.equal((await extrasView(e.db, o.serviceId)).iso, null);
    });

    test('the VM\'s rules equal the customer\'s list (the security group stays first); run again, nothing changes', async () => {
      const { node, vmid } = vm();
      await pve.request('POST', '/cluster/firewall/groups', { group: 'provider' });
      // Rules an admin made by hand: the customer's list replaces them.
      for (const port of ['53', '123', '161']) await pve.createFirewallRule(node, vmid, { type: 'in', action: 'ACCEPT', proto: 'udp', dport: port, enable: 1, comment: 'made by hand' }, null);
      await pve.createFirewallRule(node, vmid, { type: 'group', action: 'provider', enable: 1 }, null);
      const want = [
        { action: 'ACCEPT', type: 'in', proto: 'tcp', dport: '22', source: '203.0.113.0/24', comment: '<script>alert("x")</script>' },
        { action: 'drop', type: 'IN', proto: 'tcp', dport: '8000-8080,443' },
      ];
      const applied = await perform('firewall-rules', { rules: JSON.stringify(want) });
      assert.match(applied.logs['firewall-rules']!, /rule 1: in ACCEPT tcp port 22 from 203\.0\.113\.0\/24 \(rewritten at position 1\)/);
      assert.match(applied.logs['firewall-rules']!, /rule at position 3 \(in ACCEPT\) removed: not in the customer's list/);
      const read = async () => (await pve.firewallRules(node, vmid)).rules.map((r) => [r.type, r.action, r.proto ?? null, r.dport ?? null, r.source ?? null, r.comment ?? null, r.enable]);
      const expected = [
        ['group', 'provider', null, null, null, null, 1],
        ['in', 'ACCEPT', 'tcp', '22', '203.0.113.0/24', '<script>alert("x")</script>', 1],
        ['in', 'DROP', 'tcp', '8000:8080,443', null, null, 1],
      ];
      assert.deepEqual(await read(), expected);
      assert.deepEqual((await extrasView(e.db, o.serviceId)).firewallRules, [
        { action: 'ACCEPT', type: 'in', proto: 'tcp', dport: '22', source: '203.0.113.0/24', comment: '<script>alert("x")</script>' },
        { action: 'DROP', type: 'in', proto: 'tcp', dport: '8000:8080,443' },
      ]);

      const mark = lab.pve.requests.length;
      const again = await perform('firewall-rules', { rules: JSON.stringify(want) });
      assert.match(again.logs['firewall-rules']!, /skip \(no change\)/);
      assert.deepEqual(lab.pve.requests.slice(mark).filter((r) => r.method !== 'GET' && r.path.includes('/firewall/rules')), [], 'no change was sent');
      assert.deepEqual(await read(), expected);

      await perform('firewall-rules', { rules: JSON.stringify([{ action: 'REJECT', type: 'out', proto: 'tcp', dport: 25 }]) });
      assert.deepEqual(await read(), [expected[0], ['out', 'REJECT', 'tcp', '25', null, null, 1]]);
      await perform('firewall-rules', { rules: '[]' });
      assert.deepEqual(await read(), [expected[0]], 'only the provider\'s group is left');
    });

    test('the PTR of an address takes the customer\'s name on PowerDNS; a reset restores the host name', async () => {
      const [v4, v6] = [...(await lab.addresses(o.serviceId))].sort((a, b) => a.length - b.length);
      const octet = v4!.split('.')[3]!;
      assert.deepEqual(await ptrOf('100.51.198.in-addr.arpa', octet), ['vm-extras.example.org.'], 'the deploy published the host name');
      const set = await perform('rdns', { address: v4!, name: 'Mail.Customer-Example.net.' });
      assert.match(set.message, /mail\.customer-example\.net/);
      assert.deepEqual(await ptrOf('100.51.198.in-addr.arpa', octet), ['mail.customer-example.net.']);
      const view = await extrasView(e.db, o.serviceId);
      assert.deepEqual(view.rdns.find((r) => r.address === v4), { address: v4, name: 'mail.customer-example.net', custom: true });
      assert.deepEqual(view.rdns.find((r) => r.address === v6), { address: v6, name: 'vm-extras.example.org', custom: false });

      await perform('rdns', { address: v4!, name: '' });
      assert.deepEqual(await ptrOf('100.51.198.in-addr.arpa', octet), ['vm-extras.example.org.']);
      assert.equal((await extrasView(e.db, o.serviceId)).rdns.find((r) => r.address === v4)!.custom, false);

      // IPv6, the address written out in full and in capitals: the same address.
      const v6rev = reverseName(v6!, 48);
      assert.equal(v6rev.zone, '0.0.1.0.8.b.d.0.1.0.0.2.ip6.arpa');
      const expanded = ipv6Nibbles(v6!).join('').toUpperCase().replace(/(.{4})(?!$)/g, '$1:');
      await perform('rdns', { address: expanded, name: 'v6.customer-example.net' });
      assert.deepEqual(await ptrOf(v6rev.zone, v6rev.name), ['v6.customer-example.net.']);
      assert.deepEqual(await ptrOf('100.51.198.in-addr.arpa', octet), ['vm-extras.example.org.'], 'the other address keeps the host name');
      // Asking for the host name is a reset.
      await perform('rdns', { address: v6!, name: 'VM-Extras.example.org' });
      assert.deepEqual(await ptrOf(v6rev.zone, v6rev.name), ['vm-extras.example.org.']);
      assert.equal((await extrasView(e.db, o.serviceId)).rdns.some((r) => r.custom), false);
    });
    test('a terminate removes the customer\'s PTR with the VM\'s own', async () => {
      const [v4] = await lab.addresses(o.serviceId);
      const octet = v4!.split('.')[3]!;
      await perform('rdns', { address: v4!, name: 'gone-soon.customer-example.net' });
      assert.deepEqual(await ptrOf('100.51.198.in-addr.arpa', octet), ['gone-soon.customer-example.net.']);
      ok(await e.module('TerminateAccount', o), 'TerminateAccount');
      const done = await e.waitState(o.serviceId, ['terminated', 'error_terminate'], 30_000);
      assert.equal(done.state, 'terminated', JSON.stringify(await e.tasks(o.serviceId)).slice(-3000));
      assert.deepEqual(await ptrOf('100.51.198.in-addr.arpa', octet), [], 'no PTR is left behind');
    });
  });
}
