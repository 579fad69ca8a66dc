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
/** Services per statement: 500 rows × 10 columns stays far below SQLite's and MySQL's placeholder limits. */
const CHUNK = 500;

export function registerUsageHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'usage.sync', 'Reads every account\'s usage on one Hestia server with a single command and updates the services on it.', async (ctx, a) => {
    const held = await deps.db(T.holdings).where('server_id', a.server).whereIn('role', ['web', 'mail', 'all', 'dns']);
    if (held.length === 0) {
      ctx.log('no service holds an account on this server');
      return { services: 0 };
    }
    const { driver } = await deps.fleet.hestia(a.server, ctx);
    const users = await driver.listUsers();
    const now = Date.now();
    const parts = held.flatMap((h) => {
      const u = users[String(h.account)];
      return u ? [{
        service_id: Number(h.service_id), server_id: a.server, role: h.role, disk_mb: num(u.U_DISK), bw_mb: num(u.U_BANDWIDTH),
        mailboxes: num(u.U_MAIL_ACCOUNTS), databases: num(u.U_DATABASES), web_domains: num(u.U_WEB_DOMAINS), collected_at: now,
      }] : [];
    });
    const touched = [...new Set(parts.map((p) => p.service_id))];
    // A few statements per CHUNK services rather than three per service: a server holding
    // hundreds of accounts is synced in well under a second, even on a remote MariaDB.
    await deps.db.transaction(async (trx) => {
      for (let i = 0; i < parts.length; i += CHUNK) {
        await trx(T.usageParts).insert(parts.slice(i, i + CHUNK)).onConflict(['service_id', 'server_id', 'role']).merge();
      }
    });
    // Totals after the parts are committed, each chunk under a lock on its service rows: the web
    // and mail servers of one service are synced by two tasks at once, and without the lock each
    // could sum only its own part and the later write would drop the other's.
    for (let i = 0; i < touched.length; i += CHUNK) {
      await deps.db.transaction(async (trx) => sumUsage(trx, touched.slice(i, i + CHUNK), now));
    }
    ctx.log(`usage of ${touched.length} service(s) updated from ${Object.keys(users).length} account(s)`);
    return { services: touched.length };
  });
}

/** Recomputes the services' totals from their parts; the caller's transaction holds. */
async function sumUsage(trx: Knex.Transaction, ids: number[], now: number): Promise<void> {
  const svcs = await lockPlans(trx, ids);
  const allParts = await trx(T.usageParts).whereIn('service_id', ids);
  const partsOf = new Map<number, Record<string, unknown>[]>();
  for (const p of allParts) partsOf.set(Number(p.service_id), [...(partsOf.get(Number(p.service_id)) ?? []), p]);
  const rows = svcs.map(({ id, plan }) => {
    const mine = partsOf.get(id) ?? [];
    const sum = (k: string) => mine.reduce((acc: number, p) => acc + num(p[k]), 0);
    const p = plan?.product;
    const diskLimit = p?.mode === 'vanity' ? limit(p.vanity?.siteQuotaMb) : (p?.roles.web ? limit(p.web.diskMb) : 0) + (p?.roles.mail ? limit(p.mail.diskMb) : 0);
    return {
      service_id: id, disk_used_mb: sum('disk_mb'), disk_limit_mb: diskLimit, bw_used_mb: sum('bw_mb'), bw_limit_mb: p?.roles.web ? limit(p.web.bandwidthMb) : 0,
      mailboxes: sum('mailboxes'), databases: sum('databases'), web_domains: sum('web_domains'), collected_at: now,
    };
  });
  if (rows.length) await trx(T.usage).insert(rows).onConflict(['service_id']).merge();
}
