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

/**
 * A subset of func/internal/dns_record_validator.php: address types must be addresses, MX/SRV
 * shapes must hold. The PHP validator checks more per type; see docs/emulator.md.
 */
export function dvalue(v: string, type: string): void {
  noNewLine('dvalue', v);
  const bad = (what: string): never => fail(E.INVALID, `${what} :: ${v}`);
  if (type === 'A' && !isIPv4(v)) bad('Invalid IPv4 address');
  if (type === 'AAAA' && !isIPv6(v)) bad('Invalid IPv6 address');
  if (type === 'SRV' && !/^\d+ \d+ \S+$/.test(v) && !/^\d+ \d+ \d+ \S+$/.test(v)) bad('Invalid SRV record');
  if (v === '') bad('invalid dns record format');
}
