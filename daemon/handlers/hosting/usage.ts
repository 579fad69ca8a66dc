// usage.sync: one v-list-users per server, whatever the number of services on it. Each account's
// figures land in mod_hostbridge_usage_parts, then each affected service's total is recomputed from
// all its parts in mod_hostbridge_usage (one row written whole, so a reader never sees half of it).
import type { Knex } from 'knex';
import type { TaskRegistry } from '../../engine/registry.ts';
import { T } from '../../common/tables.ts';
import { lockPlans } from '../../services/store.ts';
import type { HostingDeps } from './context.ts';
import { registerStep } from '../step-args.ts';

const num = (v: unknown) => {
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.round(n) : 0;
};
const limit = (q: number | 'unlimited' | undefined) => (typeof q === 'number' ? q : 0);
/** Services per transaction: 500 rows × 10 columns stays far below SQLite's and MySQL's placeholder limits. */
const CHUNK = 500;
/** The only fields of v-list-users that usage reads (a user's entry has some fifty). */
const USAGE_FIELDS = ['U_DISK', 'U_BANDWIDTH', 'U_MAIL_ACCOUNTS', 'U_DATABASES', 'U_WEB_DOMAINS'] as const;

type Part = { service_id: number; server_id: number; role: string; disk_mb: number; bw_mb: number; mailboxes: number; databases: number; web_domains: number; collected_at: number };

export function registerUsageHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'usage.sync', 'Reads every account\'s usage on one Hestia server with a single command and updates the services on it.', async (ctx, a) => {
    const held: Array<{ service_id: number; role: string; account: string | null }> = await deps.db(T.holdings)
      .where('server_id', a.server).whereIn('role', ['web', 'mail', 'all', 'dns']).select('service_id', 'role', 'account');
    if (held.length === 0) {
      ctx.log('no service holds an account on this server');
      return { services: 0 };
    }
    const { driver } = await deps.fleet.hestia(a.server, ctx);
    const users = await driver.listUsers(USAGE_FIELDS);
    const now = Date.now();
    // The parts by service, so that a chunk holds every part of its services.
    const partsOf = new Map<number, Part[]>();
    for (const h of held) {
      const u = users[String(h.account)];
      if (!u) continue;
      const id = Number(h.service_id);
      const part: Part = {
        service_id: id, server_id: a.server, role: h.role, disk_mb: num(u.U_DISK), bw_mb: num(u.U_BANDWIDTH),
        mailboxes: num(u.U_MAIL_ACCOUNTS), databases: num(u.U_DATABASES), web_domains: num(u.U_WEB_DOMAINS), collected_at: now,
      };
      const list = partsOf.get(id);
      if (list) list.push(part); else partsOf.set(id, [part]);
    }
    const touched = [...partsOf.keys()];
    // One transaction per CHUNK services: their rows locked, this server's parts written, every
    // part read back and the totals written. The web and mail servers of one service are synced by
    // two tasks at once; the lock makes the later one wait for the other's commit and sum both
    // parts, where without it each could sum only its own and the later write would drop the other's.
    for (let i = 0; i < touched.length; i += CHUNK) {
      const ids = touched.slice(i, i + CHUNK);
      await deps.db.transaction(async (trx) => {
        const svcs = await lockPlans(trx, ids);
        await trx(T.usageParts).insert(ids.flatMap((id) => partsOf.get(id)!)).onConflict(['service_id', 'server_id', 'role']).merge();
        await sumUsage(trx, svcs, now);
      });
    }
    ctx.log(`usage of ${touched.length} service(s) updated from ${Object.keys(users).length} account(s)`);
    return { services: touched.length };
  });
}

/** Recomputes the services' totals from all their parts; the caller's transaction holds their rows' lock. */
async function sumUsage(trx: Knex.Transaction, svcs: Awaited<ReturnType<typeof lockPlans>>, now: number): Promise<void> {
  if (svcs.length === 0) return;
  const sums: Array<{ service_id: number; disk: unknown; bw: unknown; mailboxes: unknown; databases: unknown; web_domains: unknown }> = await trx(T.usageParts)
    .whereIn('service_id', svcs.map((s) => s.id)).groupBy('service_id')
    .select('service_id').sum({ disk: 'disk_mb', bw: 'bw_mb', mailboxes: 'mailboxes', databases: 'databases', web_domains: 'web_domains' });
  const sumOf = new Map(sums.map((r) => [Number(r.service_id), r]));
  const rows = svcs.map(({ id, plan }) => {
    const s = sumOf.get(id);
    const p = plan?.product;
    const diskLimit = p?.mode === 'vanity' ? limit(p.vanity?.siteQuotaMb) : (p?.roles.web ? limit(p.web.diskMb) : 0) + (p?.roles.mail ? limit(p.mail.diskMb) : 0);
    return {
      service_id: id, disk_used_mb: num(s?.disk), disk_limit_mb: diskLimit, bw_used_mb: num(s?.bw), bw_limit_mb: p?.roles.web ? limit(p.web.bandwidthMb) : 0,
      mailboxes: num(s?.mailboxes), databases: num(s?.databases), web_domains: num(s?.web_domains), collected_at: now,
    };
  });
  await trx(T.usage).insert(rows).onConflict(['service_id']).merge();
}
