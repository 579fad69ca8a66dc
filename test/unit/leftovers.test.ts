// What a forced close reports as removed: a holding whose last event is a removal that succeeded;
// a making step that started since (whatever its end) makes it "may be left" again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { holdingTouched, removedKeys } from '../../daemon/services/leftovers.ts';

const t = (type: string, step: string, args: Record<string, unknown>, status: string, startedAt: number | null, finishedAt: number | null = startedAt) => ({ type, step, args, status, startedAt, finishedAt });

test('the holding each removing or making step touches', () => {
  assert.deepEqual(holdingTouched('account.delete', 'web.delete', { role: 'web', server: 2, user: 'u' }), { key: 'web@2', removes: true });
  assert.deepEqual(holdingTouched('dns.zone-delete', 'dns.zone-delete', { server: 7, account: null, domain: 'd' }), { key: 'dns@7', removes: true });
  assert.deepEqual(holdingTouched('vanity.mailbox-delete', 'vanity.mailbox-delete', { server: 3 }), { key: 'mailbox@3', removes: true });
  assert.deepEqual(holdingTouched('account.user', 'all.user', { server: 4, user: 'u', package: 'p' }), { key: 'all@4', removes: false });
  assert.deepEqual(holdingTouched('vanity.record', 'vanity.record', { server: 5 }), { key: 'record@5', removes: false });
  assert.equal(holdingTouched('account.suspend', 'web.suspend', { server: 2, user: 'u' }), null);
  assert.equal(holdingTouched('service.close', 'service.close', { force: true }), null);
});

test('removed: a succeeded removal not followed by a making step that started', () => {
  const deployWeb = t('account.user', 'web.user', { server: 2 }, 'succeeded', 10);
  const delWeb = t('account.delete', 'web.delete', { role: 'web', server: 2 }, 'succeeded', 20);
  const delMail = t('account.delete', 'mail.delete', { role: 'mail', server: 3 }, 'failed', 21);
  assert.deepEqual([...removedKeys([deployWeb, delWeb, delMail])], ['web@2']);
  // A redeploy's making step that started after the removal, even one cut short, may have made it again.
  assert.deepEqual([...removedKeys([deployWeb, delWeb, t('account.user', 'web.user', { server: 2 }, 'cancelled', 30, null)])], []);
  // Steps that never started count for nothing.
  assert.deepEqual([...removedKeys([delWeb, t('account.user', 'web.user', { server: 2 }, 'cancelled', null, null)])], ['web@2']);
});
