// Apply Hestia config end to end: a group of emulated HestiaCP web, mail and DNS nodes plus the
// real PowerDNS, keys managed through the signed API, Apply to all servers as queued tasks. Each
// node's hestia.conf then differs from before by exactly its roles' managed keys and the
// all-servers keys (no mail key on the web node), PowerDNS is never called, a second Apply changes
// nothing, and a value HestiaCP refuses is reported for its key while the task fails once, for good.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Daemon } from '../../daemon/runtime.ts';
import { DIALECTS, waitFor } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { commandsSince, type EmulatedFleet, type RegisteredFleet } from '../helpers/fleet.ts';
import { quietScheduledNodeWork, startFleetWorld, type FleetWorld } from '../helpers/world.ts';
import { readKeyFile } from '../emulator/hestia/conf.ts';
import { paths } from '../emulator/hestia/node.ts';
import { T } from '../../daemon/common/tables.ts';

for (const dialect of DIALECTS) {
  describe(`Apply Hestia config (${dialect})`, () => {
    let world: FleetWorld;
    let daemon: Daemon;
    let fleet: EmulatedFleet;
    let reg: RegisteredFleet;

    before(async () => {
      world = await startFleetWorld(dialect, 'hb-hestia-config-', { web: 1, mail: 1, dns: 1, combo: 0, pdns: true });
      ({ daemon, fleet, reg } = world);
      await quietScheduledNodeWork(daemon, world.tdb);
    });
    after(async () => { await world?.close(); });

    const confOf = (name: string) => Object.fromEntries(readKeyFile(paths.conf(fleet.node(name).dir)));
    const changed = (a: Record<string, string>, b: Record<string, string>) =>
      Object.fromEntries([...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]).sort().map((k) => [k, b[k]]));
    const changes = (name: string, from: number) => commandsSince(fleet.node(name), from).filter((e) => e.ran && (e.argv ?? []).some((x) => x.endsWith('v-change-sys-config-value')));
    const logLength = (name: string) => commandsSince(fleet.node(name), 0).length;

    /** Applies to `role` and waits until every queued server has its outcome. */
    async function apply(role: string): Promise<Record<string, any>> {
      const r = await call(daemon.url, 'POST', `/v1/server-groups/${reg.groupId}/apply-hestia-config`, { role });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const queued = (r.body.queued as Array<{ server_id: number }>).map((q) => q.server_id);
      const runs = await waitFor(`Apply to ${role} done`, async () => {
        const g = (await call(daemon.url, 'GET', `/v1/server-groups/${reg.groupId}/hestia-config`)).body;
        const mine = (g.last_apply as Array<Record<string, any>>).filter((x) => queued.includes(x.server_id));
        return mine.length === queued.length && mine.every((x) => x.outcome !== 'queued' && (x.outcome !== 'failed' || x.finished_at)) ? mine : null;
      }, 30_000);
      return { answer: r.body, runs: Object.fromEntries(runs.map((x) => [reg.names[x.server_id], x])) };
    }

    test('each node gets exactly its roles\' keys; PowerDNS is skipped and untouched; a second Apply changes nothing', async () => {
      const bad = await call(daemon.url, 'PUT', `/v1/server-groups/${reg.groupId}/hestia-config`, { values: { LANGUAGE: 'de', WEB_PORT: '99999' } });
      assert.equal(bad.status, 422);
      assert.match(JSON.stringify(bad.body), /WEB_PORT: must be a port number/);
      const unknown = await call(daemon.url, 'PUT', `/v1/server-groups/${reg.groupId}/hestia-config`, { values: { SIEVE_SYSTEM: 'yes' } });
      assert.equal(unknown.status, 422);
      assert.match(JSON.stringify(unknown.body), /SIEVE_SYSTEM: is not a HestiaCP key hostbridge manages/);
      const values = {
        LANGUAGE: 'de', THEME: 'flat',
        WEB_PORT: '8081', POLICY_SYNC_SKELETON: 'no',
        ANTISPAM_SYSTEM: 'spamassassin', WEBMAIL_ALIAS: 'mail-web',
        DNS_CLUSTER: 'yes',
      };
      const put = await call(daemon.url, 'PUT', `/v1/server-groups/${reg.groupId}/hestia-config`, { values });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual(put.body.values, values, 'the refused PUT saved nothing');

      const before = { web1: confOf('web1'), mail1: confOf('mail1'), ns1: confOf('ns1') };
      const pdnsCalls = fleet.pdns!.calls().length;
      const { answer, runs } = await apply('all');
      assert.deepEqual(answer.queued.map((q: any) => q.name).sort(), ['mail1', 'ns1', 'web1']);
      assert.deepEqual(answer.skipped, [{ server_id: reg.pdns, name: 'pdns', reason: 'PowerDNS server: it has no hestia.conf' }]);
      assert.deepEqual(changed(before.web1, confOf('web1')), { LANGUAGE: 'de', POLICY_SYNC_SKELETON: 'no', THEME: 'flat', WEB_PORT: '8081' });
      assert.deepEqual(changed(before.mail1, confOf('mail1')), { ANTISPAM_SYSTEM: 'spamassassin', LANGUAGE: 'de', THEME: 'flat', WEBMAIL_ALIAS: 'mail-web' });
      assert.deepEqual(changed(before.ns1, confOf('ns1')), { DNS_CLUSTER: 'yes', LANGUAGE: 'de', THEME: 'flat' });
      assert.equal(confOf('web1').ANTISPAM_SYSTEM, '', 'no mail key on the web node');
      assert.equal(fleet.pdns!.calls().length, pdnsCalls, 'PowerDNS is never called');
      assert.equal(runs.web1.outcome, 'applied');
      assert.deepEqual(runs.web1.keys.map((k: any) => [k.key, k.outcome]), [['LANGUAGE', 'applied'], ['POLICY_SYNC_SKELETON', 'applied'], ['THEME', 'applied'], ['WEB_PORT', 'applied']]);
      const g = (await call(daemon.url, 'GET', `/v1/server-groups/${reg.groupId}/hestia-config`)).body;
      assert.equal(g.last_apply.find((x: any) => x.server_id === reg.pdns).outcome, 'skipped');

      const marks = { web1: logLength('web1'), mail1: logLength('mail1'), ns1: logLength('ns1') };
      const again = await apply('all');
      for (const name of ['web1', 'mail1', 'ns1'] as const) {
        assert.equal(again.runs[name].outcome, 'unchanged', name);
        assert.ok(again.runs[name].keys.every((k: any) => k.outcome === 'unchanged'), name);
        assert.deepEqual(changes(name, marks[name]), [], `${name}: no v-change-sys-config-value the second time`);
      }
    });

    test('a value HestiaCP refuses is reported for its key, the other keys still apply, and the task fails once for good', async () => {
      // A value that passed an older check, stored as is: HestiaCP's format_no_quotes refuses "|" (exit 2).
      await daemon.core.db(T.hestiaConfig).insert({ group_id: reg.groupId, config_key: 'FROM_NAME', value: 'Sales|Support', updated_at: Date.now() });
      const put = await call(daemon.url, 'PUT', `/v1/server-groups/${reg.groupId}/hestia-config`, { values: { ANTISPAM_SYSTEM: '' } });
      assert.equal(put.status, 200);
      const mark = logLength('web1');
      const { answer, runs } = await apply('mail');
      assert.deepEqual(answer.queued.map((q: any) => q.name), ['mail1'], 'Apply to mail servers reaches the mail node only');
      assert.equal(runs.mail1.outcome, 'refused');
      const keys = Object.fromEntries(runs.mail1.keys.map((k: any) => [k.key, k]));
      assert.equal(keys.FROM_NAME.outcome, 'refused');
      assert.match(keys.FROM_NAME.message, /Invalid value contains qoutes/);
      assert.equal(keys.ANTISPAM_SYSTEM.outcome, 'applied');
      assert.equal(keys.LANGUAGE.outcome, 'unchanged');
      assert.equal(confOf('mail1').ANTISPAM_SYSTEM, '');
      assert.equal(confOf('mail1').FROM_NAME, undefined);
      assert.equal(commandsSince(fleet.node('web1'), mark).length, 0, 'nothing ran on the web node');
      const task = await waitFor('the task ends', async () => {
        const t = await daemon.core.db(T.tasks).where({ type: 'hestia.config', target: `server:${reg.ids.mail1}` }).orderBy('id', 'desc').first();
        return t && ['failed', 'succeeded'].includes(t.status) ? t : null;
      });
      assert.equal(task.status, 'failed');
      assert.equal(Number(task.attempts), 1, 'a refusal is terminal: no retry');
    });
  });
}
