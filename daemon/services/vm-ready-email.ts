// The "VM is ready" e-mail's merge fields, queued when a KVM service's deploy chain succeeds (called
// from the chain-end hook, inside the chain's final transaction). The access details WHMCS merges
// into the template named by emails.vm_ready_template: host name, addresses, OS and user. Never the
// password: WHMCS's own {$service_password} merge field carries it.
import type { Knex } from 'knex';
import { serviceById } from './store.ts';
import { serviceAddresses } from '../fleet/ip-pools.ts';
import { queueEmail } from '../whmcs/email-outbox.ts';
import { T } from '../common/tables.ts';

/** The merge fields of the vm-ready e-mail (all strings; empty when the VM has no address of a family). */
export async function vmReadyVars(db: Knex | Knex.Transaction, serviceId: number): Promise<Record<string, string> | null> {
  const svc = await serviceById(db, serviceId);
  if (!svc || svc.mode !== 'kvm' || !svc.vmPlan) return null;
  const plan = svc.vmPlan;
  const addresses = await serviceAddresses(db as Knex, serviceId);
  const template = await db(T.pveTemplates).where({ cluster_id: plan.clusterId, slug: plan.template.slug }).first('label');
  return {
    vm_hostname: plan.domain,
    vm_ipv4: addresses.filter((a) => a.family === 4).map((a) => a.ip).join(', '),
    vm_ipv6: addresses.filter((a) => a.family === 6).map((a) => a.ip).join(', '),
    vm_os: template?.label ?? plan.template.slug,
    vm_username: 'root',
  };
}

/** Queues the e-mail once per deploy chain (dedupe key vm-ready:<service id>:<chain id>); nothing for other services. */
export async function queueVmReadyEmail(trx: Knex.Transaction, serviceId: number, chainId: number): Promise<void> {
  const vars = await vmReadyVars(trx, serviceId);
  if (!vars) return;
  const svc = await trx(T.services).where('id', serviceId).first('whmcs_service_id');
  await queueEmail(trx, { whmcsServiceId: Number(svc.whmcs_service_id), template: 'vm-ready', vars, dedupeKey: `vm-ready:${serviceId}:${chainId}` });
}
