// The steps of the hosting panel's Databases tab (services/hosting-panel/databases.ts queues them).
// Each reads the account's databases first and acts only on the difference, then reads them again
// to check: a retry after a crash finds the database made (or gone) and converges. The password
// the customer typed is taken sealed from the chain's secrets, declared a secret of the attempt,
// and goes to the node in a mode-600 file (the driver), never on argv or in a log.
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { hasHestiaCode, type HestiaDatabase, type HestiaDriver } from '../../drivers/hestia/index.ts';
import { takeSecret } from '../../services/hosting-panel/secrets.ts';
import { registerStep } from '../step-args.ts';
import type { HostingDeps } from './context.ts';

function chainOf(ctx: TaskContext): number {
  if (ctx.task.chainId === null) throw new TerminalError(`${ctx.task.type} runs only inside the chain that sealed its password`);
  return ctx.task.chainId;
}

async function listed(driver: HestiaDriver, user: string, database: string): Promise<HestiaDatabase | null> {
  return (await driver.listDatabases(user)).find((d) => d.name === database) ?? null;
}

async function password(deps: HostingDeps, ctx: TaskContext, name: string): Promise<string> {
  const plain = await takeSecret(deps.db, deps.masterKey, chainOf(ctx), name);
  ctx.secret(plain);
  return plain;
}

export function registerPanelDbHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'db.create', 'Creates a database and its user for the customer on the web node (v-add-database), with the password they typed.', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const full = a.type === 'pgsql' ? `${a.user}_${a.database}`.toLowerCase() : `${a.user}_${a.database}`;
    const fullUser = a.type === 'pgsql' ? `${a.user}_${a.dbUser}`.toLowerCase() : `${a.user}_${a.dbUser}`;
    const before = await listed(driver, a.user, full);
    if (before && (before.dbUser !== fullUser || before.type !== a.type)) {
      throw new TerminalError(`${server.name} already has a database ${full} (${before.type}, user ${before.dbUser}) that this action did not make: left alone`);
    }
    const plain = await password(deps, ctx, a.secret);
    if (before) {
      // An earlier attempt made it (the daemon stopped before it heard back): the password is set again so it is the one typed.
      ctx.log(`${server.name} already has ${full} with user ${fullUser}: setting its password`);
      await driver.changeDatabasePassword(a.user, full, plain);
    } else {
      try {
        await driver.addDatabase(a.user, a.database, a.dbUser, plain, { type: a.type, charset: a.charset });
      } catch (err) {
        if (hasHestiaCode(err, 'E_LIMIT')) throw new TerminalError(`HestiaCP refused ${full}: the account's package allows no more databases`, { cause: err });
        throw err;
      }
      ctx.log(`database ${full} (${a.type}, ${a.charset}) created on ${server.name} with user ${fullUser}`);
    }
    const after = await listed(driver, a.user, full);
    if (!after) throw new TerminalError(`${server.name} does not list ${full} after creating it`);
    if (after.dbUser !== fullUser) throw new TerminalError(`${server.name} lists ${full} with user ${after.dbUser}, not ${fullUser}`);
    return { database: full, dbUser: fullUser, host: after.host };
  }, { maxAttempts: 5 });

  registerStep(registry, 'db.delete', 'Deletes one of the customer\'s databases (and its user) on the web node (v-delete-database).', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    if (!(await listed(driver, a.user, a.database))) {
      ctx.log(`${server.name} has no database ${a.database}: nothing to delete`);
    } else {
      try {
        await driver.deleteDatabase(a.user, a.database);
      } catch (err) {
        // Gone meanwhile (another attempt got there first): what was wanted.
        if (!hasHestiaCode(err, 'E_NOTEXIST')) throw err;
      }
      ctx.log(`database ${a.database} deleted on ${server.name}`);
    }
    if (await listed(driver, a.user, a.database)) throw new TerminalError(`${server.name} still lists ${a.database} after deleting it`);
    return { deleted: a.database };
  }, { maxAttempts: 5 });

  registerStep(registry, 'db.password', 'Sets the password the customer typed on one of their databases\' user (v-change-database-password).', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const db = await listed(driver, a.user, a.database);
    if (!db) throw new TerminalError(`${server.name} has no database ${a.database}: its password cannot be changed`);
    if (db.suspended) throw new TerminalError(`${a.database} is suspended on ${server.name}: HestiaCP changes no password of a suspended database`);
    // HestiaCP lists no password hash, so there is nothing to compare: setting it again is harmless.
    const plain = await password(deps, ctx, a.secret);
    await driver.changeDatabasePassword(a.user, a.database, plain);
    if (!(await listed(driver, a.user, a.database))) throw new TerminalError(`${server.name} no longer lists ${a.database} after changing its password`);
    ctx.log(`password of ${db.dbUser} (database ${a.database}) changed on ${server.name}`);
    return { database: a.database };
  }, { maxAttempts: 5 });
}
