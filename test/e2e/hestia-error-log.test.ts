// Issue 15, defect 6a: hostbridge looks before it creates, and HestiaCP logs every failed v-command
// (check_result → `<date> <time> <script> <args> [Error N]` in $HESTIA/log/error.log). A probe for a
// user, package or domain that is not there yet must therefore not be a v-list-* that fails with
// E_NOTEXIST: an admin reading error.log would see an error for every deployment. A whole Split
// lifecycle through the PHP module (create, suspend, unsuspend, terminate) leaves error.log empty
// on every node; so does a Vanity deployment.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { paths, runHestia } from '../emulator/hestia/index.ts';
import { DIALECTS } from '../helpers/db.ts';
import { ok, startE2E, type E2E, type Order } from './whmcs.ts';

for (const dialect of DIALECTS) {
  describe(`no HestiaCP error.log lines from a Split lifecycle (${dialect})`, () => {
    let e: E2E;
    const order: Order = { serviceId: 7101, mode: 'split', domain: 'quiet-logs.example.com' };
    const errorLines = () => Object.fromEntries(e.fleet.nodes.map((n) => [n.name, fs.readFileSync(paths.errorLog(n.dir), 'utf8').split('\n').filter((l) => l.includes('[Error'))]));
    const noErrors = (when: string) => {
      const found = Object.entries(errorLines()).filter(([, l]) => l.length > 0);
      assert.deepEqual(found, [], `${when}: HestiaCP logged errors: ${JSON.stringify(found, null, 1)}`);
    };
    const run = async (fn: string, states: string[]) => {
      ok(await e.module(fn, order), `${fn} ${order.serviceId}`);
      const svc = await e.waitState(order.serviceId, [...states, 'failed'], 90_000);
      if (!states.includes(svc.state)) assert.fail(`${fn} left the service ${svc.state}: ${JSON.stringify(await e.tasks(order.serviceId), null, 1).slice(0, 6000)}`);
    };

    before(async () => {
      e = await startE2E({ dialect });
      noErrors('fleet set-up');
    });
    after(async () => { await e?.close(); });

    test('a Split deployment writes no [Error …] line on any node', async () => {
      await run('CreateAccount', ['active']);
      noErrors('after CreateAccount');
    });

    test('nor does a Vanity deployment (mailbox on the shared mail user, record in the parent zone)', async () => {
      const vanity: Order = { serviceId: 7102, mode: 'vanity', domain: 'ignored.example.com', vanityName: 'quietlogs' };
      ok(await e.module('CreateAccount', vanity), 'CreateAccount vanity');
      const svc = await e.waitState(vanity.serviceId, ['active', 'failed'], 90_000);
      if (svc.state !== 'active') assert.fail(`vanity ended ${svc.state}: ${JSON.stringify(await e.tasks(vanity.serviceId), null, 1).slice(0, 6000)}`);
      noErrors('after the Vanity CreateAccount');
    });

    test('suspend, unsuspend and terminate write none either', async () => {
      await run('SuspendAccount', ['suspended']);
      await run('UnsuspendAccount', ['active']);
      await run('TerminateAccount', ['terminated']);
      noErrors('after the lifecycle');
    });

    test('a failed probe is logged as check_result does, so the checks above can fail', () => {
      const node = e.fleet.web[0]!;
      const r = runHestia(node.dir, 'v-list-user', ['nobody', 'json']);
      assert.equal(r.code, 3);
      const lines = errorLines()[node.name]!;
      assert.equal(lines.length, 1, JSON.stringify(lines));
      assert.match(lines[0]!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d v-list-user  'nobody' 'json' \[Error 3\]$/);
    });
  });
}
