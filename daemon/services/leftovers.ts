// What a service still holds on its servers when it is closed by force: its holdings, less those an
// earlier step already removed (a terminate that failed half way, a redeploy's reset) and that no
// later step may have made again. Read from the service's own task history: the nodes are not asked,
// as a force-terminate runs when they may be gone.
import type { Knex } from 'knex';
import { T } from '../common/tables.ts';

type Row = Record<string, any>;

export interface HeldItem { role: string; serverId: number; server: string; account: string | null }

export interface Leftovers {
  /** What may still be on the servers (never removed, or made again since). */
  left: HeldItem[];
  /** What a step of the service removed and nothing made again. */
  removed: HeldItem[];
}

/** The holding (role on a server) a task of this type removes or makes, or null for other tasks. */
export function holdingTouched(type: string, step: string, args: Record<string, unknown> | null): { key: string; removes: boolean } | null {
  const server = Number(args?.server);
  if (!Number.isInteger(server) || server <= 0) return null;
  const at = (role: string, removes: boolean) => ({ key: `${role}@${server}`, removes });
  switch (type) {
    case 'account.delete': return typeof args?.role === 'string' ? at(args.role, true) : null;
    case 'dns.zone-delete': return at('dns', true);
    case 'vanity.mailbox-delete': return at('mailbox', true);
    case 'vanity.record-delete': return at('record', true);
    // A force terminate's try: a removal only when it removed (leftovers() reads its result).
    case 'service.force-remove': return typeof args?.role === 'string' ? at(args.role, true) : null;
    // A deploy step is named after its role ("web.user", "all.user").
    case 'account.user': return at(step.split('.')[0]!, false);
    case 'dns.zone': return at('dns', false);
    case 'vanity.mailbox': return at('mailbox', false);
    case 'vanity.record': return at('record', false);
    default: return null;
  }
}

/**
 * Keys ("role@server") of holdings whose last event is a removal that succeeded. A making step
 * counts once it started, whatever its end: a step cut short may have made its object. One
 * cancelled while it ran counts last: its worker may finish the command on the node after any
 * removal (a force terminate cancels the deployment it interrupts).
 */
export function removedKeys(tasks: Array<{ type: string; step: string; args: Record<string, unknown> | null; status: string; startedAt: number | null; finishedAt: number | null }>): Set<string> {
  const at = (t: (typeof tasks)[number]) => (t.status === 'cancelled' && holdingTouched(t.type, t.step, t.args)?.removes === false ? Infinity : (t.finishedAt ?? t.startedAt!));
  const ran = tasks.filter((t) => t.startedAt !== null).sort((a, b) => at(a) - at(b));
  const removed = new Set<string>();
  for (const t of ran) {
    const touched = holdingTouched(t.type, t.step, t.args);
    if (!touched) continue;
    if (!touched.removes) removed.delete(touched.key);
    else if (t.status === 'succeeded') removed.add(touched.key);
  }
  return removed;
}

function parseArgs(v: unknown): Record<string, unknown> | null {
  if (v === null || v === undefined || v === '') return null;
  try {
    const a = typeof v === 'string' ? JSON.parse(v) : v;
    return a && typeof a === 'object' && !Array.isArray(a) ? a as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

/** The service's holdings split into what may be left on its servers and what was already removed. */
export async function leftovers(db: Knex | Knex.Transaction, serviceId: number): Promise<Leftovers> {
  const [held, tasks] = await Promise.all([
    db(T.holdings).leftJoin(T.servers, `${T.servers}.id`, `${T.holdings}.server_id`).where(`${T.holdings}.service_id`, serviceId)
      .orderBy([`${T.holdings}.role`, `${T.holdings}.server_id`])
      .select(`${T.holdings}.role`, `${T.holdings}.server_id`, `${T.holdings}.account`, `${T.servers}.name`),
    db(T.tasks).where('service_id', serviceId).whereNotNull('started_at').select('type', 'step', 'args', 'status', 'result', 'started_at', 'finished_at'),
  ]);
  const removed = removedKeys(tasks.map((t: Row) => ({
    type: String(t.type), step: String(t.step), args: parseArgs(t.args),
    // A force-remove succeeds whether or not it could remove: only its result says which.
    status: t.type === 'service.force-remove' && t.status === 'succeeded' && parseArgs(t.result)?.removed !== true ? 'failed' : String(t.status),
    startedAt: t.started_at === null ? null : Number(t.started_at), finishedAt: t.finished_at === null ? null : Number(t.finished_at),
  })));
  const out: Leftovers = { left: [], removed: [] };
  for (const h of held as Row[]) {
    const item: HeldItem = { role: String(h.role), serverId: Number(h.server_id), server: h.name ? String(h.name) : `#${h.server_id} (removed)`, account: h.account ?? null };
    (removed.has(`${item.role}@${item.serverId}`) ? out.removed : out.left).push(item);
  }
  return out;
}

/** Keeps what a force terminate left, for later cleanup: the service's own rows go with the close. */
export async function keepLeftovers(db: Knex | Knex.Transaction, serviceId: number, left: HeldItem[], at: number): Promise<void> {
  if (!left.length) return;
  const svc: Row | undefined = await db(T.services).where('id', serviceId).first('whmcs_service_id', 'domain');
  await db(T.leftovers).insert(left.map((h) => ({
    whmcs_service_id: Number(svc?.whmcs_service_id ?? 0), domain: String(svc?.domain ?? ''), role: h.role, server_id: h.serverId,
    server: h.server.slice(0, 191), account: h.account?.slice(0, 191) ?? null, created_at: at,
  })));
}
