// The Proxmox driver's pure parts: UPIDs, the sshkeys inner encoding, error classification,
// answer normalisation, argument checks. No server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { classifyError, InputError } from '../../daemon/common/errors.ts';
import {
  ProxmoxApiError, ProxmoxClient, ProxmoxRetryableError, ProxmoxTerminalError, checkCredentials, cleanCidr, decodeSshKeys, encodeParams,
  encodeSshKeys, isAlreadyExists, isAlreadyRunning, isLocked, isMissingVm, normaliseFingerprint, paramError, parseUpid, warningsOf,
} from '../../daemon/drivers/proxmox/index.ts';
import { httpError, taskError } from '../../daemon/drivers/proxmox/errors.ts';
import * as norm from '../../daemon/drivers/proxmox/normalise.ts';
import * as check from '../../daemon/drivers/proxmox/validate.ts';

function sshPublicKey(comment: string): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const raw = der.subarray(der.length - 32);
  const type = Buffer.from('ssh-ed25519');
  const blob = Buffer.concat([u32(type.length), type, u32(raw.length), raw]).toString('base64');
  return `ssh-ed25519 ${blob}${comment ? ' ' + comment : ''}`;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

describe('parseUpid', () => {
  it('splits a clone UPID (hex fields, source vmid as id, token user)', () => {
    const u = parseUpid('UPID:pve1:0000A1B2:0012C3D4E:6750AB12:qmclone:9000:hostbridge@pve!deploy:');
    assert.deepEqual(u, { node: 'pve1', pid: 0xa1b2, pstart: 0x12c3d4e, starttime: 0x6750ab12, type: 'qmclone', id: '9000', user: 'hostbridge@pve!deploy' });
  });

  it('accepts an empty id and an 8-digit pstart', () => {
    const u = parseUpid('UPID:node-2:00001234:00abcdef:6750AB12:vzdump::root@pam:');
    assert.equal(u.node, 'node-2');
    assert.equal(u.id, '');
    assert.equal(u.pstart, 0xabcdef);
  });

  for (const bad of [
    'UPID:pve1:0000A1B2:0012C3D4E:6750AB12:qmclone:9000:root@pam', // no trailing colon
    'UPID:pve1:A1B2:0012C3D4E:6750AB12:qmclone:9000:root@pam:', // short pid
    'UPID:-pve1:0000A1B2:0012C3D4E:6750AB12:qmclone:9000:root@pam:',
    'OK',
    '',
  ]) {
    it(`refuses ${JSON.stringify(bad)} with an InputError naming upid`, () => {
      assert.throws(() => parseUpid(bad), (err: unknown) => err instanceof InputError && err.field === 'upid');
    });
  }
});

describe('encodeSshKeys', () => {
  it('percent-encodes spaces as %20 (never +) and joins keys with %0A; decoding gives the keys back', () => {
    const k1 = sshPublicKey('alice laptop: work key');
    const k2 = sshPublicKey('bob@example');
    const enc = encodeSshKeys(`${k1}\r\n\n  ${k2}  \n`);
    assert.match(enc, /^[-%a-zA-Z0-9_.!~*'()]*$/, 'only the characters Proxmox allows in a urlencoded value');
    assert.ok(!enc.includes('+'));
    assert.ok(enc.includes('%20'));
    assert.ok(enc.includes('%3A'), "the ':' of the comment is encoded");
    assert.equal(enc.split('%0A').length, 2);
    assert.equal(decodeSshKeys(enc), `${k1}\n${k2}`);
    // The form body adds the outer layer: % becomes %25.
    assert.ok(encodeParams({ sshkeys: enc }).toString().includes('%2520'));
  });

  it('refuses a private key, a wrong type, a broken blob and an empty value, naming sshkeys', () => {
    const good = sshPublicKey('x');
    const blob = good.split(' ')[1]!;
    for (const bad of ['', '\n \n', '-----BEGIN OPENSSH PRIVATE KEY-----', `ssh-foo ${blob}`, 'ssh-ed25519', `ssh-rsa ${blob} mismatched`, 'ssh-ed25519 AAAA$$$']) {
      assert.throws(() => encodeSshKeys(bad), (err: unknown) => err instanceof InputError && err.field === 'sshkeys', bad);
    }
    assert.throws(() => encodeSshKeys(`${good}\nnot a key`), /key 2/);
  });
});

describe('error classification', () => {
  it('400 is terminal with the parameter errors in the message', () => {
    const e = httpError(400, 'Parameter verification failed.', { sshkeys: 'invalid format - invalid urlencoded string' }, 'POST /x');
    assert.ok(e instanceof ProxmoxTerminalError);
    assert.ok(e instanceof ProxmoxApiError);
    assert.equal(classifyError(e), 'terminal');
    assert.match(e.message, /sshkeys: invalid format - invalid urlencoded string/);
    assert.equal(paramError(e, 'sshkeys'), 'invalid format - invalid urlencoded string');
  });

  it('401, 403 and 501 are terminal; 502, 503 and 595 retryable', () => {
    for (const s of [401, 403, 501]) assert.equal(classifyError(httpError(s, 'x', {}, 'GET /')), 'terminal', String(s));
    for (const s of [502, 503, 595]) assert.equal(classifyError(httpError(s, 'x', {}, 'GET /')), 'retryable', String(s));
  });

  it('500: locks retryable, a missing VM and known refusals terminal, others retryable', () => {
    const lock = httpError(500, "can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout", {}, 'PUT /c');
    assert.ok(lock instanceof ProxmoxRetryableError);
    assert.ok(isLocked(lock));
    const locked = httpError(500, 'VM is locked (clone)', {}, 'POST /c');
    assert.equal(classifyError(locked), 'retryable');
    assert.ok(isLocked(locked));
    const missing = httpError(500, "Configuration file 'nodes/pve1/qemu-server/123.conf' does not exist", {}, 'GET /c');
    assert.equal(classifyError(missing), 'terminal');
    assert.ok(isMissingVm(missing));
    assert.ok(!isMissingVm(lock));
    const exists = httpError(500, 'unable to create VM 105: config file already exists', {}, 'POST /clone');
    assert.equal(classifyError(exists), 'terminal');
    assert.ok(isAlreadyExists(exists));
    assert.ok(isAlreadyExists(httpError(400, 'Parameter verification failed.', { vmid: 'VM 105 already exists' }, 'GET /cluster/nextid')));
    assert.equal(classifyError(httpError(500, 'something odd', {}, 'GET /')), 'retryable');
  });

  it('task exit statuses: WARNINGS and OK are success, lock timeouts retryable, the rest terminal', () => {
    assert.equal(warningsOf('OK'), 0);
    assert.equal(warningsOf('WARNINGS: 3'), 3);
    assert.equal(warningsOf('VM 101 already running'), null);
    const up = 'UPID:pve1:0000A1B2:0012C3D4E:6750AB12:qmstart:101:root@pam:';
    const running = taskError(up, 'VM 101 already running', ['TASK ERROR: VM 101 already running']);
    assert.equal(classifyError(running), 'terminal');
    assert.ok(isAlreadyRunning(running));
    assert.equal(running.upid, up);
    const storage = taskError(up, "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout", []);
    assert.equal(classifyError(storage), 'retryable');
    assert.ok(isLocked(storage));
  });

  it('the predicates are false for other errors', () => {
    for (const e of [new Error('VM is locked'), new InputError('x', 'already exists'), null, 'Configuration file does not exist']) {
      assert.ok(!isLocked(e) && !isAlreadyExists(e) && !isMissingVm(e));
      assert.ok(!(e instanceof ProxmoxApiError));
    }
  });
});

describe('cleanCidr', () => {
  it('gives the form Proxmox stores', () => {
    const cases: Array<[string, string]> = [
      ['192.0.2.10/32', '192.0.2.10'],
      ['192.0.2.10', '192.0.2.10'],
      ['192.0.2.77/24', '192.0.2.0/24'],
      ['10.1.2.3/8', '10.0.0.0/8'],
      ['2001:0DB8:0:0::10/128', '2001:db8::10'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff/64', '2001:db8:aaaa:bbbb::/64'],
      ['::1', '::1'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ];
    for (const [input, want] of cases) assert.equal(cleanCidr(input), want, input);
    assert.throws(() => cleanCidr('192.0.2.1/33'), (e: unknown) => e instanceof InputError && e.field === 'cidr');
  });
});

describe('normalisation', () => {
  it('nextid and memory strings become numbers', () => {
    assert.equal(norm.vmidOf('105', 'GET /cluster/nextid'), 105);
    assert.throws(() => norm.vmidOf('abc', 'GET /cluster/nextid'), ProxmoxRetryableError);
    assert.equal(norm.vmConfig({ memory: '2048', cores: 2, name: 'a' }).memory, 2048);
    assert.equal(norm.vmConfig({ memory: 'current=4096' }).memory, 4096);
    assert.equal(norm.vmConfig({ memory: 1024 }).memory, 1024);
  });

  it('a storage splits its content and reads 0/1 flags; an offline node gets zero stats', () => {
    assert.deepEqual(norm.pveStorage({ storage: 'local', type: 'dir', content: 'iso,vztmpl,backup', shared: 0, active: 1, enabled: 1, total: '100', used: 10, avail: 90 }),
      { storage: 'local', type: 'dir', content: ['iso', 'vztmpl', 'backup'], enabled: true, active: true, shared: false, total: 100, used: 10, avail: 90 });
    const n = norm.pveNode({ node: 'pve2', status: 'offline' });
    assert.equal(n.status, 'offline');
    assert.equal(n.maxmem, 0);
  });
});

describe('argument checks', () => {
  it('refuse bad values naming the field', () => {
    const cases: Array<[() => unknown, string]> = [
      [() => check.vmid(99), 'vmid'],
      [() => check.vmid(1.5), 'vmid'],
      [() => check.node('pve 1'), 'node'],
      [() => check.storage('local lvm'), 'storage'],
      [() => check.disk('scsi'), 'disk'],
      [() => check.size('-10G'), 'size'],
      [() => check.ipsetName('1bad'), 'name'],
      [() => check.cidr('192.0.2.0/0'), 'cidr'],
      [() => check.cidr('300.1.1.1'), 'cidr'],
      [() => check.volid('nostorage'), 'volid'],
      [() => normaliseFingerprint('AB:CD'), 'fingerprintSha256'],
      [() => checkCredentials({ kind: 'token', tokenId: 'root@pam', secret: 's' }), 'credentials.tokenId'],
      [() => checkCredentials({ kind: 'password', username: 'root', password: 'x' }), 'credentials.username'],
      [() => checkCredentials({ kind: 'password', username: 'root@pam', password: '' }), 'credentials.password'],
    ];
    for (const [fn, field] of cases) assert.throws(fn, (err: unknown) => err instanceof InputError && err.field === field, field);
    assert.equal(check.cidr('2001:db8::1/128'), '2001:db8::1/128');
    assert.equal(normaliseFingerprint('sha256 Fingerprint=' + 'ab'.repeat(32)), Array(32).fill('AB').join(':'));
  });

  it('the client refuses bad options before any connection', () => {
    const fp = Array(32).fill('AB').join(':');
    const creds = { kind: 'token' as const, tokenId: 'a@pve!b', secret: 'x-y-z' };
    assert.throws(() => new ProxmoxClient({ endpoints: [], fingerprintSha256: fp, credentials: creds }), (e: unknown) => e instanceof InputError && e.field === 'endpoints');
    assert.throws(() => new ProxmoxClient({ endpoints: [{ host: 'h', port: 70000 }], fingerprintSha256: fp, credentials: creds }), (e: unknown) => e instanceof InputError && e.field === 'endpoints.0.port');
    assert.throws(() => new ProxmoxClient({ endpoints: [{ host: 'h', port: 8006 }], fingerprintSha256: 'nope', credentials: creds }), (e: unknown) => e instanceof InputError && e.field === 'fingerprintSha256');
  });

  it('booleans are sent as 1/0 and undefined values are left out', () => {
    assert.equal(encodeParams({ a: true, b: false, c: undefined, d: 5, e: 'x y' }).toString(), 'a=1&b=0&d=5&e=x+y');
  });
});
