// `hostbridge run-task process-vms` as a real process (seed 003's "php cron.php"): a VM order is
// written through the API of a daemon whose engine is stopped, then the command runs the chain's
// steps in the foreground on the same database. Its stdout is read as it arrives: each step starts
// and ends with its duration and transition, in the chain's order, the step's own lines between,
// a line is there while the step after it has not run yet, and the service ends active; every
// attempt's task log ends with the same closing line.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI, TSX, TEST_MASTER_KEY, TEST_SECRET } from '../helpers/daemon.ts';
import { call } from '../helpers/api.ts';
import { DIALECTS, createTestDb, waitFor, type TestDb } from '../helpers/db.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { kvmOrderBody, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import { startPdns, type Pdns } from '../helpers/pdns.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { stepLabel } from '../../daemon/pipelines/steps.ts';
import type { Daemon } from '../../daemon/runtime.ts';

interface Line {
  text: string;
  /** When the test read it. */
  at: number;
}

/** Runs the CLI, collecting stdout line by line as it arrives. */
function runCli(args: string[], databaseUrl: string, timeoutMs: number) {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp',
      HOSTBRIDGE_DATABASE_URL: databaseUrl, HOSTBRIDGE_SECRET: TEST_SECRET, HOSTBRIDGE_MASTER_KEY: TEST_MASTER_KEY, HOSTBRIDGE_LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  let partial = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    const parts = (partial + c).split('\n');
    partial = parts.pop()!;
    for (const text of parts) lines.push({ text, at: Date.now() });
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`run-task did not finish in ${timeoutMs} ms; stdout:\n${lines.map((l) => l.text).join('\n')}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  return { lines, done, stderr: () => stderr, running: () => child.exitCode === null && child.signalCode === null };
}

for (const dialect of DIALECTS) {
  describe(`hostbridge run-task process-vms (${dialect})`, () => {
    let tdb: TestDb;
    let daemon: Daemon;
    let lab: KvmLab;
    let pdns: Pdns;

    before(async () => {
      pdns = await startPdns();
      tdb = await createTestDb(dialect, { poolMax: 2 });
      // The daemon only answers the API: no scheduler pass for the test's duration, and its engine is stopped below.
      daemon = await startTestDaemon(tdb.dir, tdb.url, { HOSTBRIDGE_SCHEDULER_INTERVAL: '3600' });
      for (const [k, v] of [['retry.base_ms', '200'], ['retry.cap_ms', '1000'], ['retry.jitter', '0']]) await writeSetting(daemon.core.db, k!, v!);
      // A PowerDNS for the VM's records: its DNS step prints "· fwd OK" and "· rev OK" lines as it publishes them.
      const dns = await call(daemon.url, 'POST', '/v1/servers', {
        name: 'pdns', driver: 'powerdns', hostname: '127.0.0.1', ip: '127.0.0.1', port: Number(new URL(pdns.url).port), api_key: pdns.apiKey, capabilities: { dns: true },
      });
      assert.equal(dns.status, 201, JSON.stringify(dns.body));
      lab = await startKvmLab(daemon.url, { pdns: { url: pdns.url, apiKey: pdns.apiKey } });
      await daemon.engine.stop();
    });
    after(async () => {
      await daemon?.stop();
      await lab?.close();
      await pdns?.stop();
      await tdb?.drop();
    });

    test('runs the VM order\'s steps in the foreground, each line flushed as it happens, to an active service', async () => {
      const order = await call(daemon.url, 'POST', '/v1/services', kvmOrderBody(9101, 'vm1.example.org'));
      assert.ok(order.status >= 200 && order.status < 300, JSON.stringify(order.body));
      const svc = await daemon.core.db('mod_hostbridge_services').where('whmcs_service_id', 9101).first('id', 'state');
      assert.ok(svc, 'the order wrote its service');
      const chain = await daemon.core.db('mod_hostbridge_chains').where('service_id', svc.id).first('id');
      const steps: Array<{ id: number; step: string; type: string; step_no: number; depends_on: string | null }> = await daemon.core.db('mod_hostbridge_tasks')
        .where('chain_id', chain.id).orderBy('step_no').select('id', 'step', 'type', 'step_no', 'depends_on');
      const waitsFor = (x: { step_no: number; depends_on: string | null }): number[] => (x.depends_on === null ? (x.step_no > 0 ? [x.step_no - 1] : []) : JSON.parse(x.depends_on));
      assert.ok(steps.length >= 12, `a deploy chain: ${steps.map((s) => s.step).join(', ')}`);
      // Nothing runs the chain but the command.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await daemon.core.db('mod_hostbridge_task_attempts').count({ n: '*' }).first().then((r) => Number(r!.n)), 0, 'no step ran before the command');

      const run = runCli(['run-task', 'process-vms', '--time-limit', '120s'], tdb.url, 150_000);
      const stamp = /^\d\d:\d\d:\d\d\.\d{3} process-vms: /;
      const endOf = (step: string) => new RegExp(`${stamp.source}service 9101 VM (\\d+|-) ${step.replace(/\./g, '\\.')}: (success|skip) in \\d+\\.\\d\\d s`);

      // Live: the clone's closing line is on stdout while the command runs and the VM is not configured yet.
      await waitFor('the clone\'s closing line', async () => run.lines.some((l) => endOf('clone').test(l.text)) || !run.running(), 60_000, 20);
      assert.ok(run.running(), `the command still runs when the clone ends:\n${run.lines.map((l) => l.text).join('\n')}\n${run.stderr()}`);
      const network = steps.find((s) => s.step === 'network')!;
      const networkAttempts = await daemon.core.db('mod_hostbridge_task_attempts').where('task_id', network.id).count({ n: '*' }).first();
      assert.equal(Number(networkAttempts!.n), 0, 'the network step had not run when the clone\'s line was read');

      const code = await run.done;
      const text = run.lines.map((l) => l.text);
      const all = text.join('\n');
      assert.equal(code, 0, `${all}\n${run.stderr()}`);
      for (const t of text) assert.match(t, stamp, 'every line carries its time and the job');

      // Each step starts, then ends with its duration and transition; the VM's own steps in the chain's order.
      const idx = (re: RegExp) => text.findIndex((t) => re.test(t));
      let lastEnd = -1;
      for (const s of steps) {
        const start = idx(new RegExp(`service 9101 VM (\\d+|-) ${s.step.replace(/\./g, '\\.')}: started, attempt 1 \\(`));
        const end = idx(endOf(s.step));
        assert.ok(start >= 0 && end > start, `${s.step} starts then ends:\n${all}`);
        // The step after: the first that waits for it (the graph's order, not the side steps' numbers).
        const next = steps.find((x) => waitsFor(x).includes(s.step_no));
        const then = next ? `next: ${stepLabel(next.type)}` : 'end of deploy';
        assert.ok(text[end]!.endsWith(`→ ${then})`) || text[end]!.endsWith(`skip in ${/skip in (\S+ s)/.exec(text[end]!)?.[1]} → ${then}`),
          `${s.step}'s transition names the next step (${then}): ${text[end]}`);
        if (s.type !== 'kvm.whmcs-ips' && s.type !== 'kvm.dns') {
          assert.ok(start > lastEnd, `${s.step} starts after the VM step before it ended:\n${all}`);
          lastEnd = end;
        }
      }
      assert.match(all, /service 9101 VM - ip: success in \d+\.\d\d s \(ip set → next: /, 'no VMID before the clone');
      assert.match(all, /service 9101 VM \d+ verify: success in \d+\.\d\d s \(running → end of deploy\)/, 'the VMID once cloned');
      assert.match(all, /service 9101 VM (\d+|-) clone   PVE POST \/nodes\/pve1\/qemu\/9000\/clone/, 'the step\'s own lines, under the step');
      const dnsStep = steps.find((x) => x.type === 'kvm.dns');
      assert.ok(dnsStep, 'the chain publishes the VM\'s records');
      assert.match(all, new RegExp(`VM (\\d+|-) ${dnsStep.step.replace('.', '\\.')}   · fwd OK example\\.org: A 198\\.51\\.100\\.\\d+, AAAA 2001:db8:100::\\w+`), 'the DNS step\'s forward line');
      assert.match(all, new RegExp(`VM (\\d+|-) ${dnsStep.step.replace('.', '\\.')}   · rev OK 100\\.51\\.198\\.in-addr\\.arpa: 198\\.51\\.100\\.\\d+ → vm1\\.example\\.org`), 'the DNS step\'s reverse line');
      assert.match(text.at(-1)!, /process-vms: ok in \d+ ms — no VM step due or running: \d+ step\(s\) succeeded, 0 to retry, 0 failed, 0 lost; 0 due, 0 running/);
      // The lines came one by one, as they happened: not all in the last moment.
      const firstEnd = run.lines[idx(endOf('ip'))]!.at;
      assert.ok(run.lines.at(-1)!.at - firstEnd > 200, 'the first step\'s line came well before the last line');

      const after = await daemon.core.db('mod_hostbridge_services').where('id', svc.id).first('state');
      assert.equal(after.state, 'active');
      assert.ok(lab.vmOf(9101)?.status === 'running', 'the VM runs');

      // The task log: every attempt ends with the same closing line the command printed.
      for (const s of steps) {
        const out: string = (await daemon.core.db('mod_hostbridge_task_attempts').where('task_id', s.id).orderBy('id', 'desc').first('output')).output;
        const last = out.split('\n').at(-1)!;
        assert.match(last, new RegExp(`^${s.step.replace(/\./g, '\\.')}: (success|skip) in \\d+\\.\\d\\d s`), `${s.step}'s log ends with its closing line: ${out.slice(-300)}`);
        assert.ok(all.includes(last), `the command printed ${last}`);
      }
    });

    test('a failing step prints its error, where the VM stays and when it runs again; the next run finishes the chain', async () => {
      // A back-off longer than the command's check for due work: the run ends before the retry is due.
      for (const [k, v] of [['retry.cap_ms', '5000'], ['retry.base_ms', '1500']]) await writeSetting(daemon.core.db, k!, v!);
      lab.pve.fault({ method: 'POST', path: /\/qemu\/9000\/clone$/, kind: '500', count: 1, message: 'storage is busy' });
      const order = await call(daemon.url, 'POST', '/v1/services', kvmOrderBody(9102, 'vm2.example.org'));
      assert.ok(order.status >= 200 && order.status < 300, JSON.stringify(order.body));
      const first = runCli(['run-task', 'process-vms', '--time-limit', '60s'], tdb.url, 90_000);
      assert.equal(await first.done, 0, first.stderr());
      const out1 = first.lines.map((l) => l.text).join('\n');
      assert.match(out1, /service 9102 VM \d+ clone: error after \d+\.\d\d s: .*storage is busy.* \(the VM stays at ip set; retried in 1\.5 s\)/, out1);
      // Nothing else was due: the run ends and says when the clone runs again.
      assert.match(out1, /process-vms: next: clone of service 9102 VM \d+ at \d{4}-\d\d-\d\dT/, out1);
      assert.match(out1, /no VM step due or running: \d+ step\(s\) succeeded, 1 to retry, 0 failed, 0 lost/, out1);

      await new Promise((r) => setTimeout(r, 1600));
      const second = runCli(['run-task', 'process-vms', '--time-limit', '60s'], tdb.url, 90_000);
      assert.equal(await second.done, 0, second.stderr());
      const out2 = second.lines.map((l) => l.text).join('\n');
      assert.match(out2, /service 9102 VM \d+ clone: started, attempt 2 \(ip set → Cloning the template\)/, out2);
      assert.match(out2, /service 9102 VM \d+ verify: success in \d+\.\d\d s \(running → end of deploy\)/, out2);
      const svc = await daemon.core.db('mod_hostbridge_services').where('whmcs_service_id', 9102).first('id', 'state');
      assert.equal(svc.state, 'active');
      // The failed attempt's task log ends with the error line too.
      const clone = await daemon.core.db('mod_hostbridge_tasks').where({ service_id: svc.id, step: 'clone' }).first('id');
      const attempts: Array<{ result: string; output: string }> = await daemon.core.db('mod_hostbridge_task_attempts').where('task_id', clone.id).orderBy('id').select('result', 'output');
      assert.deepEqual(attempts.map((a) => a.result), ['retry', 'succeeded']);
      assert.match(attempts[0]!.output.split('\n').at(-1)!, /^clone: error after \d+\.\d\d s: .*\(the VM stays at ip set; retried in 1\.5 s\)$/);
    });

    test('the daemon\'s job only wakes the engine, and run-task refuses a time limit for other jobs', async () => {
      const r = await daemon.core.scheduler.runNow('process-vms', () => {});
      assert.equal(r.result, 'ok');
      assert.equal(r.message, 'no VM step due');
      const run = runCli(['run-task', 'sync-usage', '--time-limit', '5s'], tdb.url, 60_000);
      assert.notEqual(await run.done, 0);
      assert.match(run.stderr(), /--time-limit applies to run-task process-vms only/);
    });
  });
}
