// The KVM input rules: host names, SSH public keys (built here from real key pairs in OpenSSH's
// wire format, and one made by ssh-keygen), the VM password, sizes and limits, and the Proxmox
// names. Each hostile value is refused with an InputError naming the field and saying why.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../daemon/common/errors.ts';
import {
  checkBridge, checkCpuType, checkDecimal, checkHostname, checkLimit, checkNode, checkOsSlug, checkProfileName, checkSshKeys, checkStorage,
  checkVlan, checkVmPassword, checkWhole, SSH_KEYS_MAX,
} from '../../daemon/pipelines/kvm-validate.ts';

function refused(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `not an InputError: ${String(err)}`);
    assert.equal(err.field, field);
    assert.match(err.message, message);
    return true;
  });
}

// --- OpenSSH public keys in wire format (RFC 4253 §6.6, RFC 5656, PROTOCOL.u2f) ---
const sshString = (b: Buffer | string) => {
  const data = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
};
const mpint = (b: Buffer) => sshString(b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
const b64u = (s: string) => Buffer.from(s, 'base64url');

function ed25519Blob(): Buffer {
  const jwk = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return Buffer.concat([sshString('ssh-ed25519'), sshString(b64u(jwk.x!))]);
}
function rsaBlob(bits: number): Buffer {
  const jwk = crypto.generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' });
  return Buffer.concat([sshString('ssh-rsa'), mpint(b64u(jwk.e!)), mpint(b64u(jwk.n!))]);
}
function ecdsaBlob(curve: 'P-256' | 'P-384' | 'P-521', name: string): Buffer {
  const jwk = crypto.generateKeyPairSync('ec', { namedCurve: curve }).publicKey.export({ format: 'jwk' });
  const q = Buffer.concat([Buffer.from([4]), b64u(jwk.x!), b64u(jwk.y!)]);
  return Buffer.concat([sshString(`ecdsa-sha2-${name}`), sshString(name), sshString(q)]);
}
function skEd25519Blob(): Buffer {
  const jwk = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return Buffer.concat([sshString('sk-ssh-ed25519@openssh.com'), sshString(b64u(jwk.x!)), sshString('ssh:')]);
}
const line = (type: string, blob: Buffer, comment = '') => `${type} ${blob.toString('base64')}${comment ? ' ' + comment : ''}`;

const ED = line('ssh-ed25519', ed25519Blob(), 'alice@laptop');
const RSA = line('ssh-rsa', rsaBlob(2048), 'bob@desk');
const ECDSA = line('ecdsa-sha2-nistp256', ecdsaBlob('P-256', 'nistp256'));

describe('host names', () => {
  test('a DNS name is accepted and lower-cased; a single label too', () => {
    assert.equal(checkHostname('h', ' VPS1.Example.COM '), 'vps1.example.com');
    assert.equal(checkHostname('h', 'vps1'), 'vps1');
    assert.equal(checkHostname('h', 'xn--mnchen-3ya.example.de'), 'xn--mnchen-3ya.example.de');
    assert.equal(checkHostname('h', `${'a'.repeat(63)}.example.com`), `${'a'.repeat(63)}.example.com`);
  });
  test('hostile names are refused, each saying why', () => {
    refused(() => checkHostname('custom_fields.hostname', ''), 'custom_fields.hostname', /is empty/);
    refused(() => checkHostname('h', 'a;reboot.example.com'), 'h', /label "a;reboot"/);
    refused(() => checkHostname('h', 'vps1.example.com\nx'), 'h', /ASCII/);
    refused(() => checkHostname('h', 'vps\u0000.example.com'), 'h', /ASCII/);
    refused(() => checkHostname('h', 'pаypal.com'), 'h', /xn-- form/); // a Cyrillic "а"
    refused(() => checkHostname('h', 'vps\u200b1.example.com'), 'h', /ASCII/); // zero-width space
    refused(() => checkHostname('h', '-rf.example.com'), 'h', /must not start with "-"/);
    refused(() => checkHostname('h', 'a.-b.example.com'), 'h', /label "-b"/);
    refused(() => checkHostname('h', 'under_score.example.com'), 'h', /label "under_score"/);
    refused(() => checkHostname('h', 'a..b'), 'h', /empty label/);
    refused(() => checkHostname('h', 'example.com.'), 'h', /empty label/);
    refused(() => checkHostname('h', `${'a'.repeat(64)}.example.com`), 'h', /label of 64 characters/);
    refused(() => checkHostname('h', Array(64).fill('abcd').join('.')), 'h', /at most 253/);
    refused(() => checkHostname('h', '192.0.2.1'), 'h', /IP address/);
    refused(() => checkHostname('h', 'xn--.example.com'), 'h', /label "xn--" that is not/);
    refused(() => checkHostname('h', 'ab--cd.example.com'), 'h', /reserved for xn--/);
    refused(() => checkHostname('h', 'xn--zzzzzzzz.example.com'), 'h', /label "xn--zzzzzzzz" that is not valid punycode/);
  });
});

describe('SSH public keys', () => {
  test('ed25519, RSA, ECDSA and security-key keys from real key pairs are accepted and normalised', () => {
    const sk = line('sk-ssh-ed25519@openssh.com', skEd25519Blob(), 'yubikey');
    const p384 = line('ecdsa-sha2-nistp384', ecdsaBlob('P-384', 'nistp384'));
    const p521 = line('ecdsa-sha2-nistp521', ecdsaBlob('P-521', 'nistp521'));
    const keys = checkSshKeys('ssh_keys', `\n${ED}\r\n  ${RSA.replace(' ', '   ')}  \n\n${ECDSA}\n${sk}\n${p384}\n${p521}\n${ED}\n`);
    assert.deepEqual(keys, [ED, RSA, ECDSA, sk, p384, p521], 'blank lines, CRLF, extra spaces and a duplicate are dropped');
    assert.deepEqual(checkSshKeys('k', ''), []);
  });
  test('a key made by ssh-keygen is accepted as it is', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-sshkey-'));
    try {
      const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'made by ssh-keygen', '-f', path.join(dir, 'k')], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, r.stderr);
      const pub = fs.readFileSync(path.join(dir, 'k.pub'), 'utf8');
      assert.deepEqual(checkSshKeys('k', pub), [pub.trim()]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  test('hostile or broken keys are refused, naming the line', () => {
    const f = 'custom_fields.ssh_keys';
    refused(() => checkSshKeys(f, `${ED}\r${RSA}`), f, /line 1 has a carriage return \(CR\) that is not part of a line end/);
    refused(() => checkSshKeys(f, `${ED}\n${RSA}\u0000`), f, /line 2 has a NUL byte/);
    refused(() => checkSshKeys(f, `${ED} \u001b[2J`), f, /control or invisible character \(U\+001B\)/);
    refused(() => checkSshKeys(f, `${ED} \u202Eevil`), f, /U\+202E/);
    refused(() => checkSshKeys(f, `command="rm -rf /" ${ED}`), f, /line 1 starts with "command=.*not a public key type/);
    refused(() => checkSshKeys(f, 'ssh-dss AAAAB3NzaC1kc3MAAACBAP'), f, /"ssh-dss", which is not a public key type/);
    refused(() => checkSshKeys(f, 'ssh-ed25519'), f, /not "type base64 \[comment\]"/);
    refused(() => checkSshKeys(f, 'ssh-ed25519 not*base64'), f, /not base64/);
    refused(() => checkSshKeys(f, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI'), f, /not base64/);
    // The type on the line and the type inside the key differ.
    refused(() => checkSshKeys(f, line('ssh-rsa', ed25519Blob())), f, /says "ssh-rsa" but its key part holds a "ssh-ed25519" key/);
    // A truncated blob and one with trailing bytes do not parse whole.
    const ed = ed25519Blob();
    refused(() => checkSshKeys(f, line('ssh-ed25519', ed.subarray(0, ed.length - 5))), f, /does not decode/);
    refused(() => checkSshKeys(f, line('ssh-ed25519', Buffer.concat([ed, sshString('x')]))), f, /wrong shape/);
    refused(() => checkSshKeys(f, line('ssh-rsa', rsaBlob(512))), f, /512 bits; at least 1024/);
    refused(() => checkSshKeys(f, line('ecdsa-sha2-nistp384', Buffer.concat([sshString('ecdsa-sha2-nistp384'), sshString('nistp256'), sshString(Buffer.alloc(65, 4))]))), f, /curve "nistp256", not nistp384/);
    const many = Array.from({ length: SSH_KEYS_MAX + 1 }, () => line('ssh-ed25519', ed25519Blob())).join('\n');
    refused(() => checkSshKeys(f, many), f, /more than 20 keys/);
    refused(() => checkSshKeys(f, `${ED} ${'x'.repeat(17000)}`), f, /at most 16384 \(16 KB\)/);
  });
});

describe('the VM password', () => {
  test('quotes, backslashes, spaces, $ and non-ASCII letters are carried, not refused', () => {
    for (const pw of [`it's "quoted"`, 'back\\slash $(rm -rf) `x`', 'pass word with spaces', 'Pässwörd-ñ-Ω1', `'; DROP TABLE x; --`]) {
      assert.equal(checkVmPassword('password', pw), pw);
    }
  });
  test('too short, too long and control characters are refused', () => {
    refused(() => checkVmPassword('password', 'short'), 'password', /5 characters long; a VM password needs at least 8/);
    refused(() => checkVmPassword('password', 'x'.repeat(129)), 'password', /at most 128/);
    refused(() => checkVmPassword('password', 'line1\nline2xx'), 'password', /control or invisible character \(U\+000A\) at position 6/);
    refused(() => checkVmPassword('password', 'abc\u0000defgh'), 'password', /U\+0000/);
    refused(() => checkVmPassword('password', 'tab\there-ok?'), 'password', /U\+0009/);
  });
});

describe('sizes and limits', () => {
  test('whole numbers within range, from numbers or digit strings', () => {
    assert.equal(checkWhole('m', '2048', 'memoryMb'), 2048);
    assert.equal(checkWhole('m', 16, 'memoryMb'), 16);
    assert.equal(checkWhole('m', 4 * 1024 * 1024, 'memoryMb'), 4194304);
    refused(() => checkWhole('config_options.memory', 15, 'memoryMb', 'MB'), 'config_options.memory', /15 MB is out of range: from 16–4,194,304 MB/);
    refused(() => checkWhole('m', 4194305, 'memoryMb'), 'm', /out of range/);
    refused(() => checkWhole('c', '0', 'cores'), 'c', /from 1–512/);
    refused(() => checkWhole('c', '2.5', 'cores'), 'c', /"2.5" must be a whole number from 1–512/);
    refused(() => checkWhole('c', '-1', 'cores'), 'c', /whole number/);
    refused(() => checkWhole('c', '1e3', 'cores'), 'c', /whole number/);
    refused(() => checkWhole('c', 'lots', 'cores'), 'c', /whole number/);
    refused(() => checkWhole('s', 17, 'sockets'), 's', /from 1–16/);
    refused(() => checkWhole('d', 65537, 'diskGb', 'GiB'), 'd', /from 1–65,536 GiB/);
    refused(() => checkWhole('d', 0, 'diskGb'), 'd', /out of range/);
  });
  test('limits: empty or 0 is none; iops whole, MB/s with up to 3 decimals', () => {
    assert.equal(checkLimit('l', null, 'iops'), null);
    assert.equal(checkLimit('l', 0, 'iops'), null);
    assert.equal(checkLimit('l', 500, 'iops'), 500);
    assert.equal(checkLimit('l', '12.5', 'rateMbps'), 12.5);
    assert.equal(checkDecimal('l', 0.125, 'mbps'), 0.125);
    refused(() => checkLimit('l', 1_000_001, 'iops'), 'l', /from 0–1,000,000 operations\/s/);
    refused(() => checkLimit('l', 1.5, 'iops'), 'l', /whole number/);
    refused(() => checkLimit('l', 100_001, 'mbps'), 'l', /from 0–100,000 MB\/s/);
    refused(() => checkLimit('l', 0.0001, 'mbps'), 'l', /more than 3 decimals/);
    refused(() => checkLimit('l', '1,5', 'rateMbps'), 'l', /must be a number/);
  });
  test('VLAN 1–4094', () => {
    assert.equal(checkVlan('v', 4094), 4094);
    assert.equal(checkVlan('v', null), null);
    refused(() => checkVlan('v', 0), 'v', /from 1–4,094/);
    refused(() => checkVlan('v', 4095), 'v', /out of range/);
  });
});

describe('Proxmox names', () => {
  test('storage ids, bridges, nodes, CPU types, OS slugs and profile names', () => {
    assert.equal(checkStorage('s', 'local-lvm'), 'local-lvm');
    assert.equal(checkStorage('s', 'ceph_pool.1'), 'ceph_pool.1');
    for (const bad of ['', '1local', 'local-', 'lo cal', 'local;rm', 'local/x', 'a'.repeat(65)]) refused(() => checkStorage('s', bad), 's', /not a Proxmox storage id/);
    assert.equal(checkBridge('b', 'vmbr0'), 'vmbr0');
    for (const bad of ['', 'vmbr0.20', '0br', 'vmbr0 ', 'a'.repeat(16), 'br$(x)']) refused(() => checkBridge('b', bad === 'vmbr0 ' ? 'vm br0' : bad), 'b', /not a bridge name/);
    assert.equal(checkNode('n', 'pve1'), 'pve1');
    refused(() => checkNode('n', 'pve1.example.com'), 'n', /not a Proxmox node name/);
    assert.equal(checkCpuType('c', 'x86-64-v2-AES'), 'x86-64-v2-AES');
    refused(() => checkCpuType('c', 'host,flags=+aes'), 'c', /not a CPU type/);
    assert.equal(checkOsSlug('o', 'Ubuntu-24.04'), 'ubuntu-24.04');
    refused(() => checkOsSlug('o', '../etc/passwd'), 'o', /not an OS slug/);
    assert.equal(checkProfileName('name', 'vps-small'), 'vps-small');
    refused(() => checkProfileName('name', 'VPS Small'), 'name', /must be a slug/);
    refused(() => checkProfileName('name', '42'), 'name', /not only digits/);
  });
});
