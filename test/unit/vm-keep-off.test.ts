// A suspended VM stays off: a package change or a Verify & Repair planned for it keeps every step
// but the start and the check that it runs, waits for what those waited for, ends with the VM
// stopped, and leaves the service's state (suspended) as it is.
import test from 'node:test';
import assert from 'node:assert/strict';
import { planVmChain } from '../../daemon/pipelines/vm-plan.ts';
import { keepVmOff } from '../../daemon/services/vm-lifecycle.ts';
import { vmPlan } from '../helpers/vm-plan.ts';

const byName = (steps: Array<{ step: string }>) => (n: string) => steps.findIndex((s) => s.step === n);

test('change package while suspended: no start or verify, the existing stop stays, the state is left alone', () => {
  const plan = vmPlan();
  const c = keepVmOff(planVmChain('change-package', plan), plan);
  assert.deepEqual(c.steps.map((s) => s.step), [
    'ip', 'whmcs-ips', 'dns.21', 'dns.22', 'stop', 'cpu-ram', 'disk-size', 'disk-io', 'extra-disk', 'extra-disk-size', 'extra-disk-io', 'network', 'firewall',
  ]);
  assert.equal(c.successState, null);
  assert.equal(c.failureState, null);
  const at = byName(c.steps);
  assert.deepEqual(c.steps[at('firewall')]!.dependsOn, [at('network')]);
  c.steps.forEach((s, i) => assert.ok((s.dependsOn ?? []).every((d) => d < i), `${s.step} waits only for earlier steps`));
});

test('Verify & Repair while suspended: the deploy steps, then a stop after everything else instead of the start', () => {
  const plan = vmPlan();
  const c = keepVmOff(planVmChain('verify-repair', plan), plan);
  const names = c.steps.map((s) => s.step);
  assert.ok(!names.includes('start') && !names.includes('verify'), names.join(' '));
  assert.equal(names.at(-1), 'stop');
  const stop = c.steps.at(-1)!;
  assert.equal(stop.type, 'kvm.stop');
  assert.deepEqual(stop.args, { cluster: 3, node: 'pve2', force: false });
  assert.equal(stop.target, 'pve:3:pve2');
  const at = byName(c.steps);
  // The stop waits for the last VM step and for the side steps the verify waited for.
  assert.deepEqual(stop.dependsOn, [at('whmcs-ips'), at('dns.21'), at('dns.22'), at('cloudinit')].sort((a, b) => a - b));
  assert.deepEqual(c.steps[at('cloudinit')]!.dependsOn, [at('firewall')]);
  assert.equal(c.successState, null);
  assert.equal(c.failureState, null);
});
