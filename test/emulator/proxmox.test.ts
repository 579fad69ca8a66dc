// The Proxmox VE emulator against the reference (docs: /work/shared/reference/proxmox.md §1–3),
// spoken to over HTTPS with its certificate pinned, the way the driver talks to a real cluster.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { type ProxmoxEmulator, startProxmoxEmulator } from './proxmox/index.ts';

interface Res { status: number; reason: string; body: { data: unknown; message?: string; errors?: Record<string, string>; total?: number }; raw: string }
type Body = Record<string, string | number | boolean>;

function client(emu: ProxmoxEmulator, auth?: () => Record<string, string>) {
  const headers0 = () => auth?.() ?? { authorization: `PVEAPIToken=${emu.token.id}=${emu.token.secret}` };
  return (method: string, path: string, body?: Body, opts: { json?: boolean; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Res> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : opts.json ? JSON.stringify(body) : new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString();
      const req = request(`${emu.url}/api2/json${path}`, {
        method,
        ca: emu.certPem,
        // Pin the certificate by its SHA-256 fingerprint, as the driver does.
        checkServerIdentity: (_h, cert) => (cert.fingerprint256 === emu.fingerprintSha256 ? undefined : new Error('fingerprint mismatch')),
        headers: { ...headers0(), ...(payload ? { 'content-type': opts.json ? 'application/json' : 'application/x-www-form-urlencoded' } : {}), ...opts.headers },
        timeout: opts.timeoutMs ?? 10_000,
      }, (res) => {
        let raw = '';
        res.setEncoding('utf8');
        res.on('data', (c) => { raw += c; });
        res.on('end', () => resolve({ status: res.statusCode!, reason: res.statusMessage ?? '', body: JSON.parse(raw), raw }));
      });
      req.on('timeout', () => req.destroy(new Error('client timeout')));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitTask(call: ReturnType<typeof client>, node: string, upid: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const r = await call('GET', `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`);
    assert.equal(r.status, 200, r.raw);
    const s = r.body.data as Record<string, unknown>;
    if (s.status === 'stopped') return s;
    await sleep(15);
  }
  throw new Error(`task ${upid} did not stop`);
}

let emu: ProxmoxEmulator;
let call: ReturnType<typeof client>;

before(async () => {
  emu = await startProxmoxEmulator({ authFailDelayMs: 150, flockWaitMs: 300, taskMs: { qmclone: 200, qmigrate: 100, resize: 30, qmstart: 20, qmstop: 20, qmshutdown: 20, qmdestroy: 20, qmconfig: 20, vzdump: 100, qmsnapshot: 100, imgdel: 10 } });
  call = client(emu);
});
after(async () => { await emu.close(); });

/** Clone the default template to `newid` and wait for the task. */
async function cloneOf(newid: number, extra: Body = {}): Promise<Record<string, unknown>> {
  const r = await call('POST', '/nodes/pve1/qemu/9000/clone', { newid, ...extra });
  assert.equal(r.status, 200, r.raw);
  return waitTask(call, 'pve1', String(r.body.data));
}

describe('transport, envelope and errors', () => {
  test('success bodies are wrapped in data; nextid is a string; the certificate fingerprint is the one advertised', async () => {
    const v = await call('GET', '/version');
    assert.equal(v.status, 200);
    assert.deepEqual(Object.keys(v.body.data as object).sort(), ['release', 'repoid', 'version']);
    const n = await call('GET', '/cluster/nextid');
    assert.equal(typeof n.body.data, 'string');
    assert.match(emu.fingerprintSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const nodes = (await call('GET', '/nodes')).body.data as Array<Record<string, unknown>>;
    assert.deepEqual(nodes.map((x) => x.node).sort(), ['pve1', 'pve2']);
    assert.equal(nodes[0]!.ssl_fingerprint, emu.fingerprintSha256);
    assert.ok(nodes.every((x) => x.status === 'online' && typeof x.cpu === 'number' && x.maxmem === 32768 * 1024 * 1024));
  });

  test('errors carry the message in the status line and the body, with a trailing newline', async () => {
    const missing = await call('GET', '/nodes/pve1/qemu/123/config');
    assert.equal(missing.status, 500);
    assert.equal(missing.reason, "Configuration file 'nodes/pve1/qemu-server/123.conf' does not exist");
    assert.deepEqual(missing.body, { data: null, message: "Configuration file 'nodes/pve1/qemu-server/123.conf' does not exist\n" });

    const unknown = await call('GET', '/nodes/pve1/frobnicate');
    assert.equal(unknown.status, 501);
    assert.equal(unknown.body.message, "Method 'GET /nodes/pve1/frobnicate' not implemented\n");
    assert.equal((await call('PATCH', '/version')).status, 501);

    const bad = await call('GET', '/cluster/nextid?vmid=50&bogus=1');
    assert.equal(bad.status, 400);
    assert.equal(bad.reason, 'Parameter verification failed.');
    assert.deepEqual(bad.body.errors, { vmid: 'value does not look like a valid VM ID', bogus: 'property is not defined in schema and the schema does not allow additional properties' });

    const missingParam = await call('POST', '/nodes/pve1/qemu/9000/clone', {});
    assert.equal(missingParam.status, 400);
    assert.equal(missingParam.body.errors!.newid, 'property is missing and it is not optional');
  });

  test('JSON bodies work like form bodies, and query parameters are merged in', async () => {
    await cloneOf(150);
    const r = await call('PUT', '/nodes/pve1/qemu/150/config?cores=3', { onboot: true, description: 'json body' }, { json: true });
    assert.equal(r.status, 200, r.raw);
    assert.deepEqual(r.body, { data: null });
    const cfg = (await call('GET', '/nodes/pve1/qemu/150/config')).body.data as Record<string, unknown>;
    assert.equal(cfg.cores, 3);
    assert.equal(cfg.onboot, 1);
    assert.equal(cfg.description, 'json body');
    assert.equal(cfg.memory, '2048', 'memory is a string since PVE 8.1');
  });
});

describe('authentication', () => {
  test('an API token works with "=" or a space after PVEAPIToken; a bad one is 401 after the delay', async () => {
    const spaced = client(emu, () => ({ authorization: `PVEAPIToken ${emu.token.id}=${emu.token.secret}` }));
    assert.equal((await spaced('GET', '/version')).status, 200);
    const wrong = client(emu, () => ({ authorization: `PVEAPIToken=${emu.token.id}=00000000-0000-0000-0000-000000000000` }));
    const t0 = Date.now();
    const r = await wrong('GET', '/version');
    assert.equal(r.status, 401);
    assert.ok(Date.now() - t0 >= 140, 'every 401 is delayed');
    assert.ok(!r.raw.includes(emu.token.secret));
    const none = client(emu, () => ({}));
    const n = await none('GET', '/version');
    assert.deepEqual([n.status, n.body.message], [401, 'No ticket\n']);
  });

  test('ticket flow: cookie for reads, CSRFPreventionToken for writes, renewal with the old ticket', async () => {
    const anon = client(emu, () => ({}));
    const bad = await anon('POST', '/access/ticket', { username: 'root@pam', password: 'nope' });
    assert.equal(bad.status, 401);
    const ok = await anon('POST', '/access/ticket', { username: 'root', realm: 'pam', password: emu.rootPassword });
    assert.equal(ok.status, 200, ok.raw);
    const t = ok.body.data as { ticket: string; CSRFPreventionToken: string; username: string };
    assert.equal(t.username, 'root@pam');
    assert.match(t.ticket, /^PVE:root@pam:[0-9A-F]{8}::/);
    const cookie = { cookie: `PVEAuthCookie=${encodeURIComponent(t.ticket)}` };
    const withTicket = client(emu, () => cookie);
    assert.equal((await withTicket('GET', '/nodes')).status, 200);
    const noCsrf = await withTicket('POST', '/nodes/pve1/qemu/150/firewall/ipset', { name: 'csrf-test' });
    assert.equal(noCsrf.status, 401);
    const csrf = client(emu, () => ({ ...cookie, csrfpreventiontoken: t.CSRFPreventionToken }));
    assert.equal((await csrf('POST', '/nodes/pve1/qemu/150/firewall/ipset', { name: 'csrf-test' })).status, 200);
    const renewed = await anon('POST', '/access/ticket', { username: 'root@pam', password: t.ticket });
    assert.equal(renewed.status, 200);
    const forged = client(emu, () => ({ cookie: `PVEAuthCookie=${encodeURIComponent(t.ticket.replace(/::.*/, '::AAAA'))}` }));
    assert.equal((await forged('GET', '/nodes')).status, 401);
  });
});

describe('VMIDs, clone and tasks', () => {
  test('nextid reserves nothing: two callers get the same id, and cloning onto a taken id fails', async () => {
    const [a, b] = await Promise.all([call('GET', '/cluster/nextid'), call('GET', '/cluster/nextid')]);
    assert.equal(a.body.data, b.body.data);
    const id = Number(a.body.data);
    const first = await call('POST', '/nodes/pve1/qemu/9000/clone', { newid: id, name: 'race-a' });
    assert.equal(first.status, 200);
    const second = await call('POST', '/nodes/pve1/qemu/9000/clone', { newid: id, name: 'race-b' });
    assert.equal(second.status, 500);
    assert.equal(second.body.message, `unable to create VM ${id}: config file already exists\n`);
    await waitTask(call, 'pve1', String(first.body.data));
    const taken = await call('GET', `/cluster/nextid?vmid=${id}`);
    assert.equal(taken.status, 400);
    assert.equal(taken.body.errors!.vmid, `VM ${id} already exists`);
  });

  test('a clone is a task: UPID format, lock while running, new MACs and disk, log ending in TASK OK', async () => {
    const r = await call('POST', '/nodes/pve1/qemu/9000/clone', { newid: 201, name: 'web201.example.com' });
    const upid = String(r.body.data);
    assert.match(upid, /^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmclone:9000:hostbridge@pve!deploy:$/);
    assert.equal(emu.vms().get(201)!.lock, 'clone');
    const locked = await call('PUT', '/nodes/pve1/qemu/201/config', { cores: 4 });
    assert.deepEqual([locked.status, locked.body.message], [500, 'VM is locked (clone)\n']);
    // Polling another node does not find the task.
    const elsewhere = await call('GET', `/nodes/pve2/tasks/${encodeURIComponent(upid)}/status`);
    assert.deepEqual([elsewhere.status, elsewhere.body.errors], [400, { upid: 'no such task' }]);
    const running = (await call('GET', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`)).body.data as Record<string, unknown>;
    assert.equal(running.status, 'running');
    assert.equal('exitstatus' in running, false);
    const done = await waitTask(call, 'pve1', upid);
    assert.equal(done.exitstatus, 'OK');
    const cfg = (await call('GET', '/nodes/pve1/qemu/201/config')).body.data as Record<string, string>;
    const tpl = (await call('GET', '/nodes/pve1/qemu/9000/config')).body.data as Record<string, string>;
    assert.equal(cfg.name, 'web201.example.com');
    assert.equal(cfg.lock, undefined);
    assert.equal(cfg.template, undefined);
    assert.notEqual(cfg.net0!.match(/virtio=([^,]+)/)![1], tpl.net0!.match(/virtio=([^,]+)/)![1]);
    assert.match(cfg.scsi0!, /^local-lvm:vm-201-disk-0,/);
    assert.match(cfg.ide2!, /^local-lvm:vm-201-cloudinit,media=cdrom/);
    assert.match(cfg.digest!, /^[0-9a-f]{40}$/);
    const log = await call('GET', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log?start=0&limit=2`);
    assert.equal((log.body.data as unknown[]).length, 2);
    assert.ok(log.body.total! > 2);
    const all = (await call('GET', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log`)).body.data as Array<{ n: number; t: string }>;
    assert.equal(all[0]!.n, 1);
    assert.equal(all.at(-1)!.t, 'TASK OK');
    const listed = (await call('GET', '/nodes/pve1/tasks?typefilter=qmclone&vmid=9000')).body.data as Array<Record<string, unknown>>;
    assert.ok(listed.some((t) => t.upid === upid && t.status === 'OK' && typeof t.endtime === 'number'));
  });

  test('clone rules: linked needs a template, storage only with full clones, target only with shared storage', async () => {
    await cloneOf(202);
    const linked = await call('POST', '/nodes/pve1/qemu/202/clone', { newid: 203, full: 0 });
    assert.equal(linked.body.message, "Linked clone feature is not supported for 'local-lvm:vm-202-disk-0' (scsi0)\n");
    const storage = await call('POST', '/nodes/pve1/qemu/9000/clone', { newid: 203, storage: 'local-lvm' });
    assert.equal(storage.body.message, "parameter 'storage' not allowed for linked clones\n");
    const target = await call('POST', '/nodes/pve1/qemu/9000/clone', { newid: 203, target: 'pve2' });
    assert.equal(target.body.message, "can't clone VM to node 'pve2' (VM uses local storage)\n");
    const noImages = await call('POST', '/nodes/pve1/qemu/9000/clone', { newid: 203, full: 1, storage: 'local' });
    assert.equal(noImages.status, 400);
    assert.equal(emu.vms().has(203), false);
  });

  test('parallel clones take turns on the storage allocation lock and may time out on it', async () => {
    const busy = await startProxmoxEmulator({ storageLockWaitMs: 100, taskMs: { alloc: 300, qmclone: 20 } });
    try {
      const c2 = client(busy);
      const [a, b] = await Promise.all([c2('POST', '/nodes/pve1/qemu/9000/clone', { newid: 100 }), c2('POST', '/nodes/pve1/qemu/9000/clone', { newid: 101 })]);
      const results = await Promise.all([waitTask(c2, 'pve1', String(a.body.data)), waitTask(c2, 'pve1', String(b.body.data))]);
      assert.deepEqual(results.map((r) => r.exitstatus).sort(), ["OK", "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout"]);
      assert.equal([...busy.vms().keys()].filter((id) => id !== 9000).length, 1, 'the failed clone left nothing behind');
    } finally { await busy.close(); }
  });

  test('a template is cloned in parallel; a stale lock on the source refuses synchronously', async () => {
    const [a, b] = await Promise.all([cloneOf(210), cloneOf(211)]);
    assert.equal(a.exitstatus, 'OK');
    assert.equal(b.exitstatus, 'OK');
    emu.setLock(9000, 'backup');
    const r = await call('POST', '/nodes/pve1/qemu/9000/clone', { newid: 212 });
    assert.deepEqual([r.status, r.body.message], [500, 'VM is locked (backup)\n']);
    emu.setLock(9000, null);
  });
});

describe('config', () => {
  test('pending values on a running VM, hotplugged NICs, masked cipassword, digest and balloon checks', async () => {
    await cloneOf(220);
    const start = await call('POST', '/nodes/pve1/qemu/220/status/start');
    assert.equal((await waitTask(call, 'pve1', String(start.body.data))).exitstatus, 'OK');
    assert.equal((await call('PUT', '/nodes/pve1/qemu/220/config', { memory: 4096, net1: 'virtio,bridge=vmbr1', cipassword: 'hunter2' })).status, 200);
    const cfg = (await call('GET', '/nodes/pve1/qemu/220/config')).body.data as Record<string, string>;
    const current = (await call('GET', '/nodes/pve1/qemu/220/config?current=1')).body.data as Record<string, string>;
    assert.equal(cfg.memory, '4096');
    assert.equal(current.memory, '2048', 'memory is not hotpluggable by default');
    assert.match(current.net1!, /^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr1$/, 'a NIC without MAC gets one, and is hotplugged');
    assert.equal(cfg.cipassword, '**********');
    assert.match(String(emu.vms().get(220)!.config.cipassword), /^\$6\$/);
    const pending = (await call('GET', '/nodes/pve1/qemu/220/pending')).body.data as Array<Record<string, unknown>>;
    assert.deepEqual(pending.find((e) => e.key === 'memory'), { key: 'memory', value: '2048', pending: '4096' });
    const stale = await call('PUT', '/nodes/pve1/qemu/220/config', { cores: 2, digest: '0'.repeat(40) });
    assert.equal(stale.status, 500);
    assert.match(stale.body.message!, /^checksum mismatch/);
    const balloon = await call('PUT', '/nodes/pve1/qemu/220/config', { balloon: 8192 });
    assert.equal(balloon.body.message, 'balloon value too large (must be smaller than assigned memory)\n');
    const empty = await call('PUT', '/nodes/pve1/qemu/220/config', {});
    assert.equal(empty.body.message, 'no options specified\n');
    const badNet = await call('PUT', '/nodes/pve1/qemu/220/config', { net0: 'virtio,bridge=vmbr0,tag=5000' });
    assert.equal(badNet.status, 400);
    assert.match(badNet.body.errors!.net0!, /^invalid format - tag: value must have a maximum value of 4094/);
    // Stop and start: pending values apply.
    await waitTask(call, 'pve1', String((await call('POST', '/nodes/pve1/qemu/220/status/stop')).body.data));
    await waitTask(call, 'pve1', String((await call('POST', '/nodes/pve1/qemu/220/status/start')).body.data));
    assert.equal(((await call('GET', '/nodes/pve1/qemu/220/config?current=1')).body.data as Record<string, string>).memory, '4096');
    const again = await waitTask(call, 'pve1', String((await call('POST', '/nodes/pve1/qemu/220/status/start')).body.data));
    assert.equal(again.exitstatus, 'VM 220 already running');
  });

  test('a new disk storage:GiB allocates vm-<id>-disk-N; POST config is a task; a warning gives WARNINGS: n', async () => {
    await cloneOf(221);
    const r = await call('POST', '/nodes/pve1/qemu/221/config', { scsi1: 'local-lvm:4,discard=on', delete: 'tablet' });
    const upid = String(r.body.data);
    assert.match(upid, /:qmconfig:221:/);
    const s = await waitTask(call, 'pve1', upid);
    assert.equal(s.exitstatus, 'WARNINGS: 1', 'deleting an unset key warns, and WARNINGS is a success');
    const log = (await call('GET', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log`)).body.data as Array<{ t: string }>;
    assert.equal(log.at(-1)!.t, 'TASK WARNINGS: 1');
    assert.equal(emu.vms().get(221)!.config.scsi1, 'local-lvm:vm-221-disk-1,discard=on,size=4G');
    const content = (await call('GET', '/nodes/pve1/storage/local-lvm/content?vmid=221')).body.data as Array<Record<string, unknown>>;
    assert.ok(content.some((v) => v.volid === 'local-lvm:vm-221-disk-1' && v.size === 4 * 1024 ** 3));
    assert.equal((await call('PUT', '/nodes/pve1/qemu/221/config', { delete: 'scsi1' })).status, 200);
    assert.equal(emu.vms().get(221)!.config.unused0, 'local-lvm:vm-221-disk-1', 'a removed disk becomes unusedN');
    assert.equal((await call('PUT', '/nodes/pve1/qemu/221/config', { delete: 'unused0' })).status, 200);
    const after = (await call('GET', '/nodes/pve1/storage/local-lvm/content?vmid=221')).body.data as Array<Record<string, unknown>>;
    assert.ok(!after.some((v) => v.volid === 'local-lvm:vm-221-disk-1'), 'deleting unusedN frees the volume');
  });

  test('sshkeys must be percent-encoded (the form adds the outer layer); + or bad keys are refused', async () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0RnlEcOqV8rYj6ZXmJxCkq1jEo7ZCVZ1vQYk2lqvB alice@laptop';
    const key2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2hQxYdNbmJm8yWwJqC8fdp5fAzR3kFvTz0m9pT9Z2k bob:work';
    const inner = encodeURIComponent(`${key}\n${key2}`);
    const ok = await call('PUT', '/nodes/pve1/qemu/221/config', { sshkeys: inner });
    assert.equal(ok.status, 200, ok.raw);
    assert.equal(((await call('GET', '/nodes/pve1/qemu/221/config')).body.data as Record<string, string>).sshkeys, inner);
    const json = await call('PUT', '/nodes/pve1/qemu/221/config', { sshkeys: encodeURIComponent(key) }, { json: true });
    assert.equal(json.status, 200);
    const plus = await call('PUT', '/nodes/pve1/qemu/221/config', { sshkeys: inner.replace(/%20/g, '+') });
    assert.deepEqual([plus.status, plus.body.errors], [400, { sshkeys: 'invalid format - invalid urlencoded string' }]);
    const raw = await call('PUT', '/nodes/pve1/qemu/221/config', { sshkeys: key });
    assert.equal(raw.status, 400, 'an unencoded key has spaces and +/= characters');
    const garbage = await call('PUT', '/nodes/pve1/qemu/221/config', { sshkeys: encodeURIComponent('ssh-ed25519 bm90IGEga2V5 x') });
    assert.deepEqual([garbage.status, garbage.body.message], [500, 'SSH public key validation error\n']);
  });

  test('resize: +N and absolute sizes grow the disk; shrinking fails inside the task; a lock fails inside the task', async () => {
    await cloneOf(222);
    let s = await waitTask(call, 'pve1', String((await call('PUT', '/nodes/pve1/qemu/222/resize', { disk: 'scsi0', size: '+3G' })).body.data));
    assert.equal(s.exitstatus, 'OK');
    assert.match(String(emu.vms().get(222)!.config.scsi0), /size=5G/);
    s = await waitTask(call, 'pve1', String((await call('PUT', '/nodes/pve1/qemu/222/resize', { disk: 'scsi0', size: '8G' })).body.data));
    assert.match(String(emu.vms().get(222)!.config.scsi0), /size=8G/);
    s = await waitTask(call, 'pve1', String((await call('PUT', '/nodes/pve1/qemu/222/resize', { disk: 'scsi0', size: '4G' })).body.data));
    assert.equal(s.exitstatus, 'shrinking disks is not supported');
    const bad = await call('PUT', '/nodes/pve1/qemu/222/resize', { disk: 'scsi0', size: '10GB' });
    assert.equal(bad.status, 400);
    emu.setLock(222, 'backup');
    const r = await call('PUT', '/nodes/pve1/qemu/222/resize', { disk: 'scsi0', size: '+1G' });
    assert.equal(r.status, 200, 'the lock is checked inside the task');
    assert.equal((await waitTask(call, 'pve1', String(r.body.data))).exitstatus, 'VM is locked (backup)');
    emu.setLock(222, null);
  });
});

describe('migrate, power and destroy', () => {
  test('migrate moves the VM to the target; the old path answers 500', async () => {
    await cloneOf(230);
    const same = await call('POST', '/nodes/pve1/qemu/230/migrate', { target: 'pve1' });
    assert.deepEqual([same.status, same.body.errors], [400, { target: 'target is local node.' }]);
    await waitTask(call, 'pve1', String((await call('POST', '/nodes/pve1/qemu/230/status/start')).body.data));
    const live = await call('POST', '/nodes/pve1/qemu/230/migrate', { target: 'pve2' });
    assert.equal(live.body.message, "can't migrate running VM without --online\n");
    await waitTask(call, 'pve1', String((await call('POST', '/nodes/pve1/qemu/230/status/stop')).body.data));
    const r = await call('POST', '/nodes/pve1/qemu/230/migrate', { target: 'pve2' });
    assert.match(String(r.body.data), /^UPID:pve1:.*:qmigrate:230:/);
    assert.equal(emu.vms().get(230)!.lock, 'migrate');
    assert.equal((await waitTask(call, 'pve1', String(r.body.data))).exitstatus, 'OK');
    const old = await call('GET', '/nodes/pve1/qemu/230/status/current');
    assert.deepEqual([old.status, old.body.message], [500, "Configuration file 'nodes/pve1/qemu-server/230.conf' does not exist\n"]);
    const now = await call('GET', '/nodes/pve2/qemu/230/status/current');
    assert.equal((now.body.data as Record<string, unknown>).status, 'stopped');
    const res = (await call('GET', '/cluster/resources?type=vm')).body.data as Array<Record<string, unknown>>;
    assert.equal(res.find((v) => v.vmid === 230)!.node, 'pve2');
    // A live migration needs --with-local-disks for local disks; it fails inside the task.
    await waitTask(call, 'pve2', String((await call('POST', '/nodes/pve2/qemu/230/status/start')).body.data));
    const liveLocal = await waitTask(call, 'pve2', String((await call('POST', '/nodes/pve2/qemu/230/migrate', { target: 'pve1', online: 1 })).body.data));
    assert.equal(liveLocal.exitstatus, "can't live migrate attached local disks without with-local-disks option");
    await waitTask(call, 'pve2', String((await call('POST', '/nodes/pve2/qemu/230/status/stop')).body.data));
    const badStorage = await call('POST', '/nodes/pve2/qemu/230/migrate', { target: 'pve1', targetstorage: 'nosuch' });
    assert.deepEqual([badStorage.status, badStorage.body.message], [500, "storage 'nosuch' does not exist\n"]);
    const onPve2 = (await call('GET', '/nodes/pve2/storage/local-lvm/content?vmid=230')).body.data as unknown[];
    const onPve1 = (await call('GET', '/nodes/pve1/storage/local-lvm/content?vmid=230')).body.data as unknown[];
    assert.equal(onPve1.length, 0);
    assert.ok(onPve2.length >= 1);
  });

  test('destroy is refused while running; stop is a no-op when stopped; destroy frees the disks', async () => {
    await cloneOf(231);
    await waitTask(call, 'pve1', String((await call('POST', '/nodes/pve1/qemu/231/status/start')).body.data));
    const refused = await call('DELETE', '/nodes/pve1/qemu/231?purge=1&destroy-unreferenced-disks=1');
    assert.deepEqual([refused.status, refused.body.message], [500, 'VM 231 is running - destroy failed\n']);
    await waitTask(call, 'pve1', String((await call('POST', '/nodes/pve1/qemu/231/status/stop')).body.data));
    const noop = await waitTask(call, 'pve1', String((await call('POST', '/nodes/pve1/qemu/231/status/stop')).body.data));
    assert.equal(noop.exitstatus, 'OK');
    const del = await call('DELETE', '/nodes/pve1/qemu/231?purge=1&destroy-unreferenced-disks=1');
    assert.equal((await waitTask(call, 'pve1', String(del.body.data))).exitstatus, 'OK');
    assert.equal(emu.vms().has(231), false);
    assert.equal(((await call('GET', '/nodes/pve1/storage/local-lvm/content?vmid=231')).body.data as unknown[]).length, 0);
    assert.equal((await call('GET', '/cluster/nextid?vmid=231')).body.data, '231', 'a freed VMID is handed out again');
  });

  test('shutdown of a guest that ignores ACPI times out unless forceStop', async () => {
    await cloneOf(232);
    await call('PUT', '/nodes/pve1/qemu/232/config', { acpi: 0 });
    await waitTask(call, 'pve1', String((await call('POST', '/nodes/pve1/qemu/232/status/start')).body.data));
    const t = await waitTask(call, 'pve1', String((await call('POST', '/nodes/pve1/qemu/232/status/shutdown', { timeout: 0 })).body.data));
    assert.equal(t.exitstatus, 'VM quit/powerdown failed - got timeout');
    const f = await waitTask(call, 'pve1', String((await call('POST', '/nodes/pve1/qemu/232/status/shutdown', { timeout: 0, forceStop: 1 })).body.data));
    assert.equal(f.exitstatus, 'WARNINGS: 1', 'the forced kill is a warning, and a success');
    assert.equal(emu.vms().get(232)!.status, 'stopped');
  });
});

describe('firewall ipsets', () => {
  test('create, duplicates, zero prefix, normalisation and the non-empty rule', async () => {
    await cloneOf(240);
    const base = '/nodes/pve1/qemu/240/firewall';
    assert.equal((await call('POST', `${base}/ipset`, { name: 'ipfilter-net0', comment: 'anti-spoofing' })).status, 200);
    const dup = await call('POST', `${base}/ipset`, { name: 'ipfilter-net0' });
    assert.deepEqual([dup.status, dup.body.errors], [400, { name: "IPSet 'ipfilter-net0' already exists" }]);
    assert.equal((await call('POST', `${base}/ipset`, { name: '0bad' })).status, 400);
    assert.equal((await call('POST', `${base}/ipset/ipfilter-net0`, { cidr: '192.0.2.10/32' })).status, 200);
    assert.equal((await call('POST', `${base}/ipset/ipfilter-net0`, { cidr: '2001:db8::10/128', comment: 'v6' })).status, 200);
    const again = await call('POST', `${base}/ipset/ipfilter-net0`, { cidr: '192.0.2.10' });
    assert.deepEqual([again.status, again.body.errors], [400, { cidr: "address '192.0.2.10' already exists" }]);
    const zero = await call('POST', `${base}/ipset/ipfilter-net0`, { cidr: '0.0.0.0/0' });
    assert.equal(zero.status, 400);
    const list = (await call('GET', `${base}/ipset/ipfilter-net0`)).body.data as Array<Record<string, unknown>>;
    assert.deepEqual(list.map((e) => e.cidr), ['2001:db8::10', '192.0.2.10']);
    assert.ok(list.every((e) => typeof e.digest === 'string'));
    const sets = (await call('GET', `${base}/ipset`)).body.data as Array<Record<string, unknown>>;
    assert.deepEqual(sets.map((s) => [s.name, s.comment]), [['ipfilter-net0', 'anti-spoofing']]);
    const one = await call('GET', `${base}/ipset/ipfilter-net0/${encodeURIComponent('192.0.2.10')}`);
    assert.equal((one.body.data as Record<string, unknown>).cidr, '192.0.2.10');
    const nonEmpty = await call('DELETE', `${base}/ipset/ipfilter-net0`);
    assert.deepEqual([nonEmpty.status, nonEmpty.body.message], [500, "IPSet 'ipfilter-net0' is not empty\n"]);
    // Deleting by the /32 spelling removes nothing: the stored entry is '192.0.2.10'.
    assert.equal((await call('DELETE', `${base}/ipset/ipfilter-net0/${encodeURIComponent('192.0.2.10/32')}`)).status, 200);
    assert.equal(emu.vms().get(240)!.firewall.ipsets.get('ipfilter-net0')!.length, 2);
    assert.equal((await call('DELETE', `${base}/ipset/ipfilter-net0/192.0.2.10`)).status, 200);
    assert.equal(emu.vms().get(240)!.firewall.ipsets.get('ipfilter-net0')!.length, 1);
    assert.equal((await call('DELETE', `${base}/ipset/ipfilter-net0?force=1`)).status, 200);
    assert.equal((await call('PUT', `${base}/options`, { enable: 1, ipfilter: 1, policy_in: 'ACCEPT' })).status, 200);
    const opts = (await call('GET', `${base}/options`)).body.data as Record<string, unknown>;
    assert.deepEqual([opts.enable, opts.ipfilter, opts.policy_in], [1, 1, 'ACCEPT']);
  });
});

describe('backups, storage, nodes', () => {
  test('vzdump locks the VM, writes an archive, returns "OK" on the wrong node; archives are listed and deleted', async () => {
    await cloneOf(250);
    const wrong = await call('POST', '/nodes/pve2/vzdump', { vmid: 250, storage: 'local' });
    assert.deepEqual(wrong.body, { data: 'OK' });
    const r = await call('POST', '/nodes/pve1/vzdump', { vmid: 250, storage: 'local', compress: 'zstd', mode: 'snapshot', 'notes-template': '{{guestname}}' });
    assert.match(String(r.body.data), /:vzdump:250:/);
    assert.equal(emu.vms().get(250)!.lock, 'backup');
    assert.equal((await waitTask(call, 'pve1', String(r.body.data))).exitstatus, 'OK');
    assert.equal(emu.vms().get(250)!.lock, null);
    const list = (await call('GET', '/nodes/pve1/storage/local/content?content=backup&vmid=250')).body.data as Array<Record<string, unknown>>;
    assert.equal(list.length, 1);
    assert.match(String(list[0]!.volid), /^local:backup\/vzdump-qemu-250-\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d\.vma\.zst$/);
    assert.equal(list[0]!.notes, 'Copy-of-VM-debian-12-cloud');
    const del = await call('DELETE', `/nodes/pve1/storage/local/content/${encodeURIComponent(String(list[0]!.volid))}`);
    assert.equal((await waitTask(call, 'pve1', String(del.body.data))).exitstatus, 'OK');
    assert.equal(((await call('GET', '/nodes/pve1/storage/local/content?content=backup&vmid=250')).body.data as unknown[]).length, 0);
    const images = (await call('GET', '/nodes/pve1/storage?content=images')).body.data as Array<Record<string, unknown>>;
    assert.deepEqual(images.map((s) => s.storage), ['local-lvm']);
  });

  test('network lists the bridges; an offline node has no stats and its calls answer 595', async () => {
    const br = (await call('GET', '/nodes/pve1/network?type=bridge')).body.data as Array<Record<string, unknown>>;
    assert.deepEqual(br.map((b) => b.iface), ['vmbr0', 'vmbr1']);
    emu.setNodeOnline('pve2', false);
    try {
      const nodes = (await call('GET', '/nodes')).body.data as Array<Record<string, unknown>>;
      const n2 = nodes.find((n) => n.node === 'pve2')!;
      assert.equal(n2.status, 'offline');
      assert.equal('mem' in n2, false);
      await cloneOf(280);
      await waitTask(call, 'pve1', String((await call('POST', '/nodes/pve1/qemu/280/migrate', { target: 'pve2' })).body.data)).then((t) => assert.match(String(t.exitstatus), /^migration aborted/));
      assert.equal(emu.vms().get(280)!.node, 'pve1', 'a failed migration leaves the VM where it was');
      assert.equal(emu.vms().get(280)!.lock, null);
      assert.equal((await call('GET', '/nodes/pve2/qemu')).status, 595);
    } finally { emu.setNodeOnline('pve2', true); }
  });

  test('rrddata has samples with keys omitted before the VM existed', async () => {
    const r = await call('GET', '/nodes/pve1/qemu/9000/rrddata?timeframe=hour');
    const rows = r.body.data as Array<Record<string, number>>;
    assert.equal(rows.length, 70);
    assert.ok(Object.keys(rows[0]!).length === 1 && 'time' in rows[0]!);
    assert.ok('netin' in rows.at(-1)!);
    assert.equal((await call('GET', '/nodes/pve1/qemu/9000/rrddata')).status, 400);
  });
});

describe('faults', () => {
  test('refuse, 500, 595, lock-timeout, stall: each used up after count matches', async () => {
    emu.fault({ path: /\/version$/, kind: 'refuse' });
    await assert.rejects(call('GET', '/version'), /socket hang up|ECONNRESET/);
    assert.equal((await call('GET', '/version')).status, 200);
    emu.fault({ method: 'GET', path: /\/nodes$/, kind: '500', count: 2, message: 'proxy loop detected' });
    assert.equal((await call('GET', '/nodes')).reason, 'proxy loop detected');
    assert.equal((await call('GET', '/nodes')).status, 500);
    assert.equal((await call('GET', '/nodes')).status, 200);
    emu.fault({ path: /\/cluster\/resources/, kind: '595' });
    const f595 = await call('GET', '/cluster/resources');
    assert.deepEqual([f595.status, f595.reason], [595, 'Connection refused']);
    emu.fault({ method: 'PUT', path: /\/qemu\/9000\/config$/, kind: 'lock-timeout' });
    const lt = await call('PUT', '/nodes/pve1/qemu/9000/config', { description: 'x' });
    assert.equal(lt.body.message, "can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout\n");
    emu.fault({ path: /\/version$/, kind: 'stall', ms: 2000 });
    await assert.rejects(call('GET', '/version', undefined, { timeoutMs: 200 }), /client timeout|socket hang up/);
    assert.equal((await call('GET', '/version')).status, 200);
  });

  test('task-fail ends the next matching task with the error; a failed clone removes the new VM', async () => {
    emu.fault({ path: /\/clone$/, kind: 'task-fail', message: "can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout" });
    const s = await cloneOf(260);
    assert.equal(s.exitstatus, "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout");
    assert.equal(emu.vms().has(260), false);
    assert.equal(((await call('GET', '/nodes/pve1/storage/local-lvm/content?vmid=260')).body.data as unknown[]).length, 0);
    assert.equal((await cloneOf(260)).exitstatus, 'OK');
  });

  test('a config change waits for the flock a running task holds, then times out', async () => {
    // A slow clone of a running VM holds the source's exclusive flock for its whole run.
    const slow = await startProxmoxEmulator({ flockWaitMs: 200, taskMs: { qmclone: 800, qmstart: 10 } });
    try {
      const c2 = client(slow);
      await waitTask(c2, 'pve1', String((await c2('POST', '/nodes/pve1/qemu/9000/clone', { newid: 100, full: 1 })).body.data));
      await waitTask(c2, 'pve1', String((await c2('POST', '/nodes/pve1/qemu/100/status/start')).body.data));
      const c = await c2('POST', '/nodes/pve1/qemu/100/clone', { newid: 101 });
      assert.equal(c.status, 200, c.raw);
      await sleep(10);
      const t0 = Date.now();
      const r = await c2('PUT', '/nodes/pve1/qemu/100/config', { description: 'busy' });
      assert.deepEqual([r.status, r.body.message], [500, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout\n"]);
      assert.ok(Date.now() - t0 >= 190);
      assert.equal((await waitTask(c2, 'pve1', String(c.body.data))).exitstatus, 'OK');
      assert.equal((await c2('PUT', '/nodes/pve1/qemu/100/config', { description: 'free' })).status, 200);
    } finally { await slow.close(); }
  });
});

describe('snapshots, permissions, latency', () => {
  test('snapshots: create under lock, list with current, reserved and duplicate names, rollback, delete', async () => {
    await cloneOf(270);
    const base = '/nodes/pve1/qemu/270/snapshot';
    const r = await call('POST', base, { snapname: 'before-upgrade', description: 'pre' });
    assert.equal(emu.vms().get(270)!.lock, 'snapshot');
    assert.equal((await waitTask(call, 'pve1', String(r.body.data))).exitstatus, 'OK');
    assert.deepEqual(emu.vms().get(270)!.snapshots, ['before-upgrade']);
    const reserved = await call('POST', base, { snapname: 'current' });
    assert.equal(reserved.status, 400);
    const dup = await waitTask(call, 'pve1', String((await call('POST', base, { snapname: 'before-upgrade' })).body.data));
    assert.equal(dup.exitstatus, "snapshot name 'before-upgrade' already used");
    const list = (await call('GET', base)).body.data as Array<Record<string, unknown>>;
    assert.deepEqual(list.map((x) => x.name), ['before-upgrade', 'current']);
    assert.equal(list[1]!.parent, 'before-upgrade');
    await call('PUT', '/nodes/pve1/qemu/270/config', { cores: 6 });
    assert.equal((await waitTask(call, 'pve1', String((await call('POST', `${base}/before-upgrade/rollback`)).body.data))).exitstatus, 'OK');
    assert.equal(emu.vms().get(270)!.config.cores, 2);
    assert.equal((await waitTask(call, 'pve1', String((await call('DELETE', `${base}/before-upgrade`)).body.data))).exitstatus, 'OK');
    assert.deepEqual(emu.vms().get(270)!.snapshots, []);
  });

  test('a read-only token gets 403 on changes; a backup of a locked VM ends with job errors', async () => {
    const ro = await startProxmoxEmulator({ tokens: [{ id: 'audit@pve!ro', secret: 'b3f6c7a2-0000-4000-8000-000000000001', readOnly: true }], taskMs: { vzdump: 10 } });
    try {
      const c2 = client(ro);
      assert.equal((await c2('GET', '/nodes')).status, 200);
      const denied = await c2('POST', '/nodes/pve1/qemu/9000/clone', { newid: 100 });
      assert.deepEqual([denied.status, denied.reason], [403, 'Permission check failed (/vms/9000, VM.Clone)']);
      assert.equal(ro.vms().has(100), false);
    } finally { await ro.close(); }
    await cloneOf(271);
    emu.setLock(271, 'migrate');
    const b = await call('POST', '/nodes/pve1/vzdump', { vmid: 271, storage: 'local' });
    assert.equal((await waitTask(call, 'pve1', String(b.body.data))).exitstatus, 'job errors');
    const log = (await call('GET', `/nodes/pve1/tasks/${encodeURIComponent(String(b.body.data))}/log`)).body.data as Array<{ t: string }>;
    assert.ok(log.some((l) => l.t === 'ERROR: Backup of VM 271 failed - VM is locked (migrate)'));
    emu.setLock(271, null);
    const locked = await call('POST', '/nodes/pve1/qemu/9000/config', { description: 'x' });
    assert.equal(locked.status, 200, 'an unlocked VM takes a config POST');
    emu.setLock(9000, 'clone');
    const refused = await call('POST', '/nodes/pve1/qemu/9000/config', { description: 'y' });
    assert.deepEqual([refused.status, refused.body.message], [500, 'VM is locked (clone)\n']);
    emu.setLock(9000, null);
    await waitTask(call, 'pve1', String(locked.body.data));
  });

  test('latency is added to every request', async () => {
    emu.setLatency(120);
    try {
      const t0 = Date.now();
      assert.equal((await call('GET', '/version')).status, 200);
      assert.ok(Date.now() - t0 >= 115);
    } finally { emu.setLatency(0); }
  });
});

describe('requests log', () => {
  test('every request is recorded with method, path and status', () => {
    assert.ok(emu.requests.some((r) => r.method === 'GET' && r.path === '/api2/json/version' && r.status === 200));
    assert.ok(emu.requests.some((r) => r.status === 0), 'refused requests have no status');
    assert.ok(!JSON.stringify(emu.requests).includes(emu.token.secret));
  });
});

describe('standalone runner', () => {
  test('cli.ts prints the URL, fingerprint and token id, and the secret only with --show-secret', async () => {
    const run = (args: string[]) => new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/emulator/proxmox/cli.ts', '--port', '0', ...args], { cwd: new URL('../..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`cli did not start: ${out}`)); }, 15_000);
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('templates:')) child.kill('SIGINT');
      });
      child.on('exit', () => { clearTimeout(timer); resolve(out); });
    });
    const plain = await run([]);
    assert.match(plain, /^Proxmox VE emulator at https:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(plain, /^fingerprint \(SHA-256\): ([0-9A-F]{2}:){31}[0-9A-F]{2}$/m);
    assert.match(plain, /^token id: hostbridge@pve!deploy$/m);
    assert.doesNotMatch(plain, /secret/);
    const shown = await run(['--show-secret']);
    assert.match(shown, /^token secret: [0-9a-f-]{36}$/m);
  });
});
