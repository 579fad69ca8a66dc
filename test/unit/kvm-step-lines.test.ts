// The lines that open and close every VM step's attempt log (handlers/kvm/timed.ts), and how the
// foreground `run-task process-vms` prints a step's lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doneState, formatSeconds, isSkip, stepEndLine, stepStartLine, type StepPlace } from '../../daemon/handlers/kvm/timed.ts';
import { vmLine } from '../../daemon/scheduler/jobs/process-vms.ts';

const place: StepPlace = { operation: 'deploy', previous: { step: 'ip', type: 'kvm.ip' }, next: { step: 'migrate', type: 'kvm.migrate' } };

test('a success names the step, its duration, the state reached and the next step by its label', () => {
  assert.equal(stepEndLine({ result: 'success', step: 'clone', type: 'kvm.clone', durationMs: 1837.4, place }),
    'clone: success in 1.84 s (cloned → next: Moving the VM to its node)');
  assert.equal(stepEndLine({ result: 'success', step: 'verify', type: 'kvm.verify', durationMs: 5, place: { ...place, next: null } }),
    'verify: success in 0.01 s (running → end of deploy)');
});

test('a skip shows as a skip with the next step', () => {
  assert.equal(stepEndLine({ result: 'skip', step: 'disk-size', type: 'kvm.disk-size', durationMs: 210, place: { ...place, next: { step: 'disk-io', type: 'kvm.disk-io' } } }),
    'disk-size: skip in 0.21 s → next: Setting the system disk\'s I/O limits');
});

test('an error names the message, the state the VM stays at and when it is tried again', () => {
  const base = { result: 'error' as const, step: 'clone', type: 'kvm.clone', durationMs: 500, place, message: 'PVE POST /clone: 500 storage busy' };
  assert.equal(stepEndLine({ ...base, outlook: { retry: true, minMs: 30_000, maxMs: 30_000 } }),
    'clone: error after 0.50 s: PVE POST /clone: 500 storage busy (the VM stays at ip set; retried in 30 s)');
  assert.equal(stepEndLine({ ...base, outlook: { retry: true, minMs: 24_000, maxMs: 36_000 } }),
    'clone: error after 0.50 s: PVE POST /clone: 500 storage busy (the VM stays at ip set; retried in 24–36 s)');
  assert.equal(stepEndLine({ ...base, outlook: { retry: true, minMs: 200, maxMs: 200 } }),
    'clone: error after 0.50 s: PVE POST /clone: 500 storage busy (the VM stays at ip set; retried in 0.2 s)');
  assert.equal(stepEndLine({ ...base, place: { ...place, previous: null }, outlook: { retry: false, why: 'the error is terminal' } }),
    'clone: error after 0.50 s: PVE POST /clone: 500 storage busy (the VM stays at deploy queued; not retried: the error is terminal)');
  assert.equal(stepEndLine({ ...base, outlook: { retry: 'unknown' } }),
    'clone: error after 0.50 s: PVE POST /clone: 500 storage busy (the VM stays at ip set; retried after its back-off)');
});

test('the opening line names the attempt and the transition it is to make', () => {
  assert.equal(stepStartLine({ step: 'clone', type: 'kvm.clone', attempt: 2 }, place), 'clone: started, attempt 2 (ip set → Cloning the template)');
  assert.equal(stepStartLine({ step: 'ip', type: 'kvm.ip', attempt: 1 }, { operation: 'deploy', previous: null, next: null }),
    'ip: started, attempt 1 (deploy queued → Allocating IP addresses)');
});

test('durations have two decimals; unknown types get a state of their own', () => {
  assert.equal(formatSeconds(0), '0.00 s');
  assert.equal(formatSeconds(73_204), '73.20 s');
  assert.equal(doneState('kvm.migrate'), 'migrated');
  assert.equal(doneState('other.type'), 'other.type done');
});

test('a skip is a step that logged "skip" and wrote nothing to Proxmox, or returned skipped', () => {
  assert.equal(isSkip({ skipped: true }, []), true);
  assert.equal(isSkip({ key: 'scsi0', resized: false }, ['PVE GET /nodes/pve2/qemu/101/config → 200 3 ms [127.0.0.1:8006]', 'skip (no change): system disk scsi0 is 20 GB']), true);
  assert.equal(isSkip({}, ['skip (no change): firewall options', 'PVE PUT /nodes/pve2/qemu/101/firewall/ipset/x → 200 3 ms [127.0.0.1:8006]']), false);
  assert.equal(isSkip({ changed: {} }, ['setting cores=4']), false);
});

test('the foreground prints each line under its service, VMID and step', () => {
  assert.equal(vmLine('service 9101 VM 101 ', { step: 'dns.3' }, '· fwd OK vm1.example.org A 198.51.100.2'), 'service 9101 VM 101 dns.3   · fwd OK vm1.example.org A 198.51.100.2');
  assert.equal(vmLine('service 9101 VM - ', { step: 'ip' }, 'ip: success in 0.10 s (ip set → next: Cloning the template)'), 'service 9101 VM - ip: success in 0.10 s (ip set → next: Cloning the template)');
});
