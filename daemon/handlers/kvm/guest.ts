// What the guest sees of its setup: the firewall (options, and the anti-spoofing IPSet holding
// exactly the VM's own addresses, filled before filtering is switched on) and cloud-init (host
// name, addresses, gateways, resolvers, user, password, SSH keys). The password is a secret of the
// attempt: it goes to Proxmox and nowhere else.
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import { RetryableError } from '../../common/errors.ts';
import { encodeSshKeys, type ProxmoxClient } from '../../drivers/proxmox/index.ts';
import { serviceAddresses, type AllocatedAddress } from '../../fleet/ip-pools.ts';
import type { KvmPlan } from '../../pipelines/kvm-product.ts';
import { registerStep } from './timed.ts';
import { requireVm, skip, withCluster, type KvmDeps, type LoadedVmService, type LocatedVm } from './context.ts';
import { VM_POLICY } from './create.ts';
import { parseProps } from './props.ts';

const IPSET = 'ipfilter-net0';

/** Proxmox's defaults for a VM's firewall options (pve-firewall), for keys the VM does not set. */
const FW_DEFAULTS: Record<string, string> = {
  enable: '0', dhcp: '0', ndp: '1', macfilter: '1', ipfilter: '0', log_level_in: 'nolog', log_level_out: 'nolog', policy_in: 'DROP', policy_out: 'ACCEPT',
};

function firewallOptions(f: KvmPlan['firewall']): Record<string, string> {
  const b = (v: boolean) => (v ? '1' : '0');
  return {
    enable: b(f.enable), dhcp: b(f.dhcp), ndp: b(f.ndp), macfilter: b(f.macfilter), ipfilter: b(f.ipfilter),
    log_level_in: f.logLevelIn, log_level_out: f.logLevelOut, policy_in: f.policyIn, policy_out: f.policyOut,
  };
}

const cidrOf = (a: AllocatedAddress) => `${a.ip}/${a.family === 4 ? 32 : 128}`;

async function withVm<R>(deps: KvmDeps, ctx: TaskContext, cluster: number, fn: (svc: LoadedVmService, client: ProxmoxClient, vm: LocatedVm) => Promise<R>): Promise<R> {
  return withCluster(deps, ctx, cluster, async (svc, client) => fn(svc, client, await requireVm(deps, client, svc)));
}

/** The IPSet holds exactly these CIDRs afterwards (created when missing). */
async function convergeIpset(ctx: TaskContext, client: ProxmoxClient, vm: LocatedVm, want: string[]): Promise<{ added: number; removed: number }> {
  if (!(await client.ipsets(vm.node, vm.vmid)).includes(IPSET)) {
    await client.createIpset(vm.node, vm.vmid, IPSET, 'the VM\'s own addresses (hostbridge)');
    ctx.log(`IPSet ${IPSET} created`);
  }
  const have = (await client.ipsetEntries(vm.node, vm.vmid, IPSET)).map((e) => e.cidr);
  const norm = (c: string) => (c.includes('/') ? c : `${c}/${c.includes(':') ? 128 : 32}`).toLowerCase();
  const haveSet = new Set(have.map(norm));
  const wantSet = new Set(want.map(norm));
  let added = 0;
  let removed = 0;
  for (const c of want) if (!haveSet.has(norm(c))) { await client.addIpsetEntry(vm.node, vm.vmid, IPSET, c); added++; ctx.log(`IPSet ${IPSET}: added ${c}`); }
  for (const c of have) if (!wantSet.has(norm(c))) { await client.removeIpsetEntry(vm.node, vm.vmid, IPSET, c); removed++; ctx.log(`IPSet ${IPSET}: removed ${c}`); }
  const after = new Set((await client.ipsetEntries(vm.node, vm.vmid, IPSET)).map((e) => norm(e.cidr)));
  if (after.size !== wantSet.size || [...wantSet].some((c) => !after.has(c))) throw new RetryableError(`IPSet ${IPSET} holds ${[...after].join(', ') || 'nothing'} after the change, not ${[...wantSet].join(', ')}`);
  return { added, removed };
}

/** The cloud-init keys of the VM's network: the first address of each family on net0, and the resolvers of its pools. */
export function cloudInitNetwork(addresses: AllocatedAddress[]): { ipconfig0: string | null; nameserver: string | null; extra: string[] } {
  const v4 = addresses.filter((a) => a.family === 4);
  const v6 = addresses.filter((a) => a.family === 6);
  const parts: string[] = [];
  if (v4[0]) parts.push(`ip=${v4[0].ip}/${v4[0].prefix}`, ...(v4[0].gateway ? [`gw=${v4[0].gateway}`] : []));
  if (v6[0]) parts.push(`ip6=${v6[0].ip}/${v6[0].prefix}`, ...(v6[0].gateway ? [`gw6=${v6[0].gateway}`] : []));
  const resolvers = [...new Set(addresses.flatMap((a) => a.resolvers))];
  return { ipconfig0: parts.length ? parts.join(',') : null, nameserver: resolvers.length ? resolvers.join(' ') : null, extra: [...v4.slice(1), ...v6.slice(1)].map((a) => a.ip) };
}

export function registerVmGuestHandlers(registry: TaskRegistry, deps: KvmDeps): void {
  registerStep(deps, registry, 'kvm.firewall', 'Sets the VM\'s firewall options and fills the anti-spoofing IPSet with exactly its addresses.', (ctx, a) => withVm(deps, ctx, a.cluster, async (svc, client, vm) => {
    const addresses = await serviceAddresses(deps.db, svc.id);
    // The set first: filtering switched on over an empty set would cut the VM off.
    const set = await convergeIpset(ctx, client, vm, addresses.map(cidrOf));
    const want = firewallOptions(svc.plan.spec.firewall);
    const have = await client.firewallOptions(vm.node, vm.vmid);
    const changed = Object.fromEntries(Object.entries(want).filter(([k, v]) => String(have[k] ?? FW_DEFAULTS[k]) !== v));
    if (Object.keys(changed).length === 0) {
      skip(ctx, 'firewall options');
    } else {
      ctx.log(`firewall options: ${Object.entries(changed).map(([k, v]) => `${k}=${v}`).join(', ')}`);
      await client.setFirewallOptions(vm.node, vm.vmid, changed);
      const after = await client.firewallOptions(vm.node, vm.vmid);
      const wrong = Object.entries(want).filter(([k, v]) => String(after[k] ?? FW_DEFAULTS[k]) !== v);
      if (wrong.length) throw new RetryableError(`the firewall options still show ${wrong.map(([k]) => `${k}=${after[k]}`).join(', ')}`);
    }
    return { ipset: set, options: Object.keys(changed) };
  }), VM_POLICY);

  registerStep(deps, registry, 'kvm.cloudinit', 'Writes cloud-init: host name, addresses, gateways, resolvers, user, password and SSH keys.', (ctx, a) => withVm(deps, ctx, a.cluster, async (svc, client, vm) => {
    const s = svc.plan.spec;
    const config = await client.vmConfig(vm.node, vm.vmid);
    const net = cloudInitNetwork(await serviceAddresses(deps.db, svc.id));
    const hasDrive = Object.entries(config).some(([k, v]) => /^(ide|sata|scsi)\d+$/.test(k) && typeof v === 'string' && /:cloudinit|vm-\d+-cloudinit/.test(parseProps(v).head ?? ''));
    const params: Record<string, string> = { ciuser: svc.plan.user, cipassword: svc.password };
    if (!hasDrive) {
      const storage = svc.plan.placement.systemStorage ?? svc.plan.template.storage;
      if (storage) { params.ide2 = `${storage}:cloudinit`; ctx.log(`the template has no cloud-init drive: adding ide2 on ${storage}`); }
    }
    if (config.name !== s.hostname) params.name = s.hostname;
    if (net.ipconfig0) params.ipconfig0 = net.ipconfig0;
    if (net.nameserver) params.nameserver = net.nameserver;
    const domain = s.hostname.includes('.') ? s.hostname.slice(s.hostname.indexOf('.') + 1) : null;
    if (domain) params.searchdomain = domain;
    if (s.sshKeys.length) params.sshkeys = encodeSshKeys(s.sshKeys.join('\n'));
    ctx.log(`cloud-init: user ${svc.plan.user}, ${net.ipconfig0 ?? 'no static address'}, resolvers ${net.nameserver ?? 'none'}, ${s.sshKeys.length} SSH key(s), password set`);
    if (net.extra.length) ctx.log(`further addresses ${net.extra.join(', ')} are allowed by the firewall and published in DNS; the guest configures them itself (cloud-init sets one address per family on net0)`);
    await client.updateConfig(vm.node, vm.vmid, params);
    const after = await client.vmConfig(vm.node, vm.vmid);
    for (const k of ['ciuser', 'ipconfig0', 'nameserver'] as const) {
      if (params[k] !== undefined && String(after[k] ?? '') !== params[k]) throw new RetryableError(`cloud-init ${k} reads "${String(after[k] ?? '')}" after the change`);
    }
    return { ipconfig0: net.ipconfig0, keys: s.sshKeys.length };
  }), VM_POLICY);

  registerStep(deps, registry, 'kvm.password', 'Sets the VM\'s cloud-init password (applied by the guest at its next boot).', (ctx, a) => withVm(deps, ctx, a.cluster, async (svc, client, vm) => {
    await client.updateConfig(vm.node, vm.vmid, { cipassword: svc.password });
    ctx.log('the new password is in the VM\'s cloud-init settings: the guest applies it at its next boot');
    return { set: true };
  }), VM_POLICY);
}
