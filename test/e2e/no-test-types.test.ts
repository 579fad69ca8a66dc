// The tests' own task types (`builtin.*`, test/helpers/task-types.ts) are not in a production
// daemon: one started exactly as `npm start` starts it (or as `hostbridge serve`) never runs a
// `builtin.ledger` task queued in its database, and the .sqlite file that task names is never
// written: it is not claimed at all (a daemon claims only the types it has), so it waits queued. The same submission to
// a daemon started with the test types (serve-with-test-types.ts) runs, so the check can fail.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createTestDb, waitFor, type TestDb } from '../helpers/db.ts';
import { CLI, ROOT, TSX, daemonEnv, startDaemonProcess, type DaemonProcess } from '../helpers/daemon.ts';
import { TEST_SERVE } from '../helpers/task-types.ts';
import { createServiceWithChain } from '../../daemon/engine/chains.ts';
import { T } from '../../daemon/common/tables.ts';

/**
 * The node argv `npm start` ends in, read from package.json and scripts/start.sh so this test
 * follows them if they change (start.sh's own npm ci and build steps are run by the test itself).
 */
function npmStartArgv(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.start, 'exec bash scripts/start.sh', 'npm start is no longer scripts/start.sh: update this test');
  const line = fs.readFileSync(path.join(ROOT, 'scripts/start.sh'), 'utf8').split('\n').find((l) => /^exec node /.test(l));
  assert.ok(line, 'scripts/start.sh has no "exec node …" line: update this test');
  const words = line.replace(/"\$@"\s*$/, '').trim().split(/\s+/).slice(2);
  return words.map((w) => (w.endsWith('.js') ? path.join(ROOT, w) : w));
}

/**
 * Queues, behind a production step (service.close, which needs no server), a builtin.ledger step
 * naming `ledger`; then a second production chain after it. Once that second chain has run, the
 * daemon has claimed due work after the ledger task became due: the ledger task's fate is settled.
 */
async function submit(t: TestDb, ledger: string): Promise<{ ledgerTask: any; chain: any }> {
  const first = await createServiceWithChain(t.db, { whmcsServiceId: 501, mode: 'split' }, {
    operation: 'deploy', successState: 'active', failureState: 'failed',
    steps: [
      { step: 'close', type: 'service.close', args: { force: false } },
      { step: 'ledger', type: 'builtin.ledger', args: { ledger, key: 'written-by-a-test-type' } },
    ],
  });
  await waitFor('the production step before the ledger step', async () => (await t.db(T.tasks).where({ chain_id: first.chainId, step_no: 0 }).first('status'))?.status === 'succeeded', 30_000);
  const second = await createServiceWithChain(t.db, { whmcsServiceId: 502, mode: 'split' }, {
    operation: 'deploy', successState: 'active', failureState: 'failed',
    steps: [{ step: 'close', type: 'service.close', args: { force: false } }],
  });
  await waitFor('a production chain queued after the ledger step', async () => (await t.db(T.chains).where('id', second.chainId).first('state'))?.state === 'succeeded', 30_000);
  // With the test types the ledger step may still be finishing: wait for the chain to settle if it will.
  await waitFor('the ledger step to leave "running"', async () => (await t.db(T.tasks).where({ chain_id: first.chainId, step_no: 1 }).first('status'))?.status !== 'running', 30_000);
  return {
    ledgerTask: await t.db(T.tasks).where({ chain_id: first.chainId, step_no: 1 }).first('type', 'status', 'attempts', 'owner', 'last_error'),
    chain: await t.db(T.chains).where('id', first.chainId).first('state'),
  };
}

describe('test-only task types are not registered by a production daemon', () => {
  const dbs: TestDb[] = [];
  const daemons: DaemonProcess[] = [];
  after(async () => {
    for (const d of daemons) await d.kill('SIGTERM');
    for (const t of dbs) await t.drop();
  });

  /** Starts a daemon with argv on a fresh SQLite database, submits, and returns what became of the ledger step. */
  async function run(argv: string[], migrated: boolean) {
    const t = await createTestDb('sqlite', { migrate: migrated });
    dbs.push(t);
    const d = await startDaemonProcess(daemonEnv(t.url, { HOSTBRIDGE_POLL_MS: '50' }), path.join(t.dir, 'daemon.log'), 30_000, argv);
    daemons.push(d);
    const ledger = path.join(t.dir, 'ledger.sqlite');
    return { t, ledger, ...(await submit(t, ledger)) };
  }

  async function assertRefused(argv: string[], migrated: boolean) {
    const { t, ledger, ledgerTask, chain } = await run(argv, migrated);
    assert.equal(ledgerTask.type, 'builtin.ledger');
    assert.deepEqual({ status: ledgerTask.status, attempts: Number(ledgerTask.attempts), owner: ledgerTask.owner }, { status: 'queued', attempts: 0, owner: null },
      `the production daemon claimed the test-only task: ${JSON.stringify(ledgerTask)}`);
    assert.equal(chain.state, 'running', 'the chain waits at the step no daemon here can run');
    assert.equal(fs.existsSync(ledger), false, `the production daemon wrote ${ledger}`);
    assert.equal(await t.db(T.attempts).join(T.tasks, `${T.tasks}.id`, `${T.attempts}.task_id`).where(`${T.tasks}.type`, 'like', 'builtin.%').first('task_id'), undefined, 'no attempt of a builtin task');
  }

  test('a daemon started as `npm start` starts it leaves a builtin.ledger task unrun and its file unwritten', async () => {
    const build = spawnSync('bash', [path.join(ROOT, 'scripts/build.sh')], { encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr + build.stdout);
    const argv = npmStartArgv();
    assert.ok(argv.includes('--migrate') && argv.some((a) => a.endsWith('dist/daemon/cli.js')), `npm start runs ${argv.join(' ')}`);
    await assertRefused(argv, false);
  });

  test('so does `hostbridge serve` (bin/hostbridge, the sources through tsx)', async () => {
    await assertRefused(['--import', TSX, CLI, 'serve'], true);
  });

  test('the same submission runs on a daemon started with the test types (the checks above can fail)', async () => {
    const { ledger, ledgerTask, chain } = await run(TEST_SERVE, true);
    assert.equal(ledgerTask.status, 'succeeded', JSON.stringify(ledgerTask));
    assert.equal(chain.state, 'succeeded');
    assert.equal(fs.existsSync(ledger), true, 'the test types write their ledger');
  });
});
