// The steps of the hosting panel's Backups tab (services/hosting-panel/backups.ts queues them).
// A backup and a restore run synchronously on the node (v-backup-user / v-restore-user, minutes to
// hours: the driver's long timeout; the engine keeps the lease alive meanwhile). Each step reads
// the account's backups first so a retry converges: a backup finds the archive an earlier attempt
// made (one not listed when the customer asked) and makes no second; a delete finds it gone; a
// restore is the same restore again. A backup never rotates past the plan's quota: HestiaCP would
// delete the oldest archive to make room, so a full account fails the step instead.
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { hasHestiaCode, type BackupInfo, type HestiaDriver, type RestoreParts } from '../../drivers/hestia/index.ts';
import { registerStep } from '../step-args.ts';
import type { HostingDeps } from './context.ts';

async function listed(driver: HestiaDriver, user: string): Promise<BackupInfo[]> {
  return driver.listBackups(user);
}

/** What v-restore-user is asked for: every part, or one part (whole or one item of it). */
export function restoreParts(part: 'all' | 'web' | 'mail' | 'db', item: string | undefined): RestoreParts {
  if (part === 'all') return { web: 'all', dns: 'all', mail: 'all', db: 'all', cron: 'all', udir: 'all' };
  return { [part]: item !== undefined ? [item] : 'all' };
}

function refusal(err: unknown, user: string, server: string, what: string): never {
  if (hasHestiaCode(err, 'E_SUSPENDED')) throw new TerminalError(`${user} is suspended on ${server}: HestiaCP ${what} no suspended account`, { cause: err });
  if (hasHestiaCode(err, 'E_DISABLED')) throw new TerminalError(`backups are off for ${user} on ${server} (its package keeps none, or the server's backup system is off)`, { cause: err });
  if (hasHestiaCode(err, 'E_DISK', 'E_LIMIT')) throw new TerminalError(`${server} has not enough backup space for ${user}`, { cause: err });
  throw err;
}

export function registerPanelBackupHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'backup.create', 'Backs up one of the customer\'s accounts now (v-backup-user), never past the plan\'s quota.', async (ctx: TaskContext, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const known = new Set((a.known ?? '').split(',').filter(Boolean));
    const before = await listed(driver, a.user);
    const made = before.find((b) => !known.has(b.archive));
    if (made) {
      // An earlier attempt (or the nightly run) made one since the customer asked: that is the backup wanted.
      ctx.log(`${server.name} already lists ${made.archive}, made after this was asked: no second backup`);
      return { archive: made.archive };
    }
    const max = Number(a.max);
    if (before.length >= max) {
      throw new TerminalError(`${a.user} on ${server.name} already keeps ${before.length} of ${max} backups: a new one would make HestiaCP delete the oldest, so none was made`);
    }
    let archive: string | null;
    try {
      archive = await driver.backupUser(a.user);
    } catch (err) {
      refusal(err, a.user, server.name, 'backs up');
    }
    const after = await listed(driver, a.user);
    const found = after.find((b) => b.archive === archive) ?? after.find((b) => !known.has(b.archive));
    if (!found) throw new TerminalError(`${server.name} lists no new backup of ${a.user} after v-backup-user`);
    if (after.length > max) throw new TerminalError(`${server.name} lists ${after.length} backups of ${a.user}, more than the plan's ${max}`);
    ctx.log(`backup ${found.archive} of ${a.user} made on ${server.name} (${found.sizeMb} MB)`);
    return { archive: found.archive, sizeMb: found.sizeMb };
  }, { maxAttempts: 3 });

  registerStep(registry, 'backup.delete', 'Deletes one backup of the customer\'s account (v-delete-user-backup).', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    if (!(await listed(driver, a.user)).some((b) => b.archive === a.archive)) {
      ctx.log(`${server.name} lists no backup ${a.archive}: nothing to delete`);
    } else {
      try {
        await driver.deleteBackup(a.user, a.archive);
      } catch (err) {
        // Gone meanwhile (another attempt got there first): what was wanted.
        if (!hasHestiaCode(err, 'E_NOTEXIST')) throw err;
      }
      ctx.log(`backup ${a.archive} deleted on ${server.name}`);
    }
    if ((await listed(driver, a.user)).some((b) => b.archive === a.archive)) throw new TerminalError(`${server.name} still lists ${a.archive} after deleting it`);
    return { deleted: a.archive };
  }, { maxAttempts: 5 });

  registerStep(registry, 'backup.restore', 'Restores one of the customer\'s backups, whole or a part (v-restore-user).', async (ctx, a) => {
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const b = (await listed(driver, a.user)).find((x) => x.archive === a.archive);
    if (!b) throw new TerminalError(`${server.name} lists no backup ${a.archive} of ${a.user}: nothing to restore from`);
    try {
      await driver.restoreBackup(a.user, a.archive, restoreParts(a.part, a.item));
    } catch (err) {
      if (hasHestiaCode(err, 'E_NOTEXIST')) throw new TerminalError(`the archive ${a.archive} is no longer in ${server.name}'s backup folder`, { cause: err });
      if (hasHestiaCode(err, 'E_PARSING')) throw new TerminalError(`HestiaCP stopped restoring ${a.archive} on ${server.name}: a domain in it now belongs to another account, or a part could not be unpacked`, { cause: err });
      refusal(err, a.user, server.name, 'restores');
    }
    // Checked back: the databases and mail domains restored are listed again.
    const dbs = a.part === 'all' || a.part === 'db' ? (a.item !== undefined ? [a.item] : b.db) : [];
    if (dbs.length > 0) {
      const now = new Set((await driver.listDatabases(a.user)).map((d) => d.name));
      const missing = dbs.filter((d) => !now.has(d));
      if (missing.length > 0) throw new TerminalError(`${server.name} does not list ${missing.join(', ')} after the restore`);
    }
    const mails = a.part === 'all' || a.part === 'mail' ? (a.item !== undefined ? [a.item] : b.mail) : [];
    for (const d of mails) {
      try {
        await driver.listMailAccounts(a.user, d);
      } catch (err) {
        throw new TerminalError(`${server.name} has no mail domain ${d} after the restore`, { cause: err });
      }
    }
    ctx.log(`restored ${a.part === 'all' ? 'everything' : `${a.part}${a.item !== undefined ? ` ${a.item}` : ''}`} from ${a.archive} on ${server.name}`);
    return { archive: a.archive, part: a.part, item: a.item ?? null };
  }, { maxAttempts: 3 });
}
