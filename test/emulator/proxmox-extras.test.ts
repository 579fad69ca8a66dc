// The emulator's firewall rules and ISO images (firewall-rules.ts, iso.ts), spoken to through the
// daemon's own Proxmox client (its rule methods are tested at the same time) and, for the error
// shapes, over plain HTTPS: rules listed with their position and the list's digest, a new rule
// first and disabled unless enabled, moves, a stale digest refused, Proxmox's rule checks; an ISO
// downloaded into a storage's iso/ directory, listed as content=iso, and a CD-ROM drive value
// checked (media=cdrom, the image on that node, a file storage); a new IDE drive waits for the
// VM's next start while a CD-ROM's medium changes at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ProxmoxClient } from '../../daemon/drivers/proxmox/index.ts';
import { type ProxmoxEmulator, startProxmoxEmulator } from './proxmox/index.ts';

let emu: ProxmoxEmulator;
let pve: ProxmoxClient;

/** The message and per-field errors of a refused call. */
async function refusal(p: Promise<unknown>): Promise<{ status: number | null; message: string; errors: Record<string, string> }> {
  try {
    await p;
  } catch (e) {
    const err = e as { status: number | null; proxmoxMessage?: string; errors?: Record<string, string> };
    return { status: err.status, message: String(err.proxmoxMessage ?? ''), errors: err.errors ?? {} };
  }
  throw new Error('the call was not refused');
}

const VMID = 150;

before(async () => {
  emu = await startProxmoxEmulator({ authFailDelayMs: 20, taskMs: { qmclone: 20, qmstart: 10, qmstop: 10, qmconfig: 10, download: 20 } });
  pve = new ProxmoxClient({
    endpoints: [{ host: emu.host, port: emu.port }], fingerprintSha256: emu.fingerprintSha256,
    credentials: { kind: 'token', tokenId: emu.token.id, secret: emu.token.secret }, pollMs: 10, timeoutMs: 5000,
  });
  await pve.clone('pve1', 9000, { newid: VMID, name: 'rules-vm', full: true });
});
after(async () => {
  pve?.close();
  await emu?.close();
});

describe('firewall rules of a VM', () => {
  test('a new rule goes first and is disabled unless enabled; the list carries pos and one digest', async () => {
    assert.deepEqual((await pve.firewallRules('pve1', VMID)).rules, []);
    await pve.createFirewallRule('pve1', VMID, { type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22' }, null);
    await pve.createFirewallRule('pve1', VMID, { type: 'in', action: 'DROP', enable: 1, source: '203.0.113.0/24', comment: '<b>x</b>' }, null);
    const { rules, digest } = await pve.firewallRules('pve1', VMID);
    assert.match(String(digest), /^[0-9a-f]{40}$/);
    assert.deepEqual(rules.map((r) => [r.pos, r.action, r.enable, r.ipversion ?? null]), [[0, 'DROP', 1, 4], [1, 'ACCEPT', 0, null]]);
    assert.equal(rules[0]!.comment, '<b>x</b>', 'a comment is kept as text');
    assert.ok(rules.every((r) => r.digest === digest));
  });

  test('moveto puts a rule before a position, or last past the end; a field is deleted with delete', async () => {
    let { digest } = await pve.firewallRules('pve1', VMID);
    await pve.updateFirewallRule('pve1', VMID, 0, { moveto: 2 }, digest);
    ({ digest } = await pve.firewallRules('pve1', VMID));
    let rules = (await pve.firewallRules('pve1', VMID)).rules;
    assert.deepEqual(rules.map((r) => r.action), ['ACCEPT', 'DROP']);
    await pve.updateFirewallRule('pve1', VMID, 1, { set: { enable: 1 }, clear: ['source', 'comment'] }, digest);
    rules = (await pve.firewallRules('pve1', VMID)).rules;
    assert.equal(rules[1]!.source, undefined);
    assert.equal(rules[1]!.comment, undefined);
    assert.equal(rules[1]!.ipversion, undefined);
  });

  test('a stale digest is refused and nothing changes', async () => {
    const { digest } = await pve.firewallRules('pve1', VMID);
    await pve.createFirewallRule('pve1', VMID, { type: 'out', action: 'REJECT', enable: 1 }, digest);
    const before = (await pve.firewallRules('pve1', VMID)).rules;
    const r = await refusal(pve.deleteFirewallRule('pve1', VMID, 0, digest));
    assert.equal(r.status, 500);
    assert.match(r.message, /detected modified configuration - file changed by other user\? Try again\./);
    assert.deepEqual((await pve.firewallRules('pve1', VMID)).rules, before);
    await pve.deleteFirewallRule('pve1', VMID, 0, (await pve.firewallRules('pve1', VMID)).digest);
    assert.equal((await pve.firewallRules('pve1', VMID)).rules.length, before.length - 1);
  });

  test('Proxmox\'s rule checks: ports need a protocol with ports, addresses parse, actions and groups exist', async () => {
    const bad = async (rule: Record<string, string | number>) => (await refusal(pve.createFirewallRule('pve1', VMID, { type: 'in', action: 'ACCEPT', ...rule }, null))).errors;
    assert.match((await bad({ dport: '22' })).proto!, /'dport' requires this property/);
    assert.match((await bad({ proto: 'icmp', dport: '22' })).dport!, /does not support ports/);
    assert.match((await bad({ proto: 'tcp', dport: '70000' })).dport!, /invalid port/);
    assert.match((await bad({ proto: 'tcp', dport: '90:80' })).dport!, /invalid port range/);
    assert.match((await bad({ proto: 'nosuch' })).proto!, /unknown protocol/);
    assert.match((await bad({ source: '192.0.2.1/24' })).source!, /invalid IP address or CIDR/);
    assert.match((await bad({ source: '192.0.2.0/24,2001:db8::/64' })).source!, /mix IPv4 and IPv6/);
    assert.match((await bad({ action: 'ALLOW' })).action!, /unknown action/);
    assert.match((await bad({ type: 'group', action: 'webservers' })).action!, /security group 'webservers' does not exist/);
    assert.match((await bad({ type: 'forward' })).type!, /not allowed on the guest level/);
    const list = (await pve.firewallRules('pve1', VMID)).rules.length;
    await pve.request('POST', '/cluster/firewall/groups', { group: 'webservers' });
    await pve.createFirewallRule('pve1', VMID, { type: 'group', action: 'webservers', enable: 1 }, null);
    assert.equal((await pve.firewallRules('pve1', VMID)).rules.length, list + 1);
    const missing = await refusal(pve.updateFirewallRule('pve1', VMID, 40, { set: { comment: 'x' } }, null));
    assert.match(missing.errors.pos!, /no rule at position 40/);
  });
});

describe('ISO images and the CD-ROM drive', () => {
  const download = async (node: string, storage: string, filename: string) => {
    const upid = await pve.request<string>('POST', `/nodes/${node}/storage/${storage}/download-url`, { url: 'https://mirror.example/x.iso', filename, content: 'iso' });
    return pve.waitTask(upid);
  };

  test('a downloaded image is listed as content=iso on its node only, without a vmid', async () => {
    await download('pve1', 'local', 'debian-12.iso');
    const listed = await pve.request<Array<Record<string, unknown>>>('GET', '/nodes/pve1/storage/local/content', { content: 'iso' });
    assert.deepEqual(listed.map((v) => [v.volid, v.content, v.format, 'vmid' in v]), [['local:iso/debian-12.iso', 'iso', 'iso', false]]);
    assert.deepEqual(await pve.request('GET', '/nodes/pve2/storage/local/content', { content: 'iso' }), [], 'local storage is per node');
    assert.match((await refusal(download('pve1', 'local-lvm', 'x.iso'))).message, /not configured for content-type 'iso'/);
    assert.match((await refusal(download('pve1', 'local', 'notes.txt'))).errors.filename!, /wrong file extension/);
    assert.match((await refusal(download('pve1', 'local', 'debian-12.iso'))).message, /refusing to override existing file/);
  });

  test('a CD-ROM drive takes an image that is there, on a file storage, with media=cdrom', async () => {
    const set = (value: string) => pve.updateConfig('pve1', VMID, { ide0: value }, { sync: true });
    assert.match((await refusal(set('local:iso/debian-12.iso'))).errors.ide0!, /explicit 'media=cdrom' is required for iso images/);
    assert.match((await refusal(set('local:iso/missing.iso,media=cdrom'))).message, /volume 'local:iso\/missing.iso' does not exist/);
    assert.match((await refusal(set('local-lvm:iso/debian-12.iso,media=cdrom'))).message, /unable to parse lvm volume name 'iso\/debian-12.iso'/);
    assert.match((await refusal(set('nosuch:iso/debian-12.iso,media=cdrom'))).message, /storage 'nosuch' does not exist/);
    await set('local:iso/debian-12.iso,media=cdrom');
    assert.equal((await pve.vmConfig('pve1', VMID, { current: true })).ide0, 'local:iso/debian-12.iso,media=cdrom', 'a stopped VM takes it at once');
  });

  test('on a running VM a new IDE drive waits for the next start; an existing CD-ROM changes its medium at once', async () => {
    await pve.start('pve1', VMID);
    await pve.updateConfig('pve1', VMID, { ide1: 'local:iso/debian-12.iso,media=cdrom' });
    assert.equal((await pve.vmConfig('pve1', VMID, { current: true })).ide1, undefined, 'not plugged into the running VM');
    assert.equal((await pve.vmConfig('pve1', VMID)).ide1, 'local:iso/debian-12.iso,media=cdrom', 'pending');
    await pve.updateConfig('pve1', VMID, { ide0: 'none,media=cdrom' });
    assert.equal((await pve.vmConfig('pve1', VMID, { current: true })).ide0, 'none,media=cdrom', 'ejected at once');
    await pve.stop('pve1', VMID);
    await pve.start('pve1', VMID);
    assert.equal((await pve.vmConfig('pve1', VMID, { current: true })).ide1, 'local:iso/debian-12.iso,media=cdrom', 'applied at the start');
  });
});
