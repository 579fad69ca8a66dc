// The host names the SSL checks take, in one form: lower-case ASCII (IDN as punycode), no trailing
// dot, so the DNS check, the TLS probe and the certificate's own SAN list compare like with like.
import { domainToASCII } from 'node:url';
import { InputError } from '../common/errors.ts';

/** `name` as lower-case ASCII without the trailing dot; a leading `*.` is kept. Throws InputError for a name that is none. */
export function probeName(name: string, field = 'names'): string {
  const raw = String(name ?? '').trim().replace(/\.$/, '');
  const wild = raw.startsWith('*.');
  const ascii = domainToASCII(wild ? raw.slice(2) : raw).toLowerCase();
  if (!ascii || ascii.length > 253 || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(ascii) || ascii.split('.').some((l) => l.length > 63)) {
    throw new InputError(field, `"${String(name).slice(0, 80)}" is not a host name`);
  }
  return wild ? `*.${ascii}` : ascii;
}

/** The names, each in probe form, duplicates dropped (first kept); at least one. */
export function probeNames(names: readonly string[], field = 'names'): string[] {
  if (!Array.isArray(names) || names.length === 0) throw new InputError(field, 'needs at least one name');
  return [...new Set(names.map((n) => probeName(n, field)))];
}
