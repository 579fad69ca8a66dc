// The steps of the hosting panel's FTP tab (services/hosting-panel/ftp.ts plans them): one extra
// FTP account of the web domain created, deleted, given a new password or a new folder. Each reads
// the domain's accounts first (HestiaCP has no FTP listing: v-list-web-domains' FTP_USER/FTP_PATH),
// acts only on the difference and reads them again to verify, so a retry after a crash converges.
// The password is taken from the chain's sealed secrets (hosting-panel/secrets.ts), declared a
// secret of the attempt and sent through HestiaCP's /tmp file, never on argv or in a log.
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import type { HestiaDriver, HestiaFtpAccount } from '../../drivers/hestia/index.ts';
import { takeSecret } from '../../services/hosting-panel/secrets.ts';
import { registerStep } from '../step-args.ts';
import type { HostingDeps } from './context.ts';

interface On { server: number; user: string; domain: string; account: string }

async function accountOf(driver: HestiaDriver, a: On): Promise<HestiaFtpAccount | null> {
  return (await driver.listFtpAccounts(a.user, a.domain)).find((x) => x.user === a.account) ?? null;
}

/** The account's own part (what v-add-web-domain-ftp takes): the full name without `<user>_`. */
function ownName(a: On): string {
  if (!a.account.startsWith(`${a.user}_`)) throw new TerminalError(`FTP account ${a.account} is not one of ${a.user}'s`);
  return a.account.slice(a.user.length + 1);
}

async function password(deps: HostingDeps, ctx: TaskContext, name: string): Promise<string> {
  if (ctx.task.chainId === null) throw new TerminalError(`${ctx.task.type} runs in a chain (its password is sealed for the chain)`);
  const value = await takeSecret(deps.db, deps.masterKey, ctx.task.chainId, name);
  ctx.secret(value);
  return value;
}

const where = (path: string) => (path === '' ? 'the domain directory' : path);

export function registerFtpPanelHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'ftp.create', 'Creates an extra FTP account of the web domain with the password the customer typed (or, after a crash, gives the account made then that password and folder).', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const path = a.path ?? '';
    const secret = await password(deps, ctx, a.secret);
    const had = await accountOf(driver, a);
    if (!had) {
      await driver.addFtpAccount(a.user, a.domain, ownName(a), secret, path || undefined);
      ctx.log(`FTP account ${a.account} created on ${server.name} for ${where(path)} of ${a.domain}`);
    } else {
      // An earlier attempt created it: its password is not listed, so it is set again, and the folder if it differs.
      await driver.changeFtpPassword(a.user, a.domain, a.account, secret);
      if (had.path !== path && path !== '') await driver.changeFtpPath(a.user, a.domain, a.account, path);
      ctx.log(`FTP account ${a.account} was already on ${server.name} (an earlier attempt): its password is set${had.path !== path && path !== '' ? ` and its folder moved to ${path}` : ''}`);
    }
    const now = await accountOf(driver, a);
    if (!now) throw new TerminalError(`FTP account ${a.account} is not listed on ${server.name} after it was created`);
    if (now.path !== path) throw new TerminalError(`FTP account ${a.account} on ${server.name} has the folder ${where(now.path)}, not ${where(path)}`);
    return { account: a.account, path };
  }, { maxAttempts: 5 });

  registerStep(registry, 'ftp.delete', 'Deletes an extra FTP account of the web domain.', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    if (await accountOf(driver, a)) {
      await driver.deleteFtpAccount(a.user, a.domain, a.account);
      ctx.log(`FTP account ${a.account} deleted on ${server.name}`);
    } else {
      ctx.log(`FTP account ${a.account} is not on ${server.name}: nothing to delete`);
    }
    if (await accountOf(driver, a)) throw new TerminalError(`FTP account ${a.account} is still listed on ${server.name} after it was deleted`);
    return { account: a.account, deleted: true };
  }, { maxAttempts: 5 });

  registerStep(registry, 'ftp.password', 'Gives an extra FTP account of the web domain the password the customer typed.', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    if (!(await accountOf(driver, a))) throw new TerminalError(`FTP account ${a.account} is not on ${server.name} (deleted meanwhile?): no password to change`);
    const secret = await password(deps, ctx, a.secret);
    // HestiaCP does not list the hash (FTP_MD5): setting it again is the only way to be sure of it.
    await driver.changeFtpPassword(a.user, a.domain, a.account, secret);
    if (!(await accountOf(driver, a))) throw new TerminalError(`FTP account ${a.account} is no longer listed on ${server.name} after its password change`);
    ctx.log(`new password set for FTP account ${a.account} on ${server.name}`);
    return { account: a.account };
  }, { maxAttempts: 5 });

  registerStep(registry, 'ftp.path', 'Moves an extra FTP account of the web domain to another folder below the domain directory.', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const had = await accountOf(driver, a);
    if (!had) throw new TerminalError(`FTP account ${a.account} is not on ${server.name} (deleted meanwhile?): no folder to change`);
    if (had.path === a.path) {
      ctx.log(`FTP account ${a.account} on ${server.name} already has the folder ${a.path}`);
    } else {
      await driver.changeFtpPath(a.user, a.domain, a.account, a.path);
      ctx.log(`FTP account ${a.account} on ${server.name} moved from ${where(had.path)} to ${a.path}`);
    }
    const now = await accountOf(driver, a);
    if (now?.path !== a.path) throw new TerminalError(`FTP account ${a.account} on ${server.name} has the folder ${now ? where(now.path) : '(account gone)'}, not ${a.path}, after the change`);
    return { account: a.account, path: a.path };
  }, { maxAttempts: 5 });
}
