// The command line as a real process: argument checks, configuration errors, and the one-shot
// commands against the default SQLite database in a fresh working directory.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CLI, TSX } from './helpers/daemon.ts';
import { tmpDir } from './helpers/db.ts';
import { quietLogger } from './helpers/engine.ts';
import { registerTestTaskTypes } from './helpers/task-types.ts';
import { COMMANDS } from '../daemon/cli/commands/index.ts';
import { loadConfig } from '../daemon/config/config.ts';
import { openCore } from '../daemon/runtime.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout as it arrived, chunk by chunk. */
  chunks: string[];
}

const dirs: string[] = [];
function freshDir(): string {
  const d = tmpDir('hb-cli-');
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Started {
  /** stdout so far, chunk by chunk. */
  chunks: string[];
  running(): boolean;
  done: Promise<Run>;
}

function start(args: string[], cwd: string, env: Record<string, string> = {}, timeoutMs = 30_000, input?: string): Started {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? cwd, ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) child.stdin!.end(input);
  const chunks: string[] = [];
  let stderr = '';
  let finished = false;
  child.stdout!.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hostbridge ${args.join(' ')} did not finish in ${timeoutMs} ms; stdout: ${chunks.join('')} stderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      finished = true;
      clearTimeout(timer);
      resolve({ code, stdout: chunks.join(''), stderr, chunks });
    });
  });
  return { chunks, running: () => !finished, done };
}

const cli = (args: string[], cwd: string, env: Record<string, string> = {}, timeoutMs = 30_000): Promise<Run> => start(args, cwd, env, timeoutMs).done;

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
const STAMP = /^\d\d:\d\d:\d\d\.\d{3} /;

describe('the command table', () => {
  test('every command has a unique name, a usage line starting with it and a one-line description', () => {
    assert.equal(new Set(COMMANDS.map((c) => c.name)).size, COMMANDS.length);
    for (const c of COMMANDS) {
      assert.ok(c.usage === c.name || c.usage.startsWith(c.name + ' '), `usage of ${c.name}: ${c.usage}`);
      assert.match(c.describe, /^[a-z][^\n]+$/, `description of ${c.name}`);
    }
  });
});

describe('the daemon\'s task types', () => {
  test('a production daemon registers none of the tests\' task types; startDaemon\'s hook adds them', async () => {
    const dir = freshDir();
    const config = loadConfig({ HOSTBRIDGE_DATABASE_URL: path.join(dir, 'hostbridge.sqlite') }, dir);
    const plain = await openCore(config, quietLogger());
    const withTests = await openCore(config, quietLogger(), registerTestTaskTypes);
    try {
      assert.ok(plain.registry.names().includes('server.check'), plain.registry.names().join(', '));
      assert.deepEqual(plain.registry.names().filter((n) => n.startsWith('builtin.')), []);
      assert.deepEqual(withTests.registry.names().filter((n) => n.startsWith('builtin.')).sort(), ['builtin.flaky', 'builtin.ledger', 'builtin.noop', 'builtin.sleep']);
    } finally {
      await plain.close();
      await withTests.close();
    }
  });
});

// A few at a time: each is a Node process with the TypeScript loader, on a machine that may be busy.
describe('hostbridge CLI: help and argument checks', { concurrency: 4 }, () => {
  test('--help exits 0 and lists the commands', async () => {
    const r = await cli(['--help'], freshDir());
    assert.equal(r.code, 0, show(r));
    for (const c of ['serve', 'migrate', 'tick', 'run-task', 'clear-locks', 'jobs', 'task retry', 'tasks force-fail-stuck', 'set <key> <value|->']) {
      assert.ok(r.stdout.includes(c), `help should list ${c}:\n${r.stdout}`);
    }
    assert.equal(r.stderr, '');
    // Generated from the command table: every command with its usage line and description.
    for (const c of COMMANDS) assert.ok(r.stdout.includes(c.usage) && r.stdout.includes(c.describe), `help should show ${c.usage}`);
    // The keys "set" takes, without the hidden ones (the admin password hash is set by admin-password).
    assert.match(r.stdout, /keys: retry\.max_attempts, .*tickets\.sender_email/);
    assert.ok(!r.stdout.includes('ui.admin_password_hash'), 'help does not offer the hidden admin password hash to "set"');
  });

  test('an unknown command is named, with the commands there are', async () => {
    const r = await cli(['frobnicate'], freshDir());
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /^hostbridge: unknown command "frobnicate"\nCommands:\n {2}serve \[--migrate\] +run the daemon/, show(r));
    for (const c of COMMANDS) assert.ok(r.stderr.includes(`  ${c.usage}`), `${c.usage} should be listed`);
    const sub = await cli(['task', 'frob', '1'], freshDir());
    assert.equal(sub.code, 2, show(sub));
    assert.match(sub.stderr, /^hostbridge: unknown command "task frob"\nCommands:\n {2}task retry <id> /, show(sub));
    assert.ok(!sub.stderr.includes('serve'), 'an unknown sub-command lists its family only');
  });

  test('no arguments exits 2 with the usage', async () => {
    const cwd = freshDir();
    const r = await cli([], cwd);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stdout + r.stderr, /Usage: hostbridge <command>/);
    assert.deepEqual(fs.readdirSync(cwd), []);
  });

  test('--version prints the version', async () => {
    const r = await cli(['--version'], freshDir());
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  const usageErrors: Array<[string[], RegExp]> = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['task', 'frob', '1'], /unknown command "task frob"/],
    [['serve', '--bogus'], /unknown option "--bogus" for serve/],
    [['tick', 'extra'], /unexpected argument "extra" for tick/],
    [['run-task'], /run-task needs the name of a scheduled job/],
    [['task', 'retry', 'abc'], /task id must be a positive whole number, got "abc"/],
    [['task', 'retry'], /task retry needs a task id/],
    [['task', 'cancel', '0'], /task id must be a positive whole number, got "0"/],
    [['tasks', 'force-fail-stuck'], /tasks force-fail-stuck needs --older-than/],
    [['tasks', 'force-fail-stuck', '--older-than'], /--older-than needs a value/],
    [['tasks', 'force-fail-stuck', '--older-than', '5x'], /duration "5x" must be a number followed by ms, s, m, h or d/],
    [['tasks', 'delete', '--status', 'running'], /--status takes succeeded, failed or cancelled, got "running"/],
    [['tasks', 'delete', '--status=failed,bogus'], /--status takes succeeded, failed or cancelled, got "bogus"/],
    [['set', 'retry.max_attempts'], /set needs a value for retry.max_attempts/],
    [['target', 'limit', 'srv1', '99'], /limit must be a whole number between 1 and 64, got "99"/],
  ];
  for (const [args, message] of usageErrors) {
    test(`"${args.join(' ')}" exits 2 before touching the database`, async () => {
      const cwd = freshDir();
      const r = await cli(args, cwd);
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, message, show(r));
      assert.match(r.stderr, /^hostbridge: /);
      assert.match(r.stderr, /Run "hostbridge --help" for usage/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a usage error');
      assert.equal(r.stdout, '');
      // With no configuration the default would be data/hostbridge.sqlite (and generated key files) here.
      assert.deepEqual(fs.readdirSync(cwd), [], 'the configuration and the database must not have been touched');
    });
  }

  test('a bad environment value exits 2 naming the variable', async () => {
    const cwd = freshDir();
    const r = await cli(['jobs'], cwd, { HOSTBRIDGE_CONCURRENCY: 'abc' });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /^hostbridge: configuration: HOSTBRIDGE_CONCURRENCY: must be a whole number between 1 and 256, got "abc"\n$/, show(r));
    assert.deepEqual(fs.readdirSync(cwd), []);
  });

  test('a short secret exits 2 without showing it', async () => {
    const r = await cli(['jobs'], freshDir(), { HOSTBRIDGE_SECRET: 'short-Secret-Value' });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /HOSTBRIDGE_SECRET: must be at least 32 characters/);
    assert.ok(!r.stderr.includes('short-Secret-Value'));
  });
});

describe('hostbridge CLI against a fresh SQLite database', () => {
  const cwd = freshDir();
  const dbFile = path.join(cwd, 'data', 'hostbridge.sqlite');
  const withDb = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(dbFile);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };

  test('tick before migrate exits 1 and says to run "hostbridge migrate"', async () => {
    const r = await cli(['tick'], cwd);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^hostbridge: the database needs \d+ migration\(s\) .*run "hostbridge migrate"/, show(r));
    assert.equal(r.stdout, '');
    // The default configuration made its key files, readable by their owner only.
    for (const f of ['shared-secret', 'master.key']) assert.equal(fs.statSync(path.join(cwd, 'data', f)).mode & 0o777, 0o600, f);
  });

  test('migrate applies the migrations, then has nothing to do', async () => {
    const r = await cli(['migrate'], cwd);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^applied: \S+/);
    const status = await cli(['migrate', '--status'], cwd);
    assert.equal(status.code, 0, show(status));
    assert.equal(status.stdout, 'the database is up to date\n');
  });

  test('tick runs both jobs and prints a line per job as it goes', async () => {
    const hourBefore = Math.floor(Date.now() / 3_600_000);
    const r = await cli(['tick'], cwd);
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.split('\n').filter(Boolean);
    for (const l of lines) assert.match(l, STAMP, `unstamped line: ${l}`);
    assert.ok(lines.some((l) => /reap-expired-leases: ok in \d+ ms — requeued 0/.test(l)), show(r));
    assert.ok(lines.some((l) => /clean-completed-tasks: ok in \d+ ms — deleted 0 task\(s\)/.test(l)), show(r));
    assert.ok(lines.some((l) => /deliver-tickets: ok in \d+ ms — ticket delivery is off \(tickets.enabled\); 0 pending/.test(l)), show(r));
    // Live output: the job's own line comes before its summary, and every write is a whole line.
    const own = lines.findIndex((l) => /clean-completed-tasks: deleted 0 finished task\(s\) older than 30 day\(s\)/.test(l));
    const summary = lines.findIndex((l) => /clean-completed-tasks: ok in/.test(l));
    assert.ok(own >= 0 && own < summary, show(r));
    for (const c of r.chunks) assert.ok(c.endsWith('\n'), `stdout chunk ${JSON.stringify(c)} is not a whole line`);

    // The slot is used: an immediate second tick skips both.
    const again = await cli(['tick'], cwd);
    assert.equal(again.code, 0, show(again));
    assert.match(again.stdout, /reap-expired-leases: skipped|reap-expired-leases: ok/);
    // (clean-completed-tasks runs once an hour: unless that hour ended between the two ticks.)
    if (Math.floor(Date.now() / 3_600_000) === hourBefore) {
      assert.match(again.stdout, /clean-completed-tasks: skipped \(not due, or running elsewhere\)/);
    }
  });

  test('jobs lists both jobs with their last run', async () => {
    const r = await cli(['jobs'], cwd);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^reap-expired-leases {2}every 15 s {2}unlocked$/m);
    assert.match(r.stdout, /^clean-completed-tasks {2}every 3600 s {2}unlocked$/m);
    assert.match(r.stdout, /^deliver-tickets {2}every 30 s {2}unlocked$/m);
    assert.match(r.stdout, /last: \S+Z ok \(\d+ ms\): deleted 0 task\(s\)/);
  });

  test('run-task runs one job now with live, stamped lines', async () => {
    // Hold SQLite's write lock so the job blocks after it starts: its first line must arrive
    // while it is still running, not when the process ends.
    const blocker = new Database(dbFile);
    let r: Run;
    try {
      blocker.prepare('BEGIN IMMEDIATE').run();
      const p = start(['run-task', 'reap-expired-leases'], cwd);
      const deadline = Date.now() + 8000;
      while (!p.chunks.join('').includes('reap-expired-leases: started') && p.running() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      await new Promise((res) => setTimeout(res, 200));
      assert.ok(p.running(), `run-task should be waiting for the lock; it ended with: ${p.chunks.join('')}`);
      assert.match(p.chunks.join(''), /^\d\d:\d\d:\d\d\.\d{3} reap-expired-leases: started\n$/, 'the start line is written before the job runs');
      blocker.prepare('COMMIT').run();
      r = await p.done;
    } finally {
      if (blocker.inTransaction) blocker.prepare('ROLLBACK').run();
      blocker.close();
    }
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.match(lines[0], /^\d\d:\d\d:\d\d\.\d{3} reap-expired-leases: started$/);
    assert.match(lines.at(-1)!, /^\d\d:\d\d:\d\d\.\d{3} reap-expired-leases: ok in \d+ ms — requeued 0, failed 0/);
    for (const c of r.chunks) assert.ok(c.endsWith('\n'));
  });

  test('run-task with an unknown job exits 1 naming the known jobs', async () => {
    const r = await cli(['run-task', 'nope'], cwd);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /unknown job "nope"; jobs are deliver-tickets, reap-expired-leases, sync-usage, check-servers, clean-completed-tasks/);
  });

  test('a job locked by a dead daemon is refused by run-task until clear-locks', async () => {
    withDb((db) => db.prepare('UPDATE mod_hostbridge_jobs SET locked_by = ?, locked_until = ? WHERE name = ?').run('dead-host:1:abc', Date.now() + 600_000, 'clean-completed-tasks'));
    const refused = await cli(['run-task', 'clean-completed-tasks'], cwd);
    assert.equal(refused.code, 1, show(refused));
    assert.match(refused.stderr, /job clean-completed-tasks is running on dead-host:1:abc .*run "hostbridge clear-locks"/);

    const cleared = await cli(['clear-locks'], cwd);
    assert.equal(cleared.code, 0, show(cleared));
    assert.equal(cleared.stdout, 'released the lock of clean-completed-tasks\n');
    assert.equal(withDb((db) => (db.prepare('SELECT locked_by FROM mod_hostbridge_jobs WHERE name = ?').get('clean-completed-tasks') as { locked_by: string | null }).locked_by), null);

    const none = await cli(['clear-locks'], cwd);
    assert.equal(none.code, 0, show(none));
    assert.equal(none.stdout, 'no job was locked\n');

    const ran = await cli(['run-task', 'clean-completed-tasks'], cwd);
    assert.equal(ran.code, 0, show(ran));
  });

  test('set writes a valid setting and refuses a bad one, naming the key', async () => {
    const setting = () => withDb((db) => (db.prepare('SELECT value FROM mod_hostbridge_settings WHERE key = ?').get('retry.max_attempts') as { value: string } | undefined)?.value);
    const ok = await cli(['set', 'retry.max_attempts', '7'], cwd);
    assert.equal(ok.code, 0, show(ok));
    assert.equal(ok.stdout, 'retry.max_attempts = 7\n');
    assert.equal(setting(), '7');

    const bad = await cli(['set', 'retry.max_attempts', '-1'], cwd);
    assert.equal(bad.code, 1, show(bad));
    assert.match(bad.stderr, /^hostbridge: setting retry.max_attempts: must be a whole number between 0 and 1000, got "-1"/);
    assert.equal(setting(), '7', 'a refused value must not be written');

    const unknown = await cli(['set', 'retry.maximum', '3'], cwd);
    assert.equal(unknown.code, 1, show(unknown));
    assert.match(unknown.stderr, /setting retry.maximum: unknown setting/);
  });

  test('set reads a secret from standard input, stores it encrypted and never prints it', async () => {
    const secretValue = 'Whmcs-Api-Secret-0123456789';
    const r = await start(['set', 'whmcs.api_secret', '-'], cwd, {}, 30_000, secretValue + '\n').done;
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'whmcs.api_secret = ******** (stored encrypted)\n');
    const row = withDb((db) => db.prepare('SELECT value, encrypted FROM mod_hostbridge_settings WHERE key = ?').get('whmcs.api_secret') as { value: string; encrypted: number });
    assert.equal(row.encrypted, 1);
    assert.match(row.value, /^v1:/);
    assert.ok(!row.value.includes(secretValue));
    const bad = await start(['set', 'whmcs.api_access_key', '-'], cwd, {}, 30_000, 'has spaces <>\n').done;
    assert.equal(bad.code, 1, show(bad));
    assert.ok(!bad.stderr.includes('has spaces'), 'a refused secret must not be echoed');
  });

  test('task retry on a task that does not exist exits 1', async () => {
    const r = await cli(['task', 'retry', '999'], cwd);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^hostbridge: task #999 does not exist\n$/);
  });
});
