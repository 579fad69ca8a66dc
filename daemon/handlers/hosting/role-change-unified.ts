// A package change that switches web or mail off on a Unified service (pipelines/plan.ts
// unifiedRoleChangeSteps): the one Hestia user holds both roles, so the user stays and only the
// switched-off role's domain goes. Each step looks, deletes what is there, and looks again: a rerun
// after a crash, or a domain someone already removed, finds nothing left and succeeds.
import type { TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { hasHestiaCode } from '../../drivers/hestia/index.ts';
import { registerStep } from '../step-args.ts';
import { orMissing, type HostingDeps } from './context.ts';

/** Runs a delete; HestiaCP's "doesn't exist" (3) means it is already gone, which is what was wanted. */
async function deleted(fn: () => Promise<void>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (err) {
    if (hasHestiaCode(err, 'E_NOTEXIST')) return false;
    throw err;
  }
}

export function registerUnifiedRoleChangeHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'mail.domain-delete', 'Removes the service\'s mail domain, with its mailboxes and DKIM key, from its Unified Hestia user (the user and its website stay).', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const domains = await orMissing(() => driver.listMailDomains(a.user));
    if (domains === null) {
      ctx.log(`user ${a.user} does not exist on ${server.name}: its mail domain is gone with it`);
      return { domain: a.domain, deleted: false };
    }
    let removed = false;
    if (domains[a.domain]) {
      const boxes = domains[a.domain]!.ACCOUNTS ?? '?';
      // v-delete-mail-domain USER DOMAIN takes every mailbox, forwarder, autoreply and the DKIM key along.
      removed = await deleted(() => driver.deleteMailDomain(a.user, a.domain));
      ctx.log(removed ? `mail domain ${a.domain} deleted with its ${boxes} mailbox(es)` : `mail domain ${a.domain} was removed meanwhile`);
    } else {
      ctx.log(`mail domain ${a.domain} is already gone`);
    }
    if ((await driver.listMailDomains(a.user))[a.domain]) throw new TerminalError(`mail domain ${a.domain} is still on ${server.name} under ${a.user} after v-delete-mail-domain`);
    return { domain: a.domain, deleted: removed };
  });

  registerStep(registry, 'web.domain-delete', 'Removes the service\'s website (files, FTP accounts, aliases, certificate), the user\'s databases and cron jobs from its Unified Hestia user (the user and its mail stay).', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const domains = await orMissing(() => driver.listWebDomains(a.user));
    if (domains === null) {
      ctx.log(`user ${a.user} does not exist on ${server.name}: its website is gone with it`);
      return { domain: a.domain, deleted: false, databases: 0, cronJobs: 0 };
    }
    let removed = false;
    if (domains[a.domain]) {
      // v-delete-web-domain USER DOMAIN [RESTART]: the site's files, logs, FTP accounts and certificate go with it.
      removed = await deleted(() => driver.deleteWebDomain(a.user, a.domain));
      ctx.log(removed ? `web domain ${a.domain} deleted` : `web domain ${a.domain} was removed meanwhile`);
    } else {
      ctx.log(`web domain ${a.domain} is already gone`);
    }
    // The databases and cron jobs belong to the web role (a Split service's web user takes them along);
    // the lowered package allows none, and HestiaCP refuses a package below what the user holds.
    let databases = 0;
    for (const db of await driver.listDatabases(a.user)) {
      if (await deleted(() => driver.deleteDatabase(a.user, db.name))) databases++;
      ctx.log(`database ${db.name} of the website deleted`);
    }
    let cronJobs = 0;
    for (const job of await driver.listCronJobs(a.user)) {
      if (await deleted(() => driver.deleteCronJob(a.user, job.id))) cronJobs++;
      ctx.log(`cron job ${job.id} deleted`);
    }
    const [web, dbs, jobs] = [await driver.listWebDomains(a.user), await driver.listDatabases(a.user), await driver.listCronJobs(a.user)];
    const left = [
      ...(web[a.domain] ? [`web domain ${a.domain}`] : []), ...dbs.map((d) => `database ${d.name}`), ...jobs.map((j) => `cron job ${j.id}`),
    ];
    if (left.length) throw new TerminalError(`${left.join(', ')} still on ${server.name} under ${a.user} after the delete`);
    return { domain: a.domain, deleted: removed, databases, cronJobs };
  });
}
