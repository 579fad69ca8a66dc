// DKIM keys are real RSA keys from node:crypto. Generating 2048-bit keys per mail domain would
// make the suite slow, so by default keys come from a small per-process pool of 1024-bit keys
// (the requested DKIM_SIZE is not honoured). HESTIA_EMU_DKIM=real generates a fresh key of the
// requested size for every domain, like the real node.
import { generateKeyPairSync } from 'node:crypto';

export interface DkimKey { privatePem: string; publicPem: string }

const POOL_SIZE = 3;
const pool: DkimKey[] = [];
let next = 0;

function generate(bits: number): DkimKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function dkimKey(bits: number): DkimKey {
  if (process.env.HESTIA_EMU_DKIM === 'real') return generate(bits);
  if (pool.length < POOL_SIZE) pool.push(generate(1024));
  return pool[next++ % pool.length]!;
}

/** The `p=` value: the public key PEM without its BEGIN/END lines, joined. */
export function dkimP(publicPem: string): string {
  return publicPem.split('\n').filter((l) => l && !l.includes('KEY-----')).join('');
}
