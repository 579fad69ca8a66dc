// Rules for the names a service brings in from WHMCS (domains, vanity names). They are checked
// when an order arrives, before anything is written, so a hostile value never reaches a planner,
// a task or a remote command. Stricter than HestiaCP's own checks on purpose: ASCII only (an IDN
// arrives as its xn-- form), no leading or trailing "-", labels of at most 63 characters.

import { InputError } from '../common/errors.ts';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why a domain is refused, or null when it is acceptable. Expects the lower-cased form. */
export function domainProblem(domain: string): string | null {
  if (domain.length === 0) return 'is empty';
  if (domain.length > 253) return `is ${domain.length} characters long; at most 253 are allowed`;
  // eslint-disable-next-line no-control-regex
  if (/[^\x21-\x7e]/.test(domain)) return 'must be ASCII letters, digits, "-" and "."; write an internationalised name in its xn-- form';
  if (domain.startsWith('-')) return 'must not start with "-"';
  if (/^www\./.test(domain)) return 'must be given without "www."';
  const labels = domain.split('.');
  if (labels.length < 2) return 'needs at least two labels, such as example.com';
  for (const label of labels) {
    if (label.length === 0) return 'has an empty label (".." or a leading or trailing ".")';
    if (label.length > 63) return `has a label of ${label.length} characters; at most 63 are allowed`;
    if (!LABEL.test(label)) return `has a label "${label}" that is not letters, digits and inner "-"`;
    if (/^xn--/.test(label) && label.length < 5) return `has an empty punycode label "${label}"`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return 'ends in a number; an IP address is not a domain';
  return null;
}

export function checkDomain(field: string, value: string): string {
  const d = value.trim().toLowerCase();
  const problem = domainProblem(d);
  if (problem) throw new InputError(field, `"${printable(value)}" ${problem}`);
  return d;
}

/** A vanity name becomes one label of the parent domain and the local part of a mailbox. */
export function checkVanityName(field: string, value: string): string {
  const v = value.trim().toLowerCase();
  if (v.length === 0) throw new InputError(field, 'is empty; the customer must choose a name');
  if (v.length > 63) throw new InputError(field, `is ${v.length} characters long; at most 63 are allowed`);
  if (!LABEL.test(v) || v.startsWith('xn--')) throw new InputError(field, `"${printable(value)}" must be letters, digits and inner "-" (no leading "-", no dots)`);
  return v;
}

/** For error messages: control characters shown escaped, long values cut. */
export function printable(value: string): string {
  // eslint-disable-next-line no-control-regex
  const shown = value.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}
