// usage.sync: one v-list-users per server, whatever the number of services on it. Each account's
// figures land in mod_hostbridge_usage_parts; each affected service's total in mod_hostbridge_usage,
// in one transaction, so a reader never sees a half-updated service.
import type { TaskRegistry } from '../../engine/registry.ts';
import { T } from '../../engine/queries.ts';
import { F } from '../../fleet/inventory.ts';
import type { ServicePlan } from '../../pipelines/plan.ts';
import { args, type HostingDeps } from './context.ts';

const num = (v: unknown) => {
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.round(n) : 0;
};
const limit = (q: number | 'unlimited' | undefined) => (typeof q === 'number' ? q : 0);

export function registerUsageHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registry.register({
    name: 'usage.sync',
    description: 'Reads every account\'s usage on one Hestia server with a single command and updates the services on it.',
    async run(ctx) {
      const a = args<{ server: number }>(ctx);
      const held = await deps.db(F.holdings).where('server_id', a.server).whereIn('role', ['web', 'mail', 'all', 'dns']);
      if (held.length === 0) {
        ctx.log('no service holds an account on this server');
        return { services: 0 };
      }
      const { driver } = await deps.fleet.hestia(a.server, ctx);
      const users = await driver.listUsers();
      const now = Date.now();
      const touched = new Set<number>();
      await deps.db.transaction(async (trx) => {
        for (const h of held) {
          const u = users[String(h.account)];
          if (!u) continue;
          touched.add(Number(h.service_id));
          await trx('mod_hostbridge_usage_parts').insert({
            service_id: h.service_id, server_id: a.server, role: h.role, disk_mb: num(u.U_DISK), bw_mb: num(u.U_BANDWIDTH),
            mailboxes: num(u.U_MAIL_ACCOUNTS), databases: num(u.U_DATABASES), web_domains: num(u.U_WEB_DOMAINS), collected_at: now,
          }).onConflict(['service_id', 'server_id', 'role']).merge();
        }
        for (const serviceId of touched) {
          const parts = await trx('mod_hostbridge_usage_parts').where('service_id', serviceId);
          const svc = await trx(T.services).where('id', serviceId).first('params');
          const plan = svc?.params ? (JSON.parse(svc.params) as ServicePlan) : null;
          const sum = (k: string) => parts.reduce((s: number, p: Record<string, unknown>) => s + num(p[k]), 0);
          const p = plan?.product;
          const diskLimit = p?.mode === 'vanity' ? limit(p.vanity?.siteQuotaMb) : (p?.roles.web ? limit(p.web.diskMb) : 0) + (p?.roles.mail ? limit(p.mail.diskMb) : 0);
          await trx('mod_hostbridge_usage').insert({
            service_id: serviceId, disk_used_mb: sum('disk_mb'), disk_limit_mb: diskLimit, bw_used_mb: sum('bw_mb'), bw_limit_mb: p?.roles.web ? limit(p.web.bandwidthMb) : 0,
            mailboxes: sum('mailboxes'), databases: sum('databases'), web_domains: sum('web_domains'), collected_at: now,
          }).onConflict(['service_id']).merge();
        }
      });
      ctx.log(`usage of ${touched.size} service(s) updated from ${Object.keys(users).length} account(s)`);
      return { services: touched.size };
    },
  });
}
