// The VM backup and snapshot jobs end to end on MariaDB: two daemon processes deploy two VMs on
// the Proxmox VE emulator through the signed API, then the jobs run — from two schedulers on the
// same database at once, and from `hostbridge run-task` child processes killed with SIGKILL while
// their Proxmox task runs:
//  - remove-snapshots deletes exactly the snapshots older than the lifetime, never `current`;
//  - schedule-backup backs up each VM once per day however often it runs, and the product's count
//    is kept (the oldest removed);
//  - a killed schedule-backup's vzdump is followed to its end by backup-status, by its UPID (no
//    second vzdump);
//  - a restore (queued through the API) killed mid-way is finished by the next run: the VM runs,
//    one qmrestore task on the cluster, one "Backup restored" e-mail intent.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createTestDb, waitFor, type TestDb } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { CLI, daemonEnv, startDaemonProcess, TEST_MASTER_KEY, TSX, ROOT, type DaemonProcess } from '../helpers/daemon.ts';
import { failedSteps, placeKvmOrders, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import { T } from '../../daemon/common/tables.ts';
import { Scheduler, SchedulerError, type Job } from '../../daemon/scheduler/scheduler.ts';
import { SettingsCache, writeSetting } from '../../daemon/settings/settings.ts';
import { removeSnapshotsJob } from '../../daemon/scheduler/jobs/remove-snapshots.ts';
import { scheduleBackupsJob } from '../../daemon/scheduler/jobs/schedule-backups.ts';
import { backupStatusJob } from '../../daemon/scheduler/jobs/backup-status.ts';
import { restoreBackupsJob } from '../../daemon/scheduler/jobs/restore-backups.ts';
import { proxmoxClient } from '../../daemon/fleet/proxmox-access.ts';
import type { ProxmoxClient } from '../../daemon/drivers/proxmox/index.ts';

const IDS = [7601, 7602];
const KEEP = 2;
const KEY = Buffer.from(TEST_MASTER_KEY, 'hex');
const ALL_DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const JOBS = ['remove-snapshots', 'schedule-backup', 'backup-status', 'restore-backup'];

describe('VM backup and snapshot jobs with two daemons on MariaDB', () => {
  let t: TestDb;
  let lab: KvmLab;
  let env: NodeJS.ProcessEnv;
  let client: ProxmoxClient;
  const daemons: DaemonProcess[] = [];
  const svcId = new Map<number, number>();

  /** Two job runners on the one database, as two daemons are. */
  const runners = (make: () => Job) => [0, 1].map((i) => new Scheduler(t.db, new SettingsCache(t.db), `test-runner-${i}`, [make()]));
  /**
   * The daemons' own passes (node-cron, every 10 minutes of the clock) leave these jobs to the test:
   * a pass runs a job only when its slot has come, and this slot never comes, while runNow does not
   * look at it. Without this, a pass at :x0:00 took a job's lock and both runners were refused.
   */
  const holdOffPasses = () => t.db(T.jobs).insert(JOBS.map((name) => ({ name, last_slot: Number.MAX_SAFE_INTEGER })))
    .onConflict('name').merge(['last_slot']);
  /** Runs the job on both runners at once: one runs it, the other is refused by the lock (or runs after it). */
  const runTwice = async (make: () => Job, name: string) => {
    const lines: string[] = [];
    await holdOffPasses();
    const results = await Promise.allSettled(runners(make).map((s) => s.runNow(name, (l) => lines.push(l))));
    await holdOffPasses();
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof SchedulerError, String(r.reason));
    const ran = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ result?: string; message?: string }>).value);
    assert.ok(ran.length >= 1, 'at least one runner ran the job');
    for (const r of ran) assert.equal(r.result, 'ok', `${r.message}\n${lines.join('\n')}`);
    return { ran, lines };
  };
  /** Successful POSTs of a path seen by the emulator (each started one Proxmox task). */
  const posts = (re: RegExp, method = 'POST') => lab.pve.requests.filter((r) => r.method === method && re.test(r.path) && r.status === 200).length;
  const vm = (id: number) => lab.vmOf(id) as unknown as { vmid: number; node: string; status: string; lock: string | null; snapmeta: Array<Record<string, unknown>>; config: Record<string, unknown> };
  const backupsOf = async (id: number) => (await client.listBackups(vm(id).node, 'local', vm(id).vmid)).map((b) => b.volid);
  const runTask = (job: string) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, 'run-task', job], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, exited, output: () => out };
  };

  before(async () => {
    t = await createTestDb('mysql');
    for (const [k, v] of [['retry.base_ms', '200'], ['retry.cap_ms', '1000'], ['retry.jitter', '0']] as const) await writeSetting(t.db, k, v);
    await holdOffPasses();
    env = daemonEnv(t.url, { HOSTBRIDGE_LEASE_MS: '15000', HOSTBRIDGE_SCHEDULER_INTERVAL: '600', HOSTBRIDGE_CONCURRENCY: '4', HOSTBRIDGE_POLL_MS: '50' });
    for (let i = 0; i < 2; i++) daemons.push(await startDaemonProcess(env, path.join(t.dir, `daemon-${i}.log`)));
    lab = await startKvmLab(daemons[0]!.url, {
      profile: { backups: KEEP, snapshots: 3 },
      emulator: { taskMs: { qmclone: 80, qmigrate: 80, resize: 20, qmstart: 30, qmstop: 20, qmshutdown: 30, qmdestroy: 30, qmconfig: 10, vzdump: 300, qmrestore: 1500, qmdelsnapshot: 20 }, authFailDelayMs: 50 },
    });
    // The backups go to `local` on each node.
    const cluster = (await call(daemons[0]!.url, 'GET', `/v1/proxmox/clusters/${lab.clusterId}`)).body.cluster;
    for (const s of cluster.storages.filter((x: { storage: string }) => x.storage === 'local')) {
      const r = await call(daemons[0]!.url, 'PUT', `/v1/proxmox/clusters/${lab.clusterId}/storages/${s.id}`, { backups: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    await Promise.all(daemons.map((d, n) => placeKvmOrders(d.url, [IDS[n]!])));
    await waitFor('both VMs to be active', async () => {
      const states = (await t.db(T.services).whereIn('whmcs_service_id', IDS).pluck('state')) as string[];
      if (states.some((s) => s === 'failed')) throw new Error(`a deployment failed: ${(await failedSteps(t.db)).join('\n')}`);
      return states.length === IDS.length && states.every((s) => s === 'active');
    }, 90_000, 200);
    for (const r of await t.db(T.services).whereIn('whmcs_service_id', IDS).select('id', 'whmcs_service_id')) svcId.set(Number(r.whmcs_service_id), Number(r.id));
    ({ client } = await proxmoxClient(t.db, KEY, lab.clusterId));
  });

  after(async () => {
    client?.close();
    await Promise.all(daemons.map((d) => d.kill('SIGKILL')));
    await lab?.close();
    await t?.drop();
  });

  test('remove-snapshots deletes exactly the snapshots older than the lifetime', async () => {
    await writeSetting(t.db, 'proxmox.snapshot_lifetime_days', '7');
    const now = Math.floor(Date.now() / 1000);
    const ages: Record<string, number> = { old1: 30, old2: 8, young: 6, fresh: 0 };
    for (const id of IDS) {
      for (const name of Object.keys(ages)) {
        const upid = await client.startTask('POST', `/nodes/${vm(id).node}/qemu/${vm(id).vmid}/snapshot`, { snapname: name });
        await client.waitTask(upid);
      }
      // Age them as if they were taken days ago (snaptime is what Proxmox reports).
      for (const s of vm(id).snapmeta) s.snaptime = now - ages[String(s.name)]! * 86_400 - 60;
    }
    const before = posts(/\/snapshot\/[^/]+$/, 'DELETE');
    const { lines } = await runTwice(() => removeSnapshotsJob({ db: t.db, masterKey: KEY, settings: new SettingsCache(t.db) }, { waitMs: 20_000 }), 'remove-snapshots');
    for (const id of IDS) assert.deepEqual(vm(id).snapmeta.map((s) => s.name).sort(), ['fresh', 'young'], `VM of ${id}: ${lines.join('\n')}`);
    assert.equal(posts(/\/snapshot\/[^/]+$/, 'DELETE') - before, 2 * IDS.length, 'one delete per old snapshot, none twice');
    assert.ok(lines.some((l) => /snapshot old1 \(taken .*\) removed/.test(l)), lines.join('\n'));
    // Nothing older is left: a second run removes nothing.
    const again = await runTwice(() => removeSnapshotsJob({ db: t.db, masterKey: KEY, settings: new SettingsCache(t.db) }, { waitMs: 20_000 }), 'remove-snapshots');
    assert.equal(posts(/\/snapshot\/[^/]+$/, 'DELETE') - before, 2 * IDS.length);
    assert.match(again.ran[0]!.message!, /^0 snapshot\(s\)/);
  });

  test('backup days: bad input is refused naming the field, and changes nothing', async () => {
    const url = daemons[1]!.url;
    let r = await call(url, 'PUT', `/v1/services/${IDS[0]}/backup-days`, { days: ['mon', 'funday'] });
    assert.equal(r.status, 422);
    assert.match(JSON.stringify(r.body), /days\.1/);
    r = await call(url, 'PUT', `/v1/services/${IDS[0]}/backup-days`, { day: ['mon'] });
    assert.equal(r.status, 422);
    r = await call(url, 'PUT', '/v1/services/999999/backup-days', { days: ['mon'] });
    assert.equal(r.status, 404);
    assert.equal(await t.db(T.vmBackupDays).count({ n: '*' }).first().then((x) => Number(x!.n)), 0);
  });

  test('schedule-backup backs each VM up once per day, and keeps the product\'s count (the oldest removed)', async () => {
    for (const id of IDS) {
      const r = await call(daemons[IDS.indexOf(id)]!.url, 'PUT', `/v1/services/${id}/backup-days`, { days: ALL_DAYS });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    // The first VM already has KEEP backups, a second apart so their order is plain.
    for (let i = 0; i < KEEP; i++) {
      if (i) await new Promise((r) => setTimeout(r, 1100));
      await client.waitTask(await client.startTask('POST', `/nodes/${vm(IDS[0]!).node}/vzdump`, { vmid: String(vm(IDS[0]!).vmid), storage: 'local' }));
    }
    const old = await backupsOf(IDS[0]!);
    assert.equal(old.length, KEEP);
    await new Promise((r) => setTimeout(r, 1100));
    const before = posts(/\/vzdump$/);
    const make = () => scheduleBackupsJob({ db: t.db, masterKey: KEY }, { waitMs: 20_000 });
    const first = await runTwice(make, 'schedule-backup');
    await runTwice(make, 'schedule-backup');
    assert.equal(posts(/\/vzdump$/) - before, IDS.length, `one vzdump per VM: ${first.lines.join('\n')}`);
    const runs = await t.db(T.vmBackupRuns).where('kind', 'backup').orderBy('id');
    assert.equal(runs.length, IDS.length, 'one run per VM and day');
    for (const r of runs) assert.equal(r.state, 'succeeded', JSON.stringify(r));
    const now = await backupsOf(IDS[0]!);
    assert.equal(now.length, KEEP, `the count is kept: ${now.join(', ')}`);
    assert.ok(!now.includes(old[0]!), 'the oldest backup was removed');
    assert.ok(now.includes(old[1]!), 'the newer old backup is kept');
    assert.ok(now.includes(runs.find((r: Record<string, any>) => Number(r.service_id) === svcId.get(IDS[0]!)).volid), 'the new backup is kept and recorded');
    assert.equal((await backupsOf(IDS[1]!)).length, 1);
    for (const id of IDS) assert.equal(vm(id).lock, null);
  });

  test('a schedule-backup killed during its vzdump: backup-status follows the same task to its end', async () => {
    // Today's backup is done; the day's rows are removed so the job backs up again (as on the next day).
    await t.db(T.vmBackupRuns).where('kind', 'backup').del();
    await t.db(T.vmBackupDays).where('service_id', svcId.get(IDS[1]!)!).update({ days: '' });
    const before = posts(/\/vzdump$/);
    const child = runTask('schedule-backup');
    await waitFor('the vzdump to run', async () => vm(IDS[0]!).lock === 'backup', 30_000, 10);
    child.child.kill('SIGKILL');
    await child.exited;
    const left = await t.db(T.vmBackupRuns).where('kind', 'backup').first();
    assert.ok(['starting', 'running'].includes(left.state), `the run is left ${left.state}`);
    assert.ok(child.output().includes('schedule-backup: started'), child.output());
    const { lines } = await runTwice(() => backupStatusJob({ db: t.db, masterKey: KEY }, { waitMs: 20_000, staleStartMs: 0 }), 'backup-status');
    const run = await t.db(T.vmBackupRuns).where('id', left.id).first();
    assert.equal(run.state, 'succeeded', `${JSON.stringify(run)}\n${lines.join('\n')}`);
    assert.equal(posts(/\/vzdump$/) - before, 1, 'one vzdump: the successor followed the task by its UPID');
    assert.equal((await backupsOf(IDS[0]!)).length, KEEP, 'the count is kept');
    // The job (its lock cleared, as after `hostbridge clear-locks`) finds the day's run and starts nothing.
    await t.db(T.jobs).where('name', 'schedule-backup').update({ locked_by: null, locked_until: null });
    await runTwice(() => scheduleBackupsJob({ db: t.db, masterKey: KEY }, { waitMs: 20_000 }), 'schedule-backup');
    assert.equal(posts(/\/vzdump$/) - before, 1);
  });

  test('a restore killed mid-way is finished by the next run: the VM runs, one qmrestore, one e-mail', async () => {
    const url = daemons[1]!.url;
    const archives = await backupsOf(IDS[0]!);
    const other = (await backupsOf(IDS[1]!))[0]!;
    let r = await call(url, 'POST', `/v1/services/${IDS[0]}/backups/restore`, { volid: 'local:iso/debian.iso' });
    assert.equal(r.status, 422);
    assert.match(JSON.stringify(r.body), /volid/);
    r = await call(url, 'POST', `/v1/services/${IDS[0]}/backups/restore`, { volid: other });
    assert.equal(r.status, 422, 'another VM\'s archive is refused');
    assert.equal(await t.db(T.vmBackupRuns).where('kind', 'restore').count({ n: '*' }).first().then((x) => Number(x!.n)), 0);

    const volid = archives[archives.length - 1]!;
    // Proxmox refuses a restore over a running VM, and over an existing one without force.
    const target = `/nodes/${vm(IDS[0]!).node}/qemu`;
    await assert.rejects(client.startTask('POST', target, { vmid: vm(IDS[0]!).vmid, archive: volid, force: 1 }), /VM is running/);
    await assert.rejects(client.startTask('POST', target, { vmid: vm(IDS[0]!).vmid, archive: volid }), /config file already exists/);
    await assert.rejects(client.startTask('POST', target, { vmid: vm(IDS[0]!).vmid, archive: volid, force: 1, cores: 2 }), /conflicts with option 'archive'/);
    r = await call(url, 'POST', `/v1/services/${IDS[0]}/backups/restore`, { volid });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const runId = Number(r.body.restore_id);
    r = await call(daemons[0]!.url, 'POST', `/v1/services/${IDS[0]}/backups/restore`, { volid });
    assert.equal(r.status, 409, 'one restore at a time per VM');

    const before = posts(/^\/api2\/json\/nodes\/[^/]+\/qemu$/);
    const child = runTask('restore-backup');
    await waitFor('the restore to run', async () => vm(IDS[0]!).lock === 'create', 30_000, 10);
    assert.equal(vm(IDS[0]!).status, 'stopped', 'the VM was stopped for the restore');
    child.child.kill('SIGKILL');
    await child.exited;
    const left = await t.db(T.vmBackupRuns).where('id', runId).first();
    assert.ok(['starting', 'running'].includes(left.state), `the run is left ${left.state}`);
    // The dead process still holds the job's lock (until its TTL); `hostbridge clear-locks` frees it at once.
    await t.db(T.jobs).where('name', 'restore-backup').update({ locked_by: null, locked_until: null });

    const { lines } = await runTwice(() => restoreBackupsJob({ db: t.db, masterKey: KEY }, { waitMs: 20_000, staleStartMs: 0 }), 'restore-backup');
    const run = await t.db(T.vmBackupRuns).where('id', runId).first();
    assert.equal(run.state, 'succeeded', `${JSON.stringify(run)}\n${lines.join('\n')}`);
    assert.equal(vm(IDS[0]!).status, 'running', 'the VM runs after the restore');
    assert.equal(vm(IDS[0]!).lock, null);
    assert.equal(posts(/^\/api2\/json\/nodes\/[^/]+\/qemu$/) - before, 1, 'one qmrestore: the successor followed the task');
    const mails = await t.db(T.emailOutbox).where({ whmcs_service_id: IDS[0]!, template: 'backup-restored' });
    assert.equal(mails.length, 1, 'one "Backup restored" e-mail');
    assert.equal(mails[0].template, 'backup-restored');
    assert.equal(mails[0].dedupe_key, `restore:${runId}`);

    // Run again: nothing more happens.
    await runTwice(() => restoreBackupsJob({ db: t.db, masterKey: KEY }, { waitMs: 20_000, staleStartMs: 0 }), 'restore-backup');
    assert.equal(posts(/^\/api2\/json\/nodes\/[^/]+\/qemu$/) - before, 1);
    assert.equal(await t.db(T.emailOutbox).where({ whmcs_service_id: IDS[0]!, template: 'backup-restored' }).count({ n: '*' }).first().then((x) => Number(x!.n)), 1);
    const view = await call(url, 'GET', `/v1/services/${IDS[0]}/backups`);
    assert.equal(view.status, 200);
    assert.ok(view.body.runs.some((x: { kind: string; state: string }) => x.kind === 'restore' && x.state === 'succeeded'));
  });
});
