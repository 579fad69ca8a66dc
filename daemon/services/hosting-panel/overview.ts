// The hosting panel's Overview (no role: always shown): how much of the plan is used, as gauges
// drawn on the server (disk, bandwidth, mailboxes, databases, FTP accounts, cron jobs, web domains),
// from the usage the sync-usage job stores plus live counts where one command reads them. Its
// actions: Sync now (the usage recompute of just this service's servers) and, for a failed
// deployment, Try again (the existing verify-repair chain: deploys what is missing, deletes nothing).
import type { Knex } from 'knex';
import { InputError } from '../../common/errors.ts';
import { T } from '../../common/tables.ts';
import { serverRefs } from '../../fleet/inventory.ts';
import { statedExtras } from '../../pipelines/hosting-plan.ts';
import { planChain, planServerIds } from '../../pipelines/plan.ts';
import type { Quota } from '../../pipelines/product.ts';
import { mailHome } from './mailboxes.ts';
import type { HostingAction, HostingContext, HostingTab } from './types.ts';

export interface Gauge {
  key: string;
  label: string;
  usedText: string;
  limitText: string;
  /** 0–100, for the bar; null when unlimited or unknown. */
  percent: number | null;
  /** Whether a bar is drawn (a limited figure, 0 % included). */
  bar: boolean;
  level: 'ok' | 'high' | 'full';
}

const mb = (n: number) => (n >= 1024 ? `${(n / 1024).toFixed(n >= 10240 ? 0 : 1)} GB` : `${Math.round(n)} MB`);

export function gauge(key: string, label: string, used: number | null, limit: Quota | null, unit: 'mb' | 'count'): Gauge {
  const text = (n: number) => (unit === 'mb' ? mb(n) : String(n));
  const usedText = used === null ? '—' : text(used);
  if (limit === null || limit === 'unlimited' || used === null) return { key, label, usedText, limitText: limit === null ? '—' : limit === 'unlimited' ? 'unlimited' : text(limit), percent: null, bar: false, level: 'ok' };
  const percent = limit <= 0 ? 100 : Math.min(100, Math.round((used / limit) * 100));
  return { key, label, usedText, limitText: text(limit), percent, bar: true, level: percent >= 100 ? 'full' : percent >= 80 ? 'high' : 'ok' };
}

/** A live count, or null when the node cannot be read now (the gauge then shows the stored figure or —). */
async function count(fn: () => Promise<number>): Promise<number | null> {
  try {
    return await fn();
  } catch {
    return null;
  }
}

async function storedUsage(db: Knex, serviceId: number): Promise<Record<string, unknown> | null> {
  return (await db(T.usage).where('service_id', serviceId).first()) ?? null;
}

export const overviewTab: HostingTab = {
  key: 'overview', title: 'Overview', role: null,
  async load(ctx: HostingContext) {
    const plan = ctx.svc.plan;
    const p = plan.product;
    const u = await storedUsage(ctx.db, ctx.svc.id);
    const num = (k: string) => (u && u[k] !== null && u[k] !== undefined ? Number(u[k]) : null);
    const webServer = plan.placement.unified ?? plan.placement.web;
    const webUser = plan.placement.unified !== null ? plan.names.users.all : plan.names.users.web;
    const mail = mailHome(plan);
    const extras = statedExtras(p);
    const [mailboxes, databases, ftp, cron] = await Promise.all([
      mail && p.roles.mail ? count(async () => Object.keys(await (await ctx.hestia(mail.server)).listMailAccounts(mail.user, mail.domain)).length) : null,
      webServer !== null && webUser && p.roles.web ? count(async () => (await (await ctx.hestia(webServer)).listDatabases(webUser)).length) : null,
      webServer !== null && webUser && p.roles.web && p.mode !== 'vanity' ? count(async () => (await (await ctx.hestia(webServer)).listFtpAccounts(webUser, plan.domain)).length) : null,
      webServer !== null && webUser && p.roles.web && p.mode !== 'vanity' ? count(async () => (await (await ctx.hestia(webServer)).listCronJobs(webUser)).length) : null,
    ]);
    const diskLimit: Quota = p.mode === 'vanity' ? (p.vanity?.siteQuotaMb ?? 'unlimited')
      : p.web.diskMb === 'unlimited' || p.mail.diskMb === 'unlimited' ? 'unlimited' : (p.roles.web ? p.web.diskMb : 0) + (p.roles.mail ? p.mail.diskMb : 0);
    const gauges: Gauge[] = [gauge('disk', 'Disk space', num('disk_used_mb'), diskLimit, 'mb')];
    if (p.roles.web) {
      gauges.push(gauge('bandwidth', 'Bandwidth this month', num('bw_used_mb'), p.web.bandwidthMb, 'mb'));
      gauges.push(gauge('domains', 'Web domains', num('web_domains'), p.web.domains, 'count'));
      gauges.push(gauge('databases', 'Databases', databases ?? num('databases'), p.web.databases, 'count'));
      if (p.mode !== 'vanity') {
        gauges.push(gauge('ftp', 'FTP accounts', ftp, extras?.web.ftpAccounts ?? null, 'count'));
        gauges.push(gauge('cron', 'Cron jobs', cron, extras?.web.cronJobs ?? null, 'count'));
      }
    }
    if (mail && p.roles.mail) gauges.push(gauge('mailboxes', 'Mailboxes', mailboxes ?? num('mailboxes'), p.mail.accounts, 'count'));
    const collected = num('collected_at');
    return {
      domain: plan.domain, mode: p.mode, gauges,
      collectedAt: collected ? new Date(collected).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : null,
      failed: ctx.svc.state === 'failed', active: ctx.svc.state === 'active' || ctx.svc.state === 'suspended',
    };
  },
};

const syncNow: HostingAction = {
  tab: 'overview', role: null, states: ['active', 'suspended'],
  async prepare(ctx) {
    const chain = planChain('sync-usage', ctx.svc.plan, new Map());
    if (chain.steps.length === 0) throw new InputError('', 'There is no usage to collect for your service.', 409);
    return { operation: 'sync-usage', steps: chain.steps, message: 'Your usage is being collected; the figures update in a minute.' };
  },
};

const tryAgain: HostingAction = {
  tab: 'overview', role: null, states: ['failed'],
  async prepare(ctx) {
    const plan = ctx.svc.plan;
    const chain = planChain('verify-repair', plan, await serverRefs(ctx.db, planServerIds(plan)));
    return {
      operation: 'verify-repair', steps: chain.steps, successState: chain.successState, failureState: chain.failureState,
      message: 'Your hosting is being set up again.',
    };
  },
};

export const overviewActions: Record<string, HostingAction> = {
  'usage-sync': syncNow,
  'deploy-retry': tryAgain,
};
