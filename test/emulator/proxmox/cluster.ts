// Cluster-wide reads: /version, /nodes, /cluster/resources, /cluster/nextid, and per node the
// VM list, storage status and network interfaces.
import { die, paramError } from './errors.ts';
import { type Ctx, vmStats } from './context.ts';
import { Reply, type Router } from './http.ts';
import { NODE, opt, validate, VMID } from './schema.ts';
import type { StorageState } from './state.ts';

export function clusterRoutes(r: Router, ctx: Ctx): void {
  const c = ctx.cluster;

  r.add('GET', '/version', (req) => {
    validate({}, req.params);
    return { version: '9.2.11', release: '9.2', repoid: '14a22df3' };
  });

  r.add('GET', '/nodes', (req) => {
    validate({}, req.params);
    return [...c.nodes.values()].map((n) => nodeEntry(ctx, n.name));
  });

  r.add('GET', '/cluster/nextid', (req) => {
    const p = validate({ vmid: opt(VMID) }, req.params);
    if (p.vmid !== undefined) {
      if (c.vms.has(Number(p.vmid))) paramError({ vmid: `VM ${p.vmid} already exists` });
      return String(p.vmid);
    }
    for (let id = 100; id < 1_000_000; id++) if (!c.vms.has(id)) return String(id);
    return die('unable to get any free VMID in range [100, 1000000]');
  });

  r.add('GET', '/cluster/status', (req) => {
    validate({}, req.params);
    const nodes = [...c.nodes.values()];
    return [
      { type: 'cluster', id: 'cluster', name: c.clusterName, nodes: nodes.length, quorate: nodes.filter((n) => n.online).length * 2 > nodes.length ? 1 : 0, version: nodes.length + 2 },
      ...nodes.map((n, i) => ({ type: 'node', id: `node/${n.name}`, name: n.name, nodeid: i + 1, ip: n.ip, online: n.online ? 1 : 0, local: i === 0 ? 1 : 0, level: '' })),
    ];
  });

  r.add('GET', '/cluster/resources', (req) => {
    const p = validate({ type: opt({ type: 'string', enum: ['vm', 'storage', 'node', 'sdn'] }) }, req.params);
    const out: Array<Record<string, unknown>> = [];
    if (!p.type || p.type === 'vm') {
      for (const vm of [...c.vms.values()].sort((a, b) => a.vmid - b.vmid)) {
        const e: Record<string, unknown> = {
          id: `qemu/${vm.vmid}`, vmid: vm.vmid, node: vm.node, type: 'qemu', status: vm.status, name: vm.config.name ?? `VM ${vm.vmid}`,
          template: vm.template ? 1 : 0, ...vmStats(vm),
        };
        // The cluster has no fresh status from an offline node's guests.
        if (!c.node(vm.node).online) e.status = 'unknown';
        if (vm.lock) e.lock = vm.lock;
        if (vm.config.tags) e.tags = vm.config.tags;
        out.push(e);
      }
    }
    if (!p.type || p.type === 'node') {
      for (const n of c.nodes.values()) out.push({ ...nodeEntry(ctx, n.name), type: 'node' });
    }
    if (!p.type || p.type === 'storage') {
      for (const s of c.storages.values()) for (const n of s.nodes) {
        const st = storageEntry(ctx, s, n);
        out.push({ id: `storage/${n}/${s.storage}`, storage: s.storage, node: n, type: 'storage', status: 'available', plugintype: s.type, content: st.content, shared: st.shared, disk: st.used, maxdisk: st.total });
      }
    }
    return out;
  });

  r.add('GET', '/nodes/{node}/qemu', (req) => {
    const p = validate({ node: NODE, full: opt({ type: 'boolean' }) }, req.params);
    return [...c.vms.values()].filter((vm) => vm.node === p.node).map((vm) => {
      const s = vmStats(vm);
      const e: Record<string, unknown> = {
        vmid: vm.vmid, name: vm.config.name ?? `VM ${vm.vmid}`, status: vm.status, cpus: vm.cpus(), maxmem: s.maxmem, maxdisk: s.maxdisk,
        uptime: s.uptime, cpu: s.cpu, mem: s.mem, disk: 0, netin: s.netin, netout: s.netout, diskread: s.diskread, diskwrite: s.diskwrite,
      };
      if (vm.status === 'running') e.pid = 4000 + vm.vmid;
      if (vm.template) e.template = 1;
      if (vm.lock) e.lock = vm.lock;
      if (vm.config.tags) e.tags = vm.config.tags;
      return e;
    });
  });

  r.add('GET', '/nodes/{node}/status', (req) => {
    const p = validate({ node: NODE }, req.params);
    const e = nodeEntry(ctx, String(p.node));
    return { uptime: e.uptime, cpu: e.cpu, memory: { total: e.maxmem, used: e.mem, free: Number(e.maxmem) - Number(e.mem) }, cpuinfo: { cpus: e.maxcpu, sockets: 1, model: 'QEMU Virtual CPU' }, pveversion: 'pve-manager/9.2.11/14a22df3', kversion: 'Linux 6.14.8-2-pve' };
  });

  r.add('GET', '/nodes/{node}/storage', (req) => {
    const p = validate({ node: NODE, content: opt({ type: 'string' }), enabled: opt({ type: 'boolean' }), storage: opt({ type: 'string' }), target: opt({ type: 'string' }), format: opt({ type: 'boolean' }) }, req.params);
    const wanted = p.content ? String(p.content).split(',') : [];
    return c.storagesOn(String(p.node))
      .filter((s) => wanted.every((w) => s.content.includes(w)))
      .filter((s) => !p.storage || s.storage === p.storage)
      .map((s) => storageEntry(ctx, s, String(p.node)));
  });

  r.add('GET', '/nodes/{node}/network', (req) => {
    const p = validate({ node: NODE, type: opt({ type: 'string', enum: ['bridge', 'bond', 'eth', 'alias', 'vlan', 'fabric', 'OVSBridge', 'OVSBond', 'OVSPort', 'OVSIntPort', 'vnet', 'unknown', 'any_bridge', 'any_local_bridge', 'include_sdn'] }) }, req.params);
    const n = c.node(String(p.node));
    const out: Array<Record<string, unknown>> = [];
    n.bridges.forEach((b, i) => {
      const [address, bits] = b.cidr.split('/');
      out.push({ iface: b.ports, type: 'eth', method: 'manual', method6: 'manual', families: ['inet'], active: 1, exists: 1, priority: 3 + i * 2 });
      const br: Record<string, unknown> = {
        iface: b.iface, type: 'bridge', method: 'static', method6: 'manual', families: ['inet'], active: 1, autostart: 1, priority: 4 + i * 2,
        bridge_ports: b.ports, bridge_stp: 'off', bridge_fd: '0', cidr: b.cidr, address, netmask: bits,
      };
      if (b.gateway) br.gateway = b.gateway;
      out.push(br);
    });
    const t = p.type === 'any_bridge' || p.type === 'any_local_bridge' ? 'bridge' : p.type;
    return t ? out.filter((e) => e.type === t) : out;
  });

  // The API's own tree root answers too (clients probe it).
  r.add('GET', '/', () => new Reply([{ subdir: 'version' }, { subdir: 'cluster' }, { subdir: 'nodes' }, { subdir: 'storage' }, { subdir: 'access' }, { subdir: 'pools' }]));
}

export function nodeEntry(ctx: Ctx, name: string): Record<string, unknown> {
  const n = ctx.cluster.node(name);
  const base: Record<string, unknown> = { node: n.name, id: `node/${n.name}`, type: 'node', status: n.online ? 'online' : 'offline', level: '', ssl_fingerprint: ctx.cluster.nodeFingerprint };
  if (!n.online) return base;
  const vms = [...ctx.cluster.vms.values()].filter((v) => v.node === n.name && v.status === 'running');
  const mem = 2 * 1024 ** 3 + vms.reduce((s, v) => s + v.memoryMiB() * 1024 * 1024, 0);
  const cpu = Math.min(1, 0.01 + vms.reduce((s, v) => s + v.cpus(), 0) / n.maxcpu / 10);
  return { ...base, cpu, maxcpu: n.maxcpu, mem: Math.min(mem, n.maxmem), maxmem: n.maxmem, disk: 8 * 1024 ** 3, maxdisk: 100 * 1024 ** 3, uptime: Math.floor(Date.now() / 1000) - n.bootedAt };
}

export function storageEntry(ctx: Ctx, s: StorageState, node: string): Record<string, unknown> & { used: number; total: number; content: string; shared: number } {
  const used = ctx.cluster.used(s.storage, node);
  return {
    storage: s.storage, type: s.type, content: s.content.join(','), enabled: 1, active: 1, shared: s.shared ? 1 : 0,
    total: s.total, used, avail: s.total - used, used_fraction: s.total ? used / s.total : 0,
  };
}
