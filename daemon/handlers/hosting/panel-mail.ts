// The hosting panel's mailbox steps (services/hosting-panel/mailboxes.ts plans them). Each checks the
// node first, acts only when needed and verifies, so a retry after a crash converges. The password
// is never in the step's args: the step names its sealed secret, taken here and declared a secret of
// the attempt so no log shows it.
import { TerminalError } from '../../common/errors.ts';
import { hasHestiaCode, type HestiaDriver } from '../../drivers/hestia/index.ts';
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import type { StepArgs } from '../../pipelines/steps.ts';
import { takeSecret } from '../../services/hosting-panel/secrets.ts';
import { registerStep } from '../step-args.ts';
import type { HostingDeps } from './context.ts';

type Box = StepArgs['panel.mailbox-delete'];

async function mailboxOf(driver: HestiaDriver, a: Box): Promise<Record<string, string> | null> {
  return (await driver.listMailAccounts(a.user, a.domain))[a.account] ?? null;
}

const quotaArg = (q: string): number | 'unlimited' => (q === 'unlimited' ? 'unlimited' : Number(q));

async function secretOf(deps: HostingDeps, ctx: TaskContext, name: string): Promise<string> {
  if (ctx.task.chainId === null) throw new TerminalError('a mailbox password step runs only inside its chain');
  const value = await takeSecret(deps.db, deps.masterKey, ctx.task.chainId, name);
  ctx.secret(value);
  return value;
}

export function registerPanelMailHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'panel.mailbox-create', 'Creates a mailbox the customer asked for in the hosting panel (its password sealed until this step).', async (ctx, a) => {
    const password = await secretOf(deps, ctx, a.secret);
    const { driver } = await deps.fleet.hestia(a.server, ctx);
    const where = `${a.account}@${a.domain}`;
    let box = await mailboxOf(driver, a);
    if (!box) {
      try {
        await driver.addMailAccount(a.user, a.domain, a.account, password, quotaArg(a.quota));
        ctx.log(`mailbox ${where} created`);
      } catch (err) {
        if (!hasHestiaCode(err, 'E_EXISTS')) throw err;
      }
      box = await mailboxOf(driver, a);
      if (!box) throw new TerminalError(`mailbox ${where} could not be created`);
    } else {
      // An earlier attempt of this chain created it: the password and quota are set again, so it converges.
      await driver.changeMailAccountPassword(a.user, a.domain, a.account, password);
      ctx.log(`mailbox ${where} exists (an earlier attempt): password set again`);
    }
    if (String(box.QUOTA) !== a.quota) {
      await driver.changeMailAccountQuota(a.user, a.domain, a.account, quotaArg(a.quota));
      box = await mailboxOf(driver, a);
      if (String(box?.QUOTA) !== a.quota) throw new TerminalError(`mailbox ${where} has quota ${box?.QUOTA ?? '?'} MB, not ${a.quota}`);
    }
    return { mailbox: where, quota: a.quota };
  });

  registerStep(registry, 'panel.mailbox-delete', 'Deletes a mailbox the customer chose in the hosting panel.', async (ctx, a) => {
    const { driver } = await deps.fleet.hestia(a.server, ctx);
    const where = `${a.account}@${a.domain}`;
    if (!(await mailboxOf(driver, a))) {
      ctx.log(`mailbox ${where} does not exist: nothing to delete`);
      return { skipped: true };
    }
    try {
      await driver.deleteMailAccount(a.user, a.domain, a.account);
    } catch (err) {
      if (!hasHestiaCode(err, 'E_NOTEXIST')) throw err;
    }
    if (await mailboxOf(driver, a)) throw new TerminalError(`mailbox ${where} is still there after its deletion`);
    ctx.log(`mailbox ${where} deleted`);
    return { deleted: where };
  });

  registerStep(registry, 'panel.mailbox-password', 'Sets a mailbox\'s new password the customer typed in the hosting panel.', async (ctx, a) => {
    const password = await secretOf(deps, ctx, a.secret);
    const { driver } = await deps.fleet.hestia(a.server, ctx);
    const where = `${a.account}@${a.domain}`;
    if (!(await mailboxOf(driver, a))) throw new TerminalError(`mailbox ${where} no longer exists`);
    await driver.changeMailAccountPassword(a.user, a.domain, a.account, password);
    ctx.log(`mailbox ${where}: password changed`);
    return { mailbox: where };
  });

  registerStep(registry, 'panel.mailbox-quota', 'Sets a mailbox\'s quota the customer chose in the hosting panel.', async (ctx, a) => {
    const { driver } = await deps.fleet.hestia(a.server, ctx);
    const where = `${a.account}@${a.domain}`;
    const box = await mailboxOf(driver, a);
    if (!box) throw new TerminalError(`mailbox ${where} no longer exists`);
    if (String(box.QUOTA) === a.quota) {
      ctx.log(`mailbox ${where} has quota ${a.quota} already`);
      return { quota: a.quota };
    }
    await driver.changeMailAccountQuota(a.user, a.domain, a.account, quotaArg(a.quota));
    const after = await mailboxOf(driver, a);
    if (String(after?.QUOTA) !== a.quota) throw new TerminalError(`mailbox ${where} has quota ${after?.QUOTA ?? '?'}, not ${a.quota}`);
    ctx.log(`mailbox ${where}: quota ${box.QUOTA} → ${a.quota}`);
    return { quota: a.quota };
  });
}
