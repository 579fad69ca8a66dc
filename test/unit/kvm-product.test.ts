// A WHMCS KVM product as a VM plan: the profile alone, the configurable options that override it
// (by system name, as WHMCS upgrades and downgrades send them), the custom fields (host name, SSH
// keys), every hostile value refused naming its field, a profile body checked and given its
// defaults, and what a package change has to do (a disk never shrinks, and says so).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { InputError } from '../../daemon/common/errors.ts';
import type { ProductInput } from '../../daemon/pipelines/product.ts';
import { CLIENT_FEATURES } from '../../daemon/services/vm-panel-types.ts';
import {
  diffKvmPlans, KVM_CHANGE_STEPS, kvmProfileRef, normaliseKvmProfile, resolveKvmProduct, type KvmPlan, type KvmProfile, type KvmProfileInput,
} from '../../daemon/pipelines/kvm-product.ts';

function refused(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `not an InputError: ${String(err)}`);
    assert.equal(err.field, field);
    assert.match(err.message, message);
    return true;
  });
}

function edKey(comment: string): string {
  const jwk = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(Buffer.from(jwk.x!, 'base64url'))]).toString('base64')} ${comment}`;
}

const BODY: KvmProfileInput = {
  name: 'vps-small', cluster_id: 3, node: 'pve2', cores: 2, sockets: 1, cpu_type: 'host', memory_mb: 2048, balloon_mb: 1024,
  system_disk: { size_gb: 40, storage: 'local-lvm', iops_rd: 2000, iops_wr: 1000, mbps_rd: 200, mbps_wr: 100.5 },
  additional_disk: { size_gb: 100, storage: 'ceph', iops_rd: null, iops_wr: 500, mbps_rd: null, mbps_wr: null },
  network: { bridge: 'vmbr1', vlan: 20, rate_mbps: 12.5, model: 'virtio' },
  firewall: { enable: true, dhcp: false, ndp: true, macfilter: true, ipfilter: true, log_level_in: 'info', log_level_out: 'nolog', policy_in: 'DROP', policy_out: 'ACCEPT' },
  ipv4: 1, ipv6: 1, os_templates: ['debian-12', 'ubuntu-24.04', 'alma-9'], default_os: 'debian-12', clone_mode: 'linked',
  bandwidth_gb: 2000, snapshots: 2, backups: 3,
};

const PROFILE: KvmProfile = { id: 7, ...normaliseKvmProfile(BODY), created_at: 1, updated_at: 1 };
const PASSWORD = 'Cust0mer-Pa55!';

function input(config: ProductInput['config_options'] = {}, custom: ProductInput['custom_fields'] = {}, product: Record<string, string> = {}): ProductInput {
  return { product: { configoption1: 'kvm', configoption2: '', configoption15: '7', ...product }, config_options: config, custom_fields: custom };
}

const resolve = (i: ProductInput, extra: { domain?: string; password?: string } = {}) =>
  resolveKvmProduct(i, PROFILE, { domain: 'vm1.example.com', password: PASSWORD, ...extra });

describe('resolving a KVM product', () => {
  test('the profile alone gives the whole plan', () => {
    const plan = resolve(input());
    assert.deepEqual(plan, {
      profileId: 7, profileName: 'vps-small', clusterId: 3, node: 'pve2',
      cpu: { cores: 2, sockets: 1, type: 'host' }, memoryMb: 2048, balloonMb: 1024,
      systemDisk: { sizeGb: 40, storage: 'local-lvm', iopsRd: 2000, iopsWr: 1000, mbpsRd: 200, mbpsWr: 100.5 },
      additionalDisk: { sizeGb: 100, storage: 'ceph', iopsRd: null, iopsWr: 500, mbpsRd: null, mbpsWr: null },
      network: { bridge: 'vmbr1', vlan: 20, rateMbps: 12.5, model: 'virtio', firewall: true },
      firewall: { enable: true, dhcp: false, ndp: true, macfilter: true, ipfilter: true, logLevelIn: 'info', logLevelOut: 'nolog', policyIn: 'DROP', policyOut: 'ACCEPT' },
      ips: { v4: 1, v6: 1 }, os: 'debian-12', cloneMode: 'linked', hostname: 'vm1.example.com', sshKeys: [],
      bandwidthGb: 2000, snapshots: 2, backups: 3,
    } satisfies KvmPlan);
    assert.ok(!JSON.stringify(plan).includes(PASSWORD), 'the plan is stored with the service: it never holds the password');
    assert.match(JSON.stringify(plan), /"profileId":7,/, 'the in-use check of a profile finds its plans by this text');
  });

  test('configurable options override fields by system name, values by their system part', () => {
    const plan = resolve(input({
      'cores|CPU cores': '4', 'Sockets|Sockets': 2, 'memory|RAM': '8192|8 GB', 'disk|Disk space': 80, 'extra_disk|Extra disk': '250',
      'ipv4|IPv4 addresses': 2, 'ipv6': '0', 'rate|Port speed': '125|1 Gbit/s', 'bandwidth|Traffic': 'unlimited', 'os|Operating system': 'ubuntu-24.04|Ubuntu 24.04 LTS',
      'snapshots': 5, 'backups': '0', 'billing_cycle_note|Note': 'ignored: not a KVM option',
    }));
    assert.deepEqual(plan.cpu, { cores: 4, sockets: 2, type: 'host' });
    assert.equal(plan.memoryMb, 8192);
    assert.equal(plan.systemDisk.sizeGb, 80);
    assert.equal(plan.systemDisk.iopsRd, 2000, 'limits stay the profile\'s');
    assert.deepEqual(plan.additionalDisk, { sizeGb: 250, storage: 'ceph', iopsRd: null, iopsWr: 500, mbpsRd: null, mbpsWr: null });
    assert.deepEqual(plan.ips, { v4: 2, v6: 0 });
    assert.equal(plan.network.rateMbps, 125);
    assert.equal(plan.bandwidthGb, null);
    assert.equal(plan.os, 'ubuntu-24.04');
    assert.equal(plan.snapshots, 5);
    assert.equal(plan.backups, 0);
    assert.equal(plan.balloonMb, 1024);
  });

  test('extra_disk 0 removes the additional disk; on a profile without one it adds one on the system storage', () => {
    assert.equal(resolve(input({ extra_disk: 0 })).additionalDisk, null);
    const bare: KvmProfile = { ...PROFILE, additional_disk: null };
    const plan = resolveKvmProduct(input({ 'extra_disk|More disk': '30' }), bare, { domain: 'vm1.example.com', password: PASSWORD });
    assert.deepEqual(plan.additionalDisk, { sizeGb: 30, storage: 'local-lvm', iopsRd: null, iopsWr: null, mbpsRd: null, mbpsWr: null });
    assert.equal(resolveKvmProduct(input(), bare, { domain: 'vm1.example.com', password: PASSWORD }).additionalDisk, null);
  });

  test('less memory than the balloon minimum brings the balloon down with it; rate 0 is no limit; blank options are not overrides', () => {
    const plan = resolve(input({ memory: 512, rate: '0', cores: '' }));
    assert.equal(plan.memoryMb, 512);
    assert.equal(plan.balloonMb, 512);
    assert.equal(plan.network.rateMbps, null);
    assert.equal(plan.cpu.cores, 2);
  });

  test('a bad override is refused naming the option and the allowed range', () => {
    refused(() => resolve(input({ 'memory|RAM': '8' })), 'config_options.memory|RAM', /8 MB is out of range: from 16–4,194,304 MB/);
    refused(() => resolve(input({ 'cores|CPU': '2.5' })), 'config_options.cores|CPU', /"2.5" must be a whole number from 1–512/);
    refused(() => resolve(input({ cores: '-4' })), 'config_options.cores', /whole number/);
    refused(() => resolve(input({ cores: 600 })), 'config_options.cores', /600 is out of range: from 1–512/);
    refused(() => resolve(input({ cores: 64, sockets: 16 })), 'config_options.cores', /1024 vCPUs; at most 512/);
    refused(() => resolve(input({ sockets: 17 })), 'config_options.sockets', /from 1–16/);
    refused(() => resolve(input({ disk: 0 })), 'config_options.disk', /0 GB is out of range: from 1–65,536 GB/);
    refused(() => resolve(input({ disk: 70000 })), 'config_options.disk', /out of range/);
    refused(() => resolve(input({ extra_disk: 'lots' })), 'config_options.extra_disk', /whole number from 0–65,536/);
    refused(() => resolve(input({ ipv4: 300 })), 'config_options.ipv4', /from 0–256/);
    refused(() => resolve(input({ rate: '1,5' })), 'config_options.rate', /must be a number/);
    refused(() => resolve(input({ bandwidth: '1.5' })), 'config_options.bandwidth', /whole number/);
    refused(() => resolve(input({ 'os|OS': 'windows-11|Windows 11' })), 'config_options.os|OS', /"windows-11" is not an OS this product offers \(debian-12, ubuntu-24.04, alma-9\)/);
    refused(() => resolve(input({ os: '../../etc/passwd' })), 'config_options.os', /not an OS slug/);
  });

  test('host name: the custom field, else the WHMCS domain; hostile ones are refused naming where they came from', () => {
    assert.equal(resolve(input({}, { 'hostname|Server hostname': 'Web01.Example.NET' })).hostname, 'web01.example.net');
    assert.equal(resolve(input({}, { hostname: '  ' })).hostname, 'vm1.example.com', 'a blank custom field falls back to the domain');
    refused(() => resolve(input({}, { 'hostname|Host': 'evil;reboot' })), 'custom_fields.hostname|Host', /label "evil;reboot"/);
    refused(() => resolve(input({}, { hostname: 'a.b\nc' })), 'custom_fields.hostname', /ASCII/);
    refused(() => resolve(input({}, { hostname: 'ехample.com' })), 'custom_fields.hostname', /xn-- form/);
    refused(() => resolve(input(), { domain: '-bad.example.com' }), 'domain', /must not start with "-"/);
    refused(() => resolve(input(), { domain: '' }), 'custom_fields.hostname', /is required: the VM needs a host name/);
  });

  test('SSH keys from the custom field are checked and normalised; hostile ones are refused', () => {
    const a = edKey('alice@laptop');
    const b = edKey('bob');
    assert.deepEqual(resolve(input({}, { 'ssh_keys|SSH keys': `${a}\r\n\r\n${b}\r\n` })).sshKeys, [a, b]);
    refused(() => resolve(input({}, { ssh_keys: `${a}\r${b}` })), 'custom_fields.ssh_keys', /line 1 has a carriage return/);
    refused(() => resolve(input({}, { ssh_keys: `${a}\n${b}\u0000` })), 'custom_fields.ssh_keys', /line 2 has a NUL byte/);
    refused(() => resolve(input({}, { ssh_keys: 'ssh-ed25519 AAAA' })), 'custom_fields.ssh_keys', /line 1/);
  });

  test('the password: quotes are carried, control characters and short ones refused', () => {
    assert.doesNotThrow(() => resolve(input(), { password: `O'Brien "the \\ admin" $HOME` }));
    refused(() => resolve(input(), { password: 'pw\nroot::0:0' }), 'password', /U\+000A/);
    refused(() => resolve(input(), { password: 'short' }), 'password', /at least 8/);
  });

  test('not a KVM product, or no profile named: refused naming the Module Setting', () => {
    refused(() => resolve(input({}, {}, { configoption1: 'split' })), 'product.configoption1', /"split" is not kvm/);
    assert.deepEqual(kvmProfileRef(input()), { id: 7 });
    assert.deepEqual(kvmProfileRef(input({}, {}, { configoption15: 'vps-small' })), { name: 'vps-small' });
    refused(() => kvmProfileRef(input({}, {}, { configoption15: '' })), 'product.configoption15', /needs its KVM profile/);
    refused(() => kvmProfileRef(input({}, {}, { configoption15: 'Bad Name!' })), 'product.configoption15', /must be a slug/);
  });
});

describe('a profile body', () => {
  test('the least body takes the documented defaults', () => {
    const p = normaliseKvmProfile({
      name: 'tiny', cluster_id: 1, cores: 1, memory_mb: 512, default_os: 'debian-12',
      system_disk: { size_gb: 10, storage: 'local-lvm' }, network: { bridge: 'vmbr0' },
    });
    assert.deepEqual(p, {
      name: 'tiny', cluster_id: 1, node: null, cores: 1, sockets: 1, cpu_type: null, memory_mb: 512, balloon_mb: null,
      system_disk: { size_gb: 10, storage: 'local-lvm', iops_rd: null, iops_wr: null, mbps_rd: null, mbps_wr: null }, additional_disk: null,
      network: { bridge: 'vmbr0', vlan: null, rate_mbps: null, model: 'virtio' },
      firewall: { enable: false, dhcp: false, ndp: true, macfilter: true, ipfilter: false, log_level_in: 'nolog', log_level_out: 'nolog', policy_in: 'DROP', policy_out: 'ACCEPT' },
      ipv4: 1, ipv6: 0, os_templates: ['debian-12'], default_os: 'debian-12', clone_mode: 'full', bandwidth_gb: null, snapshots: 0, backups: 0,
      client_features: [...CLIENT_FEATURES], isos: [], firewall_rules: 0,
    });
  });
  test('bad fields are refused naming them', () => {
    const bad = (over: Record<string, unknown>, field: string, message: RegExp) => refused(() => normaliseKvmProfile({ ...BODY, ...over } as KvmProfileInput), field, message);
    bad({ name: 'Small VPS' }, 'name', /slug/);
    bad({ memory_mb: 8 }, 'memory_mb', /8 MiB is out of range/);
    bad({ balloon_mb: 4096 }, 'balloon_mb', /more than the memory/);
    bad({ system_disk: { size_gb: 40, storage: 'local lvm' } }, 'system_disk.storage', /not a Proxmox storage id/);
    bad({ system_disk: { size_gb: 40, storage: 'local', iops_rd: 2_000_000 } }, 'system_disk.iops_rd', /1,000,000/);
    bad({ additional_disk: { size_gb: 100, storage: 'x', mbps_wr: 1e6 } }, 'additional_disk.mbps_wr', /100,000/);
    bad({ network: { bridge: 'vmbr0', vlan: 5000 } }, 'network.vlan', /1–4,094/);
    bad({ network: { bridge: 'vmbr0;reboot' } }, 'network.bridge', /not a bridge name/);
    bad({ network: { bridge: 'vmbr0', model: 'ne2k_pci' } }, 'network.model', /one of virtio, e1000/);
    bad({ firewall: { policy_in: 'ALLOW' } }, 'firewall.policy_in', /one of ACCEPT, REJECT, DROP/);
    bad({ firewall: { log_level_out: 'loud' } }, 'firewall.log_level_out', /one of nolog/);
    bad({ client_features: ['power', 'power'] }, 'client_features.1', /named twice/);
    bad({ isos: ['local:iso/../etc.iso'] }, 'isos.0', /not an ISO volid/);
    bad({ firewall_rules: -1 }, 'firewall_rules', /from 0 to 50/);
    bad({ default_os: 'windows-11' }, 'default_os', /not one of the profile's OS templates/);
    bad({ clone_mode: 'copy' }, 'clone_mode', /linked, full/);
    bad({ node: 'pve 1' }, 'node', /node name/);
  });
});

describe('a package change', () => {
  const plan = (over: Partial<KvmPlan> = {}, config: ProductInput['config_options'] = {}): KvmPlan => ({ ...resolve(input(config)), ...over });
  const work = (changes: ReturnType<typeof diffKvmPlans>) => changes.filter((c) => c.work).map((c) => c.step);
  const of = (changes: ReturnType<typeof diffKvmPlans>, step: string) => changes.find((c) => c.step === step)!;

  test('the same plan has nothing to do, and every step is listed in order', () => {
    const d = diffKvmPlans(plan(), plan());
    assert.deepEqual(d.map((c) => c.step), [...KVM_CHANGE_STEPS]);
    assert.deepEqual(work(d), []);
  });

  test('an upgrade grows CPU, RAM and disks and changes addresses', () => {
    const d = diffKvmPlans(plan(), plan({}, { cores: 4, memory: 4096, disk: 80, extra_disk: 200, ipv4: 2 }));
    assert.deepEqual(work(d), ['cpu_ram', 'system_disk_size', 'additional_disk_size', 'ips']);
    assert.match(of(d, 'system_disk_size').reason, /grows from 40 GiB to 80 GiB/);
  });

  test('a downgrade never shrinks a disk, and says so', () => {
    const d = diffKvmPlans(plan({}, { disk: 80, extra_disk: 200 }), plan({}, { memory: 1024, disk: 40, extra_disk: 100 }));
    assert.deepEqual(work(d), ['cpu_ram']);
    assert.match(of(d, 'system_disk_size').reason, /^skipped: the system disk stays at 80 GiB; the new package asks for 40 GiB, and Proxmox cannot shrink a disk/);
    assert.match(of(d, 'additional_disk_size').reason, /^skipped: the additional disk stays at 200 GiB/);
  });

  test('an additional disk is created by an upgrade, and kept (skipped, said) by a downgrade that drops it', () => {
    const up = diffKvmPlans(plan({}, { extra_disk: 0 }), plan());
    assert.deepEqual(work(up), ['additional_disk', 'additional_disk_io']);
    assert.match(of(up, 'additional_disk').reason, /create a 100 GiB disk on ceph/);
    const down = diffKvmPlans(plan(), plan({}, { extra_disk: 0 }));
    assert.deepEqual(work(down), []);
    assert.match(of(down, 'additional_disk').reason, /^skipped: .* kept with its data/);
  });

  test('limits, network and firewall changes are their own steps', () => {
    const base = plan();
    const next = plan({
      systemDisk: { ...base.systemDisk, iopsRd: null }, network: { ...base.network, vlan: 30 }, firewall: { ...base.firewall, policyIn: 'REJECT' },
    });
    assert.deepEqual(work(diffKvmPlans(base, next)), ['system_disk_io', 'network', 'firewall']);
  });

  test('a profile on another cluster is refused', () => {
    refused(() => diffKvmPlans(plan(), plan({ clusterId: 9, profileName: 'other' })), 'product.configoption15', /cannot move a VM to another cluster/);
  });
});
