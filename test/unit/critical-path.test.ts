import { test } from 'node:test';
import assert from 'node:assert/strict';
import { criticalPath, parseDependsOn } from '../../bench/critical-path.ts';

test('a sequential chain (every depends_on NULL): the critical path is the sum', () => {
  assert.equal(criticalPath([
    { stepNo: 0, dependsOn: null, remote: 3 },
    { stepNo: 1, dependsOn: null, remote: 5 },
    { stepNo: 2, dependsOn: null, remote: 7 },
  ]), 15);
});

test('parallel lanes: the longest lane plus what they share', () => {
  // 0 → {1 → 2 (web), 3 (mail), 4 → 5 (dns)} → 6 waits for all three lanes.
  const steps = [
    { stepNo: 0, dependsOn: [], remote: 1 },
    { stepNo: 1, dependsOn: [0], remote: 4 },
    { stepNo: 2, dependsOn: [1], remote: 4 },
    { stepNo: 3, dependsOn: [0], remote: 10 },
    { stepNo: 4, dependsOn: [0], remote: 2 },
    { stepNo: 5, dependsOn: [4], remote: 2 },
    { stepNo: 6, dependsOn: [2, 3, 5], remote: 1 },
  ];
  assert.equal(criticalPath(steps), 12);
  // Input order does not matter.
  assert.equal(criticalPath([...steps].reverse()), 12);
});

test('a step with no dependencies starts a path of its own; the longest end wins', () => {
  assert.equal(criticalPath([
    { stepNo: 0, dependsOn: null, remote: 2 },
    { stepNo: 1, dependsOn: [], remote: 9 },
    { stepNo: 2, dependsOn: null, remote: 3 },
  ]), 12);
  assert.equal(criticalPath([]), 0);
});

test('bad graphs are refused with the step named', () => {
  assert.throws(() => criticalPath([{ stepNo: 0, dependsOn: [1], remote: 1 }, { stepNo: 1, dependsOn: null, remote: 1 }]), /step 0 depends on step 1, which is not an earlier step/);
  assert.throws(() => criticalPath([{ stepNo: 2, dependsOn: [1], remote: 1 }]), /step 2 depends on step 1, which is not in the chain/);
  assert.throws(() => criticalPath([{ stepNo: 0, dependsOn: null, remote: 1 }, { stepNo: 0, dependsOn: null, remote: 1 }]), /step 0 appears twice/);
});

test('depends_on as stored', () => {
  assert.equal(parseDependsOn(null, 3), null);
  assert.deepEqual(parseDependsOn('[0,2]', 3), [0, 2]);
  assert.throws(() => parseDependsOn('[0,"x"]', 3), /step 3: depends_on must be an array of step numbers/);
  assert.throws(() => parseDependsOn('{', 3), /step 3: depends_on is not JSON/);
});
