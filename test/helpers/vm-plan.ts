// A KVM service's stored plan for the planner's tests: a VM cloned on pve1 and moved to pve2, with an
// additional disk and two PowerDNS servers for its records.
import type { KvmPlan } from '../../daemon/pipelines/kvm-product.ts';
import type { VmServicePlan } from '../../daemon/pipelines/vm-plan.ts';

export function kvmSpec(extra: Partial<KvmPlan> = {}): KvmPlan {
  return {
    profileId: 1, profileName: 'vps-s', clusterId: 3, node: null,
    cpu: { cores: 2, sockets: 1, type: null }, memoryMb: 2048, balloonMb: null,
    systemDisk: { sizeGb: 20, storage: 'local-lvm', iopsRd: null, iopsWr: null, mbpsRd: null, mbpsWr: null },
    additionalDisk: { sizeGb: 10, storage: 'local-lvm', iopsRd: 500, iopsWr: 500, mbpsRd: null, mbpsWr: null },
    network: { bridge: 'vmbr0', vlan: null, rateMbps: null, model: 'virtio', firewall: true },
    firewall: { enable: true, dhcp: false, ndp: true, macfilter: true, ipfilter: true, logLevelIn: 'nolog', logLevelOut: 'nolog', policyIn: 'ACCEPT', policyOut: 'ACCEPT' },
    ips: { v4: 1, v6: 1 }, os: 'debian-12', cloneMode: 'linked', hostname: 'vm1.example.net', sshKeys: [],
    bandwidthGb: null, snapshots: 2, backups: 2,
    ...extra,
  };
}

export function vmPlan(extra: Partial<VmServicePlan> = {}): VmServicePlan {
  return {
    kind: 'kvm', whmcsServiceId: 42, domain: 'vm1.example.net', email: '', profileId: 1, clusterId: 3,
    template: { slug: 'debian-12', vmid: 9000, node: 'pve1', storage: 'local-lvm' },
    placement: { cloneNode: 'pve1', targetNode: 'pve2', systemStorage: 'local-lvm', additionalStorage: 'local-lvm', reason: 'test' },
    spec: kvmSpec(), user: 'root', dnsServers: [21, 22],
    ...extra,
  };
}
