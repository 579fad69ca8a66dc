// The DNS records a service's zone should hold, as a pure function of where its roles live. The
// same list is published on every DNS server of the group: a Hestia node takes names relative to
// the zone, PowerDNS absolute ones. Values are kept in one normal form so what a server lists can
// be compared with what is wanted.
import crypto from 'node:crypto';

export interface WantedRecord {
  /** Relative to the zone: "@" for the apex. */
  name: string;
  type: 'A' | 'CNAME' | 'MX' | 'TXT' | 'NS';
  /** Host names without the trailing dot, TXT without quotes. */
  value: string;
  priority?: number;
}

export interface ZoneFacts {
  domain: string;
  webIp: string | null;
  mailIp: string | null;
  nameservers: string[];
  /** The mail domain's DKIM public record (`v=DKIM1; k=rsa; p=…`), when the service has mail. */
  dkim: string | null;
  /**
   * The web aliases (names relative to the zone) the customer added in the Web settings tab: each
   * gets the web server's address, as the apex does. A name the zone already holds is left as it is.
   */
  aliases?: string[];
}

export const DMARC = 'v=DMARC1; p=quarantine; pct=100';

export function zoneRecords(f: ZoneFacts): WantedRecord[] {
  const out: WantedRecord[] = [];
  for (const ns of f.nameservers) out.push({ name: '@', type: 'NS', value: ns.toLowerCase().replace(/\.$/, '') });
  const apex = f.webIp ?? f.mailIp;
  if (apex) out.push({ name: '@', type: 'A', value: apex });
  if (f.webIp) out.push({ name: 'www', type: 'CNAME', value: f.domain });
  if (f.mailIp) {
    out.push({ name: 'mail', type: 'A', value: f.mailIp });
    // The mail node serves webmail too, and its certificate (automatic SSL's mail role) names webmail.<d>.
    out.push({ name: 'webmail', type: 'CNAME', value: `mail.${f.domain}` });
    out.push({ name: '@', type: 'MX', value: `mail.${f.domain}`, priority: 10 });
    const ips = [...new Set([f.webIp, f.mailIp].filter((x): x is string => !!x))].map((ip) => `ip4:${ip}`).join(' ');
    out.push({ name: '@', type: 'TXT', value: `v=spf1 a mx ${ips} -all` });
    out.push({ name: '_dmarc', type: 'TXT', value: DMARC });
    if (f.dkim) out.push({ name: 'mail._domainkey', type: 'TXT', value: f.dkim });
  }
  if (f.webIp) {
    const taken = new Set(out.map((r) => r.name));
    for (const name of new Set(f.aliases ?? [])) if (!taken.has(name)) out.push({ name, type: 'A', value: f.webIp });
  }
  return out;
}

/** One normal form for a listed or wanted value, so the two compare equal. */
export function normalValue(type: string, value: string): string {
  let v = value.trim().replace(/%quote%/g, "'");
  if (type === 'TXT' || type === 'SPF') {
    // Hestia and PowerDNS both quote TXT; long values may come as several quoted strings.
    const parts = [...v.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
    v = parts.length ? parts.join('') : v.replace(/^'(.*)'$/, '$1');
    return v;
  }
  if (['CNAME', 'MX', 'NS', 'PTR', 'SRV'].includes(type)) return v.toLowerCase().replace(/\.$/, '');
  return v;
}

export function recordKey(r: { name: string; type: string; value: string; priority?: number }): string {
  const prio = r.type === 'MX' ? String(r.priority ?? 0) : '';
  return `${r.name.toLowerCase()}|${r.type}|${prio}|${normalValue(r.type, r.value)}`;
}

/** A digest of a zone's records, whatever their order (mod_hostbridge_dns_zones.records_sha256). */
export function recordsDigest(records: ReadonlyArray<{ name: string; type: string; value: string; priority?: number }>): string {
  return crypto.createHash('sha256').update(records.map(recordKey).sort().join('\n')).digest('hex');
}
