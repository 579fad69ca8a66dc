// A Proxmox VE lab for the KVM tests: the API emulator (two nodes; the template on pve1, which has
// little room, so a VM is cloned there and moved to pve2), registered with a test daemon through its
// signed API with its certificate pinned, synced, local-lvm given the disk roles, an IPv4 and an
// IPv6 pool on vmbr0, a KVM profile, and — when a PowerDNS is given — the forward and reverse zones
// the VMs' records go to.
import { call } from './api.ts';
import { startProxmoxEmulator, type ProxmoxEmulator, type ProxmoxEmulatorOptions } from '../emulator/proxmox/index.ts';

export const KVM_PROFILE = 'vps-small';
export const KVM_ZONES = ['example.org', '100.51.198.in-addr.arpa', '0.0.1.0.8.b.d.0.1.0.0.2.ip6.arpa'];

export interface KvmLab {
  pve: ProxmoxEmulator;
  clusterId: number;
  pools: { v4: number; v6: number };
  profile: string;
  /** The service's addresses in the pools (sorted), by WHMCS service id. */
  addresses(whmcsServiceId: number): Promise<string[]>;
  /** The service's VM on the emulator (found by the description hostbridge gives it). */
  vmOf(whmcsServiceId: number): ReturnType<ProxmoxEmulator['vms']> extends Map<number, infer V> ? V | undefined : never;
  close(): Promise<void>;
}

export interface KvmLabOptions {
  emulator?: ProxmoxEmulatorOptions;
  /** Profile fields over the defaults (2 cores, 2048 MB, 20 GB on local-lvm, one IPv4 and one IPv6). */
  profile?: Record<string, unknown>;
  /** The pools' networks: a smaller IPv4 network makes a pool run out. */
  v4Network?: string;
  /** A PowerDNS to create the zones on (its API URL and key). */
  pdns?: { url: string; apiKey: string } | null;
}

async function must(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const r = await call(url, method, path, body);
  if (r.status < 200 || r.status >= 300) throw new Error(`KVM lab set-up: ${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function startKvmLab(daemonUrl: string, opts: KvmLabOptions = {}): Promise<KvmLab> {
  const pve = await startProxmoxEmulator({
    nodes: [{ name: 'pve1', maxmemMb: 6144 }, { name: 'pve2', maxmemMb: 65536 }],
    taskMs: { qmclone: 120, qmigrate: 120, resize: 40, qmstart: 60, qmstop: 40, qmshutdown: 60, qmdestroy: 60 },
    authFailDelayMs: 50,
    ...opts.emulator,
  });
  try {
    const c = await must(daemonUrl, 'POST', '/v1/proxmox/clusters', {
      name: 'lab', endpoints: [{ host: '127.0.0.1', port: pve.port }], fingerprint_sha256: pve.fingerprintSha256, token_id: pve.token.id, token_secret: pve.token.secret,
    });
    const clusterId = Number(c.id);
    await must(daemonUrl, 'POST', `/v1/proxmox/clusters/${clusterId}/sync`, {});
    const cluster = (await must(daemonUrl, 'GET', `/v1/proxmox/clusters/${clusterId}`)).cluster;
    for (const s of cluster.storages.filter((x: { storage: string }) => x.storage === 'local-lvm')) {
      await must(daemonUrl, 'PUT', `/v1/proxmox/clusters/${clusterId}/storages/${s.id}`, { templates: true, system: true, additional: true });
    }
    await must(daemonUrl, 'POST', `/v1/proxmox/clusters/${clusterId}/templates`, { slug: 'debian-12', label: 'Debian 12', vmid: 9000, node: 'pve1', storage: 'local-lvm', cloud_init: true });
    const pools = {
      v4: Number((await must(daemonUrl, 'POST', '/v1/ip-pools', { name: 'lab-v4', cluster_id: clusterId, bridge: 'vmbr0', family: 4, network: opts.v4Network ?? '198.51.100.0/24', gateway: '198.51.100.1', resolvers: ['198.51.100.53'] })).id),
      v6: Number((await must(daemonUrl, 'POST', '/v1/ip-pools', { name: 'lab-v6', cluster_id: clusterId, bridge: 'vmbr0', family: 6, network: '2001:db8:100::/64', gateway: '2001:db8:100::1', resolvers: ['2001:db8:100::53'] })).id),
    };
    await must(daemonUrl, 'POST', '/v1/kvm-profiles', {
      name: KVM_PROFILE, cluster_id: clusterId, cores: 2, sockets: 1, memory_mb: 2048,
      system_disk: { size_gb: 20, storage: 'local-lvm', iops_rd: 1000, iops_wr: 500 },
      network: { bridge: 'vmbr0', rate_mbps: 12.5 }, firewall: { enable: true, ipfilter: true, policy_in: 'ACCEPT' },
      ipv4: 1, ipv6: 1, os_templates: ['debian-12'], default_os: 'debian-12', clone_mode: 'linked',
      ...opts.profile,
    });
    if (opts.pdns) {
      for (const zone of KVM_ZONES) {
        const res = await fetch(`${opts.pdns.url}/api/v1/servers/localhost/zones`, {
          method: 'POST', headers: { 'X-API-Key': opts.pdns.apiKey, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `${zone}.`, kind: 'Native', nameservers: ['ns1.example.net.'] }),
        });
        if (res.status !== 201) throw new Error(`KVM lab set-up: PowerDNS zone ${zone}: ${res.status} ${await res.text()}`);
      }
    }
    return {
      pve, clusterId, pools, profile: KVM_PROFILE,
      async addresses(whmcsServiceId) {
        const out: string[] = [];
        for (const id of [pools.v4, pools.v6]) {
          const r = await must(daemonUrl, 'GET', `/v1/ip-pools/${id}/addresses`);
          for (const a of r.addresses as Array<{ ip: string; whmcs_service_id: number | null }>) if (a.whmcs_service_id === whmcsServiceId) out.push(a.ip);
        }
        return out.sort();
      },
      vmOf(whmcsServiceId) {
        return [...pve.vms().values()].find((v) => !v.template && String(v.config.description ?? '').includes(`hostbridge service ${whmcsServiceId}`)) as never;
      },
      close: () => pve.close(),
    };
  } catch (err) {
    await pve.close();
    throw err;
  }
}

/** The CreateAccount body of a KVM order for the signed API (what the PHP module sends). */
export function kvmOrderBody(whmcsServiceId: number, hostname: string, extra: { password?: string; config_options?: Record<string, string>; custom_fields?: Record<string, string> } = {}): Record<string, unknown> {
  return {
    whmcs_service_id: whmcsServiceId, client_id: 7, product_id: 9, domain: hostname, username: `u${whmcsServiceId}`, password: extra.password ?? 'Vm-Pa55word!',
    email: 'owner@example.com', product: { configoption1: 'kvm', configoption15: KVM_PROFILE },
    config_options: extra.config_options ?? {}, custom_fields: extra.custom_fields ?? {},
  };
}
