// The panel's network and media actions (ISO, firewall rules, reverse DNS), issue 16. Each action
// checks its fields first (an InputError naming the field, nothing written or queued), then in one
// transaction under the service's row lock stores what the customer asked for and queues the chain
// whose step makes the VM (or the DNS) equal to it. The steps read the stored wish when they run,
// so a retried or repeated step reaches the same end.
import type { Knex } from 'knex';
import { inTx } from '../db/connect.ts';
import { enqueueChainIn } from '../engine/chains.ts';
import { lockService } from '../engine/sql/chain-end.ts';
import { InputError } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import { getKvmProfile } from '../fleet/kvm-profiles.ts';
import { serviceAddresses } from '../fleet/ip-pools.ts';
import { formatIp, ipField } from '../pipelines/ip-ranges.ts';
import type { VmServicePlan } from '../pipelines/vm-plan.ts';
import {
  checkIsoChoice, checkPtrName, parseFirewallRules, planExtrasChain, type ExtrasOperation, type WantedRule,
} from '../pipelines/vm-extras-plan.ts';
import { serviceByWhmcsId, type ServiceRecord } from './store.ts';
import { panelSettingsOf, type ClientPanelSettings, type PanelAction, type PanelActionContext, type PanelActionResult } from './vm-panel-types.ts';
import { setWantedIso, setWantedPtrName, setWantedRules, wantedIso, wantedPtrNames, wantedRules } from './vm-network-store.ts';

type Db = Knex | Knex.Transaction;

async function kvmService(db: Db, whmcsServiceId: number): Promise<ServiceRecord & { vmPlan: VmServicePlan }> {
  const svc = await serviceByWhmcsId(db, whmcsServiceId);
  if (!svc) throw new InputError('', `service ${whmcsServiceId} is not known to hostbridge`, 404);
  if (svc.mode !== 'kvm' || !svc.vmPlan) throw new InputError('', `service ${whmcsServiceId} is not a virtual server`, 409);
  return svc as ServiceRecord & { vmPlan: VmServicePlan };
}

async function settingsOf(db: Db, plan: VmServicePlan): Promise<ClientPanelSettings> {
  const profile = await getKvmProfile(db, plan.profileId);
  if (!profile) throw new InputError('', `the product's KVM profile (#${plan.profileId}) no longer exists; ask the provider`, 409);
  return panelSettingsOf(profile);
}

/**
 * Stores the customer's wish (`write`) and queues the action's chain, in one transaction under the
 * service's row lock. Refused while another chain of the service runs or waits: the wish would be
 * stored while a chain that does not apply it still runs.
 */
async function storeAndQueue(ctx: PanelActionContext, op: ExtrasOperation, write: (trx: Knex.Transaction, svc: ServiceRecord) => Promise<void>, message: string): Promise<PanelActionResult> {
  return inTx(ctx.queue.db, async (trx) => {
    const svc = await kvmService(trx, ctx.whmcsServiceId);
    await lockService(trx, svc.id);
    const busy = await trx(T.chains).where('service_id', svc.id).whereIn('state', ['running', 'waiting']).first('id', 'operation');
    if (busy) throw new InputError('', `your server is busy (${busy.operation}); try again when that has finished`, 409);
    const chain = planExtrasChain(op, svc.vmPlan);
    if (chain.steps.length === 0) throw new InputError('', 'nothing would carry this out for your server', 409);
    await write(trx, svc);
    const r = await enqueueChainIn(trx, { serviceId: svc.id, operation: op, steps: chain.steps, successState: null, failureState: null });
    return { message, chainId: r.chainId };
  });
}

const isoMount: PanelAction = {
  feature: 'iso',
  label: 'Mount an ISO image',
  async run(ctx) {
    const svc = await kvmService(ctx.queue.db, ctx.whmcsServiceId);
    const volid = checkIsoChoice('volid', ctx.fields.volid, (await settingsOf(ctx.queue.db, svc.vmPlan)).isos);
    return storeAndQueue(ctx, 'iso-mount', (trx, s) => setWantedIso(trx, s.id, volid), `The ISO image ${volid} is being inserted in your server's CD-ROM drive.`);
  },
};

const isoUnmount: PanelAction = {
  feature: 'iso',
  label: 'Eject the ISO image',
  async run(ctx) {
    await kvmService(ctx.queue.db, ctx.whmcsServiceId);
    return storeAndQueue(ctx, 'iso-unmount', (trx, s) => setWantedIso(trx, s.id, null), 'The ISO image is being ejected from your server\'s CD-ROM drive.');
  },
};

const firewallRules: PanelAction = {
  feature: 'firewall',
  label: 'Apply firewall rules',
  async run(ctx) {
    const svc = await kvmService(ctx.queue.db, ctx.whmcsServiceId);
    const rules = parseFirewallRules('rules', ctx.fields.rules, (await settingsOf(ctx.queue.db, svc.vmPlan)).firewallRules);
    return storeAndQueue(ctx, 'firewall-rules', (trx, s) => setWantedRules(trx, s.id, rules),
      rules.length ? `${rules.length} firewall rule(s) are being applied to your server.` : 'Your server\'s firewall rules are being removed.');
  },
};

const rdns: PanelAction = {
  feature: 'rdns',
  label: 'Set reverse DNS',
  async run(ctx) {
    const db = ctx.queue.db;
    const svc = await kvmService(db, ctx.whmcsServiceId);
    const text = typeof ctx.fields.address === 'string' ? ctx.fields.address.trim() : '';
    if (text === '') throw new InputError('address', 'choose one of your server\'s addresses');
    const ip = formatIp(ipField('address', text));
    const own = (await serviceAddresses(db, svc.id)).map((a) => a.ip);
    if (!own.includes(ip)) throw new InputError('address', `${ip} is not one of your server's addresses (${own.join(', ') || 'it has none'})`);
    const asked = checkPtrName('name', ctx.fields.name);
    // The host name is the default: asking for it is a reset.
    const name = asked === svc.vmPlan.spec.hostname.toLowerCase() ? null : asked;
    if (svc.vmPlan.dnsServers.length === 0) throw new InputError('', 'no DNS server publishes your server\'s records; ask the provider', 409);
    return storeAndQueue(ctx, 'rdns', (trx, s) => setWantedPtrName(trx, s.id, ip, name),
      name ? `The reverse DNS of ${ip} is being set to ${name}.` : `The reverse DNS of ${ip} is being reset to ${svc.vmPlan.spec.hostname}.`);
  },
};

export const EXTRA_PANEL_ACTIONS: Record<string, PanelAction> = {
  'iso-mount': isoMount,
  'iso-unmount': isoUnmount,
  'firewall-rules': firewallRules,
  rdns,
};

/** What the panel shows of the VM's network and media tabs. */
export interface ExtrasView {
  /** Each of the VM's addresses with its PTR name: the customer's (custom) or the VM's host name. */
  rdns: { address: string; name: string; custom: boolean }[];
  /** The customer's firewall rules, in order, as last saved. */
  firewallRules: WantedRule[];
  /** The ISO the customer last asked for (its chain may still be running), null for none. */
  iso: string | null;
}

/**
 * The panel's view of the ISO, the firewall rules and the reverse DNS, from the daemon's own
 * records: what the customer asked for, not a reading of Proxmox or the DNS (handlers/kvm/extras.ts
 * isoState reads the VM's CD-ROM drive when that is needed).
 */
export async function extrasView(db: Knex, whmcsServiceId: number): Promise<ExtrasView> {
  const svc = await kvmService(db, whmcsServiceId);
  const ptr = await wantedPtrNames(db, svc.id);
  const host = svc.vmPlan.spec.hostname;
  return {
    rdns: (await serviceAddresses(db, svc.id)).map((a) => ({ address: a.ip, name: ptr.get(a.ip) ?? host, custom: ptr.has(a.ip) })),
    firewallRules: await wantedRules(db, svc.id),
    iso: await wantedIso(db, svc.id),
  };
}
