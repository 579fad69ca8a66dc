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

// A few two-label public suffixes of publicsuffix.org's list, which Hestia downloads to
// $HESTIA/data/extensions/public_suffix_list.dat (the emulator has no network).
const TWO_PART_SUFFIXES = new Set([
  'co.uk', 'org.uk', 'me.uk', 'ac.uk', 'gov.uk', 'ltd.uk', 'plc.uk', 'net.uk', 'com.au', 'net.au', 'org.au', 'edu.au',
  'co.nz', 'net.nz', 'org.nz', 'co.jp', 'ne.jp', 'or.jp', 'com.br', 'net.br', 'org.br', 'co.za', 'org.za', 'com.cn',
  'net.cn', 'org.cn', 'com.mx', 'co.in', 'net.in', 'org.in', 'com.tr', 'co.il', 'com.sg', 'com.hk', 'com.ar', 'co.kr', 'in-addr.arpa', 'ip6.arpa',
]);

/** get_base_domain: the last two labels, or three when the last two are a public suffix (co.uk). Only that one name is checked, never the other ancestors. */
export function baseDomain(d: string): string {
  const labels = d.split('.');
  const two = labels.slice(-2).join('.');
  return TWO_PART_SUFFIXES.has(two) && labels.length >= 3 ? labels.slice(-3).join('.') : two;
}

/**
 * is_base_domain_owner (v-add-web-domain, -web-domain-alias, -dns-domain, -mail-domain) with
 * ENFORCE_SUBDOMAIN_OWNERSHIP=yes, HestiaCP's default: each name's base domain must not be a web
 * domain (unless that one has ALLOW_USERS='yes'), DNS zone or mail domain of another user. The
 * check runs is_domain_new in a subshell, whose check_result logs `[Error 4]` to error.log before
 * the script echoes its own message and exits 4.
 */
export function isBaseDomainOwner(c: Ctx, user: string, names: string[]): void {
  if (c.conf('ENFORCE_SUBDOMAIN_OWNERSHIP') !== 'yes') return;
  for (const d of names) {
    if (d === 'none' || d === '') continue;
    const base = baseDomain(d);
    const web = c.allUsers().flatMap((u) => c.objects(u, 'web')).find((o) => o.get('DOMAIN') === base);
    if (web && web.get('ALLOW_USERS') === 'yes') continue;
    const systems: [Kind, string][] = [['web', 'WEB_SYSTEM'], ['dns', 'DNS_SYSTEM'], ['mail', 'MAIL_SYSTEM']];
    const other = systems.some(([k, sys]) => c.conf(sys) !== '' && owners(c, k, base).some((u) => u !== user));
    if (other) throw new HestiaExit(E.EXISTS, `Error: Unable to add ${d}. ${base} belongs to a different user\n`);
  }
}

/** Hestia refuses an IPv4 address given as a domain with exit 1 (a direct echo). */
export function notAnIp(d: string): void {
  // `[ -z "$(is_ip_format_valid $domain)" ]`: PHP's FILTER_VALIDATE_IP (IPv4); a reverse zone such as 2.0.192.in-addr.arpa passes.
  if (isIPv4(d)) throw new HestiaExit(E.ARGS, 'Error: Invalid domain format. IP address detected as input.\n', false);
}
