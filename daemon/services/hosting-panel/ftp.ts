// The hosting panel's FTP tab: the extra FTP accounts of the service's web domain (HestiaCP's
// v-add-web-domain-ftp and friends; reference §8.2). Each account is the system user
// `<user>_<name>` whose home is the domain directory or a folder below it. HestiaCP packages have
// no FTP limit, so the daemon enforces the hosting plan's web.ftp_accounts here, counting the
// accounts live from the node (a service without a hosting plan: unlimited). The steps are planned
// by planFtpStep (pure) and run by handlers/hosting/panel-ftp.ts; the password goes to the step
// sealed (secrets.ts), never in the task's arguments.
import { InputError } from '../../common/errors.ts';
import { extrasOf } from '../../pipelines/hosting-plan.ts';
import { plannedStep, type PlannedStep } from '../../pipelines/steps.ts';
import type { HostingAction, HostingContext, HostingTab, PreparedAction } from './types.ts';

/** HestiaCP's limit on a system user name, which the FTP account's full name must fit. */
export const FTP_FULL_NAME_MAX = 30;
/** The driver's limit on the FTP_PATH argument (object-args.ts ftpPathArg, a `name`): a longer folder would fail in its step. */
const PATH_MAX = 100;
const PASSWORD_MIN = 8;
const PASSWORD_MAX = 128;
/** The secret's name in the action's sealed secrets and in its step's args. */
const SECRET = 'password';

/** Where the service's FTP accounts live: its web server, the Hestia user holding the web domain, the domain. */
export interface FtpPlace { server: number; user: string; domain: string }

export function ftpPlace(svc: HostingContext['svc']): FtpPlace {
  const { placement: p, names: n, domain } = svc.plan;
  const server = p.unified ?? p.web;
  const user = p.unified !== null ? n.users.all : n.users.web;
  if (server === null || !user) throw new InputError('', 'Your plan has no web hosting, so it has no FTP accounts.', 409);
  return { server, user, domain };
}

const printable = (s: string, max = 60) => {
  const t = s.replace(/[\x00-\x1f\x7f]/g, '?');
  return t.length > max ? `${t.slice(0, max)}…` : t;
};

/** The account's own part, as the customer types it: HestiaCP makes `<user>_<name>` of it, 30 characters at most. */
export function checkFtpName(place: FtpPlace, raw: string | undefined): string {
  const v = (raw ?? '').trim();
  const room = FTP_FULL_NAME_MAX - place.user.length - 1;
  if (v === '') throw new InputError('name', 'is required');
  if (!/^[A-Za-z0-9]([A-Za-z0-9_]*[A-Za-z0-9])?$/.test(v)) {
    throw new InputError('name', `"${printable(v)}" is not allowed: use letters, digits and "_", starting and ending with a letter or digit`);
  }
  if (v.length > room) throw new InputError('name', `is ${v.length} characters long; at most ${room} fit (the account is called ${place.user}_<name>, ${FTP_FULL_NAME_MAX} characters in all)`);
  return v;
}

/**
 * The password the customer types: HestiaCP's own panel rule (8 or more, a lower-case letter, an
 * upper-case letter and a digit), printable, one line (HestiaCP reads the first line of a file).
 */
export function checkFtpPassword(raw: string | undefined): string {
  const v = raw ?? '';
  const chars = [...v];
  if (chars.length === 0) throw new InputError('password', 'is required');
  if (/[\x00-\x1f\x7f\u0080-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/.test(v)) throw new InputError('password', 'has a control or invisible character; use printable characters only');
  if (v.trim() !== v) throw new InputError('password', 'must not start or end with a space');
  if (chars.length < PASSWORD_MIN) throw new InputError('password', `is ${chars.length} characters long; an FTP password needs at least ${PASSWORD_MIN}`);
  if (chars.length > PASSWORD_MAX) throw new InputError('password', `is ${chars.length} characters long; an FTP password has at most ${PASSWORD_MAX}`);
  if (!/[a-z]/.test(v) || !/[A-Z]/.test(v) || !/[0-9]/.test(v)) throw new InputError('password', 'needs a lower-case letter, an upper-case letter and a digit');
  return v;
}

/**
 * A folder below the domain directory (`public_html/uploads`), '' for the directory itself when
 * `optional`: plain segments only, no "." or "..", so it cannot leave the domain's directory.
 */
export function checkFtpPath(raw: string | undefined, optional: boolean): string {
  const v = (raw ?? '').trim().replace(/^\/+|\/+$/g, '');
  if (v === '') {
    if (optional) return '';
    throw new InputError('path', 'is required: a folder inside your domain\'s directory, such as public_html/uploads');
  }
  if (v.length > PATH_MAX) throw new InputError('path', `is ${v.length} characters long; at most ${PATH_MAX}`);
  for (const seg of v.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw new InputError('path', `"${printable(v)}" is not allowed: a folder inside your domain's directory, without empty, "." or ".." parts`);
    if (!/^[A-Za-z0-9._-]+$/.test(seg) || seg.startsWith('-')) throw new InputError('path', `"${printable(v)}" is not allowed: folder names are letters, digits, ".", "_" and "-" (not first)`);
  }
  return v;
}

/** The full account name from a row's hidden field: one of this user's. */
function checkAccount(place: FtpPlace, raw: string | undefined): string {
  const v = (raw ?? '').trim();
  if (v === '') throw new InputError('account', 'is required');
  const own = v.startsWith(`${place.user}_`) ? v.slice(place.user.length + 1) : '';
  if (!/^[A-Za-z0-9]([A-Za-z0-9_]*[A-Za-z0-9])?$/.test(own) || v.length > FTP_FULL_NAME_MAX) throw new InputError('account', `"${printable(v)}" is not one of your FTP accounts`, 404);
  return v;
}

/** The plan's FTP account limit: the hosting plan's web.ftp_accounts; a plan without one is unlimited. */
export function ftpLimit(svc: HostingContext['svc']): number | 'unlimited' {
  return extrasOf(svc.plan.product).web.ftpAccounts;
}

/** The customer's words for the limit when it is reached, or null when one more fits. */
export function ftpLimitRefusal(limit: number | 'unlimited', inUse: number): string | null {
  if (limit === 'unlimited' || inUse < limit) return null;
  if (limit === 0) return 'FTP accounts are not part of your plan.';
  const plan = `Your plan includes ${limit} FTP account${limit === 1 ? '' : 's'}`;
  return inUse === limit ? `${plan} and ${limit === 1 ? 'it is' : `all ${limit} are`} in use.` : `${plan} and ${inUse} are in use: delete ${inUse - limit + 1} before you create another.`;
}

export type FtpOperation = 'ftp-create' | 'ftp-delete' | 'ftp-password' | 'ftp-path';

/** The one step of an FTP action, on the web server (pure: steps.test.ts plans it too). */
export function planFtpStep(op: FtpOperation, place: FtpPlace, account: string, path?: string): PlannedStep {
  const on = { server: place.server, user: place.user, domain: place.domain, account };
  const target = `server:${place.server}`;
  switch (op) {
    case 'ftp-create': return plannedStep('ftp.create', 'ftp.create', target, { ...on, ...(path ? { path } : {}), secret: SECRET });
    case 'ftp-delete': return plannedStep('ftp.delete', 'ftp.delete', target, on);
    case 'ftp-password': return plannedStep('ftp.password', 'ftp.password', target, { ...on, secret: SECRET });
    case 'ftp-path': {
      if (!path) throw new Error('an FTP path change needs the path');
      return plannedStep('ftp.path', 'ftp.path', target, { ...on, path });
    }
  }
}

/** The accounts listed on the node now: [full name, path below the domain directory]. */
async function liveAccounts(ctx: HostingContext, place: FtpPlace): Promise<Array<{ account: string; path: string }>> {
  const driver = await ctx.hestia(place.server);
  return (await driver.listFtpAccounts(place.user, place.domain)).map((a) => ({ account: a.user, path: a.path }));
}

async function existing(ctx: HostingContext, place: FtpPlace, account: string): Promise<{ account: string; path: string }> {
  const found = (await liveAccounts(ctx, place)).find((a) => a.account === account);
  if (!found) throw new InputError('account', `"${printable(account)}" is not one of your FTP accounts`, 404);
  return found;
}

const shownPath = (domain: string, path: string) => `${domain}/${path}`;

export const ftpTab: HostingTab = {
  key: 'ftp',
  title: 'FTP',
  role: 'web',
  async load(ctx) {
    const place = ftpPlace(ctx.svc);
    const limit = ftpLimit(ctx.svc);
    const base = {
      domain: place.domain, prefix: `${place.user}_`, nameRoom: FTP_FULL_NAME_MAX - place.user.length - 1,
      unlimited: limit === 'unlimited', limit: limit === 'unlimited' ? null : limit, passwordMin: PASSWORD_MIN, passwordMax: PASSWORD_MAX,
    };
    let accounts: Array<{ account: string; path: string }>;
    try {
      accounts = await liveAccounts(ctx, place);
    } catch {
      // The page still renders; the customer is told the list cannot be read now.
      return { ...base, readError: true, accounts: [], count: 0, full: true, refusal: null };
    }
    const refusal = ftpLimitRefusal(limit, accounts.length);
    return {
      ...base, readError: false, count: accounts.length, full: refusal !== null, refusal,
      accounts: accounts.map((a) => ({ account: a.account, path: a.path, shown: shownPath(place.domain, a.path) })),
    };
  },
};

const action = (prepare: HostingAction['prepare']): HostingAction => ({ tab: 'ftp', role: 'web', prepare });

export const ftpActions: Record<string, HostingAction> = {
  'ftp-create': action(async (ctx, fields): Promise<PreparedAction> => {
    const place = ftpPlace(ctx.svc);
    const name = checkFtpName(place, fields.name);
    const password = checkFtpPassword(fields.password);
    const path = checkFtpPath(fields.path, true);
    const account = `${place.user}_${name}`;
    const live = await liveAccounts(ctx, place);
    if (live.some((a) => a.account === account)) throw new InputError('name', `you have an FTP account ${account} already; choose another name`, 409);
    const refusal = ftpLimitRefusal(ftpLimit(ctx.svc), live.length);
    if (refusal) throw new InputError('', refusal, 409);
    return {
      operation: 'ftp-create', steps: [planFtpStep('ftp-create', place, account, path || undefined)],
      secrets: [{ name: SECRET, value: password }],
      message: `Creating FTP account ${account} for ${shownPath(place.domain, path)}`,
    };
  }),

  'ftp-delete': action(async (ctx, fields) => {
    const place = ftpPlace(ctx.svc);
    const account = checkAccount(place, fields.account);
    await existing(ctx, place, account);
    return { operation: 'ftp-delete', steps: [planFtpStep('ftp-delete', place, account)], message: `Deleting FTP account ${account}` };
  }),

  'ftp-password': action(async (ctx, fields) => {
    const place = ftpPlace(ctx.svc);
    const account = checkAccount(place, fields.account);
    const password = checkFtpPassword(fields.password);
    await existing(ctx, place, account);
    return {
      operation: 'ftp-password', steps: [planFtpStep('ftp-password', place, account)],
      secrets: [{ name: SECRET, value: password }], message: `Changing the password of FTP account ${account}`,
    };
  }),

  'ftp-path': action(async (ctx, fields) => {
    const place = ftpPlace(ctx.svc);
    const account = checkAccount(place, fields.account);
    // HestiaCP's path change takes a folder: the domain directory itself is set only at creation.
    const path = checkFtpPath(fields.path, false);
    const now = await existing(ctx, place, account);
    if (now.path === path) throw new InputError('path', `${shownPath(place.domain, path)} is already the folder of ${account}`, 409);
    return { operation: 'ftp-path', steps: [planFtpStep('ftp-path', place, account, path)], message: `Changing the folder of FTP account ${account} to ${shownPath(place.domain, path)}` };
  }),
};
