// The chains of a KVM service: the deploy machine in seed 003's order, each VM step on the node it
// acts on, the DNS steps beside the rest (never before the addresses), terminate ending with the
// addresses' release after the delete, and change package acting in place.
import test from 'node:test';
import assert from 'node:assert/strict';
import { planVmChain, type VmOperation } from '../../daemon/pipelines/vm-plan.ts';
import { kvmSpec, vmPlan } from '../helpers/vm-plan.ts';

const names = (op: VmOperation, plan = vmPlan()) => planVmChain(op, plan).steps.map((s) => s.step);

test('deploy: the seed\'s fifteen steps in order, DNS per DNS server', () => {
  assert.deepEqual(names('deploy'), [
    'ip', 'clone', 'whmcs-ips', 'dns.21', 'dns.22', 'migrate', 'cpu-ram', 'disk-size', 'disk-io', 'extra-disk', 'extra-disk-size', 'extra-disk-io',
    'network', 'firewall', 'cloudinit', 'start', 'verify',
  ]);
  const noExtra = vmPlan({ spec: kvmSpec({ additionalDisk: null }) });
  assert.ok(!names('deploy', noExtra).some((n) => n.startsWith('extra-disk')), 'no additional disk, no additional-disk steps');
});

test('deploy: the clone runs on the template\'s node, everything after the move on the target node', () => {
  const steps = planVmChain('deploy', vmPlan()).steps;
  const target = (n: string) => steps.find((s) => s.step === n)!.target;
  assert.equal(target('ip'), null);
  assert.equal(target('clone'), 'pve:3:pve1');
  assert.equal(target('migrate'), 'pve:3:pve1', 'the migration task runs on the node the VM leaves');
  assert.equal((steps.find((s) => s.step === 'migrate')!.args as { node: string }).node, 'pve2', 'and the VM goes to the target node');
  assert.equal(target('verify'), 'pve:3:pve2');
  assert.equal(target('dns.21'), 'server:21');
});

test('deploy: DNS waits for the addresses only and runs beside the clone; the last step waits for DNS too', () => {
  const steps = planVmChain('deploy', vmPlan()).steps;
  const at = (n: string) => steps.findIndex((s) => s.step === n);
  const deps = (n: string) => steps[at(n)]!.dependsOn;
  assert.deepEqual(deps('dns.21'), [at('ip')]);
  assert.deepEqual(deps('clone'), [at('ip')]);
  assert.deepEqual(deps('migrate'), [at('clone')], 'the VM steps stay in the seed\'s order, DNS aside');
  assert.deepEqual(deps('whmcs-ips'), [at('ip')]);
  assert.deepEqual(deps('verify'), [at('whmcs-ips'), at('dns.21'), at('dns.22'), at('start')].sort((a, b) => a - b));
  const c = planVmChain('deploy', vmPlan());
  assert.equal(c.successState, 'active');
  assert.equal(c.failureState, 'failed');
});

test('terminate: stop, backups, DNS, delete, then the release and the close, one after another', () => {
  const c = planVmChain('terminate', vmPlan());
  assert.deepEqual(c.steps.map((s) => s.step), ['stop', 'backups-delete', 'dns-delete.21', 'dns-delete.22', 'destroy', 'release', 'whmcs-ips', 'service.close']);
  c.steps.forEach((s, i) => assert.deepEqual(s.dependsOn, i === 0 ? [] : [i - 1]));
  assert.deepEqual(c.steps[0]!.args, { cluster: 3, node: 'pve2', force: true });
  assert.equal(c.failureState, 'error_terminate');
});

test('change package: addresses and DNS, stop, the hardware steps, network, firewall, start, verify — in place', () => {
  assert.deepEqual(names('change-package'), [
    'ip', 'whmcs-ips', 'dns.21', 'dns.22', 'stop', 'cpu-ram', 'disk-size', 'disk-io', 'extra-disk', 'extra-disk-size', 'extra-disk-io', 'network', 'firewall', 'start', 'verify',
  ]);
  const steps = planVmChain('change-package', vmPlan()).steps;
  assert.ok(steps.filter((s) => s.target?.startsWith('pve:')).every((s) => s.target === 'pve:3:pve2'));
  assert.deepEqual(steps.find((s) => s.step === 'stop')!.args, { cluster: 3, node: 'pve2', force: false });
});

test('suspend stops, unsuspend starts and verifies, a password is one step', () => {
  assert.deepEqual(names('suspend'), ['stop']);
  assert.equal(planVmChain('suspend', vmPlan()).successState, 'suspended');
  assert.deepEqual(names('unsuspend'), ['start', 'verify']);
  assert.deepEqual(names('change-password'), ['password']);
  assert.deepEqual(names('force-terminate'), ['release', 'whmcs-ips', 'service.close']);
  assert.deepEqual(planVmChain('force-terminate', vmPlan()).steps[0]!.args, { cluster: 3, force: true });
});

test('the power buttons: start and verify, stop, and a reboot as stop, start, verify; none changes the service\'s state', () => {
  assert.deepEqual(names('start'), ['start', 'verify']);
  assert.deepEqual(names('stop'), ['stop']);
  assert.deepEqual(names('reboot'), ['stop', 'start', 'verify']);
  for (const op of ['start', 'stop', 'reboot'] as const) assert.equal(planVmChain(op, vmPlan()).successState, null);
});
