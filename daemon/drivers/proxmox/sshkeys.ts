// cloud-init `sshkeys` (reference §2 Config, "sshkeys encoding"): Proxmox declares the value
// `urlencoded` and URI-unescapes it, so the key text is percent-encoded once here (space %20,
// never '+'; newline between keys %0A) and the form body encodes it a second time. Only OpenSSH
// public keys pass: a private key or stray text pasted into an order is refused before any call.
import { InputError } from '../../common/errors.ts';

const KEY_TYPES = new Set([
  'ssh-ed25519', 'ssh-rsa', 'ssh-dss',
  'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com',
]);

/** Checks each key line; returns them trimmed, CRLF and blank lines removed. */
export function checkSshKeys(keys: string, field = 'sshkeys'): string[] {
  if (typeof keys !== 'string') throw new InputError(field, 'must be a string of OpenSSH public keys');
  const lines = keys.replace(/\r\n?/g, '\n').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 0) throw new InputError(field, 'holds no SSH public key');
  lines.forEach((line, i) => {
    const where = lines.length > 1 ? `key ${i + 1}` : 'the key';
    if (/PRIVATE KEY/.test(line)) throw new InputError(field, `${where} is a private key; give the public key (the .pub file)`);
    const [type, blob] = line.split(/\s+/, 2);
    if (!type || !KEY_TYPES.has(type)) throw new InputError(field, `${where} does not start with an OpenSSH key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, …)`);
    if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) throw new InputError(field, `${where} has no base64 key data after ${type}`);
    // The blob starts with its own type as a length-prefixed string: a truncated or mixed-up key fails here.
    const raw = Buffer.from(blob, 'base64');
    const len = raw.length >= 4 ? raw.readUInt32BE(0) : -1;
    if (len <= 0 || 4 + len > raw.length || raw.subarray(4, 4 + len).toString('latin1') !== type) {
      throw new InputError(field, `${where} is not a valid ${type} public key (its data does not match its type)`);
    }
  });
  return lines;
}

/** The inner encoding layer: the keys joined by '\n', percent-encoded as Proxmox's `urlencoded` format wants. */
export function encodeSshKeys(keys: string): string {
  // encodeURIComponent leaves only [A-Za-z0-9-_.!~*'()] unescaped: exactly the characters the format allows besides '%'.
  return encodeURIComponent(checkSshKeys(keys).join('\n'));
}

/** The reverse, for reading `sshkeys` back from a VM's config. */
export function decodeSshKeys(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new InputError('sshkeys', 'is not a valid urlencoded string');
  }
}
