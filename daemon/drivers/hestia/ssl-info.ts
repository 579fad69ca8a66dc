// v-list-web-domain-ssl / v-list-mail-domain-ssl json → SslInfo. That output carries the domain's
// private key (KEY): it is dropped here, at parse, and the raw text is never logged or kept.
import { HestiaParseError } from './json.ts';

export interface SslInfo {
  /** The certificate's CN. */
  subject: string;
  /** Its DNS names (SAN, which includes the CN). */
  names: string[];
  notBefore: Date;
  notAfter: Date;
  /** openssl's one-line issuer DN, e.g. `C = US, O = Let's Encrypt, CN = R11`. */
  issuer: string;
  certPem: string;
  /** The intermediate chain (the .ca file), '' when none. */
  chainPem: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** openssl's text date, `Mar  3 12:00:00 2026 GMT`. */
export function parseOpensslDate(s: string, command: string, field: string): Date {
  const m = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT$/.exec(s.trim());
  const month = m ? MONTHS.indexOf(m[1]!) : -1;
  if (!m || month < 0) throw new HestiaParseError(command, `${field} is not a date in openssl's form ("${s.slice(0, 40)}")`);
  return new Date(Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])));
}

const str = (o: Record<string, unknown>, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');

/** Parses the json; null when the domain has no certificate (CRT empty). Never puts the text in an error. */
export function parseSslInfo(text: string, command: string): SslInfo | null {
  let data: unknown;
  try {
    // Hestia joins the PEM lines with a literal \n but leaves a CR of a CRLF file raw (invalid JSON).
    data = JSON.parse(text.replace(/\r/g, ''));
  } catch {
    throw new HestiaParseError(command, 'the output is not valid JSON');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new HestiaParseError(command, 'expected an object at the top level');
  const entries = Object.values(data as Record<string, unknown>);
  if (entries.length !== 1 || entries[0] === null || typeof entries[0] !== 'object') throw new HestiaParseError(command, 'expected exactly one domain in the output');
  const o = entries[0] as Record<string, unknown>;
  // The private key is not copied anywhere; the parsed object goes out of scope with it.
  delete o.KEY;
  const certPem = str(o, 'CRT');
  if (certPem.trim() === '') return null;
  return {
    subject: str(o, 'SUBJECT'),
    names: str(o, 'ALIASES').split(',').map((n) => n.trim()).filter(Boolean),
    notBefore: parseOpensslDate(str(o, 'NOT_BEFORE'), command, 'NOT_BEFORE'),
    notAfter: parseOpensslDate(str(o, 'NOT_AFTER'), command, 'NOT_AFTER'),
    issuer: str(o, 'ISSUER'),
    certPem: certPem.endsWith('\n') ? certPem : certPem + '\n',
    chainPem: str(o, 'CA') === '' ? '' : str(o, 'CA').replace(/\n*$/, '\n'),
  };
}
