// What the admin's service pages and the WHMCS overview read: services and tasks counted by state,
// the paged services list, a service's latest chains and tasks, and server names for task targets.
import type { Knex } from 'knex';
import { T } from '../../common/tables.ts';

type Row = Record<string, any>;
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export const SERVICE_STATES = ['pending', 'deploying', 'active', 'suspended', 'failed', 'terminate-failed', 'terminated'];
export const SERVICES_PAGE = 50;

/** Whether hostbridge has a service for this WHMCS service id. */
export async function serviceKnown(db: Knex, whmcsServiceId: number): Promise<boolean> {
  return !!(await db(T.services).where('whmcs_service_id', whmcsServiceId).first('id'));
}

/** Services by state and tasks by status: the head of the Services page and the WHMCS overview. */
export async function stateCounts(db: Knex): Promise<{ byState: Row[]; byStatus: Row[] }> {
  const [byState, byStatus] = await Promise.all([
    db(T.services).select('state').count({ n: '*' }).groupBy('state').orderBy('state'),
    db(T.tasks).select('status').count({ n: '*' }).groupBy('status').orderBy('status'),
  ]);
  return { byState, byStatus };
}

/** One page of services, newest WHMCS id first, filtered by state and by a search on domain or WHMCS id. */
export async function servicesPage(db: Knex, f: { state: string; q: string; page: number }) {
  const base = db(T.services).modify((b) => {
    if (f.state) b.where('state', f.state);
    if (f.q) b.where((w) => w.where('domain', 'like', `%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`).orWhere('whmcs_service_id', /^\d{1,10}$/.test(f.q) ? Number(f.q) : -1));
  });
  const [services, count, counts, servers] = await Promise.all([
    base.clone().orderBy('whmcs_service_id', 'desc').limit(SERVICES_PAGE).offset((f.page - 1) * SERVICES_PAGE),
    base.clone().count({ n: '*' }),
    stateCounts(db),
    db(T.servers).count({ n: '*' }),
  ]);
  return { services, total: Number(count[0]?.n ?? 0), ...counts, servers: Number(servers[0]?.n ?? 0) };
}

/** Server names by id, and a task target ("server:3") as a name. */
export async function serverNames(db: Knex): Promise<(target: string | null) => string> {
  const rows: Row[] = await db(T.servers).select('id', 'name');
  const by = new Map(rows.map((r) => [Number(r.id), String(r.name)]));
  return (target) => {
    if (!target) return '—';
    if (target.startsWith('server:')) return by.get(Number(target.slice(7))) ?? `#${target.slice(7)} (removed)`;
    return target;
  };
}

/** A task's attempt limit as shown: '' (none), ∞ (0) or the number. */
export function maxAttempts(t: Row): string | number {
  return t.max_attempts === null ? '' : Number(t.max_attempts) === 0 ? '∞' : Number(t.max_attempts);
}

/** A service's latest 15 chains, its tasks counted by status and, when asked, its latest 300 tasks. */
export async function serviceHistory(db: Knex, whmcsServiceId: number, withTasks: boolean) {
  const svc: Row | undefined = await db(T.services).where('whmcs_service_id', whmcsServiceId).first('id');
  if (!svc) return { chains: [], tasks: [], counts: [], taskCount: 0 };
  const [chains, tasks, counts, name] = await Promise.all([
    db(T.chains).where('service_id', svc.id).orderBy('id', 'desc').limit(15),
    withTasks ? db(T.tasks).where('service_id', svc.id).orderBy('id', 'desc').limit(300) : Promise.resolve([] as Row[]),
    db(T.tasks).where('service_id', svc.id).select('status').count({ n: '*' }).groupBy('status').orderBy('status'),
    serverNames(db),
  ]);
  return {
    chains: chains.map((c: Row) => ({ ...c, created_at: Number(c.created_at), started_at: num(c.started_at), finished_at: num(c.finished_at) })),
    tasks: tasks.map((t: Row) => ({
      ...t, server: name(t.target), created_at: Number(t.created_at), started_at: num(t.started_at), finished_at: num(t.finished_at), max: maxAttempts(t),
    })),
    counts, taskCount: counts.reduce((a: number, c: Row) => a + Number(c.n), 0),
  };
}
