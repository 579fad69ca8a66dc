// Proxmox VE clusters in the inventory, on SQLite and MariaDB, against the Proxmox API emulator:
// the probe shows the emulator's certificate fingerprint; an add with a wrong fingerprint, a
// refused token or no endpoint answering fails naming the field and saves nothing; add + sync
// fills nodes, storages and bridges (the secret sealed, never in a view) and sets each node's task
// limit; a template is added only when that VMID is a template on that node; the health job marks
// a node offline and the cluster degraded, and a cluster that does not answer offline; the first
// endpoint refused (a closed port), the second answers; removal is refused while an IP pool or a VM
// refers to the cluster.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/db.ts';
import { TEST_MASTER_KEY } from '../helpers/daemon.ts';
import { startProxmoxEmulator, type ProxmoxEmulator } from '../emulator/proxmox/index.ts';
import {
  addCluster, addTemplate, getCluster, listClusters, normalizeVlans, probeEndpoint, removeCluster, removeTemplate, setBridgeVlans,
  setNodeEnabled, setStorageRoles, syncCluster, updateCluster, updateTemplate, vlanAllowed, type ClusterInput,
} from '../../daemon/fleet/proxmox-clusters.ts';
import { proxmoxClient } from '../../daemon/fleet/proxmox-access.ts';
import { pveTarget } from '../../daemon/pipelines/vm-plan.ts';
import { proxmoxHealthJob } from '../../daemon/scheduler/jobs/proxmox-health.ts';
import { decryptSecret } from '../../daemon/crypto/secretbox.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { T } from '../../daemon/common/tables.ts';

const KEY = Buffer.from(TEST_MASTER_KEY, 'hex');
const WRONG_FP = Array.from({ length: 32 }, () => 'AB').join(':');
const PVE_TABLES = [T.pveClusters, T.pveEndpoints, T.pveNodes, T.pveStorages, T.pveBridges, T.pveTemplates];

/** A port nothing listens on: taken, then given back. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function refused(p: Promise<unknown>, field: string, message: RegExp): Promise<InputError> {
  const err = await p.then(() => null, (e: unknown) => e);
  assert.ok(err instanceof InputError, `expected an InputError, got ${String(err)}`);
  assert.equal(err.field, field, err.message);
  assert.match(err.message, message);
  return err;
}

for (const dialect of DIALECTS) {
  describe(`Proxmox clusters in the inventory (${dialect})`, () => {
    let t: TestDb;
    let emu: ProxmoxEmulator;
    let body: (over?: Partial<ClusterInput>) => ClusterInput;
    let clusterId = 0;
    const counts = async () => Object.fromEntries(await Promise.all(PVE_TABLES.map(async (tb) => [tb, Number(((await t.db(tb).count({ n: '*' }).first()) as { n: number }).n)])));

    before(async () => {
      [t, emu] = await Promise.all([createTestDb(dialect), startProxmoxEmulator({ authFailDelayMs: 0 })]);
      body = (over = {}) => ({
        name: 'pve-main', endpoints: [{ host: emu.host, port: emu.port }], fingerprint_sha256: emu.fingerprintSha256,
        token_id: emu.token.id, token_secret: emu.token.secret, ...over,
      });
    });
    after(async () => {
      await Promise.all([t?.drop(), emu?.close()]);
    });

    test('probe shows the certificate the endpoint presents, its fingerprint the emulator\'s', async () => {
      const c = await probeEndpoint(emu.host, emu.port);
      assert.equal(c.fingerprintSha256, emu.fingerprintSha256);
      assert.match(c.subject, /CN=127\.0\.0\.1/);
      assert.match(c.issuer, /Proxmox Virtual Environment/);
      assert.ok(Number.isFinite(Date.parse(c.validTo)), c.validTo);
      await refused(probeEndpoint('127.0.0.1', await closedPort()), 'host', /could not read the certificate of 127\.0\.0\.1:\d+/);
    });

    test('a wrong fingerprint, a refused token, a bad shape or no endpoint answering is refused naming the field; nothing is saved', async () => {
      const empty = await counts();
      const e1 = await refused(addCluster(t.db, KEY, body({ fingerprint_sha256: WRONG_FP })), 'fingerprint_sha256', /fingerprint .*but .*AB:AB.* is pinned.*Nothing was saved/);
      assert.ok(e1.message.includes(emu.fingerprintSha256), 'the error names the fingerprint the endpoint really has');
      const e2 = await refused(addCluster(t.db, KEY, body({ token_secret: '00000000-0000-0000-0000-000000000000' })), 'token_secret', /refused the API token.*Nothing was saved/);
      assert.ok(!e2.message.includes(emu.token.secret));
      await refused(addCluster(t.db, KEY, body({ username: 'root@pam', password: 'wrong-password' , token_id: undefined, token_secret: undefined })), 'password', /refused the user name and password/);
      await refused(addCluster(t.db, KEY, body({ endpoints: [{ host: '127.0.0.1', port: await closedPort() }] })), 'endpoints', /no endpoint answered.*ECONNREFUSED/);
      await refused(addCluster(t.db, KEY, body({ token_secret: undefined })), 'token_secret', /is required with token_id/);
      await refused(addCluster(t.db, KEY, body({ username: 'root@pam' })), 'username', /either an API token .* not both/);
      await refused(addCluster(t.db, KEY, body({ fingerprint_sha256: 'AB:CD' })), 'fingerprint_sha256', /pattern|not allowed/);
      await refused(addCluster(t.db, KEY, body({ max_tasks_per_node: 17 })), 'max_tasks_per_node', /at most 16/);
      await refused(addCluster(t.db, KEY, body({ endpoints: [] })), 'endpoints', /fewer than 1 item/);
      await refused(addCluster(t.db, KEY, body({ endpoints: [{ host: emu.host, port: emu.port }, { host: emu.host, port: emu.port }] })), 'endpoints.1', /listed twice/);
      assert.deepEqual(await counts(), empty, 'a refused add wrote something');
    });

    test('add connects once (pinned), seals the secret; sync fills nodes, storages and bridges and sets the per-node limit', async () => {
      const r = await addCluster(t.db, KEY, body({ fingerprint_sha256: emu.fingerprintSha256.replace(/:/g, '').toLowerCase() }));
      clusterId = r.id;
      assert.match(r.version, /^\d+\.\d+/);
      await refused(addCluster(t.db, KEY, body()), 'name', /already exists/);
      const row = await t.db(T.pveClusters).where('id', clusterId).first();
      assert.match(row.credential, /^v1:/);
      assert.ok(!row.credential.includes(emu.token.secret));
      assert.equal(decryptSecret(KEY, row.credential), emu.token.secret);
      assert.equal(row.fingerprint_sha256, emu.fingerprintSha256, 'the fingerprint is kept in the form Proxmox shows');

      const s = await syncCluster(t.db, KEY, clusterId);
      assert.equal(s.status, 'online', s.error ?? '');
      const c = await getCluster(t.db, clusterId);
      assert.equal(c.status, 'online');
      assert.equal(c.version, r.version);
      assert.equal(c.maxTasksPerNode, 2);
      assert.deepEqual(c.endpoints, [{ host: emu.host, port: emu.port }]);
      assert.deepEqual(c.nodes.map((n) => [n.name, n.status, n.enabled]), [['pve1', 'online', true], ['pve2', 'online', true]]);
      for (const n of c.nodes) {
        assert.ok(n.maxcpu! > 0 && n.maxmem! > 0 && n.memPct !== null && n.cpuPct !== null, JSON.stringify(n));
        assert.equal(n.vmCount, 0, 'templates are not counted as VMs');
      }
      assert.deepEqual(c.storages.map((x) => `${x.storage}@${x.node}:${x.type}:${x.content.join(',')}`).sort(), [
        'local-lvm@pve1:lvmthin:images,rootdir', 'local-lvm@pve2:lvmthin:images,rootdir', 'local@pve1:dir:backup,iso,vztmpl', 'local@pve2:dir:backup,iso,vztmpl',
      ]);
      for (const x of c.storages) assert.ok(x.total! > 0 && x.avail !== null && x.present, JSON.stringify(x));
      assert.deepEqual(c.bridges.map((b) => [b.iface, b.nodes, b.vlans]), [['vmbr0', ['pve1', 'pve2'], ''], ['vmbr1', ['pve1', 'pve2'], '']]);
      assert.equal(c.credential, 'set');
      assert.equal(c.authId, emu.token.id);
      assert.ok(!JSON.stringify(await listClusters(t.db)).includes(emu.token.secret), 'the secret is in a view');
      const limits = await t.db(T.targets).whereIn('target', c.nodes.map((n) => pveTarget(clusterId, n.name))).pluck('max_concurrency');
      assert.deepEqual(limits.map(Number), [2, 2]);

      // A second sync changes nothing it need not: same rows, same ids.
      await syncCluster(t.db, KEY, clusterId);
      const again = await getCluster(t.db, clusterId);
      assert.deepEqual(again.storages.map((x) => x.id), c.storages.map((x) => x.id));
      assert.deepEqual(again.nodes.map((x) => x.id), c.nodes.map((x) => x.id));
    });

    test('storage roles, nodes out of placement and VLANs per bridge are the admin\'s and survive a sync', async () => {
      const c = await getCluster(t.db, clusterId);
      const lvm1 = c.storages.find((x) => x.storage === 'local-lvm' && x.node === 'pve1')!;
      await setStorageRoles(t.db, clusterId, lvm1.id, { system: true, additional: true });
      await refused(setStorageRoles(t.db, clusterId, lvm1.id, { colour: true } as never), 'colour', /not a known field/);
      await refused(setStorageRoles(t.db, clusterId, 999999, { system: true }), '', /not a storage of Proxmox cluster/);
      await setNodeEnabled(t.db, clusterId, 'pve2', false);
      await refused(setNodeEnabled(t.db, clusterId, 'pve9', false), 'node', /no node "pve9"/);
      assert.equal(await setBridgeVlans(t.db, clusterId, 'vmbr1', '300,100-110,105,111'), '100-111,300');
      await refused(setBridgeVlans(t.db, clusterId, 'vmbr1', '0,5000'), 'vlans', /not a VLAN id or range within 1-4094/);
      await refused(setBridgeVlans(t.db, clusterId, 'vmbr1', 'ten'), 'vlans', /not allowed/);
      await setBridgeVlans(t.db, clusterId, 'vmbr0', 'any');
      await syncCluster(t.db, KEY, clusterId);
      const after = await getCluster(t.db, clusterId);
      assert.deepEqual(after.storages.find((x) => x.id === lvm1.id)!.roles, { templates: false, system: true, additional: true, backups: false });
      assert.equal(after.nodes.find((n) => n.name === 'pve2')!.enabled, false);
      const vmbr1 = after.bridges.find((b) => b.iface === 'vmbr1')!;
      assert.equal(vmbr1.vlans, '100-111,300');
      assert.deepEqual([100, 111, 112, 300, null].map((v) => vlanAllowed(vmbr1, v)), [true, true, false, true, true]);
      assert.equal(vlanAllowed(after.bridges.find((b) => b.iface === 'vmbr0')!, 4094), true);
      assert.equal(normalizeVlans('none'), '');
      await setNodeEnabled(t.db, clusterId, 'pve2', true);
    });

    after(() => { emu?.vms().delete(9001); });

    test('a template is added only when that VMID is a template on that node, on a storage of that node', async () => {
      // A plain VM beside the template: the emulator's own VM object, copied with its methods.
      const base = emu.vms().get(9000)!;
      const config: Record<string, string | number> = { ...base.config, name: 'plain-vm' };
      delete config.template;
      emu.vms().set(9001, Object.assign(Object.create(Object.getPrototypeOf(base)), base, { vmid: 9001, config }));
      const tpl = { slug: 'debian-12', label: 'Debian 12', vmid: 9000, node: 'pve1', storage: 'local-lvm', cloud_init: true };
      await refused(addTemplate(t.db, KEY, clusterId, { ...tpl, vmid: 9999 }), 'vmid', /has no VM 9999/);
      await refused(addTemplate(t.db, KEY, clusterId, { ...tpl, vmid: 9001 }), 'vmid', /VM 9001 .*is not a template/);
      await refused(addTemplate(t.db, KEY, clusterId, { ...tpl, node: 'pve2' }), 'node', /VM 9000 is on node pve1, not pve2/);
      await refused(addTemplate(t.db, KEY, clusterId, { ...tpl, storage: 'nfs-x' }), 'storage', /no storage "nfs-x"/);
      await refused(addTemplate(t.db, KEY, clusterId, { ...tpl, node: 'pve9' }), 'node', /no node "pve9"/);
      await refused(addTemplate(t.db, KEY, clusterId, { ...tpl, vmid: 5 }), 'vmid', /at least 100/);
      assert.equal(await t.db(T.pveTemplates).count({ n: '*' }).first().then((r) => Number((r as { n: number }).n)), 0);
      const id = await addTemplate(t.db, KEY, clusterId, tpl);
      await refused(addTemplate(t.db, KEY, clusterId, tpl), 'slug', /already has a template "debian-12"/);
      await updateTemplate(t.db, KEY, clusterId, id, { label: 'Debian 12 (bookworm)', enabled: false });
      await refused(updateTemplate(t.db, KEY, clusterId, id, { vmid: 9001 }), 'vmid', /not a template/);
      const c = await getCluster(t.db, clusterId);
      assert.deepEqual(c.templates, [{ id, slug: 'debian-12', label: 'Debian 12 (bookworm)', vmid: 9000, node: 'pve1', storage: 'local-lvm', cloudInit: true, enabled: false }]);
      await removeTemplate(t.db, clusterId, id);
      await refused(removeTemplate(t.db, clusterId, id), '', /is not a template of/);
    });

    test('the health job marks a node offline and the cluster degraded, then online again; no answer is offline', async () => {
      const job = proxmoxHealthJob({ db: t.db, masterKey: KEY });
      emu.setNodeOnline('pve2', false);
      const lines: string[] = [];
      assert.equal(await job.run({ log: (l) => lines.push(l) }), 'checked 1 cluster(s): 0 online, 1 degraded, 0 offline');
      assert.match(lines.join('\n'), /pve-main: degraded/);
      let c = await getCluster(t.db, clusterId);
      assert.equal(c.status, 'degraded');
      assert.deepEqual(c.nodes.map((n) => [n.name, n.status]), [['pve1', 'online'], ['pve2', 'offline']]);
      assert.ok(c.lastCheckedAt! > 0);
      // What pve2 held is not taken as gone while it cannot be asked.
      assert.ok(c.storages.filter((x) => x.node === 'pve2').every((x) => x.present));
      assert.deepEqual(c.bridges.find((b) => b.iface === 'vmbr0')!.nodes, ['pve1', 'pve2']);

      emu.setNodeOnline('pve2', true);
      assert.equal(await job.run({ log: () => {} }), 'checked 1 cluster(s): 1 online, 0 degraded, 0 offline');
      c = await getCluster(t.db, clusterId);
      assert.equal(c.status, 'online');
      assert.equal(c.lastError, null);

      // Its only endpoint closed: offline, with the reason, and no node counted as up.
      const port = await closedPort();
      await t.db(T.pveEndpoints).where('cluster_id', clusterId).update({ port });
      const s = await syncCluster(t.db, KEY, clusterId);
      assert.equal(s.status, 'offline');
      c = await getCluster(t.db, clusterId);
      assert.equal(c.status, 'offline');
      assert.match(c.lastError!, /no endpoint answered.*ECONNREFUSED/);
      assert.ok(!c.lastError!.includes(emu.token.secret));
      assert.ok(c.nodes.every((n) => n.status === 'unknown'));
      await t.db(T.pveEndpoints).where('cluster_id', clusterId).update({ port: emu.port });
    });

    test('failover: the first endpoint refused (a closed port), the second answers; the access client works the same way', async () => {
      const port = await closedPort();
      const r = await addCluster(t.db, KEY, body({ name: 'pve-failover', endpoints: [{ host: '127.0.0.1', port }, { host: emu.host, port: emu.port }], max_tasks_per_node: 3 }));
      const s = await syncCluster(t.db, KEY, r.id);
      assert.equal(s.status, 'online', s.error ?? '');
      const lines: string[] = [];
      const secrets: string[] = [];
      const { client, cluster } = await proxmoxClient(t.db, KEY, r.id, { log: (l) => lines.push(l), secret: (v) => secrets.push(v) });
      try {
        assert.equal(cluster.name, 'pve-failover');
        assert.deepEqual(cluster.endpoints.map((e) => e.port), [port, emu.port]);
        assert.deepEqual((await client.nodes()).map((n) => n.node), ['pve1', 'pve2']);
      } finally {
        client.close();
      }
      assert.ok(secrets.includes(emu.token.secret), 'the secret is handed to the caller\'s masker');
      assert.match(lines.join('\n'), new RegExp(`127\\.0\\.0\\.1:${port} failed .*trying the next endpoint`));
      const nodes = (await getCluster(t.db, r.id)).nodes;
      assert.deepEqual((await t.db(T.targets).whereIn('target', nodes.map((n) => pveTarget(r.id, n.name))).pluck('max_concurrency')).map(Number), [3, 3]);
      await removeCluster(t.db, r.id);
    });

    test('edits re-check what they change: a wrong fingerprint changes nothing, a new limit reaches the nodes, a rotated secret is sealed', async () => {
      const before = await t.db(T.pveClusters).where('id', clusterId).first();
      await refused(updateCluster(t.db, KEY, clusterId, { fingerprint_sha256: WRONG_FP }), 'fingerprint_sha256', /is pinned/);
      await refused(updateCluster(t.db, KEY, clusterId, { token_secret: 'ffffffff-0000-0000-0000-000000000000' }), 'token_secret', /refused the API token/);
      await refused(updateCluster(t.db, KEY, clusterId, { token_id: 'other@pve!x' }), 'token_secret', /required when the token id or user changes/);
      await refused(updateCluster(t.db, KEY, clusterId, { colour: 'red' } as never), 'colour', /not a known field/);
      assert.deepEqual(await t.db(T.pveClusters).where('id', clusterId).first(), before, 'a refused edit changed the cluster');

      await updateCluster(t.db, KEY, clusterId, { max_tasks_per_node: 4, name: 'pve-main-renamed' });
      const nodes = (await getCluster(t.db, clusterId)).nodes;
      assert.deepEqual((await t.db(T.targets).whereIn('target', nodes.map((n) => pveTarget(clusterId, n.name))).pluck('max_concurrency')).map(Number), [4, 4]);
      await updateCluster(t.db, KEY, clusterId, { token_secret: emu.token.secret });
      const after = await t.db(T.pveClusters).where('id', clusterId).first();
      assert.notEqual(after.credential, before.credential, 'sealed again, with a fresh nonce');
      assert.equal(decryptSecret(KEY, after.credential), emu.token.secret);
      assert.equal(after.name, 'pve-main-renamed');
    });

    test('remove is refused while an IP pool or a virtual server refers to the cluster, and changes nothing', async () => {
      const before = await counts();
      const now = Date.now();
      await t.db(T.ipPools).insert({ name: 'pool-a', cluster_id: clusterId, bridge: 'vmbr0', family: 4, network: '192.0.2.0/24', ranges: '[]', prefix: 24, created_at: now, updated_at: now });
      await t.db(T.vms).insert({ service_id: 77, cluster_id: clusterId, vmid: 101, node: 'pve1', created_at: now, updated_at: now });
      const e = await refused(removeCluster(t.db, clusterId), '', /still used by 1 IP pool\(s\) and 1 virtual server\(s\)/);
      assert.equal(e.status, 409);
      await t.db(T.ipPools).where('name', 'pool-a').del();
      await refused(removeCluster(t.db, clusterId), '', /still used by 1 virtual server\(s\);/);
      await t.db(T.vms).where('service_id', 77).del();
      assert.deepEqual(await counts(), before);
    });

    test('remove takes the cluster and what discovery found; a missing one is a 404', async () => {
      await removeCluster(t.db, clusterId);
      for (const tb of PVE_TABLES) assert.equal((await t.db(tb).where(tb === T.pveClusters ? 'id' : 'cluster_id', clusterId)).length, 0, tb);
      const e = await refused(getCluster(t.db, clusterId), '', /does not exist/);
      assert.equal(e.status, 404);
      await refused(removeCluster(t.db, clusterId), '', /does not exist/);
    });
  });
}
