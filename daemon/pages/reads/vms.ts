// What the VM Management pages read: every KVM service with its VM row, addresses and last run,
// and one VM's last 50 runs (chains) with each step's result, duration and transition taken from
// the closing line its attempt log ends with (handlers/kvm/timed.ts). Database reads only; logs
// and errors are masked on the way out, as on the task pages.
import type { Knex } from 'knex';
import { T } from '../../common/tables.ts';
import { globalMasker } from '../../log/mask.ts';
import { stepLabel } from '../../pipelines/steps.ts';

type Row = Record<string, any>;
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** The states a KVM service can be in (docs/proxmox.md "States"). */
export const VM_STATES = ['deploying', 'active', 'failed', 'suspended', 'error_terminate', 'terminated'];
export const VMS_PAGE = 100;
/** How many of a VM's runs its page shows. */
export const VM_RUNS = 50;
const ACTIVE_CHAIN = ['running', 'waiting'];
/** Rows per IN (…) list: well under SQLite's and MariaDB's limits on bound values. */
const CHUNK = 500;

/**
 * Whether Delete record is offered: the terminate could not destroy the VM (error_terminate, or its
 * last chain is a terminate that failed), and nothing runs for the service now.
 */
export function canDeleteRecord(state: string, last: { operation: string; state: string } | null): boolean {
  if (last && ACTIVE_CHAIN.includes(last.state)) return false;
  if (state === 'error_terminate') return true;
  return state !== 'terminated' && last?.operation === 'terminate' && last.state === 'failed';
}

async function inChunks<T>(ids: number[], read: (part: number[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) out.push(...(await read(ids.slice(i, i + CHUNK))));
  return out;
}

/** One page of KVM services (newest WHMCS id first), filtered by state, with the counts by state. */
export async function vmsPage(db: Knex, f: { state: string; page: number }) {
  const base = db(`${T.services} as s`).where('s.mode', 'kvm').modify((b) => {
    if (f.state) b.where('s.state', f.state);
  });
  const [rows, count, byState] = await Promise.all([
    base.clone().leftJoin(`${T.vms} as v`, 'v.service_id', 's.id').leftJoin(`${T.pveClusters} as c`, 'c.id', 'v.cluster_id')
      .select('s.id', 's.whmcs_service_id', 's.domain', 's.state', 'v.vmid', 'v.node', 'v.cluster_id', 'c.name as cluster')
      .orderBy('s.whmcs_service_id', 'desc').limit(VMS_PAGE).offset((f.page - 1) * VMS_PAGE),
    base.clone().count({ n: '*' }),
    db(T.services).where('mode', 'kvm').select('state').count({ n: '*' }).groupBy('state').orderBy('state'),
  ]);
  const ids = rows.map((r: Row) => Number(r.id));
  const [addresses, lastIds] = await Promise.all([
    inChunks(ids, (part) => db(T.ipAddresses).whereIn('service_id', part).whereIn('status', ['allocated', 'releasing'])
      .orderBy([{ column: 'family' }, { column: 'ip_key' }]).select('service_id', 'ip')),
    inChunks(ids, (part) => db(T.chains).whereIn('service_id', part).groupBy('service_id').select('service_id').max({ id: 'id' })),
  ]);
  const chains = await inChunks(lastIds.map((r: Row) => Number(r.id)), (part) => db(T.chains).whereIn('id', part)
    .select('id', 'service_id', 'operation', 'state', 'created_at', 'finished_at', 'error'));
  const ipsOf = new Map<number, string[]>();
  for (const a of addresses as Row[]) ipsOf.set(Number(a.service_id), [...(ipsOf.get(Number(a.service_id)) ?? []), String(a.ip)]);
  const lastOf = new Map((chains as Row[]).map((c) => [Number(c.service_id), c]));
  return {
    vms: (rows as Row[]).map((r) => {
      const c = lastOf.get(Number(r.id));
      const last = c ? {
        id: Number(c.id), operation: String(c.operation), state: String(c.state), at: num(c.finished_at) ?? num(c.created_at),
        error: c.error === null ? null : globalMasker.mask(String(c.error)),
      } : null;
      return {
        whmcs_service_id: Number(r.whmcs_service_id), hostname: r.domain ?? '', state: String(r.state), vmid: num(r.vmid), node: r.node ?? null,
        cluster: r.cluster ?? (r.cluster_id === null ? null : `#${r.cluster_id}`), addresses: ipsOf.get(Number(r.id)) ?? [], last,
        canDelete: canDeleteRecord(String(r.state), last),
      };
    }),
    total: Number(count[0]?.n ?? 0),
    byState: byState.map((s: Row) => ({ state: String(s.state), n: Number(s.n) })),
  };
}

/** A step's closing line: `clone: success in 1.84 s (cloned → next: …)`, `… skip in …`, `… error after …`. */
const END_LINE = /^(\S+): (success|skip) in (\d+(?:\.\d+)? s)\s*(.*)$|^(\S+): error after (\d+(?:\.\d+)? s): (.*)$/;

export interface StepEndSeen { result: 'success' | 'skip' | 'error'; duration: string; transition: string }

/** The last closing line of a step in an attempt's log, if it has one. */
export function stepEndOf(step: string, output: string): StepEndSeen | null {
  const lines = output.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = END_LINE.exec(lines[i]!.trim());
    if (!m) continue;
    if (m[1] === step) return { result: m[2] as 'success' | 'skip', duration: m[3]!, transition: m[4]!.replace(/^\((.*)\)$/, '$1') };
    if (m[5] === step) {
      // The message may itself hold parentheses: the transition is the last "(the VM stays at …)".
      const at = m[7]!.lastIndexOf(' (the VM stays at ');
      return { result: 'error', duration: m[6]!, transition: at >= 0 ? m[7]!.slice(at + 2).replace(/\)$/, '') : '' };
    }
  }
  return null;
}

/** What a step shows as its result: its status and, for a finished VM step, its closing line's word. */
function resultOf(status: string, attempts: number, end: StepEndSeen | null): string {
  if (status === 'succeeded') return end?.result === 'skip' ? 'skip' : 'success';
  if (status === 'failed') return 'error';
  if (status === 'running') return 'running';
  if ((status === 'queued' || status === 'waiting') && attempts > 0) return 'retrying';
  return status;
}

/** One VM's service row, VM row and last runs, each with its steps in order; null when there is no KVM service of that id. */
export async function vmRuns(db: Knex, whmcsServiceId: number) {
  const svc: Row | undefined = await db(T.services).where({ whmcs_service_id: whmcsServiceId, mode: 'kvm' }).first('id', 'state', 'domain');
  if (!svc) return null;
  const chains: Row[] = await db(T.chains).where('service_id', svc.id).orderBy('id', 'desc').limit(VM_RUNS);
  const tasks: Row[] = await inChunks(chains.map((c) => Number(c.id)), (part) => db(T.tasks).whereIn('chain_id', part)
    .orderBy([{ column: 'chain_id' }, { column: 'step_no' }])
    .select('id', 'chain_id', 'step_no', 'step', 'type', 'target', 'status', 'attempts', 'last_error', 'started_at', 'finished_at'));
  const attempts: Row[] = await inChunks(tasks.map((t) => Number(t.id)), (part) => db(T.attempts).whereIn('task_id', part)
    .orderBy('id').select('task_id', 'attempt', 'result', 'error', 'duration_ms', 'output'));
  const attemptsOf = new Map<number, Row[]>();
  for (const a of attempts) attemptsOf.set(Number(a.task_id), [...(attemptsOf.get(Number(a.task_id)) ?? []), a]);
  const stepsOf = new Map<number, Row[]>();
  for (const t of tasks) stepsOf.set(Number(t.chain_id), [...(stepsOf.get(Number(t.chain_id)) ?? []), t]);

  const runs = chains.map((c) => {
    const steps = (stepsOf.get(Number(c.id)) ?? []).map((t) => {
      const tries = attemptsOf.get(Number(t.id)) ?? [];
      const lastTry = tries.at(-1);
      const end = lastTry ? stepEndOf(String(t.step), globalMasker.mask(String(lastTry.output ?? ''))) : null;
      const errors = tries.filter((a) => a.error !== null && a.error !== '').map((a) => `attempt ${a.attempt}: ${globalMasker.mask(String(a.error))}`);
      const result = resultOf(String(t.status), Number(t.attempts), end);
      return {
        no: Number(t.step_no) + 1, step: String(t.step), label: stepLabel(String(t.type)), status: String(t.status), result,
        // Not "duration": that name is a template helper.
        took: end?.duration ?? (lastTry?.duration_ms !== null && lastTry?.duration_ms !== undefined ? `${(Number(lastTry.duration_ms) / 1000).toFixed(2)} s` : ''),
        transition: end?.transition ?? '', attempts: Number(t.attempts), errors,
        error: t.last_error === null || t.last_error === '' ? null : globalMasker.mask(String(t.last_error)),
      };
    });
    return {
      id: Number(c.id), operation: String(c.operation), state: String(c.state), created_at: num(c.created_at), started_at: num(c.started_at),
      finished_at: num(c.finished_at), error: c.error === null ? null : globalMasker.mask(String(c.error)), steps,
      skipped: steps.filter((s) => s.result === 'skip').length,
    };
  });
  const latest = runs[0] ?? null;
  // The red banner: the last run failed; it names the step that failed and its error.
  let failure: { run: number; operation: string; step: string | null; label: string | null; error: string } | null = null;
  if (latest && latest.state === 'failed') {
    const bad = latest.steps.find((s) => s.result === 'error');
    failure = {
      run: latest.id, operation: latest.operation, step: bad?.step ?? null, label: bad?.label ?? null,
      error: bad?.error ?? latest.error ?? 'the run failed',
    };
  }
  return {
    serviceId: Number(svc.id), state: String(svc.state), hostname: svc.domain ?? '', runs, failure,
    canDelete: canDeleteRecord(String(svc.state), latest ? { operation: latest.operation, state: latest.state } : null),
    running: latest !== null && ACTIVE_CHAIN.includes(latest.state),
  };
}

/**
 * Whether Delete record may run for this service now, read afresh when the form is sent: null when
 * it may, else why not (for the admin to read).
 */
export async function deleteRecordRefusal(db: Knex, whmcsServiceId: number): Promise<string | null> {
  const svc: Row | undefined = await db(T.services).where({ whmcs_service_id: whmcsServiceId, mode: 'kvm' }).first('id', 'state');
  if (!svc) return `there is no VM of service ${whmcsServiceId}`;
  const running: Row | undefined = await db(T.chains).where('service_id', svc.id).whereIn('state', ACTIVE_CHAIN).first('id', 'operation');
  if (running) return `service ${whmcsServiceId} is running its ${running.operation} chain (#${running.id}); wait until it has ended`;
  const last: Row | undefined = await db(T.chains).where('service_id', svc.id).orderBy('id', 'desc').first('operation', 'state');
  if (canDeleteRecord(String(svc.state), last ? { operation: String(last.operation), state: String(last.state) } : null)) return null;
  return `service ${whmcsServiceId} is ${svc.state}: Delete record is only for a VM whose terminate failed (error_terminate)`;
}
