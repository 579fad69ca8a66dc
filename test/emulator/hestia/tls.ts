// The node's HTTPS front: one TLS listener that presents, per SNI name, the certificate the node
// has installed for it — a web domain or one of its aliases, mail.<d> / <webmail>.<d> for a mail
// domain with SSL — read from the node's files at each handshake, so an install shows at once.
// Any other name gets the node's self-signed hostname certificate, as a real node's default vhost.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { readObjects } from './conf.ts';
import { paths, readConfig } from './node.ts';
import { issue } from './x509.ts';

export interface NodeTlsHandle {
  host: string;
  port: number;
  close(): Promise<void>;
}

interface Pair { cert: string; key: string }

/** The hostname certificate (Hestia's /usr/local/hestia/ssl/certificate.crt), made once per node. */
export function hostnameCert(dir: string): Pair {
  const crt = join(dir, 'conf', 'hostname-certificate.crt');
  const key = join(dir, 'conf', 'hostname-certificate.key');
  if (!existsSync(crt) || !existsSync(key)) {
    const host = readConfig(dir).get('EMULATOR_HOSTNAME') || 'localhost';
    const c = issue([host], { notAfter: new Date(Date.now() + 3650 * 86_400_000) });
    writeFileSync(key, c.key, { mode: 0o600 });
    writeFileSync(crt, c.cert);
  }
  return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
}

/** The installed certificate (leaf + chain) for `name` on this node, or null. */
export function installedCertFor(dir: string, name: string): Pair | null {
  const n = name.toLowerCase();
  const usersDir = paths.users(dir);
  if (!existsSync(usersDir)) return null;
  const webmail = readConfig(dir).get('WEBMAIL_ALIAS') || 'webmail';
  const load = (base: string): Pair | null => {
    if (!existsSync(`${base}.crt`) || !existsSync(`${base}.key`)) return null;
    const ca = existsSync(`${base}.ca`) ? readFileSync(`${base}.ca`, 'utf8') : '';
    return { cert: readFileSync(`${base}.crt`, 'utf8').replace(/\n*$/, '\n') + ca, key: readFileSync(`${base}.key`, 'utf8') };
  };
  for (const u of readdirSync(usersDir)) {
    if (!existsSync(paths.userConf(dir, u))) continue;
    for (const w of readObjects(paths.userFile(dir, u, 'web.conf'))) {
      if (w.get('SSL') !== 'yes' || w.get('SUSPENDED') === 'yes') continue;
      const d = w.get('DOMAIN')!;
      if (d === n || (w.get('ALIAS') ?? '').split(',').includes(n)) return load(paths.userFile(dir, u, join('ssl', d)));
    }
    for (const m of readObjects(paths.userFile(dir, u, 'mail.conf'))) {
      if (m.get('SSL') !== 'yes' || m.get('SUSPENDED') === 'yes') continue;
      const d = m.get('DOMAIN')!;
      if (n === `mail.${d}` || (m.get('WEBMAIL') && n === `${webmail}.${d}`)) return load(paths.userFile(dir, u, join('ssl', `mail.${d}`)));
    }
  }
  return null;
}

/** A TLS server on host:port presenting the node's certificates by SNI; the connection then just closes after a minimal HTTP answer. */
export async function serveNodeTls(dir: string, opts: { host: string; port: number }): Promise<NodeTlsHandle> {
  const fallback = hostnameCert(dir);
  const ctxFor = (name: string | undefined): tls.SecureContext => {
    const pair = (name && installedCertFor(dir, name)) || hostnameCert(dir);
    return tls.createSecureContext(pair);
  };
  const sockets = new Set<Socket>();
  const server = tls.createServer({
    ...fallback,
    SNICallback: (name, cb) => {
      try { cb(null, ctxFor(name)); } catch (err) { cb(err as Error); }
    },
  }, (socket) => {
    socket.on('error', () => {});
    // Enough HTTP for a probe that sends a request: one answer, then close.
    socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'));
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    host: opts.host, port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
