// What each WHMCS module call does for a KVM service (mode kvm): check the order, read its profile,
// cluster and template once, place the VM (pure), and write the service row, its VM row and its
// chain in one transaction. No Proxmox call happens here; the chain's tasks make them.
import type { Knex } from 'knex';
import { inTx, isUniqueViolation } from '../db/connect.ts';
import { encryptSecret } from '../crypto/secretbox.ts';
import { enqueueChainIn, type EnqueueResult } from '../engine/chains.ts';
import { setTargetLimit } from '../engine/sql/targets.ts';
import { lockService } from '../engine/sql/chain-end.ts';
import { cancelChain } from '../engine/sql/cancel.ts';
import type { Queue } from '../engine/queue.ts';
import { T } from '../common/tables.ts';
import { checkBody } from '../common/bodies.ts';
import { InputError } from '../common/errors.ts';
import { getCluster, type ClusterView } from '../fleet/proxmox-clusters.ts';
import { kvmProfileForProduct } from '../fleet/kvm-profiles.ts';
import { resolveKvmProduct, type KvmPlan } from '../pipelines/kvm-product.ts';
import type { ProductInput } from '../pipelines/product.ts';
import { checkVmPassword } from '../pipelines/kvm-validate.ts';
import { placeVm, type PlacementNode, type PlacementStorage, type VmPlacement } from '../pipelines/kvm-placement.ts';
import { planVmChain, pveTarget, type VmOperation, type VmServicePlan } from '../pipelines/vm-plan.ts';
import { plannedStep, type PlannedStep } from '../pipelines/steps.ts';
import type { PlannedChain } from '../pipelines/plan.ts';
import { orderClaims, serviceByWhmcsId, setState, updatePassword, updateVmPlan, writeVmService, type ServiceRecord } from './store.ts';
import { writeVmRow } from './vm-store.ts';
import type { CreateBody, LifecycleAnswer } from './answers.ts';

const ACTIVE_CHAIN = ['running', 'waiting'];
const MB = 1024 * 1024;
const GB = 1024 * MB;

/** The cloud-init user of every VM: the images' administrator. */
const VM_USER = 'root';

function placementInput(cluster: ClusterView): { nodes: PlacementNode[]; storages: PlacementStorage[] } {
  const nodes = cluster.nodes.filter((n) => n.present).map((n): PlacementNode => ({
    name: n.name, online: n.status === 'online', enabled: n.enabled,
    maxMemMb: Math.floor((n.maxmem ?? 0) / MB), usedMemMb: Math.ceil((n.mem ?? 0) / MB), cpu: n.cpu ?? 0,
    ...(n.maxmem === null ? { unavailable: 'has no figures yet (run hostbridge proxmox sync)' } : {}),
  }));
  const storages = cluster.storages.filter((s) => s.present).map((s): PlacementStorage => ({
    storage: s.storage, node: s.node, enabled: s.enabled && s.active, system: s.roles.system, additional: s.roles.additional,
    availGb: Math.floor((s.avail ?? 0) / GB),
  }));
  return { nodes, storages };
}

/** Everything the VM's chains need, planned from the profile's plan and the cluster as the inventory last saw it. */
function planVm(whmcsServiceId: number, email: string, spec: KvmPlan, cluster: ClusterView, dnsServers: number[]): VmServicePlan {
  const template = cluster.templates.find((t) => t.slug === spec.os && t.enabled);
  if (!template) {
    const have = cluster.templates.filter((t) => t.enabled).map((t) => t.slug);
    throw new InputError('config_options.os', `cluster ${cluster.name} has no enabled template for the OS "${spec.os}" (it has ${have.length ? have.join(', ') : 'none'}; add one with hostbridge proxmox template add)`, 422);
  }
  const { nodes, storages } = placementInput(cluster);
  const placement: VmPlacement = placeVm({
    templateNode: template.node, node: spec.node, memoryMb: spec.memoryMb,
    systemDiskGb: spec.systemDisk.sizeGb, systemStorage: spec.systemDisk.storage || null,
    additional: spec.additionalDisk ? { sizeGb: spec.additionalDisk.sizeGb, storage: spec.additionalDisk.storage || null } : null,
  }, nodes, storages);
  return {
    kind: 'kvm', whmcsServiceId, domain: spec.hostname, email, profileId: spec.profileId, clusterId: cluster.id,
    template: { slug: template.slug, vmid: template.vmid, node: template.node, storage: template.storage },
    placement, spec, user: VM_USER, dnsServers,
  };
}

/** PowerDNS servers of the inventory that take records: where the VM's forward and reverse records go, in the zones they hold. */
async function recordServers(db: Knex): Promise<number[]> {
  return (await db(T.servers).where('driver', 'powerdns').where('status', 'active').orderBy('id').pluck('id')).map(Number);
}

/** The cluster's per-node limit on the VM's nodes, across all daemons (the engine's target slots). */
async function nodeLimits(db: Knex, plan: VmServicePlan, cluster: ClusterView): Promise<void> {
  for (const node of new Set([plan.placement.cloneNode, plan.placement.targetNode])) {
    await setTargetLimit(db, pveTarget(plan.clusterId, node), cluster.maxTasksPerNode);
  }
}

/**
 * Whether the service's VM must be off when a chain queued now runs: chains run one at a time in
 * order, so the latest Suspend or Unsuspend still to run decides, else the service's state.
 */
async function suspendedWhenQueued(trx: Knex.Transaction, svc: ServiceRecord): Promise<boolean> {
  const last = await trx(T.chains).where('service_id', svc.id).whereIn('state', ACTIVE_CHAIN)
    .whereIn('operation', ['suspend', 'unsuspend']).orderBy('id', 'desc').first('operation');
  return last ? last.operation === 'suspend' : svc.state === 'suspended';
}

/** Operations whose chain starts the VM, which a suspended service must not: they run with the VM kept off. */
const STARTS_VM: ReadonlySet<VmOperation> = new Set(['change-package', 'verify-repair', 'redeploy']);

/**
 * The chain for a suspended service: the same work without starting the VM (its start and verify
 * steps are dropped, their dependants wait for what they waited for), ending with the VM stopped,
 * and the service's state left as it is (suspended) whether the chain succeeds or fails.
 */
export function keepVmOff(chain: PlannedChain, plan: VmServicePlan): PlannedChain {
  const steps = chain.steps;
  const drop = new Set(steps.flatMap((s, i) => (s.type === 'kvm.start' || s.type === 'kvm.verify' ? [i] : [])));
  const through = (i: number): number[] => (drop.has(i) ? (steps[i]!.dependsOn ?? []).flatMap(through) : [i]);
  const kept = steps.map((s, i) => ({ s, i })).filter((x) => !drop.has(x.i));
  const at = new Map(kept.map((x, n) => [x.i, n]));
  const out: PlannedStep[] = kept.map(({ s }) => ({ ...s, dependsOn: [...new Set((s.dependsOn ?? []).flatMap(through).map((i) => at.get(i)!))].sort((a, b) => a - b) }));
  if (!out.some((s) => s.type === 'kvm.stop')) {
    // Nothing stops it yet (a repair): the last step stops the VM, after everything else.
    const node = plan.placement.targetNode;
    const leaves = out.map((_, i) => i).filter((i) => !out.some((s) => (s.dependsOn ?? []).includes(i)));
    out.push({ ...plannedStep('kvm.stop', 'stop', pveTarget(plan.clusterId, node), { cluster: plan.clusterId, node, force: false }), dependsOn: leaves });
  }
  return { steps: out, successState: null, failureState: null };
}

async function enqueue(trx: Knex.Transaction, serviceId: number, op: VmOperation, plan: VmServicePlan, fresh = false, keepOff = false): Promise<EnqueueResult | null> {
  const planned = planVmChain(op, plan);
  const chain = keepOff ? keepVmOff(planned, plan) : planned;
  if (chain.steps.length === 0) return null;
  return enqueueChainIn(trx, { serviceId, operation: op, steps: chain.steps, successState: chain.successState, failureState: chain.failureState }, 1, { freshService: fresh });
}

/** CreateAccount for a KVM product: the service row, its VM row and the deploy chain, in one transaction. */
export async function createVmService(db: Knex, masterKey: Buffer, body: CreateBody): Promise<LifecycleAnswer> {
  const input: ProductInput = { product: body.product, config_options: body.config_options ?? {}, custom_fields: body.custom_fields ?? {} };
  const profile = await kvmProfileForProduct(db, input);
  const spec = resolveKvmProduct(input, profile, { ...(body.domain ? { domain: body.domain } : {}), password: body.password });
  const holder = await foreignDomainHolder(db, spec.hostname, body.client_id, body.whmcs_service_id);
  if (holder) {
    throw new InputError(hostnameField(input), `"${spec.hostname}" is inside ${holder.domain}, the domain of another customer's hosting service: the VM's DNS records would be published in that customer's zone. Give the VM a host name in your own domain or the provider's`, 409);
  }
  const cluster = await getCluster(db, profile.cluster_id);
  const plan = planVm(body.whmcs_service_id, body.email ?? '', spec, cluster, await recordServers(db));
  const sealed = encryptSecret(masterKey, body.password);
  await nodeLimits(db, plan, cluster);
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTx(db, (trx) => createVmIn(trx, body, plan, sealed));
    } catch (err) {
      if (attempt < 3 && isUniqueViolation(err)) continue;
      throw err;
    }
  }
}

async function createVmIn(trx: Knex.Transaction, body: CreateBody, plan: VmServicePlan, sealed: string): Promise<LifecycleAnswer> {
  const whmcsServiceId = body.whmcs_service_id;
  const { existing, domainHolder } = await orderClaims(trx, whmcsServiceId, plan.domain);
  if (existing && existing.state !== 'terminated') {
    if (existing.mode !== 'kvm') throw new InputError('product.configoption1', `service ${whmcsServiceId} was created in ${existing.mode} mode; the mode is locked and cannot become kvm`, 409);
    const chain = await trx(T.chains).where('service_id', existing.id).whereIn('state', ACTIVE_CHAIN).orderBy('id').first('id');
    if (existing.state === 'failed' && !chain && existing.vmPlan) {
      const r = await enqueue(trx, existing.id, 'deploy', existing.vmPlan);
      await setState(trx, existing.id, 'deploying');
      return { ok: true, whmcs_service_id: whmcsServiceId, chain_id: r?.chainId ?? null, state: 'deploying', created: true };
    }
    return { ok: true, whmcs_service_id: whmcsServiceId, chain_id: chain ? Number(chain.id) : null, state: existing.state, created: false, message: 'the service already exists; nothing was changed' };
  }
  if (domainHolder !== null) throw new InputError('domain', `the host name ${plan.domain} is already used by service ${domainHolder}`, 409);
  const serviceId = await writeVmService(trx, whmcsServiceId, {
    plan, state: 'deploying', passwordSealed: sealed, clientId: body.client_id, productId: body.product_id, username: body.username ?? null, email: body.email ?? null,
  }, existing?.id);
  await writeVmRow(trx, serviceId, plan.clusterId);
  const r = await enqueue(trx, serviceId, 'deploy', plan, existing === null);
  return { ok: true, whmcs_service_id: whmcsServiceId, chain_id: r?.chainId ?? null, state: 'deploying', created: true };
}

/**
 * A live hosting service of another client whose domain is `name` or one of its parents: a VM
 * named so would have its A/AAAA records written into that customer's zone (and removed from it
 * at the end). Services of the same client are not foreign: a customer may name a VM in their own
 * domain. A service whose client is unknown counts as foreign.
 */
export async function foreignDomainHolder(db: Knex, name: string, clientId: number | null, whmcsServiceId: number): Promise<{ whmcsServiceId: number; domain: string } | null> {
  const labels = name.toLowerCase().split('.');
  const names = labels.slice(0, -1).map((_, i) => labels.slice(i).join('.'));
  if (names.length === 0) return null;
  const rows = await db(T.services).whereIn('domain', names).whereNot('mode', 'kvm').whereNot('state', 'terminated')
    .whereNot('whmcs_service_id', whmcsServiceId).select('whmcs_service_id', 'domain', 'client_id');
  const foreign = rows.filter((r) => clientId === null || r.client_id === null || Number(r.client_id) !== clientId)
    .sort((a, b) => String(b.domain).length - String(a.domain).length)[0];
  return foreign ? { whmcsServiceId: Number(foreign.whmcs_service_id), domain: String(foreign.domain) } : null;
}

/** Where the VM's host name came from: the custom field hostname when given, else the WHMCS domain. */
function hostnameField(input: ProductInput): string {
  const k = Object.entries(input.custom_fields ?? {}).find(([name, v]) => name.split('|')[0]!.trim().toLowerCase() === 'hostname' && String(v).trim() !== '')?.[0];
  return k === undefined ? 'domain' : `custom_fields.${k}`;
}

/** Whether this CreateAccount is for a KVM product (configoption1 "kvm"). */
export function isKvmOrder(product: Record<string, string>): boolean {
  return (product.configoption1 ?? '').trim().toLowerCase() === 'kvm';
}

/** Any later module call on a KVM service: suspend, unsuspend, terminate, change package, password, buttons. */
export async function vmServiceOperation(queue: Queue, masterKey: Buffer, op: VmOperation, svc0: ServiceRecord, body: Record<string, any>): Promise<LifecycleAnswer> {
  const { db } = queue;
  const whmcsServiceId = svc0.whmcsServiceId;
  let newSpec: { plan: VmServicePlan; cluster: ClusterView } | null = null;
  if (op === 'change-package') {
    const input: ProductInput = { product: body.product, config_options: body.config_options ?? {}, custom_fields: body.custom_fields ?? {} };
    const old = svc0.vmPlan!;
    const profile = await kvmProfileForProduct(db, input);
    const spec = resolveKvmProduct(input, profile, { domain: old.domain, password: 'unchanged-by-a-package-change' });
    if (spec.clusterId !== old.clusterId) throw new InputError('product.configoption15', `the new package's profile is on another Proxmox cluster (${spec.clusterId}, the VM is on ${old.clusterId}); moving a VM between clusters is not a package change`, 409);
    if (spec.os !== old.spec.os) throw new InputError('config_options.os', `the new package asks for the OS "${spec.os}", the VM runs "${old.spec.os}"; a package change does not reinstall (use a reinstall instead)`, 409);
    const cluster = await getCluster(db, old.clusterId);
    // The VM stays where it is: the package change acts on it in place.
    newSpec = { plan: { ...old, profileId: spec.profileId, spec: { ...spec, hostname: old.spec.hostname, sshKeys: old.spec.sshKeys } }, cluster };
    await nodeLimits(db, newSpec.plan, cluster);
  }
  // The VM's rules (8–128 printable characters), as at CreateAccount: checked before anything is stored.
  const sealed = op === 'change-password' ? encryptSecret(masterKey, checkVmPassword('password', body.password)) : null;
  if (op === 'force-terminate') {
    const open = await db(T.chains).where('service_id', svc0.id).whereIn('state', ACTIVE_CHAIN).whereNot('operation', 'force-terminate').pluck('id');
    for (const chainId of open) await cancelChain(queue, Number(chainId));
  }
  return inTx(db, async (trx) => {
    await lockService(trx, svc0.id);
    const svc = (await serviceByWhmcsId(trx, whmcsServiceId))!;
    const answer = (chainId: number | null, created: boolean, state: string, message?: string): LifecycleAnswer => ({ ok: true, whmcs_service_id: whmcsServiceId, chain_id: chainId, state, created, ...(message ? { message } : {}) });
    if (svc.state === 'terminated') {
      if (op === 'terminate' || op === 'force-terminate') return answer(null, false, 'terminated', 'the service is already terminated');
      throw new InputError('', `service ${whmcsServiceId} is terminated; run CreateAccount to provision it again`, 409);
    }
    // Decided by the Suspend or Unsuspend still queued, if any: a Start queued behind a Suspend would undo it.
    const off = await suspendedWhenQueued(trx, svc);
    if ((op === 'start' || op === 'reboot') && off) {
      throw new InputError('', `service ${whmcsServiceId} is ${svc.state === 'suspended' ? 'suspended' : 'being suspended'}: its VM stays off until it is unsuspended`, 409);
    }
    if ((op === 'start' || op === 'stop' || op === 'reboot') && svc.state !== 'active' && svc.state !== 'suspended') {
      throw new InputError('', `service ${whmcsServiceId} is ${svc.state}: the power buttons work once its VM is deployed`, 409);
    }
    let plan = svc.vmPlan;
    if (!plan) throw new InputError('', `service ${whmcsServiceId} has no stored VM plan; run CreateAccount to provision it again`, 409);
    if (newSpec) {
      plan = newSpec.plan;
      await updateVmPlan(trx, svc.id, plan, body.product_id ?? svc.productId);
    }
    if (sealed) await updatePassword(trx, svc.id, sealed, false);
    const keepOff = off && STARTS_VM.has(op);
    const r = await enqueue(trx, svc.id, op, plan, false, keepOff);
    if (!r) return answer(null, false, svc.state, 'nothing to do for this service');
    return answer(r.chainId, r.created, svc.state, keepOff ? 'the service is suspended: the VM is changed but stays off until it is unsuspended' : undefined);
  });
}

/**
 * Seed 003's "Reset VM Status": sets a KVM service's state by hand — e.g. `active` after the VM was
 * repaired on the cluster, or `failed` so a Retry runs the deploy again. Nothing on the cluster,
 * in the pools or in WHMCS changes. Refused while a chain of the service runs.
 */
export async function resetVmStatus(db: Knex, whmcsServiceId: number, raw: unknown): Promise<LifecycleAnswer> {
  const body = checkBody<{ state: 'active' | 'failed' | 'suspended' }>('ResetStatus', raw);
  return inTx(db, async (trx) => {
    const svc = await serviceByWhmcsId(trx, whmcsServiceId);
    if (!svc) throw new InputError('', `service ${whmcsServiceId} is not known to hostbridge`, 404);
    if (svc.mode !== 'kvm') throw new InputError('', `service ${whmcsServiceId} is a ${svc.mode} hosting service; its state follows its chains`, 409);
    await lockService(trx, svc.id);
    const running = await trx(T.chains).where('service_id', svc.id).whereIn('state', ACTIVE_CHAIN).first('id', 'operation');
    if (running) throw new InputError('', `service ${whmcsServiceId} is running its ${running.operation} chain (${running.id}); reset its state once that chain has ended`, 409);
    if (svc.state === 'terminated') throw new InputError('state', `service ${whmcsServiceId} is terminated; run CreateAccount to provision it again`, 409);
    await setState(trx, svc.id, body.state);
    return { ok: true, whmcs_service_id: whmcsServiceId, chain_id: null, state: body.state, created: false, message: `state reset from ${svc.state} to ${body.state}; nothing on the cluster changed` };
  });
}
