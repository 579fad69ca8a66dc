// The planner's part of issue 14 item 6: Suspend and Unsuspend carry a zone step on every DNS
// server of the service (after the account step on a Hestia node, alone on PowerDNS); a force
// terminate tries every removal once, on its own server, then closes; a DNS server gone from the
// inventory is not planned on (the close reports its zone as left).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveProduct } from '../../daemon/pipelines/product.ts';
import type { FleetServer, GroupFleet } from '../../daemon/pipelines/placement.ts';
import { planChain } from '../../daemon/pipelines/plan.ts';
import { groupRefs, planOrder } from '../../daemon/pipelines/order.ts';
import { holdingTouched, removedKeys } from '../../daemon/services/leftovers.ts';

const server = (id: number, caps: Partial<FleetServer['caps']>, extra: Partial<FleetServer> = {}): FleetServer => ({
  id, name: `s${id}`, driver: 'hestiacp', ip: `192.0.2.${id}`, caps: { web: false, mail: false, dns: false, ...caps }, status: 'active', maxAccounts: 0, load: 0, ...extra,
});
const g: GroupFleet = {
  id: 1, name: 'g', nameservers: ['ns1.example.net', 'ns2.example.net'], vanity: [], reserved: [],
  members: [server(2, { web: true }), server(3, { mail: true })], dns: [server(7, { dns: true }), server(8, { dns: true }, { driver: 'powerdns' })],
};
const split = resolveProduct({ product: { configoption1: 'split', configoption3: 'on', configoption4: 'on', configoption5: 'on', configoption6: '1024', configoption7: '512' }, config_options: {}, custom_fields: {} });
const { plan } = planOrder({ whmcsServiceId: 42, domain: 'shop.example.com', email: '' }, split, g);
const graph = (op: 'suspend' | 'unsuspend' | 'force-terminate', refs = groupRefs(g)) => {
  const steps = planChain(op, plan, refs).steps;
  return steps.map((s) => `${s.step}@${s.target} ← ${(s.dependsOn ?? []).map((d) => steps[d]!.step).join(',') || '∅'}`);
};

test('Suspend and Unsuspend: a zone step on every DNS server, after the DNS user\'s on a Hestia node', () => {
  assert.deepEqual(graph('suspend'), [
    'web.suspend@server:2 ← ∅', 'mail.suspend@server:3 ← ∅', 'dns.suspend@server:7 ← ∅', 'dns.zone-suspend@server:7 ← dns.suspend', 'dns.zone-suspend@server:8 ← ∅',
  ]);
  assert.deepEqual(graph('unsuspend'), [
    'web.unsuspend@server:2 ← ∅', 'mail.unsuspend@server:3 ← ∅', 'dns.unsuspend@server:7 ← ∅', 'dns.zone-unsuspend@server:7 ← dns.unsuspend', 'dns.zone-unsuspend@server:8 ← ∅',
  ]);
  const steps = planChain('suspend', plan, groupRefs(g)).steps.filter((s) => s.type === 'dns.zone-state');
  assert.deepEqual(steps.map((s) => s.args), [
    { server: 7, user: 'shop-example-42-dns', domain: 'shop.example.com', state: 'suspend' },
    { server: 8, user: null, domain: 'shop.example.com', state: 'suspend' },
  ]);
});

test('force terminate: every removal tried once on its server, side by side, then the close', () => {
  assert.deepEqual(graph('force-terminate'), [
    'force.web.delete@server:2 ← ∅', 'force.mail.delete@server:3 ← ∅', 'force.dns.delete@server:7 ← ∅', 'force.dns.zone-delete@server:8 ← ∅',
    'service.close@null ← force.web.delete,force.mail.delete,force.dns.delete,force.dns.zone-delete',
  ]);
  const tries = planChain('force-terminate', plan, groupRefs(g)).steps.filter((s) => s.type === 'service.force-remove').map((s) => s.args);
  assert.deepEqual(tries, [
    { role: 'web', remove: 'web.delete', server: 2 }, { role: 'mail', remove: 'mail.delete', server: 3 },
    { role: 'dns', remove: 'dns.delete', server: 7 }, { role: 'dns', remove: 'dns.zone-delete', server: 8 },
  ]);
  // A DNS server removed from the inventory: nothing planned on it, no planning error.
  const without8 = groupRefs({ ...g, dns: [g.dns[0]!] });
  assert.deepEqual(graph('force-terminate', without8).map((s) => s.split(' ')[0]), ['force.web.delete@server:2', 'force.mail.delete@server:3', 'force.dns.delete@server:7', 'service.close@null']);
  assert.deepEqual(holdingTouched('service.force-remove', 'force.dns.delete', { role: 'dns', remove: 'dns.delete', server: 7 }), { key: 'dns@7', removes: true });
});

test('a making step cancelled while it ran counts after any removal: its command may still finish on the node', () => {
  const t = (type: string, step: string, args: Record<string, unknown>, status: string, startedAt: number, finishedAt: number) => ({ type, step, args, status, startedAt, finishedAt });
  const cut = t('account.user', 'web.user', { server: 2 }, 'cancelled', 10, 15);
  const forced = t('service.force-remove', 'force.web.delete', { role: 'web', remove: 'web.delete', server: 2 }, 'succeeded', 20, 25);
  assert.deepEqual([...removedKeys([cut, forced])], [], 'reported as may be left');
  const done = t('account.user', 'web.user', { server: 2 }, 'succeeded', 10, 15);
  assert.deepEqual([...removedKeys([done, forced])], ['web@2']);
});
