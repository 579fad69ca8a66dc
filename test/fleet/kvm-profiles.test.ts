// KVM profiles in the database, on SQLite and MariaDB: added, listed, found by id and by name (as a
// WHMCS product names one), edited whole, refused with the field named and nothing written, and
// removed unless a live service's plan was built from it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { T } from '../../daemon/common/tables.ts';
import {
  addKvmProfile, findKvmProfile, getKvmProfile, kvmProfileForProduct, kvmProfileServices, listKvmProfiles, removeKvmProfile, updateKvmProfile,
} from '../../daemon/fleet/kvm-profiles.ts';
import type { KvmProfileInput } from '../../daemon/pipelines/kvm-product.ts';

const body = (over: Partial<KvmProfileInput> = {}): KvmProfileInput => ({
  name: 'vps-small', cluster_id: 2, cores: 2, memory_mb: 2048, default_os: 'debian-12', os_templates: ['debian-12', 'ubuntu-24.04'],
  system_disk: { size_gb: 20, storage: 'local-lvm', iops_rd: 1000, mbps_wr: 50.5 }, network: { bridge: 'vmbr0', vlan: 10 },
  firewall: { enable: true, policy_in: 'REJECT' }, ...over,
});

async function rejects(p: Promise<unknown>, field: string, status: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof InputError, `not an InputError: ${String(err)}`);
    assert.equal(err.field, field);
    assert.equal(err.status, status);
    assert.match(err.message, message);
    return true;
  });
}

for (const dialect of DIALECTS) {
  describe(`KVM profiles in the database (${dialect})`, () => {
    let tdb: TestDb;
    before(async () => { tdb = await createTestDb(dialect); });
    after(async () => { await tdb?.drop(); });

    test('add, get, find by id and by name, list', async () => {
      const id = await addKvmProfile(tdb.db, body());
      const p = await getKvmProfile(tdb.db, id);
      assert.ok(p);
      assert.equal(p.id, id);
      assert.equal(p.name, 'vps-small');
      assert.equal(p.cluster_id, 2);
      assert.deepEqual(p.system_disk, { size_gb: 20, storage: 'local-lvm', iops_rd: 1000, iops_wr: null, mbps_rd: null, mbps_wr: 50.5 });
      assert.deepEqual(p.network, { bridge: 'vmbr0', vlan: 10, rate_mbps: null, model: 'virtio' });
      assert.equal(p.firewall.enable, true);
      assert.equal(p.firewall.policy_in, 'REJECT');
      assert.equal(p.firewall.ndp, true, 'defaults filled in');
      assert.ok(p.created_at > 0 && p.updated_at >= p.created_at);
      assert.deepEqual(await findKvmProfile(tdb.db, { name: 'vps-small' }), p);
      assert.deepEqual(await findKvmProfile(tdb.db, { id }), p);
      assert.equal(await findKvmProfile(tdb.db, { name: 'nope' }), null);
      const product = (ref: string) => ({ product: { configoption1: 'kvm', configoption15: ref }, config_options: {}, custom_fields: {} });
      assert.equal((await kvmProfileForProduct(tdb.db, product(String(id)))).id, id);
      assert.equal((await kvmProfileForProduct(tdb.db, product('vps-small'))).id, id);
      await rejects(kvmProfileForProduct(tdb.db, product('999')), 'product.configoption15', 422, /#999 does not exist/);
      await rejects(kvmProfileForProduct(tdb.db, product('gone')), 'product.configoption15', 422, /"gone" does not exist/);

      const second = await addKvmProfile(tdb.db, body({ name: 'a-first', cluster_id: 5 }));
      assert.deepEqual((await listKvmProfiles(tdb.db)).map((x) => [x.id, x.name]), [[second, 'a-first'], [id, 'vps-small']], 'by name');
    });

    test('bad input and a taken name are refused, naming the field, and nothing is written', async () => {
      const before = await tdb.db(T.kvmProfiles).count({ n: '*' }).first();
      await rejects(addKvmProfile(tdb.db, body({ name: 'vps-small' })), 'name', 409, /already exists/);
      await rejects(addKvmProfile(tdb.db, body({ name: 'x1', memory_mb: 4 })), 'memory_mb', 422, /out of range/);
      await rejects(addKvmProfile(tdb.db, body({ name: 'x2', system_disk: { size_gb: 20, storage: 'local;rm -rf' } })), 'system_disk.storage', 422, /storage id/);
      await rejects(addKvmProfile(tdb.db, body({ name: 'x3', network: { bridge: 'vmbr0', vlan: 4095 } })), 'network.vlan', 422, /1–4,094/);
      const after = await tdb.db(T.kvmProfiles).count({ n: '*' }).first();
      assert.equal(Number(after!.n), Number(before!.n));
    });

    test('update replaces the profile whole; a clash or a bad field changes nothing; an unknown id is 404', async () => {
      const id = (await findKvmProfile(tdb.db, { name: 'vps-small' }))!.id;
      const old = (await getKvmProfile(tdb.db, id))!;
      await updateKvmProfile(tdb.db, id, body({ name: 'vps-medium', cores: 4, memory_mb: 4096, additional_disk: { size_gb: 50 } }));
      const p = (await getKvmProfile(tdb.db, id))!;
      assert.equal(p.name, 'vps-medium');
      assert.equal(p.cores, 4);
      assert.deepEqual(p.additional_disk, { size_gb: 50, storage: 'local-lvm', iops_rd: null, iops_wr: null, mbps_rd: null, mbps_wr: null });
      assert.equal(p.created_at, old.created_at);
      const kept = JSON.stringify(p);
      await rejects(updateKvmProfile(tdb.db, id, body({ name: 'a-first' })), 'name', 409, /already exists/);
      await rejects(updateKvmProfile(tdb.db, id, body({ name: 'vps-medium', cores: 0 })), 'cores', 422, /out of range/);
      assert.equal(JSON.stringify(await getKvmProfile(tdb.db, id)), kept);
      await rejects(updateKvmProfile(tdb.db, 999999, body({ name: 'new-name' })), '', 404, /does not exist/);
    });

    test('a profile a live service was built from is not removed; a terminated one does not hold it', async () => {
      const id = await addKvmProfile(tdb.db, body({ name: 'in-use' }));
      // Profile id + 10 differs only by a trailing digit: it must not count as this profile.
      const other = id * 10 + 1;
      const plan = (pid: number) => JSON.stringify({ kind: 'kvm', whmcsServiceId: 1, profileId: pid, clusterId: 2, spec: { cores: 1 } });
      const now = Date.now();
      await tdb.db(T.services).insert([
        { whmcs_service_id: 9001, mode: 'kvm', state: 'active', params: plan(id), created_at: now, updated_at: now },
        { whmcs_service_id: 9002, mode: 'kvm', state: 'active', params: plan(other), created_at: now, updated_at: now },
      ]);
      assert.equal(await kvmProfileServices(tdb.db, id), 1);
      await rejects(removeKvmProfile(tdb.db, id), '', 409, /in use by 1 service/);
      assert.ok(await getKvmProfile(tdb.db, id), 'still there');
      await tdb.db(T.services).where('whmcs_service_id', 9001).update({ state: 'terminated' });
      assert.equal(await kvmProfileServices(tdb.db, id), 0);
      await removeKvmProfile(tdb.db, id);
      assert.equal(await getKvmProfile(tdb.db, id), null);
      await rejects(removeKvmProfile(tdb.db, id), '', 404, /does not exist/);
    });
  });
}
