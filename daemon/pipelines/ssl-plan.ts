// The one-step chains of SSL, planned apart from the I/O that queues them: automatic SSL's request
// for a role's certificate, and the install or removal of a customer's own. Pure.
import { plannedStep, type PlannedStep } from './steps.ts';

export type SslRole = 'web' | 'mail';

interface OnServer { serverId: number; user: string; /** HestiaCP's domain (the web or mail domain, not mail.<d>) */ domain: string; role: SslRole }

/** Requests a Let's Encrypt certificate for a role's names (ssl.issue), on the role's server. */
export function sslIssueStep(a: OnServer & { names: readonly string[] }): PlannedStep<'ssl.issue'> {
  return plannedStep('ssl.issue', `ssl.issue.${a.role}`, `server:${a.serverId}`, { server: a.serverId, user: a.user, domain: a.domain, role: a.role, names: a.names.join(',') });
}

/** Installs (or removes) the customer's own certificate of a role, on the role's server. */
export function customCertStep(kind: 'install' | 'remove', a: OnServer): PlannedStep<'ssl.install-custom' | 'ssl.remove-custom'> {
  const type = kind === 'install' ? 'ssl.install-custom' : 'ssl.remove-custom';
  return plannedStep(type, `${type}.${a.role}`, `server:${a.serverId}`, { server: a.serverId, user: a.user, domain: a.domain, role: a.role });
}
