// A KVM service whose DNS provider is down while it deploys (PHP module → daemon → Proxmox
// emulator, Debian's real pdns_server), seed 003: "a DNS provider down during deploy: the VM still
// reaches ready, the failures are logged per zone, and the records are created when it returns".
//  - PowerDNS stopped before the order: the VM is cloned, moved, configured and started; the DNS
//    step logs one `fwd ERR` and one `rev ERR` per address naming the failure and never holds the
//    deployment up; the service becomes active with no record published;
//  - PowerDNS back, Verify & Repair (the admin button, through the module): the A, AAAA and both PTR
//    records appear, once each, and the repair makes no second VM (no clone, no VM created).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../helpers/db.ts';
import { KVM_PROFILE, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import { duplicates, ok, startE2E, type E2E, type Order } from './whmcs.ts';

const kvm = (serviceId: number, domain: string): Order => ({ serviceId, mode: 'split', domain, product: { configoption1: 'kvm', configoption15: KVM_PROFILE } });

for (const dialect of DIALECTS) {
  describe(`a KVM service deployed while PowerDNS is down (${dialect})`, () => {
    let e: E2E;
    let lab: KvmLab;

    const records = async (zone: string) => {
      const z = await e.fleet.pdns!.zone(zone);
      return (z?.rrsets ?? []).flatMap((r) => r.records.map((x) => `${r.name} ${r.type} ${x.content}`));
    };
    /** The service's latest chain of an operation: each step's attempts, in order. */
    const attempts = async (serviceId: number, op: string) => {
      const svc = await e.db('mod_hostbridge_services').where('whmcs_service_id', serviceId).first('id');
      const chain = await e.db('mod_hostbridge_chains').where({ service_id: svc.id, operation: op }).orderBy('id', 'desc').first('id', 'state');
      assert.ok(chain, `a ${op} chain exists`);
      const tasks = await e.db('mod_hostbridge_tasks').where('chain_id', chain.id).select('id', 'step', 'status');
      const out: Record<string, { status: string; results: string[]; output: string }> = {};
      for (const t of tasks) {
        const rows = await e.db('mod_hostbridge_task_attempts').where('task_id', t.id).orderBy('id').select('result', 'output');
        out[t.step] = { status: t.status, results: rows.map((r: { result: string }) => r.result), output: rows.map((r: { output: string | null }) => String(r.output ?? '')).join('\n') };
      }
      return { chain, steps: out };
    };

    before(async () => {
      e = await startE2E({ dialect, fleet: { web: 1, mail: 1, dns: 0, combo: 0 } });
      for (const [k, v] of [['retry.base_ms', '200'], ['retry.cap_ms', '1000'], ['retry.jitter', '0']]) await e.setting(k!, v!);
      lab = await startKvmLab(e.url, { pdns: { url: e.fleet.pdns!.server.url, apiKey: e.fleet.pdns!.server.apiKey } });
    });
    after(async () => {
      await e?.fleet.pdns?.server.resume().catch(() => {});
      await e?.close();
      await lab?.close();
    });

    test('PowerDNS down: the VM reaches ready, the DNS step logs each zone\'s failure; Verify & Repair publishes the records once, without a second VM', async () => {
      const o = kvm(8201, 'vm-dns.example.org');
      const dnsStep = `dns.${e.reg.pdns}`;
      await e.fleet.pdns!.server.halt();
      try {
        ok(await e.module('CreateAccount', o), 'CreateAccount');
        const done = await e.waitState(o.serviceId, ['active', 'failed'], 60_000);
        assert.equal(done.state, 'active', JSON.stringify(await e.tasks(o.serviceId)).slice(0, 6000));

        const vm = lab.vmOf(o.serviceId);
        assert.ok(vm, 'the VM exists');
        assert.equal(vm.status, 'running', 'the VM runs although DNS is down');
        const ips = await lab.addresses(o.serviceId);
        assert.equal(ips.length, 2, ips.join(', '));

        const deploy = await attempts(o.serviceId, 'deploy');
        const dns = deploy.steps[dnsStep]!;
        assert.ok(dns, `the deploy chain has ${dnsStep}: ${Object.keys(deploy.steps).join(', ')}`);
        assert.equal(dns.status, 'succeeded', 'a DNS failure never fails the step');
        assert.deepEqual(dns.results, ['succeeded'], 'one attempt: the step does not wait for DNS');
        assert.match(dns.output, /· fwd ERR vm-dns\.example\.org: .*(ECONNREFUSED|connect|PowerDNS)/i, dns.output);
        for (const ip of ips) {
          assert.match(dns.output, new RegExp(`· rev ERR ${ip.replace(/[.]/g, '\\.')}: .*(ECONNREFUSED|connect|PowerDNS)`, 'i'), dns.output);
        }
        assert.match(dns.output, /Verify & Repair publishes the rest/);
        assert.doesNotMatch(dns.output, /· (fwd|rev) OK/);
        assert.equal(deploy.steps.verify!.status, 'succeeded');
      } finally {
        await e.fleet.pdns!.server.resume();
      }
      assert.ok(!(await records('example.org')).some((r) => r.startsWith('vm-dns.example.org.')), 'nothing was published while PowerDNS was down');

      const vm = lab.vmOf(o.serviceId)!;
      const ips = await lab.addresses(o.serviceId);
      const v4 = ips.find((ip) => ip.includes('.'))!;
      const v6 = ips.find((ip) => ip.includes(':'))!;
      const mark = lab.pve.requests.length;

      ok(await e.module('VerifyRepair', o), 'VerifyRepair');
      const repaired = await e.waitState(o.serviceId, ['active', 'failed'], 60_000);
      assert.equal(repaired.state, 'active', JSON.stringify(await e.tasks(o.serviceId)).slice(-6000));

      const fwd = await records('example.org');
      assert.ok(fwd.includes(`vm-dns.example.org. A ${v4}`), fwd.join(' | '));
      assert.ok(fwd.includes(`vm-dns.example.org. AAAA ${v6}`), fwd.join(' | '));
      assert.deepEqual(duplicates(fwd), [], 'no forward record twice');
      const rev4 = await records('100.51.198.in-addr.arpa');
      assert.deepEqual(rev4.filter((r) => r.endsWith('PTR vm-dns.example.org.')), [`${v4.split('.').reverse().join('.')}.in-addr.arpa. PTR vm-dns.example.org.`], rev4.join(' | '));
      const rev6 = await records('0.0.1.0.8.b.d.0.1.0.0.2.ip6.arpa');
      assert.equal(rev6.filter((r) => r.endsWith('PTR vm-dns.example.org.')).length, 1, rev6.join(' | '));

      const repair = await attempts(o.serviceId, 'verify-repair');
      const dns = repair.steps[dnsStep]!;
      assert.match(dns.output, /· fwd OK example\.org/);
      assert.match(dns.output, /· rev OK 100\.51\.198\.in-addr\.arpa/);
      assert.doesNotMatch(dns.output, /ERR/);
      assert.match(repair.steps.clone!.output, /cloned by an earlier attempt/, 'the repair found the VM the deployment made');

      // The repair made no second VM: one VM of the service, the same VMID, no clone or create call.
      const mine = [...lab.pve.vms().values()].filter((v) => !v.template && String(v.config.description ?? '').includes(`hostbridge service ${o.serviceId}`));
      assert.equal(mine.length, 1, 'one VM for the service');
      assert.equal(mine[0]!.vmid, vm.vmid, 'the same VM');
      assert.equal(mine[0]!.status, 'running');
      const made = lab.pve.requests.slice(mark).filter((r) => r.method === 'POST' && /\/(clone|qemu)$/.test(r.path));
      assert.deepEqual(made, [], 'the repair neither cloned nor created a VM');
      assert.deepEqual(await lab.addresses(o.serviceId), ips, 'the same addresses');
    });
  });
}
