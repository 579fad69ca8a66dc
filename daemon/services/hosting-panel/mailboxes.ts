// The hosting panel's Mailboxes tab (role mail): the service domain's mailboxes read live from its
// mail node, and the actions create, delete, change password, change quota. The plan's mail
// accounts limit is counted live before a create; a mailbox's quota stays within the plan's mail
// disk. A vanity service has no such tab: its one mailbox is on the provider's domain and its
// password is the service's (dispatch.ts roleOn). Passwords are sealed secrets, never step args.
import { InputError } from '../../common/errors.ts';
import type { ServicePlan } from '../../pipelines/plan.ts';
import { plannedStep, type PlannedStep } from '../../pipelines/steps.ts';
import type { HostingAction, HostingContext, HostingTab } from './types.ts';

/** The node, Hestia user and domain the service's mail lives on (Unified: the one account). */
export function mailHome(plan: ServicePlan): { server: number; user: string; domain: string } | null {
  const server = plan.placement.unified ?? plan.placement.mail;
  const user = plan.placement.unified !== null ? plan.names.users.all : plan.names.users.mail;
  if (server === null || !user || plan.product.mode === 'vanity') return null;
  return { server, user, domain: plan.domain };
}

function homeOf(ctx: HostingContext): { server: number; user: string; domain: string } {
  const h = mailHome(ctx.svc.plan);
  if (!h) throw new InputError('', 'Mailboxes are not part of your plan.', 403);
  return h;
}

export interface MailboxRow { account: string; address: string; quota: string; quotaText: string; usedMb: number; suspended: boolean }

/** The domain's mailboxes now, by name. */
export async function liveMailboxes(ctx: HostingContext): Promise<MailboxRow[]> {
  const h = homeOf(ctx);
  const driver = await ctx.hestia(h.server);
  const list = await driver.listMailAccounts(h.user, h.domain);
  return Object.entries(list).map(([account, o]) => ({
    account, address: `${account}@${h.domain}`, quota: String(o.QUOTA ?? 'unlimited'),
    quotaText: o.QUOTA && o.QUOTA !== 'unlimited' ? `${o.QUOTA} MB` : 'unlimited', usedMb: Number(o.U_DISK) || 0, suspended: o.SUSPENDED === 'yes',
  })).sort((a, b) => a.account.localeCompare(b.account));
}

/** A mailbox name (the part before @): lower-case ASCII letters, digits and . _ -, a letter or digit at both ends. */
export function checkAccountName(field: string, raw: string | undefined): string {
  const v = (raw ?? '').trim();
  if (v === '') throw new InputError(field, 'is required: the mailbox name, the part before the @');
  if (v.length > 64) throw new InputError(field, 'must be at most 64 characters');
  const lower = v.toLowerCase();
  if (!/^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/.test(lower) || lower.includes('..')) {
    throw new InputError(field, 'may hold only the letters a–z, digits, ".", "_" and "-", with a letter or digit first and last (no @, spaces or other characters)');
  }
  return lower;
}

/** A mailbox password: 8–128 printable ASCII characters with a letter and a digit. Never echoed. */
export function checkMailPassword(field: string, raw: string | undefined): string {
  const v = raw ?? '';
  if (v.length < 8 || v.length > 128) throw new InputError(field, 'must be 8 to 128 characters long');
  if (!/^[\x20-\x7e]+$/.test(v)) throw new InputError(field, 'may hold only printable ASCII characters (no accents, emoji or control characters)');
  if (v !== v.trim()) throw new InputError(field, 'must not begin or end with a space');
  if (!/[A-Za-z]/.test(v) || !/[0-9]/.test(v)) throw new InputError(field, 'must hold at least one letter and one digit');
  return v;
}

/** A quota in MB within the plan's mail disk; empty: the plan's mail disk (or unlimited when it is). */
export function checkQuota(field: string, raw: string | undefined, plan: ServicePlan): string {
  const disk = plan.product.mail.diskMb;
  const v = (raw ?? '').trim().toLowerCase();
  if (v === '') return disk === 'unlimited' ? 'unlimited' : String(disk);
  if (v === 'unlimited') {
    if (disk !== 'unlimited') throw new InputError(field, `must be a number of MB up to your plan's mail disk (${disk} MB)`);
    return 'unlimited';
  }
  if (!/^[0-9]{1,9}$/.test(v) || Number(v) < 1) throw new InputError(field, 'must be a whole number of MB (1 or more), or empty for the most your plan allows');
  if (disk !== 'unlimited' && Number(v) > disk) throw new InputError(field, `must be at most ${disk} MB, your plan's mail disk`);
  return String(Number(v));
}

async function existing(ctx: HostingContext, fields: Readonly<Record<string, string>>): Promise<{ h: Home; box: MailboxRow }> {
  const account = checkAccountName('name', fields.name);
  const h = homeOf(ctx);
  const box = (await live(() => liveMailboxes(ctx))).find((b) => b.account === account);
  if (!box) throw new InputError('name', `there is no mailbox ${account}@${h.domain}`, 404);
  return { h, box };
}

/** A read of the mail node inside an action: an unreachable node is "try again later", not a crash. */
async function live<R>(fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError('', 'Your mail server did not answer; please try again in a few minutes.', 503);
  }
}

type Home = { server: number; user: string; domain: string };
const target = (server: number) => `server:${server}`;
const box = (h: Home, account: string) => ({ server: h.server, user: h.user, domain: h.domain, account });

/** One mailbox step (pure planning): the password is named as the sealed secret `password`, never carried. */
export function planMailboxStep(kind: 'create' | 'delete' | 'password' | 'quota', h: Home, account: string, quota = 'unlimited'): PlannedStep[] {
  switch (kind) {
    case 'create': return [plannedStep('panel.mailbox-create', 'mailbox.create', target(h.server), { ...box(h, account), quota, secret: 'password' })];
    case 'delete': return [plannedStep('panel.mailbox-delete', 'mailbox.delete', target(h.server), box(h, account))];
    case 'password': return [plannedStep('panel.mailbox-password', 'mailbox.password', target(h.server), { ...box(h, account), secret: 'password' })];
    case 'quota': return [plannedStep('panel.mailbox-quota', 'mailbox.quota', target(h.server), { ...box(h, account), quota })];
  }
}

export const mailboxesTab: HostingTab = {
  key: 'mailboxes', title: 'Mailboxes', role: 'mail',
  async load(ctx) {
    const h = homeOf(ctx);
    const limit = ctx.svc.plan.product.mail.accounts;
    const disk = ctx.svc.plan.product.mail.diskMb;
    try {
      const boxes = await liveMailboxes(ctx);
      return {
        domain: h.domain, mailboxes: boxes, count: boxes.length, allowed: limit === 'unlimited' ? null : limit,
        full: limit !== 'unlimited' && boxes.length >= limit, diskMb: disk === 'unlimited' ? null : disk, readError: false,
      };
    } catch {
      return { domain: h.domain, mailboxes: [], count: 0, allowed: limit === 'unlimited' ? null : limit, full: false, diskMb: disk === 'unlimited' ? null : disk, readError: true };
    }
  },
};

const create: HostingAction = {
  tab: 'mailboxes', role: 'mail',
  async prepare(ctx, fields) {
    const account = checkAccountName('name', fields.name);
    const password = checkMailPassword('password', fields.password);
    const quota = checkQuota('quota', fields.quota, ctx.svc.plan);
    const h = homeOf(ctx);
    const boxes = await live(() => liveMailboxes(ctx));
    if (boxes.some((b) => b.account === account)) throw new InputError('name', `${account}@${h.domain} exists already; choose another name`, 409);
    const limit = ctx.svc.plan.product.mail.accounts;
    if (limit !== 'unlimited' && boxes.length >= limit) {
      throw new InputError('', `Your plan includes ${limit} mailbox${limit === 1 ? '' : 'es'} and all ${limit} ${limit === 1 ? 'is' : 'are'} in use.`, 409);
    }
    return {
      operation: 'mailbox-create',
      steps: planMailboxStep('create', h, account, quota),
      secrets: [{ name: 'password', value: password }],
      message: `Mailbox ${account}@${h.domain} is being created.`,
    };
  },
};

const remove: HostingAction = {
  tab: 'mailboxes', role: 'mail',
  async prepare(ctx, fields) {
    const { h, box: b } = await existing(ctx, fields);
    return {
      operation: 'mailbox-delete',
      steps: planMailboxStep('delete', h, b.account),
      message: `Mailbox ${b.address} is being deleted, with all its mail.`,
    };
  },
};

const password: HostingAction = {
  tab: 'mailboxes', role: 'mail',
  async prepare(ctx, fields) {
    const value = checkMailPassword('password', fields.password);
    const { h, box: b } = await existing(ctx, fields);
    return {
      operation: 'mailbox-password',
      steps: planMailboxStep('password', h, b.account),
      secrets: [{ name: 'password', value }],
      message: `The password of ${b.address} is being changed.`,
    };
  },
};

const quota: HostingAction = {
  tab: 'mailboxes', role: 'mail',
  async prepare(ctx, fields) {
    const q = checkQuota('quota', fields.quota, ctx.svc.plan);
    const { h, box: b } = await existing(ctx, fields);
    if (b.quota === q) throw new InputError('quota', `${b.address} has this quota already`, 409);
    return {
      operation: 'mailbox-quota',
      steps: planMailboxStep('quota', h, b.account, q),
      message: `The quota of ${b.address} is being set to ${q === 'unlimited' ? 'unlimited' : `${q} MB`}.`,
    };
  },
};

export const mailboxesActions: Record<string, HostingAction> = {
  'mailbox-create': create,
  'mailbox-delete': remove,
  'mailbox-password': password,
  'mailbox-quota': quota,
};
