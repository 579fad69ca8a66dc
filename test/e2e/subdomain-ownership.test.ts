// Issue 15, defect 6d, through the PHP module. HestiaCP's default ENFORCE_SUBDOMAIN_OWNERSHIP=yes
// refuses `alice.mysites.net` as a web domain of the service's user on a node where another user
// (the provider) holds `mysites.net` — here its shared mail domain on the group's only web node.
// Before: CreateAccount answered success, the account was made, and the deployment failed on the
// node ("mysites.net belongs to a different user"). Now the order is refused up front with a
// message that names the setting and the fix, and nothing reaches the node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { paths, readNode, runHestia } from '../emulator/hestia/index.ts';
import { call } from '../helpers/api.ts';
import { DIALECTS } from '../helpers/db.ts';
import { startE2E, type E2E, type Order } from './whmcs.ts';

const PARENT = 'mysites.net';

for (const dialect of DIALECTS) {
  describe(`vanity site under a two-label parent held on the web node (${dialect})`, () => {
    let e: E2E;
    before(async () => {
      // One Web+Mail node: it is the only web node and holds the parent's shared mail domain.
      e = await startE2E({ dialect, fleet: { web: 0, mail: 0, dns: 0, combo: 1, pdns: false } });
      const combo = e.fleet.combo[0]!;
      assert.match(fs.readFileSync(paths.conf(combo.dir), 'utf8'), /^ENFORCE_SUBDOMAIN_OWNERSHIP='yes'$/m, 'the node runs with HestiaCP\'s default');
      for (const [cmd, args] of [['v-add-user', ['provider', 'Provider-pw-1', 'provider@example.net']], ['v-add-mail-domain', ['provider', PARENT]]] as const) {
        const r = runHestia(combo.dir, cmd, [...args]);
        assert.equal(r.code, 0, `${cmd}: ${r.stdout}`);
      }
      const g = await call(e.url, 'PUT', `/v1/server-groups/${e.reg.groupId}`, {
        name: 'emulated',
        vanity_domains: [{ domain: PARENT, mail_server_id: e.reg.ids.combo1, mail_user: 'provider', dns_user: 'provider' }],
      });
      assert.equal(g.status, 200, JSON.stringify(g.body));
    });
    after(async () => { await e?.close(); });

    test('CreateAccount is refused with ENFORCE_SUBDOMAIN_OWNERSHIP and the fix named; nothing is made on the node', async () => {
      const combo = e.fleet.combo[0]!;
      const usersBefore = Object.keys(readNode(combo.dir).users).sort();
      const order: Order = { serviceId: 7201, mode: 'vanity', domain: 'ignored.example.com', vanityName: 'alice' };
      const result = await e.module('CreateAccount', order, { configoptions: { vanity_domain: PARENT } });
      if (result === 'success') {
        const svc = await e.waitState(order.serviceId, ['active', 'failed'], 60_000);
        assert.fail(`the order was accepted and the service ended ${svc.state}: ${JSON.stringify(await e.tasks(order.serviceId), null, 1).slice(0, 3000)}`);
      }
      assert.match(String(result), /alice\.mysites\.net/);
      assert.match(String(result), /ENFORCE_SUBDOMAIN_OWNERSHIP=yes/);
      assert.match(String(result), /combo1: its mail domain \(user provider\)/);
      assert.match(String(result), /Fix: add to the group a web node/);
      assert.deepEqual(Object.keys(readNode(combo.dir).users).sort(), usersBefore, 'no account was made');
      assert.equal(fs.readFileSync(paths.errorLog(combo.dir), 'utf8'), '', 'no command was refused on the node');
    });
  });
}
