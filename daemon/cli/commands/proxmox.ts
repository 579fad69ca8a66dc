// Proxmox VE clusters from the command line: read an endpoint's certificate to confirm, add and
// edit clusters from a JSON body on standard input (so the token secret stays out of ps and shell
// history), list and show them (never the secret), run discovery, and set what the admin decides:
// storage roles, nodes in placement, VLANs per bridge, templates per OS.
import { checkBody } from '../../common/bodies.ts';
import {
  addCluster, addTemplate, findClusterId, findStorageId, findTemplateId, getCluster, listClusters, parseEndpoint, probeEndpoint, removeCluster,
  removeTemplate, setBridgeVlans, setNodeEnabled, setStorageRoles, syncCluster, updateCluster, type ClusterInput, type StorageRoles, type TemplateInput,
} from '../../fleet/proxmox-clusters.ts';
import { noMore, positional, takeFlag, takeOption } from '../args.ts';
import { UsageError, type Command, type CommandGroup } from '../command.ts';
import { report, withCore } from '../core.ts';
import { out, readStdinJson } from '../io.ts';

function onOff(value: string | undefined, option: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'on' || value === 'yes' || value === 'true') return true;
  if (value === 'off' || value === 'no' || value === 'false') return false;
  throw new UsageError(`${option} takes on or off, got "${value}"`);
}

const gb = (bytes: number | null) => (bytes === null ? '?' : `${Math.round(bytes / 1024 ** 3)} GB`);

const probe: Command = {
  name: 'proxmox probe', usage: 'proxmox probe <host[:port]>',
  describe: 'show the certificate a Proxmox VE API endpoint presents (fingerprint, subject, issuer, expiry), to confirm before adding',
  async run(args) {
    const name = 'proxmox probe';
    const target = positional(args, 'a host[:port]', name);
    noMore(args, name);
    const ep = parseEndpoint(target, 'host');
    const c = await probeEndpoint(ep.host, ep.port);
    out(`${c.host}:${c.port}`);
    out(`fingerprint: ${c.fingerprintSha256}`);
    out(`subject:     ${c.subject}`);
    out(`issuer:      ${c.issuer}`);
    out(`valid until: ${c.validTo}`);
    out('Compare it with the node\'s own (pvenode cert info, or Node › System › Certificates), then give it as "fingerprint_sha256" to proxmox add.');
    return 0;
  },
};

const add: Command = {
  name: 'proxmox add', usage: 'proxmox add < cluster.json',
  describe: 'add a cluster: {name, endpoints:[{host,port}], fingerprint_sha256, token_id, token_secret | username, password, max_tasks_per_node}',
  details: ['One pinned call checks the fingerprint and the credential first; when it fails nothing is saved.'],
  async run(args, ctx) {
    noMore(args, 'proxmox add');
    const body = await readStdinJson('proxmox add');
    return report(ctx.config(), async (core) => {
      const r = await addCluster(core.db, core.config.masterKey, checkBody<ClusterInput>('ProxmoxCluster', body));
      const s = await syncCluster(core.db, core.config.masterKey, r.id);
      return `Proxmox cluster ${r.id} added (Proxmox VE ${r.version}); discovery: ${s.status}, ${s.nodes} node(s), ${s.storages} storage(s), ${s.bridges} bridge(s)${s.error ? ` — ${s.error}` : ''}`;
    });
  },
};

const list: Command = {
  name: 'proxmox list', usage: 'proxmox list', describe: 'list Proxmox VE clusters, one JSON line each (the secret is never shown)',
  async run(args, ctx) {
    noMore(args, 'proxmox list');
    return withCore(ctx.config(), async (core) => {
      const rows = await listClusters(core.db);
      for (const c of rows) out(JSON.stringify(c));
      if (rows.length === 0) out('no Proxmox clusters yet');
      return 0;
    });
  },
};

const show: Command = {
  name: 'proxmox show', usage: 'proxmox show <cluster>', describe: 'one cluster (id or name): endpoints, nodes with their figures, storages, bridges, templates',
  async run(args, ctx) {
    const ref = positional(args, 'a cluster id or name', 'proxmox show');
    noMore(args, 'proxmox show');
    return withCore(ctx.config(), async (core) => {
      const c = await getCluster(core.db, await findClusterId(core.db, ref));
      out(`${c.name} (#${c.id}): ${c.status}${c.version ? `, Proxmox VE ${c.version}` : ''}, ${c.vmCount ?? '?'} VM(s)${c.lastError ? ` — ${c.lastError}` : ''}`);
      out(`endpoints: ${c.endpoints.map((e) => `${e.host}:${e.port}`).join(', ')}; fingerprint ${c.fingerprintSha256}`);
      out(`credential: ${c.credentialKind} ${c.authId} (set); at most ${c.maxTasksPerNode} task(s) per node`);
      for (const n of c.nodes) {
        out(`node ${n.name}: ${n.status}${n.enabled ? '' : ', kept out of placement'}, CPU ${n.cpuPct ?? '?'}% of ${n.maxcpu ?? '?'}, RAM ${n.memPct ?? '?'}% of ${gb(n.maxmem)}, ${n.vmCount ?? '?'} VM(s)`);
      }
      for (const s of c.storages) {
        const roles = Object.entries(s.roles).filter(([, v]) => v).map(([k]) => k);
        out(`storage #${s.id} ${s.storage}@${s.node ?? 'shared'}: ${s.type} [${s.content.join(',')}] ${s.usedPct ?? '?'}% of ${gb(s.total)} used; roles: ${roles.join(', ') || 'none'}${s.present ? '' : ' (gone)'}`);
      }
      for (const b of c.bridges) out(`bridge ${b.iface} on ${b.nodes.join(', ') || 'no node'}: VLANs ${b.vlans || 'none'}`);
      for (const t of c.templates) out(`template ${t.slug} (#${t.id}): VM ${t.vmid} on ${t.node}/${t.storage}, ${t.label}${t.cloudInit ? ', cloud-init' : ''}${t.enabled ? '' : ', disabled'}`);
      return 0;
    });
  },
};

const update: Command = {
  name: 'proxmox update', usage: 'proxmox update <cluster> < changes.json',
  describe: 'edit a cluster: the fields given replace the stored ones (new endpoints, fingerprint or credential are checked first)',
  async run(args, ctx) {
    const ref = positional(args, 'a cluster id or name', 'proxmox update');
    noMore(args, 'proxmox update');
    const body = await readStdinJson('proxmox update');
    return report(ctx.config(), async (core) => {
      const id = await findClusterId(core.db, ref);
      await updateCluster(core.db, core.config.masterKey, id, body as Partial<ClusterInput>);
      return `Proxmox cluster ${id} saved`;
    });
  },
};

const remove: Command = {
  name: 'proxmox remove', usage: 'proxmox remove <cluster>', describe: 'remove a cluster that no IP pool, profile or service refers to',
  async run(args, ctx) {
    const ref = positional(args, 'a cluster id or name', 'proxmox remove');
    noMore(args, 'proxmox remove');
    return report(ctx.config(), async (core) => {
      const id = await findClusterId(core.db, ref);
      await removeCluster(core.db, id);
      return `Proxmox cluster ${id} removed`;
    });
  },
};

const sync: Command = {
  name: 'proxmox sync', usage: 'proxmox sync <cluster>', describe: 'discover nodes, storages and bridges and read the health figures now; exit 1 when the cluster does not answer',
  async run(args, ctx) {
    const ref = positional(args, 'a cluster id or name', 'proxmox sync');
    noMore(args, 'proxmox sync');
    return withCore(ctx.config(), async (core) => {
      const r = await syncCluster(core.db, core.config.masterKey, await findClusterId(core.db, ref), { log: out });
      out(`${r.name}: ${r.status}${r.version ? `, Proxmox VE ${r.version}` : ''}, ${r.nodes} node(s), ${r.storages} storage(s), ${r.bridges} bridge(s), ${r.vmCount ?? '?'} VM(s)${r.error ? ` — ${r.error}` : ''}`);
      return r.status === 'offline' ? 1 : 0;
    });
  },
};

const storage: Command = {
  name: 'proxmox storage', usage: 'proxmox storage <cluster> <storage[@node]|id> [--templates on|off] [--system on|off] [--additional on|off] [--backups on|off]',
  describe: 'set what a storage may hold: templates, system disks, additional disks, backups',
  async run(args, ctx) {
    const name = 'proxmox storage';
    const ref = positional(args, 'a cluster id or name', name);
    const sref = positional(args, 'a storage (name, name@node or id)', name);
    const roles: StorageRoles = {};
    for (const role of ['templates', 'system', 'additional', 'backups'] as const) {
      const v = onOff(takeOption(args, `--${role}`), `--${role}`);
      if (v !== undefined) roles[role] = v;
    }
    noMore(args, name);
    if (Object.keys(roles).length === 0) throw new UsageError(`${name} needs at least one of --templates, --system, --additional, --backups (on or off)`);
    return report(ctx.config(), async (core) => {
      const id = await findClusterId(core.db, ref);
      const sid = await findStorageId(core.db, id, sref);
      await setStorageRoles(core.db, id, sid, roles);
      const s = (await getCluster(core.db, id)).storages.find((x) => x.id === sid)!;
      return `storage ${s.storage}@${s.node ?? 'shared'} roles: ${Object.entries(s.roles).filter(([, v]) => v).map(([k]) => k).join(', ') || 'none'}`;
    });
  },
};

const node: Command = {
  name: 'proxmox node', usage: 'proxmox node <cluster> <node> --enable|--disable', describe: 'keep a node in or out of placement',
  async run(args, ctx) {
    const name = 'proxmox node';
    const ref = positional(args, 'a cluster id or name', name);
    const nodeName = positional(args, 'a node name', name);
    const enable = takeFlag(args, '--enable');
    const disable = takeFlag(args, '--disable');
    noMore(args, name);
    if (enable === disable) throw new UsageError(`${name} needs one of --enable or --disable`);
    return report(ctx.config(), async (core) => {
      const id = await findClusterId(core.db, ref);
      await setNodeEnabled(core.db, id, nodeName, enable);
      return `node ${nodeName} ${enable ? 'takes part in placement' : 'is kept out of placement'}`;
    });
  },
};

const bridge: Command = {
  name: 'proxmox bridge', usage: 'proxmox bridge <cluster> <bridge> --vlans any|none|<ids and ranges, e.g. 10,20,100-110>',
  describe: 'the VLAN tags a bridge may carry',
  async run(args, ctx) {
    const name = 'proxmox bridge';
    const ref = positional(args, 'a cluster id or name', name);
    const iface = positional(args, 'a bridge name', name);
    const vlans = takeOption(args, '--vlans');
    noMore(args, name);
    if (vlans === undefined) throw new UsageError(`${name} needs --vlans any, none or a list such as 10,20,100-110`);
    return report(ctx.config(), async (core) => {
      const v = await setBridgeVlans(core.db, await findClusterId(core.db, ref), iface, vlans);
      return `bridge ${iface}: VLANs ${v || 'none (untagged only)'}`;
    });
  },
};

const template: Command = {
  name: 'proxmox template', usage: 'proxmox template add <cluster> < template.json | list <cluster> | remove <cluster> <slug|id>',
  describe: 'templates per OS: {slug, label, vmid, node, storage, cloud_init, enabled}; added only when the cluster has that template on that node',
  async run(args, ctx) {
    const name = 'proxmox template';
    const sub = positional(args, 'add, list or remove', name);
    if (!['add', 'list', 'remove'].includes(sub)) throw new UsageError(`${name} takes add, list or remove, got "${sub}"`);
    const ref = positional(args, 'a cluster id or name', `${name} ${sub}`);
    const tref = sub === 'remove' ? positional(args, 'a template slug or id', `${name} remove`) : '';
    noMore(args, `${name} ${sub}`);
    const body = sub === 'add' ? await readStdinJson(`${name} add`) : null;
    return withCore(ctx.config(), async (core) => {
      const id = await findClusterId(core.db, ref);
      if (sub === 'add') {
        const tid = await addTemplate(core.db, core.config.masterKey, id, checkBody<TemplateInput>('ProxmoxTemplate', body));
        out(`template ${tid} added`);
      } else if (sub === 'remove') {
        await removeTemplate(core.db, id, await findTemplateId(core.db, id, tref));
        out(`template ${tref} removed`);
      } else {
        const rows = (await getCluster(core.db, id)).templates;
        for (const t of rows) out(JSON.stringify(t));
        if (rows.length === 0) out('no templates yet');
      }
      return 0;
    });
  },
};

export const proxmoxCommands: CommandGroup = {
  title: 'Proxmox VE clusters (bodies as JSON on standard input, so secrets stay out of ps and shell history)',
  commands: [probe, add, list, show, update, remove, sync, storage, node, bridge, template],
};
