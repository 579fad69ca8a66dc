// The resolver setting of automatic SSL (`ssl.resolver`), read in one place: the settings check
// refuses what the DNS check could not use, and the DNS check reads the same list.
import { isIP } from 'node:net';
import { InputError } from './errors.ts';

/**
 * The resolver setting (`ssl.resolver`): entries separated by commas or spaces, each `host`,
 * `host:port`, `[v6]` or `[v6]:port` where host is an IP address (resolvers are reached by
 * address). Returns them in node's setServers form; '' gives [] = the system's resolvers.
 * Throws an InputError naming the bad entry.
 */
export function parseResolverSetting(raw: string): string[] {
  const entries = String(raw ?? '').split(/[\s,]+/).filter(Boolean);
  const out: string[] = [];
  for (const entry of entries) {
    const server = parseEntry(entry);
    if (!out.includes(server)) out.push(server);
  }
  if (out.length > 8) throw new InputError('', `lists ${out.length} resolvers; at most 8 are taken`);
  return out;
}

function parseEntry(entry: string): string {
  const shown = JSON.stringify(entry.slice(0, 80));
  const form = 'write each as an address: host, host:port or [IPv6]:port, e.g. 127.0.0.1:5300';
  let host: string;
  let port: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::([^:]*))?$/.exec(entry);
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2];
    if (isIP(host) !== 6) throw new InputError('', `resolver ${shown} is not an IPv6 address in brackets; ${form}`);
  } else if (isIP(entry) === 6) {
    host = entry;
  } else {
    const m = /^([^:]*)(?::([^:]*))?$/.exec(entry);
    if (!m) throw new InputError('', `resolver ${shown} is not an address; ${form} (an IPv6 address with a port goes in brackets)`);
    host = m[1]!;
    port = m[2];
    if (isIP(host) !== 4) throw new InputError('', `resolver ${shown} is not an IP address; ${form}`);
  }
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    throw new InputError('', `resolver ${shown} has a bad port: it must be a number from 1 to 65535`);
  }
  const v6 = isIP(host) === 6;
  if (port === undefined) return v6 ? canonicalIp(host) : host;
  return v6 ? `[${canonicalIp(host)}]:${Number(port)}` : `${host}:${Number(port)}`;
}

/** One spelling per address: IPv6 compressed and lower-case, as URL writes it. */
export function canonicalIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase(); // a scoped address (fe80::1%eth0) URL does not take
  }
}
