// TLS to a Proxmox node pinned by certificate fingerprint. PVE nodes serve a self-signed
// certificate, so the chain cannot be verified against a CA; instead the connection is accepted
// only when the SHA-256 of the server's DER certificate equals the confirmed pin, checked right
// after the handshake and BEFORE the socket is handed to the HTTP request (no byte of a request,
// so no credential, reaches a server that fails the check). Hostname checks add nothing once the
// exact certificate is pinned.
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { InputError, RetryableError } from '../../common/errors.ts';
import { ProxmoxFingerprintError } from './errors.ts';

/** `ab:cd…`, `ABCD…` or openssl's `sha256 Fingerprint=AB:CD…` → `AB:CD:…` (64 hex digits); InputError otherwise. */
export function normaliseFingerprint(value: string, field = 'fingerprintSha256'): string {
  const hex = typeof value === 'string' ? value.trim().replace(/^sha256\s*fingerprint\s*=\s*/i, '').replace(/[:\s]/g, '').toUpperCase() : '';
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new InputError(field, 'must be the SHA-256 fingerprint of the node certificate: 32 hex pairs such as AB:CD:… (pvenode cert info)');
  }
  return hex.match(/../g)!.join(':');
}

/** A free socket is closed after this long idle, before pveproxy drops it under a request. */
const IDLE_MS = 3000;

export interface PinnedAgentOptions {
  /** Normalised pin per "host:port"; `fallback` for any other. */
  pins: Map<string, string>;
  fallback: string;
  maxSockets: number;
  connectTimeoutMs: number;
}

/**
 * A keep-alive https.Agent whose sockets exist only once their certificate matched the pin.
 * TLS session resumption is off so every new connection shows its certificate again.
 */
export class PinnedAgent extends https.Agent {
  constructor(private readonly pin: PinnedAgentOptions) {
    super({ keepAlive: true, keepAliveMsecs: 10_000, timeout: IDLE_MS, maxSockets: pin.maxSockets, maxFreeSockets: Math.min(2, pin.maxSockets), maxCachedSessions: 0, scheduling: 'lifo' });
  }

  // Node's http.Agent accepts the socket through the callback (documented for createConnection).
  override createConnection(options: https.RequestOptions, cb?: (err: Error | null, stream: Duplex) => void): undefined {
    const host = String(options.host ?? 'localhost');
    const port = Number(options.port ?? 8006);
    const expected = this.pin.pins.get(`${host}:${port}`) ?? this.pin.fallback;
    let done = false;
    const finish = (err: Error | null, socket?: tls.TLSSocket) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cb?.(err, socket as Duplex);
    };
    const socket = tls.connect({
      host,
      port,
      servername: net.isIP(host) ? undefined : host,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(() => {
      const err = Object.assign(new Error(`TLS connection to ${host}:${port} timed out after ${this.pin.connectTimeoutMs} ms`), { code: 'ETIMEDOUT' });
      socket.destroy(err);
      finish(err);
    }, this.pin.connectTimeoutMs);
    socket.once('secureConnect', () => {
      const actual = fingerprintOfSocket(socket);
      if (actual !== expected) {
        const err = new ProxmoxFingerprintError(host, port, expected, actual ?? '(no certificate)');
        socket.destroy();
        finish(err);
        return;
      }
      finish(null, socket);
    });
    socket.once('error', (err) => finish(err));
    return undefined;
  }
}

function fingerprintOfSocket(socket: tls.TLSSocket): string | null {
  const cert = socket.getPeerCertificate();
  return cert && cert.fingerprint256 ? cert.fingerprint256.toUpperCase() : null;
}

export interface CertificateInfo {
  fingerprintSha256: string;
  subject: string;
  issuer: string;
  validTo: string;
}

function dn(name: Record<string, string | string[] | undefined> | undefined): string {
  if (!name) return '';
  return Object.entries(name)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .join(', ');
}

/**
 * Connects WITHOUT trusting the server, only to show its certificate so an admin can confirm the
 * fingerprint when registering a cluster. Sends nothing but the TLS handshake.
 */
export function fetchCertificate(host: string, port = 8006, timeoutMs = 10_000): Promise<CertificateInfo> {
  if (typeof host !== 'string' || host.trim() === '') throw new InputError('host', 'is required');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InputError('port', 'must be an integer between 1 and 65535');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RetryableError(`no TLS answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = socket.getPeerCertificate();
      socket.end();
      if (!cert || !cert.fingerprint256) {
        reject(new RetryableError(`${host}:${port} showed no certificate`));
        return;
      }
      resolve({
        fingerprintSha256: cert.fingerprint256.toUpperCase(),
        subject: dn(cert.subject as unknown as Record<string, string>),
        issuer: dn(cert.issuer as unknown as Record<string, string>),
        validTo: cert.valid_to,
      });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new RetryableError(`could not reach ${host}:${port} for its certificate: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' ').trim(), { cause: err }));
    });
  });
}
