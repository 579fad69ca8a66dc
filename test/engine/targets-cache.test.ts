// ensureTargets remembers the targets it has seen, but only once their transaction has committed:
// a target first written in a transaction that rolled back must be created again next time.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { enqueueChainIn, enqueueTasks } from '../../daemon/engine/chains.ts';
import { claimDue } from '../../daemon/engine/sql/claim.ts';
import { T } from '../../daemon/common/tables.ts';

for (const dialect of DIALECTS) {
  describe(`known targets on ${dialect}`, () => {
    let t: TestDb;
    before(async () => { t = await createTestDb(dialect); });
    after(async () => t.drop());

    test('a target made in a rolled-back transaction is made again, with its slot', async () => {
      await assert.rejects(t.db.transaction(async (trx) => {
        await enqueueChainIn(trx, { operation: 'undone', steps: [{ step: 'one', type: 'builtin.noop', target: 'srv-rollback' }] });
        throw new Error('roll back');
      }), /roll back/);
      assert.equal((await t.db(T.targets).where('target', 'srv-rollback')).length, 0);
      await enqueueTasks(t.db, 'kept', [{ step: 'one', type: 'builtin.noop', target: 'srv-rollback' }]);
      assert.equal((await t.db(T.slots).where('target', 'srv-rollback')).length, 1);
      const claims = await claimDue(t.db, { owner: 'w', limit: 1, leaseMs: 60_000, types: ['builtin.noop'] });
      assert.deepEqual(claims.map((c) => c.operation), ['kept']);
    });
  });
}
