// CreateAccount spends its request's nonce beside the order's first reads rather than before them
// (daemon/api/server.ts, routes.ts): the replay rules must not change with it. A replayed order
// is refused and writes nothing; an order refused for its body still spends its nonce, so its
// replay is refused as a replay; a request with a wrong signature spends nothing; the order and
// its nonce are written only when the nonce was fresh. On SQLite and MariaDB.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { DIALECTS } from '../helpers/db.ts';
import { createBody, type TestFleet } from '../helpers/api.ts';
import { startRoutesWorld, type RoutesWorld } from '../helpers/world.ts';
import { signedHeaders } from '../../daemon/api/signature.ts';
import { TEST_SECRET } from '../helpers/daemon.ts';

async function post(url: string, headers: Record<string, string>, text: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/v1/services`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: text });
  return { status: res.status, body: await res.json() };
}

async function counts(db: Knex): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['mod_hostbridge_services', 'mod_hostbridge_chains', 'mod_hostbridge_tasks', 'mod_hostbridge_service_servers', 'mod_hostbridge_api_nonces']) {
    out[t] = Number(((await db(t).count({ n: '*' }).first()) as { n: number }).n);
  }
  return out;
}

for (const dialect of DIALECTS) {
  describe(`CreateAccount and replays (${dialect})`, () => {
    let world: RoutesWorld;
    let fleet: TestFleet;
    let url: string;
    before(async () => {
      world = await startRoutesWorld(dialect, 'hb-create-replay-');
      ({ fleet } = world);
      url = world.daemon.url;
    });
    after(async () => { await world?.close(); });

    test('an order replayed is refused and writes nothing', async () => {
      const text = JSON.stringify(createBody(501, fleet.groupId));
      const headers = signedHeaders(TEST_SECRET, 'POST', '/v1/services', text);
      const first = await post(url, headers, text);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.created, true);
      const before = await counts(world.tdb.db);
      const replay = await post(url, headers, text);
      assert.equal(replay.status, 401, JSON.stringify(replay.body));
      assert.match(replay.body.error, /nonce already used: this request was replayed/);
      assert.deepEqual(await counts(world.tdb.db), before);
    });

    test('an order refused for its body still spends its nonce: the replay is refused as a replay', async () => {
      const text = JSON.stringify(createBody(502, 999_999));
      const headers = signedHeaders(TEST_SECRET, 'POST', '/v1/services', text);
      const first = await post(url, headers, text);
      assert.equal(first.status, 422, JSON.stringify(first.body));
      assert.match(first.body.error, /server group 999999 does not exist/);
      const replay = await post(url, headers, text);
      assert.equal(replay.status, 401, JSON.stringify(replay.body));
      assert.match(replay.body.error, /replayed/);
      assert.equal(await world.tdb.db('mod_hostbridge_services').where('whmcs_service_id', 502).first(), undefined);
    });

    test('a wrong signature is refused and spends nothing; the same nonce correctly signed is accepted once', async () => {
      const text = JSON.stringify(createBody(503, fleet.groupId));
      const good = signedHeaders(TEST_SECRET, 'POST', '/v1/services', text);
      const forged = { ...good, 'x-hostbridge-signature': signedHeaders('another-secret-0123456789abcdef0123456789', 'POST', '/v1/services', text)['x-hostbridge-signature']! };
      const nonces = Number(((await world.tdb.db('mod_hostbridge_api_nonces').count({ n: '*' }).first()) as { n: number }).n);
      const bad = await post(url, forged, text);
      assert.equal(bad.status, 401);
      assert.match(bad.body.error, /signature does not match/);
      assert.equal(Number(((await world.tdb.db('mod_hostbridge_api_nonces').count({ n: '*' }).first()) as { n: number }).n), nonces);
      assert.equal(await world.tdb.db('mod_hostbridge_services').where('whmcs_service_id', 503).first(), undefined);
      const ok = await post(url, good, text);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal((await post(url, good, text)).status, 401);
    });

    test('a replay with a body that is not JSON is still answered as a replay', async () => {
      const text = JSON.stringify(createBody(504, fleet.groupId));
      const headers = signedHeaders(TEST_SECRET, 'POST', '/v1/services', text);
      assert.equal((await post(url, headers, text)).status, 200);
      // Same nonce, a different body: the signature no longer matches, whatever the body holds.
      const other = await post(url, headers, '{not json');
      assert.equal(other.status, 401);
      assert.match(other.body.error, /signature does not match/);
    });
  });
}
