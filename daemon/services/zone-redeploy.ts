// Republishes one service's zone on every DNS server of the service (the DNS Zones page's
// Redeploy): the deploy's zone steps for those servers, as one short chain that waits behind
// anything the service is running. The per-server redeploy (lifecycle.ts redeployZones) narrowed
// to one zone and widened to all its servers.
import type { Knex } from 'knex';
import { inTx } from '../db/connect.ts';
import { enqueueChainIn } from '../engine/chains.ts';
import { InputError } from '../common/errors.ts';
import { withDependencies, zoneSteps } from '../pipelines/plan.ts';
import { serviceByWhmcsId } from './store.ts';

export interface ZoneRedeploy { whmcs_service_id: number; zone: string; servers: number[]; chain_id: number; created: boolean }

export async function redeployZone(db: Knex, whmcsServiceId: number): Promise<ZoneRedeploy> {
  const svc = await serviceByWhmcsId(db, whmcsServiceId);
  if (!svc) throw new InputError('service', `service ${whmcsServiceId} is not known to hostbridge`, 404);
  if (svc.state === 'terminated') throw new InputError('service', `service ${whmcsServiceId} is terminated: it has no zone to publish`, 409);
  // HestiaCP refuses a suspended user's records, and a republished zone would be served again.
  if (svc.state === 'suspended') throw new InputError('service', `service ${whmcsServiceId} is suspended, and so is its zone: unsuspend it first (the Unsuspend serves the zone again)`, 409);
  const plan = svc.plan;
  if (!plan || plan.product.mode === 'vanity') throw new InputError('service', `service ${whmcsServiceId} publishes no zone of its own`, 409);
  const servers = [...new Set(plan.placement.dns)];
  const steps = servers.flatMap((id) => zoneSteps(plan, id)).filter((s) => s.type === 'dns.zone');
  if (steps.length === 0) throw new InputError('service', `service ${whmcsServiceId} has no DNS server to publish its zone on`, 409);
  const r = await inTx(db, (trx) => enqueueChainIn(trx, { serviceId: svc.id, operation: 'dns-redeploy-zone', steps: withDependencies(steps) }));
  return { whmcs_service_id: whmcsServiceId, zone: plan.domain, servers, chain_id: r.chainId, created: r.created };
}
