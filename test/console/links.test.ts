// One-time console links on both databases: a link opens once; a replay, an expired link and a
// forged token are refused, each with its reason; the table holds only the token's hash; of
// several daemons taking one link at the same moment, exactly one gets it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { connect } from '../../daemon/db/connect.ts';
import { T } from '../../daemon/common/tables.ts';
import { consumeConsoleLink, createConsoleLink, refusalText, tokenHash } from '../../daemon/console/links.ts';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';

for (const dialect of DIALECTS) {
  describe(`console links (${dialect})`, () => {
    let tdb: TestDb;
    let other: Knex;

    before(async () => {
      tdb = await createTestDb(dialect);
      // A second daemon: its own connection pool on the same database.
      other = connect(tdb.config, { poolMax: 4 });
    });
    after(async () => {
      await other?.destroy();
      await tdb?.drop();
    });

    test('a link opens once and names its service and client; the table holds only the hash', async () => {
      const link = await createConsoleLink(tdb.db, 41, 7, 60);
      assert.match(link.token, /^[A-Za-z0-9_-]{43}$/);
      const row = await tdb.db(T.consoleLinks).where('token_hash', tokenHash(link.token)).first();
      assert.ok(row, 'stored by its hash');
      assert.ok(!JSON.stringify(await tdb.db(T.consoleLinks).select()).includes(link.token), 'the token itself is nowhere in the table');
      assert.ok(Number(row.expires_at) - Number(row.created_at) === 60_000);
      assert.equal(row.used_at, null);
      assert.deepEqual(await consumeConsoleLink(tdb.db, link.token, 'daemon-a'), { ok: true, serviceId: 41, clientId: 7 });
      const used = await tdb.db(T.consoleLinks).where('token_hash', tokenHash(link.token)).first();
      assert.ok(Number(used.used_at) > 0);
      assert.equal(used.used_by, 'daemon-a');
      // The replay, from this daemon or another.
      assert.deepEqual(await consumeConsoleLink(tdb.db, link.token, 'daemon-a'), { ok: false, reason: 'used' });
      assert.deepEqual(await consumeConsoleLink(other, link.token, 'daemon-b'), { ok: false, reason: 'used' });
      assert.match(refusalText('used'), /already used.*client area/);
    });

    test('an expired link is refused, and stays unused', async () => {
      const link = await createConsoleLink(tdb.db, 42, 7, 1);
      await new Promise((r) => setTimeout(r, 1100));
      assert.deepEqual(await consumeConsoleLink(tdb.db, link.token, 'daemon-a'), { ok: false, reason: 'expired' });
      assert.equal((await tdb.db(T.consoleLinks).where('token_hash', tokenHash(link.token)).first()).used_at, null);
      assert.match(refusalText('expired'), /expired.*client area/);
    });

    test('forged tokens are refused: unknown, malformed, or one character changed', async () => {
      const link = await createConsoleLink(tdb.db, 43, 7, 60);
      const flipped = (link.token[0] === 'A' ? 'B' : 'A') + link.token.slice(1);
      for (const t of [crypto.randomBytes(32).toString('base64url'), flipped, '', 'short', `${link.token}x`, link.token.replace(/./, '%'), "' OR 1=1 --"]) {
        assert.deepEqual(await consumeConsoleLink(tdb.db, t, 'daemon-a'), { ok: false, reason: 'unknown' }, `token ${JSON.stringify(t)}`);
      }
      // None of that used the real link up.
      assert.equal((await consumeConsoleLink(tdb.db, link.token, 'daemon-a')).ok, true);
    });

    test('two daemons taking the same link at once: exactly one wins, every time', async () => {
      for (let round = 0; round < 15; round++) {
        const link = await createConsoleLink(tdb.db, 44, 7, 60);
        const results = await Promise.all([
          consumeConsoleLink(tdb.db, link.token, 'daemon-a'), consumeConsoleLink(other, link.token, 'daemon-b'),
          consumeConsoleLink(tdb.db, link.token, 'daemon-a'), consumeConsoleLink(other, link.token, 'daemon-b'),
        ]);
        const winners = results.filter((r) => r.ok);
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results)}`);
        assert.ok(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'used'), JSON.stringify(results));
      }
    });

    test('a bad lifetime is refused before anything is written', async () => {
      const n = Number((await tdb.db(T.consoleLinks).count({ n: '*' }))[0]!.n);
      await assert.rejects(createConsoleLink(tdb.db, 45, 7, 0), /positive number of seconds/);
      assert.equal(Number((await tdb.db(T.consoleLinks).count({ n: '*' }))[0]!.n), n);
    });
  });
}
