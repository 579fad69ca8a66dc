// A Proxmox VE lab for the KVM tests: the API emulator (two nodes; the template on pve1, which has
// little room, so a VM is cloned there and moved to pve2), registered with a test daemon through its
// signed API with its certificate pinned, synced, local-lvm given the disk roles, an IPv4 and an
// IPv6 pool on vmbr0, a KVM profile, and — when a PowerDNS is given — the forward and reverse zones
// the VMs' records go to.
import https from 'node:https';
import type { Knex } from 'knex';
import { call } from './api.ts';
import { T } from '../../daemon/common/tables.ts';
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

// -- Chaos tests (kvm-sigkill, kvm-multi-daemon): a bigger emulator and the end-state checks. --

/**
 * An emulator for many VMs at once: the template's node small (every VM is cloned there and moved),
 * the other with memory and disk for dozens of 2 GB VMs; the clone and the move long enough for a kill to land
 * in them, the rest short.
 */
export const KVM_CHAOS_EMULATOR: ProxmoxEmulatorOptions = {
  nodes: [{ name: 'pve1', maxmemMb: 6144 }, { name: 'pve2', maxmemMb: 262144 }],
  // Room for dozens of 20 GB system disks.
  storages: [
    { storage: 'local-lvm', type: 'lvmthin', content: 'images,rootdir', totalGb: 4096 },
    { storage: 'local', type: 'dir', content: 'iso,vztmpl,backup' },
  ],
  taskMs: { qmclone: 400, qmigrate: 250, resize: 20, qmstart: 30, qmstop: 20, qmshutdown: 30, qmdestroy: 30, qmconfig: 10, alloc: 5 },
  authFailDelayMs: 50,
};

/** The hostbridge service row ids of WHMCS service ids. */
async function serviceRows(db: Knex, whmcsIds: number[]): Promise<Map<number, { id: number; state: string }>> {
  const rows = await db(T.services).whereIn('whmcs_service_id', whmcsIds).select('id', 'whmcs_service_id', 'state');
  return new Map(rows.map((r: Record<string, any>) => [Number(r.whmcs_service_id), { id: Number(r.id), state: String(r.state) }]));
}

/**
 * Everything that must hold once the given KVM services are deployed, read from the emulator's
 * state and the database: one problem per line (empty when all holds). Each service active; exactly
 * one VM per service on the cluster (by its description) and no other VM; distinct VMIDs, each the
 * one mod_hostbridge_vms holds, on the node it records; every VM running, unlocked, its profile
 * applied; one IPv4 and one IPv6 per service, no address held twice, each VM's ipconfig0 and
 * anti-spoofing IPSet holding exactly its own.
 */
export async function kvmDeploymentProblems(db: Knex, lab: KvmLab, whmcsIds: number[]): Promise<string[]> {
  const problems: string[] = [];
  const services = await serviceRows(db, whmcsIds);
  for (const w of whmcsIds) {
    const s = services.get(w);
    if (!s) problems.push(`service ${w}: no service row`);
    else if (s.state !== 'active') problems.push(`service ${w}: state ${s.state}, not active`);
  }
  // VMs on the cluster, by the service their description names.
  const vms = [...lab.pve.vms().values()].filter((v) => !v.template);
  const byService = new Map<number, typeof vms>();
  for (const vm of vms) {
    const ids = [...String(vm.config.description ?? '').matchAll(/hostbridge service (\d+)/g)].map((m) => Number(m[1]));
    if (ids.length !== 1 || !whmcsIds.includes(ids[0]!)) {
      problems.push(`VM ${vm.vmid} on ${vm.node}: description ${JSON.stringify(vm.config.description ?? null)} does not name exactly one of the services`);
      continue;
    }
    byService.set(ids[0]!, [...(byService.get(ids[0]!) ?? []), vm]);
  }
  if (vms.length !== whmcsIds.length) problems.push(`${vms.length} VMs on the cluster for ${whmcsIds.length} services`);
  // The VM rows: distinct VMIDs (the unique key), each matching the VM found on the cluster.
  const rows = await db(T.vms).whereIn('service_id', [...services.values()].map((s) => s.id)).select('service_id', 'vmid', 'node');
  const rowOf = new Map(rows.map((r: Record<string, any>) => [Number(r.service_id), { vmid: r.vmid === null ? null : Number(r.vmid), node: r.node as string | null }]));
  const rowVmids = rows.map((r: Record<string, any>) => Number(r.vmid));
  if (new Set(rowVmids).size !== rowVmids.length) problems.push(`a VMID is held twice in mod_hostbridge_vms: ${rowVmids.join(',')}`);
  // The addresses: exactly one IPv4 and one IPv6 per service, none held twice.
  const addrs = await db(T.ipAddresses).whereNotNull('service_id').select('ip', 'family', 'status', 'service_id');
  const ips = addrs.map((a: Record<string, any>) => String(a.ip));
  if (new Set(ips).size !== ips.length) problems.push(`an address is held twice: ${ips.join(',')}`);
  const svcIds = new Set([...services.values()].map((s) => s.id));
  for (const a of addrs) if (!svcIds.has(Number(a.service_id))) problems.push(`address ${a.ip} is held by service row ${a.service_id}, not one of the deployed services`);

  for (const w of whmcsIds) {
    const s = services.get(w);
    if (!s) continue;
    const mine = byService.get(w) ?? [];
    if (mine.length !== 1) {
      problems.push(`service ${w}: ${mine.length} VMs carry its description (${mine.map((v) => `${v.vmid}@${v.node}`).join(', ')})`);
      if (mine.length === 0) continue;
    }
    const vm = mine[0]!;
    const row = rowOf.get(s.id);
    if (!row || row.vmid !== vm.vmid || row.node !== vm.node) problems.push(`service ${w}: VM row ${JSON.stringify(row ?? null)}, VM on the cluster ${vm.vmid}@${vm.node}`);
    if (vm.status !== 'running') problems.push(`service ${w}: VM ${vm.vmid} is ${vm.status}`);
    if (vm.lock) problems.push(`service ${w}: VM ${vm.vmid} is locked (${vm.lock})`);
    if (Number(vm.config.cores) !== 2 || Number(vm.config.memory) !== 2048) problems.push(`service ${w}: VM ${vm.vmid} has cores=${vm.config.cores} memory=${vm.config.memory}`);
    const net0 = String(vm.config.net0 ?? '');
    if (!/bridge=vmbr0/.test(net0) || !/rate=12\.5/.test(net0) || !/firewall=1/.test(net0)) problems.push(`service ${w}: VM ${vm.vmid} net0 is ${net0}`);
    if (!/size=20G/.test(String(vm.config.scsi0 ?? ''))) problems.push(`service ${w}: VM ${vm.vmid} scsi0 is ${vm.config.scsi0}`);
    const held = addrs.filter((a: Record<string, any>) => Number(a.service_id) === s.id);
    const v4 = held.filter((a: Record<string, any>) => Number(a.family) === 4).map((a: Record<string, any>) => String(a.ip));
    const v6 = held.filter((a: Record<string, any>) => Number(a.family) === 6).map((a: Record<string, any>) => String(a.ip));
    if (v4.length !== 1 || v6.length !== 1 || held.some((a: Record<string, any>) => a.status !== 'allocated')) {
      problems.push(`service ${w}: holds ${JSON.stringify(held)}, not one allocated IPv4 and one IPv6`);
      continue;
    }
    const ipconfig = String(vm.config.ipconfig0 ?? '');
    if (!ipconfig.includes(`ip=${v4[0]}/24,`) || !ipconfig.includes(`ip6=${v6[0]}/64`)) problems.push(`service ${w}: VM ${vm.vmid} ipconfig0 is ${ipconfig}, its addresses ${v4[0]} ${v6[0]}`);
    const set = (vm.firewall.ipsets.get('ipfilter-net0') ?? []).map((x) => x.cidr.replace(/\/(32|128)$/, '')).sort();
    if (JSON.stringify(set) !== JSON.stringify([v4[0], v6[0]].sort())) problems.push(`service ${w}: VM ${vm.vmid} IPSet ipfilter-net0 is ${set.join(',')}, its addresses ${v4[0]} ${v6[0]}`);
    if (String(vm.firewall.options.enable) !== '1' || String(vm.firewall.options.ipfilter) !== '1') problems.push(`service ${w}: VM ${vm.vmid} firewall options ${JSON.stringify(vm.firewall.options)}`);
  }
  return problems;
}

/** Places a batch of KVM orders through a daemon's signed API; each must be accepted. */
export async function placeKvmOrders(daemonUrl: string, whmcsIds: number[]): Promise<void> {
  for (const id of whmcsIds) await must(daemonUrl, 'POST', '/v1/services', kvmOrderBody(id, `vm${id}.example.org`));
}

/** Each task that failed for good: its service, step and last error (what a chaos test shows when a deployment failed). */
export async function failedSteps(db: Knex): Promise<string[]> {
  const rows = await db(`${T.tasks} as t`).join(`${T.services} as s`, 's.id', 't.service_id').where('t.status', 'failed').select('s.whmcs_service_id', 't.step', 't.attempts', 't.last_error');
  return rows.map((r: Record<string, any>) => `service ${r.whmcs_service_id} ${r.step} (attempt ${r.attempts}): ${String(r.last_error ?? '').slice(0, 400)}`);
}

/** The Proxmox tasks running now on each node, read from the emulator's task list (GET /nodes/{node}/tasks?source=active) as a client would. */
export async function activeProxmoxTasks(pve: ProxmoxEmulator, nodes: string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const node of nodes) {
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.get({
        host: pve.host, port: pve.port, path: `/api2/json/nodes/${node}/tasks?source=active&limit=500`,
        headers: { authorization: `PVEAPIToken=${pve.token.id}=${pve.token.secret}` },
        // The emulator's own certificate, trusted as such (it names no host to check).
        ca: pve.certPem, checkServerIdentity: () => undefined,
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { text += c; });
        res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`tasks of ${node}: ${res.statusCode} ${text}`))));
      });
      req.on('error', reject);
    });
    out[node] = (JSON.parse(body).data as Array<{ type: string; id: string; status: string }>).filter((t) => t.status === 'RUNNING').map((t) => `${t.type}:${t.id}`);
  }
  return out;
}
