// The Proxmox driver against the Proxmox API emulator over HTTPS: certificate pinning, token and
// ticket auth, the error envelope and its classification, failover between endpoints, tasks,
// the typed VM operations, firewall ipsets, the sshkeys double encoding, and masking.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:net';
import { classifyError } from '../../daemon/common/errors.ts';
import { MASK } from '../../daemon/log/mask.ts';
import {
  ProxmoxApiError, ProxmoxClient, ProxmoxFingerprintError, ProxmoxRetryableError, ProxmoxTerminalError, TICKET_RENEW_MS, cleanCidr,
  decodeSshKeys, encodeSshKeys, fetchCertificate, isAlreadyExists, isAlreadyRunning, isLocked, isMissingVm, paramError,
  type ProxmoxClientOptions, type ProxmoxCredentials,
} from '../../daemon/drivers/proxmox/index.ts';
import { startProxmoxEmulator, type ProxmoxEmulator } from '../emulator/proxmox/index.ts';

let emu: ProxmoxEmulator;
const clients: ProxmoxClient[] = [];

before(async () => { emu = await startProxmoxEmulator({ authFailDelayMs: 20 }); });
after(async () => {
  for (const c of clients) c.close();
  await emu?.close();
});

interface Made { c: ProxmoxClient; lines: string[]; secrets: string[] }

function make(over: Partial<ProxmoxClientOptions> & { clock?: () => number } = {}): Made {
  const lines: string[] = [];
  const secrets: string[] = [];
  const c = new ProxmoxClient({
    endpoints: [{ host: emu.host, port: emu.port }],
    fingerprintSha256: emu.fingerprintSha256,
    credentials: { kind: 'token', tokenId: emu.token.id, secret: emu.token.secret },
    pollMs: 20,
    timeoutMs: 5000,
    io: { log: (l) => lines.push(l), secret: (s) => secrets.push(s) },
    ...over,
  });
  clients.push(c);
  return { c, lines, secrets };
}

const password = (): ProxmoxCredentials => ({ kind: 'password', username: 'root@pam', password: emu.rootPassword });

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function sshKey(comment: string): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const len = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
  const t = Buffer.from('ssh-ed25519');
  const raw = der.subarray(der.length - 32);
  return `ssh-ed25519 ${Buffer.concat([len(t.length), t, len(32), raw]).toString('base64')} ${comment}`;
}

let nextVmid = 200;
/** A fresh full clone of the template on pve1. */
async function cloneVm(c: ProxmoxClient): Promise<number> {
  const newid = nextVmid++;
  await c.clone('pve1', 9000, { newid, name: `vm${newid}`, full: true, storage: 'local-lvm' });
  return newid;
}

describe('Proxmox driver: TLS pinning', () => {
  it('shows the certificate without trusting it', async () => {
    const cert = await fetchCertificate(emu.host, emu.port, 3000);
    assert.equal(cert.fingerprintSha256, emu.fingerprintSha256);
    assert.match(cert.subject, /CN=/);
    assert.ok(cert.validTo);
  });

  it('a wrong fingerprint is refused before any credential is sent, naming both fingerprints', async () => {
    const wrong = Array(32).fill('AA').join(':');
    const before = emu.requests.length;
    const { c, lines } = make({ fingerprintSha256: wrong, credentials: password() });
    await assert.rejects(c.nodes(), (err: unknown) => {
      assert.ok(err instanceof ProxmoxFingerprintError);
      assert.equal(classifyError(err), 'terminal');
      assert.ok(err.message.includes(wrong) && err.message.includes(emu.fingerprintSha256), err.message);
      assert.match(err.message, /confirm it again/);
      assert.ok(!err.message.includes(emu.rootPassword));
      return true;
    });
    assert.equal(emu.requests.length, before, 'no request (not even the login) reached the server');
    assert.ok(lines.every((l) => !l.includes(emu.rootPassword)));
  });
});

describe('Proxmox driver: auth', () => {
  it('an API token reads the cluster', async () => {
    const { c, lines } = make();
    const v = await c.version();
    assert.match(v.version, /^\d+\.\d+/);
    const nodes = await c.nodes();
    assert.deepEqual(nodes.map((n) => [n.node, n.status]), [['pve1', 'online'], ['pve2', 'online']]);
    assert.ok(nodes[0]!.maxmem > 0);
    const st = await c.storages('pve1', 'images');
    assert.ok(st.some((s) => s.storage === 'local-lvm' && s.content.includes('images')));
    assert.ok(!st.some((s) => s.storage === 'local'), 'the content filter is applied');
    const bridges = await c.bridges('pve1');
    assert.ok(bridges.includes('vmbr0'), JSON.stringify(bridges));
    assert.equal(typeof (await c.nextId()), 'number');
    assert.deepEqual(await c.findVm(9000), { node: 'pve1', status: 'stopped', name: 'debian-12-cloud', template: 1 });
    assert.equal(await c.findVm(123456), null);
    // One line per request: method, path, status, time.
    assert.ok(lines.some((l) => /^PVE GET \/version → 200 \d+ ms/.test(l)), lines.join('\n'));
  });

  it('a user and password log in for a ticket, send the CSRF token on writes, renew the ticket after 90 minutes', async () => {
    let now = Date.now();
    const { c } = make({ credentials: password(), clock: () => now });
    const tickets = () => emu.requests.filter((r) => r.path === '/api2/json/access/ticket').length;
    const t0 = tickets();
    assert.equal((await c.nodes()).length, 2);
    const vmid = await cloneVm(c); // POSTs need the CSRF token
    assert.equal(tickets(), t0 + 1, 'one login for both calls');
    now += TICKET_RENEW_MS + 1000;
    await c.vmStatus('pve1', vmid);
    assert.equal(tickets(), t0 + 2, 'renewed');
    await c.vmStatus('pve1', vmid);
    assert.equal(tickets(), t0 + 2);
  });

  it('a ticket the server refuses is replaced once (re-login on 401)', async () => {
    const { c, lines } = make({ credentials: password() });
    await c.nodes();
    // Spoil the ticket as a restart of the server's key would.
    const auth = (c as unknown as { auth: { ticket: { ticket: string } } }).auth;
    auth.ticket.ticket = auth.ticket.ticket.replace(/::.*/, '::bm90IGEgc2lnbmF0dXJl');
    assert.equal((await c.nodes()).length, 2);
    assert.ok(lines.some((l) => /logging in again/.test(l)));
  });

  it('a wrong token secret or password is a terminal 401 with a hint', async () => {
    const { c } = make({ credentials: { kind: 'token', tokenId: emu.token.id, secret: 'a1b2c3d4-0000-0000-0000-000000000000' } });
    await assert.rejects(c.nodes(), (err: unknown) => {
      assert.ok(err instanceof ProxmoxTerminalError);
      assert.equal(err.status, 401);
      assert.match(err.message, /check the API token/);
      assert.ok(!err.message.includes('a1b2c3d4-0000'), 'the secret is masked');
      return true;
    });
    const p = make({ credentials: { kind: 'password', username: 'root@pam', password: 'wrong-password' } });
    await assert.rejects(p.c.nodes(), (err: unknown) => err instanceof ProxmoxTerminalError && err.status === 401 && /user name and password/.test(err.message));
  });
});

describe('Proxmox driver: errors and failover', () => {
  it('400 is terminal and carries the parameter error', async () => {
    const { c } = make();
    await assert.rejects(c.nextId(9000), (err: unknown) => {
      assert.ok(err instanceof ProxmoxTerminalError);
      assert.equal(err.status, 400);
      assert.ok(isAlreadyExists(err));
      assert.match(paramError(err, 'vmid') ?? '', /already exists/);
      assert.match(err.message, /vmid: VM 9000 already exists/);
      return true;
    });
    await assert.rejects(c.request('GET', '/nodes/pve1/qemu/9000/config', { bogus: 1 }), (err: unknown) =>
      err instanceof ProxmoxTerminalError && err.status === 400 && paramError(err, 'bogus') !== null);
  });

  it('501 for an unknown path is terminal', async () => {
    const { c } = make();
    await assert.rejects(c.request('GET', '/no/such/thing'), (err: unknown) => err instanceof ProxmoxTerminalError && err.status === 501);
  });

  it('500 lock errors are retryable and recognisable; a missing VM is its own error', async () => {
    const { c } = make();
    const vmid = await cloneVm(c);
    emu.fault({ path: new RegExp(`/qemu/${vmid}/config$`), kind: 'lock-timeout' });
    await assert.rejects(c.updateConfig('pve1', vmid, { description: 'x' }, { sync: true }), (err: unknown) => {
      assert.ok(err instanceof ProxmoxRetryableError);
      assert.equal(err.status, 500);
      assert.ok(isLocked(err));
      assert.match(err.proxmoxMessage, /can't lock file .* got timeout$/);
      return true;
    });
    emu.setLock(vmid, 'backup');
    await assert.rejects(c.updateConfig('pve1', vmid, { description: 'x' }, { sync: true }), (err: unknown) => isLocked(err) && classifyError(err) === 'retryable' && /VM is locked \(backup\)/.test((err as Error).message));
    emu.setLock(vmid, null);
    await assert.rejects(c.vmConfig('pve2', vmid), (err: unknown) => isMissingVm(err) && classifyError(err) === 'terminal' && !(err as Error).message.endsWith('\n'));
  });

  it('595 (node unreachable behind pveproxy) is retryable', async () => {
    const { c } = make();
    emu.setNodeOnline('pve2', false);
    try {
      await assert.rejects(c.storages('pve2'), (err: unknown) => err instanceof ProxmoxRetryableError && err.status === 595);
      const nodes = await c.nodes();
      assert.equal(nodes.find((n) => n.node === 'pve2')!.status, 'offline');
    } finally {
      emu.setNodeOnline('pve2', true);
    }
    emu.fault({ path: /\/version$/, kind: '595' });
    await assert.rejects(c.version(), (err: unknown) => classifyError(err) === 'retryable' && (err as ProxmoxApiError).status === 595);
  });

  it('a refused endpoint moves on to the next one; none answering is retryable', async () => {
    const dead = await closedPort();
    const { c, lines } = make({ endpoints: [{ host: '127.0.0.1', port: dead }, { host: emu.host, port: emu.port }] });
    assert.equal((await c.nodes()).length, 2);
    assert.ok(lines.some((l) => l.includes(`127.0.0.1:${dead} failed (ECONNREFUSED`) && l.includes('trying the next endpoint')), lines.join('\n'));
    // The endpoint that answered is tried first afterwards.
    const n = lines.length;
    await c.version();
    assert.ok(!lines.slice(n).some((l) => l.includes('trying the next')));

    const none = make({ endpoints: [{ host: '127.0.0.1', port: dead }, { host: '127.0.0.1', port: dead }] });
    await assert.rejects(none.c.version(), (err: unknown) => err instanceof ProxmoxRetryableError && err.status === null && /no endpoint answered/.test(err.message));
  });

  it('a connection dropped after a GET was sent is retried on the next endpoint; after a POST it is retryable', async () => {
    const two = [{ host: emu.host, port: emu.port }, { host: emu.host, port: emu.port }];
    const { c } = make({ endpoints: two });
    emu.fault({ method: 'GET', path: /\/nodes$/, kind: 'refuse' });
    assert.equal((await c.nodes()).length, 2);
    emu.fault({ method: 'POST', path: /\/firewall\/ipset$/, kind: 'refuse' });
    await assert.rejects(c.createIpset('pve1', 9000, 'dropped'), (err: unknown) => err instanceof ProxmoxRetryableError && /may have been applied/.test(err.message));
  });
});

describe('Proxmox driver: timeouts and concurrency', () => {
  it('a request that gets no answer times out: a GET tries the next endpoint, a POST is retryable at once', async () => {
    const { c } = make({ timeoutMs: 300, endpoints: [{ host: emu.host, port: emu.port }, { host: emu.host, port: emu.port }] });
    emu.fault({ method: 'GET', path: /\/version$/, kind: 'stall', ms: 1000 });
    const started = Date.now();
    assert.match((await c.version()).version, /^\d/);
    assert.ok(Date.now() - started < 1000, 'the second endpoint answered after the first timed out');
    emu.fault({ method: 'PUT', path: /\/firewall\/options$/, kind: 'stall', ms: 1000 });
    await assert.rejects(c.setFirewallOptions('pve1', 9000, { enable: 0 }), (err: unknown) =>
      err instanceof ProxmoxRetryableError && /ETIMEDOUT/.test(err.message) && /may have been applied/.test(err.message));
  });

  it('parallel calls share a bounded pool of kept-alive connections', async () => {
    const { c } = make({ maxSockets: 2 });
    const all = await Promise.all(Array.from({ length: 20 }, () => c.nodes()));
    assert.ok(all.every((n) => n.length === 2));
  });
});

describe('Proxmox driver: tasks and VM operations', () => {
  it('clone, find, resize, migrate, start, stop, destroy through the typed methods', async () => {
    const { c, lines } = make();
    const newid = nextVmid++;
    const res = await c.clone('pve1', 9000, { newid, name: `web${newid}`, full: true, storage: 'local-lvm' });
    assert.equal(res.exitstatus, 'OK');
    assert.equal(res.warnings, 0);
    assert.equal(res.log.at(-1), 'TASK OK');
    assert.ok(lines.includes('  TASK OK'), 'task log lines reach io.log');
    assert.deepEqual(await c.findVm(newid), { node: 'pve1', status: 'stopped', name: `web${newid}`, template: 0 });

    const cfg = await c.vmConfig('pve1', newid);
    assert.equal(typeof cfg.memory, 'number');
    const disk = Object.keys(cfg).find((k) => /^(scsi|virtio)0$/.test(k))!;
    const before = /size=(\d+)G/.exec(String(cfg[disk]))![1]!;
    const r = await c.resize('pve1', newid, disk, '+3G');
    assert.ok(r === null || r.exitstatus === 'OK');
    const after = /size=(\d+)G/.exec(String((await c.vmConfig('pve1', newid))[disk]))![1]!;
    assert.equal(Number(after), Number(before) + 3);

    const m = await c.migrate('pve1', newid, { target: 'pve2', targetstorage: 'local-lvm' });
    assert.equal(m.exitstatus, 'OK');
    assert.equal((await c.findVm(newid))!.node, 'pve2');
    await assert.rejects(c.vmStatus('pve1', newid), (err: unknown) => isMissingVm(err));

    await c.start('pve2', newid);
    assert.equal((await c.vmStatus('pve2', newid)).status, 'running');
    await assert.rejects(c.start('pve2', newid), (err: unknown) => isAlreadyRunning(err) && classifyError(err) === 'terminal' && !!(err as ProxmoxApiError).upid);
    await c.stop('pve2', newid, { timeout: 10 });
    assert.equal((await c.vmStatus('pve2', newid)).status, 'stopped');

    const d = await c.destroy('pve2', newid);
    assert.ok(d.warnings >= 0);
    assert.equal(await c.findVm(newid), null);
    assert.ok(!emu.vms().has(newid));
  });

  it('waitTask: an injected task failure is classified, and its log kept', async () => {
    const { c } = make();
    const vmid = await cloneVm(c);
    emu.fault({ path: new RegExp(`/qemu/${vmid}/status/start$`), kind: 'task-fail', message: "can't lock file '/var/lock/qemu-server/lock-1.conf' - got timeout" });
    await assert.rejects(c.start('pve1', vmid), (err: unknown) => {
      assert.ok(err instanceof ProxmoxRetryableError);
      assert.ok(isLocked(err));
      assert.ok(err.taskLog!.some((l) => l.startsWith('TASK ERROR:')));
      return true;
    });
    emu.fault({ path: new RegExp(`/qemu/${vmid}/status/start$`), kind: 'task-fail', message: 'start failed: QEMU exited with code 1' });
    await assert.rejects(c.start('pve1', vmid), (err: unknown) => err instanceof ProxmoxTerminalError && /QEMU exited/.test(err.message));
  });

  it('waitTask: WARNINGS: 1 is success, with the warning counted and logged', async () => {
    const { c, lines } = make();
    const vmid = await cloneVm(c);
    const r = await c.updateConfig('pve1', vmid, { delete: 'tags' });
    assert.ok(r);
    assert.equal(r.exitstatus, 'WARNINGS: 1');
    assert.equal(r.warnings, 1);
    assert.equal(r.log.at(-1), 'TASK WARNINGS: 1');
    assert.ok(lines.some((l) => /WARN: cannot delete 'tags'/.test(l)), lines.join('\n'));
    const m = await c.migrate('pve1', vmid, { target: 'pve2', online: true });
    assert.equal(m.warnings, 1, 'an online migration of a stopped VM warns and succeeds');
    assert.equal((await c.findVm(vmid))!.node, 'pve2');
  });

  it('waitTask: a task still running at the deadline is retryable; a malformed UPID is refused', async () => {
    const { c } = make();
    const upid = await c.startTask('POST', '/nodes/pve1/qemu/9000/clone', { newid: nextVmid++, full: true });
    await assert.rejects(c.waitTask(upid, { timeoutMs: 30 }), (err: unknown) => err instanceof ProxmoxRetryableError && /still running/.test(err.message));
    const done = await c.waitTask(upid);
    assert.equal(done.exitstatus, 'OK');
    await assert.rejects(c.waitTask('UPID:bad'), /upid/);
  });

  it('nextId with a free vmid answers it; config strings are normalised', async () => {
    const { c } = make();
    assert.equal(await c.nextId(777), 777);
    const vmid = await cloneVm(c);
    await c.updateConfig('pve1', vmid, { memory: 3072, cores: 2 });
    const cfg = await c.vmConfig('pve1', vmid, { current: true });
    assert.equal(cfg.memory, 3072);
    assert.equal(cfg.cores, 2);
  });
});

describe('Proxmox driver: firewall and cloud-init', () => {
  it('ipset helpers create, list, refuse duplicates, remove; firewall options round trip', async () => {
    const { c } = make();
    const vmid = await cloneVm(c);
    await c.createIpset('pve1', vmid, 'ipfilter-net0', 'anti-spoofing');
    await assert.rejects(c.createIpset('pve1', vmid, 'ipfilter-net0'), (err: unknown) => isAlreadyExists(err) && classifyError(err) === 'terminal');
    assert.deepEqual(await c.ipsets('pve1', vmid), ['ipfilter-net0']);
    await c.addIpsetEntry('pve1', vmid, 'ipfilter-net0', '192.0.2.10/32', 'main IP');
    await c.addIpsetEntry('pve1', vmid, 'ipfilter-net0', '2001:db8::10/128');
    await assert.rejects(c.addIpsetEntry('pve1', vmid, 'ipfilter-net0', '192.0.2.10/32'), (err: unknown) => isAlreadyExists(err));
    const entries = await c.ipsetEntries('pve1', vmid, 'ipfilter-net0');
    // Stored in the clean form; the driver removes by any spelling.
    assert.deepEqual(entries.map((e) => e.cidr).sort(), ['192.0.2.10', '2001:db8::10'].map((x) => cleanCidr(x)));
    assert.equal(entries.find((e) => e.cidr === cleanCidr('192.0.2.10/32'))!.comment, 'main IP');
    await c.removeIpsetEntry('pve1', vmid, 'ipfilter-net0', '2001:0DB8:0:0::10/128');
    assert.deepEqual((await c.ipsetEntries('pve1', vmid, 'ipfilter-net0')).map((e) => e.cidr), ['192.0.2.10']);
    await c.setFirewallOptions('pve1', vmid, { enable: 1, ipfilter: 1, policy_in: 'ACCEPT' });
    const o = await c.firewallOptions('pve1', vmid);
    assert.equal(Number(o.enable), 1);
    assert.equal(Number(o.ipfilter), 1);
    assert.equal(emu.vms().get(vmid)!.firewall.ipsets.get('ipfilter-net0')!.length, 1);
  });

  it('sshkeys survive the double encoding (comments with spaces and ":", two keys)', async () => {
    const { c } = make();
    const vmid = await cloneVm(c);
    const keys = `${sshKey('alice laptop: work key')}\n${sshKey('bob@example.org')}`;
    await c.updateConfig('pve1', vmid, { sshkeys: encodeSshKeys(keys), ciuser: 'debian' });
    const cfg = await c.vmConfig('pve1', vmid);
    assert.equal(decodeSshKeys(String(cfg.sshkeys)), keys);
    assert.equal(decodeSshKeys(String(emu.vms().get(vmid)!.config.sshkeys)), keys);
    // Sent without the inner layer, the server refuses it: the encoding is what makes it pass.
    await assert.rejects(c.updateConfig('pve1', vmid, { sshkeys: keys }, { sync: true }), (err: unknown) =>
      err instanceof ProxmoxTerminalError && /invalid urlencoded string/.test(paramError(err, 'sshkeys') ?? ''));
  });
});

describe('Proxmox driver: backups', () => {
  it('lists a VM backup and deletes it', async () => {
    const { c } = make();
    const vmid = await cloneVm(c);
    const upid = await c.startTask('POST', '/nodes/pve1/vzdump', { vmid, storage: 'local', mode: 'stop', compress: 'zstd' });
    await c.waitTask(upid);
    const list = await c.listBackups('pve1', 'local', vmid);
    assert.equal(list.length, 1);
    assert.match(list[0]!.volid, new RegExp(`^local:backup/vzdump-qemu-${vmid}-`));
    await c.deleteVolume('pve1', 'local', list[0]!.volid);
    assert.deepEqual(await c.listBackups('pve1', 'local', vmid), []);
  });
});

describe('Proxmox driver: secrets', () => {
  it('the token secret, password and ticket never appear in log lines or error messages', async () => {
    const seen: string[] = [];
    const t = make();
    const p = make({ credentials: password() });
    const vmid = await cloneVm(p.c);
    await p.c.updateConfig('pve1', vmid, { description: `set by ${emu.rootPassword}` }, { sync: true }); // a secret in a parameter value
    await assert.rejects(p.c.request('GET', `/nodes/pve1/qemu/${vmid}/config`, { [emu.rootPassword.slice(0, 8)]: emu.rootPassword }), (err: unknown) => { seen.push((err as Error).message); return true; });
    await assert.rejects(t.c.request('GET', '/cluster/nextid', { vmid: 9000, x: emu.token.secret }), (err: unknown) => { seen.push((err as Error).message); return true; });
    await t.c.nodes();
    const ticket = p.secrets.find((s) => s.startsWith('PVE:'));
    assert.ok(ticket, 'the ticket was registered as a secret');
    assert.ok(p.secrets.includes(emu.rootPassword));
    assert.ok(t.secrets.includes(emu.token.secret));
    const all = [...t.lines, ...p.lines, ...seen];
    assert.ok(all.some((l) => l.includes(MASK)), 'the secret values were there to mask');
    for (const line of all) {
      for (const s of [emu.token.secret, emu.rootPassword, ticket!]) assert.ok(!line.includes(s), `leaked in: ${line}`);
    }
  });
});
