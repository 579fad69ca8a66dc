// Where a new VM runs: cloned on its template's node, moved to the node with room and the most free
// RAM, and left where it was cloned when no node fits.
import test from 'node:test';
import assert from 'node:assert/strict';
import { placeVm, type PlacementNode, type PlacementStorage, type VmNeeds } from '../../daemon/pipelines/kvm-placement.ts';

const node = (name: string, freeMb: number, extra: Partial<PlacementNode> = {}): PlacementNode =>
  ({ name, online: true, enabled: true, maxMemMb: 65536, usedMemMb: 65536 - freeMb, cpu: 0.1, ...extra });
const local = (n: string, availGb: number, extra: Partial<PlacementStorage> = {}): PlacementStorage =>
  ({ storage: 'local-lvm', node: n, enabled: true, system: true, additional: true, availGb, ...extra });
const needs = (extra: Partial<VmNeeds> = {}): VmNeeds =>
  ({ templateNode: 'pve1', node: null, memoryMb: 4096, systemDiskGb: 40, systemStorage: null, additional: null, ...extra });

test('the node with the most free RAM and room for the disk is chosen, and the VM is moved there', () => {
  const p = placeVm(needs(), [node('pve1', 8000), node('pve2', 30000), node('pve3', 20000)], [local('pve1', 500), local('pve2', 500), local('pve3', 500)]);
  assert.equal(p.cloneNode, 'pve1');
  assert.equal(p.targetNode, 'pve2');
  assert.equal(p.systemStorage, 'local-lvm');
  assert.match(p.reason, /pve2 has the most free RAM \(30000 MB\).*then moved/);
});

test('a node without the disk space, the RAM, online state or the admin\'s consent is skipped', () => {
  const p = placeVm(needs(), [
    node('pve1', 2000), node('pve2', 60000), node('pve3', 50000, { online: false }), node('pve4', 50000, { enabled: false }), node('pve5', 10000),
  ], [local('pve1', 500), local('pve2', 10), local('pve3', 500), local('pve4', 500), local('pve5', 500)]);
  assert.equal(p.targetNode, 'pve5');
});

test('a shared storage counts on every node; a named storage must be that one', () => {
  const shared: PlacementStorage = { storage: 'ceph', node: null, enabled: true, system: true, additional: false, availGb: 1000 };
  const p = placeVm(needs({ systemStorage: 'ceph' }), [node('pve1', 8000), node('pve2', 16000)], [local('pve1', 500), local('pve2', 500), shared]);
  assert.equal(p.targetNode, 'pve2');
  assert.equal(p.systemStorage, 'ceph');
});

test('an additional disk needs a storage with the additional role and room on the same node', () => {
  const p = placeVm(needs({ additional: { sizeGb: 100, storage: null } }), [node('pve1', 8000), node('pve2', 16000)], [
    local('pve1', 500), local('pve2', 500, { additional: false }), { storage: 'data', node: 'pve2', enabled: true, system: false, additional: true, availGb: 50 },
  ]);
  assert.equal(p.targetNode, 'pve1', 'pve2 has no additional-disk storage with 100 GB');
  assert.equal(p.additionalStorage, 'local-lvm');
});

test('when no node fits, the VM stays on its template\'s node and the reason names each refusal', () => {
  const p = placeVm(needs({ memoryMb: 100000 }), [node('pve1', 8000), node('pve2', 16000, { online: false })], [local('pve1', 500), local('pve2', 500)]);
  assert.equal(p.cloneNode, 'pve1');
  assert.equal(p.targetNode, 'pve1');
  assert.match(p.reason, /no node fits \(pve1 has 8000 MB free, 100000 MB needed; pve2 is offline\): the VM stays on pve1/);
});

test('a profile pinned to one node only considers it', () => {
  const p = placeVm(needs({ node: 'pve3' }), [node('pve1', 8000), node('pve2', 60000), node('pve3', 9000)], [local('pve1', 500), local('pve2', 500), local('pve3', 500)]);
  assert.equal(p.targetNode, 'pve3');
  const missing = placeVm(needs({ node: 'pve9' }), [node('pve1', 8000)], [local('pve1', 500)]);
  assert.equal(missing.targetNode, 'pve1');
  assert.match(missing.reason, /node pve9 is not in the cluster/);
});

test('ties go to the less busy CPU, then to the name, so the same inventory gives the same node', () => {
  const nodes = [node('pve3', 16000, { cpu: 0.5 }), node('pve2', 16000, { cpu: 0.2 }), node('pve4', 16000, { cpu: 0.2 })];
  const stores = [local('pve2', 500), local('pve3', 500), local('pve4', 500)];
  assert.equal(placeVm(needs(), nodes, stores).targetNode, 'pve2');
  assert.equal(placeVm(needs(), [...nodes].reverse(), stores).targetNode, 'pve2');
});
