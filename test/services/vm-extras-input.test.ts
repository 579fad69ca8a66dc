// The panel's network and media input, as pure functions (pipelines/vm-extras-plan.ts) and the ISO
// drive's slot (handlers/kvm/extras.ts): what is taken, in which canonical form, what is refused
// with which field; the chains each action plans, checked against the step declarations.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../daemon/common/errors.ts';
import {
  checkIsoChoice, checkPorts, checkPtrName, checkSource, parseFirewallRules, planExtrasChain, ruleParams, sameRule,
} from '../../daemon/pipelines/vm-extras-plan.ts';
import { stepArgsProblem } from '../../daemon/pipelines/steps.ts';
import { bootWithCdrom, isoSlot } from '../../daemon/handlers/kvm/extras.ts';
import { vmPlan } from '../helpers/vm-plan.ts';

const field = (f: string) => (err: unknown) => err instanceof InputError && err.field === f;

describe('the panel\'s network and media input', () => {
  test('an ISO must be one of the product\'s, exactly', () => {
    const list = ['local:iso/a.iso', 'nfs:iso/b.iso'];
    assert.equal(checkIsoChoice('volid', 'nfs:iso/b.iso', list), 'nfs:iso/b.iso');
    for (const v of ['local:iso/A.iso', 'local:iso/a.iso ', '', undefined, 'local:iso/../a.iso']) assert.throws(() => checkIsoChoice('volid', v, list), field('volid'), String(v));
    assert.throws(() => checkIsoChoice('volid', 'local:iso/a.iso', []), /offers no ISO image/);
  });

  test('ports: numbers 1–65535, ranges low:high (or low-high), at most 15 ports', () => {
    assert.equal(checkPorts('p', '22'), '22');
    assert.equal(checkPorts('p', 443), '443');
    assert.equal(checkPorts('p', '80, 8000-8080'), '80,8000:8080');
    for (const bad of ['0', '65536', '80:80', '90:80', 'ssh', '22;23', '', '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16', '1:2,3:4,5:6,7:8,9:10,11:12,13:14,15:16']) {
      assert.throws(() => checkPorts('p', bad), field('p'), bad);
    }
    assert.equal(checkPorts('p', '1:2,3:4,5:6,7:8,9:10,11:12,13:14,15'), '1:2,3:4,5:6,7:8,9:10,11:12,13:14,15', 'fifteen ports, a range counting two');
  });

  test('sources: an address or a network without host bits, in canonical form', () => {
    assert.equal(checkSource('s', '203.0.113.7'), '203.0.113.7');
    assert.equal(checkSource('s', '203.0.113.0/24'), '203.0.113.0/24');
    assert.equal(checkSource('s', '203.0.113.7/32'), '203.0.113.7');
    assert.equal(checkSource('s', '2001:DB8:0::/48'), '2001:db8::/48');
    for (const bad of ['203.0.113.7/24', '203.0.113.0/0', '203.0.113.0/33', '2001:db8::1/64', 'example.com', '+ipset', '1.2.3.4-1.2.3.9', '1.2.3.4/24/1', '1.2.3.4,5.6.7.8']) {
      assert.throws(() => checkSource('s', bad), field('s'), bad);
    }
  });

  test('rules: a JSON list within the product\'s count, each field checked and named', () => {
    assert.throws(() => parseFirewallRules('rules', '[]', 0), field('rules'));
    assert.deepEqual(parseFirewallRules('rules', '[]', 2), []);
    assert.deepEqual(parseFirewallRules('rules', JSON.stringify([{ action: 'accept', type: 'OUT', proto: 'UDP', dport: '53', comment: '  <b>dns</b> ' }]), 2),
      [{ action: 'ACCEPT', type: 'out', proto: 'udp', dport: '53', comment: '<b>dns</b>' }]);
    const bad = (rule: unknown, f: string) => assert.throws(() => parseFirewallRules('rules', JSON.stringify([rule]), 5), field(f), JSON.stringify(rule));
    bad({ type: 'in' }, 'rules.0.action');
    bad({ action: 'ACCEPT', type: 'forward' }, 'rules.0.type');
    bad({ action: 'ACCEPT', type: 'group' }, 'rules.0.type');
    bad({ action: 'ACCEPT', type: 'in', proto: 'tcp; rm -rf' }, 'rules.0.proto');
    bad({ action: 'ACCEPT', type: 'in', dport: '22' }, 'rules.0.dport');
    bad({ action: 'ACCEPT', type: 'in', comment: 'a\u0000b' }, 'rules.0.comment');
    bad({ action: 'ACCEPT', type: 'in', comment: 'x'.repeat(129) }, 'rules.0.comment');
    bad({ action: 'ACCEPT', type: 'in', macro: 'SSH' }, 'rules.0.macro');
    bad('ACCEPT', 'rules.0');
    assert.throws(() => parseFirewallRules('rules', '{"action":"ACCEPT"}', 5), field('rules'));
    assert.throws(() => parseFirewallRules('rules', '[{},{},{}]', 2), /3 rules: this product allows at most 2/);
  });

  test('a listed rule is the wanted one only when enabled and carrying nothing else', () => {
    const want = { action: 'ACCEPT' as const, type: 'in' as const, proto: 'tcp', dport: '22' };
    assert.equal(sameRule({ pos: 0, type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22', enable: 1, digest: 'x' }, want), true);
    assert.equal(sameRule({ pos: 0, type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22', enable: 0 }, want), false);
    assert.equal(sameRule({ pos: 0, type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22', enable: 1, dest: '10.0.0.1' }, want), false);
    assert.equal(sameRule({ pos: 0, type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22', enable: 1, log: 'nolog' }, want), true);
    assert.equal(sameRule({ pos: 0, type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22', enable: 1, comment: 'x' }, want), false);
    assert.deepEqual(ruleParams(want), { set: { type: 'in', action: 'ACCEPT', enable: 1, proto: 'tcp', dport: '22' }, clear: ['dest', 'sport', 'macro', 'iface', 'log', 'icmp-type', 'source', 'comment'] });
  });

  test('PTR names: host names of two labels or more, lower case, one trailing dot dropped; empty resets', () => {
    assert.equal(checkPtrName('name', 'Mail.Example.COM.'), 'mail.example.com');
    assert.equal(checkPtrName('name', ''), null);
    assert.equal(checkPtrName('name', '  '), null);
    assert.equal(checkPtrName('name', ' mail.example.com\n'), 'mail.example.com', 'white space around it is a form\'s');
    const long = `${Array.from({ length: 4 }, () => 'a'.repeat(62)).join('.')}.com`;
    assert.equal(long.length, 255);
    for (const bad of ['mail', 'mail..example.com', '-mail.example.com', 'mail-.example.com', 'mail_x.example.com', 'mail.example.com..', 'a b.example.com',
      '<script>.example.com', 'mail.example.com\nx', 'mail.exa\tmple.com', 'mail.example.123', long, `${'a'.repeat(64)}.com`, 'ex\u00e4mple.com']) {
      assert.throws(() => checkPtrName('name', bad), field('name'), JSON.stringify(bad));
    }
  });

  test('the chains: one step on the VM\'s node, or the DNS step on each DNS server, each as declared', () => {
    const plan = vmPlan();
    for (const op of ['iso-mount', 'iso-unmount', 'firewall-rules', 'rdns'] as const) {
      const chain = planExtrasChain(op, plan);
      assert.equal(chain.successState, null);
      for (const s of chain.steps) assert.equal(stepArgsProblem(s.type, s.args, true), null, `${op}: ${s.type}`);
      if (op === 'rdns') assert.deepEqual(chain.steps.map((s) => [s.type, s.target]), plan.dnsServers.map((id) => ['kvm.dns', `server:${id}`]));
      else assert.deepEqual(chain.steps.map((s) => s.target), [`pve:${plan.clusterId}:${plan.placement.targetNode}`]);
    }
  });

  test('the ISO drive: an existing CD-ROM that is not the cloud-init drive, else the first free IDE slot', () => {
    assert.deepEqual(isoSlot({ ide2: 'local-lvm:vm-100-cloudinit,media=cdrom', scsi0: 'local-lvm:vm-100-disk-0' }), { slot: 'ide0', exists: false });
    assert.deepEqual(isoSlot({ ide2: 'none,media=cdrom', ide0: 'local-lvm:vm-100-cloudinit,media=cdrom' }), { slot: 'ide2', exists: true });
    assert.deepEqual(isoSlot({ ide2: 'local-lvm:vm-100-cloudinit,media=cdrom', ide1: 'local:iso/x.iso,media=cdrom' }), { slot: 'ide1', exists: true });
    assert.deepEqual(isoSlot({}), { slot: 'ide2', exists: false });
    assert.equal(isoSlot({ ide0: 'local-lvm:vm-1-disk-1', ide1: 'local-lvm:vm-1-disk-2', ide2: 'local-lvm:vm-1-cloudinit,media=cdrom', ide3: 'local-lvm:vm-1-disk-3' }), null);
  });

  test('the boot order takes the CD-ROM after its devices, once; a legacy value is left alone', () => {
    assert.equal(bootWithCdrom('order=scsi0', 'ide0'), 'order=scsi0;ide0');
    assert.equal(bootWithCdrom('order=scsi0;net0', 'ide2'), 'order=scsi0;net0;ide2');
    assert.equal(bootWithCdrom('order=scsi0;ide0', 'ide0'), null);
    assert.equal(bootWithCdrom('legacy=cdn,order=scsi0', 'ide0'), 'legacy=cdn,order=scsi0;ide0');
    assert.equal(bootWithCdrom('cdn', 'ide0'), null);
    assert.equal(bootWithCdrom(undefined, 'ide0'), null);
  });
});
