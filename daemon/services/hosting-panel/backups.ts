// The hosting panel's Backups tab: the HestiaCP backups of the service's accounts (reference §8.7,
// docs/drivers.md "Backups and restores"), listed live, made now, restored whole or in part (web,
// mail, databases) and deleted. A Split service has two accounts on two nodes (web and mail), each
// with its own archives and quota; Unified one account holding both; a Vanity site its web account.
// The quota is the plan's backups per account (hosting plan web/mail/unified.backups, HestiaCP's
// BACKUPS): a "create now" on a full account is refused before queueing rather than left to
// HestiaCP's rotation, which would silently delete the customer's oldest archive. Backups and
// restores run synchronously in their step (v-backup-user / v-restore-user, long timeout): the
// chain's live progress is what the customer follows, and the step's result is the archive made.
import { InputError } from '../../common/errors.ts';
import type { BackupInfo } from '../../drivers/hestia/index.ts';
import { backupsFor } from '../../pipelines/hosting-plan.ts';
import { plannedStep, type PlannedStep } from '../../pipelines/steps.ts';
import type { HostingAction, HostingContext, HostingTab, PreparedAction } from './types.ts';

export type BackupRole = 'web' | 'mail' | 'all';
/** What a restore puts back: the whole archive, or one part (optionally one item of it). */
export type RestorePartName = 'all' | 'web' | 'mail' | 'db';

/** One Hestia account whose backups the customer manages. */
export interface BackupAccount { role: BackupRole; server: number; user: string; max: number; label: string }

const LABELS: Readonly<Record<BackupRole, string>> = { web: 'Web hosting', mail: 'Mail', all: 'Web and mail' };
const PART_LABELS: Readonly<Record<RestorePartName, string>> = { all: 'everything', web: 'the website files', mail: 'the mail', db: 'the databases' };

const printable = (s: string, max = 60) => {
  const t = s.replace(/[\x00-\x1f\x7f]/g, '?');
  return t.length > max ? `${t.slice(0, max)}…` : t;
};

/** The service's accounts with backups: Unified's one, Split's web and mail, a Vanity site's web account (its mailbox is the provider's). */
export function backupAccounts(svc: HostingContext['svc']): BackupAccount[] {
  const { placement: p, names: n, product } = svc.plan;
  const acc = (role: BackupRole, server: number | null, user: string | null | undefined): BackupAccount[] =>
    server !== null && user ? [{ role, server, user, max: backupsFor(product, role), label: LABELS[role] }] : [];
  if (p.unified !== null) return acc('all', p.unified, n.users.all);
  return [
    ...(product.roles.web ? acc('web', p.web, n.users.web) : []),
    ...(product.roles.mail && product.mode !== 'vanity' ? acc('mail', p.mail, n.users.mail) : []),
  ];
}

/** The quota's words: null while a new backup fits, else why it does not. */
export function backupFull(a: Pick<BackupAccount, 'max' | 'label'>, used: number): string | null {
  const what = a.label.toLowerCase();
  if (a.max <= 0) return `Your plan includes no backups of ${what}.`;
  if (used < a.max) return null;
  const kept = a.max === 1 ? `1 backup of ${what} and it is` : `${a.max} backups of ${what} and all ${a.max} are`;
  return `Your plan keeps ${kept} in use: delete one to make a new one now.`;
}

// --- the steps (pure) -------------------------------------------------------------------------

const target = (server: number) => `server:${server}`;

/** `known`: the archives listed when it was asked (a newer one found by a retry is this backup). */
export function planBackupCreate(accounts: readonly BackupAccount[], known: Readonly<Record<string, readonly string[]>>): PlannedStep[] {
  return accounts.map((a) => {
    const listed = known[a.role] ?? [];
    const args = { server: a.server, user: a.user, max: String(a.max), ...(listed.length > 0 ? { known: listed.join(',') } : {}) };
    return { ...plannedStep('backup.create', `backup.create.${a.role}`, target(a.server), args), dependsOn: [] };
  });
}

export function planBackupDelete(a: BackupAccount, archive: string): PlannedStep[] {
  return [{ ...plannedStep('backup.delete', 'backup.delete', target(a.server), { server: a.server, user: a.user, archive }), dependsOn: [] }];
}

export function planBackupRestore(a: BackupAccount, archive: string, part: RestorePartName, item: string | null): PlannedStep[] {
  const args = { server: a.server, user: a.user, archive, part, ...(item !== null ? { item } : {}) };
  return [{ ...plannedStep('backup.restore', 'backup.restore', target(a.server), args), dependsOn: [] }];
}

// --- live reads ---------------------------------------------------------------------------------

interface Live { account: BackupAccount; backups: BackupInfo[] }

async function liveOf(ctx: HostingContext, a: BackupAccount): Promise<Live> {
  return { account: a, backups: await (await ctx.hestia(a.server)).listBackups(a.user) };
}

function accountsOrRefuse(ctx: HostingContext): BackupAccount[] {
  const all = backupAccounts(ctx.svc);
  if (all.length === 0) throw new InputError('', 'Your plan has no web or mail hosting, so it has no backups.', 409);
  return all;
}

/** The account the form names (web, mail, all); the only one when there is one and the field is empty. */
function chosenAccount(all: readonly BackupAccount[], raw: string | undefined): BackupAccount {
  const v = (raw ?? '').trim();
  if (v === '' && all.length === 1) return all[0]!;
  const found = all.find((a) => a.role === v);
  if (!found) throw new InputError('account', `must be one of ${all.map((a) => `${a.role} (${a.label})`).join(', ')}`);
  return found;
}

function listedArchive(live: Live, raw: string | undefined): BackupInfo {
  const v = (raw ?? '').trim();
  if (v === '') throw new InputError('archive', 'is required');
  const found = live.backups.find((b) => b.archive === v);
  if (!found) throw new InputError('archive', `you have no backup "${printable(v)}" of ${live.account.label.toLowerCase()}`);
  return found;
}

// --- the tab ------------------------------------------------------------------------------------

export const backupsTab: HostingTab = {
  key: 'backups',
  title: 'Backups',
  // Shown for web or mail: the accounts decide (a service with neither shows that it has none).
  role: null,
  async load(ctx) {
    const accounts = backupAccounts(ctx.svc);
    if (accounts.length === 0) return { none: true };
    const many = accounts.length > 1;
    const rows = await Promise.all(accounts.map(async (a) => {
      let live: Live;
      try {
        live = await liveOf(ctx, a);
      } catch {
        // A node that cannot be read now shows a notice for its account, not a broken panel.
        return { role: a.role, label: a.label, readError: true };
      }
      const full = backupFull(a, live.backups.length);
      const newestFirst = [...live.backups].reverse();
      return {
        role: a.role, label: a.label, readError: false,
        backups: newestFirst.map((b) => ({
          archive: b.archive, made: `${b.date} ${b.time}`, size: `${b.sizeMb} MB`,
          web: b.web.join(', '), mail: b.mail.join(', '), db: b.db.join(', '),
          hasWeb: b.web.length > 0, hasMail: b.mail.length > 0, hasDb: b.db.length > 0,
          items: [...b.web.map((x) => ({ part: 'web', name: x })), ...b.mail.map((x) => ({ part: 'mail', name: x })), ...b.db.map((x) => ({ part: 'db', name: x }))],
        })),
        empty: live.backups.length === 0,
        count: live.backups.length,
        max: a.max,
        limitText: a.max <= 0 ? 'backups are not part of your plan' : `${live.backups.length} of ${a.max} kept`,
        full,
        canCreate: full === null,
      };
    }));
    return { none: false, many, accounts: rows, canCreateAll: many && rows.every((r) => !r.readError && r.canCreate) };
  },
};

// --- the actions --------------------------------------------------------------------------------

const create: HostingAction = {
  tab: 'backups',
  role: null,
  async prepare(ctx, fields): Promise<PreparedAction> {
    const all = accountsOrRefuse(ctx);
    const asked = (fields.account ?? '').trim();
    // "both" (or empty on Split): every account, each against its own quota.
    const chosen = asked === 'both' || (asked === '' && all.length > 1) ? all : [chosenAccount(all, asked)];
    const lives = await Promise.all(chosen.map((a) => liveOf(ctx, a)));
    for (const l of lives) {
      const full = backupFull(l.account, l.backups.length);
      if (full) throw new InputError('', full, 409);
    }
    const known = Object.fromEntries(lives.map((l) => [l.account.role, l.backups.map((b) => b.archive)]));
    return {
      operation: 'backup-create',
      steps: planBackupCreate(chosen, known),
      message: `Backing up ${chosen.map((a) => a.label.toLowerCase()).join(' and ')} now (this can take a while)`,
    };
  },
};

const remove: HostingAction = {
  tab: 'backups',
  role: null,
  async prepare(ctx, fields): Promise<PreparedAction> {
    const a = chosenAccount(accountsOrRefuse(ctx), fields.account);
    const b = listedArchive(await liveOf(ctx, a), fields.archive);
    return { operation: 'backup-delete', steps: planBackupDelete(a, b.archive), message: `Deleting the backup of ${a.label.toLowerCase()} made ${b.date} ${b.time}` };
  },
};

const restore: HostingAction = {
  tab: 'backups',
  role: null,
  async prepare(ctx, fields): Promise<PreparedAction> {
    const a = chosenAccount(accountsOrRefuse(ctx), fields.account);
    const rawPart = (fields.part ?? '').trim();
    let part = (rawPart === '' ? 'all' : rawPart) as RestorePartName;
    if (!Object.hasOwn(PART_LABELS, part)) throw new InputError('part', 'must be one of all (everything), web (website files), mail, db (databases)');
    const rawItem = (fields.item ?? '').trim();
    const b = listedArchive(await liveOf(ctx, a), fields.archive);
    if (rawItem !== '' && part === 'all') {
      // One item chosen with "everything": the part that holds it (a name in two parts, e.g. a web and mail domain, must be told).
      const holding = (['web', 'mail', 'db'] as const).filter((p) => b[p].includes(rawItem));
      if (holding.length === 0) throw new InputError('item', `"${printable(rawItem)}" is not in this backup`);
      if (holding.length > 1) throw new InputError('part', `"${printable(rawItem)}" is in this backup's ${holding.join(' and ')}: choose which part to restore`);
      part = holding[0]!;
    }
    const inArchive = part === 'all' ? [] : b[part];
    if (part !== 'all' && inArchive.length === 0) throw new InputError('part', `this backup holds no ${part === 'db' ? 'databases' : part === 'web' ? 'website' : 'mail'}`);
    if (rawItem !== '' && !inArchive.includes(rawItem)) throw new InputError('item', `"${printable(rawItem)}" is not in this backup's ${PART_LABELS[part].replace('the ', '')}`);
    const item = rawItem === '' ? null : rawItem;
    return {
      operation: 'backup-restore',
      steps: planBackupRestore(a, b.archive, part, item),
      message: `Restoring ${item ?? PART_LABELS[part]} from the backup of ${a.label.toLowerCase()} made ${b.date} ${b.time}`,
    };
  },
};

export const backupsActions: Record<string, HostingAction> = {
  'backup-create': create,
  'backup-delete': remove,
  'backup-restore': restore,
};
