// Writing work into the queue. A chain is the steps of one service operation, each waiting for
// the earlier steps it names (graph.ts); it is written in the same transaction as its service
// row, and a repeated request for an operation that is still active returns the chain already
// there instead of adding another.
import type { Knex } from 'knex';
import { inTx, nowMs } from '../db/connect.ts';
import { lockService } from './sql/chain-end.ts';
import { ensureTargets } from './sql/targets.ts';
import { T } from '../common/tables.ts';
import { dependencyProblem, dependenciesOf, storedDependencies } from './graph.ts';

export interface StepSpec {
  step: string;
  type: string;
  target?: string | null;
  args?: unknown;
  /** Overrides the type's maximum attempts for this task (0 = unlimited). */
  maxAttempts?: number | null;
  /**
   * The earlier steps (by position in the chain, from 0) this one waits for; [] starts with the
   * chain. Absent: the step before, so a plain list of steps runs in order.
   */
  dependsOn?: number[] | null;
}

export interface ChainSpec {
  serviceId?: number | null;
  operation: string;
  steps: StepSpec[];
  /** Service state to set when the chain succeeds / fails. */
  successState?: string | null;
  failureState?: string | null;
}

export interface EnqueueResult {
  chainId: number;
  created: boolean;
  state: string;
}

export class EnqueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnqueueError';
  }
}

const NAME = /^[a-z][a-z0-9_.:-]{0,47}$/;
const STEP = /^[A-Za-z0-9][A-Za-z0-9_.:#@ -]{0,63}$/;
const TARGET = /^[a-z][a-z0-9_.:-]{0,63}$/;

export function checkChainSpec(spec: ChainSpec): void {
  if (!NAME.test(spec.operation)) throw new EnqueueError(`operation "${spec.operation}" must be 1–48 lower-case letters, digits, ".", "_", ":" or "-", starting with a letter`);
  if (!Array.isArray(spec.steps) || spec.steps.length === 0) throw new EnqueueError(`chain ${spec.operation} has no steps`);
  if (spec.steps.length > 200) throw new EnqueueError(`chain ${spec.operation} has ${spec.steps.length} steps; at most 200 are allowed`);
  const seen = new Set<string>();
  spec.steps.forEach((s, i) => {
    checkStep(s, `chain ${spec.operation} step ${i + 1}`, seen);
    const problem = dependencyProblem(i, s.dependsOn);
    if (problem) throw new EnqueueError(`chain ${spec.operation} step ${i + 1} (${s.step}): ${problem}`);
  });
}

function checkStep(s: StepSpec, where: string, seen: Set<string>): void {
  if (!STEP.test(s.step)) throw new EnqueueError(`${where}: step name "${s.step}" must be 1–64 letters, digits or "_ . : # @ -"`);
  if (!NAME.test(s.type)) throw new EnqueueError(`${where}: task type "${s.type}" is not a valid type name`);
  if (s.target !== undefined && s.target !== null && !TARGET.test(s.target)) throw new EnqueueError(`${where}: target "${s.target}" must be 1–64 lower-case letters, digits, ".", "_", ":" or "-"`);
  if (s.maxAttempts !== undefined && s.maxAttempts !== null && (!Number.isInteger(s.maxAttempts) || s.maxAttempts < 0)) {
    throw new EnqueueError(`${where}: maxAttempts must be a whole number ≥ 0, got ${s.maxAttempts}`);
  }
  const key = `${s.step}@${s.target ?? ''}`;
  if (seen.has(key)) throw new EnqueueError(`${where}: step "${s.step}" on ${s.target ?? 'no target'} appears twice`);
  seen.add(key);
}

export function chainKey(serviceId: number | null | undefined, operation: string): string {
  return `${serviceId ?? '-'}:${operation}`;
}

export function taskKey(serviceId: number | null | undefined, operation: string, step: string, target: string | null | undefined): string {
  return `${serviceId ?? '-'}:${operation}:${step}:${target ?? '-'}`;
}

/**
 * Enqueues a chain inside the caller's transaction (which may also write the service row).
 * `freshService`: the caller inserted the service row in this transaction, so it holds the row's
 * lock and the service has no chain yet; the lock and the two chain reads are skipped.
 */
export async function enqueueChainIn(trx: Knex.Transaction, spec: ChainSpec, defaultTargetLimit = 1, opts: { freshService?: boolean } = {}): Promise<EnqueueResult> {
  checkChainSpec(spec);
  const serviceId = spec.serviceId ?? null;
  const key = chainKey(serviceId, spec.operation);
  const fresh = serviceId !== null && opts.freshService === true;
  if (serviceId !== null && !fresh) await lockService(trx, serviceId);
  const existing = fresh ? undefined : await trx(T.chains).where('active_key', key).first('id', 'state');
  if (existing) return { chainId: Number(existing.id), created: false, state: existing.state };

  // One chain runs per service; later ones wait their turn.
  const busy = serviceId !== null && !fresh && (await trx(T.chains).where('service_id', serviceId).whereIn('state', ['running', 'waiting']).first('id'));
  const state = busy ? 'waiting' : 'running';
  const [chainId] = await trx(T.chains).insert({
    service_id: serviceId, operation: spec.operation, state, active_key: key,
    success_state: spec.successState ?? null, failure_state: spec.failureState ?? null, step_count: spec.steps.length,
    created_at: nowMs(trx), started_at: state === 'running' ? nowMs(trx) : null,
  });
  await ensureTargets(trx, spec.steps.map((s) => s.target).filter((t): t is string => !!t), defaultTargetLimit);
  const stored = storedDependencies(spec.steps);
  await trx(T.tasks).insert(spec.steps.map((s, i) => ({
    chain_id: chainId, step_no: i, service_id: serviceId, operation: spec.operation, step: s.step, type: s.type,
    target: s.target ?? null, args: s.args === undefined ? null : JSON.stringify(s.args),
    depends_on: stored[i],
    // Every step that waits for nothing starts with the chain.
    status: state === 'running' && dependenciesOf({ step_no: i, depends_on: stored[i]! }).length === 0 ? 'queued' : 'waiting',
    active_key: taskKey(serviceId, spec.operation, s.step, s.target), attempts: 0, max_attempts: s.maxAttempts ?? null,
    run_at: nowMs(trx), created_at: nowMs(trx),
  })));
  return { chainId: Number(chainId), created: true, state };
}

export async function enqueueChain(db: Knex, spec: ChainSpec, defaultTargetLimit = 1): Promise<EnqueueResult> {
  checkChainSpec(spec);
  return inTx(db, (trx) => enqueueChainIn(trx, spec, defaultTargetLimit));
}

export interface ServiceSpec {
  whmcsServiceId: number;
  mode: string;
  state?: string;
  /** Generated names (Hestia users, passwords' references…), stored before the first remote call. */
  names?: unknown;
  params?: unknown;
}

/** Writes (or finds) the service row and enqueues its chain, in one transaction. */
export async function createServiceWithChain(
  db: Knex, service: ServiceSpec, chain: Omit<ChainSpec, 'serviceId'>, defaultTargetLimit = 1,
): Promise<{ serviceId: number; serviceCreated: boolean } & EnqueueResult> {
  if (!Number.isInteger(service.whmcsServiceId) || service.whmcsServiceId <= 0) throw new EnqueueError(`whmcsServiceId must be a positive whole number, got ${service.whmcsServiceId}`);
  checkChainSpec({ ...chain, serviceId: null });
  return inTx(db, async (trx) => {
    let row = await trx(T.services).where('whmcs_service_id', service.whmcsServiceId).first('id');
    let serviceCreated = false;
    if (!row) {
      const [id] = await trx(T.services).insert({
        whmcs_service_id: service.whmcsServiceId, mode: service.mode, state: service.state ?? 'pending',
        names: service.names === undefined ? null : JSON.stringify(service.names),
        params: service.params === undefined ? null : JSON.stringify(service.params),
        created_at: nowMs(trx), updated_at: nowMs(trx),
      });
      row = { id };
      serviceCreated = true;
    }
    const result = await enqueueChainIn(trx, { ...chain, serviceId: Number(row.id) }, defaultTargetLimit);
    return { serviceId: Number(row.id), serviceCreated, ...result };
  });
}

/**
 * Enqueues independent tasks that belong to no service (scheduled work, diagnostics, benchmarks).
 * A task whose active key is already queued or running is left as it is.
 */
export async function enqueueTasks(db: Knex, operation: string, steps: StepSpec[], defaultTargetLimit = 1): Promise<void> {
  if (!NAME.test(operation)) throw new EnqueueError(`operation "${operation}" must be 1–48 lower-case letters, digits, ".", "_", ":" or "-", starting with a letter`);
  if (steps.length > 100_000) throw new EnqueueError(`at most 100000 tasks can be enqueued at once, got ${steps.length}`);
  const seen = new Set<string>();
  steps.forEach((s, i) => checkStep(s, `${operation} task ${i + 1}`, seen));
  return inTx(db, async (trx) => {
    await ensureTargets(trx, steps.map((s) => s.target).filter((t): t is string => !!t), defaultTargetLimit);
    for (let i = 0; i < steps.length; i += 500) {
      const rows = steps.slice(i, i + 500).map((s) => ({
        chain_id: null, step_no: 0, service_id: null, operation, step: s.step, type: s.type, target: s.target ?? null,
        args: s.args === undefined ? null : JSON.stringify(s.args), status: 'queued',
        active_key: taskKey(null, operation, s.step, s.target), attempts: 0, max_attempts: s.maxAttempts ?? null,
        run_at: nowMs(trx), created_at: nowMs(trx),
      }));
      await trx(T.tasks).insert(rows).onConflict('active_key').ignore();
    }
  });
}
