// The fleet routes that change a server, through the signed API on SQLite and MariaDB: PUT edits
// every field and seals a new credential (a PUT without one, or without a host key pin, keeps the
// stored one), bad input is refused naming the problem and changes nothing, DELETE removes a free
// server with its group memberships, and refuses (409) a server that still holds a service's
// accounts, changing nothing.
// The engine is stopped: the service written here is never deployed, only placed.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Daemon } from '../../daemon/runtime.ts';
import { DIALECTS, type TestDb } from '../helpers/db.ts';
import { call, createBody, type TestFleet } from '../helpers/api.ts';
import { startRoutesWorld, type RoutesWorld } from '../helpers/world.ts';
import { TEST_MASTER_KEY } from '../helpers/daemon.ts';
import { decryptSecret } from '../../daemon/crypto/secretbox.ts';
import { T } from '../../daemon/common/tables.ts';

const MASTER = Buffer.from(TEST_MASTER_KEY, 'hex');
const PIN_A = 'SHA256:' + 'A'.repeat(43);
const PIN_B = 'SHA256:' + 'b'.repeat(43);
const PRIVATE_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-not-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n';

for (const dialect of DIALECTS) {
  describe(`fleet routes: edit and delete servers (${dialect})`, () => {
    let tdb: TestDb;
    let world: RoutesWorld;
    let daemon: Daemon;
    let fleet: TestFleet;
    let url: string;

    before(async () => {
      world = await startRoutesWorld(dialect, 'hb-fleet-routes-');
      ({ tdb, daemon, fleet } = world);
      url = daemon.url;
    });
    after(async () => { await world?.close(); });

    const row = (id: number) => tdb.db(T.servers).where('id', id).first();
    const memberships = async (id: number) => ({
      members: (await tdb.db(T.members).where('server_id', id).select('group_id')).map((r) => Number(r.group_id)),
      dns: (await tdb.db(T.groupDns).where('server_id', id).select('group_id')).map((r) => Number(r.group_id)),
    });
    const body = (over: Record<string, unknown> = {}) => ({
      name: 'web2', driver: 'hestiacp', hostname: 'web2.test.invalid', ip: '192.0.2.12', port: 22, username: 'root', capabilities: { web: true }, ...over,
    });

    test('PUT edits name, address and port, and seals a new password; a PUT without a credential or a pin keeps them', async () => {
      const id = fleet.web[1]!;
      const r = await call(url, 'PUT', `/v1/servers/${id}`, body({
        name: 'web2-renamed', hostname: 'WEB2-new.test.invalid', ip: '198.51.100.12', port: 2222, password: 'n3w-Root-Passw0rd', max_accounts: 40, status: 'maintenance',
      }));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { ok: true, id });
      const shown = await call(url, 'GET', `/v1/servers/${id}`);
      assert.equal(shown.status, 200);
      const s = shown.body.server;
      assert.deepEqual({ name: s.name, hostname: s.hostname, ip: s.ip, port: s.port, status: s.status, max_accounts: s.max_accounts, auth_method: s.auth_method, has_credential: s.has_credential },
        { name: 'web2-renamed', hostname: 'web2-new.test.invalid', ip: '198.51.100.12', port: 2222, status: 'maintenance', max_accounts: 40, auth_method: 'password', has_credential: true });
      assert.ok(!JSON.stringify(shown.body).includes('n3w-Root-Passw0rd'), 'the password is never shown back');
      assert.deepEqual(s.groups, ['main'], 'the edit keeps the group membership');
      // Sealed at rest: not the password, and it opens to the new one with the master key.
      const stored = await row(id);
      assert.match(stored.credential, /^v1:/);
      assert.ok(!stored.credential.includes('n3w-Root-Passw0rd'));
      assert.equal(decryptSecret(MASTER, stored.credential), 'n3w-Root-Passw0rd');

      // A private key replaces the password; the method follows.
      const k = await call(url, 'PUT', `/v1/servers/${id}`, body({ name: 'web2-renamed', private_key: PRIVATE_KEY }));
      assert.equal(k.status, 200, JSON.stringify(k.body));
      const withKey = await row(id);
      assert.equal(withKey.auth_method, 'key');
      assert.equal(decryptSecret(MASTER, withKey.credential), PRIVATE_KEY);
      assert.ok(!withKey.credential.includes('OPENSSH'));

      // A pin given is stored.
      const pin = await call(url, 'PUT', `/v1/servers/${id}`, body({ name: 'web2-renamed', host_key_sha256: PIN_A }));
      assert.equal(pin.status, 200, JSON.stringify(pin.body));
      assert.equal((await row(id)).host_key_sha256, PIN_A);

      // No credential and no pin in the body: the stored ones stay, byte for byte.
      const keep = await call(url, 'PUT', `/v1/servers/${id}`, body({ name: 'web2-renamed', hostname: 'web2-kept.test.invalid' }));
      assert.equal(keep.status, 200, JSON.stringify(keep.body));
      const kept = await row(id);
      assert.equal(kept.credential, withKey.credential);
      assert.equal(kept.auth_method, 'key');
      assert.equal(kept.hostname, 'web2-kept.test.invalid');
      assert.equal(kept.host_key_sha256, PIN_A, 'an edit without host_key_sha256 keeps the pin (it may have been learned on first use)');

      // A new pin replaces it (a reinstalled node).
      const repin = await call(url, 'PUT', `/v1/servers/${id}`, body({ name: 'web2-renamed', hostname: 'web2-kept.test.invalid', host_key_sha256: PIN_B }));
      assert.equal(repin.status, 200, JSON.stringify(repin.body));
      assert.equal((await row(id)).host_key_sha256, PIN_B);
    });

    test('bad edits are refused naming the problem, and change nothing', async () => {
      const id = fleet.web[0]!;
      const before = await row(id);
      const cases: Array<{ path?: string; body: unknown; status: number; error: RegExp; field?: string }> = [
        { body: body({ name: 'web1', ip: '999.1.1.1', password: 'x-secret' }), status: 422, error: /ip/, field: 'ip' },
        { body: body({ name: 'web1', port: 0 }), status: 422, error: /port|>= 1|minimum/i },
        { body: body({ name: 'web1', colour: 'red' }), status: 422, error: /colour/ },
        { body: body({ name: 'web1', password: 'pw-secret-a', private_key: PRIVATE_KEY }), status: 422, error: /either a password or a private key/, field: 'private_key' },
        { body: body({ name: 'web1', capabilities: {} }), status: 422, error: /at least one of web, mail, dns/, field: 'capabilities' },
        { body: body({ name: 'web1', driver: 'powerdns', api_key: 'k-secret', capabilities: { web: true, dns: true } }), status: 422, error: /only have the DNS capability/, field: 'capabilities' },
        { body: body({ name: 'mail1' }), status: 409, error: /another server is named "mail1"/, field: 'name' },
        { body: body({ name: 'web1', private_key: 'not a key' }), status: 422, error: /not a PEM or OpenSSH private key/, field: 'private_key' },
        { body: '{"name": ', status: 400, error: /not valid JSON/ },
        { path: '/v1/servers/abc', body: body({ name: 'web1' }), status: 400, error: /server id in the path must be a positive whole number/ },
        { path: '/v1/servers/999999', body: body({ name: 'web1' }), status: 404, error: /server 999999 does not exist/ },
      ];
      for (const c of cases) {
        const r = await call(url, 'PUT', c.path ?? `/v1/servers/${id}`, c.body);
        const what = `PUT ${JSON.stringify(c.body).slice(0, 120)}`;
        assert.equal(r.status, c.status, `${what}: ${JSON.stringify(r.body)}`);
        assert.match(String(r.body.error), c.error, what);
        if (c.field) assert.equal(r.body.field, c.field, what);
        assert.ok(!JSON.stringify(r.body).includes('secret'), `${what}: the answer repeats a credential`);
      }
      assert.deepEqual(await row(id), before, 'a refused edit changed the server');
      assert.equal(await tdb.db(T.servers).where('id', 999999).first(), undefined);
    });

    test('DELETE removes a server that holds nothing, with its group memberships', async () => {
      const id = fleet.dns[1]!;
      assert.deepEqual((await memberships(id)).dns, [fleet.groupId], 'precondition: a DNS server of the group');
      const r = await call(url, 'DELETE', `/v1/servers/${id}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { ok: true });
      assert.equal(await row(id), undefined);
      assert.deepEqual(await memberships(id), { members: [], dns: [] });
      const gone = await call(url, 'GET', `/v1/servers/${id}`);
      assert.equal(gone.status, 404);
      assert.match(gone.body.error, new RegExp(`server ${id} does not exist`));
      const groups = await call(url, 'GET', '/v1/server-groups');
      assert.ok(!groups.body.groups[0].dns_servers.includes(id), JSON.stringify(groups.body));
      const again = await call(url, 'DELETE', `/v1/servers/${id}`);
      assert.equal(again.status, 200, 'deleting a server already gone is idempotent');
    });

    test('DELETE of a server that holds a service is refused (409) and changes nothing', async () => {
      const created = await call(url, 'POST', '/v1/services', createBody(801, fleet.groupId));
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const svc = await tdb.db(T.services).where('whmcs_service_id', 801).first('id');
      const held = await tdb.db(T.holdings).where('service_id', svc.id).orderBy(['role', 'server_id']);
      const webHolding = held.find((h) => h.role === 'web');
      assert.ok(webHolding, `precondition: the service holds a web account (${JSON.stringify(held)})`);
      const id = Number(webHolding.server_id);
      const rowBefore = await row(id);
      const membersBefore = await memberships(id);
      assert.deepEqual(membersBefore.members, [fleet.groupId]);

      const r = await call(url, 'DELETE', `/v1/servers/${id}`);
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal(r.body.error, `server ${id} still holds accounts of 1 service(s); terminate or move them first`);

      assert.deepEqual(await row(id), rowBefore, 'the refused delete changed the server');
      assert.deepEqual(await memberships(id), membersBefore, 'the refused delete changed its group memberships');
      assert.deepEqual(await tdb.db(T.holdings).where('service_id', svc.id).orderBy(['role', 'server_id']), held, 'the refused delete changed the holdings');
      const shown = await call(url, 'GET', `/v1/servers/${id}`);
      assert.equal(shown.body.server.accounts, 1);
    });
  });
}
