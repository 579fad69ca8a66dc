// Two daemon processes on one MariaDB database deploying 30 VMs on the Proxmox VE emulator, the
// orders split between them and both engines taking any task: every service reaches active with
// exactly one VM, no VMID used twice (both daemons choose VMIDs for the same cluster at once, and
// Proxmox's nextid reserves nothing), no address handed out twice, and the cluster's per-node
// limit (max_tasks_per_node) held across both daemons: by the steps' attempts on each node's
// target, and by the Proxmox tasks the emulator runs on each node, sampled while they run.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createTestDb, waitFor, type TestDb } from '../helpers/db.ts';
import { daemonEnv, startDaemonProcess, type DaemonProcess } from '../helpers/daemon.ts';
import { maxOverlap } from '../helpers/intervals.ts';
import { KVM_CHAOS_EMULATOR, activeProxmoxTasks, failedSteps, kvmDeploymentProblems, placeKvmOrders, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import { T } from '../../daemon/common/tables.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';

const VMS = 30;
const FIRST_ID = 7300;
const METRICS_TOKEN = 'kvm-multi-daemon-metrics-token';

/** Attempts this daemon finished on Proxmox nodes, all and clones: its hostbridge_task_attempts_total on the pve: targets. */
async function nodeAttempts(url: string): Promise<{ all: number; clones: number }> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(res.status, 200, 'the metrics scrape');
  const n = { all: 0, clones: 0 };
  for (const line of (await res.text()).split('\n')) {
    const m = /^hostbridge_task_attempts_total\{([^}]*server="pve:[^"]*"[^}]*)\} (\d+)/.exec(line);
    if (!m) continue;
    n.all += Number(m[2]);
    if (m[1]!.includes('type="kvm.clone"')) n.clones += Number(m[2]);
  }
  return n;
}

/** The runs open at the busiest instant (the first one), for a failure's message. */
function busiest<R extends { started: number; ended: number }>(runs: R[]): R[] {
  const n = maxOverlap(runs);
  for (const r of [...runs].sort((a, b) => a.started - b.started)) {
    const open = runs.filter((x) => x.started <= r.started && x.ended > r.started);
    if (open.length === n) return open;
  }
  return [];
}

describe('two daemons on one MariaDB database deploying 30 KVM services', () => {
  let t: TestDb;
  let lab: KvmLab;
  const daemons: DaemonProcess[] = [];
  const ids = Array.from({ length: VMS }, (_, i) => FIRST_ID + i);
  let limit = 0;
  let seconds = 0;
  let perDaemon: Array<{ all: number; clones: number }> = [];
  /** The most Proxmox tasks seen running at once on each node, and which. */
  const peak: Record<string, { n: number; tasks: string[] }> = {};

  before(async () => {
    t = await createTestDb('mysql');
    for (const [k, v] of [['retry.base_ms', '200'], ['retry.cap_ms', '1000'], ['retry.jitter', '0']] as const) await writeSetting(t.db, k, v);
    const started = Date.now();
    // Two workers each, fewer than the nodes' four slots together: a daemon whose step ends takes
    // its chain's next step in the same transaction (the hand-off), so with 8 workers one daemon
    // could keep every slot and the other would never get one (seen: 300 attempts to 0). With 2,
    // neither fills the nodes alone, and both compete for the same slots under the per-node limit.
    const env = daemonEnv(t.url, { HOSTBRIDGE_LEASE_MS: '15000', HOSTBRIDGE_SCHEDULER_INTERVAL: '1', HOSTBRIDGE_CONCURRENCY: '2', HOSTBRIDGE_POLL_MS: '50', HOSTBRIDGE_METRICS_TOKEN: METRICS_TOKEN });
    for (let i = 0; i < 2; i++) daemons.push(await startDaemonProcess(env, path.join(t.dir, `daemon-${i}.log`)));
    lab = await startKvmLab(daemons[0]!.url, { emulator: KVM_CHAOS_EMULATOR });
    limit = Number((await t.db(T.pveClusters).where('id', lab.clusterId).first('max_tasks_per_node')).max_tasks_per_node);

    // The orders alternate between the daemons, placed at the same time.
    await Promise.all(daemons.map((d, n) => placeKvmOrders(d.url, ids.filter((_, i) => i % 2 === n))));

    // Sample the Proxmox tasks running on each node while the deployments run, as a client would see them.
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const [node, tasks] of Object.entries(await activeProxmoxTasks(lab.pve, ['pve1', 'pve2']))) {
          if (tasks.length > (peak[node]?.n ?? -1)) peak[node] = { n: tasks.length, tasks };
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const states = async () => (await t.db(T.services).whereIn('whmcs_service_id', ids).pluck('state')) as string[];
    try {
      await waitFor('every service to be active', async () => {
        const s = await states();
        return s.some((x) => x === 'failed') || (s.length === VMS && s.every((x) => x === 'active'));
      }, 150_000, 250);
    } finally {
      sampling = false;
      await sampler;
    }
    seconds = (Date.now() - started) / 1000;
    perDaemon = await Promise.all(daemons.map((d) => nodeAttempts(d.url)));
    await Promise.all(daemons.map((d) => d.kill('SIGTERM')));
  }, { timeout: 180_000 });

  after(async () => {
    await Promise.all(daemons.map((d) => d.kill('SIGKILL')));
    await lab?.close();
    await t.drop();
  });

  test(`all ${VMS} VMs ready: one VM each, no VMID or address twice`, async (ctx) => {
    assert.deepEqual(await failedSteps(t.db), [], 'steps failed for good');
    assert.deepEqual(await kvmDeploymentProblems(t.db, lab, ids), []);
    ctx.diagnostic(`${VMS} VMs active in ${seconds.toFixed(1)} s from 2 daemons; ${VMS} distinct VMIDs, ${VMS * 2} distinct addresses`);
  });

  test('both engines ran steps, never more on a node at once than max_tasks_per_node', async (ctx) => {
    // Both engines worked on the nodes. Which one claims the clones is the scheduler's race: on a
    // loaded machine one daemon took all 30 (seen in CI), so the clone split is reported, not asserted.
    assert.ok(perDaemon.every((n) => n.all > 0), `attempts on the nodes per daemon: ${JSON.stringify(perDaemon)}`);
    const attempts = await t.db(`${T.attempts} as a`).join(`${T.tasks} as t`, 't.id', 'a.task_id').where('t.target', 'like', 'pve:%')
      .select('t.target', 't.type', 'a.task_id', 'a.duration_ms', 'a.finished_at', 'a.result');
    assert.ok(attempts.length >= VMS * 9, `only ${attempts.length} attempts on the nodes`);
    assert.equal(attempts.length, perDaemon.reduce((a, b) => a + b.all, 0), 'the daemons\' counters and the attempt log agree');
    const byTarget = new Map<string, Array<{ started: number; ended: number; what: string }>>();
    // Each attempt's run: its handler's duration, ending when its result was recorded (database
    // clock). started_at is not used: it is when the claim's transaction began, which may be before
    // that transaction got the node's slot from a step finishing meanwhile. A run's slot is free only
    // once its result is recorded, and the next run starts after that, so these intervals of one
    // node overlap only if the runs did; 1 ms of slack for the rounding of duration_ms.
    for (const a of attempts) {
      assert.ok(a.duration_ms !== null, `an attempt of ${a.type} has no duration`);
      const ended = Number(a.finished_at);
      (byTarget.get(a.target) ?? byTarget.set(a.target, []).get(a.target)!).push({ started: ended - Number(a.duration_ms) + 1, ended, what: `${a.type} ${a.result} task ${a.task_id}` });
    }
    const observed: Record<string, number> = {};
    for (const [target, runs] of byTarget) {
      observed[target] = maxOverlap(runs);
      assert.ok(observed[target] <= limit, `${target} ran ${observed[target]} steps at once; the cluster's limit is ${limit}: ${JSON.stringify(busiest(runs))}`);
    }
    assert.deepEqual([...byTarget.keys()].sort(), [`pve:${lab.clusterId}:pve1`, `pve:${lab.clusterId}:pve2`], 'the steps ran on both nodes');
    assert.ok(Object.values(observed).every((n) => n === limit), `the limit was not reached on every node (${JSON.stringify(observed)}): the check was not put to the test`);
    const retried = attempts.filter((a: { result: string }) => a.result !== 'succeeded').length;
    ctx.diagnostic(`attempts on the nodes per daemon ${perDaemon.map((n) => `${n.all} (${n.clones} clones)`).join(' / ')} (${retried} of ${attempts.length} retried); max concurrent steps per node ${JSON.stringify(observed)} (limit ${limit})`);
  });

  // What the limit is for: Proxmox's own load per node. Every task counts on the node that runs it;
  // a move's qmigrate runs on the node the VM leaves, so the move's step must hold that node's slot.
  test('Proxmox never ran more tasks at once on a node than max_tasks_per_node', (ctx) => {
    ctx.diagnostic(`peak Proxmox tasks per node: ${JSON.stringify(peak)}`);
    assert.deepEqual(Object.keys(peak).sort(), ['pve1', 'pve2']);
    assert.ok(Object.values(peak).some((p) => p.n >= limit), `the sampler never saw ${limit} tasks on a node (${JSON.stringify(peak)}): it did not put the limit to the test`);
    for (const [node, p] of Object.entries(peak)) assert.ok(p.n <= limit, `${p.n} Proxmox tasks ran at once on ${node} (${p.tasks.join(', ')}); the cluster's limit is ${limit}`);
  });
});
