// The customer's hosting panel inside WHMCS (issue 13): what a tab and an action are. Each tab
// (Mailboxes, Databases, FTP, Cron…) is a module of this folder that exports its tab and its
// actions; tabs.ts lists them. The dispatcher (dispatch.ts) runs every action the same way: the
// service is this customer's, active and not busy, the tab's role is on, then the action checks its
// own fields and the live state (the plan's limits) and plans its steps, queued as one chain.
import type { Knex } from 'knex';
import type { HestiaDriver } from '../../drivers/hestia/index.ts';
import type { PlannedStep } from '../../pipelines/steps.ts';
import type { ServicePlan } from '../../pipelines/plan.ts';
import type { ServiceRecord } from '../store.ts';

/** The role a tab belongs to: a role that is off shows no tab and takes no action. */
export type HostingRole = 'web' | 'mail' | 'dns';

/** Who asks: the WHMCS client (via whmcs), an admin on the pages (ui) or an API caller. */
export interface HostingActor { actor: string; via: 'whmcs' | 'ui' | 'api' }

/** What a tab's reads and an action's checks get. */
export interface HostingContext {
  db: Knex;
  svc: ServiceRecord & { plan: ServicePlan };
  /** The HestiaCP driver of one of the service's servers, for live reads (lists, counts). */
  hestia(serverId: number): Promise<HestiaDriver>;
  now: number;
}

export interface HostingTab {
  key: string;
  /** The tab's title, as the customer reads it. */
  title: string;
  /** null: shown whatever roles the product has (the Overview). */
  role: HostingRole | null;
  /** The tab's view model, read live from the role's server; rendered by the partial `hp-<key>`. */
  load(ctx: HostingContext): Promise<Record<string, unknown>>;
}

/** A secret the customer typed (a mailbox, database or FTP password): sealed until its step takes it. */
export interface HostingSecret { name: string; value: string }

export interface PreparedAction {
  /** The chain's operation (e.g. `mailbox-create`): one per service at a time. */
  operation: string;
  steps: PlannedStep[];
  /** Sealed with the master key and handed to the step that needs it (never in task args or logs). */
  secrets?: HostingSecret[];
  /** What the customer reads when it is queued ("Creating mailbox info@example.com"). */
  message: string;
  /** The service's state when the chain succeeds / fails (a retried deployment: active / failed); default: unchanged. */
  successState?: string | null;
  failureState?: string | null;
}

export interface HostingAction {
  tab: string;
  /** null: no role needed (the Overview's Sync now). */
  role: HostingRole | null;
  /** The service states it may run in; default: active only (a failed deployment's Try again: failed). */
  states?: readonly string[];
  /** Checks the fields (InputError naming the field) and the live state (limits), then plans. Changes nothing. */
  prepare(ctx: HostingContext, fields: Readonly<Record<string, string>>): Promise<PreparedAction>;
}
