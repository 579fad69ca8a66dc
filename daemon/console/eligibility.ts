// Whether a service may open its console now, asked when a link is made and again when it is
// opened (the service may have been suspended, or the product changed, in between): an active KVM
// service whose product has the console among its client-area features, with a deployed VM.
import type { Knex } from 'knex';
import { getKvmProfile } from '../fleet/kvm-profiles.ts';
import { panelSettingsOf } from '../services/vm-panel-types.ts';
import type { ServiceRecord } from '../services/store.ts';
import { vmRecord, type VmRecord } from '../services/vm-store.ts';

export type Eligibility = { ok: true; vm: VmRecord & { vmid: number } } | { ok: false; message: string };

/** The refusal the customer reads, or the VM to open. */
export async function consoleEligibility(db: Knex, svc: ServiceRecord): Promise<Eligibility> {
  if (svc.mode !== 'kvm' || !svc.vmPlan) return { ok: false, message: `Service ${svc.whmcsServiceId} is not a virtual server: it has no console.` };
  if (svc.state === 'suspended') return { ok: false, message: 'Your service is suspended: the console is not available until it is unsuspended.' };
  if (svc.state !== 'active') return { ok: false, message: `Your service is ${svc.state}: the console is available once the server is deployed and active.` };
  const profile = await getKvmProfile(db, svc.vmPlan.profileId);
  if (!profile || !panelSettingsOf(profile).features.includes('console')) return { ok: false, message: 'The console is not included in your product.' };
  const vm = await vmRecord(db, svc.id);
  if (!vm || vm.vmid === null) return { ok: false, message: 'Your server is not deployed yet: the console is available once it is.' };
  return { ok: true, vm: { ...vm, vmid: vm.vmid } };
}
