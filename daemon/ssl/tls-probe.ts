// The TLS half of automatic SSL: connects to the server holding a role with SNI, as a browser
// would, and judges what it serves for every name the certificate must cover — so a valid
// certificate is never requested again (Let's Encrypt's rate limits) and a missing, expired,
// self-signed or wrong one is. Only public texts are read (the served chain); nothing is secret.
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, rootCertificates, type TLSSocket } from 'node:tls';
import { InputError } from '../common/errors.ts';
import { probeNames } from './probe-names.ts';

export type ProbeVerdict = 'valid' | 'unreachable' | 'no-certificate' | 'self-signed' | 'untrusted' | 'expired' | 'not-yet-valid' | 'wrong-name';

export interface TlsProbe {
  verdict: ProbeVerdict;
  /** one line an admin reads */
  detail: string;
  notBefore: Date | null;
  notAfter: Date | null;
  issuer: string | null;
  /** the served certificate's DNS names */
  names: string[];
  fingerprint256: string | null;
  /** OpenSSL's verification error code, null when the chain is trusted (or nothing was served). */
  authorizationError: string | null;
}

export interface ProbeOptions {
  host: string;
  port: number;
  servername: string;
  names: string[];
  /** PEM certificates trusted besides node's roots (a private CA; the tests' ACME CA). */
  extraCa?: string[];
  timeoutMs: number;
  /** The time the certificate's dates are judged at (default: now), e.g. to ask "still valid in 30 days?". */
  now?: Date;
}

/** Connects to host:port with SNI = servername and judges the served chain for ALL `names`. */
export async function probeTls(o: ProbeOptions): Promise<TlsProbe> {
  if (!o.host || typeof o.host !== 'string') throw new InputError('host', 'must name the server to probe');
  if (!(Number.isInteger(o.port) && o.port >= 1 && o.port <= 65535)) throw new InputError('port', 'must be a whole number from 1 to 65535');
  if (!(Number.isFinite(o.timeoutMs) && o.timeoutMs > 0)) throw new InputError('timeoutMs', 'must be a positive number of milliseconds');
  const names = probeNames(o.names);
  const servername = probeNames([o.servername], 'servername')[0]!;
  checkExtraCa(o.extraCa ?? []);
  const where = `${isIP(o.host) === 6 ? `[${o.host}]` : o.host}:${o.port}`;
  const handshake = await connectOnce(o, servername, where);
  if ('unreachable' in handshake) return empty('unreachable', handshake.unreachable);
  if ('refused' in handshake) return empty('no-certificate', handshake.refused);
  return judge(handshake.cert, handshake.authorizationError, names, servername, where, o.now ?? new Date());
}

/** node ignores a CA text it cannot read, which would turn a misconfigured private CA into "untrusted": refuse it. */
function checkExtraCa(extraCa: string[]): void {
  extraCa.forEach((pem, i) => {
    const blocks = String(pem).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw new InputError('extraCa', `entry ${i + 1} holds no PEM certificate`);
    blocks.forEach((b, j) => {
      try {
        new X509Certificate(b);
      } catch {
        throw new InputError('extraCa', `certificate ${j + 1} of entry ${i + 1} cannot be read`);
      }
    });
  });
}

type Handshake = { unreachable: string } | { refused: string } | { cert: X509Certificate | null; authorizationError: string | null };

/** One TLS handshake, bounded by timeoutMs; the socket is always destroyed. */
function connectOnce(o: ProbeOptions, servername: string, where: string): Promise<Handshake> {
  return new Promise((resolve) => {
    let socket: TLSSocket | undefined;
    const finish = (h: Handshake) => {
      clearTimeout(timer);
      socket?.destroy();
      resolve(h);
    };
    const timer = setTimeout(() => finish({ unreachable: `no TLS answer from ${where} within ${o.timeoutMs} ms` }), o.timeoutMs);
    try {
      socket = connect({
        host: o.host,
        port: o.port,
        // SNI carries host names only (RFC 6066): none for an address; a wildcard's base name.
        servername: isIP(servername) ? '' : servername.startsWith('*.') ? servername.slice(2) : servername,
        rejectUnauthorized: false,
        // The names are judged below, all of them, not only the servername node would check.
        checkServerIdentity: () => undefined,
        ca: [...rootCertificates, ...(o.extraCa ?? [])],
      });
    } catch (err) {
      finish({ unreachable: `could not connect to ${where}: ${(err as Error).message}` });
      return;
    }
    socket.once('secureConnect', () => {
      const s = socket!;
      const err = s.authorizationError as unknown;
      const code = err == null ? null : typeof err === 'string' ? err : String((err as { code?: string }).code ?? (err as Error).message ?? err);
      finish({ cert: s.getPeerX509Certificate() ?? null, authorizationError: s.authorized ? null : code });
    });
    // on, not once: a late second error after finish must not go unhandled.
    socket.on('error', (err: NodeJS.ErrnoException) => finish(socketError(err, where)));
    socket.once('close', () => finish({ unreachable: `${where} closed the connection before the TLS handshake ended` }));
  });
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/** A network failure is "unreachable"; a server that speaks but completes no TLS handshake serves no certificate. */
function socketError(err: NodeJS.ErrnoException, where: string): Handshake {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return { unreachable: `nothing answers on ${where} (connection refused)` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { unreachable: `${where.replace(/:\d+$/, '')} does not resolve (${code})` };
  if (code === 'ECONNRESET' && /before secure TLS connection/i.test(err.message)) return { unreachable: `${where} closed the connection before the TLS handshake ended` };
  if (NETWORK_CODES.has(code)) return { unreachable: `${where} cannot be reached (${code})` };
  return { refused: `${where} completed no TLS handshake: ${oneLine(err.message)}` };
}

function judge(cert: X509Certificate | null, authorizationError: string | null, names: string[], servername: string, where: string, now: Date): TlsProbe {
  if (!cert) return { ...empty('no-certificate', `${where} served no certificate for ${servername}`), authorizationError };
  const notBefore = certDate(cert.validFrom);
  const notAfter = certDate(cert.validTo);
  const served = servedNames(cert);
  const base = { notBefore, notAfter, issuer: oneLineDn(cert.issuer), names: served, fingerprint256: cert.fingerprint256, authorizationError };
  const covers = served.length ? served.join(', ') : 'no name';
  const issuerName = commonName(cert.issuer) ?? base.issuer ?? 'an unknown issuer';
  const until = notAfter ? ` until ${notAfter.toISOString()}` : '';

  switch (authorizationError) {
    case null: break;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return { ...base, verdict: 'self-signed', detail: `${where} serves a self-signed certificate for ${covers}${until}` };
    case 'CERT_HAS_EXPIRED':
      return notAfter && notAfter.getTime() < now.getTime()
        ? { ...base, verdict: 'expired', detail: `${where} serves a certificate for ${covers} that expired at ${notAfter.toISOString()}` }
        : { ...base, verdict: 'expired', detail: `${where} serves a certificate for ${covers} whose chain holds an expired certificate (from ${issuerName})` };
    case 'CERT_NOT_YET_VALID':
      return notBefore && notBefore.getTime() > now.getTime()
        ? { ...base, verdict: 'not-yet-valid', detail: `${where} serves a certificate for ${covers} that is valid only from ${notBefore.toISOString()}` }
        : { ...base, verdict: 'not-yet-valid', detail: `${where} serves a certificate for ${covers} whose chain holds a certificate not yet valid (from ${issuerName})` };
    default:
      return { ...base, verdict: 'untrusted', detail: `${where} serves a certificate for ${covers} from ${issuerName} that is not trusted (${authorizationError})` };
  }
  // Trusted now; judged again at `now`, which may lie ahead (a renewal's margin).
  if (notAfter && notAfter.getTime() <= now.getTime()) {
    return { ...base, verdict: 'expired', detail: `${where} serves a certificate for ${covers} that expires at ${notAfter.toISOString()}, by ${now.toISOString()}` };
  }
  if (notBefore && notBefore.getTime() > now.getTime()) {
    return { ...base, verdict: 'not-yet-valid', detail: `${where} serves a certificate for ${covers} that is valid only from ${notBefore.toISOString()}` };
  }
  const missing = names.filter((n) => !coversName(cert, served, n));
  if (missing.length) {
    return { ...base, verdict: 'wrong-name', detail: `${where} serves a certificate for ${covers}, which does not cover ${missing.join(', ')}` };
  }
  return { ...base, verdict: 'valid', detail: `${where} serves a valid certificate for ${names.join(', ')} from ${issuerName}${until}` };
}

/** checkHost matches a host against the SANs (wildcards included); a wildcard name must be in them as is. */
function coversName(cert: X509Certificate, served: string[], name: string): boolean {
  if (name.startsWith('*.')) return served.includes(name);
  if (isIP(name)) return cert.checkIP(name) !== undefined;
  return cert.checkHost(name) !== undefined;
}

/** The DNS names of the subjectAltName, or the CN when there is none (as checkHost falls back). */
function servedNames(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (san) {
    // node writes "DNS:a, DNS:b, IP Address:…", quoting (JSON) an entry that holds a comma or quote.
    const entries = san.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? [];
    return entries.map((e) => e.trim()).filter((e) => e.startsWith('DNS:')).map((e) => {
      const v = e.slice(4);
      return (v.startsWith('"') ? JSON.parse(v) as string : v).toLowerCase();
    });
  }
  const cn = commonName(cert.subject);
  return cn ? [cn.toLowerCase()] : [];
}

function commonName(dn: string): string | null {
  const line = dn.split('\n').reverse().find((l) => l.startsWith('CN='));
  return line ? line.slice(3) : null;
}

/** node's multi-line DN as one line, e.g. "C=US, O=Let's Encrypt, CN=R11". */
function oneLineDn(dn: string): string | null {
  const parts = dn.split('\n').filter(Boolean);
  return parts.length ? parts.join(', ') : null;
}

function certDate(text: string): Date | null {
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

function empty(verdict: ProbeVerdict, detail: string): TlsProbe {
  return { verdict, detail, notBefore: null, notAfter: null, issuer: null, names: [], fingerprint256: null, authorizationError: null };
}
