// A WHMCS KVM product as a VM plan. The product names its KVM profile (Module Settings position
// 15, configoption1 = "kvm"); the profile, kept by the daemon, holds the VM's whole shape; the
// order's configurable options override single fields by system name, so WHMCS upgrades and
// downgrades work the usual way; custom fields bring the host name and SSH keys. Pure: the same
// input always gives the same plan or the same InputError naming the field (docs/proxmox-products.md).
import { InputError } from '../common/errors.ts';
import type { ProductInput } from './product.ts';
import { printable } from './validate.ts';
import {
  checkBridge, checkCpuType, checkHostname, checkLimit, checkNode, checkOsSlug, checkProfileName, checkSshKeys, checkStorage,
  checkVlan, checkVmPassword, checkWhole, KVM_LIMITS,
} from './kvm-validate.ts';

/** configoption1's value for a KVM product, and where the product names its profile. */
export const KVM_MODE = 'kvm';
export const KVM_PROFILE_OPTION = 'configoption15';

export const CLONE_MODES = ['linked', 'full'] as const;
export type CloneMode = (typeof CLONE_MODES)[number];
export const NIC_MODELS = ['virtio', 'e1000', 'e1000e', 'rtl8139', 'vmxnet3'] as const;
export type NicModel = (typeof NIC_MODELS)[number];
export const FW_POLICIES = ['ACCEPT', 'REJECT', 'DROP'] as const;
export type FwPolicy = (typeof FW_POLICIES)[number];
export const FW_LOG_LEVELS = ['nolog', 'emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export type FwLogLevel = (typeof FW_LOG_LEVELS)[number];

/** A disk's size and its I/O limits; a null limit is none. iops in operations/s, mbps in MB/s. */
export interface KvmDiskSpec { size_gb: number; storage: string; iops_rd: number | null; iops_wr: number | null; mbps_rd: number | null; mbps_wr: number | null }
export interface KvmFirewallSpec {
  enable: boolean; dhcp: boolean; ndp: boolean; macfilter: boolean; ipfilter: boolean;
  log_level_in: FwLogLevel; log_level_out: FwLogLevel; policy_in: FwPolicy; policy_out: FwPolicy;
}

/** A profile as stored, written and shown (the API's field names). */
export interface KvmProfileSpec {
  name: string;
  /** The Proxmox cluster (mod_hostbridge_pve_clusters.id). */
  cluster_id: number;
  /** The node to place VMs on; null lets placement choose. */
  node: string | null;
  cores: number;
  sockets: number;
  cpu_type: string | null;
  memory_mb: number;
  /** The balloon minimum in MiB (0 turns ballooning off); null leaves Proxmox's default. */
  balloon_mb: number | null;
  system_disk: KvmDiskSpec;
  additional_disk: KvmDiskSpec | null;
  network: { bridge: string; vlan: number | null; rate_mbps: number | null; model: NicModel };
  firewall: KvmFirewallSpec;
  ipv4: number;
  ipv6: number;
  /** The OS slugs a customer may pick (configurable option os); default_os is one of them. */
  os_templates: string[];
  default_os: string;
  clone_mode: CloneMode;
  /** Monthly traffic in GB; null is unlimited. */
  bandwidth_gb: number | null;
  snapshots: number;
  backups: number;
  /** The customer panel's features this product allows (a subset of KVM_CLIENT_FEATURES; default all). */
  client_features: KvmClientFeature[];
  /** ISO images (Proxmox volids `<storage>:iso/<file>.iso`) the customer may mount; default none. */
  isos: string[];
  /** Firewall rules the customer may keep on the VM, 0–50 (0: the firewall tab is read-only). */
  firewall_rules: number;
}

/**
 * The customer panel's features, switchable per profile. The same list as CLIENT_FEATURES in
 * services/vm-panel-types.ts (planning may not import services; a unit test holds them equal).
 */
export const KVM_CLIENT_FEATURES = ['power', 'snapshots', 'backups', 'reinstall', 'rdns', 'password', 'iso', 'firewall', 'console', 'graphs'] as const;
export type KvmClientFeature = (typeof KVM_CLIENT_FEATURES)[number];
/** A volid of an ISO image on a Proxmox storage: `local:iso/debian-12.iso`. */
export const ISO_VOLID = /^[A-Za-z][A-Za-z0-9_.-]{0,63}:iso\/[A-Za-z0-9][A-Za-z0-9_.+-]{0,200}\.iso$/;
export const MAX_FIREWALL_RULES = 50;

export interface KvmProfile extends KvmProfileSpec { id: number; created_at: number; updated_at: number }

/** What a body may leave out: these fields have defaults (see normaliseKvmProfile). */
export type KvmProfileInput = Partial<Omit<KvmProfileSpec, 'system_disk' | 'additional_disk' | 'network' | 'firewall'>> & {
  name: string; cluster_id: number; memory_mb: number; default_os: string; cores: number;
  system_disk: Partial<KvmDiskSpec> & { size_gb: number; storage: string };
  additional_disk?: (Partial<KvmDiskSpec> & { size_gb: number }) | null;
  network: Partial<KvmProfileSpec['network']> & { bridge: string };
  firewall?: Partial<KvmFirewallSpec>;
};

/** Proxmox's own defaults for a VM's firewall options. */
export const FIREWALL_DEFAULTS: KvmFirewallSpec = {
  enable: false, dhcp: false, ndp: true, macfilter: true, ipfilter: false, log_level_in: 'nolog', log_level_out: 'nolog', policy_in: 'DROP', policy_out: 'ACCEPT',
};

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === null) return fallback;
  if (!allowed.includes(value as T)) throw new InputError(field, `"${printable(String(value))}" must be one of ${allowed.join(', ')}`);
  return value as T;
}

function disk(field: string, d: Partial<KvmDiskSpec> & { size_gb: unknown }, storageFallback?: string): KvmDiskSpec {
  return {
    size_gb: checkWhole(`${field}.size_gb`, d.size_gb, 'diskGb', 'GiB'),
    storage: d.storage === undefined && storageFallback ? storageFallback : checkStorage(`${field}.storage`, d.storage),
    iops_rd: checkLimit(`${field}.iops_rd`, d.iops_rd, 'iops'), iops_wr: checkLimit(`${field}.iops_wr`, d.iops_wr, 'iops'),
    mbps_rd: checkLimit(`${field}.mbps_rd`, d.mbps_rd, 'mbps'), mbps_wr: checkLimit(`${field}.mbps_wr`, d.mbps_wr, 'mbps'),
  };
}

/**
 * A profile body checked field by field (after its JSON schema) and given its defaults: sockets 1,
 * ballooning and CPU type as Proxmox has them, no additional disk, virtio NIC without VLAN or rate
 * limit, Proxmox's firewall defaults, one IPv4 and no IPv6 address, only the default OS, full
 * clones, unlimited traffic, no snapshots or backups.
 */
export function normaliseKvmProfile(input: KvmProfileInput): KvmProfileSpec {
  const memory = checkWhole('memory_mb', input.memory_mb, 'memoryMb', 'MiB');
  const balloon = input.balloon_mb === undefined || input.balloon_mb === null ? null : checkWhole('balloon_mb', input.balloon_mb, 'balloonMb', 'MiB');
  if (balloon !== null && balloon > memory) throw new InputError('balloon_mb', `${balloon} MiB is more than the memory (${memory} MiB); the balloon minimum must not exceed it`);
  const cores = checkWhole('cores', input.cores, 'cores');
  const sockets = input.sockets === undefined ? 1 : checkWhole('sockets', input.sockets, 'sockets');
  vcpuCheck('cores', cores, sockets);
  const systemDisk = disk('system_disk', input.system_disk);
  const fw = input.firewall ?? {};
  const flag = (k: 'enable' | 'dhcp' | 'ndp' | 'macfilter' | 'ipfilter') => (fw[k] === undefined ? FIREWALL_DEFAULTS[k] : !!fw[k]);
  const defaultOs = checkOsSlug('default_os', input.default_os);
  const templates = (input.os_templates ?? [defaultOs]).map((t, i) => checkOsSlug(`os_templates.${i}`, t));
  const osTemplates = [...new Set(templates)];
  if (!osTemplates.includes(defaultOs)) throw new InputError('default_os', `"${defaultOs}" is not one of the profile's OS templates (${osTemplates.join(', ') || 'none'})`);
  const net = input.network;
  return {
    name: checkProfileName('name', input.name),
    cluster_id: checkWhole('cluster_id', input.cluster_id, 'clusterId'),
    node: input.node === undefined || input.node === null || input.node === '' ? null : checkNode('node', input.node),
    cores, sockets,
    cpu_type: input.cpu_type === undefined || input.cpu_type === null || input.cpu_type === '' ? null : checkCpuType('cpu_type', input.cpu_type),
    memory_mb: memory, balloon_mb: balloon,
    system_disk: systemDisk,
    additional_disk: input.additional_disk ? disk('additional_disk', input.additional_disk, systemDisk.storage) : null,
    network: {
      bridge: checkBridge('network.bridge', net.bridge), vlan: checkVlan('network.vlan', net.vlan),
      rate_mbps: checkLimit('network.rate_mbps', net.rate_mbps, 'rateMbps'), model: oneOf('network.model', net.model, NIC_MODELS, 'virtio'),
    },
    firewall: {
      enable: flag('enable'), dhcp: flag('dhcp'), ndp: flag('ndp'), macfilter: flag('macfilter'), ipfilter: flag('ipfilter'),
      log_level_in: oneOf('firewall.log_level_in', fw.log_level_in, FW_LOG_LEVELS, FIREWALL_DEFAULTS.log_level_in),
      log_level_out: oneOf('firewall.log_level_out', fw.log_level_out, FW_LOG_LEVELS, FIREWALL_DEFAULTS.log_level_out),
      policy_in: oneOf('firewall.policy_in', fw.policy_in, FW_POLICIES, FIREWALL_DEFAULTS.policy_in),
      policy_out: oneOf('firewall.policy_out', fw.policy_out, FW_POLICIES, FIREWALL_DEFAULTS.policy_out),
    },
    ipv4: input.ipv4 === undefined ? 1 : checkWhole('ipv4', input.ipv4, 'ipv4'),
    ipv6: input.ipv6 === undefined ? 0 : checkWhole('ipv6', input.ipv6, 'ipv6'),
    os_templates: osTemplates, default_os: defaultOs,
    clone_mode: oneOf('clone_mode', input.clone_mode, CLONE_MODES, 'full'),
    bandwidth_gb: input.bandwidth_gb === undefined || input.bandwidth_gb === null || input.bandwidth_gb === 0 ? null : checkWhole('bandwidth_gb', input.bandwidth_gb, 'bandwidthGb', 'GB'),
    snapshots: input.snapshots === undefined ? 0 : checkWhole('snapshots', input.snapshots, 'snapshots'),
    backups: input.backups === undefined ? 0 : checkWhole('backups', input.backups, 'backups'),
    client_features: clientFeatures(input.client_features),
    isos: isoList(input.isos),
    firewall_rules: firewallRules(input.firewall_rules),
  };
}

/** The panel's features: each one known and named once; left out, every feature. */
function clientFeatures(v: unknown): KvmClientFeature[] {
  if (v === undefined || v === null) return [...KVM_CLIENT_FEATURES];
  if (!Array.isArray(v)) throw new InputError('client_features', `must be a list of features (${KVM_CLIENT_FEATURES.join(', ')})`);
  const out: KvmClientFeature[] = [];
  v.forEach((f, i) => {
    if (!KVM_CLIENT_FEATURES.includes(f as KvmClientFeature)) throw new InputError(`client_features.${i}`, `"${printable(String(f))}" is not a panel feature; one of ${KVM_CLIENT_FEATURES.join(', ')}`);
    if (out.includes(f as KvmClientFeature)) throw new InputError(`client_features.${i}`, `"${f}" is named twice`);
    out.push(f as KvmClientFeature);
  });
  // Kept in the list's order, so a form and the API store the same profile.
  return KVM_CLIENT_FEATURES.filter((f) => out.includes(f));
}

function isoList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InputError('isos', 'must be a list of ISO volids (<storage>:iso/<file>.iso)');
  if (v.length > 100) throw new InputError('isos', 'may list at most 100 images');
  const out: string[] = [];
  v.forEach((x, i) => {
    const s = typeof x === 'string' ? x.trim() : '';
    if (!ISO_VOLID.test(s)) throw new InputError(`isos.${i}`, `"${printable(String(x))}" is not an ISO volid (<storage>:iso/<file>.iso, e.g. local:iso/debian-12.iso)`);
    if (!out.includes(s)) out.push(s);
  });
  return out;
}

function firewallRules(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_FIREWALL_RULES) {
    throw new InputError('firewall_rules', `"${printable(String(v))}" must be a whole number from 0 to ${MAX_FIREWALL_RULES}`);
  }
  return v;
}

function vcpuCheck(field: string, cores: number, sockets: number): void {
  if (cores * sockets > KVM_LIMITS.cores.max) throw new InputError(field, `${cores} cores × ${sockets} sockets is ${cores * sockets} vCPUs; at most ${KVM_LIMITS.cores.max} in all`);
}

// --- the plan ------------------------------------------------------------------------------

export interface KvmDiskPlan { sizeGb: number; storage: string; iopsRd: number | null; iopsWr: number | null; mbpsRd: number | null; mbpsWr: number | null }

/** Everything the deploy and change-package steps need of the VM; stored with the service, so never a secret. */
export interface KvmPlan {
  profileId: number;
  profileName: string;
  clusterId: number;
  /** The node the profile prefers; null lets placement choose. */
  node: string | null;
  cpu: { cores: number; sockets: number; type: string | null };
  memoryMb: number;
  balloonMb: number | null;
  systemDisk: KvmDiskPlan;
  additionalDisk: KvmDiskPlan | null;
  /** net0: the NIC's firewall flag follows firewall.enable. rateMbps is MB/s, as Proxmox reads `rate`. */
  network: { bridge: string; vlan: number | null; rateMbps: number | null; model: NicModel; firewall: boolean };
  firewall: {
    enable: boolean; dhcp: boolean; ndp: boolean; macfilter: boolean; ipfilter: boolean;
    logLevelIn: FwLogLevel; logLevelOut: FwLogLevel; policyIn: FwPolicy; policyOut: FwPolicy;
  };
  ips: { v4: number; v6: number };
  /** The OS template slug. */
  os: string;
  cloneMode: CloneMode;
  /** The VM name in Proxmox and the guest's host name (lower-case DNS name). */
  hostname: string;
  /** OpenSSH public keys, one each, normalised. */
  sshKeys: string[];
  bandwidthGb: number | null;
  snapshots: number;
  backups: number;
}

/** WHMCS names options and fields "system|Friendly label"; the part before "|" counts. */
function systemName(name: string): string {
  const bar = name.indexOf('|');
  return (bar >= 0 ? name.slice(0, bar) : name).trim().toLowerCase();
}

/** The first entry whose system name is `name`, its value's system part; null when absent or blank. */
function option(map: ProductInput['config_options'], name: string): { field: string; value: string } | null {
  for (const [k, v] of Object.entries(map ?? {})) {
    if (systemName(k) !== name) continue;
    const value = typeof v === 'boolean' ? (v ? '1' : '0') : systemName(String(v));
    if (value === '') return null;
    return { field: `config_options.${k}`, value };
  }
  return null;
}

function customField(map: ProductInput['custom_fields'], name: string): { field: string; value: string } | null {
  for (const [k, v] of Object.entries(map ?? {})) {
    if (systemName(k) !== name) continue;
    const value = String(v);
    if (value.trim() === '') return null;
    return { field: `custom_fields.${k}`, value };
  }
  return null;
}

/**
 * The configurable options a KVM product reads, by system name, and the unit of each. "unlimited"
 * (or 0) is accepted where the list says so.
 */
export const KVM_CONFIG_OPTIONS = {
  cores: 'vCPU cores per socket, whole number 1–512',
  sockets: 'CPU sockets, whole number 1–16',
  memory: 'RAM in MB (MiB), whole number 16–4,194,304',
  disk: 'system disk in GB (GiB), whole number 1–65,536',
  extra_disk: 'additional disk in GB (GiB), whole number 0–65,536; 0 = none',
  ipv4: 'IPv4 addresses, whole number 0–256',
  ipv6: 'IPv6 addresses, whole number 0–256',
  rate: 'NIC rate limit in MB/s (megabytes), 0–100,000, up to 3 decimals; 0 or unlimited = none',
  bandwidth: 'monthly traffic in GB, whole number; 0 or unlimited = unlimited',
  snapshots: 'snapshots the customer may keep, 0–100',
  backups: 'backups the customer may keep, 0–100',
  os: 'OS template slug, one of the profile\'s os_templates',
} as const;

const unlimited = (v: string) => v === 'unlimited' || v === '0';

/** The product's KVM profile reference (configoption15): an id, or a profile name. */
export function kvmProfileRef(input: ProductInput): { id: number } | { name: string } {
  const raw = String(input.product?.[KVM_PROFILE_OPTION] ?? '').trim();
  const field = `product.${KVM_PROFILE_OPTION}`;
  if (raw === '') throw new InputError(field, 'a KVM product needs its KVM profile (Module Settings, "KVM profile"); create one with hostbridge kvm-profile add');
  if (/^\d{1,10}$/.test(raw)) return { id: checkWhole(field, raw, 'clusterId') };
  return { name: checkProfileName(field, raw) };
}

export function isKvmProduct(input: ProductInput): boolean {
  return String(input.product?.configoption1 ?? '').trim().toLowerCase() === KVM_MODE;
}

/**
 * The VM a KVM product orders: the profile with the order's overrides, its host name (custom field
 * hostname, else the WHMCS domain), the customer's SSH keys (custom field ssh_keys) and the VM
 * password checked (it is not part of the plan: the caller seals it). Throws an InputError naming
 * the field for any bad value, before anything is written or called.
 */
export function resolveKvmProduct(input: ProductInput, profile: KvmProfile, extra: { domain?: string; password: string }): KvmPlan {
  const mode = String(input.product?.configoption1 ?? '');
  if (!isKvmProduct(input)) throw new InputError('product.configoption1', `deployment mode "${printable(mode)}" is not ${KVM_MODE}; only a KVM product has a KVM plan`);
  const opts = input.config_options ?? {};
  const whole = (name: keyof typeof KVM_CONFIG_OPTIONS, limit: Parameters<typeof checkWhole>[2], fallback: number, unit = '') => {
    const o = option(opts, name);
    return o ? checkWhole(o.field, o.value, limit, unit) : fallback;
  };

  const cores = whole('cores', 'cores', profile.cores);
  const sockets = whole('sockets', 'sockets', profile.sockets);
  const coresField = option(opts, 'cores')?.field ?? option(opts, 'sockets')?.field ?? 'cores';
  vcpuCheck(coresField, cores, sockets);
  const memoryMb = whole('memory', 'memoryMb', profile.memory_mb, 'MB');
  const balloonMb = profile.balloon_mb === null ? null : Math.min(profile.balloon_mb, memoryMb);

  const sys = profile.system_disk;
  const systemDisk: KvmDiskPlan = { ...diskPlan(sys), sizeGb: whole('disk', 'diskGb', sys.size_gb, 'GB') };

  let additionalDisk: KvmDiskPlan | null = profile.additional_disk ? diskPlan(profile.additional_disk) : null;
  const extraOpt = option(opts, 'extra_disk');
  if (extraOpt) {
    const gb = checkWhole(extraOpt.field, extraOpt.value, 'extraDiskGb', 'GB');
    // A disk the profile does not describe goes on the system disk's storage, without limits.
    additionalDisk = gb === 0 ? null : { ...(additionalDisk ?? { storage: sys.storage, iopsRd: null, iopsWr: null, mbpsRd: null, mbpsWr: null }), sizeGb: gb };
  }

  const rateOpt = option(opts, 'rate');
  const rateMbps = rateOpt ? (unlimited(rateOpt.value) ? null : checkLimit(rateOpt.field, rateOpt.value, 'rateMbps')) : profile.network.rate_mbps;
  const bwOpt = option(opts, 'bandwidth');
  const bandwidthGb = bwOpt ? (unlimited(bwOpt.value) ? null : checkWhole(bwOpt.field, bwOpt.value, 'bandwidthGb', 'GB')) : profile.bandwidth_gb;

  let os = profile.default_os;
  const osOpt = option(opts, 'os');
  if (osOpt) {
    os = checkOsSlug(osOpt.field, osOpt.value);
    if (!profile.os_templates.includes(os)) throw new InputError(osOpt.field, `"${os}" is not an OS this product offers (${profile.os_templates.join(', ')})`);
  }

  const hostField = customField(input.custom_fields, 'hostname');
  let hostname: string;
  if (hostField) hostname = checkHostname(hostField.field, hostField.value);
  else if (extra.domain && extra.domain.trim() !== '') hostname = checkHostname('domain', extra.domain);
  else throw new InputError('custom_fields.hostname', 'is required: the VM needs a host name (the custom field hostname, or the WHMCS domain)');

  const keysField = customField(input.custom_fields, 'ssh_keys');
  const sshKeys = keysField ? checkSshKeys(keysField.field, keysField.value) : [];
  checkVmPassword('password', extra.password);

  const fw = profile.firewall;
  return {
    profileId: profile.id, profileName: profile.name, clusterId: profile.cluster_id, node: profile.node,
    cpu: { cores, sockets, type: profile.cpu_type },
    memoryMb, balloonMb,
    systemDisk, additionalDisk,
    network: { bridge: profile.network.bridge, vlan: profile.network.vlan, rateMbps, model: profile.network.model, firewall: fw.enable },
    firewall: {
      enable: fw.enable, dhcp: fw.dhcp, ndp: fw.ndp, macfilter: fw.macfilter, ipfilter: fw.ipfilter,
      logLevelIn: fw.log_level_in, logLevelOut: fw.log_level_out, policyIn: fw.policy_in, policyOut: fw.policy_out,
    },
    ips: { v4: whole('ipv4', 'ipv4', profile.ipv4), v6: whole('ipv6', 'ipv6', profile.ipv6) },
    os, cloneMode: profile.clone_mode, hostname, sshKeys, bandwidthGb,
    snapshots: whole('snapshots', 'snapshots', profile.snapshots), backups: whole('backups', 'backups', profile.backups),
  };
}

function diskPlan(d: KvmDiskSpec): KvmDiskPlan {
  return { sizeGb: d.size_gb, storage: d.storage, iopsRd: d.iops_rd, iopsWr: d.iops_wr, mbpsRd: d.mbps_rd, mbpsWr: d.mbps_wr };
}

// --- change package ------------------------------------------------------------------------

/** The change-package steps that depend on the plan, in the order they run. */
export const KVM_CHANGE_STEPS = [
  'cpu_ram', 'system_disk_size', 'system_disk_io', 'additional_disk', 'additional_disk_size', 'additional_disk_io', 'network', 'firewall', 'ips',
] as const;
export type KvmChangeStep = (typeof KVM_CHANGE_STEPS)[number];

/** One step of a package change: whether it has work, and why (or why not) in a line for the task log. */
export interface KvmChange { step: KvmChangeStep; work: boolean; reason: string }

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const limitsOf = (d: KvmDiskPlan) => ({ iopsRd: d.iopsRd, iopsWr: d.iopsWr, mbpsRd: d.mbpsRd, mbpsWr: d.mbpsWr });
const limitText = (d: KvmDiskPlan) => Object.entries(limitsOf(d)).map(([k, v]) => `${k} ${v ?? 'none'}`).join(', ');

function sizeChange(step: KvmChangeStep, what: string, from: number, to: number): KvmChange {
  if (to > from) return { step, work: true, reason: `${what} grows from ${from} GiB to ${to} GiB` };
  if (to < from) return { step, work: false, reason: `skipped: ${what} stays at ${from} GiB; the new package asks for ${to} GiB, and Proxmox cannot shrink a disk` };
  return { step, work: false, reason: `no change (${what} ${from} GiB)` };
}

/**
 * What a package change from `old` to `next` has to do, step by step (all nine, in order). A disk
 * never shrinks and an additional disk is never removed by a downgrade (its data would go): those
 * steps are skipped and say so. OS, host name and clone mode are not changed by a package change
 * (a rebuild does that); a change of cluster is refused.
 */
export function diffKvmPlans(old: KvmPlan, next: KvmPlan): KvmChange[] {
  if (old.clusterId !== next.clusterId) {
    throw new InputError(`product.${KVM_PROFILE_OPTION}`, `the new package's profile "${next.profileName}" is on cluster ${next.clusterId}, the VM on cluster ${old.clusterId}; a package change cannot move a VM to another cluster`);
  }
  const out: KvmChange[] = [];
  const cpuOld = { ...old.cpu, memoryMb: old.memoryMb, balloonMb: old.balloonMb };
  const cpuNew = { ...next.cpu, memoryMb: next.memoryMb, balloonMb: next.balloonMb };
  out.push(same(cpuOld, cpuNew)
    ? { step: 'cpu_ram', work: false, reason: 'no change' }
    : { step: 'cpu_ram', work: true, reason: `${old.cpu.sockets}×${old.cpu.cores} cores, ${old.memoryMb} MiB → ${next.cpu.sockets}×${next.cpu.cores} cores, ${next.memoryMb} MiB` });

  out.push(sizeChange('system_disk_size', 'the system disk', old.systemDisk.sizeGb, next.systemDisk.sizeGb));
  out.push(same(limitsOf(old.systemDisk), limitsOf(next.systemDisk))
    ? { step: 'system_disk_io', work: false, reason: 'no change' }
    : { step: 'system_disk_io', work: true, reason: `limits ${limitText(next.systemDisk)}` });

  const a = old.additionalDisk;
  const b = next.additionalDisk;
  if (!a && b) {
    out.push({ step: 'additional_disk', work: true, reason: `create a ${b.sizeGb} GiB disk on ${b.storage}` });
    out.push({ step: 'additional_disk_size', work: false, reason: `no change (created at ${b.sizeGb} GiB)` });
    const limited = Object.values(limitsOf(b)).some((v) => v !== null);
    out.push({ step: 'additional_disk_io', work: limited, reason: limited ? `limits ${limitText(b)}` : 'no change (no limits)' });
  } else if (a && !b) {
    const reason = `skipped: the new package has no additional disk; the VM's ${a.sizeGb} GiB disk is kept with its data (remove it by hand if it should go)`;
    out.push({ step: 'additional_disk', work: false, reason });
    out.push({ step: 'additional_disk_size', work: false, reason });
    out.push({ step: 'additional_disk_io', work: false, reason });
  } else if (a && b) {
    out.push({ step: 'additional_disk', work: false, reason: 'no change (the disk exists)' });
    out.push(sizeChange('additional_disk_size', 'the additional disk', a.sizeGb, b.sizeGb));
    out.push(same(limitsOf(a), limitsOf(b))
      ? { step: 'additional_disk_io', work: false, reason: 'no change' }
      : { step: 'additional_disk_io', work: true, reason: `limits ${limitText(b)}` });
  } else {
    for (const step of ['additional_disk', 'additional_disk_size', 'additional_disk_io'] as const) out.push({ step, work: false, reason: 'no change (no additional disk)' });
  }

  out.push(same(old.network, next.network)
    ? { step: 'network', work: false, reason: 'no change' }
    : { step: 'network', work: true, reason: `bridge ${next.network.bridge}, VLAN ${next.network.vlan ?? 'none'}, rate ${next.network.rateMbps === null ? 'unlimited' : `${next.network.rateMbps} MB/s`}` });
  out.push(same(old.firewall, next.firewall)
    ? { step: 'firewall', work: false, reason: 'no change' }
    : { step: 'firewall', work: true, reason: `firewall ${next.firewall.enable ? 'on' : 'off'}, in ${next.firewall.policyIn}, out ${next.firewall.policyOut}` });
  out.push(same(old.ips, next.ips)
    ? { step: 'ips', work: false, reason: 'no change' }
    : { step: 'ips', work: true, reason: `IPv4 ${old.ips.v4} → ${next.ips.v4}, IPv6 ${old.ips.v6} → ${next.ips.v6}` });
  return out;
}
