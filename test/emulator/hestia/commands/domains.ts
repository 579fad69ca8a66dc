// is_domain_new and is_base_domain_owner from func/domain.sh: a name may be a web domain, web
// alias, DNS zone or mail domain of one user only; the same kind may exist only once per node.
import { isIPv4 } from 'node:net';
import { E, fail, HestiaExit } from '../errors.ts';
import type { Ctx } from './ctx.ts';

type Kind = 'web' | 'dns' | 'mail';

function owners(c: Ctx, kind: Kind, d: string): string[] {
  return c.allUsers().filter((u) => c.objects(u, kind).some((o) => o.get('DOMAIN') === d));
}
function aliasOwners(c: Ctx, d: string): string[] {
  return c.allUsers().filter((u) => c.objects(u, 'web').some((o) => (o.get('ALIAS') ?? '').split(',').includes(d)));
}

export function isDomainNew(c: Ctx, kind: Kind, user: string, names: string[]): void {
  for (const d of names) {
    if (c.conf('WEB_SYSTEM')) {
      const w = owners(c, 'web', d);
      if (w.length && (kind === 'web' || w.some((u) => u !== user))) fail(E.EXISTS, `Web domain ${d} exists`);
      const a = aliasOwners(c, d);
      if (a.length && (kind === 'web' || a.some((u) => u !== user))) fail(E.EXISTS, `Web alias ${d} exists`);
    }
    if (c.conf('DNS_SYSTEM')) {
      const z = owners(c, 'dns', d);
      if (z.length && (kind === 'dns' || z.some((u) => u !== user))) fail(E.EXISTS, `DNS domain ${d} exists`);
    }
    if (c.conf('MAIL_SYSTEM')) {
      const m = owners(c, 'mail', d);
      if (m.length && (kind === 'mail' || m.some((u) => u !== user))) fail(E.EXISTS, `Mail domain ${d} exists`);
    }
  }
}

/** With ENFORCE_SUBDOMAIN_OWNERSHIP=yes a subdomain of another user's domain is refused. */
export function isBaseDomainOwner(c: Ctx, user: string, names: string[]): void {
  if (c.conf('ENFORCE_SUBDOMAIN_OWNERSHIP') !== 'yes') return;
  for (const d of names) {
    const labels = d.split('.');
    for (let i = 1; i < labels.length - 1; i++) {
      const base = labels.slice(i).join('.');
      const other = (['web', 'dns', 'mail'] as const).some((k) => owners(c, k, base).some((u) => u !== user));
      if (other) throw new HestiaExit(E.EXISTS, `Error: Unable to add ${d}. ${base} belongs to a different user\n`);
    }
  }
}

/** Hestia refuses an IPv4 address given as a domain with exit 1 (a direct echo). */
export function notAnIp(d: string): void {
  // `[ -z "$(is_ip_format_valid $domain)" ]`: PHP's FILTER_VALIDATE_IP (IPv4); a reverse zone such as 2.0.192.in-addr.arpa passes.
  if (isIPv4(d)) throw new HestiaExit(E.ARGS, 'Error: Invalid domain format. IP address detected as input.\n', false);
}
