// is_format_valid from func/main.sh: the rule is chosen by the argument's variable name, and an
// empty value is never checked. Every failure is check_result E_INVALID ("invalid <name> format :: v").
import { isIPv4, isIPv6 } from 'node:net';
import { E, fail } from './errors.ts';

const inval = (name: string, v: string): never => fail(E.INVALID, `invalid ${name} format :: ${v}`);
const ascii = (v: string) => /^[\x00-\x7f]*$/.test(v);
const noNewLine = (name: string, v: string) => { if (/\n/.test(v)) inval(name, v); };

export function user(v: string, name = 'user', newUser = false): void {
  if (v.length === 1) { if (!/^[A-Za-z0-9]$/.test(v)) inval(name, v); }
  else if (!/^[A-Za-z0-9][-|._A-Za-z0-9]{0,28}[A-Za-z0-9]$/.test(v)) inval(name, v);
  if (!ascii(v)) inval(name, v);
  // v-add-user sets FROM_V_ADD_USER: letter first, no dot.
  if (newUser && !/^[a-zA-Z][-|_A-Za-z0-9]{0,28}[A-Za-z0-9]$/.test(v)) inval(name, v);
}

export function domain(v: string, name = 'domain'): void {
  if (/[\][!@#$^&*()+={},<>?_/\\"|'`;%\s]/.test(v) || /^[0-9]+$/.test(v) || v.includes('..') ||
    /^-|-$|^\.|\.$|\.-|-\./.test(v) || v === 'www') inval(name, v);
  noNewLine(name, v);
}

export function aliases(v: string): void {
  for (const a of v.split(/[,\s]+/).filter(Boolean)) {
    if (/[\][!@#$^&()+={},<>?_/\\"|'`;%\s]/.test(a) || a.includes('..') || /^-|-$|^\.|\.$|\.-|-\./.test(a)) inval('alias', a);
    if (a.includes('*') && !/^\*\./.test(a)) inval('alias', a);
  }
}

export function email(v: string): void {
  if (!/^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}$/.test(v) &&
    !/^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.xn--[A-Za-z0-9]{2,63}$/.test(v)) inval('email', v);
}

/** package, template, host, backup… */
export function object(v: string, name: string): void {
  if (!/^[A-Za-z0-9][-|._A-Za-z0-9]{0,64}[A-Za-z0-9]$/.test(v)) inval(name, v);
}

export function name(v: string): void {
  if (/['"<>]/.test(v)) fail(E.INVALID, `Invalid name contains qoutes (" or ') :: ${v}`);
  noNewLine('name', v);
}

/** is_common_format_valid: used for `record` (and `value`). */
export function common(v: string, name: string): void {
  if (/[!|#$^&()+={}:<>?/\\"';%` ]/.test(v)) inval(name, v);
  if (v.length >= 400) inval(name, v);
  if (v.includes('@') && v.length > 1) inval(name, v);
  if (v.includes('*') && !v.includes('*.') && v !== '*') inval(name, v);
  if (/[^a-zA-Z0-9_*@.]$/.test(v)) inval(name, v);
  if (v.includes('..')) inval(name, v);
  if (/^[^a-zA-Z0-9_*@]/.test(v)) inval(name, v);
  if (v.includes('--') || v.includes('__')) inval(name, v);
  noNewLine(name, v);
}

export function int(v: string, name: string): void { if (!/^[0-9]+$/.test(v)) inval(name, v); }
export function id(v: string): void { if (!/^[1-9][0-9]*$/.test(v)) inval('id', v); }

export function localpart(v: string, name = 'account'): void {
  if (v.length === 1) { if (!/^[A-Za-z0-9]$/.test(v)) inval(name, v); }
  else if (!/^[A-Za-z0-9_.-][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_.-]$/.test(v)) inval(name, v);
  if (!ascii(v)) inval(name, v);
}

export function bool(v: string, name: string): void { if (v !== 'yes' && v !== 'no') inval(name, v); }

export function restart(v: string): void {
  if (!['yes', 'no', 'ssl', 'reload', 'updatessl', 'scheduled'].includes(v)) inval('restart', v);
}

export function ip(v: string): void { if (!isIPv4(v)) fail(E.INVALID, `invalid ip :: ${v}`); }

export function quota(v: string): void { if (v !== 'unlimited') int(v, 'quota'); }

export const DNS_TYPES = ['A', 'AAAA', 'NS', 'CNAME', 'MX', 'TXT', 'SRV', 'DNSKEY', 'KEY', 'IPSECKEY', 'PTR', 'SPF', 'TLSA', 'CAA', 'DS'];
export function rtype(v: string): void {
  if (!DNS_TYPES.includes(v)) fail(E.INVALID, `invalid dns record type format :: ${v}`);
}

// PHP's filter_var pieces that dns_record_validator.php leans on. Each returns what PHP returns,
// so the script's truthiness tests (`!$valid`, `=== false`) can be kept as they are written.

/** FILTER_VALIDATE_DOMAIN (ext/filter _php_filter_validate_domain), on the value without its trailing dots. */
function phpDomain(value: string, hostname: boolean): string | false {
  const v = value.replace(/\.+$/, '');
  if (v === '') return false; // validation filters fail on an empty string
  const alnum = (ch: string | undefined) => !!ch && /^[A-Za-z0-9]$/.test(ch);
  let s = v;
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s.length > 253) return false;
  if (s[0] === '.' || (hostname && !alnum(s[0]))) return false;
  let label = 1;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '.') {
      if (s[i + 1] === '.' || (hostname && (!alnum(s[i - 1]) || !alnum(s[i + 1])))) return false;
      label = 1;
    } else {
      if (label > 63 || (hostname && (s[i] !== '-' || i === s.length - 1) && !alnum(s[i]))) return false;
      label++;
    }
  }
  return v;
}

/** FILTER_VALIDATE_INT with min_range/max_range: the integer, or false. */
function phpInt(value: string | undefined, min: number, max: number): number | false {
  if (value === undefined) return false;
  const m = /^\s*([+-]?)(0|[1-9][0-9]*)\s*$/.exec(value);
  if (!m) return false;
  const n = Number(`${m[1]}${m[2]}`);
  return n >= min && n <= max ? n : false;
}

/** PHP truthiness of a filter's result: false, "" and "0" are false. */
const truthy = (r: string | number | false) => r !== false && r !== '' && r !== '0';

const phpIPv4 = (v: string) => isIPv4(v);
const phpIPv6 = (v: string) => isIPv6(v);
const isHex = (v: string) => /^[A-Fa-f0-9]+$/.test(v);
const isBase64 = (v: string) => v !== '' && !/[^A-Za-z0-9+/=]/.test(v) && /^[A-Za-z0-9+/]*={0,2}$/.test(v);
const srvTarget = (v: string) => v === '.' || truthy(phpDomain(v, true));
const words = (v: string) => v.trim().split(/\s+/);

/**
 * is_dns_record_format_valid: func/internal/dns_record_validator.php, type by type (record value,
 * the script's $rtype and $priority). Returns the value and priority the script goes on with (the
 * validator rewrites SRV values). An empty value is not checked (is_format_valid skips it).
 */
export function dvalue(v: string, type: string, priority: string): { value: string; priority: string } {
  if (v === '') return { value: v, priority };
  if (/\n/.test(v)) fail(E.INVALID, `invalid value :: ${v}`); // is_no_new_line_format
  const bad = (msg: string): never => fail(E.INVALID, `${msg} :: ${v}`);
  switch (type) {
    case 'A': if (!phpIPv4(v)) bad('invalid A record format'); break;
    case 'AAAA': if (!phpIPv6(v)) bad('invalid AAAA record format'); break;
    case 'NS': case 'PTR': if (!truthy(phpDomain(v, true))) bad(`invalid ${type} record format`); break;
    case 'CNAME': if (!truthy(phpDomain(v, false))) bad('invalid CNAME record format'); break;
    case 'MX':
      if (!truthy(phpDomain(v, true))) bad('invalid MX record format');
      if (priority === '') bad('MX record priority is required');
      if (phpInt(priority, 0, 65535) === false) bad('invalid MX record priority format (must be between 0 and 65535)');
      break;
    case 'SRV': {
      const p = words(v);
      let target: string | undefined; let port: string | undefined; let weight: string | undefined; let prio = priority;
      if (p.length === 4) [prio, weight, port, target] = p as [string, string, string, string];
      else if (p.length === 3) {
        // As written in PHP: a first field that passes as a host name (any non-zero number does) is the target.
        if (srvTarget(p[0]!)) [target, port, weight] = p;
        else if (srvTarget(p[2]!)) [weight, port, target] = p;
        else bad('invalid SRV record format (expected target with port and weight)');
      } else bad('invalid SRV record format (must contain priority weight port target or target port weight)');
      const pr = phpInt(prio, 0, 65535); const w = phpInt(weight, 0, 65535); const po = phpInt(port, 0, 65535);
      if (pr === false) bad('invalid SRV record priority format (must be between 0 and 65535)');
      if (w === false) bad('invalid SRV record weight format (must be between 0 and 65535)');
      if (po === false) bad('invalid SRV record port format (must be between 0 and 65535)');
      if (!srvTarget(target ?? '')) bad('invalid SRV record target format');
      return { value: `${w} ${po} ${target}`, priority: String(pr) };
    }
    case 'TXT': case 'SPF':
      if (v.length > 65535) bad(`${type} record exceeds maximum length`);
      if (/[^\x20-\x7e]/.test(v)) bad(`${type} record contains non-ASCII characters`);
      break;
    case 'DNSKEY': case 'KEY': {
      const p = words(v);
      if (p.length < 3) bad(`invalid ${type} record format (expected flags protocol algorithm [public-key])`);
      const key = p.slice(3).join(' ');
      const ok = phpInt(p[0], 0, 65535) !== false && phpInt(p[1], 0, 255) !== false && phpInt(p[2], 0, 255) !== false && (type !== 'DNSKEY' || p[1] === '3');
      if (!ok) bad(`invalid ${type} numeric fields`);
      if (type === 'KEY' && p[2] === '0') { if (key !== '') bad('invalid KEY public key for algorithm 0 (must be empty)'); }
      else if (key === '' || !isBase64(key)) bad(`invalid ${type} public key (must be base64)`);
      break;
    }
    case 'IPSECKEY': {
      const p = words(v);
      if (p.length < 4) bad('invalid IPSECKEY record format (expected precedence gateway-type algorithm gateway [public-key])');
      const [, gwType, alg, gw] = p as [string, string, string, string];
      const key = p.slice(4).join(' ');
      if (phpInt(p[0], 0, 255) === false || phpInt(gwType, 0, 3) === false || phpInt(alg, 0, 255) === false) bad('invalid IPSECKEY numeric fields');
      if (gwType === '0' && gw !== '.' && gw !== '') bad('invalid IPSECKEY gateway for type 0');
      if (gwType === '1' && !phpIPv4(gw)) bad('invalid IPSECKEY IPv4 gateway');
      if (gwType === '2' && !phpIPv6(gw)) bad('invalid IPSECKEY IPv6 gateway');
      if (!['0', '1', '2'].includes(gwType) && !truthy(phpDomain(gw, true))) bad('invalid IPSECKEY domain gateway');
      if (alg === '0') { if (key !== '') bad('invalid IPSECKEY public key for algorithm 0 (must be empty)'); }
      else if (key === '' || !isBase64(key)) bad('invalid IPSECKEY public key (must be base64)');
      break;
    }
    case 'TLSA': {
      const p = words(v);
      if (p.length < 4) bad('invalid TLSA record format (expected usage selector matching-type data)');
      const data = p.slice(3).join(' ');
      const m = phpInt(p[2], 0, 2);
      if (phpInt(p[0], 0, 3) === false || phpInt(p[1], 0, 1) === false || m === false) bad('invalid TLSA numeric fields');
      if (data === '' || !isHex(data) || data.length % 2 !== 0) bad('invalid TLSA data');
      if (m === 1 && data.length !== 64) bad('invalid TLSA data length for matching type 1');
      if (m === 2 && data.length !== 128) bad('invalid TLSA data length for matching type 2');
      break;
    }
    case 'CAA': {
      const m = /^(\S+)\s+(\S+)\s+([\s\S]*)$/.exec(v.trim());
      if (!m) bad('invalid CAA record format (expected flag tag value)');
      if (phpInt(m![1], 0, 255) === false || !/^[A-Za-z0-9-]{1,63}$/.test(m![2]!)) bad('invalid CAA flag or tag');
      if (m![3] === '') bad('invalid CAA value');
      break;
    }
    case 'DS': {
      const p = words(v);
      if (p.length < 4) bad('invalid DS record format (expected keytag algorithm digest-type digest)');
      const digest = p.slice(3).join(' ');
      if (phpInt(p[0], 0, 65535) === false || phpInt(p[1], 0, 255) === false || phpInt(p[2], 0, 255) === false) bad('invalid DS numeric fields');
      if (digest === '' || !isHex(digest) || digest.length % 2 !== 0) bad('invalid DS digest');
      const need = ({ 1: 40, 2: 64, 3: 64, 4: 96 } as Record<string, number>)[String(Number(p[2]))];
      if (need !== undefined && digest.length !== need) bad(`invalid DS digest length for type ${p[2]}`);
      break;
    }
    default: bad(`unknown record type for validation: ${type}`);
  }
  return { value: v, priority };
}
