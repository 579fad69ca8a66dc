// Trust on first use of a HestiaCP node's SSH host key, through the daemon's own path (the
// server.check task, FleetAccess, the SSH pool) against Debian's OpenSSH sshd: a server added
// without a pin gets the key it first presents stored in its inventory row (and logged), equal to
// the fingerprint ssh-keygen prints for the node's key; once the node's host key changes, the
// connection is refused with an error naming both fingerprints, and no command reaches the node
// (also after an API edit of the server that does not name the pin).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startSshd, type Sshd } from '../helpers/sshd.ts';
import { createTestDb, waitFor, type TestDb } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { TEST_MASTER_KEY, TEST_SECRET } from '../helpers/daemon.ts';
import { loadConfig } from '../../daemon/config/config.ts';
import { startDaemon, type Daemon } from '../../daemon/runtime.ts';
import { createLogger } from '../../daemon/log/logger.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { enqueueTasks } from '../../daemon/engine/chains.ts';
import { plannedStep } from '../../daemon/pipelines/steps.ts';
import { FleetAccess } from '../../daemon/fleet/access.ts';
import { HostKeyMismatchError } from '../../daemon/drivers/hestia/index.ts';
import { classifyError } from '../../daemon/common/errors.ts';
import { T } from '../../daemon/common/tables.ts';

// A stand-in for Hestia's v-commands: records every call, answers v-list-sys-info.
const STANDIN = (calls: string) => `#!/bin/bash
echo "$(basename "$0") $*" >> '${calls}'
case "$(basename "$0")" in
  v-list-sys-info) printf '{"sysinfo": {"HOSTNAME": "node", "OS": "Debian", "VERSION": "12", "HESTIA": "1.10.3", "UPTIME": "42", "LOADAVERAGE": "0.1 / 0.2 / 0.3"}}\\n' ;;
esac
`;

describe('SSH host key: trust on first use, then refuse a changed key', () => {
  let sshd: Sshd;
  let tdb: TestDb;
  let daemon: Daemon;
  let calls: string;
  let serverId: number;
  const logLines: string[] = [];

  before(async () => {
    sshd = await startSshd();
    const bin = path.join(sshd.dir, 'bin');
    const out = path.join(sshd.dir, 'out');
    fs.mkdirSync(bin, { mode: 0o755 });
    fs.mkdirSync(out, { mode: 0o777 });
    calls = path.join(out, 'calls.log');
    fs.writeFileSync(path.join(bin, 'standin'), STANDIN(calls), { mode: 0o755 });
    for (const n of ['v-list-sys-info', 'v-list-sys-cpu-status', 'v-list-sys-memory-status', 'v-list-sys-disk-status']) fs.symlinkSync(path.join(bin, 'standin'), path.join(bin, n));

    tdb = await createTestDb('sqlite');
    // Only this test's checks reach the node: the scheduler's own come once a day.
    for (const job of ['check-servers', 'sync-usage']) await writeSetting(tdb.db, `scheduler.${job}.interval_s`, '86400');
    const config = loadConfig({
      HOSTBRIDGE_DATABASE_URL: tdb.url, HOSTBRIDGE_LISTEN: '127.0.0.1:0', HOSTBRIDGE_SECRET: TEST_SECRET, HOSTBRIDGE_MASTER_KEY: TEST_MASTER_KEY, HOSTBRIDGE_POLL_MS: '50',
    }, tdb.dir);
    const logger = createLogger({ format: 'json', level: 'info', stream: new Writable({ write(c, _e, cb) { logLines.push(String(c)); cb(); } }) });
    daemon = await startDaemon(config, { migrate: true, logger });
    const r = await call(daemon.url, 'POST', '/v1/servers', {
      name: 'node1', driver: 'hestiacp', hostname: sshd.host, ip: '192.0.2.11', port: sshd.port, username: 'root',
      private_key: sshd.root.privateKey, hestia_bin: bin, capabilities: { web: true },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    serverId = r.body.id;
  });
  after(async () => {
    await daemon?.stop();
    await tdb?.drop();
    await sshd?.stop();
  });

  /** Queues a server.check of the node as the check-servers job does, and waits for its end. */
  async function check(operation: string): Promise<{ status: string; output: string }> {
    await enqueueTasks(tdb.db, operation, [plannedStep('server.check', `server.check#${serverId}`, `server:${serverId}`, { server: serverId })]);
    daemon.engine.wake();
    const task = await waitFor(`the ${operation} check`, async () => {
      const t = await tdb.db(T.tasks).where({ operation }).first('id', 'status');
      return t && ['succeeded', 'failed'].includes(t.status) ? t : null;
    }, 30_000);
    const attempts = await tdb.db(T.attempts).where('task_id', task.id).select('output');
    return { status: task.status, output: attempts.map((a) => String(a.output ?? '')).join('\n') };
  }
  const commandsRun = () => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').split('\n').filter(Boolean) : []);

  test('the first connection stores the key the node presents, as ssh-keygen prints it', async () => {
    assert.equal((await tdb.db(T.servers).where('id', serverId).first('host_key_sha256')).host_key_sha256, null, 'precondition: added without a pin');
    const first = await check('hostkey-first');
    assert.equal(first.status, 'succeeded', first.output);
    assert.match(first.output, /node1: HestiaCP 1\.10\.3/);
    assert.ok(commandsRun().includes('v-list-sys-info json'), `the check ran on the node: ${commandsRun().join(' | ')}`);
    // Stored in the server's inventory row; the pool stores it after the connection, so wait for it.
    const stored = await waitFor('the pinned key in the servers table', async () => (await tdb.db(T.servers).where('id', serverId).first('host_key_sha256')).host_key_sha256, 10_000);
    assert.equal(stored, sshd.hostKeySha256);
    const shown = await call(daemon.url, 'GET', `/v1/servers/${serverId}`);
    assert.equal(shown.body.server.host_key_sha256, sshd.hostKeySha256, 'the API shows the pin');
    assert.ok(logLines.some((l) => l.includes(`pinned the host key of server ${serverId} (${sshd.host}) on first use: ${sshd.hostKeySha256}`)), `logged: ${logLines.join('').slice(-2000)}`);
    const health = await tdb.db(T.serverHealth).where('server_id', serverId).first('ok', 'error');
    assert.equal(Boolean(health.ok), true, JSON.stringify(health));
  });

  test('a changed host key is refused, naming both keys, and nothing runs on the node', async () => {
    const pinned = sshd.hostKeySha256;
    // An edit through the API that does not name the pin (as an automation changing a limit would) keeps it.
    const edit = await call(daemon.url, 'PUT', `/v1/servers/${serverId}`, {
      name: 'node1', driver: 'hestiacp', hostname: sshd.host, ip: '192.0.2.11', port: sshd.port, username: 'root',
      hestia_bin: path.join(sshd.dir, 'bin'), capabilities: { web: true }, max_accounts: 50,
    });
    assert.equal(edit.status, 200, JSON.stringify(edit.body));
    assert.equal((await tdb.db(T.servers).where('id', serverId).first('host_key_sha256')).host_key_sha256, pinned, 'an edit without host_key_sha256 dropped the pin');
    // The node is reinstalled (or impersonated): a new host key at the same address.
    const keyFile = path.join(sshd.dir, 'host_ed25519');
    fs.rmSync(keyFile);
    fs.rmSync(`${keyFile}.pub`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'impostor', '-f', keyFile]);
    const changed = execFileSync('ssh-keygen', ['-lf', `${keyFile}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
    assert.notEqual(changed, pinned);
    await sshd.restart();
    const ranBefore = commandsRun().length;

    const second = await check('hostkey-changed');
    const mismatch = `host key of ${sshd.host} does not match the pinned key: expected ${pinned}, got ${changed}`;
    assert.ok(second.output.includes(`node1 did not answer: ${mismatch}`), `the task log names the mismatch: ${second.output}`);
    const health = await tdb.db(T.serverHealth).where('server_id', serverId).first('ok', 'error');
    assert.deepEqual({ ok: Boolean(health.ok), error: health.error }, { ok: false, error: mismatch });
    assert.deepEqual(commandsRun().slice(ranBefore), [], 'a command reached the node behind the changed key');
    assert.equal((await tdb.db(T.servers).where('id', serverId).first('host_key_sha256')).host_key_sha256, pinned, 'the pin is not replaced by the new key');

    // The pin lives in the database: another daemon's access to the fleet refuses the node too,
    // with a terminal error (never retried: someone must look).
    const access = new FleetAccess(tdb.db, Buffer.from(TEST_MASTER_KEY, 'hex'));
    try {
      const { driver } = await access.hestia(serverId, { log: () => {} });
      const err = await driver.listSysInfo().then(() => null, (e: unknown) => e);
      assert.ok(err instanceof HostKeyMismatchError, `expected a HostKeyMismatchError, got ${String(err)}`);
      assert.equal((err as Error).message, mismatch);
      assert.equal(classifyError(err), 'terminal');
    } finally {
      await access.close();
    }
    assert.deepEqual(commandsRun().slice(ranBefore), [], 'a command reached the node behind the changed key');
  });
});
