// The closing line of every VM step's attempt log (seed 003's cron output): the step, its result,
// how long it ran and the transition, e.g.
//   clone: success in 1.84 s (cloned → next: Moving the VM to its node)
//   disk-size: skip in 0.21 s → next: Setting the system disk's I/O limits
//   clone: error after 0.50 s: <message> (the VM stays at ip set; retried in 30 s)
// It is written through the attempt's own log, so the task log and any live listener (the daemon's
// debug log, `hostbridge run-task process-vms`) show it the moment the step ends. Done here, where
// the KVM handlers are registered, because only the KVM chains are state machines whose steps have
// a "done" state to name; the engine stays free of any pipeline's words.
import type { Knex } from 'knex';
import { classifyError, errorMessage } from '../../common/errors.ts';
import { T } from '../../common/tables.ts';
import type { TaskContext, TaskInfo, TaskRegistry } from '../../engine/registry.ts';
import { dependenciesOf } from '../../engine/graph.ts';
import { hasAttemptsLeft, retryDelayRange, type RetryPolicy } from '../../engine/retry.ts';
import { stepLabel, type StepArgs, type StepType } from '../../pipelines/steps.ts';
import { readSettings, retryPolicyFrom } from '../../settings/settings.ts';
import { registerStep as registerPlainStep } from '../step-args.ts';

/** The state a VM is in once a step of each type has succeeded (the seed's state names, in words). */
const DONE: Readonly<Record<string, string>> = {
  'kvm.ip': 'ip set', 'kvm.clone': 'cloned', 'kvm.whmcs-ips': 'ips recorded', 'kvm.dns': 'dns set', 'kvm.migrate': 'migrated',
  'kvm.cpu-ram': 'cpu/ram set', 'kvm.disk-size': 'disk sized', 'kvm.disk-io': 'disk i/o set',
  'kvm.extra-disk': 'extra disk created', 'kvm.extra-disk-size': 'extra disk sized', 'kvm.extra-disk-io': 'extra disk i/o set',
  'kvm.network': 'network set', 'kvm.firewall': 'firewall set', 'kvm.cloudinit': 'cloud-init set', 'kvm.start': 'started',
  'kvm.verify': 'running', 'kvm.stop': 'stopped', 'kvm.password': 'password set', 'kvm.backups-delete': 'backups removed',
  'kvm.dns-delete': 'dns removed', 'kvm.destroy': 'destroyed', 'kvm.release': 'ips released', 'service.close': 'closed',
  'kvm.power-off': 'stopped', 'kvm.shutdown': 'shut down', 'kvm.snapshot': 'snapshot taken', 'kvm.snapshot-rollback': 'rolled back',
  'kvm.snapshot-delete': 'snapshot removed', 'kvm.backup-delete': 'backup removed',
};

export function doneState(type: string): string {
  return DONE[type] ?? `${type} done`;
}

/** Seconds with two decimals: what the seed's output shows. */
export function formatSeconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(2)} s`;
}

/** A step of the same chain. */
export interface NeighbourStep {
  step: string;
  type: string;
}

/** Where a step stands in its chain: the step it follows and the step that follows it (null at either end, or outside a chain). */
export interface StepPlace {
  operation: string;
  previous: NeighbourStep | null;
  next: NeighbourStep | null;
}

/** After a failure: retried within [min, max] ms, or not retried (a terminal error, or no attempts left). */
export type RetryOutlook = { retry: true; minMs: number; maxMs: number } | { retry: false; why: string } | { retry: 'unknown' };

export type StepEnd =
  | { result: 'success' | 'skip'; step: string; type: string; durationMs: number; place: StepPlace }
  | { result: 'error'; step: string; type: string; durationMs: number; place: StepPlace; message: string; outlook: RetryOutlook };

function nextText(place: StepPlace): string {
  return place.next ? `next: ${stepLabel(place.next.type)}` : `end of ${place.operation}`;
}

function delayText(minMs: number, maxMs: number): string {
  const s = (ms: number) => (ms < 10_000 ? Number((ms / 1000).toFixed(1)) : Math.round(ms / 1000));
  return minMs === maxMs ? `${s(minMs)} s` : `${s(minMs)}–${s(maxMs)} s`;
}

/** The closing line of a step's attempt log. */
export function stepEndLine(e: StepEnd): string {
  if (e.result !== 'error') {
    if (e.result === 'success') return `${e.step}: success in ${formatSeconds(e.durationMs)} (${doneState(e.type)} → ${nextText(e.place)})`;
    return `${e.step}: skip in ${formatSeconds(e.durationMs)} → ${nextText(e.place)}`;
  }
  const stays = e.place.previous ? doneState(e.place.previous.type) : `${e.place.operation} queued`;
  const then = e.outlook.retry === true ? `retried in ${delayText(e.outlook.minMs, e.outlook.maxMs)}`
    : e.outlook.retry === false ? `not retried: ${e.outlook.why}` : 'retried after its back-off';
  return `${e.step}: error after ${formatSeconds(e.durationMs)}: ${e.message} (the VM stays at ${stays}; ${then})`;
}

/** The opening line: the step, its attempt and the transition it is to make. */
export function stepStartLine(task: Pick<TaskInfo, 'step' | 'type' | 'attempt'>, place: StepPlace): string {
  const from = place.previous ? doneState(place.previous.type) : `${place.operation} queued`;
  return `${task.step}: started, attempt ${task.attempt} (${from} → ${stepLabel(task.type)})`;
}

/** A step that only read and logged "skip (no change)" made no change: no write request went to Proxmox. */
export function isSkip(result: unknown, lines: readonly string[]): boolean {
  if (result !== null && typeof result === 'object' && (result as { skipped?: unknown }).skipped === true) return true;
  return lines.some((l) => /^skip\b/.test(l)) && !lines.some((l) => /^PVE (POST|PUT|DELETE) /.test(l));
}

/**
 * Where a step stands among its chain's steps. A chain is a graph (engine/graph.ts): the step before
 * is the last one it waits for, the step after is the first that waits for it, so a step run beside
 * the VM's own (its DNS records) never names another side step. In a chain run in sequence they
 * are the steps numbered just before and after it.
 */
export function placeInChain(stepNo: number, operation: string, steps: ReadonlyArray<NeighbourStep & { step_no: number; depends_on: string | null }>): StepPlace {
  const byNo = new Map(steps.map((s) => [Number(s.step_no), s]));
  const me = byNo.get(stepNo);
  const before = me ? Math.max(-1, ...dependenciesOf({ step_no: stepNo, depends_on: me.depends_on })) : -1;
  const after = [...byNo.values()].map((s) => ({ s, no: Number(s.step_no) })).sort((a, b) => a.no - b.no)
    .find(({ s, no }) => no > stepNo && dependenciesOf({ step_no: no, depends_on: s.depends_on }).includes(stepNo));
  const pick = (s: NeighbourStep | undefined) => (s ? { step: s.step, type: s.type } : null);
  return { operation, previous: pick(byNo.get(before)), next: pick(after?.s) };
}

async function stepPlace(db: Knex, task: TaskInfo): Promise<StepPlace> {
  if (task.chainId === null) return { operation: task.operation, previous: null, next: null };
  const rows = await db(T.tasks).where('chain_id', task.chainId).select('step_no', 'step', 'type', 'depends_on');
  return placeInChain(task.stepNo, task.operation, rows);
}

async function outlookOf(db: Knex, task: TaskInfo, err: unknown, policy?: Partial<RetryPolicy>): Promise<RetryOutlook> {
  if (classifyError(err) === 'terminal') return { retry: false, why: 'the error is terminal' };
  // The engine chooses the delay with the same policy: the settings' defaults under the type's own.
  const p: RetryPolicy = { ...retryPolicyFrom(await readSettings(db)), ...(policy ?? {}) };
  if (!hasAttemptsLeft(p, task.attempt)) return { retry: false, why: `no attempts left after ${task.attempt}` };
  const [minMs, maxMs] = retryDelayRange(p, task.attempt);
  return { retry: true, minMs, maxMs };
}

/**
 * registerStep (step-args.ts) with the opening and closing lines around the handler. Reading the
 * chain's neighbours or the retry settings never changes the step's outcome: when the database
 * cannot say, the lines say less.
 */
export function registerStep<K extends StepType>(
  deps: { db: Knex }, registry: TaskRegistry, type: K, description: string,
  run: (ctx: TaskContext, args: StepArgs[K]) => Promise<unknown>, policy?: Partial<RetryPolicy>,
): void {
  registerPlainStep(registry, type, description, async (ctx, args) => {
    const started = performance.now();
    const place = await stepPlace(deps.db, ctx.task).catch((): StepPlace => ({ operation: ctx.task.operation, previous: null, next: null }));
    ctx.log(stepStartLine(ctx.task, place));
    const lines: string[] = [];
    const seen: TaskContext = { ...ctx, log: (line) => {
      lines.push(String(line));
      ctx.log(line);
    } };
    const base = { step: ctx.task.step, type: ctx.task.type, place };
    try {
      const result = await run(seen, args);
      ctx.log(stepEndLine({ ...base, result: isSkip(result, lines) ? 'skip' : 'success', durationMs: performance.now() - started }));
      return result;
    } catch (err) {
      const durationMs = performance.now() - started;
      const outlook = await outlookOf(deps.db, ctx.task, err, policy).catch((): RetryOutlook => ({ retry: 'unknown' }));
      ctx.log(stepEndLine({ ...base, result: 'error', durationMs, message: errorMessage(err), outlook }));
      throw err;
    }
  }, policy);
}
