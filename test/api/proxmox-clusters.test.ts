// The /v1/proxmox routes through the signed API, and the proxmox CLI commands as a real process,
// on SQLite and MariaDB against the Proxmox API emulator: probe → add with the confirmed
// fingerprint → sync → roles, nodes, VLANs, templates → health → remove; bad bodies and a wrong
// fingerprint are refused naming the field and change nothing; the token secret appears in no
// answer and no CLI output.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { DIALECTS } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { CLI, ROOT, TSX, daemonEnv } from '../helpers/daemon.ts';
import { startDaemonWorld, type DaemonWorld } from '../helpers/world.ts';
import { startProxmoxEmulator, type ProxmoxEmulator } from '../emulator/proxmox/index.ts';
import { T } from '../../daemon/common/tables.ts';

const WRONG_FP = Array.from({ length: 32 }, () => '0F').join(':');

function cli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd: ROOT, env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (input !== undefined) child.stdin!.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`hostbridge ${args.join(' ')} took too long: ${stdout} ${stderr}`)); }, 30_000);
    child.once('error', reject);
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

for (const dialect of DIALECTS) {
  describe(`Proxmox routes and commands (${dialect})`, () => {
    let w: DaemonWorld;
    let emu: ProxmoxEmulator;
    let url: string;
    /** Every answer and every CLI output of this suite: none may carry the secret. */
    const seen: string[] = [];
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await call(url, method, path, body);
      seen.push(JSON.stringify(r.body));
      return r;
    };
    const run = async (args: string[], input?: string) => {
      const r = await cli(args, daemonEnv(w.tdb.url), input);
      seen.push(r.stdout, r.stderr);
      return r;
    };
    let cluster = 0;

    before(async () => {
      [w, emu] = await Promise.all([startDaemonWorld(dialect, 'hb-pve-api-'), startProxmoxEmulator({ authFailDelayMs: 0 })]);
      url = w.daemon.url;
    });
    after(async () => {
      await Promise.all([w?.close(), emu?.close()]);
    });

    const body = (over: Record<string, unknown> = {}) => ({
      name: 'pve-a', endpoints: [{ host: emu.host, port: emu.port }], fingerprint_sha256: emu.fingerprintSha256,
      token_id: emu.token.id, token_secret: emu.token.secret, ...over,
    });

    test('probe, then add with the confirmed fingerprint; refusals name the field and save nothing', async () => {
      const p = await api('POST', '/v1/proxmox/probe', { host: emu.host, port: emu.port });
      assert.equal(p.status, 200, JSON.stringify(p.body));
      assert.equal(p.body.certificate.fingerprintSha256, emu.fingerprintSha256);
      assert.match(p.body.certificate.subject, /CN=/);

      const cases: Array<{ b: unknown; status: number; field: string; error: RegExp }> = [
        { b: body({ fingerprint_sha256: WRONG_FP }), status: 422, field: 'fingerprint_sha256', error: /is pinned; nothing was sent/ },
        { b: body({ token_secret: '11111111-2222-3333-4444-555555555555' }), status: 422, field: 'token_secret', error: /refused the API token/ },
        { b: body({ name: '' }), status: 422, field: 'name', error: /at least 1 character/ },
        { b: body({ endpoints: [{ host: 'bad host' }] }), status: 422, field: 'endpoints.0.host', error: /not allowed/ },
        { b: body({ extra: 1 }), status: 422, field: 'extra', error: /not a known field/ },
        { b: body({ token_id: 'no-realm' }), status: 422, field: 'token_id', error: /not allowed/ },
      ];
      for (const c of cases) {
        const r = await api('POST', '/v1/proxmox/clusters', c.b);
        assert.equal(r.status, c.status, JSON.stringify(r.body));
        assert.equal(r.body.field, c.field, JSON.stringify(r.body));
        assert.match(r.body.error, c.error);
      }
      assert.equal((await w.tdb.db(T.pveClusters)).length, 0, 'a refused add saved a cluster');
      assert.equal((await w.tdb.db(T.pveEndpoints)).length, 0);

      const added = await api('POST', '/v1/proxmox/clusters', body({ max_tasks_per_node: 3 }));
      assert.equal(added.status, 201, JSON.stringify(added.body));
      cluster = added.body.id;
      assert.match(added.body.version, /^\d/);
      const dup = await api('POST', '/v1/proxmox/clusters', body());
      assert.equal(dup.status, 409);
      assert.equal(dup.body.field, 'name');
    });

    test('sync fills the inventory; roles, placement, VLANs and templates are set through the API', async () => {
      const s = await api('POST', `/v1/proxmox/clusters/${cluster}/sync`);
      assert.equal(s.status, 200, JSON.stringify(s.body));
      assert.equal(s.body.result.status, 'online');
      const g = await api('GET', `/v1/proxmox/clusters/${cluster}`);
      assert.equal(g.status, 200);
      const c = g.body.cluster;
      assert.equal(c.credential, 'set');
      assert.equal(c.maxTasksPerNode, 3);
      assert.deepEqual(c.nodes.map((n: { name: string }) => n.name), ['pve1', 'pve2']);
      assert.equal(c.storages.length, 4);
      assert.deepEqual(c.bridges.map((b: { iface: string }) => b.iface), ['vmbr0', 'vmbr1']);

      const lvm = c.storages.find((x: { storage: string; node: string }) => x.storage === 'local-lvm' && x.node === 'pve2');
      let r = await api('PUT', `/v1/proxmox/clusters/${cluster}/storages/${lvm.id}`, { system: true, templates: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      r = await api('PUT', `/v1/proxmox/clusters/${cluster}/storages/${lvm.id}`, { system: 'yes' });
      assert.equal(r.status, 422);
      assert.equal(r.body.field, 'system');
      r = await api('PUT', `/v1/proxmox/clusters/${cluster}/nodes/pve1`, { enabled: false });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      r = await api('PUT', `/v1/proxmox/clusters/${cluster}/nodes/pve7`, { enabled: false });
      assert.equal(r.status, 404);
      r = await api('PUT', `/v1/proxmox/clusters/${cluster}/bridges/vmbr1`, { vlans: '20,10' });
      assert.deepEqual(r.body, { ok: true, vlans: '10,20' });
      r = await api('PUT', `/v1/proxmox/clusters/${cluster}/bridges/vmbr1`, { vlans: '4095' });
      assert.equal(r.status, 422);
      assert.equal(r.body.field, 'vlans');

      r = await api('POST', `/v1/proxmox/clusters/${cluster}/templates`, { slug: 'debian-12', vmid: 9001, node: 'pve1', storage: 'local-lvm' });
      assert.equal(r.status, 422);
      assert.equal(r.body.field, 'vmid');
      r = await api('POST', `/v1/proxmox/clusters/${cluster}/templates`, { slug: 'debian-12', label: 'Debian 12', vmid: 9000, node: 'pve1', storage: 'local-lvm', cloud_init: true });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const tid = r.body.id;
      r = await api('PUT', `/v1/proxmox/clusters/${cluster}/templates/${tid}`, { label: 'Debian 12 bookworm' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      r = await api('GET', `/v1/proxmox/clusters/${cluster}/templates`);
      assert.deepEqual(r.body.templates.map((x: { slug: string; label: string; vmid: number }) => [x.slug, x.label, x.vmid]), [['debian-12', 'Debian 12 bookworm', 9000]]);

      const after = (await api('GET', `/v1/proxmox/clusters/${cluster}`)).body.cluster;
      assert.deepEqual(after.storages.find((x: { id: number }) => x.id === lvm.id).roles, { templates: true, system: true, additional: false, backups: false });
      assert.equal(after.nodes.find((n: { name: string }) => n.name === 'pve1').enabled, false);
      assert.equal(after.bridges.find((b: { iface: string }) => b.iface === 'vmbr1').vlans, '10,20');

      const h = await api('GET', `/v1/proxmox/clusters/${cluster}/health`);
      assert.equal(h.status, 200);
      assert.equal(h.body.health.status, 'online');
      assert.equal(h.body.health.nodes.length, 2);
      for (const n of h.body.health.nodes) assert.ok(n.maxmem > 0 && n.memPct !== null && n.vmCount === 0, JSON.stringify(n));
      assert.ok(h.body.health.storages.every((x: { total: number }) => x.total > 0));
    });

    test('an edit with a wrong fingerprint changes nothing; path ids are checked; a missing cluster is a 404', async () => {
      const before = await w.tdb.db(T.pveClusters).where('id', cluster).first();
      const r = await api('PUT', `/v1/proxmox/clusters/${cluster}`, { fingerprint_sha256: WRONG_FP });
      assert.equal(r.status, 422);
      assert.equal(r.body.field, 'fingerprint_sha256');
      assert.deepEqual(await w.tdb.db(T.pveClusters).where('id', cluster).first(), before);
      const ok = await api('PUT', `/v1/proxmox/clusters/${cluster}`, { name: 'pve-renamed' });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal((await api('GET', '/v1/proxmox/clusters/abc')).status, 400);
      assert.equal((await api('GET', '/v1/proxmox/clusters/99999')).status, 404);
      assert.equal((await api('DELETE', '/v1/proxmox/clusters/99999')).status, 404);
      const list = await api('GET', '/v1/proxmox/clusters');
      assert.deepEqual(list.body.clusters.map((c: { name: string }) => c.name), ['pve-renamed']);
    });

    test('the CLI: probe, add from standard input, show, sync, template list; the secret is never printed', async () => {
      const p = await run(['proxmox', 'probe', `${emu.host}:${emu.port}`]);
      assert.equal(p.code, 0, p.stderr);
      assert.match(p.stdout, new RegExp(`fingerprint: ${emu.fingerprintSha256}`));

      const bad = await run(['proxmox', 'add'], JSON.stringify(body({ name: 'pve-cli', fingerprint_sha256: WRONG_FP })));
      assert.equal(bad.code, 1, bad.stdout);
      assert.match(bad.stderr, /fingerprint_sha256: .*is pinned/);
      assert.equal((await w.tdb.db(T.pveClusters).where('name', 'pve-cli')).length, 0);

      const add = await run(['proxmox', 'add'], JSON.stringify(body({ name: 'pve-cli' })));
      assert.equal(add.code, 0, add.stderr);
      assert.match(add.stdout, /Proxmox cluster \d+ added \(Proxmox VE [\d.]+\); discovery: online, 2 node\(s\), 4 storage\(s\), 2 bridge\(s\)/);

      const show = await run(['proxmox', 'show', 'pve-cli']);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /^pve-cli \(#\d+\): online/m);
      assert.match(show.stdout, new RegExp(`credential: token ${emu.token.id.replace(/[!.]/g, '\\$&')} \\(set\\)`));
      assert.match(show.stdout, /node pve1: online/);

      const storage = await run(['proxmox', 'storage', 'pve-cli', 'local@pve1', '--backups', 'on']);
      assert.equal(storage.code, 0, storage.stderr);
      assert.equal(storage.stdout.trim(), 'storage local@pve1 roles: backups');
      const list = await run(['proxmox', 'list']);
      assert.equal(list.code, 0, list.stderr);
      assert.equal(list.stdout.trim().split('\n').length, 2);
      const usage = await run(['proxmox', 'storage', 'pve-cli', 'local@pve1']);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /needs at least one of --templates/);
    });

    test('remove takes the cluster away; no answer or output ever held the secret', async () => {
      const r = await api('DELETE', `/v1/proxmox/clusters/${cluster}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal((await w.tdb.db(T.pveNodes).where('cluster_id', cluster)).length, 0);
      assert.ok(seen.length > 20);
      for (const text of seen) assert.ok(!text.includes(emu.token.secret), `the secret leaked: ${text.slice(0, 200)}`);
    });
  });
}
