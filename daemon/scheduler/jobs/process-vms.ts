// process-vms: the VM chains' safety net and their foreground runner (seed 003's "Process VMs").
// In a daemon (every scheduler.process-vms.interval_s, 60 s) it only counts the VM steps that are
// due but run by no one and wakes the engine for them: the engine starts each step as soon as
// the one before it ends, so this finds work only after a missed wake-up. From the command line
// (`hostbridge run-task process-vms`) it runs the due steps of the VM chains in the foreground
// with the engine's own claim, lease and fencing, so it is safe beside running daemons, and
// prints each step as it starts and ends and every line the step logs, as it is written, until
// no VM step is due or running or the time limit passes.
import type { Knex } from 'knex';
import { dbNow } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import { Engine } from '../../engine/engine.ts';
import { TaskRegistry, type TaskInfo } from '../../engine/registry.ts';
import type { Logger } from '../../log/logger.ts';
import type { Job, JobContext, JobDeps } from '../scheduler.ts';

/** How the command line runs the job in the foreground. */
export interface ForegroundRun {
  /** The run stops claiming after this long; steps still running get the engine's grace to end. */
  timeLimitMs: number;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  logger: Logger;
}

/** The task types the foreground run claims: the VM steps, and the close that ends a terminate. */
export function vmTaskTypes(registry: TaskRegistry): TaskRegistry {
  const only = new TaskRegistry();
  for (const name of registry.names()) if (name.startsWith('kvm.') || name === 'service.close') only.register(registry.get(name)!);
  return only;
}

/** Tasks of the VM chains: a VM step, or any step of a running chain holding one (the service.close ending a terminate). */
function vmTasks(db: Knex) {
  const running = db(T.chains).select('id').where('state', 'running');
  return db(T.tasks).where((b) => b.where('type', 'like', 'kvm.%')
    .orWhereIn('chain_id', db(T.tasks).distinct('chain_id').where('type', 'like', 'kvm.%').whereIn('chain_id', running)));
}

const count = async (q: Knex.QueryBuilder) => Number(((await q.count({ n: '*' })) as Array<{ n: number | string }>)[0]?.n ?? 0);

/** The daemon's cheap check: VM steps queued and due, read on the queue's due index. */
export async function vmStepsDue(db: Knex): Promise<number> {
  return count(db(T.tasks).where('status', 'queued').where('run_at', '<=', await dbNow(db)).where('type', 'like', 'kvm.%'));
}

/** Steps of the VM chains that are due (queued, their time come) or running, on any daemon. */
export async function vmStepsPending(db: Knex): Promise<{ due: number; running: number }> {
  const now = await dbNow(db);
  const due = await count(vmTasks(db).where('status', 'queued').where('run_at', '<=', now));
  const running = await count(vmTasks(db).where('status', 'running'));
  return { due, running };
}

/** The next retry of a VM step, to say when the next run has work. */
async function nextRetry(db: Knex): Promise<{ step: string; serviceId: number | null; runAt: number } | null> {
  const r = await vmTasks(db).where('status', 'queued').orderBy('run_at').first('step', 'service_id', 'run_at');
  return r ? { step: r.step, serviceId: r.service_id === null ? null : Number(r.service_id), runAt: Number(r.run_at) } : null;
}

interface VmName {
  whmcs: number | null;
  vmid: number | null;
}

/** Service and VMID of each service whose steps print, read again as its steps run (a clone sets the VMID). */
class VmNames {
  private readonly names = new Map<number, VmName>();
  private readonly reading = new Map<number, Promise<void>>();
  constructor(private readonly db: Knex) {}

  prefix(serviceId: number | null): string {
    if (serviceId === null) return '';
    const n = this.names.get(serviceId);
    if (!n || n.vmid === null) void this.refresh(serviceId);
    return `service ${n?.whmcs ?? `#${serviceId}`} VM ${n?.vmid ?? '-'} `;
  }

  /** Reads the names of the services whose VM steps are still to run, before the first line prints. */
  async preload(): Promise<void> {
    const ids: Array<{ service_id: number | null }> = await vmTasks(this.db).whereIn('status', ['queued', 'running', 'waiting']).distinct('service_id');
    await Promise.all(ids.filter((r) => r.service_id !== null).map((r) => this.refresh(Number(r.service_id))));
  }

  refresh(serviceId: number): Promise<void> {
    let p = this.reading.get(serviceId);
    if (!p) {
      p = (async () => {
        try {
          const s = await this.db(T.services).where('id', serviceId).first('whmcs_service_id');
          const v = await this.db(T.vms).where('service_id', serviceId).first('vmid');
          this.names.set(serviceId, { whmcs: s ? Number(s.whmcs_service_id) : null, vmid: v && v.vmid !== null ? Number(v.vmid) : null });
        } catch {
          // Only the printed names suffer: the next line asks again.
        } finally {
          this.reading.delete(serviceId);
        }
      })();
      this.reading.set(serviceId, p);
    }
    return p;
  }
}

/** One printed line of a step: the service, its VMID, then the step's own line (indented under the step when it is not the step's start or end). */
export function vmLine(prefix: string, task: Pick<TaskInfo, 'step'>, line: string): string {
  return line.startsWith(`${task.step}: `) ? `${prefix}${line}` : `${prefix}${task.step}   ${line}`;
}

async function runForeground(deps: Pick<JobDeps, 'queue' | 'registry' | 'settings'>, fg: ForegroundRun, ctx: JobContext): Promise<string> {
  const db = deps.queue.db;
  const names = new VmNames(db);
  const finished = { succeeded: 0, retry: 0, failed: 0, lost: 0 };
  const engine = new Engine(deps.queue, vmTaskTypes(deps.registry), {
    concurrency: fg.concurrency, leaseMs: fg.leaseMs, pollMs: fg.pollMs, logger: fg.logger,
    retryDefaults: () => deps.settings.retryPolicy(),
    onLine: (task, line) => ctx.log(vmLine(names.prefix(task.serviceId), task, line)),
    onFinished: (task, outcome) => {
      finished[outcome]++;
      if (outcome === 'lost') ctx.log(`${names.prefix(task.serviceId)}${task.step}: the lease was lost; the result is discarded and the step runs again`);
      if (task.serviceId !== null) void names.refresh(task.serviceId);
    },
  });
  await names.preload();
  const pending0 = await vmStepsPending(db);
  ctx.log(`${pending0.due} VM step(s) due, ${pending0.running} running elsewhere; running them for up to ${Math.round(fg.timeLimitMs / 1000)} s`);
  const deadline = Date.now() + fg.timeLimitMs;
  engine.start();
  let why: string;
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, Math.min(250, Math.max(50, fg.pollMs))));
      if (Date.now() >= deadline) {
        why = 'time limit reached';
        break;
      }
      if (engine.inFlight > 0) continue;
      const p = await vmStepsPending(db);
      if (p.due === 0 && p.running === 0) {
        why = 'no VM step due or running';
        break;
      }
      if (p.due > 0) engine.wake();
    }
  } finally {
    await engine.stop();
  }
  const left = await vmStepsPending(db);
  const next = await nextRetry(db);
  if (next && left.due === 0) ctx.log(`next: ${next.step} of ${names.prefix(next.serviceId).trim() || 'a VM chain'} at ${new Date(next.runAt).toISOString()}`);
  return `${why}: ${finished.succeeded} step(s) succeeded, ${finished.retry} to retry, ${finished.failed} failed, ${finished.lost} lost; ${left.due} due, ${left.running} running`;
}

export function processVmsJob(deps: Pick<JobDeps, 'queue' | 'registry' | 'settings' | 'onWork'>, foreground?: ForegroundRun): Job {
  return {
    name: 'process-vms',
    describe: 'Wakes the engine for VM steps that are due and run by no one; `run-task process-vms` runs them in the foreground with live output',
    defaultIntervalS: 60,
    ...(foreground ? { lockTtlMs: foreground.timeLimitMs + 60_000 } : {}),
    async run(ctx) {
      if (foreground) return runForeground(deps, foreground, ctx);
      const due = await vmStepsDue(deps.queue.db);
      if (due > 0) deps.onWork();
      return due > 0 ? `${due} VM step(s) due; woke the engine` : 'no VM step due';
    },
  };
}
