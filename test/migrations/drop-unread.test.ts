// The 20261202000006_drop_unread migration on both databases: placement and group_id leave the
// service table with every other column and index intact, and `down` puts them back, filled
// from the stored plan.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb, DIALECTS } from '../helpers/db.ts';
import * as m006 from '../../migrations/20261202000006_drop_unread.ts';

const SERVICES = 'mod_hostbridge_services';

for (const dialect of DIALECTS) {
  describe(`drop unread columns (${dialect})`, () => {
    test('up drops them and keeps the rest; down restores them from the plan', async () => {
      const t = await createTestDb(dialect);
      try {
        const db = t.db;
        assert.equal(await db.schema.hasColumn(SERVICES, 'placement'), false);
        assert.equal(await db.schema.hasColumn(SERVICES, 'group_id'), false);
        const plan = { whmcsServiceId: 77, groupId: 3, domain: 'a.example.com', placement: { web: 1, mail: 2, unified: null, dns: [4] } };
        await db(SERVICES).insert({ whmcs_service_id: 77, mode: 'split', state: 'active', params: JSON.stringify(plan), names: '{}', domain: 'a.example.com', created_at: 1, updated_at: 1 });
        await db(SERVICES).insert({ whmcs_service_id: 78, mode: 'split', state: 'pending', created_at: 1, updated_at: 1 });
        // whmcs_service_id stays unique.
        await assert.rejects(db(SERVICES).insert({ whmcs_service_id: 77, mode: 'split', state: 'active', created_at: 1, updated_at: 1 }));

        await m006.down(db);
        const back = await db(SERVICES).orderBy('whmcs_service_id').select('whmcs_service_id', 'placement', 'group_id');
        assert.deepEqual(JSON.parse(back[0].placement), plan.placement);
        assert.equal(Number(back[0].group_id), 3);
        assert.equal(back[1].placement, null);
        assert.equal(back[1].group_id, null);

        await m006.up(db);
        assert.equal(await db.schema.hasColumn(SERVICES, 'placement'), false);
        assert.equal(await db.schema.hasColumn(SERVICES, 'group_id'), false);
        assert.equal((await db(SERVICES).where('whmcs_service_id', 77).first()).domain, 'a.example.com');
        await assert.rejects(db(SERVICES).insert({ whmcs_service_id: 78, mode: 'split', state: 'active', created_at: 1, updated_at: 1 }));
      } finally {
        await t.drop();
      }
    });
  });
}
