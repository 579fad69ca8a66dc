// A self-signed certificate made at start, as a fresh PVE node has one (pve-cluster generates it
// with openssl). The `openssl` binary comes from Debian's openssl package (/usr/bin/openssl).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Certificate { certPem: string; keyPem: string; fingerprintSha256: string }

export function makeCertificate(host: string): Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'pve-emu-tls-'));
  try {
    const key = join(dir, 'pve-ssl.key');
    const crt = join(dir, 'pve-ssl.pem');
    const isIp = /^[\d.]+$|:/.test(host);
    const san = `subjectAltName=${isIp ? 'IP' : 'DNS'}:${host},DNS:localhost,IP:127.0.0.1`;
    execFileSync('/usr/bin/openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
      '-keyout', key, '-out', crt,
      '-subj', `/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN=${host}`,
      '-addext', san,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    const certPem = readFileSync(crt, 'utf8');
    const keyPem = readFileSync(key, 'utf8');
    return { certPem, keyPem, fingerprintSha256: fingerprintOf(certPem) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** SHA-256 of the DER certificate as upper-case hex pairs joined by ':' (how the PVE GUI shows it). */
export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.toUpperCase();
}
