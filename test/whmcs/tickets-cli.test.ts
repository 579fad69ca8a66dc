// `hostbridge tickets list` and `tickets retry` as a real process, on both dialects: a ticket WHMCS
// refused is listed with WHMCS's answer, retried once the admin fixed the cause, and bad input is
// refused with a message that names it, changing nothing.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { CLI, TEST_MASTER_KEY, TEST_SECRET, TSX } from '../helpers/daemon.ts';
import { T } from '../../daemon/common/tables.ts';

interface Run { code: number | null; stdout: string; stderr: string }

function hostbridge(args: string[], databaseUrl: string, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('timeout', ['60', process.execPath, '--import', TSX, CLI, ...args], {
      cwd, stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOSTBRIDGE_DATABASE_URL: databaseUrl, HOSTBRIDGE_SECRET: TEST_SECRET, HOSTBRIDGE_MASTER_KEY: TEST_MASTER_KEY },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

for (const dialect of DIALECTS) {
  describe(`hostbridge tickets (${dialect})`, () => {
    let t: TestDb;
    let refused: number;
    const run = (...args: string[]) => hostbridge(args, t.url, t.dir);
    const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
    before(async () => {
      t = await createTestDb(dialect);
      const row = {
        service_id: null, operation: 'health', task_id: 7, subject: '[hostbridge] health failed for server.check on fra-web7 (192.0.2.7)',
        body: 'hostbridge could not complete the operation "health".', attempts: 1, next_attempt_at: 0, created_at: 1,
      };
      await t.db(T.ticketOutbox).insert({ ...row, thread_key: 'type:server.check:health', state: 'refused', last_error: 'WHMCS API refused OpenTicket: Email Address Invalid' });
      await t.db(T.ticketOutbox).insert({ ...row, thread_key: 'type:usage.sync:usage', operation: 'usage', state: 'delivered', whmcs_ticket_id: 12, last_error: null });
      refused = Number((await t.db(T.ticketOutbox).where('state', 'refused').first('id')).id);
    });
    after(async () => {
      await t.drop();
    });

    test('tickets list shows the refused ticket with WHMCS\'s answer, and not the delivered one', async () => {
      const r = await run('tickets', 'list');
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout, `#${refused} refused after 1 attempt(s): [hostbridge] health failed for server.check on fra-web7 (192.0.2.7)\n    WHMCS API refused OpenTicket: Email Address Invalid\n`);
    });

    test('bad input is refused by name and changes nothing', async () => {
      const cases: Array<[string[], number, RegExp]> = [
        [['tickets', 'retry'], 2, /tickets retry needs a ticket id \(from "tickets list"\) or all/],
        [['tickets', 'retry', '999999'], 1, /ticket #999999 does not exist in the outbox; nothing was changed/],
        [['tickets', 'retry', String(refused + 1)], 1, new RegExp(`ticket #${refused + 1} is delivered, not refused; nothing was changed`)],
      ];
      for (const [args, code, message] of cases) {
        const r = await run(...args);
        assert.equal(r.code, code, show(r));
        assert.match(r.stderr, message, show(r));
      }
      assert.equal((await t.db(T.ticketOutbox).where('id', refused).first()).state, 'refused');
    });

    test('tickets retry puts the refused ticket back in the outbox, due now', async () => {
      const r = await run('tickets', 'retry', String(refused));
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout, `1 ticket(s) and 0 note(s) back in the outbox, sent at the next delivery: #${refused}\n`);
      const row = await t.db(T.ticketOutbox).where('id', refused).first();
      assert.equal(row.state, 'pending');
      assert.ok(Number(row.next_attempt_at) <= Date.now() + 1000);
      const again = await run('tickets', 'retry', 'all');
      assert.equal(again.stdout, 'no refused ticket\n', show(again));
    });
  });
}
