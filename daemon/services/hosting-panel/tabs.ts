// The hosting panel's tabs, in the order the customer sees them, and every action of them by name.
// A new tab is a module of this folder exporting its tab and actions, listed here.
import type { HostingAction, HostingTab } from './types.ts';
import { overviewActions, overviewTab } from './overview.ts';
import { mailboxesActions, mailboxesTab } from './mailboxes.ts';
import { databasesActions, databasesTab } from './databases.ts';
import { ftpActions, ftpTab } from './ftp.ts';
import { cronActions, cronTab } from './cron.ts';
import { dnsActions, dnsTab } from './dns.ts';
import { webActions, webTab } from './web.ts';
import { backupsActions, backupsTab } from './backups.ts';

interface TabModule { tab: HostingTab; actions: Record<string, HostingAction> }

const MODULES: TabModule[] = [
  { tab: overviewTab, actions: overviewActions },
  { tab: mailboxesTab, actions: mailboxesActions },
  { tab: databasesTab, actions: databasesActions },
  { tab: ftpTab, actions: ftpActions },
  { tab: cronTab, actions: cronActions },
  { tab: dnsTab, actions: dnsActions },
  { tab: webTab, actions: webActions },
  { tab: backupsTab, actions: backupsActions },
];

/** The tabs in order (the Overview first; it has no role and is always shown). */
export const HOSTING_TABS: readonly HostingTab[] = MODULES.map((m) => m.tab);

/** Every action by its name (e.g. `mailbox-create`); a name is one action of one tab. */
export const HOSTING_ACTIONS: Readonly<Record<string, HostingAction>> = Object.fromEntries(MODULES.flatMap((m) => Object.entries(m.actions)));
