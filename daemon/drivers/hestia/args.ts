// Typed arguments for HestiaCP commands (DESIGN invariant 9). A value becomes part of a remote
// command only as an Arg: validated by its kind, then single-quoted. Nothing else can be passed to
// the command builder, so a shell string can never be assembled from input.
import { isIPv6 } from 'node:net';
import { TerminalError } from '../../common/errors.ts';

export type ArgKind =
  | 'newUser' | 'user' | 'domain' | 'aliases' | 'email' | 'package' | 'ipv4' | 'recordName'
  | 'recordType' | 'number' | 'id' | 'quota' | 'yesNo' | 'mailAccount' | 'restart' | 'name'
  | 'hostname' | 'tmpPath' | 'format' | 'empty' | 'cronCommand' | 'backup' | 'backupSelector';

export const RECORD_TYPES = [
  'A', 'AAAA', 'NS', 'CNAME', 'MX', 'TXT', 'SRV', 'DNSKEY', 'KEY', 'IPSECKEY', 'PTR', 'SPF', 'TLSA', 'CAA', 'DS',
] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

// Hestia's v-add-user refuses these (case-insensitive); refusing them here saves a round trip.
const RESERVED_USERS = new Set(['aria', 'aria_log', 'mysql', 'mysql_upgrade', 'ib', 'ib_buffer', 'ddl', 'ddl_recovery', 'performance', 'sudo']);

/** The argument was refused before anything was sent; names the argument and the rule. */
export class ArgumentError extends TerminalError {
  constructor(readonly argument: string, readonly rule: string) {
    super(`invalid argument ${argument}: ${rule}`);
    this.name = 'ArgumentError';
  }
}

/** A validated, ready-to-quote command argument. Only the static constructors create one. */
export class Arg {
  private constructor(readonly name: string, readonly value: string, readonly secret: boolean) {}

  /** Validates `value` as `kind`; throws ArgumentError (terminal) naming `name` and the rule. */
  static of(kind: ArgKind, name: string, value: unknown): Arg {
    return new Arg(name, validate(kind, name, value), false);
  }

  /** An explicit empty positional argument (e.g. "read the password from stdin"). */
  static empty(name: string): Arg {
    return new Arg(name, '', false);
  }

  /** A generated tmp-file path that stands for a secret: logged, but never in an error. */
  static secretPath(name: string, path: string): Arg {
    return new Arg(name, validate('tmpPath', name, path), true);
  }

  /** A DNS record value, checked by the rules of its (validated) type. */
  static recordValue(name: string, type: RecordType, raw: unknown): Arg {
    const v = recordValue(name, type, raw);
    return v instanceof Arg ? v : new Arg(name, v, false);
  }

  quoted(): string {
    return shellQuote(this.value);
  }
}

/** POSIX single-quoting: the only special character inside '…' is ' itself. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function fail(name: string, rule: string): never {
  throw new ArgumentError(name, rule);
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** ASCII host/domain name; IDNs must arrive as punycode (xn--), converted by the caller. */
function checkDomain(name: string, v: string, what = 'domain'): string {
  if (/[^\x21-\x7e]/.test(v)) fail(name, `${what} must be printable ASCII without spaces (convert internationalised names to punycode xn--…)`);
  const d = v.toLowerCase();
  if (d.length > 253) fail(name, `${what} is longer than 253 characters`);
  const labels = d.split('.');
  if (labels.length < 2) fail(name, `${what} needs at least two labels (name.tld)`);
  for (const l of labels) {
    if (l === '') fail(name, `${what} has an empty label (leading, trailing or double dot)`);
    if (l.length > 63) fail(name, `${what} label "${l.slice(0, 20)}…" is longer than 63 characters`);
    if (!LABEL.test(l)) fail(name, `${what} labels are letters, digits and inner hyphens only`);
    // "ab--" labels are reserved for IDNA; only xn-- (punycode) is a valid use.
    if (l.length >= 4 && l.slice(2, 4) === '--' && !l.startsWith('xn--')) fail(name, `${what} label "${l}" has "--" in positions 3-4 (only xn-- punycode is allowed)`);
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) fail(name, `${what} must not end in a numeric label (an IP address is not a domain)`);
  return d;
}

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;

function validate(kind: ArgKind, name: string, raw: unknown): string {
  if (typeof raw !== 'string' && typeof raw !== 'number') fail(name, 'must be a string');
  const v = String(raw);
  if (kind === 'empty') {
    if (v !== '') fail(name, 'must be empty');
    return v;
  }
  if (v === '') fail(name, 'must not be empty');
  // A leading "-" could be read as an option by the command or anything it calls.
  if (v.startsWith('-')) fail(name, 'must not start with "-"');
  if (/[\x00-\x1f\x7f]/.test(v)) fail(name, 'must not contain control characters or newlines');
  switch (kind) {
    case 'newUser':
      if (!/^[a-zA-Z][-_a-zA-Z0-9]{0,28}[a-zA-Z0-9]$/.test(v)) fail(name, 'new user names are 2-30 characters: a letter first, then letters, digits, "-" or "_", ending in a letter or digit');
      if (RESERVED_USERS.has(v.toLowerCase())) fail(name, `"${v}" is a reserved user name`);
      return v;
    case 'user':
      if (!/^[a-zA-Z0-9]$|^[a-zA-Z0-9][-._a-zA-Z0-9]{0,28}[a-zA-Z0-9]$/.test(v)) fail(name, 'user names are 1-30 letters, digits, ".", "-" or "_", starting and ending in a letter or digit');
      return v;
    case 'domain':
      return checkDomain(name, v);
    case 'hostname':
      // Name servers and record targets: a domain, optionally fully qualified with a trailing dot.
      return checkDomain(name, v.endsWith('.') ? v.slice(0, -1) : v, 'host name') + (v.endsWith('.') ? '.' : '');
    case 'aliases': {
      if (v === 'none') return v;
      return v.split(',').map((a) => (a.startsWith('*.') ? '*.' + checkDomain(name, a.slice(2), 'alias') : checkDomain(name, a, 'alias'))).join(',');
    }
    case 'email': {
      const at = v.lastIndexOf('@');
      if (at < 1) fail(name, 'e-mail address needs a local part and a domain');
      const local = v.slice(0, at);
      if (local.length > 64 || !/^[A-Za-z0-9._%+-]+$/.test(local)) fail(name, 'e-mail local part is 1-64 of letters, digits, "._%+-"');
      return `${local}@${checkDomain(name, v.slice(at + 1), 'e-mail domain')}`;
    }
    case 'package':
      if (!/^[a-zA-Z0-9]$|^[a-zA-Z0-9][-._a-zA-Z0-9]{0,64}[a-zA-Z0-9]$/.test(v)) fail(name, 'package names are 1-66 letters, digits, ".", "-" or "_", starting and ending in a letter or digit');
      return v;
    case 'ipv4':
      if (!IPV4.test(v)) fail(name, 'must be an IPv4 address in dotted-quad form');
      return v;
    case 'recordName': {
      const r = v.toLowerCase();
      if (r === '@' || r === '*') return r;
      if (r.length > 253) fail(name, 'record name is longer than 253 characters');
      if (/[^a-z0-9_.*-]/.test(r)) fail(name, 'record names are "@", or letters, digits, "_", "-", "." and a leading "*."');
      if (r.includes('*') && !/^\*\.[^*]+$/.test(r)) fail(name, '"*" is allowed only alone or as a leading "*."');
      if (/\.\.|--|__/.test(r)) fail(name, 'record names must not contain "..", "--" or "__"');
      if (!/^[a-z0-9_*]/.test(r) || !/[a-z0-9_.]$/.test(r)) fail(name, 'record names start with a letter, digit, "_" or "*" and end with a letter, digit, "_" or "."');
      if (r.split('.').some((l, i, all) => l.length > 63 || (l === '' && i !== all.length - 1))) fail(name, 'record name labels are 1-63 characters');
      return r;
    }
    case 'recordType': {
      const t = v.toUpperCase();
      if (!(RECORD_TYPES as readonly string[]).includes(t)) fail(name, `record type must be one of ${RECORD_TYPES.join(' ')}`);
      return t;
    }
    case 'number':
      if (!/^[0-9]{1,10}$/.test(v)) fail(name, 'must be a non-negative integer');
      return v;
    case 'id':
      if (!/^[1-9][0-9]{0,9}$/.test(v)) fail(name, 'must be a positive integer');
      return v;
    case 'quota':
      if (v !== 'unlimited' && !/^[0-9]{1,10}$/.test(v)) fail(name, 'must be a non-negative integer or "unlimited"');
      return v;
    case 'yesNo':
      if (v !== 'yes' && v !== 'no') fail(name, 'must be "yes" or "no"');
      return v;
    case 'restart':
      if (v !== 'yes' && v !== 'no') fail(name, 'restart flag must be "yes" or "no"');
      return v;
    case 'mailAccount': {
      const a = v.toLowerCase();
      if (!/^[a-z0-9]$|^[a-z0-9][a-z0-9_.-]{0,62}[a-z0-9_]$/.test(a)) fail(name, 'mail account is 1-64 letters, digits, "_", "." or "-", starting with a letter or digit');
      return a;
    }
    case 'name':
      if (v.length > 100) fail(name, 'must be at most 100 characters');
      if (/['"<>\\`$]/.test(v)) fail(name, 'must not contain quotes, "<", ">", "\\", "`" or "$"');
      return v;
    case 'tmpPath':
      if (!/^\/tmp\/hb-[a-f0-9]{32}$/.test(v)) fail(name, 'must be a generated /tmp/hb-… path');
      return v;
    case 'cronCommand':
      // A crontab line's command, single-quoted on the way. Hestia refuses "`"; a "\\" breaks its JSON
      // listing and an unescaped "%" is a newline to cron, so both are refused here.
      if (v.length > 1000) fail(name, 'cron command is longer than 1000 characters');
      if (/[`\\%]/.test(v)) fail(name, 'cron command must not contain "`", "\\" or "%"');
      return v;
    case 'backup':
      // An archive in HestiaCP's backup folder: its object-name rule (no "/"), ending in .tar.
      if (!/^[a-zA-Z0-9][-._a-zA-Z0-9]{0,61}\.tar$/.test(v)) fail(name, 'backup archives are file names like alice.2026-01-31_05-10-00.tar (letters, digits, ".", "-", "_"; ending in .tar)');
      return v;
    case 'backupSelector':
      // v-restore-user's part selector: "*" (all), "no" (none) or a comma list of names. An empty
      // string would also mean "all", so it is never accepted here.
      if (v === '*' || v === 'no') return v;
      if (v.length > 4000) fail(name, 'selector is longer than 4000 characters');
      if (!/^[a-zA-Z0-9._][-._a-zA-Z0-9]{0,254}(,[a-zA-Z0-9._][-._a-zA-Z0-9]{0,254})*$/.test(v)) fail(name, 'selector is "*", "no" or a comma list of names (letters, digits, ".", "-", "_")');
      return v;
    case 'format':
      if (v !== 'json' && v !== 'plain' && v !== 'shell' && v !== 'csv' && v !== 'list') fail(name, 'output format must be json, plain, shell, csv or list');
      return v;
  }
}

// Value rules per record type; returns an Arg when another kind's rule did the work.
function recordValue(name: string, type: RecordType, raw: unknown): Arg | string {
  if (typeof raw !== 'string' || raw === '') fail(name, 'record value must be a non-empty string');
  const v = raw;
  if (v.startsWith('-')) fail(name, 'must not start with "-"');
  if (/[\x00-\x1f\x7f]/.test(v)) fail(name, 'must not contain control characters or newlines');
  if (/[^\x20-\x7e]/.test(v)) fail(name, 'record values must be printable ASCII (punycode for names)');
  if (v.length > 2048) fail(name, 'record value is longer than 2048 characters');
  switch (type) {
    case 'A':
      return Arg.of('ipv4', name, v);
    case 'AAAA':
      if (!isIPv6(v)) fail(name, 'AAAA value must be an IPv6 address');
      return v.toLowerCase();
    case 'NS': case 'CNAME': case 'MX': case 'PTR':
      return Arg.of('hostname', name, v);
    case 'SRV': {
      // "weight port target" (a conf line); v-add-dns-record takes "priority weight port target":
      // its validator reads a 3-field value whose first field passes as a host name (any non-zero
      // weight does) as "target port weight" and refuses it.
      const m = /^(?:([0-9]{1,5}) )?([0-9]{1,5}) ([0-9]{1,5}) (\S+)$/.exec(v);
      if (!m) fail(name, 'SRV value must be "weight port target" or "priority weight port target"');
      return `${m[1] !== undefined ? `${m[1]} ` : ''}${m[2]} ${m[3]} ${Arg.of('hostname', name, m[4]).value}`;
    }
    case 'TXT': case 'SPF':
      // TXT may hold spaces, ";" and quotes; single-quoting keeps them inert. Hestia itself
      // strips '"' and re-wraps values that contain spaces or ';'.
      return v;
    case 'CAA':
      if (!/^[0-9]{1,3} (issue|issuewild|iodef) "?[\x21\x23-\x7e][\x20\x21\x23-\x7e]*"?$/.test(v)) fail(name, 'CAA value must be "flags tag value" with tag issue, issuewild or iodef');
      return v;
    case 'DNSKEY': case 'KEY': case 'IPSECKEY': case 'TLSA': case 'DS':
      if (!/^[0-9A-Za-z+/=.: -]+$/.test(v)) fail(name, `${type} value may hold only letters, digits, spaces and "+/=.:-"`);
      return v;
  }
}

/** Passwords never go on argv; they are checked here before being sent on stdin or in a tmp file. */
export function checkPassword(name: string, raw: unknown): string {
  if (typeof raw !== 'string' || raw === '') fail(name, 'password must be a non-empty string');
  if (/[\x00-\x1f\x7f]/.test(raw)) fail(name, 'password must not contain control characters or newlines (Hestia reads one line)');
  // Hestia's `read -r` (stdin path) trims edge whitespace while `head -n1` (file path) keeps it.
  if (raw.trim() !== raw) fail(name, 'password must not start or end with whitespace');
  if (raw.length > 512) fail(name, 'password is longer than 512 characters');
  return raw;
}
