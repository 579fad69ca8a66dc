// The backup records on both databases: weekday parsing, backup days only for a product with
// backups, a restore only of the VM's own archive and one at a time, one scheduled backup per VM
// and day however many daemons claim it, and a finished run freeing the VM for the next one.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { T } from '../../daemon/common/tables.ts';
import { InputError } from '../../daemon/common/errors.ts';
import {
  backupDays, claimScheduledBackup, finishRun, liveVms, parseBackupDays, queueRestore, runsIn, setBackupDays, utcDay,
} from '../../daemon/services/vm-backups.ts';

const field = (f: string) => (err: unknown) => err instanceof InputError && err.field === f;

for (const dialect of DIALECTS) {
  describe(`VM backup records on ${dialect}`, () => {
    let t: TestDb;
    const ids: Record<number, number> = {};
    before(async () => {
      t = await createTestDb(dialect);
      const plan = (whmcs: number, backups: number) => JSON.stringify({ kind: 'kvm', whmcsServiceId: whmcs, clusterId: 1, domain: `vm${whmcs}.example.org`, spec: { backups } });
      for (const [whmcs, backups, vmid] of [[501, 2, 101], [502, 0, 102]] as const) {
        await t.db(T.services).insert({ whmcs_service_id: whmcs, mode: 'kvm', state: 'active', params: plan(whmcs, backups), created_at: 0, updated_at: 0 });
        const id = Number((await t.db(T.services).where('whmcs_service_id', whmcs).first('id')).id);
        ids[whmcs] = id;
        await t.db(T.vms).insert({ service_id: id, cluster_id: 1, vmid, node: 'pve1', created_at: 0, updated_at: 0 });
      }
    });
    after(async () => t.drop());

    test('weekdays: short or full names, any case, each once; anything else names its item', () => {
      assert.deepEqual(parseBackupDays(['Mon', 'sunday', 'thu']), [0, 1, 4]);
      assert.deepEqual(parseBackupDays([]), []);
      assert.throws(() => parseBackupDays(['mon', 'mon']), field('days.1'));
      assert.throws(() => parseBackupDays(['mon', 'noday']), field('days.1'));
      assert.throws(() => parseBackupDays('mon'), field('days'));
      assert.deepEqual(utcDay(Date.UTC(2026, 11, 6, 23, 59)), { day: '2026-12-06', weekday: 0 });
    });

    test('backup days are kept per service; a product without backups is refused and nothing is written', async () => {
      assert.deepEqual(await setBackupDays(t.db, 501, ['fri', 'mon']), ['mon', 'fri']);
      assert.deepEqual(await backupDays(t.db, ids[501]!), [1, 5]);
      await assert.rejects(setBackupDays(t.db, 502, ['mon']), field('days'));
      assert.deepEqual(await backupDays(t.db, ids[502]!), []);
      await assert.rejects(setBackupDays(t.db, 999, ['mon']), (e) => e instanceof InputError && e.status === 404);
      const vms = await liveVms(t.db);
      assert.deepEqual(vms.map((v) => [v.whmcsServiceId, v.vmid, v.backups, v.days]), [[501, 101, 2, [1, 5]], [502, 102, 0, []]]);
    });

    test('one scheduled backup per VM and day, and none while another run of the VM is open', async () => {
      const claim = () => claimScheduledBackup(t.db, { serviceId: ids[501]!, day: '2026-12-07', clusterId: 1, vmid: 101, node: 'pve1', storage: 'local' });
      const claims = await Promise.all([claim(), claim(), claim()]);
      assert.equal(claims.filter((c) => c !== null).length, 1, 'one claim wins');
      const other = await claimScheduledBackup(t.db, { serviceId: ids[501]!, day: '2026-12-08', clusterId: 1, vmid: 101, node: 'pve1', storage: 'local' });
      assert.equal(other, null, 'the VM has a backup open');
      await assert.rejects(queueRestore(t.db, 501, 'local:backup/vzdump-qemu-101-2026_12_06-10_00_00.vma.zst'), (e) => e instanceof InputError && e.status === 409);
      const won = claims.find((c) => c !== null)!;
      assert.equal(await finishRun(t.db, won.id, 'succeeded', 'done', 'local:backup/x'), true);
      assert.equal(await finishRun(t.db, won.id, 'failed', 'again'), false, 'an ended run stays ended');
      assert.ok(await claimScheduledBackup(t.db, { serviceId: ids[501]!, day: '2026-12-08', clusterId: 1, vmid: 101, node: 'pve1', storage: 'local' }), 'the next day\'s backup may start');
      for (const r of await runsIn(t.db, 'backup', ['starting'])) await finishRun(t.db, r.id, 'failed', 'test');
    });

    test('a restore takes only the VM\'s own archive, and one at a time', async () => {
      await assert.rejects(queueRestore(t.db, 501, ''), field('volid'));
      await assert.rejects(queueRestore(t.db, 501, 'local:iso/debian.iso'), field('volid'));
      await assert.rejects(queueRestore(t.db, 501, 'local:backup/vzdump-qemu-102-2026_12_06-10_00_00.vma.zst'), field('volid'));
      const { id } = await queueRestore(t.db, 501, 'local:backup/vzdump-qemu-101-2026_12_06-10_00_00.vma.zst');
      const queued = await runsIn(t.db, 'restore', ['queued']);
      assert.deepEqual(queued.map((r) => [r.id, r.vmid, r.storage, r.volid]), [[id, 101, 'local', 'local:backup/vzdump-qemu-101-2026_12_06-10_00_00.vma.zst']]);
      await assert.rejects(queueRestore(t.db, 501, 'local:backup/vzdump-qemu-101-2026_12_06-10_00_00.vma.zst'), (e) => e instanceof InputError && e.status === 409);
    });
  });
}
