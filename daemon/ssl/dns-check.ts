// The DNS half of automatic SSL: before a certificate is requested, every name it must cover has
// to resolve, through the public DNS path, to the server that holds the role — otherwise Let's
// Encrypt's validation fails and counts against its rate limits. Asks the resolvers directly
// (c-ares, never the OS cache), each name bounded in time, and says in one line what is wrong.
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { InputError } from '../common/errors.ts';
import { canonicalIp, parseResolverSetting } from '../common/resolver-setting.ts';
import { probeNames } from './probe-names.ts';

export interface NameCheck { name: string; addresses: string[]; error: string | null }
export { parseResolverSetting };

export interface DnsCheck { ok: boolean; names: NameCheck[]; /** one line an admin reads, null when ok */ reason: string | null }

/**
 * Checks that every name resolves to `ip` (A records, or AAAA when `ip` is IPv6; CNAME chains as
 * the resolver follows them). Each name is bounded by `timeoutMs` whatever the number of servers.
 */
export async function checkNamesResolveTo(names: string[], ip: string, o: { servers: string[]; timeoutMs: number }): Promise<DnsCheck> {
  const family = isIP(String(ip ?? ''));
  if (family === 0) throw new InputError('ip', `"${String(ip).slice(0, 80)}" is not an IP address`);
  if (!(Number.isFinite(o.timeoutMs) && o.timeoutMs > 0)) throw new InputError('timeoutMs', 'must be a positive number of milliseconds');
  const list = probeNames(names);
  const servers = parseResolverSetting((o.servers ?? []).join(' '));
  const target = canonicalIp(ip);
  const checks = await Promise.all(list.map((name) => checkName(name, target, family === 6 ? 6 : 4, { servers, timeoutMs: o.timeoutMs })));
  const failed = checks.filter((c) => c.error !== null);
  return { ok: failed.length === 0, names: checks, reason: failed.length ? failed.map((c) => c.error).join('; ') : null };
}

const TIMED_OUT = Symbol('timed out');

async function checkName(name: string, ip: string, family: 4 | 6, o: { servers: string[]; timeoutMs: number }): Promise<NameCheck> {
  const servers = o.servers.length ? o.servers : new Resolver().getServers();
  // One resolver per name, so cancelling a late lookup cancels only this one.
  // Share the time among the servers, so a dead first resolver leaves time for the next.
  const resolver = new Resolver({ timeout: Math.max(50, Math.floor(o.timeoutMs / Math.max(1, servers.length))), tries: 1 });
  resolver.setServers(servers);
  const via = o.servers.length ? `the resolver${servers.length > 1 ? 's' : ''} ${servers.join(', ')}` : `the system's resolvers (${servers.join(', ') || 'none configured'})`;
  const rr = family === 6 ? 'AAAA' : 'A';
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => { timer = setTimeout(() => resolve(TIMED_OUT), o.timeoutMs); });
  try {
    const lookup = family === 6 ? resolver.resolve6(name) : resolver.resolve4(name);
    const answer = await Promise.race([lookup, deadline]);
    if (answer === TIMED_OUT) {
      lookup.catch(() => undefined);
      return { name, addresses: [], error: `no answer for ${name} from ${via} within ${o.timeoutMs} ms` };
    }
    // c-ares answers [] when the chain ends in a CNAME without the record (NOERROR, no data).
    if (answer.length === 0) return { name, addresses: [], error: await noRecord(resolver, name, rr, deadline) };
    const addresses = answer.map(canonicalIp);
    if (addresses.includes(ip)) return { name, addresses, error: null };
    return { name, addresses, error: `${name} resolves to ${addresses.join(', ')}, not ${ip}` };
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'an unknown error';
    if (code === 'ENODATA') return { name, addresses: [], error: await noRecord(resolver, name, rr, deadline) };
    return { name, addresses: [], error: lookupError(code, name, via, o.timeoutMs) };
  } finally {
    clearTimeout(timer);
    resolver.cancel();
  }
}

/** "has no A record", naming the alias target when the name is a CNAME whose chain ends without one. */
async function noRecord(resolver: Resolver, name: string, rr: string, deadline: Promise<typeof TIMED_OUT>): Promise<string> {
  const cname = resolver.resolveCname(name);
  cname.catch(() => undefined);
  const target = await Promise.race([cname.then((t) => t[0] ?? null, () => null), deadline.then(() => null)]);
  return target ? `${name} is an alias (CNAME) of ${target}, which has no ${rr} record` : `${name} has no ${rr} record`;
}

function lookupError(code: string, name: string, via: string, timeoutMs: number): string {
  switch (code) {
    case 'ENOTFOUND': return `${name} does not exist in DNS (NXDOMAIN)`;
    case 'ETIMEOUT': return `no answer for ${name} from ${via} within ${timeoutMs} ms`;
    case 'ECONNREFUSED': return `${via} refused the connection while looking up ${name} (nothing listens there)`;
    case 'ESERVFAIL': return `${via} could not look up ${name} (SERVFAIL)`;
    case 'EREFUSED': return `${via} refused to look up ${name} (REFUSED)`;
    case 'ECANCELLED': return `the lookup of ${name} was cancelled`;
    default: return `looking up ${name} through ${via} failed (${code})`;
  }
}
