// AES-256-GCM for credentials at rest. The key lives outside the database (configuration);
// the stored form is "v1:" + base64(iv | tag | ciphertext).
import crypto from 'node:crypto';

export function encryptSecret(key: Buffer, plaintext: string): string {
  if (key.length !== 32) throw new Error('master key must be 32 bytes');
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return 'v1:' + Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64');
}

export function decryptSecret(key: Buffer, stored: string): string {
  if (!stored.startsWith('v1:')) throw new Error('encrypted value has an unknown format');
  const raw = Buffer.from(stored.slice(3), 'base64');
  if (raw.length < 28) throw new Error('encrypted value is truncated');
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    // Never echo the value: only say what is wrong.
    throw new Error('encrypted value cannot be decrypted with this master key (wrong HOSTBRIDGE_MASTER_KEY, or the value was altered)');
  }
}
