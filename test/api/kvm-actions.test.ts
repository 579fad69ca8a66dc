// A KVM service's admin actions through the signed API (seed 003's VM Management): Reset VM Status
// sets the state by hand and is refused while a chain runs; a force terminate ("Delete Record")
// frees the addresses without asking the cluster and says what it left; the power buttons are
// refused for a service that is not deployed.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { call } from '../helpers/api.ts';
import { tmpDir, waitFor } from '../helpers/db.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { kvmOrderBody, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import type { Daemon } from '../../daemon/runtime.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';

describe('KVM admin actions', () => {
  let dir: string;
  let daemon: Daemon;
  let lab: KvmLab;
  const state = async (id: number) => (await call(daemon.url, 'GET', `/v1/services/${id}`)).body.service?.state as string | undefined;
  const settled = (id: number, states: string[]) => waitFor(`service ${id} to be ${states.join('|')}`, async () => {
    const open = await daemon.core.db('mod_hostbridge_chains').join('mod_hostbridge_services', 'mod_hostbridge_services.id', 'mod_hostbridge_chains.service_id')
      .where('mod_hostbridge_services.whmcs_service_id', id).whereIn('mod_hostbridge_chains.state', ['running', 'waiting']).count({ n: '*' });
    const s = await state(id);
    return Number(open[0]!.n) === 0 && s && states.includes(s) ? s : null;
  }, 60_000, 50);

  before(async () => {
    dir = tmpDir('hb-kvm-actions-');
    daemon = await startTestDaemon(dir, undefined, { HOSTBRIDGE_POLL_MS: '50' });
    for (const [k, v] of [['retry.base_ms', '200'], ['retry.cap_ms', '1000']] as const) await writeSetting(daemon.core.db, k, v, daemon.core.config.masterKey);
    await daemon.core.settings.refresh();
    lab = await startKvmLab(daemon.url);
  });
  after(async () => {
    await daemon?.stop();
    await lab?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('Reset VM Status: refused while the deploy runs, a bad state names the field, then sets the state and nothing else', async () => {
    const id = 8201;
    const r = await call(daemon.url, 'POST', '/v1/services', kvmOrderBody(id, 'reset.example.org'));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const during = await call(daemon.url, 'POST', `/v1/services/${id}/actions/reset-status`, { state: 'failed' });
    if (during.status === 409) assert.match(during.body.error, /running its deploy chain/);
    assert.equal(await settled(id, ['active']), 'active');
    const bad = await call(daemon.url, 'POST', `/v1/services/${id}/actions/reset-status`, { state: 'deleted' });
    assert.equal(bad.status, 422);
    assert.match(JSON.stringify(bad.body), /state/);
    const requests = lab.pve.requests.length;
    const ok = await call(daemon.url, 'POST', `/v1/services/${id}/actions/reset-status`, { state: 'failed' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.match(ok.body.message, /state reset from active to failed; nothing on the cluster changed/);
    assert.equal(await state(id), 'failed');
    // Scheduled jobs may read the cluster meanwhile (collect-statistics reads the VM's traffic): only a change would be the reset's.
    assert.deepEqual(lab.pve.requests.slice(requests).filter((q) => q.method !== 'GET'), [], 'nothing on the cluster changed');
    // A Retry (Verify & Repair) runs the deploy machine again: every step finds its work done.
    assert.equal((await call(daemon.url, 'POST', `/v1/services/${id}/actions/verify-repair`, {})).status, 200);
    assert.equal(await settled(id, ['active', 'failed']), 'active');
    assert.equal([...lab.pve.vms().values()].filter((v) => String(v.config.description ?? '').includes(`hostbridge service ${id}`)).length, 1, 'no second VM');
  });

  test('force terminate (Delete Record): the addresses go back, the cluster is not asked, the log says what may be left', async () => {
    const id = 8202;
    assert.equal((await call(daemon.url, 'POST', '/v1/services', kvmOrderBody(id, 'gone.example.org'))).status, 200);
    assert.equal(await settled(id, ['active']), 'active');
    assert.equal((await lab.addresses(id)).length, 2);
    const vm = lab.vmOf(id)!;
    const requests = lab.pve.requests.length;
    const r = await call(daemon.url, 'POST', `/v1/services/${id}/actions/force-terminate`, {});
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(await settled(id, ['terminated']), 'terminated');
    assert.deepEqual(await lab.addresses(id), []);
    assert.ok(lab.vmOf(id), 'the VM was not touched');
    // Scheduled jobs may read the cluster meanwhile (collect-statistics reads the VM's traffic): only a change would be the reset's.
    assert.deepEqual(lab.pve.requests.slice(requests).filter((q) => q.method !== 'GET'), [], 'nothing on the cluster changed');
    const out = (await daemon.core.db('mod_hostbridge_task_attempts as a').join('mod_hostbridge_tasks as t', 't.id', 'a.task_id').where('t.type', 'kvm.release').where('t.operation', 'force-terminate').pluck('a.output')).join('\n');
    assert.match(out, new RegExp(`force terminate: VM ${vm.vmid} on pve2 is not checked`));
  });

  test('the power buttons wait for a deployed VM, and a hosting action list names them', async () => {
    const id = 8203;
    lab.pve.setLatency(200);
    try {
      assert.equal((await call(daemon.url, 'POST', '/v1/services', kvmOrderBody(id, 'power.example.org'))).status, 200);
      const early = await call(daemon.url, 'POST', `/v1/services/${id}/actions/start`, {});
      assert.equal(early.status, 409);
      assert.match(early.body.error, /is deploying: the power buttons work once its VM is deployed/);
    } finally {
      lab.pve.setLatency(0);
    }
    assert.equal(await settled(id, ['active']), 'active');
    // The move is named by where the VM goes, in the steps and in the recent activity alike.
    const view = (await call(daemon.url, 'GET', `/v1/services/${id}`)).body.service;
    const moves = [...view.progress.steps, ...view.recent].map((s: { label: string }) => s.label).filter((l: string) => l.startsWith('Moving the VM'));
    assert.ok(moves.length >= 1);
    assert.deepEqual([...new Set(moves)], ['Moving the VM to its node on pve2']);
    const unknown = await call(daemon.url, 'POST', `/v1/services/${id}/actions/explode`, {});
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error, /start, stop, reboot/);
  });
});
