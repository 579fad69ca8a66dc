// What every endpoint module gets: the cluster state, the task table and the timing knobs, plus
// the helpers that turn a request into a forked task.
import type { Req } from './http.ts';
import { type Cluster, type VmState, nowSec } from './state.ts';
import type { TaskCtx, Tasks } from './tasks.ts';
import { parseDrive, parseSize, DRIVE_KEY, isCdrom, isCloudinit } from './props.ts';

export interface Ctx { cluster: Cluster; tasks: Tasks; flockWaitMs: number; storageLockWaitMs: number }

/** fork_worker: returns the UPID string the API call answers with. */
export function fork(ctx: Ctx, req: Req, node: string, type: string, id: string | number, worker: (t: TaskCtx) => Promise<void> | void): string {
  return ctx.tasks.fork(node, type, String(id), req.upidUser, worker, req.takeTaskFail()).upid;
}

/** PVE::AbstractConfig::check_lock. */
export function checkLock(vm: VmState): void {
  if (vm.lock) throw new Error(`VM is locked (${vm.lock})`);
}

/** Disks of a config, keyed by drive name: volumes, cloud-init drives included, CD-ROMs not. */
export function disksOf(config: Record<string, string | number>): Array<[string, ReturnType<typeof parseDrive>]> {
  const out: Array<[string, ReturnType<typeof parseDrive>]> = [];
  for (const [k, v] of Object.entries(config)) {
    if (!DRIVE_KEY.test(k)) continue;
    try { const d = parseDrive(String(v)); if (!isCdrom(d) || isCloudinit(d)) out.push([k, d]); } catch { /* not a drive we understand */ }
  }
  return out;
}

export function maxdiskOf(vm: VmState): number {
  const boot = /order=([^;,]+)/.exec(String(vm.config.boot ?? ''))?.[1];
  const disks = disksOf(vm.config).filter(([, d]) => !isCloudinit(d));
  const d = disks.find(([k]) => k === boot) ?? disks[0];
  return d ? parseSize(d[1].opts.get('size') ?? '0') ?? 0 : 0;
}

/** Counters and gauges a running VM would show; zero when stopped. */
export function vmStats(vm: VmState): Record<string, number> {
  const up = vm.status === 'running' ? Math.max(1, nowSec() - vm.startedAt) : 0;
  const maxmem = vm.memoryMiB() * 1024 * 1024;
  const seed = (vm.vmid % 17) / 17;
  return {
    cpu: up ? 0.02 + seed * 0.1 : 0, maxcpu: vm.cpus(), mem: up ? Math.floor(maxmem * (0.25 + seed / 4)) : 0, maxmem,
    disk: 0, maxdisk: maxdiskOf(vm), uptime: up,
    netin: up * 1200, netout: up * 5400, diskread: up * 40960, diskwrite: up * 20480,
  };
}
