// The Proxmox pages over HTTP as a browser sends its forms (an admin session from a signed link, the
// CSRF token from each page), on SQLite and MariaDB against the Proxmox API emulator: step 1 reads
// the endpoint's certificate and shows its fingerprint; step 2 without the confirmation, or with a
// wrong secret, is refused and saves nothing; the confirmed add lands on the cluster's page with its
// nodes, storages and bridges; storage roles, a node out of placement and a template are saved from
// their forms; the list shows status and per-node figures. No page ever carries the secret.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { startDaemonWorld, type DaemonWorld } from '../helpers/world.ts';
import { startProxmoxEmulator, type ProxmoxEmulator } from '../emulator/proxmox/index.ts';
import { T } from '../../daemon/common/tables.ts';

for (const dialect of DIALECTS) {
  describe(`Proxmox pages (${dialect})`, () => {
    let w: DaemonWorld;
    let emu: ProxmoxEmulator;
    let cookie = '';
    const pages: string[] = [];
    let clusterId = 0;

    before(async () => {
      [w, emu] = await Promise.all([startDaemonWorld(dialect, 'hb-pve-ui-'), startProxmoxEmulator({ authFailDelayMs: 0 })]);
      const link = await call(w.daemon.url, 'POST', '/v1/ui-links', { audience: 'admin' });
      assert.equal(link.status, 200, JSON.stringify(link.body));
      const res = await fetch(link.body.url, { redirect: 'manual' });
      cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
      assert.match(cookie, /^hb_session=/);
    });
    after(async () => {
      await Promise.all([w?.close(), emu?.close()]);
    });

    async function get(path: string): Promise<{ status: number; html: string }> {
      const res = await fetch(w.daemon.url + path, { headers: { cookie }, redirect: 'manual' });
      const html = await res.text();
      pages.push(html);
      return { status: res.status, html };
    }
    const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
    async function post(path: string, fields: Record<string, string | string[]>, csrf: string): Promise<{ status: number; html: string; location: string | null }> {
      const form = new URLSearchParams();
      form.append('_csrf', csrf);
      for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) form.append(k, x);
      const res = await fetch(w.daemon.url + path, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(), redirect: 'manual' });
      const html = await res.text();
      pages.push(html);
      return { status: res.status, html, location: res.headers.get('location') };
    }
    const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&#x27;|&#39;/g, '\'').replace(/&quot;/g, '"').replace(/\s+/g, ' ');

    test('probe then confirm: the fingerprint is shown, an unconfirmed or refused add saves nothing, the confirmed one lands on the cluster', async () => {
      const blank = await get('/ui/admin/proxmox/new');
      assert.equal(blank.status, 200);
      const csrf = csrfOf(blank.html);
      const endpoints = `${emu.host}:${emu.port}`;
      const probed = await post('/ui/admin/proxmox/probe', { endpoints }, csrf);
      assert.equal(probed.status, 200, text(probed.html));
      assert.match(probed.html, new RegExp(`<code id="fingerprint">${emu.fingerprintSha256}</code>`));
      const step2 = {
        endpoints, name: 'pve-ui', max_tasks_per_node: '2', credential_kind: 'token', auth_id: emu.token.id,
        fingerprint_sha256: emu.fingerprintSha256, cert_host: emu.host, cert_port: String(emu.port), cert_subject: 's', cert_issuer: 'i', cert_valid_to: 'v',
      };
      const unconfirmed = await post('/ui/admin/proxmox', { ...step2, secret: emu.token.secret }, csrf);
      assert.equal(unconfirmed.status, 422);
      assert.match(text(unconfirmed.html), /confirm: tick the box/);
      const wrong = await post('/ui/admin/proxmox', { ...step2, confirm: 'yes', secret: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' }, csrf);
      assert.equal(wrong.status, 422);
      assert.match(text(wrong.html), /token_secret: the cluster refused the API token/);
      assert.ok(!wrong.html.includes('aaaaaaaa-bbbb'), 'the typed secret is shown back');
      assert.equal((await w.tdb.db(T.pveClusters)).length, 0);

      const added = await post('/ui/admin/proxmox', { ...step2, confirm: 'yes', secret: emu.token.secret }, csrf);
      assert.equal(added.status, 303, text(added.html));
      assert.match(added.location!, /^\/ui\/admin\/proxmox\/\d+$/);
      clusterId = Number(added.location!.split('/').pop());
      const pageNow = await get(added.location!);
      assert.equal(pageNow.status, 200);
      const t = text(pageNow.html);
      assert.match(t, /Proxmox cluster "pve-ui" added \(#\d+\); discovery: online, 2 node\(s\), 4 storage\(s\)/);
      assert.match(pageNow.html, /<tr data-node="pve1">/);
      assert.match(pageNow.html, /<tr data-bridge="vmbr1">/);
      assert.equal((pageNow.html.match(/<tr data-storage="/g) ?? []).length, 4);
      assert.match(t, /secret set/);
    });

    test('roles, placement, VLANs and a template from their forms; the list shows status and per-node figures', async () => {
      const p = await get(`/ui/admin/proxmox/${clusterId}`);
      const csrf = csrfOf(p.html);
      const storages = await w.tdb.db(T.pveStorages).where('cluster_id', clusterId).orderBy('id');
      const lvm1 = storages.find((s) => s.storage === 'local-lvm' && s.node === 'pve1')!;
      const local1 = storages.find((s) => s.storage === 'local' && s.node === 'pve1')!;
      const r = await post(`/ui/admin/proxmox/${clusterId}/storages`, { storage: storages.map((s) => String(s.id)), [`role_${lvm1.id}`]: ['system', 'additional'], [`role_${local1.id}`]: 'backups' }, csrf);
      assert.equal(r.status, 303);
      const saved = await w.tdb.db(T.pveStorages).where('cluster_id', clusterId).orderBy('id');
      const roles = Object.fromEntries(saved.filter((s) => s.role_system || s.role_additional || s.role_backups || s.role_templates)
        .map((s) => [`${s.storage}@${s.node}`, [!!s.role_templates, !!s.role_system, !!s.role_additional, !!s.role_backups]]));
      assert.deepEqual(roles, { 'local-lvm@pve1': [false, true, true, false], 'local@pve1': [false, false, false, true] });
      assert.equal((await post(`/ui/admin/proxmox/${clusterId}/nodes/pve2`, { enabled: '0' }, csrf)).status, 303);
      assert.equal((await w.tdb.db(T.pveNodes).where({ cluster_id: clusterId, name: 'pve2' }).first()).enabled ? 1 : 0, 0);
      assert.equal((await post(`/ui/admin/proxmox/${clusterId}/bridges/vmbr0`, { vlans: '100-199, 42' }, csrf)).status, 303);
      assert.equal((await w.tdb.db(T.pveBridges).where({ cluster_id: clusterId, iface: 'vmbr0' }).first()).vlans, '42,100-199');
      assert.equal((await post(`/ui/admin/proxmox/${clusterId}/templates`, { slug: 'debian-12', label: 'Debian 12', vmid: '9000', node: 'pve1', storage: 'local-lvm', cloud_init: 'yes' }, csrf)).status, 303);
      // A refused template: the reason comes back as the page's message.
      await post(`/ui/admin/proxmox/${clusterId}/templates`, { slug: 'ubuntu', vmid: '4242', node: 'pve1', storage: 'local-lvm' }, csrf);
      const after = await get(`/ui/admin/proxmox/${clusterId}`);
      assert.match(text(after.html), /vmid: the cluster has no VM 4242/);
      assert.match(after.html, /<tr data-template="debian-12">/);
      assert.match(text(after.html), /kept out/);

      const list = await get('/ui/admin/proxmox');
      assert.equal(list.status, 200);
      const row = text(/<tr data-cluster="\d+">[\s\S]*?<\/tr>/.exec(list.html)![0]);
      assert.match(row, /pve-ui/);
      assert.match(row, /online/);
      assert.match(row, /pve1 online .*% of \d+ CPU · RAM [\d.]+% of [\d.]+ [GT]B · 0 VM\(s\)/);
      assert.match(row, /pve2 online \(no placement\)/);
    });

    test('remove from the page; no page carried the secret', async () => {
      const p = await get(`/ui/admin/proxmox/${clusterId}`);
      const r = await post(`/ui/admin/proxmox/${clusterId}/remove`, {}, csrfOf(p.html));
      assert.equal(r.status, 303);
      assert.equal(r.location, '/ui/admin/proxmox');
      assert.equal((await w.tdb.db(T.pveClusters)).length, 0);
      for (const html of pages) assert.ok(!html.includes(emu.token.secret), 'a page showed the secret');
    });
  });
}
