// The VM console's two ends below the daemon's proxy: VNC authentication checked against noVNC's
// own DES (an implementation neither side shares), and the driver's vncProxy/openVncSocket against
// the emulator's vncproxy and vncwebsocket: a proxy takes one connection, with its ticket only,
// within its wait; the right password opens the RFB stream up to ServerInit, a wrong one is refused;
// the ticket and the password reach no log line.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ProxmoxClient } from '../../daemon/drivers/proxmox/index.ts';
import { authenticateUpstream, RfbError, SocketReader, vncAuthResponse } from '../../daemon/console/rfb.ts';
import { startProxmoxEmulator, type ProxmoxEmulator } from '../emulator/proxmox/index.ts';
import { vncAuthAnswer } from '../emulator/proxmox/rfb.ts';
import { ROOT } from '../helpers/daemon.ts';

interface DesCipher { encrypt(alg: unknown, data: Uint8Array): Uint8Array }
interface DesModule { DESECBCipher: { importKey(key: number[], ...rest: unknown[]): DesCipher } }

test('VNC authentication: the daemon and the emulator answer a challenge as noVNC does', async () => {
  // Loaded by path: the package exports only core/rfb.js, which needs a browser.
  const des = (await import(pathToFileURL(path.join(ROOT, 'node_modules/@novnc/novnc/core/crypto/des.js')).href)) as DesModule;
  const printable = () => Array.from({ length: 8 }, () => String.fromCharCode(33 + crypto.randomInt(94))).join('');
  for (const password of [printable(), printable(), printable(), 'short', 'pw']) {
    const challenge = crypto.randomBytes(16);
    const key = [...password.slice(0, 8)].map((c) => c.charCodeAt(0));
    while (key.length < 8) key.push(0);
    const expected = Buffer.from(des.DESECBCipher.importKey(key).encrypt({ name: 'DES-ECB' }, new Uint8Array(challenge)));
    assert.equal(vncAuthResponse(password, challenge).toString('hex'), expected.toString('hex'), `daemon, password of ${password.length}`);
    assert.equal(vncAuthAnswer(password, challenge).toString('hex'), expected.toString('hex'), `emulator, password of ${password.length}`);
  }
});

describe('vncproxy and vncwebsocket through the driver', () => {
  let pve: ProxmoxEmulator;
  let client: ProxmoxClient;
  const lines: string[] = [];
  const VMID = 120;

  before(async () => {
    pve = await startProxmoxEmulator({ authFailDelayMs: 0, taskMs: { qmclone: 20, qmstart: 10 } });
    client = new ProxmoxClient({
      endpoints: [{ host: '127.0.0.1', port: pve.port }], fingerprintSha256: pve.fingerprintSha256,
      credentials: { kind: 'token', tokenId: pve.token.id, secret: pve.token.secret }, pollMs: 20,
      io: { log: (l) => lines.push(l) },
    });
    await client.clone('pve1', 9000, { newid: VMID, name: 'console-test' });
    await client.start('pve1', VMID);
  });
  after(async () => {
    client?.close();
    await pve?.close();
  });

  /** Sends ClientInit and reads ServerInit: width, height and the desktop name. */
  async function serverInit(ws: import('ws').WebSocket, r: SocketReader): Promise<{ width: number; height: number; name: string }> {
    ws.send(Buffer.from([1]));
    const head = await r.read(24, 5000);
    const name = (await r.read(head.readUInt32BE(20), 5000)).toString('utf8');
    return { width: head.readUInt16BE(0), height: head.readUInt16BE(2), name };
  }

  test('the right password opens the RFB stream once; the port takes no second connection', async () => {
    const before = { ...pve.vnc, refused: pve.vnc.refused.length };
    const proxy = await client.vncProxy('pve1', VMID);
    assert.ok(proxy.port >= 5900 && proxy.port <= 5999, `port ${proxy.port}`);
    assert.equal(proxy.password.length, 8);
    assert.ok(proxy.ticket.startsWith(`${proxy.password}:PVEVNC:`), 'the ticket carries the password first');
    assert.match(proxy.upid, /^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vncproxy:120:/);
    assert.equal(proxy.user, pve.token.id);
    const ws = await client.openVncSocket('pve1', VMID, proxy);
    assert.equal(ws.protocol, 'binary');
    const r = new SocketReader(ws, 'VNC server');
    await authenticateUpstream(ws, r, proxy.password, 5000);
    assert.deepEqual(await serverInit(ws, r), { width: 640, height: 400, name: 'console-test' });
    assert.equal(pve.vnc.authOk, before.authOk + 1);
    assert.equal(pve.vnc.accepted, before.accepted + 1);

    // The same proxy again: nothing listens on its port any more.
    await assert.rejects(client.openVncSocket('pve1', VMID, proxy), (e: Error & { status?: number }) => e.status === 500 && /proxy connection failed/.test(e.message));
    assert.equal(pve.vnc.refused.length, before.refused + 1);
    ws.close();

    const text = lines.join('\n');
    assert.ok(!text.includes(proxy.ticket) && !text.includes(encodeURIComponent(proxy.ticket)), 'no ticket in the log');
    assert.ok(!text.includes(proxy.password), 'no VNC password in the log');
    assert.match(text, /vncproxy \{websocket\} → 200/);
  });

  test('a wrong password is refused inside RFB with the server\'s reason', async () => {
    const failed = pve.vnc.authFailed;
    const proxy = await client.vncProxy('pve1', VMID);
    const ws = await client.openVncSocket('pve1', VMID, proxy);
    const wrong = proxy.password.split('').reverse().join('') === proxy.password ? 'xxxxxxxx' : proxy.password.split('').reverse().join('');
    await assert.rejects(authenticateUpstream(ws, new SocketReader(ws, 'VNC server'), wrong, 5000), (e: Error) => e instanceof RfbError && /refused the password: Authentication failed/.test(e.message));
    assert.equal(pve.vnc.authFailed, failed + 1);
    ws.close();
  });

  test('a forged or another port\'s ticket is refused at the upgrade (401)', async () => {
    const a = await client.vncProxy('pve1', VMID);
    const b = await client.vncProxy('pve1', VMID);
    assert.notEqual(a.port, b.port);
    const forged = { ...a, ticket: `${a.password}:PVEVNC:${a.ticket.split(':')[2]}::${crypto.randomBytes(32).toString('base64')}` };
    await assert.rejects(client.openVncSocket('pve1', VMID, forged), (e: Error & { status?: number }) => e.status === 401 && /invalid vnc ticket/.test(e.message));
    await assert.rejects(client.openVncSocket('pve1', VMID, { ...a, ticket: b.ticket }), (e: Error & { status?: number }) => e.status === 401);
    // Both proxies still take their own ticket.
    for (const p of [a, b]) (await client.openVncSocket('pve1', VMID, p)).close();
  });

  test('with a user and password the upgrade is authenticated by the ticket cookie, and the VNC ticket names that user', async () => {
    const user = new ProxmoxClient({
      endpoints: [{ host: '127.0.0.1', port: pve.port }], fingerprintSha256: pve.fingerprintSha256,
      credentials: { kind: 'password', username: 'root@pam', password: pve.rootPassword }, pollMs: 20,
    });
    try {
      const proxy = await user.vncProxy('pve1', VMID);
      assert.equal(proxy.user, 'root@pam');
      const ws = await user.openVncSocket('pve1', VMID, proxy);
      await authenticateUpstream(ws, new SocketReader(ws, 'VNC server'), proxy.password, 5000);
      ws.close();
      // The token's ticket is not the user's: bound to another user, it is refused.
      const other = await client.vncProxy('pve1', VMID);
      await assert.rejects(user.openVncSocket('pve1', VMID, other), (e: Error & { status?: number }) => e.status === 401);
    } finally {
      user.close();
    }
  });

  test('a proxy nobody connects to ends its task with "connection timed out"', async () => {
    pve.vnc.connectTimeoutMs = 300;
    try {
      const proxy = await client.vncProxy('pve1', VMID);
      await assert.rejects(client.waitTask(proxy.upid), /connection timed out/);
      await assert.rejects(client.openVncSocket('pve1', VMID, proxy), /proxy connection failed/);
    } finally {
      pve.vnc.connectTimeoutMs = 10_000;
    }
  });
});
