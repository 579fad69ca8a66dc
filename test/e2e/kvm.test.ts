// A VPS sold through WHMCS, end to end: the PHP module as WHMCS calls it → the daemon → the Proxmox
// VE emulator (two nodes over HTTPS, the certificate pinned) and Debian's real pdns_server.
//  - CreateAccount: the VM reaches ready on the node with room, cloned on the other node where its
//    template is (so it moves), IPv4 and IPv6 from the pools, forward and reverse records in
//    PowerDNS, the anti-spoofing IPSet holding exactly its addresses, each step in the task log;
//  - ChangePackage up and down: only what changed acts ("skip (no change)" for the rest), a smaller
//    disk is skipped, the VM ends running with the new values;
//  - TerminateAccount frees everything; a DELETE that fails leaves error_terminate, the addresses
//    allocated and one ticket, and a retry once the fault is gone completes it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../helpers/db.ts';
import { KVM_PROFILE, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import { ok, startE2E, type E2E, type Order } from './whmcs.ts';

const kvm = (serviceId: number, domain: string): Order => ({ serviceId, mode: 'split', domain, product: { configoption1: 'kvm', configoption15: KVM_PROFILE } });

for (const dialect of DIALECTS) {
  describe(`a KVM service through the PHP module (${dialect})`, () => {
    let e: E2E;
    let lab: KvmLab;

    /** "name TYPE content" of every record PowerDNS holds in a zone. */
    const records = async (zone: string) => {
      const z = await e.fleet.pdns!.zone(zone);
      return (z?.rrsets ?? []).flatMap((r) => r.records.map((x) => `${r.name} ${r.type} ${x.content}`));
    };
    const vmOf = (serviceId: number) => lab.vmOf(serviceId);
    const addresses = (serviceId: number) => lab.addresses(serviceId);
    /** Each step of the service's latest chain of an operation: its attempts' whole logs. */
    const outputs = async (serviceId: number, chainOp: string) => {
      const svc = await e.db('mod_hostbridge_services').where('whmcs_service_id', serviceId).first('id');
      const chain = await e.db('mod_hostbridge_chains').where({ service_id: svc.id, operation: chainOp }).orderBy('id', 'desc').first('id');
      const tasks = await e.db('mod_hostbridge_tasks').where('chain_id', chain.id).select('id', 'step');
      const out: Record<string, string> = {};
      for (const t of tasks) out[t.step] = (await e.db('mod_hostbridge_task_attempts').where('task_id', t.id).orderBy('id').pluck('output')).join('\n');
      return out;
    };

    before(async () => {
      e = await startE2E({ dialect, fleet: { web: 1, mail: 1, dns: 0, combo: 0 } });
      for (const [k, v] of [['retry.base_ms', '200'], ['retry.cap_ms', '1000'], ['retry.jitter', '0']]) await e.setting(k!, v!);
      lab = await startKvmLab(e.url, { pdns: { url: e.fleet.pdns!.server.url, apiKey: e.fleet.pdns!.server.apiKey } });
    });
    after(async () => {
      await e?.close();
      await lab?.close();
    });

    test('CreateAccount: the VM reaches ready on the other node, with its addresses, records and IPSet', async () => {
      const o = kvm(8101, 'vm1.example.org');
      ok(await e.module('CreateAccount', o), 'CreateAccount');
      const done = await e.waitState(o.serviceId, ['active', 'failed'], 90_000);
      assert.equal(done.state, 'active', JSON.stringify(await e.tasks(o.serviceId)).slice(0, 6000));

      const vm = vmOf(o.serviceId);
      assert.ok(vm, 'the VM exists on the cluster');
      assert.equal(vm.node, 'pve2', 'moved to the node with room');
      assert.equal(vm.status, 'running');
      assert.equal(Number(vm.config.cores), 2);
      assert.equal(Number(vm.config.memory), 2048);
      assert.match(String(vm.config.net0), /bridge=vmbr0/);
      assert.match(String(vm.config.net0), /rate=12\.5/);
      assert.match(String(vm.config.net0), /firewall=1/);

      const ips = await addresses(o.serviceId);
      assert.equal(ips.length, 2, `one IPv4 and one IPv6: ${ips.join(', ')}`);
      const v4 = ips.find((ip) => ip.includes('.'))!;
      const v6 = ips.find((ip) => ip.includes(':'))!;
      assert.match(String(vm.config.ipconfig0), new RegExp(`ip=${v4.replace(/\./g, '\\.')}/24,gw=198\\.51\\.100\\.1`));
      assert.ok(String(vm.config.ipconfig0).includes(`ip6=${v6}/64`), String(vm.config.ipconfig0));

      // Proxmox keeps a single address without its /32 or /128.
      const set = vm.firewall.ipsets.get('ipfilter-net0')!.map((x) => x.cidr.replace(/\/(32|128)$/, '')).sort();
      assert.deepEqual(set, [v4, v6].sort(), 'the IPSet holds exactly the VM\'s addresses');
      assert.equal(String(vm.firewall.options.ipfilter), '1');
      assert.equal(String(vm.firewall.options.enable), '1');

      const fwd = await records('example.org');
      assert.ok(fwd.includes(`vm1.example.org. A ${v4}`), fwd.join(' | '));
      assert.ok(fwd.some((r) => r.startsWith('vm1.example.org. AAAA 2001:db8:100::')), fwd.join(' | '));
      const rev4 = await records('100.51.198.in-addr.arpa');
      assert.ok(rev4.includes(`${v4.split('.').reverse().join('.')}.in-addr.arpa. PTR vm1.example.org.`), rev4.join(' | '));
      const rev6 = await records('0.0.1.0.8.b.d.0.1.0.0.2.ip6.arpa');
      assert.equal(rev6.filter((r) => r.endsWith('PTR vm1.example.org.')).length, 1, rev6.join(' | '));

      const out = await outputs(o.serviceId, 'deploy');
      assert.match(out.clone!, /VMID \d+ chosen and stored/);
      assert.match(out.clone!, /cloned on pve1/);
      assert.match(out.migrate!, /moving VM \d+ from pve1 to pve2/);
      assert.match(out['dns.' + e.reg.pdns]!, /· fwd OK example\.org/);
      assert.match(out['dns.' + e.reg.pdns]!, /· rev OK 100\.51\.198\.in-addr\.arpa/);
      assert.match(out.verify!, /is running on pve2/);
      // The token's secret and the customer's password appear in no attempt's log.
      const all = JSON.stringify(await e.tasks(o.serviceId));
      assert.ok(!all.includes(lab.pve.token.secret), 'the API token secret is in no task log');
      assert.ok(!all.includes('Cust0mer-Pa55!'), 'the customer password is in no task log');
    });

    test('ChangePackage up and down: only the changed steps act, a smaller disk is skipped', async () => {
      const o = kvm(8101, 'vm1.example.org');
      ok(await e.module('ChangePackage', o, { configoptions: { memory: '4096', disk: '30' } }), 'ChangePackage up');
      let done = await e.waitState(o.serviceId, ['active', 'failed'], 90_000);
      assert.equal(done.state, 'active', JSON.stringify(await e.tasks(o.serviceId)).slice(-6000));
      let vm = vmOf(o.serviceId)!;
      assert.equal(Number(vm.config.memory), 4096);
      assert.match(String(vm.config.scsi0 ?? vm.config.virtio0), /size=30G/);
      assert.equal(vm.status, 'running');
      let out = await outputs(o.serviceId, 'change-package');
      assert.match(out['cpu-ram']!, /memory=4096/);
      assert.match(out.network!, /skip \(no change\)/);
      assert.match(out['disk-io']!, /skip \(no change\)/);

      ok(await e.module('ChangePackage', o, { configoptions: { memory: '1024', disk: '10' } }), 'ChangePackage down');
      done = await e.waitState(o.serviceId, ['active', 'failed'], 90_000);
      assert.equal(done.state, 'active');
      vm = vmOf(o.serviceId)!;
      assert.equal(Number(vm.config.memory), 1024);
      assert.match(String(vm.config.scsi0 ?? vm.config.virtio0), /size=30G/, 'a disk never shrinks');
      out = await outputs(o.serviceId, 'change-package');
      assert.match(out['disk-size']!, /larger than the plan's 10 GB \(Proxmox cannot shrink a disk\)/);
      assert.equal(vm.status, 'running');
    });

    test('TerminateAccount: a failing DELETE leaves error_terminate with the addresses and one ticket; the retry completes it', async () => {
      const o = kvm(8101, 'vm1.example.org');
      const vm = vmOf(o.serviceId)!;
      const ips = await addresses(o.serviceId);
      // Three refusals: the delete's three attempts, then the fault is spent.
      lab.pve.fault({ method: 'DELETE', path: new RegExp(`/qemu/${vm.vmid}$`), kind: '500', count: 3, message: 'unable to remove VM - storage busy' });
      ok(await e.module('TerminateAccount', o), 'TerminateAccount');
      const failed = await e.waitState(o.serviceId, ['error_terminate', 'terminated'], 90_000);
      assert.equal(failed.state, 'error_terminate');
      assert.deepEqual(await addresses(o.serviceId), ips, 'the addresses stay allocated while the VM exists');
      assert.ok(vmOf(o.serviceId), 'the VM is still there');
      const svcId = Number((await e.db('mod_hostbridge_services').where('whmcs_service_id', o.serviceId).first('id')).id);
      const tickets = await e.db('mod_hostbridge_ticket_outbox').where('service_id', svcId);
      assert.equal(tickets.length, 1, 'one ticket for the failed terminate');

      ok(await e.module('TerminateAccount', o), 'TerminateAccount again');
      const done = await e.waitState(o.serviceId, ['terminated', 'error_terminate'], 90_000);
      assert.equal(done.state, 'terminated', JSON.stringify(await e.tasks(o.serviceId)).slice(-6000));
      assert.equal(vmOf(o.serviceId), undefined, 'the VM is gone');
      assert.deepEqual(await addresses(o.serviceId), [], 'its addresses are back in the pools');
      assert.ok(!(await records('example.org')).some((r) => r.startsWith('vm1.example.org.')), 'its forward records are gone');
      assert.ok(!(await records('100.51.198.in-addr.arpa')).some((r) => r.includes('vm1.example.org')), 'its PTR is gone');
    });
  });
}
