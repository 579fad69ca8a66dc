// Role-targeted HestiaCP configuration, below the daemon: the value checks (an error names the
// key), the planner (which servers an Apply reaches, which keys each gets: a mail key never on a
// web-only node, PowerDNS skipped), the emulator's v-change-sys-config-value / v-list-sys-config
// as HestiaCP's scripts behave, and the store on SQLite and MariaDB (a bad value saves nothing,
// a tab replaces its own category only, Apply queues one task per server on its target).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { DIALECTS, createTestDb, tmpDir, type TestDb } from '../helpers/db.ts';
import { applyHestiaConfig, checkConfigValue, CONFIG_KEYS, groupConfig, lastApply, saveGroupConfig } from '../../daemon/fleet/hestia-config.ts';
import { keyChanges, keysForServer, planApply, type ConfigServer, type ManagedKey } from '../../daemon/pipelines/hestia-config-plan.ts';
import { addServer, saveGroup } from '../../daemon/fleet/inventory.ts';
import { T } from '../../daemon/common/tables.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { createNode } from '../emulator/hestia/create.ts';
import { runHestia } from '../emulator/hestia/index.ts';
import { paths } from '../emulator/hestia/node.ts';
import { SYS_CONFIG_KEYS } from '../emulator/hestia/commands/sysconfig.ts';

const caps = (web: boolean, mail: boolean, dns: boolean) => ({ web, mail, dns });
const srv = (id: number, name: string, c: ConfigServer['caps'], driver: ConfigServer['driver'] = 'hestiacp', status = 'active'): ConfigServer => ({ id, name, driver, status, caps: c });

describe('hestia config: value checks', () => {
  test('good values pass, trimmed', () => {
    assert.equal(checkConfigValue('WEB_PORT', ' 8080 '), '8080');
    assert.equal(checkConfigValue('ANTISPAM_SYSTEM', ''), '');
    assert.equal(checkConfigValue('LANGUAGE', 'pt-br'), 'pt-br');
    assert.equal(checkConfigValue('API_ALLOWED_IP', '192.0.2.1,2001:db8::1'), '192.0.2.1,2001:db8::1');
    assert.equal(checkConfigValue('FROM_NAME', 'Example Hosting'), 'Example Hosting');
  });
  test('what HestiaCP refuses, what its sed mangles and each key\'s own rule are refused, naming the key', () => {
    const refused = (key: string, v: unknown, re: RegExp) => assert.throws(() => checkConfigValue(key, v), (e: unknown) => e instanceof InputError && e.field === key && re.test(e.message), `${key}=${String(v)}`);
    refused('FROM_NAME', "O'Brien", /^FROM_NAME: must not contain quotes or "\|"/);
    refused('FROM_NAME', 'a|b', /quotes or "\|"/);
    refused('FROM_NAME', 'two\nlines', /one line/);
    refused('FROM_NAME', 'a & b', /"&"/);
    refused('WEB_PORT', '70000', /^WEB_PORT: must be a port number, 1 to 65535, not "70000"$/);
    refused('WEB_PORT', '', /port number/);
    refused('POLICY_USER_VIEW_LOGS', 'maybe', /must be yes, no/);
    refused('FROM_EMAIL', 'not-an-address', /e-mail address/);
    refused('WEBMAIL_ALIAS', 'web mail', /letters, digits/);
    refused('SIEVE_SYSTEM', 'yes', /not a HestiaCP key hostbridge manages/);
    refused('WEB_PORT', 8080, /must be a string/);
  });
  test('every key is one v-list-sys-config shows, in exactly one category', () => {
    for (const c of CONFIG_KEYS) {
      assert.ok((SYS_CONFIG_KEYS as readonly string[]).includes(c.key), `${c.key} is not listed by v-list-sys-config`);
      assert.ok(['all', 'web', 'mail', 'dns'].includes(c.category));
    }
    assert.equal(new Set(CONFIG_KEYS.map((c) => c.key)).size, CONFIG_KEYS.length);
    assert.ok(!CONFIG_KEYS.some((c) => c.key === 'SUPPORT_DNSSEC' || c.key === 'PHPMYADMIN_KEY' || c.key === 'SERVER_SMTP_PASSWD'));
  });
});

describe('hestia config: the plan', () => {
  const web = srv(1, 'web1', caps(true, false, false));
  const mail = srv(2, 'mail1', caps(false, true, false));
  const ns = srv(3, 'ns1', caps(false, false, true));
  const combo = srv(4, 'combo1', caps(true, true, false));
  const pdns = srv(5, 'pdns', caps(false, false, true), 'powerdns');
  const off = srv(6, 'web-off', caps(true, false, false), 'hestiacp', 'disabled');
  const all = [web, mail, ns, combo, pdns, off];
  const managed: ManagedKey[] = [
    { key: 'LANGUAGE', value: 'de', category: 'all' }, { key: 'WEB_PORT', value: '8081', category: 'web' },
    { key: 'ANTISPAM_SYSTEM', value: 'spamassassin', category: 'mail' }, { key: 'DNS_CLUSTER', value: 'no', category: 'dns' },
  ];
  const names = (ks: ManagedKey[]) => ks.map((k) => k.key);

  test('Apply reaches the servers of its role, one task each on the server\'s target; PowerDNS and disabled servers are skipped with a reason', () => {
    const a = planApply(7, 'all', all);
    assert.deepEqual(a.steps.map((s) => [s.target, s.args]), [1, 2, 3, 4].map((id) => [`server:${id}`, { server: id, group: 7, role: 'all' }]));
    assert.deepEqual(a.skipped.map((s) => [s.server.name, s.reason]), [['pdns', 'PowerDNS server: it has no hestia.conf'], ['web-off', 'the server is disabled']]);
    assert.deepEqual(planApply(7, 'mail', all).steps.map((s) => s.args.server), [2, 4]);
    assert.deepEqual(planApply(7, 'web', all).steps.map((s) => s.args.server), [1, 4]);
    const d = planApply(7, 'dns', all);
    assert.deepEqual(d.steps.map((s) => s.args.server), [3]);
    assert.deepEqual(d.skipped.map((s) => s.server.name), ['pdns']);
  });

  test('each server gets the all-servers keys and its own roles\' keys, narrowed to the role applied', () => {
    assert.deepEqual(names(keysForServer('all', web.caps, managed)), ['LANGUAGE', 'WEB_PORT']);
    assert.deepEqual(names(keysForServer('all', mail.caps, managed)), ['ANTISPAM_SYSTEM', 'LANGUAGE']);
    assert.deepEqual(names(keysForServer('all', ns.caps, managed)), ['DNS_CLUSTER', 'LANGUAGE']);
    assert.deepEqual(names(keysForServer('all', combo.caps, managed)), ['ANTISPAM_SYSTEM', 'LANGUAGE', 'WEB_PORT']);
    assert.deepEqual(names(keysForServer('mail', combo.caps, managed)), ['ANTISPAM_SYSTEM', 'LANGUAGE'], 'Apply to mail servers pushes no web key, even to a web+mail node');
    assert.deepEqual(names(keysForServer('mail', web.caps, managed)), [], 'a web-only node gets nothing from Apply to mail servers');
  });

  test('only keys that differ are changed', () => {
    const { unchanged, change } = keyChanges(managed.slice(0, 2), { LANGUAGE: 'de', WEB_PORT: '8080' });
    assert.deepEqual([names(unchanged), names(change)], [['LANGUAGE'], ['WEB_PORT']]);
    assert.deepEqual(names(keyChanges([{ key: 'ANTISPAM_SYSTEM', value: '', category: 'mail' }], {}).unchanged), ['ANTISPAM_SYSTEM'], 'an absent key reads as empty');
  });
});

describe('hestia config: the emulator\'s commands', () => {
  let dir: string;
  let dnsDir: string;
  before(() => {
    const root = tmpDir('hb-sysconfig-');
    dir = path.join(root, 'web');
    dnsDir = path.join(root, 'dns');
    createNode(dir, { hostname: 'web.example.net', ip: '192.0.2.11', roles: { web: true } });
    createNode(dnsDir, { hostname: 'ns.example.net', ip: '192.0.2.31', roles: { dns: true } });
  });
  after(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));
  const conf = () => fs.readFileSync(paths.conf(dir), 'utf8');
  const list = (d = dir) => JSON.parse(runHestia(d, 'v-list-sys-config', ['json']).stdout).config as Record<string, string>;

  test('v-change-sys-config-value upper-cases the key, sets or appends KEY=\'VALUE\' and keeps the file sorted', () => {
    assert.equal(runHestia(dir, 'v-change-sys-config-value', ['web_port', '8081']).code, 0);
    assert.equal(runHestia(dir, 'v-change-sys-config-value', ['LANGUAGE', 'de']).code, 0);
    assert.equal(runHestia(dir, 'v-change-sys-config-value', ['WEB_BACKEND', '']).code, 0, 'an empty value is allowed');
    const lines = conf().trim().split('\n');
    assert.ok(lines.includes("WEB_PORT='8081'") && lines.includes("LANGUAGE='de'") && lines.includes("WEB_BACKEND=''"));
    assert.deepEqual(lines, [...lines].sort());
    assert.equal(list().WEB_PORT, '8081');
    assert.match(fs.readFileSync(paths.systemLog(dir), 'utf8'), /v-change-sys-config-value {2}'web_port' '8081'/);
  });

  test('refusals: quotes or "|" and a bad key → 2, too few arguments → 1, demo mode → 1 before anything; nothing changes', () => {
    const before = conf();
    const r1 = runHestia(dir, 'v-change-sys-config-value', ['FROM_NAME', 'a|b']);
    assert.deepEqual([r1.code, r1.stdout], [2, 'Error: Invalid value contains qoutes (" or \' or | ) :: a|b\n']);
    const r2 = runHestia(dir, 'v-change-sys-config-value', ['BAD KEY', 'x']);
    assert.deepEqual([r2.code, r2.stdout], [2, 'Error: invalid key format :: BAD KEY\n']);
    assert.equal(runHestia(dir, 'v-change-sys-config-value', ['ONLY_KEY']).code, 1);
    assert.equal(conf(), before);
    assert.equal(runHestia(dir, 'v-change-sys-config-value', ['DEMO_MODE', 'yes']).code, 0);
    const errors = fs.readFileSync(paths.errorLog(dir), 'utf8');
    const r3 = runHestia(dir, 'v-change-sys-config-value', ['LANGUAGE', 'fr']);
    assert.deepEqual([r3.code, r3.stdout], [1, 'ERROR: Unable to perform operation due to security restrictions that are in place.\n']);
    assert.equal(fs.readFileSync(paths.errorLog(dir), 'utf8'), errors, 'demo mode exits without an error.log line');
    assert.equal(list().LANGUAGE, 'de');
  });

  test('v-list-sys-config json: the fixed key set, unset keys empty, SUPPORT_DNSSEC computed on a DNS node', () => {
    const web = list();
    assert.deepEqual(Object.keys(web), [...SYS_CONFIG_KEYS], 'the 93 keys of the script, in its order');
    assert.equal(web.THEME, '');
    assert.equal(web.SUPPORT_DNSSEC, '');
    assert.equal(list(dnsDir).SUPPORT_DNSSEC, 'yes');
    assert.equal(web.EMULATOR_HOSTNAME, undefined, 'keys outside the script\'s list are never shown');
  });
});

for (const dialect of DIALECTS) {
  describe(`hestia config: the store (${dialect})`, () => {
    let tdb: TestDb;
    let groupId: number;
    const ids: Record<string, number> = {};
    const key = crypto.randomBytes(32);
    before(async () => {
      tdb = await createTestDb(dialect);
      const add = async (name: string, c: ConfigServer['caps'], driver: 'hestiacp' | 'powerdns' = 'hestiacp') => {
        ids[name] = await addServer(tdb.db, key, driver === 'powerdns'
          ? { name, driver, hostname: '127.0.0.1', ip: '127.0.0.1', api_key: 'k'.repeat(20), capabilities: { dns: true } }
          : { name, driver, hostname: `${name}.example.net`, ip: '192.0.2.1', username: 'root', password: 'pw-' + name, capabilities: c });
      };
      await add('web1', caps(true, false, false));
      await add('mail1', caps(false, true, false));
      await add('ns1', caps(false, false, true));
      await add('pdns', caps(false, false, true), 'powerdns');
      groupId = await saveGroup(tdb.db, { name: 'g', servers: [ids.web1!, ids.mail1!], dns_servers: [ids.ns1!, ids.pdns!] });
    });
    after(async () => { await tdb?.drop(); });

    test('a bad value saves nothing; a tab replaces its own category only; null unmanages', async () => {
      await saveGroupConfig(tdb.db, groupId, { LANGUAGE: 'de', WEB_PORT: '8081' });
      await assert.rejects(saveGroupConfig(tdb.db, groupId, { ANTISPAM_SYSTEM: 'spamassassin', FROM_NAME: 'x"y' }, 'mail'), /^InputError: FROM_NAME: must not contain quotes/);
      assert.deepEqual(await groupConfig(tdb.db, groupId), { LANGUAGE: 'de', WEB_PORT: '8081' });
      await assert.rejects(saveGroupConfig(tdb.db, groupId, { WEB_PORT: '80' }, 'mail'), /WEB_PORT: belongs to the web config, not mail/);
      await saveGroupConfig(tdb.db, groupId, { ANTISPAM_SYSTEM: 'spamassassin' }, 'mail');
      await saveGroupConfig(tdb.db, groupId, {}, 'web');
      assert.deepEqual(await groupConfig(tdb.db, groupId), { ANTISPAM_SYSTEM: 'spamassassin', LANGUAGE: 'de' });
      await saveGroupConfig(tdb.db, groupId, { LANGUAGE: null });
      assert.deepEqual(await groupConfig(tdb.db, groupId), { ANTISPAM_SYSTEM: 'spamassassin' });
      await assert.rejects(saveGroupConfig(tdb.db, 999, { LANGUAGE: 'de' }), /server group 999 does not exist/);
    });

    test('Apply queues one hestia.config task per HestiaCP server of the role; PowerDNS is recorded as skipped; a second click adds nothing', async () => {
      await assert.rejects(applyHestiaConfig(tdb.db, groupId, 'ftp'), /^InputError: role: must be one of all, web, mail, dns/);
      const r = await applyHestiaConfig(tdb.db, groupId, 'dns');
      assert.deepEqual(r.queued.map((q) => q.name), ['ns1']);
      assert.deepEqual(r.skipped, [{ server_id: ids.pdns, name: 'pdns', reason: 'PowerDNS server: it has no hestia.conf' }]);
      await applyHestiaConfig(tdb.db, groupId, 'dns');
      const tasks = await tdb.db(T.tasks).where('type', 'hestia.config').select('target', 'args', 'operation', 'service_id');
      assert.equal(tasks.length, 1);
      assert.equal(tasks[0].target, `server:${ids.ns1}`);
      assert.equal(tasks[0].service_id, null);
      assert.deepEqual(JSON.parse(tasks[0].args), { server: ids.ns1, group: groupId, role: 'dns' });
      const runs = await lastApply(tdb.db, groupId);
      assert.deepEqual(runs.map((x) => [x.server_id, x.outcome]), [[ids.ns1, 'queued'], [ids.pdns, 'skipped']]);
      // A server taken out of the group no longer shows a result there.
      await saveGroup(tdb.db, { name: 'g', dns_servers: [ids.pdns!] }, groupId);
      assert.deepEqual((await lastApply(tdb.db, groupId)).map((x) => x.server_id), [ids.pdns]);
      await saveGroup(tdb.db, { name: 'g', dns_servers: [ids.ns1!, ids.pdns!] }, groupId);
    });
  });
}
