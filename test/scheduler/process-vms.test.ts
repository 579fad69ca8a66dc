// process-vms in a daemon: it counts VM steps that are due and run by no one and wakes the engine
// for them; a step whose retry time has not come, a step still waiting, or another kind of task is
// not its business. (The foreground run from the command line: test/cli/process-vms.test.ts.)
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { recordingHooks } from '../helpers/engine.ts';
import { enqueueChain, enqueueTasks } from '../../daemon/engine/chains.ts';
import { TaskRegistry } from '../../daemon/engine/registry.ts';
import { processVmsJob, vmStepsPending, vmTaskTypes } from '../../daemon/scheduler/jobs/process-vms.ts';
import { SettingsCache } from '../../daemon/settings/settings.ts';
import { T } from '../../daemon/common/tables.ts';

for (const dialect of DIALECTS) {
  describe(`process-vms on ${dialect}`, () => {
    let t: TestDb;
    before(async () => {
      t = await createTestDb(dialect);
    });
    after(async () => t.drop());

    const job = (onWork: () => void) => processVmsJob({ queue: { db: t.db, hooks: recordingHooks() }, registry: new TaskRegistry(), settings: new SettingsCache(t.db), onWork });

    test('with no VM step due it wakes nothing, whatever else is due', async () => {
      await enqueueTasks(t.db, 'usage', [{ step: 'usage.1', type: 'usage.sync', target: 'server:1' }]);
      let woken = 0;
      assert.equal(await job(() => woken++).run({ log: () => {} }), 'no VM step due');
      assert.equal(woken, 0);
    });

    test('a VM step due and run by no one wakes the engine once; its later steps waiting do not count', async () => {
      await enqueueChain(t.db, { serviceId: 1, operation: 'deploy', steps: [
        { step: 'ip', type: 'kvm.ip' }, { step: 'clone', type: 'kvm.clone', target: 'pve:1:pve1' }, { step: 'service.close', type: 'service.close' },
      ] });
      let woken = 0;
      assert.equal(await job(() => woken++).run({ log: () => {} }), '1 VM step(s) due; woke the engine');
      assert.equal(woken, 1);
      assert.deepEqual(await vmStepsPending(t.db), { due: 1, running: 0 });
    });

    test('a step waiting for its retry time is not due; the service.close of a VM chain is one of its steps', async () => {
      await t.db(T.tasks).where('type', 'kvm.ip').update({ run_at: Date.now() + 3_600_000 });
      let woken = 0;
      assert.equal(await job(() => woken++).run({ log: () => {} }), 'no VM step due');
      assert.equal(woken, 0);
      await t.db(T.tasks).where('type', 'kvm.ip').update({ status: 'succeeded', active_key: null });
      await t.db(T.tasks).where('type', 'kvm.clone').update({ status: 'succeeded', active_key: null });
      await t.db(T.tasks).where('type', 'service.close').update({ status: 'queued', run_at: 0 });
      assert.deepEqual(await vmStepsPending(t.db), { due: 1, running: 0 }, 'the close of a VM chain is due');
    });

    test('the foreground claims only VM task types and service.close', () => {
      const all = new TaskRegistry();
      for (const name of ['kvm.ip', 'kvm.clone', 'service.close', 'account.user', 'usage.sync']) all.register({ name, description: name, run: async () => null });
      assert.deepEqual(vmTaskTypes(all).names().sort(), ['kvm.clone', 'kvm.ip', 'service.close']);
    });
  });
}
