// The customer's VM panel actions (issue 16) on both databases, against the Proxmox VE emulator: a
// daemon deploys one VM, then runPanelAction — what the module's client area calls — drives it:
//  - the dispatcher refuses an unknown action, another client's service, a hosting service, a
//    feature the product switched off and, with the customer's words, a busy or suspended service;
//  - power (stop, start, shutdown, reboot), snapshots (taken, rolled back, deleted, within the
//    product's count), backups (taken now and followed by backup-status, deleted, restored by the
//    restore-backup job; the backup days) and the password each end with Proxmox in the wanted state;
//  - bad names, volids, days and passwords are refused naming the field, and nothing is queued;
//  - who asked is in the admin actions (the Operation Log), and no password is anywhere.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createTestDb, DIALECTS, waitFor, type TestDb } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { failedSteps, kvmOrderBody, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import type { Daemon } from '../../daemon/runtime.ts';
import { T } from '../../daemon/common/tables.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { proxmoxClient } from '../../daemon/fleet/proxmox-access.ts';
import type { ProxmoxClient } from '../../daemon/drivers/proxmox/index.ts';
import { backupStatusJob } from '../../daemon/scheduler/jobs/backup-status.ts';
import { restoreBackupsJob } from '../../daemon/scheduler/jobs/restore-backups.ts';
import { busyWith, PANEL_ACTIONS, runPanelAction } from '../../daemon/services/vm-panel-actions.ts';
import type { PanelActor } from '../../daemon/services/vm-panel-types.ts';
import { checkBackupVolid, checkSnapshotName, planPanelChain, planReinstallChain, reinstallPlan } from '../../daemon/pipelines/vm-panel-plan.ts';
import { vmPlan } from '../helpers/vm-plan.ts';

const CLIENT: PanelActor = { kind: 'client', clientId: 7 };
const ID = 9301;

/** Whether `stored` is the emulator's hash of `password` (its crypt-like $6$salt$hash). */
function hashes(stored: string, password: string): boolean {
  const m = /^\$6\$([^$]+)\$(.+)$/.exec(stored);
  if (!m) return false;
  return createHash('sha512').update(`${m[1]}$${password}`).digest('base64').replace(/\+/g, '.').replace(/=+$/, '') === m[2];
}

/** An InputError with this status, naming this field (and its message matching, when given). */
const refused = (status: number, field: string, message?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof InputError, `not an InputError: ${String(err)}`);
  assert.equal(err.status, status, err.message);
  assert.equal(err.field, field, err.message);
  if (message) assert.match(err.message, message);
  return true;
};

describe('the VM panel\'s planning (pure)', () => {
  test('a reinstall stops and destroys the VM, then runs the deploy from the clone on, in order, on the new template', () => {
    const plan = reinstallPlan(vmPlan(), { slug: 'ubuntu-24', vmid: 9001, node: 'pve3', storage: 'local-lvm' });
    assert.equal(plan.spec.os, 'ubuntu-24');
    assert.deepEqual([plan.placement.cloneNode, plan.placement.targetNode], ['pve3', 'pve2'], 'cloned where the template is, back on the VM\'s node');
    const chain = planReinstallChain(plan);
    assert.deepEqual(chain.steps.map((s) => s.step), ['power-off', 'destroy', 'clone', 'migrate', 'cpu-ram', 'disk-size', 'disk-io', 'extra-disk', 'extra-disk-size', 'extra-disk-io', 'network', 'firewall', 'firewall-rules', 'iso', 'cloudinit', 'start', 'verify']);
    assert.deepEqual(chain.steps.map((s) => s.dependsOn), chain.steps.map((_, i) => (i === 0 ? [] : [i - 1])), 'one step after the other');
    assert.equal(chain.steps[2]!.target, 'pve:3:pve3', 'the clone runs on the template\'s node');
    assert.deepEqual([chain.successState, chain.failureState], [null, 'failed']);
  });

  test('a rollback starts the VM again; the customer\'s fields are checked', () => {
    assert.deepEqual(planPanelChain('snapshot-rollback', vmPlan(), { snapshot: { name: 'a1', description: null } }).steps.map((s) => s.type), ['kvm.snapshot-rollback', 'kvm.start', 'kvm.verify']);
    assert.equal(checkSnapshotName('name', ' Before_2 '), 'Before_2');
    assert.throws(() => checkSnapshotName('name', 'Pending'), /reserves/);
    assert.deepEqual(checkBackupVolid('volid', 'local:backup/vzdump-qemu-101-2026_12_06-10_00_00.vma.zst', 101), { volid: 'local:backup/vzdump-qemu-101-2026_12_06-10_00_00.vma.zst', storage: 'local' });
    assert.throws(() => checkBackupVolid('volid', 'local:backup/vzdump-qemu-1011-2026_12_06-10_00_00.vma.zst', 101), (e) => e instanceof InputError && e.field === 'volid');
    assert.throws(() => checkBackupVolid('volid', 'local:backup/../../etc/passwd', 101), (e) => e instanceof InputError && e.field === 'volid');
  });
});

for (const dialect of DIALECTS) {
  describe(`the VM panel's actions on ${dialect}`, () => {
    let t: TestDb;
    let daemon: Daemon;
    let lab: KvmLab;
    let client: ProxmoxClient;
    let serviceId: number;

    // The daemon's own connection: on SQLite a second writer on the file would meet SQLITE_BUSY.
    const db = () => daemon.core.db;
    const act = (action: string, fields: Record<string, string> = {}, actor: PanelActor = CLIENT, id = ID) =>
      runPanelAction(daemon.core.queue, daemon.core.config.masterKey, id, action, fields, actor);
    const vm = () => lab.vmOf(ID) as unknown as { vmid: number; node: string; status: string; lock: string | null; snapmeta: Array<{ name: string }>; config: Record<string, unknown> };
    const counts = async () => ({
      chains: Number((await db()(T.chains).where('service_id', serviceId).count({ n: '*' }).first())!.n),
      runs: Number((await db()(T.vmBackupRuns).where('service_id', serviceId).count({ n: '*' }).first())!.n),
      writes: lab.pve.requests.filter((r) => r.method !== 'GET').length,
    });
    /** The chain to its end: it must succeed (its failed steps are shown otherwise). */
    const done = async (chainId: number | null, op: string) => {
      assert.ok(chainId, `${op}: a chain was queued`);
      const row = await waitFor(`chain ${chainId} (${op}) to end`, async () => {
        const c = await db()(T.chains).where('id', chainId).first('state', 'operation');
        return c && ['succeeded', 'failed', 'cancelled'].includes(c.state) ? c : null;
      }, 30_000, 50);
      assert.equal(row.operation, op);
      assert.equal(row.state, 'succeeded', (await failedSteps(db())).join('\n'));
    };
    const backups = async () => (await client.listBackups(vm().node, 'local', vm().vmid)).map((b) => b.volid);
    const runJob = (job: { run(ctx: { log(l: string): void }): Promise<string> }) => {
      const lines: string[] = [];
      return job.run({ log: (l) => lines.push(l) }).then((r) => ({ result: r, lines }));
    };

    before(async () => {
      t = await createTestDb(dialect, { migrate: false });
      daemon = await startTestDaemon(t.dir, t.url, { HOSTBRIDGE_POLL_MS: '50', HOSTBRIDGE_SCHEDULER_INTERVAL: '600' });
      for (const [k, v] of [['retry.base_ms', '100'], ['retry.cap_ms', '500'], ['retry.jitter', '0']] as const) await writeSetting(db(), k, v);
      await daemon.core.settings.refresh();
      lab = await startKvmLab(daemon.url, {
        profile: { backups: 2, snapshots: 2, os_templates: ['debian-12', 'ubuntu-24'] },
        emulator: {
          templates: [
            { vmid: 9000, node: 'pve1', name: 'debian-12-cloud', storage: 'local-lvm', diskGb: 2, cloudinit: true },
            { vmid: 9001, node: 'pve1', name: 'ubuntu-24-cloud', storage: 'local-lvm', diskGb: 2, cloudinit: true },
          ], taskMs: { qmclone: 40, qmigrate: 40, resize: 10, qmstart: 20, qmstop: 10, qmshutdown: 20, qmdestroy: 20, qmconfig: 5, vzdump: 60, qmrestore: 80, qmsnapshot: 20, qmdelsnapshot: 10, qmrollback: 20, imgdel: 10 }, authFailDelayMs: 20 },
      });
      const cluster = (await call(daemon.url, 'GET', `/v1/proxmox/clusters/${lab.clusterId}`)).body.cluster;
      for (const s of cluster.storages.filter((x: { storage: string }) => x.storage === 'local')) {
        const r = await call(daemon.url, 'PUT', `/v1/proxmox/clusters/${lab.clusterId}/storages/${s.id}`, { backups: true });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      const tpl = await call(daemon.url, 'POST', `/v1/proxmox/clusters/${lab.clusterId}/templates`, { slug: 'ubuntu-24', label: 'Ubuntu 24.04', vmid: 9001, node: 'pve1', storage: 'local-lvm', cloud_init: true });
      assert.equal(tpl.status, 201, JSON.stringify(tpl.body));
      const r = await call(daemon.url, 'POST', '/v1/services', kvmOrderBody(ID, 'panel.example.org'));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitFor('the VM to be deployed', async () => {
        const s = await db()(T.services).where('whmcs_service_id', ID).first('state');
        if (s?.state === 'failed') throw new Error((await failedSteps(db())).join('\n'));
        return s?.state === 'active' && (await busyWith(db(), Number((await db()(T.services).where('whmcs_service_id', ID).first('id')).id))) === null;
      }, 30_000, 50);
      serviceId = Number((await db()(T.services).where('whmcs_service_id', ID).first('id')).id);
      ({ client } = await proxmoxClient(db(), daemon.core.config.masterKey, lab.clusterId));
    });
    after(async () => {
      client?.close();
      await daemon?.stop();
      await lab?.close();
      await t?.drop();
    });

    test('the dispatcher: an unknown action, service, another client\'s service and a hosting service are refused', async () => {
      await assert.rejects(act('explode'), refused(404, 'action', /snapshot-create/));
      await assert.rejects(act('start', {}, CLIENT, 999_999), refused(404, '', /does not exist/));
      await assert.rejects(act('start', {}, { kind: 'client', clientId: 8 }), refused(404, '', /does not exist/));
      await db()(T.services).insert({ whmcs_service_id: 9399, mode: 'split', state: 'active', client_id: 7, created_at: 0, updated_at: 0 });
      await assert.rejects(act('start', {}, CLIENT, 9399), refused(409, '', /not a virtual server/));
      // A VPS still being deployed (its state as the deploy chain leaves it until the end).
      await db()(T.services).where('id', serviceId).update({ state: 'deploying' });
      try {
        await assert.rejects(act('start'), refused(409, '', /^Your VPS is still being deployed; these actions are available once it runs\.$/));
      } finally {
        await db()(T.services).where('id', serviceId).update({ state: 'active' });
      }
      assert.ok(Object.keys(PANEL_ACTIONS).includes('backup-days'));
    });

    test('power: stop (hard), start, shutdown (ACPI) and reboot end with the VM as asked', async () => {
      assert.equal(vm().status, 'running');
      const mark = lab.pve.requests.length;
      const stop = await act('stop');
      await done(stop.chainId, 'power-off');
      assert.equal(vm().status, 'stopped');
      const power = () => lab.pve.requests.slice(mark).filter((r) => r.method === 'POST' && /\/status\/\w+$/.test(r.path)).map((r) => r.path.split('/').pop());
      assert.deepEqual(power(), ['stop'], 'a hard stop, no shutdown first');
      await done((await act('start')).chainId, 'start');
      assert.equal(vm().status, 'running');
      await done((await act('shutdown')).chainId, 'shutdown');
      assert.equal(vm().status, 'stopped');
      assert.deepEqual(power(), ['stop', 'start', 'shutdown']);
      // A reboot of a stopped VM starts it; of a running one, shuts it down and starts it.
      await done((await act('reboot')).chainId, 'reboot');
      assert.equal(vm().status, 'running');
      const r = await act('reboot', {}, { kind: 'admin', name: 'WHMCS admin jane (#3)' });
      assert.match(r.message, /rebooted/);
      await done(r.chainId, 'reboot');
      assert.equal(vm().status, 'running');
      const actors = await db()(T.adminActions).orderBy('id').select('actor', 'ok', 'message');
      assert.ok(actors.some((a) => a.actor === 'WHMCS client #7' && /Stop the VPS \(power off\): Your VPS is being powered off\. \(chain #\d+\)/.test(a.message)), JSON.stringify(actors));
      assert.ok(actors.some((a) => a.actor === 'WHMCS admin jane (#3)' && /Reboot the VPS/.test(a.message)));
    });

    test('snapshots: bad names are refused before anything is queued; taken, limited, rolled back, deleted', async () => {
      const before = await counts();
      for (const [name, why] of [['', /required/], ['1abc', /not a snapshot name/], ['a', /not a snapshot name/], ['current', /reserves/], ['a b', /not a snapshot name/], ['x'.repeat(41), /at most 40/], ['<script>', /not a snapshot name/]] as const) {
        await assert.rejects(act('snapshot-create', { name }), refused(422, 'name', why));
      }
      await assert.rejects(act('snapshot-create', { name: 'ok-name', description: 'two\nlines' }), refused(422, 'description'));
      await assert.rejects(act('snapshot-rollback', { name: 'nosuch' }), refused(404, 'name', /no snapshot named "nosuch"/));
      await assert.rejects(act('snapshot-delete', { name: 'nosuch' }), refused(404, 'name'));
      assert.deepEqual(await counts(), before, 'nothing queued, nothing asked of Proxmox');

      await done((await act('snapshot-create', { name: 'before-upgrade', description: 'Before the upgrade' })).chainId, 'snapshot-create');
      assert.deepEqual(vm().snapmeta.map((s) => s.name), ['before-upgrade']);
      await assert.rejects(act('snapshot-create', { name: 'before-upgrade' }), refused(409, 'name', /already/));
      // The VM changes after the first snapshot: the rollback must undo it.
      vm().config.memo = 'changed after the snapshot';
      await done((await act('snapshot-create', { name: 'second' })).chainId, 'snapshot-create');
      const atLimit = await counts();
      await assert.rejects(act('snapshot-create', { name: 'third' }), refused(409, '', /2 snapshot\(s\), as many as your plan allows \(2\)/));
      assert.deepEqual(await counts(), atLimit, 'the third snapshot was refused before anything was queued');

      const rb = await act('snapshot-rollback', { name: 'before-upgrade' });
      await done(rb.chainId, 'snapshot-rollback');
      assert.equal(vm().config.parent, 'before-upgrade');
      assert.equal(vm().config.memo, undefined, 'the configuration is the snapshot\'s');
      assert.equal(vm().status, 'running', 'started again after the rollback');
      await done((await act('snapshot-delete', { name: 'second' })).chainId, 'snapshot-delete');
      assert.deepEqual(vm().snapmeta.map((s) => s.name), ['before-upgrade']);
    });

    test('a feature switched off in the product, and a busy service, are refused with their messages', async () => {
      const row = await db()(T.kvmProfiles).first('id', 'spec');
      const spec = typeof row.spec === 'string' ? JSON.parse(row.spec) : row.spec;
      await db()(T.kvmProfiles).where('id', row.id).update({ spec: JSON.stringify({ ...spec, client_features: ['power'] }) });
      const before = await counts();
      try {
        await assert.rejects(act('snapshot-create', { name: 'nope' }), refused(403, '', /^Take a snapshot is not part of your plan\.$/));
        await assert.rejects(act('backup-create'), refused(403, '', /Back up now is not part of your plan/));
      } finally {
        await db()(T.kvmProfiles).where('id', row.id).update({ spec: JSON.stringify(spec) });
      }
      assert.deepEqual(await counts(), before);

      lab.pve.setLatency(150);
      try {
        const reboot = await act('reboot');
        await assert.rejects(act('snapshot-create', { name: 'during' }), refused(409, '', /^Another action is in progress on your VPS \(a reboot\); try again when it has finished\.$/));
        await assert.rejects(act('reboot'), refused(409, '', /a reboot/));
        assert.equal(await busyWith(db(), serviceId), 'a reboot');
        lab.pve.setLatency(0);
        await done(reboot.chainId, 'reboot');
      } finally {
        lab.pve.setLatency(0);
      }
      assert.equal(await busyWith(db(), serviceId), null);
    });

    test('backups: days, taken now within the count, deleted, restored — each with Proxmox in the wanted state', async () => {
      const before = await counts();
      await assert.rejects(act('backup-days', { days: 'mon,funday' }), refused(422, 'days.1'));
      await assert.rejects(act('backup-days', {}), refused(422, 'days'));
      await assert.rejects(act('backup-delete', { volid: `local:backup/vzdump-qemu-${vm().vmid + 1}-2026_12_06-10_00_00.vma.zst` }), refused(422, 'volid', /not a backup of your VPS/));
      await assert.rejects(act('backup-delete', { volid: 'local:iso/debian.iso' }), refused(422, 'volid'));
      await assert.rejects(act('backup-restore', { volid: `local:backup/vzdump-qemu-${vm().vmid}-2020_01_01-00_00_00.vma.zst` }), refused(404, 'volid', /no backup/));
      assert.deepEqual(await counts(), before);

      const days = await act('backup-days', { days: 'fri, mon' });
      assert.equal(days.message, 'Your VPS is backed up every Monday, Friday (UTC).');
      assert.equal((await db()(T.vmBackupDays).where('service_id', serviceId).first('days')).days, '1,5');

      // Two backups: the product's count.
      for (let i = 0; i < 2; i++) {
        if (i) await new Promise((r) => setTimeout(r, 1100)); // archives a second apart are named apart
        const r = await act('backup-create');
        assert.ok(r.runId, r.message);
        const run = await db()(T.vmBackupRuns).where('id', r.runId).first();
        assert.equal(run.origin, 'manual');
        assert.equal(run.requested_by, 'WHMCS client #7');
        await assert.rejects(act('start'), refused(409, '', /\(a backup\)/));
        const job = await runJob(backupStatusJob({ db: db(), masterKey: daemon.core.config.masterKey }, { waitMs: 20_000 }));
        assert.match(job.result, /1 backup\(s\) finished/, job.lines.join('\n'));
        const ended = await db()(T.vmBackupRuns).where('id', r.runId).first();
        assert.equal(ended.state, 'succeeded', ended.result);
        assert.ok((await backups()).includes(ended.volid), `${ended.volid} is on the storage`);
      }
      const two = await backups();
      assert.equal(two.length, 2);
      const atLimit = await counts();
      await assert.rejects(act('backup-create'), refused(409, '', /2 backup\(s\), as many as your plan keeps \(2\)/));
      assert.deepEqual(await counts(), atLimit);

      await done((await act('backup-delete', { volid: two[1]! })).chainId, 'backup-delete');
      assert.deepEqual(await backups(), [two[0]]);

      const restore = await act('backup-restore', { volid: two[0]! });
      assert.ok(restore.runId);
      await assert.rejects(act('snapshot-create', { name: 'meanwhile' }), refused(409, '', /\(a restore from a backup\)/));
      const job = await runJob(restoreBackupsJob({ db: db(), masterKey: daemon.core.config.masterKey }, { waitMs: 20_000 }));
      assert.match(job.result, /1 finished/, job.lines.join('\n'));
      const run = await db()(T.vmBackupRuns).where('id', restore.runId).first();
      assert.equal(run.state, 'succeeded', run.result);
      assert.equal(run.requested_by, 'WHMCS client #7');
      assert.equal(vm().status, 'running');
      assert.ok(lab.pve.requests.some((r) => r.method === 'POST' && new RegExp(`^/api2/json/nodes/${vm().node}/qemu$`).test(r.path) && r.status === 200), 'the restore ran');
    });

    test('password: a bad one is refused naming the field; a good one reaches cloud-init and no log', async () => {
      const before = await counts();
      await assert.rejects(act('password', { password: 'short' }), refused(422, 'password', /at least 8/));
      await assert.rejects(act('password', {}), refused(422, 'password'));
      assert.deepEqual(await counts(), before);
      const NEW = 'Panel-N3w "pass" $(x)';
      await done((await act('password', { password: NEW })).chainId, 'change-password');
      assert.ok(hashes(String(vm().config.cipassword), NEW), 'cloud-init holds the new password');
      const logs = (await db()(T.attempts).select('output', 'error')).map((r: Record<string, unknown>) => `${r.output ?? ''}${r.error ?? ''}`).join('\n');
      const actions = (await db()(T.adminActions).pluck('message')).join('\n');
      assert.ok(!logs.includes(NEW) && !actions.includes(NEW), 'the password is in no log');
    });

    test('reinstall: a fresh install of another OS on the same VMID and addresses, with the new password', async () => {
      const before = await counts();
      await assert.rejects(act('reinstall', { password: 'Good-pass-123' }), refused(422, 'os', /debian-12, ubuntu-24/));
      await assert.rejects(act('reinstall', { os: 'windows-11', password: 'Good-pass-123' }), refused(422, 'os', /not an operating system your plan offers/));
      await assert.rejects(act('reinstall', { os: 'ubuntu-24', password: 'short' }), refused(422, 'password'));
      assert.deepEqual(await counts(), before, 'nothing queued');
      const old = { vmid: vm().vmid, node: vm().node, addresses: await lab.addresses(ID), snapshots: vm().snapmeta.length };
      assert.ok(old.snapshots > 0, 'the old install has a snapshot');
      vm().config.memo = 'a file of the old install';
      const mark = lab.pve.requests.length;
      const NEW = 'Reinstalled-Pa55!';
      const r = await act('reinstall', { os: 'ubuntu-24', password: NEW });
      assert.match(r.message, /Ubuntu 24\.04/);
      await done(r.chainId, 'reinstall');
      const clones = lab.pve.requests.slice(mark).filter((q) => q.method === 'POST' && /\/qemu\/\d+\/clone$/.test(q.path) && q.status === 200).map((q) => q.path);
      assert.deepEqual(clones, ['/api2/json/nodes/pve1/qemu/9001/clone'], 'one clone, of the Ubuntu template');
      assert.equal(vm().vmid, old.vmid, 'the same VMID');
      assert.equal(vm().node, old.node);
      assert.equal(vm().status, 'running');
      assert.equal(vm().config.memo, undefined, 'a fresh install');
      assert.equal(vm().snapmeta.length, 0);
      assert.deepEqual(await lab.addresses(ID), old.addresses, 'the same addresses');
      assert.match(String(vm().config.ipconfig0), new RegExp(`ip=${old.addresses.find((a) => a.includes('.'))!.replace(/\./g, '\\.')}/`));
      assert.ok(hashes(String(vm().config.cipassword), NEW), 'the new password');
      const params = (await db()(T.services).where('id', serviceId).first('params')).params;
      const plan = typeof params === 'string' ? JSON.parse(params) : params;
      assert.equal(plan.spec.os, 'ubuntu-24');
      assert.equal(plan.template.vmid, 9001);
      assert.equal((await db()(T.services).where('id', serviceId).first('state')).state, 'active');
      const logs = (await db()(T.attempts).select('output', 'error')).map((x: Record<string, unknown>) => `${x.output ?? ''}${x.error ?? ''}`).join('\n');
      const args = (await db()(T.tasks).where('service_id', serviceId).pluck('args')).join('\n');
      const actions = (await db()(T.adminActions).pluck('message')).join('\n');
      assert.ok(![logs, args, actions].some((x) => x.includes(NEW)), 'the password is in no log, task or action record');
    });

    test('a suspended service refuses every action, saying so', async () => {
      const r = await call(daemon.url, 'POST', `/v1/services/${ID}/suspend`, {});
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitFor('the service to be suspended', async () => (await db()(T.services).where('id', serviceId).first('state')).state === 'suspended' && (await busyWith(db(), serviceId)) === null, 30_000, 50);
      const before = await counts();
      for (const [action, fields] of [['start', {}], ['snapshot-create', { name: 'x1' }], ['backup-create', {}], ['password', { password: 'Another-pass-1' }]] as const) {
        await assert.rejects(act(action, fields), refused(409, '', /^Your service is suspended: /));
      }
      assert.deepEqual(await counts(), before);
      assert.equal(vm().status, 'stopped');
      const refusedRows = await db()(T.adminActions).where('ok', false).pluck('message');
      assert.ok(refusedRows.some((m: string) => /Start the VPS: refused: Your service is suspended/.test(m)));
    });
  });
}
