// Ships a certificate, its key and chain to a Hestia server for v-add-*-ssl / v-change-*-sslcert,
// which read `<dir>/<domain>.crt|.key|.ca`: a fresh /tmp/hb-<random>/ directory, each file written
// by `install -D -m 600 /dev/stdin` (contents on stdin, never argv), removed afterwards whatever
// happened. The key is registered as a secret first, so no log line or error can carry it.
import { randomBytes } from 'node:crypto';
import { TerminalError } from '../../common/errors.ts';
import { Arg, ArgumentError, shellQuote } from './args.ts';
import type { HestiaRunner } from './runner.ts';

export interface SslFiles {
  /** The certificate, PEM. */
  cert: string;
  /** Its private key, PEM (unencrypted: Hestia refuses a pass phrase). */
  key: string;
  /** Intermediate certificates, PEM; optional for a self-signed certificate. */
  chain?: string;
}

function pemText(name: string, v: unknown, label: RegExp): string {
  if (typeof v !== 'string' || v.trim() === '') throw new ArgumentError(name, 'must be a non-empty PEM text');
  if (v.includes('\0')) throw new ArgumentError(name, 'must not contain NUL bytes');
  if (!label.test(v)) throw new ArgumentError(name, 'must be PEM (-----BEGIN …-----)');
  return v.endsWith('\n') ? v : v + '\n';
}

/** The three files checked and ready to send; nothing is sent for an invalid one. */
export function checkSslFiles(files: SslFiles): { crt: string; key: string; ca: string } {
  return {
    crt: pemText('CERT', files.cert, /-----BEGIN CERTIFICATE-----/),
    key: pemText('KEY', files.key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
    ca: files.chain === undefined || files.chain.trim() === '' ? '' : pemText('CHAIN', files.chain, /-----BEGIN CERTIFICATE-----/),
  };
}

/** Writes the files into a fresh directory, runs `fn(dir)`, then `rm -rf` the directory. */
export async function withSslDir<T>(runner: HestiaRunner, domain: Arg, files: SslFiles, fn: (dir: Arg) => Promise<T>): Promise<T> {
  const f = checkSslFiles(files);
  runner.secret(f.key.trim());
  // The generated-path rule of Arg (/tmp/hb-<32 hex>), here a directory.
  const dir = Arg.secretPath('SSL_DIR', `/tmp/hb-${randomBytes(16).toString('hex')}`);
  const server = runner.server;
  try {
    for (const [ext, text] of [['crt', f.crt], ['key', f.key], ['ca', f.ca]] as const) {
      if (text === '') continue;
      // Constants, the generated directory and a validated domain: nothing from input but the domain.
      const path = shellQuote(`${dir.value}/${domain.value}.${ext}`);
      const w = await runner.exec(`install -D -m 600 /dev/stdin ${path}`, { stdin: text, quiet: true });
      if (w.code !== 0) {
        throw new TerminalError(`could not write the certificate's ${ext} file on ${server.host}: ${runner.masker.mask(w.stderr).trim().slice(0, 200)}`);
      }
    }
    return await fn(dir);
  } finally {
    // Not tied to the task's signal: the key must go even when the task was cancelled.
    await runner.pool.exec(server, `rm -rf ${dir.quoted()}`, { timeoutMs: 15_000 }).then((r) => {
      if (r.code !== 0) runner.log(`warning: could not remove ${dir.value} on ${server.host}: ${runner.masker.mask(r.stderr).trim().slice(0, 200)}`);
    }, (err: Error) => runner.log(`warning: could not remove ${dir.value} on ${server.host}: ${runner.masker.mask(err.message)}`));
  }
}
