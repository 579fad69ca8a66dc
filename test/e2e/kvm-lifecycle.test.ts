// A KVM service's life after its deployment, through the PHP module as WHMCS calls it and the
// signed API's power buttons (seed 003), against the Proxmox emulator:
//  - SuspendAccount stops the VM; Start and Reboot are refused while suspended, saying why;
//  - ChangePassword sets the cloud-init password (the task log says the guest applies it at its
//    next boot; the password itself is in no log); UnsuspendAccount starts the VM again;
//  - the start, stop and reboot actions act on the VM and leave the service active;
//  - an IPv4 pool that runs out fails the kvm.ip step with a message naming the pool, opens one
//    ticket and makes no Proxmox call; once an address is freed, Verify & Repair completes it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import https from 'node:https';
import { DIALECTS } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { KVM_PROFILE, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import { ok, startE2E, type E2E, type Order } from './whmcs.ts';

const kvm = (serviceId: number, domain: string, password?: string): Order => ({
  serviceId, mode: 'split', domain, product: { configoption1: 'kvm', configoption15: KVM_PROFILE }, ...(password !== undefined ? { password } : {}),
});

/** Whether `stored` is the emulator's hash of `password` (its crypt-like $6$salt$hash). */
function hashes(stored: string, password: string): boolean {
  const m = /^\$6\$([^$]+)\$(.+)$/.exec(stored);
  if (!m) return false;
  return createHash('sha512').update(`${m[1]}$${password}`).digest('base64').replace(/\+/g, '.').replace(/=+$/, '') === m[2];
}

/** The lab's IPv4 pool: a /29, five addresses to hand out (.2–.6; .1 is the gateway). */
const V4_NETWORK = '198.51.100.0/29';
const V4_HOSTS = ['198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5', '198.51.100.6'];

for (const dialect of DIALECTS) {
  describe(`a KVM service's lifecycle through the PHP module (${dialect})`, () => {
    let e: E2E;
    let lab: KvmLab;
    const o = kvm(8301, 'vm-life.example.org');

    const internalId = async (serviceId: number) => Number((await e.db('mod_hostbridge_services').where('whmcs_service_id', serviceId).first('id')).id);
    /** The latest chain of an operation: its state and each step's status and whole log. */
    const chainOf = async (serviceId: number, op: string) => {
      const chain = await e.db('mod_hostbridge_chains').where({ service_id: await internalId(serviceId), operation: op }).orderBy('id', 'desc').first('id', 'state');
      assert.ok(chain, `a ${op} chain exists`);
      const tasks = await e.db('mod_hostbridge_tasks').where('chain_id', chain.id).orderBy('id').select('id', 'step', 'status', 'last_error');
      const steps: Record<string, { status: string; output: string; error: string }> = {};
      for (const t of tasks) {
        const rows = await e.db('mod_hostbridge_task_attempts').where('task_id', t.id).orderBy('id').select('output', 'error');
        steps[t.step] = { status: t.status, output: rows.map((r: { output: string | null }) => String(r.output ?? '')).join('\n'), error: String(t.last_error ?? '') };
      }
      return { state: String(chain.state), steps };
    };
    /** Every task log and error of a service, raw (JSON would escape what a password holds). */
    const allLogs = async (serviceId: number) => {
      const rows = await e.db('mod_hostbridge_task_attempts').join('mod_hostbridge_tasks', 'mod_hostbridge_tasks.id', 'mod_hostbridge_task_attempts.task_id')
        .where('mod_hostbridge_tasks.service_id', await internalId(serviceId)).select('mod_hostbridge_task_attempts.output', 'mod_hostbridge_task_attempts.error', 'mod_hostbridge_tasks.last_error');
      return rows.map((r: Record<string, unknown>) => `${r.output ?? ''}\n${r.error ?? ''}\n${r.last_error ?? ''}`).join('\n');
    };
    const action = (serviceId: number, name: string) => call(e.url, 'POST', `/v1/services/${serviceId}/actions/${name}`, {});
    /** The power calls made to Proxmox since `mark`, as "start", "shutdown", "stop", "reboot"… */
    const powerCalls = (mark: number) => lab.pve.requests.slice(mark).filter((r) => r.method === 'POST' && /\/status\/\w+$/.test(r.path)).map((r) => r.path.split('/').pop());

    /** A call to the emulator's API as an operator would make it (pvesh), with the lab's token. */
    const pve = (method: string, path: string): Promise<any> => new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: lab.pve.port, method, path: `/api2/json${path}`, rejectUnauthorized: false,
        headers: { authorization: `PVEAPIToken=${lab.pve.token.id}=${lab.pve.token.secret}` },
      }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body).data) : reject(new Error(`${method} ${path}: ${res.statusCode} ${body}`))));
      });
      req.once('error', reject);
      req.end();
    });
    const qmpstatus = async (serviceId: number) => {
      const vm = lab.vmOf(serviceId)!;
      return String((await pve('GET', `/nodes/${vm.node}/qemu/${vm.vmid}/status/current`)).qmpstatus);
    };

    before(async () => {
      e = await startE2E({ dialect, fleet: { web: 1, mail: 1, dns: 0, combo: 0 } });
      for (const [k, v] of [['retry.base_ms', '200'], ['retry.cap_ms', '1000'], ['retry.jitter', '0'], ['scheduler.proxmox-health.interval_s', '86400']]) await e.setting(k!, v!);
      lab = await startKvmLab(e.url, { v4Network: V4_NETWORK, pdns: { url: e.fleet.pdns!.server.url, apiKey: e.fleet.pdns!.server.apiKey } });
      ok(await e.module('CreateAccount', o), 'CreateAccount');
      const done = await e.waitState(o.serviceId, ['active', 'failed'], 60_000);
      assert.equal(done.state, 'active', JSON.stringify(await e.tasks(o.serviceId)).slice(0, 6000));
    });
    after(async () => {
      await e?.close();
      await lab?.close();
    });

    test('Suspend stops the VM and refuses Start and Reboot; ChangePassword while suspended; Unsuspend starts it again', async () => {
      assert.equal(lab.vmOf(o.serviceId)!.status, 'running');
      // The guest does not react to the power button: the shutdown fails, a hard stop follows.
      lab.pve.fault({ method: 'POST', path: /\/status\/shutdown$/, kind: 'task-fail', count: 1, message: 'VM quit/powerdown failed - got timeout' });
      const mark0 = lab.pve.requests.length;
      ok(await e.module('SuspendAccount', o, { suspendreason: 'Overdue on Invoice' }), 'SuspendAccount');
      // Pressed while the Suspend is still queued or running: refused all the same (it would run after it).
      const early = await action(o.serviceId, 'start');
      assert.equal(early.status, 409, `start right after the Suspend: ${JSON.stringify(early.body)}`);
      const suspended = await e.waitState(o.serviceId, ['suspended', 'failed'], 30_000);
      assert.equal(suspended.state, 'suspended', JSON.stringify(await e.tasks(o.serviceId)).slice(-4000));
      assert.equal(lab.vmOf(o.serviceId)!.status, 'stopped', 'the VM is off');
      const stop = (await chainOf(o.serviceId, 'suspend')).steps.stop!.output;
      assert.match(stop, /the shutdown did not finish \(.*got timeout\); stopping VM \d+ hard/, stop);
      assert.match(stop, /VM \d+ is stopped/);
      assert.deepEqual(powerCalls(mark0), ['shutdown', 'stop'], 'a shutdown, then a hard stop');

      const mark = lab.pve.requests.length;
      for (const name of ['start', 'reboot']) {
        const r = await action(o.serviceId, name);
        assert.equal(r.status, 409, `${name} while suspended: ${JSON.stringify(r.body)}`);
        assert.match(String(r.body.error), /is suspended: its VM stays off until it is unsuspended/);
      }
      assert.deepEqual(lab.pve.requests.slice(mark), [], 'the refused buttons made no Proxmox call');
      assert.equal(lab.vmOf(o.serviceId)!.status, 'stopped');
      assert.equal((await e.service(o.serviceId)).state, 'suspended');

      const NEW = 'N3w "pass" $(x) \\ ok';
      ok(await e.module('ChangePassword', { ...o, password: NEW }), 'ChangePassword');
      const afterPw = await e.waitState(o.serviceId, ['suspended', 'active', 'failed'], 30_000);
      assert.equal(afterPw.state, 'suspended', 'a password change does not unsuspend');
      const pw = await chainOf(o.serviceId, 'change-password');
      assert.equal(pw.state, 'succeeded', JSON.stringify(pw));
      assert.match(pw.steps.password!.output, /applies it at its next boot/);
      const vm = lab.vmOf(o.serviceId)!;
      assert.equal(vm.status, 'stopped', 'setting the password did not start the VM');
      assert.ok(hashes(String(vm.config.cipassword ?? ''), NEW), 'cloud-init holds the new password');

      // A package change and a Verify & Repair while suspended act on the VM but leave it off and the service suspended.
      ok(await e.module('ChangePackage', o, { configoptions: { memory: '1024' } }), 'ChangePackage while suspended');
      const afterPkg = await e.waitState(o.serviceId, ['suspended', 'active', 'failed'], 30_000);
      assert.equal(afterPkg.state, 'suspended', `a package change does not unsuspend: ${JSON.stringify(await chainOf(o.serviceId, 'change-package'))}`);
      assert.equal(lab.vmOf(o.serviceId)!.status, 'stopped', 'the package change left the VM off');
      assert.equal(Number(lab.vmOf(o.serviceId)!.config.memory), 1024, 'the new memory is set');
      ok(await e.module('VerifyRepair', o), 'VerifyRepair while suspended');
      const afterRepair = await e.waitState(o.serviceId, ['suspended', 'active', 'failed'], 30_000);
      assert.equal(afterRepair.state, 'suspended', `a repair does not unsuspend: ${JSON.stringify(await chainOf(o.serviceId, 'verify-repair')).slice(0, 3000)}`);
      assert.equal(lab.vmOf(o.serviceId)!.status, 'stopped', 'the repair left the VM off');

      ok(await e.module('UnsuspendAccount', o), 'UnsuspendAccount');
      const active = await e.waitState(o.serviceId, ['active', 'failed'], 30_000);
      assert.equal(active.state, 'active');
      assert.equal(lab.vmOf(o.serviceId)!.status, 'running', 'the VM runs again');
      assert.match((await chainOf(o.serviceId, 'unsuspend')).steps.verify!.output, /is running on pve2/);

      const logs = await allLogs(o.serviceId);
      for (const secret of [NEW, '"pass" $(x)', 'Cust0mer-Pa55!']) assert.ok(!logs.includes(secret), `"${secret}" is in no task log`);
    });

    test('the stop, start and reboot actions act on the VM; the service stays active', async () => {
      let mark = lab.pve.requests.length;
      let r = await action(o.serviceId, 'stop');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal((await e.waitState(o.serviceId, ['active'], 30_000)).state, 'active');
      assert.equal(lab.vmOf(o.serviceId)!.status, 'stopped');
      assert.deepEqual(powerCalls(mark), ['shutdown'], 'an ACPI shutdown');

      mark = lab.pve.requests.length;
      r = await action(o.serviceId, 'start');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal((await e.waitState(o.serviceId, ['active'], 30_000)).state, 'active');
      assert.equal(lab.vmOf(o.serviceId)!.status, 'running');
      assert.deepEqual(powerCalls(mark), ['start']);
      assert.equal((await chainOf(o.serviceId, 'start')).state, 'succeeded');

      // A second start of a running VM does nothing.
      mark = lab.pve.requests.length;
      r = await action(o.serviceId, 'start');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await e.waitState(o.serviceId, ['active'], 30_000);
      assert.deepEqual(powerCalls(mark), []);
      assert.match((await chainOf(o.serviceId, 'start')).steps.start!.output, /skip \(no change\): VM \d+ is running/);

      mark = lab.pve.requests.length;
      r = await action(o.serviceId, 'reboot');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal((await e.waitState(o.serviceId, ['active'], 30_000)).state, 'active');
      assert.equal(lab.vmOf(o.serviceId)!.status, 'running', 'running after the reboot');
      assert.deepEqual(powerCalls(mark), ['shutdown', 'start'], 'the reboot went down and came back');
      const reboot = await chainOf(o.serviceId, 'reboot');
      assert.equal(reboot.state, 'succeeded');
      assert.match(reboot.steps.verify!.output, /is running on pve2/);

      // Paused on the cluster (qm suspend): Proxmox still says "running", but the guest is frozen.
      const vm = lab.vmOf(o.serviceId)!;
      await pve('POST', `/nodes/${vm.node}/qemu/${vm.vmid}/status/suspend`);
      const deadline = Date.now() + 10_000;
      while ((await qmpstatus(o.serviceId)) !== 'paused') {
        assert.ok(Date.now() < deadline, 'the VM pauses');
        await new Promise((res) => setTimeout(res, 50));
      }
      mark = lab.pve.requests.length;
      r = await action(o.serviceId, 'start');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await e.waitState(o.serviceId, ['active'], 30_000);
      const start = await chainOf(o.serviceId, 'start');
      assert.equal(start.state, 'succeeded', JSON.stringify(start));
      assert.equal(await qmpstatus(o.serviceId), 'running', `Start resumes a paused VM: ${start.steps.start!.output}`);
      assert.deepEqual(powerCalls(mark), ['resume']);
      assert.match(start.steps.start!.output, /VM \d+ was paused; resumed/);
    });

    test('an IPv4 pool that runs out fails kvm.ip naming the pool, one ticket, no Proxmox call; freed, Verify & Repair completes it', async () => {
      const held = await lab.addresses(o.serviceId);
      const free = V4_HOSTS.filter((ip) => !held.includes(ip));
      assert.equal(free.length, 4, `the first VM holds one of the five: ${held.join(', ')}`);
      for (const ip of free) {
        const r = await call(e.url, 'POST', `/v1/ip-pools/${lab.pools.v4}/reservations`, { ip, note: 'kept back by the test' });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }

      const o2 = kvm(8302, 'vm-nopool.example.org');
      const mark = lab.pve.requests.length;
      ok(await e.module('CreateAccount', o2), 'CreateAccount (the pool is full)');
      const failed = await e.waitState(o2.serviceId, ['failed', 'active'], 30_000);
      assert.equal(failed.state, 'failed');
      const deploy = await chainOf(o2.serviceId, 'deploy');
      assert.equal(deploy.steps.ip!.status, 'failed');
      assert.match(deploy.steps.ip!.error, /IP pool exhausted: 1 IPv4 address\(es\) wanted .*pool "lab-v4" has 0 free/, deploy.steps.ip!.error);
      assert.ok(!deploy.steps.clone || deploy.steps.clone.status !== 'succeeded', 'the VM was not cloned');
      assert.deepEqual(lab.pve.requests.slice(mark), [], 'no Proxmox call for this VM');
      assert.equal(lab.vmOf(o2.serviceId), undefined);
      assert.deepEqual(await lab.addresses(o2.serviceId), [], 'nothing half-allocated (all or nothing)');
      const tickets = await e.db('mod_hostbridge_ticket_outbox').where('service_id', await internalId(o2.serviceId)).select('subject', 'body');
      assert.equal(tickets.length, 1, 'one ticket');
      assert.match(`${tickets[0]!.subject}\n${tickets[0]!.body}`, /lab-v4/, 'the ticket names the pool');

      const r = await call(e.url, 'DELETE', `/v1/ip-pools/${lab.pools.v4}/reservations/${encodeURIComponent(free[0]!)}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      ok(await e.module('VerifyRepair', o2), 'VerifyRepair');
      const done = await e.waitState(o2.serviceId, ['active', 'failed'], 60_000);
      assert.equal(done.state, 'active', JSON.stringify(await e.tasks(o2.serviceId)).slice(-6000));
      const vm = lab.vmOf(o2.serviceId);
      assert.ok(vm, 'the VM exists now');
      assert.equal(vm.status, 'running');
      const ips = await lab.addresses(o2.serviceId);
      assert.ok(ips.includes(free[0]!), `it got the freed address: ${ips.join(', ')}`);
      assert.ok(String(vm.config.ipconfig0).includes(`ip=${free[0]}/29`), String(vm.config.ipconfig0));
      assert.equal((await e.db('mod_hostbridge_ticket_outbox').where('service_id', await internalId(o2.serviceId))).length, 1, 'still one ticket');

      // The pool is full again: an order that never got its VM is terminated cleanly, without touching Proxmox's VMs.
      const o3 = kvm(8303, 'vm-never.example.org');
      ok(await e.module('CreateAccount', o3), 'CreateAccount (the pool is full again)');
      assert.equal((await e.waitState(o3.serviceId, ['failed', 'active'], 30_000)).state, 'failed');
      const mark3 = lab.pve.requests.length;
      const vmsBefore = [...lab.pve.vms().keys()].sort();
      ok(await e.module('TerminateAccount', o3), 'TerminateAccount (no VM)');
      const gone = await e.waitState(o3.serviceId, ['terminated', 'error_terminate'], 30_000);
      assert.equal(gone.state, 'terminated', JSON.stringify(await e.tasks(o3.serviceId)).slice(-4000));
      assert.deepEqual([...lab.pve.vms().keys()].sort(), vmsBefore, 'no VM was touched');
      assert.deepEqual(lab.pve.requests.slice(mark3).filter((x) => x.method !== 'GET'), [], 'nothing was changed on Proxmox');
      assert.equal(lab.vmOf(o2.serviceId)!.status, 'running', 'the other VMs run on');
    });
  });
}
