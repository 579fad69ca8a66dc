// What a step is: every task type the planner emits, the arguments each carries and the label the
// customer and the admin read for it, declared once here. The TypeScript types of the arguments
// are derived from the same declaration the runtime check reads, so the planner, the handlers and
// the check cannot disagree about a field's name.

/** One argument field: its kind, whether it may be null, whether it may be left out. */
interface Field {
  kind: 'id' | 'text' | 'flag' | 'enum';
  values?: readonly string[];
  nullable?: true;
  optional?: true;
}
type Shape = Readonly<Record<string, Field>>;

const id = { kind: 'id' } as const;
const text = { kind: 'text' } as const;
const textOrNull = { kind: 'text', nullable: true } as const;
const flag = { kind: 'flag' } as const;
const oneOf = <const V extends readonly string[]>(...values: V) => ({ kind: 'enum', values }) as const;
const optional = <F extends Field>(f: F) => ({ ...f, optional: true }) as const;

const accountRole = oneOf('web', 'mail', 'all');
const state = oneOf('suspend', 'unsuspend');
const mailbox = { server: id, user: text, domain: text, account: text } as const;
/** A step on a VM: the cluster and the node the plan put it on. */
const vmNode = { cluster: id, node: text } as const;
/** A vanity record: `user` is the provider's Hestia DNS user (null on PowerDNS). */
const record = { server: id, user: textOrNull, zone: text, record: text } as const;

/**
 * Every step type: its label, and its arguments (a list of shapes when a type takes one of
 * several, told apart by an enum field). Arguments carry names and ids only, never a secret.
 */
export const STEPS = {
  'account.package': { label: 'Configuring hosting plan', args: { role: accountRole, server: id, user: text, package: text, apply: optional(flag) } },
  'account.user': { label: 'Setting up account', args: { server: id, user: text, package: text } },
  'account.suspend': { label: 'Suspending account', args: { server: id, user: text } },
  'account.unsuspend': { label: 'Unsuspending account', args: { server: id, user: text } },
  'account.delete': { label: 'Removing account', args: { role: oneOf('web', 'mail', 'all', 'dns'), server: id, user: text } },
  'account.password': {
    label: 'Changing password',
    args: [{ role: accountRole, server: id, user: text }, { role: oneOf('mailbox'), ...mailbox }],
  },
  'web.domain': { label: 'Configuring web hosting', args: { server: id, user: text, domain: text } },
  'mail.domain': { label: 'Adding mail domain with DKIM', args: { server: id, user: text, domain: text } },
  // Automatic SSL for one role: `domain` is the HestiaCP domain (a mail certificate is mail.<domain>'s); absent role: web (older tasks).
  'ssl.seed': { label: 'Setting up automatic SSL', args: { server: id, user: text, domain: text, role: optional(oneOf('web', 'mail')) } },
  // Not planned per service: the ssl-check job's request of a role's certificate; `names` comma-separated, the first the row's key.
  'ssl.issue': { label: 'Requesting a Let\'s Encrypt certificate', args: { server: id, user: text, domain: text, role: oneOf('web', 'mail'), names: text } },
  // A hosting plan profile's web, backend (PHP) and proxy templates on the service's web domain.
  'web.templates': { label: 'Applying PHP and proxy templates', args: { server: id, user: text, domain: text } },
  // A customer's own certificate (services/ssl-custom.ts): `domain` is the web or mail domain HestiaCP
  // knows; the certificate and its sealed key are read from mod_hostbridge_ssl_custom when the step runs.
  'ssl.install-custom': { label: 'Installing your SSL certificate', args: { server: id, user: text, domain: text, role: oneOf('web', 'mail') } },
  'ssl.remove-custom': { label: 'Removing your SSL certificate', args: { server: id, user: text, domain: text, role: oneOf('web', 'mail') } },
  // The hosting panel's mailboxes (services/hosting-panel/mailboxes.ts): `secret` names the sealed
  // password the handler takes (hosting-panel/secrets.ts); `quota` in MB or "unlimited".
  'panel.mailbox-create': { label: 'Creating mailbox', args: { ...mailbox, quota: text, secret: text } },
  'panel.mailbox-delete': { label: 'Deleting mailbox', args: mailbox },
  'panel.mailbox-password': { label: 'Changing mailbox password', args: { ...mailbox, secret: text } },
  'panel.mailbox-quota': { label: 'Changing mailbox quota', args: { ...mailbox, quota: text } },
  // The hosting panel's Databases tab (services/hosting-panel/databases.ts). db.create takes `database` and
  // `dbUser` without HestiaCP's `<user>_` prefix (as v-add-database does); the others the full listed name.
  // `secret` names the sealed password the step takes when it runs (services/hosting-panel/secrets.ts).
  'db.create': { label: 'Creating database', args: { server: id, user: text, database: text, dbUser: text, type: oneOf('mysql', 'pgsql'), charset: text, secret: text } },
  'db.delete': { label: 'Deleting database', args: { server: id, user: text, database: text } },
  'db.password': { label: 'Changing database password', args: { server: id, user: text, database: text, secret: text } },
  // The customer's hosting panel, FTP tab (services/hosting-panel/ftp.ts): one extra FTP account of the
  // service's web domain. `account` is the full `<user>_<name>`; `path` is below the domain directory
  // (absent: the directory itself); `secret` names the sealed password (hosting-panel/secrets.ts).
  'ftp.create': { label: 'Creating FTP account', args: { server: id, user: text, domain: text, account: text, path: optional(text), secret: text } },
  'ftp.delete': { label: 'Deleting FTP account', args: { server: id, user: text, domain: text, account: text } },
  'ftp.password': { label: 'Changing FTP password', args: { server: id, user: text, domain: text, account: text, secret: text } },
  'ftp.path': { label: 'Changing FTP folder', args: { server: id, user: text, domain: text, account: text, path: text } },
  // The hosting panel's Cron jobs tab (services/hosting-panel/cron.ts): one job of the web user by its
  // HestiaCP id (a new job's id is chosen when planned); the command is the chain's sealed secret `command`.
  'cron.add': { label: 'Adding cron job', args: { server: id, user: text, job: id, min: text, hour: text, day: text, month: text, wday: text, secret: oneOf('command') } },
  'cron.change': { label: 'Changing cron job', args: { server: id, user: text, job: id, min: text, hour: text, day: text, month: text, wday: text, secret: oneOf('command') } },
  'cron.delete': { label: 'Deleting cron job', args: { server: id, user: text, job: id } },
  'cron.suspend': { label: 'Suspending cron job', args: { server: id, user: text, job: id } },
  'cron.unsuspend': { label: 'Resuming cron job', args: { server: id, user: text, job: id } },
  // The hosting panel's DNS tab (services/hosting-panel/dns.ts): one change to the customer's own records
  // (`record`: the stored row's id, absent for an add; `priority`/`ttl` as text, absent for none: 0 is a
  // valid MX priority, which `id` refuses), carried in the args. dns.record-publish converges
  // one DNS server's zone on the managed records + the stored ones with the change applied; once every
  // server holds it, dns.record-save writes it to mod_hostbridge_zone_records (a failed publish saves nothing).
  'dns.record-publish': { label: 'Publishing DNS record', args: { server: id, user: textOrNull, domain: text, change: oneOf('add', 'edit', 'delete'), record: optional(id), name: text, type: oneOf('A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'CAA'), value: text, priority: optional(text), ttl: optional(text) } },
  'dns.record-save': { label: 'Saving DNS record', args: { domain: text, change: oneOf('add', 'edit', 'delete'), record: optional(id), name: text, type: oneOf('A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'CAA'), value: text, priority: optional(text), ttl: optional(text) } },
  // The hosting panel's Web settings tab (services/hosting-panel/web.ts): one template or one alias of the
  // service's web domain. `alias` is the full host name (under the domain); the alias steps also keep the
  // automatic SSL row's names in step (ssl/state.ts).
  'web.backend-tpl': { label: 'Changing PHP version', args: { server: id, user: text, domain: text, template: text } },
  'web.proxy-tpl': { label: 'Changing proxy template', args: { server: id, user: text, domain: text, template: text } },
  'web.alias-add': { label: 'Adding web alias', args: { server: id, user: text, domain: text, alias: text } },
  'web.alias-delete': { label: 'Removing web alias', args: { server: id, user: text, domain: text, alias: text } },
  // The hosting panel's Backups tab (services/hosting-panel/backups.ts): one account's backup made now
  // (`max`: the plan's quota, never rotated past; `known`: the archives listed when asked, comma-separated, absent: none),
  // deleted, or restored whole (`part` all) or in part, optionally one `item` (a domain or full database name).
  'backup.create': { label: 'Making a backup', args: { server: id, user: text, max: text, known: optional(text) } },
  'backup.delete': { label: 'Deleting a backup', args: { server: id, user: text, archive: text } },
  'backup.restore': { label: 'Restoring from a backup', args: { server: id, user: text, archive: text, part: oneOf('all', 'web', 'mail', 'db'), item: optional(text) } },
  // `user` holds the zone on a Hestia DNS node (a PowerDNS zone does not read it).
  'dns.zone': { label: 'Publishing DNS zone', args: { server: id, user: textOrNull, domain: text } },
  // `account` is the holding's account: the Hestia user of the zone, none on PowerDNS.
  'dns.zone-delete': { label: 'Removing DNS zone', args: { server: id, account: textOrNull, domain: text } },
  'vanity.mailbox': { label: 'Creating mailbox', args: mailbox },
  'vanity.mailbox-state': { label: 'Updating mailbox', args: { ...mailbox, state } },
  'vanity.mailbox-delete': { label: 'Removing mailbox', args: mailbox },
  'vanity.record': { label: 'Publishing DNS record', args: record },
  'vanity.record-state': { label: 'Updating DNS record', args: { ...record, state } },
  'vanity.record-delete': { label: 'Removing DNS record', args: record },
  'usage.sync': { label: 'Collecting usage', args: { server: id } },
  'service.close': { label: 'Closing the service', args: { force: flag } },
  // A password changed while the service is suspended (HestiaCP refuses it then): kept, set on unsuspend.
  'service.password-pending': { label: 'New password saved: it is set when the service is unsuspended', args: {} },
  'service.password-applied': { label: 'New password set on every account', args: {} },
  // A package change that switched roles: once every added role is deployed and every removed one deleted,
  // the service's holdings are rewritten from its plan and the automatic SSL rows of removed roles dropped.
  'service.roles-applied': { label: 'Recording the service\'s roles', args: {} },
  // Not planned per service: a server group's managed hestia.conf keys pushed to one of its servers (hestia-config-plan.ts).
  'hestia.config': { label: 'Applying Hestia config', args: { server: id, group: id, role: oneOf('all', 'web', 'mail', 'dns') } },
  // The service's zone on one DNS server served or not (suspend/unsuspend); `user` as for dns.zone.
  'dns.zone-state': { label: 'Updating DNS zone', args: { server: id, user: textOrNull, domain: text, state } },
  // A force terminate's removal of one holding: the terminate's step `remove` (its name), run once;
  // what it cannot remove (a node down) is reported as left instead of failing the chain.
  'service.force-remove': { label: 'Removing what can be removed', args: { role: oneOf('web', 'mail', 'all', 'dns', 'mailbox', 'record'), remove: text, server: id } },
  // A KVM service's VM on a Proxmox cluster (seed 003): each step on the node it acts on. `node` is
  // the node the plan put the step on (its slot); the handler finds the VM where it really is.
  'kvm.ip': { label: 'Allocating IP addresses', args: { cluster: id } },
  'kvm.clone': { label: 'Cloning the template', args: vmNode },
  'kvm.dns': { label: 'Publishing DNS records', args: { server: id } },
  'kvm.migrate': { label: 'Moving the VM to its node', args: vmNode },
  'kvm.cpu-ram': { label: 'Setting CPU and RAM', args: vmNode },
  'kvm.disk-size': { label: 'Resizing the system disk', args: vmNode },
  'kvm.disk-io': { label: 'Setting the system disk\'s I/O limits', args: vmNode },
  'kvm.extra-disk': { label: 'Creating the additional disk', args: vmNode },
  'kvm.extra-disk-size': { label: 'Resizing the additional disk', args: vmNode },
  'kvm.extra-disk-io': { label: 'Setting the additional disk\'s I/O limits', args: vmNode },
  'kvm.network': { label: 'Configuring the network', args: vmNode },
  'kvm.firewall': { label: 'Configuring the firewall', args: vmNode },
  'kvm.cloudinit': { label: 'Configuring cloud-init', args: vmNode },
  'kvm.start': { label: 'Starting the VM', args: vmNode },
  'kvm.verify': { label: 'Checking that the VM runs', args: vmNode },
  'kvm.stop': { label: 'Stopping the VM', args: { ...vmNode, force: flag } },
  'kvm.password': { label: 'Setting the password (cloud-init)', args: vmNode },
  'kvm.backups-delete': { label: 'Removing the VM\'s backups', args: vmNode },
  'kvm.dns-delete': { label: 'Removing DNS records', args: { server: id } },
  'kvm.destroy': { label: 'Removing the VM', args: vmNode },
  // force: a force terminate (the admin says the VM is gone): no check on the cluster.
  'kvm.release': { label: 'Releasing IP addresses', args: { cluster: id, force: flag } },
  // dedicatedip/assignedips of the WHMCS service: written after the allocation, cleared after the release.
  'kvm.whmcs-ips': { label: 'Recording the addresses in WHMCS', args: { clear: flag } },
  // The customer's VM panel (issue 16): power, snapshots and backups, one step each on the VM's node.
  'kvm.power-off': { label: 'Powering the VM off', args: vmNode },
  'kvm.shutdown': { label: 'Shutting the VM down', args: vmNode },
  // `name`: a snapshot name (pipelines/vm-panel-plan.ts checkSnapshotName); `description` only when given.
  'kvm.snapshot': { label: 'Taking a snapshot', args: { ...vmNode, name: text, description: optional(text) } },
  'kvm.snapshot-rollback': { label: 'Rolling back to the snapshot', args: { ...vmNode, name: text } },
  'kvm.snapshot-delete': { label: 'Deleting the snapshot', args: { ...vmNode, name: text } },
  // One of the VM's own backup archives (its volid names the VMID).
  'kvm.backup-delete': { label: 'Deleting the backup', args: { ...vmNode, volid: text } },
  // The customer's panel (issue 16): the VM's CD-ROM and firewall rules made equal to what the daemon keeps for it.
  'kvm.iso': { label: 'Changing the VM\'s CD-ROM', args: vmNode },
  'kvm.firewall-rules': { label: 'Applying the VM\'s firewall rules', args: vmNode },
  // A package change that switches web or mail off on a Unified service, whose one Hestia user holds both:
  // the role's domain is removed from that user (web: with the user's databases and cron jobs), the user kept.
  'web.domain-delete': { label: 'Removing the website with its databases and cron jobs', args: { server: id, user: text, domain: text } },
  'mail.domain-delete': { label: 'Removing the mail domain with its mailboxes', args: { server: id, user: text, domain: text } },
  // A web alias's A record (the web server's address) in the service's zone, on one DNS server (converged
  // on the managed records with the alias added or removed), then saved once every DNS server holds it.
  'web.alias-dns': { label: 'Publishing the alias in DNS', args: { server: id, user: textOrNull, domain: text, alias: text, change: oneOf('add', 'delete') } },
  'web.alias-dns-save': { label: 'Saving the alias\'s DNS record', args: { domain: text, alias: text, change: oneOf('add', 'delete') } },
  // Not planned per service: the scheduler's health check of one server.
  'server.check': { label: 'Checking the server', args: { server: id } },
} as const satisfies Record<string, { label: string; args: Shape | readonly Shape[] }>;

export type StepType = keyof typeof STEPS;

type ValueOf<F> = F extends { kind: 'id' } ? number
  : F extends { kind: 'flag' } ? boolean
  : F extends { kind: 'enum'; values: readonly (infer V)[] } ? V
  : F extends { nullable: true } ? string | null
  : string;
type Flat<T> = { [K in keyof T]: T[K] };
type ArgsOf<S> = Flat<
  { -readonly [K in keyof S as S[K] extends { optional: true } ? never : K]: ValueOf<S[K]> }
  & { -readonly [K in keyof S as S[K] extends { optional: true } ? K : never]?: ValueOf<S[K]> }
>;
type ArgsOfDecl<A> = A extends readonly (infer S)[] ? (S extends Shape ? ArgsOf<S> : never) : ArgsOf<A>;

/** The arguments of each step type, as the planner writes them and the handlers read them. */
export type StepArgs = { [K in StepType]: ArgsOfDecl<(typeof STEPS)[K]['args']> };

/** A planned step: one idempotent task on one target, with the arguments of its type. */
export interface PlannedStep<K extends StepType = StepType> {
  step: string;
  type: K;
  target: string | null;
  args: StepArgs[K];
  /** The earlier steps of the chain (by position) it waits for; set by the planner's withDependencies. */
  dependsOn?: number[];
}

/** The only way the planner makes a step: the type decides which arguments it may carry. */
export function plannedStep<K extends StepType>(type: K, step: string, target: string | null, args: StepArgs[K]): PlannedStep<K> {
  return { step, type, target, args };
}

export function isStepType(type: string): type is StepType {
  return Object.hasOwn(STEPS, type);
}

function fieldProblem(name: string, f: Field, v: unknown): string | null {
  if (v === undefined) return f.optional ? null : `lacks "${name}"`;
  if (v === null) return f.nullable ? null : `has "${name}" null`;
  switch (f.kind) {
    case 'id': return Number.isInteger(v) && (v as number) > 0 ? null : `has "${name}" that is not a positive whole number`;
    case 'text': return typeof v === 'string' && v !== '' ? null : `has "${name}" that is not a non-empty string`;
    case 'flag': return typeof v === 'boolean' ? null : `has "${name}" that is not true or false`;
    case 'enum': return f.values!.includes(v as string) ? null : `has "${name}" that is not one of ${f.values!.join(', ')}`;
  }
}

function shapeProblem(shape: Shape, args: Record<string, unknown>, strict: boolean): string | null {
  for (const [name, f] of Object.entries(shape)) {
    const p = fieldProblem(name, f, args[name]);
    if (p) return p;
  }
  if (strict) {
    const extra = Object.keys(args).filter((k) => !Object.hasOwn(shape, k));
    if (extra.length) return `carries ${extra.map((k) => `"${k}"`).join(', ')}, which its type does not declare`;
  }
  return null;
}

/**
 * Why a step's arguments do not match its type's declaration, or null when they do. `strict`
 * also refuses fields the type does not declare (the planner's own check); a handler reading an
 * older task lets them pass, since extra fields are simply not read.
 */
export function stepArgsProblem(type: string, args: unknown, strict = false): string | null {
  if (!isStepType(type)) return `"${type}" is not a planned step type`;
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return 'has no argument object';
  const decl: Shape | readonly Shape[] = STEPS[type].args;
  const shapes: readonly Shape[] = Array.isArray(decl) ? decl : [decl as Shape];
  const problems = shapes.map((s) => shapeProblem(s, args as Record<string, unknown>, strict));
  if (problems.includes(null)) return null;
  // Of several shapes, report against the one whose enum fields the arguments match.
  const fits = shapes.findIndex((s) => Object.entries(s).every(([n, f]) => f.kind !== 'enum' || f.values!.includes((args as Record<string, unknown>)[n] as string)));
  return problems[fits >= 0 ? fits : 0]!;
}

/** What the customer and the admin read for a step, on the server it ran on. */
export function stepLabel(type: string, serverName?: string | null): string {
  const label = isStepType(type) ? STEPS[type].label : type;
  return serverName ? `${label} on ${serverName}` : label;
}
