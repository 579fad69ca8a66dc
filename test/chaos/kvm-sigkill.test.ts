// 30 VM deployments on the Proxmox VE emulator while the only daemon is killed with SIGKILL at
// random points, again and again, and restarted each time: every service reaches active, with
// exactly one VM each (a clone killed mid-task is adopted by the next attempt, never made twice),
// no VMID used twice and no address handed out twice.
//
// The emulator runs in this process, so a kill leaves its Proxmox tasks running, as a real cluster
// would. Half the kills are aimed at a clone or a move in flight on the cluster (the checks those
// steps' re-runs must pass), the others land after a random delay; the delays come from a seeded
// generator whose seed is printed, so a failure can be replayed with HOSTBRIDGE_TEST_SEED.
// As in sigkill.test.ts, once a killed process has exited the test expires its leases itself: the
// state its database would reach a lease later, when nothing of that process can still act.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createTestDb, expireRunningLeases, waitFor, type TestDb } from '../helpers/db.ts';
import { daemonEnv, startDaemonProcess, type DaemonProcess } from '../helpers/daemon.ts';
import { seededRandom } from '../helpers/random.ts';
import { KVM_CHAOS_EMULATOR, failedSteps, kvmDeploymentProblems, placeKvmOrders, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import { T } from '../../daemon/common/tables.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';

const VMS = 30;
const KILLS = Number(process.env.HOSTBRIDGE_TEST_KILLS ?? 10);
/** Kills there must have been before the deployments finished (the loop stops killing once all are active). */
const MIN_KILLS = Math.min(KILLS, 6);
const SEED = Number(process.env.HOSTBRIDGE_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
const LEASE_MS = 15_000;
const FIRST_ID = 7100;

describe('SIGKILL during 30 KVM deployments (mysql)', () => {
  let t: TestDb;
  let lab: KvmLab | undefined;
  let daemon: DaemonProcess | undefined;
  before(async () => {
    t = await createTestDb('mysql');
    for (const [k, v] of [['retry.base_ms', '200'], ['retry.cap_ms', '1000'], ['retry.jitter', '0'], ['scheduler.reap-expired-leases.interval_s', '1']] as const) await writeSetting(t.db, k, v);
  });
  after(async () => {
    await daemon?.kill('SIGKILL');
    await lab?.close();
    await t.drop();
  });

  test(`${VMS} VMs, up to ${KILLS} kills at random points: all ready, nothing made or handed out twice`, { timeout: 180_000 }, async (ctx) => {
    ctx.diagnostic(`seed ${SEED} (replay: HOSTBRIDGE_TEST_SEED=${SEED})`);
    const rand = seededRandom(SEED);
    const started = Date.now();
    const env = daemonEnv(t.url, { HOSTBRIDGE_LEASE_MS: String(LEASE_MS), HOSTBRIDGE_SCHEDULER_INTERVAL: '1', HOSTBRIDGE_CONCURRENCY: '8', HOSTBRIDGE_POLL_MS: '50' });
    const logFile = path.join(t.dir, 'daemons.log');
    daemon = await startDaemonProcess(env, logFile);
    lab = await startKvmLab(daemon.url, { emulator: KVM_CHAOS_EMULATOR });
    const ids = Array.from({ length: VMS }, (_, i) => FIRST_ID + i);
    await placeKvmOrders(daemon.url, ids);

    const states = async () => (await t.db(T.services).whereIn('whmcs_service_id', ids).pluck('state')) as string[];
    const allActive = async () => (await states()).every((s) => s === 'active');
    const pending = async (type: string) => Boolean(await t.db(T.tasks).where('type', type).whereNot('status', 'succeeded').first('id'));
    const locked = (lock: string) => [...lab!.pve.vms().values()].some((v) => v.lock === lock);
    /**
     * Whether a VM is locked by a clone (move) whose own step is running now: the kill then
     * interrupts an attempt with its Proxmox task in flight (not a task an earlier kill orphaned).
     */
    const inFlight = async (lock: string) => {
      const whmcs = [...lab!.pve.vms().values()].filter((v) => v.lock === lock).map((v) => Number(/hostbridge service (\d+)/.exec(String(v.config.description ?? ''))?.[1]));
      if (!whmcs.length) return false;
      return Boolean(await t.db(`${T.tasks} as t`).join(`${T.services} as s`, 's.id', 't.service_id').whereIn('s.whmcs_service_id', whmcs)
        .where({ 't.type': `kvm.${lock}`, 't.status': 'running' }).where('t.lease_until', '>', Date.now() + 300).first('t.id'));
    };
    const kills: string[] = [];
    let midTask = 0;
    const hits = { clone: 0, migrate: 0 };
    for (let k = 0; k < KILLS && !(await allActive()); k++) {
      // Even kills wait for a clone (then a move) in flight on the cluster; odd ones a random delay.
      // Once every clone (move) is done, such a kill lands at a random point like the others.
      const aim = k % 2 === 0 ? (k % 4 === 0 ? 'clone' : 'migrate') : null;
      let hit = false;
      if (aim) {
        const by = Date.now() + 10_000;
        while (Date.now() < by && !locked(aim) && (await pending(`kvm.${aim}`))) await new Promise((r) => setTimeout(r, 10));
      }
      const delay = Math.floor(rand() * (aim ? 150 : 3000));
      await new Promise((r) => setTimeout(r, delay));
      const running = (await t.db(T.tasks).where('status', 'running').where('lease_until', '>', Date.now() + 300).pluck('type')) as string[];
      if (aim) hit = await inFlight(aim);
      await daemon.kill('SIGKILL');
      if (running.length) midTask++;
      if (aim && hit) hits[aim]++;
      kills.push(`${aim ? `at a ${aim}${hit ? '' : ' (none of its steps in flight)'} +` : 'after '}${delay} ms: ${running.length ? running.join(',') : 'idle'}`);
      // The process has exited: nothing of it can act any more (see the header).
      await expireRunningLeases(t.db);
      daemon = await startDaemonProcess(env, logFile);
    }
    ctx.diagnostic(`kills: ${kills.map((x, i) => `#${i + 1} ${x}`).join(' | ')}`);

    await waitFor('every service to be active', async () => {
      const s = await states();
      if (s.some((x) => x === 'failed')) return true; // reported below
      return s.length === VMS && s.every((x) => x === 'active');
    }, 120_000, 250);
    await daemon.kill('SIGTERM');
    daemon = undefined;
    const seconds = (Date.now() - started) / 1000;

    assert.deepEqual(await failedSteps(t.db), [], `seed ${SEED}: steps failed for good`);
    assert.deepEqual(await kvmDeploymentProblems(t.db, lab, ids), [], `seed ${SEED}`);
    assert.ok(kills.length >= MIN_KILLS, `seed ${SEED}: the deployments finished after only ${kills.length} kills`);
    assert.ok(midTask >= kills.length / 2, `seed ${SEED}: only ${midTask} of ${kills.length} kills hit a running task`);

    // The kills did interrupt the VM steps, and a clone killed mid-task was adopted, not made again.
    const lost = await t.db(`${T.attempts} as a`).join(`${T.tasks} as t`, 't.id', 'a.task_id').where('a.result', 'lost').select('t.type');
    const adopted = await t.db(`${T.attempts} as a`).join(`${T.tasks} as t`, 't.id', 'a.task_id').where('t.type', 'kvm.clone').where('a.output', 'like', '%cloned by an earlier attempt%').count({ n: '*' }).first() as { n: number };
    assert.ok(lost.length > 0, `seed ${SEED}: no attempt was lost to a kill`);
    if (hits.clone > 0) assert.ok(Number(adopted.n) > 0, `seed ${SEED}: ${hits.clone} kill(s) landed during a clone step with its clone in flight, yet no clone attempt adopted the VM an earlier attempt made`);
    const lostTypes = [...new Set(lost.map((x: { type: string }) => x.type))].sort();
    ctx.diagnostic(`${VMS} VMs active in ${seconds.toFixed(1)} s; ${kills.length} SIGKILLs (${midTask} mid-task; ${hits.clone} during a clone step with its clone in flight, ${hits.migrate} during a move step with its move in flight); ${lost.length} attempts lost (${lostTypes.join(', ')}); ${adopted.n} clone attempt(s) adopted an earlier attempt's VM; ${lab.pve.vms().size - 1} VMs on the cluster, ${VMS} distinct VMIDs, ${VMS * 2} distinct addresses`);
  });
});
