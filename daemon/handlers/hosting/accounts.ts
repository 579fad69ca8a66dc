// Hestia accounts: the per-service package, the user, and their suspend / unsuspend / delete /
// password steps. Each looks first, acts only on the difference, and looks again.
import type { TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { hasHestiaCode, type PackageLimits } from '../../drivers/hestia/index.ts';
import type { ServicePlan } from '../../pipelines/plan.ts';
import { backupsFor, extrasOf } from '../../pipelines/hosting-plan.ts';
import { contactEmail, hestiaQuota, loadService, type HostingDeps } from './context.ts';
import { T } from '../../common/tables.ts';
import { setPasswordPending } from '../../services/store.ts';
import { registerStep } from '../step-args.ts';
import { groupNameservers } from '../../fleet/inventory.ts';
import { packageTemplateMissing } from './web-templates.ts';

type Role = 'web' | 'mail' | 'all';

/**
 * The Hestia package of one role of a service, from the product's merged limits and its hosting
 * plan profile (pipelines/hosting-plan.ts; a plan without one takes the built-in defaults).
 */
export function packageLimits(plan: ServicePlan, role: Role, ns: string[]): PackageLimits {
  const p = plan.product;
  const x = extrasOf(p);
  const q = hestiaQuota;
  const web = role !== 'mail' && p.roles.web;
  const mail = role !== 'web' && p.roles.mail && p.mode !== 'vanity';
  let disk: string;
  if (p.mode === 'vanity') disk = q(p.vanity?.siteQuotaMb ?? 'unlimited');
  else if (role === 'web') disk = q(p.web.diskMb);
  else if (role === 'mail') disk = q(p.mail.diskMb);
  else {
    const parts = [web ? p.web.diskMb : 0, mail ? p.mail.diskMb : 0];
    disk = parts.includes('unlimited') ? 'unlimited' : String((parts as number[]).reduce((a, b) => a + b, 0));
  }
  return {
    // A mail node's package keeps the default web templates: it serves no site, and may not have the profile's.
    WEB_TEMPLATE: role === 'mail' ? 'default' : x.web.template, PROXY_TEMPLATE: role === 'mail' ? 'default' : x.web.proxyTemplate,
    BACKEND_TEMPLATE: role === 'mail' ? 'default' : x.web.backendTemplate, DNS_TEMPLATE: x.dns.template,
    WEB_DOMAINS: web ? q(p.web.domains) : '0', WEB_ALIASES: web ? q(x.web.aliases) : '0',
    // One zone: a DNS server that is also this node keeps the service's zone under this user.
    DNS_DOMAINS: '1', DNS_RECORDS: q(x.dns.records),
    MAIL_DOMAINS: mail ? q(x.mail.domains) : '0', MAIL_ACCOUNTS: mail ? q(p.mail.accounts) : '0', RATE_LIMIT: '200',
    DATABASES: web ? q(p.web.databases) : '0', CRON_JOBS: web ? q(x.web.cronJobs) : '0',
    DISK_QUOTA: disk, CPU_QUOTA: 'unlimited', CPU_QUOTA_PERIOD: '100ms', MEMORY_LIMIT: 'unlimited', SWAP_LIMIT: 'unlimited',
    BANDWIDTH: web ? q(p.web.bandwidthMb) : 'unlimited',
    NS: ns.length >= 2 ? ns.join(',') : 'ns1.domain.tld,ns2.domain.tld',
    SHELL: 'nologin', BACKUPS: String(backupsFor(p, role)), BACKUPS_INCREMENTAL: 'no',
  };
}

function differs(want: PackageLimits, have: Record<string, string>): string[] {
  return Object.entries(want).filter(([k, v]) => String(have[k] ?? '') !== String(v)).map(([k]) => k);
}

export function registerAccountHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'account.package', 'Creates or rewrites the Hestia package of one role of a service (and applies it to the user on a package change).', async (ctx, a) => {
    const [svc, { driver, server }] = await Promise.all([loadService(deps, ctx), deps.fleet.hestia(a.server, ctx)]);
    const want = packageLimits(svc.plan, a.role, await groupNameservers(deps.db, svc.plan.groupId));
    // A hosting plan's template the node lacks: HestiaCP says only "doesn't exist"; say which and what the node has.
    const templateCheck = async (err: unknown) => {
      if (hasHestiaCode(err, 'E_NOTEXIST')) {
        const why = await packageTemplateMissing(driver, server.name, want, svc.plan.product.hostingPlan?.name ?? '');
        if (why) throw why;
      }
      throw err;
    };
    const have = await driver.findPackage(a.package);
    if (!have) {
      ctx.log(`package ${a.package} is missing: creating it`);
      try {
        await driver.addPackage(a.package, want);
      } catch (err) {
        if (!hasHestiaCode(err, 'E_EXISTS')) await templateCheck(err);
        ctx.log(`package ${a.package} appeared meanwhile; checking it`);
      }
    } else {
      const changed = differs(want, have);
      if (changed.length) {
        ctx.log(`package ${a.package} differs in ${changed.join(', ')}: rewriting it`);
        await driver.addPackage(a.package, want, true).catch(templateCheck);
      } else {
        ctx.log(`package ${a.package} is as wanted`);
      }
    }
    const after = await driver.listPackage(a.package);
    const still = differs(want, after);
    if (still.length) throw new TerminalError(`package ${a.package} on the server still differs in ${still.join(', ')} after writing it`);
    if (a.apply) {
      if (await driver.userExists(a.user)) {
        ctx.log(`applying package ${a.package} to ${a.user}`);
        await driver.changeUserPackage(a.user, a.package);
      } else {
        ctx.log(`user ${a.user} does not exist here; the package will apply when it is created`);
      }
    }
    return { package: a.package };
  });

  registerStep(registry, 'account.user', 'Creates the Hestia user of one role of a service, on its package.', async (ctx, a) => {
    const [svc, { driver }] = await Promise.all([loadService(deps, ctx), deps.fleet.hestia(a.server, ctx)]);
    let user = await driver.findUser(a.user);
    if (!user) {
      ctx.log(`user ${a.user} is missing: creating it on package ${a.package}`);
      try {
        await driver.addUser(a.user, svc.password, contactEmail(svc.plan), a.package, `hostbridge service ${svc.plan.whmcsServiceId}`);
      } catch (err) {
        if (!hasHestiaCode(err, 'E_EXISTS')) throw err;
        ctx.log(`user ${a.user} appeared meanwhile; checking it`);
      }
      user = await driver.listUser(a.user);
    } else if (user.PACKAGE !== a.package) {
      ctx.log(`user ${a.user} is on package ${user.PACKAGE}: moving it to ${a.package}`);
      await driver.changeUserPackage(a.user, a.package);
      user = await driver.listUser(a.user);
    } else {
      ctx.log(`user ${a.user} exists on package ${a.package}`);
    }
    if (user.PACKAGE !== a.package) throw new TerminalError(`user ${a.user} is on package ${user.PACKAGE}, not ${a.package}, after the change`);
    return { user: a.user };
  });

  for (const kind of ['suspend', 'unsuspend'] as const) {
    registerStep(registry, `account.${kind}` as const, `${kind === 'suspend' ? 'Suspends' : 'Unsuspends'} one Hestia user of a service.`, async (ctx, a) => {
      const { driver } = await deps.fleet.hestia(a.server, ctx);
      const user = await driver.findUser(a.user);
      if (!user) {
        ctx.log(`user ${a.user} does not exist on this server: nothing to ${kind}`);
        return { skipped: true };
      }
      const want = kind === 'suspend' ? 'yes' : 'no';
      if (user.SUSPENDED === want) {
        ctx.log(`user ${a.user} is already ${kind}ed`);
      } else {
        if (kind === 'suspend') await driver.suspendUser(a.user);
        else await driver.unsuspendUser(a.user);
        ctx.log(`user ${a.user} ${kind}ed`);
      }
      const after = await driver.listUser(a.user);
      if (after.SUSPENDED !== want) throw new TerminalError(`user ${a.user} reads SUSPENDED=${after.SUSPENDED} after the ${kind}`);
      return { user: a.user, suspended: want === 'yes' };
    });
  }

  registerStep(registry, 'account.delete', 'Removes one Hestia user of a service (with everything it holds) and the service\'s package.', async (ctx, a) => {
    const [svc, { driver }] = await Promise.all([loadService(deps, ctx), deps.fleet.hestia(a.server, ctx)]);
    const user = await driver.findUser(a.user);
    if (user) {
      await driver.deleteUser(a.user);
      ctx.log(`user ${a.user} deleted`);
    } else {
      ctx.log(`user ${a.user} is already gone`);
    }
    if (await driver.userExists(a.user)) throw new TerminalError(`user ${a.user} still exists after v-delete-user`);
    const pkg = a.role === 'web' || a.role === 'mail' || a.role === 'all' ? svc.plan.names.packages[a.role] : undefined;
    if (pkg && (await driver.findPackage(pkg))) {
      await driver.deletePackage(pkg);
      ctx.log(`package ${pkg} deleted`);
    }
    if (a.role === 'dns') {
      await deps.db(T.dnsZones).where({ service_id: svc.id, server_id: a.server }).update({ state: 'removed', updated_at: Date.now() });
    }
    return { user: a.user, deleted: true };
  });

  registerStep(registry, 'account.password', 'Sets the service\'s current password on one Hestia user or on its vanity mailbox.', async (ctx, a) => {
    const [svc, { driver }] = await Promise.all([loadService(deps, ctx), deps.fleet.hestia(a.server, ctx)]);
    // HestiaCP refuses a suspended user's or mailbox's new password: it waits for the Unsuspend.
    const later = async (what: string) => {
      await setPasswordPending(deps.db, svc.id, true);
      ctx.log(`${what} is suspended on this server: the new password is kept and set when the service is unsuspended`);
      return { pending: true };
    };
    if (a.role === 'mailbox') {
      const box = (await driver.listMailAccounts(a.user, a.domain!))[a.account!];
      if (box?.SUSPENDED === 'yes') return later(`mailbox ${a.account}@${a.domain}`);
      await driver.changeMailAccountPassword(a.user, a.domain!, a.account!, svc.password);
      ctx.log(`password of mailbox ${a.account}@${a.domain} changed`);
      return { mailbox: `${a.account}@${a.domain}` };
    }
    const user = await driver.findUser(a.user);
    if (!user) throw new TerminalError(`user ${a.user} does not exist on this server; run Verify & Repair first`);
    if (user.SUSPENDED === 'yes') return later(`user ${a.user}`);
    await driver.changeUserPassword(a.user, svc.password);
    ctx.log(`password of ${a.user} changed`);
    return { user: a.user };
  });
}
