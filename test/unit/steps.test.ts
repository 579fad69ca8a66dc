// The step declarations against the planner: every chain planned for every mode, placement and
// operation carries exactly the arguments its type declares (nothing missing, nothing a handler
// does not read), so a field renamed on one side only fails here, not in a deployment.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveProduct, type ProductInput } from '../../daemon/pipelines/product.ts';
import { placeSwitchedRoles, type FleetServer, type GroupFleet } from '../../daemon/pipelines/placement.ts'; // placeSwitchedRoles
import { planChain, type Operation } from '../../daemon/pipelines/plan.ts';
import { groupRefs, orderDomain, planOrder } from '../../daemon/pipelines/order.ts';
import { STEPS, stepArgsProblem, stepLabel, type StepType } from '../../daemon/pipelines/steps.ts';
import { planVmChain, type VmOperation } from '../../daemon/pipelines/vm-plan.ts';
import { kvmSpec, vmPlan } from '../helpers/vm-plan.ts';
import { planPanelChain, planReinstallChain, reinstallPlan, type PanelOperation } from '../../daemon/pipelines/vm-panel-plan.ts';
import { planExtrasChain } from '../../daemon/pipelines/vm-extras-plan.ts';
import { APPLY_ROLES, planApply } from '../../daemon/pipelines/hestia-config-plan.ts';
import { normaliseHostingPlan, type HostingPlanProfile } from '../../daemon/pipelines/hosting-plan.ts';
import { customCertStep, sslIssueStep } from '../../daemon/pipelines/ssl-plan.ts';
import { planDbCreate, planDbDelete, planDbPassword } from '../../daemon/services/hosting-panel/databases.ts'; // the Databases tab's planning
import { planFtpStep } from '../../daemon/services/hosting-panel/ftp.ts'; // the FTP tab's planning
import { planCronStep, type CronPlan } from '../../daemon/services/hosting-panel/cron.ts'; // the Cron jobs tab's planning
import { planBackupCreate, planBackupDelete, planBackupRestore, type BackupAccount } from '../../daemon/services/hosting-panel/backups.ts'; // the Backups tab's planning
import { planMailboxStep } from '../../daemon/services/hosting-panel/mailboxes.ts'; // the Mailboxes tab's planning
import { planAliasDns, planWebStep } from '../../daemon/services/hosting-panel/web.ts'; // the Web settings tab's planning, and an alias's DNS record
import { planRecordChange, type RecordChange } from '../../daemon/services/hosting-panel/dns.ts'; // the DNS tab's planning

const OPERATIONS: Operation[] = ['deploy', 'suspend', 'unsuspend', 'terminate', 'change-package', 'change-password', 'redeploy', 'verify-repair', 'force-terminate', 'sync-usage'];

const server = (id: number, caps: Partial<FleetServer['caps']>, driver: FleetServer['driver'] = 'hestiacp'): FleetServer => ({
  id, name: `s${id}`, driver, ip: `192.0.2.${id}`, caps: { web: false, mail: false, dns: false, ...caps }, status: 'active', maxAccounts: 0, load: 0,
});

function input(mode: string, extra: Partial<ProductInput> = {}): ProductInput {
  return { product: { configoption1: mode, configoption3: 'on', configoption4: 'on', configoption5: 'on', configoption6: '1024', configoption7: '512' }, config_options: {}, custom_fields: {}, ...extra };
}

/** A group with every kind of server: two web, two mail, one all-round node, Hestia DNS and PowerDNS. */
function fleet(members: FleetServer[]): GroupFleet {
  return {
    id: 1, name: 'g', nameservers: ['ns1.example.net', 'ns2.example.net'], members,
    dns: [server(20, { dns: true }), server(21, { dns: true }, 'powerdns')],
    vanity: [{ domain: 'sites.example.net', mailServerId: 12, mailUser: 'provider', dnsUser: 'provider-dns' }], reserved: [],
  };
}

/** A hosting plan profile at its defaults: plans the web.templates step. */
const PLAN: HostingPlanProfile = { id: 5, created_at: 0, updated_at: 0, ...normaliseHostingPlan({ name: 'web-pro' }) };

const CASES: Array<[string, ProductInput, GroupFleet, HostingPlanProfile?]> = [
  ['split, web and mail apart', input('split'), fleet([server(10, { web: true }), server(12, { mail: true })])],
  ['split on one node', input('split'), fleet([server(11, { web: true, mail: true })])],
  ['unified', input('unified'), fleet([server(11, { web: true, mail: true })])],
  ['unified, web only', input('unified', { product: { ...input('unified').product, configoption4: '' } }), fleet([server(11, { web: true, mail: true })])],
  ['vanity', input('vanity', { config_options: { vanity_domain: 'sites.example.net' }, custom_fields: { vanity_name: 'alice' } }), fleet([server(10, { web: true }), server(12, { mail: true })])],
  ['split with a hosting plan', input('split', { product: { ...input('split').product, configoption16: '5' } }), fleet([server(10, { web: true }), server(12, { mail: true })]), PLAN],
];

describe('step declarations', () => {
  test('every planned step carries exactly the arguments its type declares', () => {
    const seen = new Set<StepType>();
    for (const [name, product, group, hostingPlan] of CASES) {
      const p = resolveProduct(product, hostingPlan ?? null);
      const { plan } = planOrder({ whmcsServiceId: 42, domain: orderDomain(p, 'shop.example.com'), email: '' }, p, group);
      for (const op of OPERATIONS) {
        // Also as a suspended service with a password waiting for the Unsuspend.
        for (const state of [{}, { suspended: true, passwordPending: true }]) {
          for (const s of planChain(op, plan, groupRefs(group), state).steps) {
            seen.add(s.type);
            assert.equal(stepArgsProblem(s.type, s.args, true), null, `${name}, ${op}: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
          }
        }
      }
    }
    // A KVM service's chains, with and without an additional disk.
    const VM_OPERATIONS: VmOperation[] = ['deploy', 'change-package', 'terminate', 'force-terminate', 'suspend', 'unsuspend', 'change-password', 'redeploy', 'verify-repair', 'start', 'stop', 'reboot'];
    for (const plan of [vmPlan(), vmPlan({ spec: kvmSpec({ additionalDisk: null }) })]) {
      for (const op of VM_OPERATIONS) {
        for (const s of planVmChain(op, plan).steps) {
          seen.add(s.type);
          assert.equal(stepArgsProblem(s.type, s.args, true), null, `kvm, ${op}: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
        }
      }
    }
    // The customer's VM panel: its chains, and a reinstall.
    const PANEL: PanelOperation[] = ['power-off', 'shutdown', 'snapshot-create', 'snapshot-rollback', 'snapshot-delete', 'backup-delete'];
    for (const plan of [vmPlan(), vmPlan({ spec: kvmSpec({ additionalDisk: null }) })]) {
      const chains = [
        ...PANEL.map((op) => [op, planPanelChain(op, plan, { snapshot: { name: 'before-upgrade', description: 'a note' }, volid: 'local:backup/vzdump-qemu-101-2026_12_06-10_00_00.vma.zst' })] as const),
        ['snapshot-create, no description', planPanelChain('snapshot-create', plan, { snapshot: { name: 'plain', description: null } })] as const,
        ['reinstall', planReinstallChain(reinstallPlan(plan, { slug: 'ubuntu-24', vmid: 9001, node: 'pve1', storage: 'local-lvm' }))] as const,
      ];
      for (const [op, chain] of chains) {
        for (const s of chain.steps) {
          seen.add(s.type);
          assert.equal(stepArgsProblem(s.type, s.args, true), null, `kvm panel, ${op}: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
        }
      }
    }
    // The panel's ISO, firewall rules and reverse DNS.
    for (const op of ['iso-mount', 'iso-unmount', 'firewall-rules', 'rdns'] as const) {
      for (const s of planExtrasChain(op, vmPlan()).steps) {
        seen.add(s.type);
        assert.equal(stepArgsProblem(s.type, s.args, true), null, `kvm panel, ${op}: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
      }
    }
    // Apply Hestia config to a group, for each role.
    const members = [
      { id: 1, name: 'web1', driver: 'hestiacp', status: 'active', caps: { web: true, mail: false, dns: false } },
      { id: 2, name: 'mail1', driver: 'hestiacp', status: 'active', caps: { web: false, mail: true, dns: false } },
      { id: 3, name: 'ns1', driver: 'hestiacp', status: 'active', caps: { web: false, mail: false, dns: true } },
    ] as const;
    for (const role of APPLY_ROLES) {
      for (const s of planApply(7, role, members.map((m) => ({ ...m, caps: { ...m.caps } }))).steps) {
        seen.add(s.type);
        assert.equal(stepArgsProblem(s.type, s.args, true), null, `hestia config, ${role}: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
      }
    }
    // SSL's one-step chains: a Let's Encrypt request per role, a customer's certificate installed and removed.
    for (const role of ['web', 'mail'] as const) {
      const on = { serverId: 4, user: 'shop1', domain: 'shop.example.com', role };
      for (const s of [sslIssueStep({ ...on, names: role === 'web' ? ['shop.example.com', 'www.shop.example.com'] : ['mail.shop.example.com'] }), customCertStep('install', on), customCertStep('remove', on)]) {
        seen.add(s.type);
        assert.equal(stepArgsProblem(s.type, s.args, true), null, `ssl, ${role}: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
      }
    }
    // The hosting panel's Mailboxes tab (services/hosting-panel/mailboxes.ts): create, delete, password, quota.
    {
      const at = { server: 11, user: 'shop-42-mail', domain: 'shop.example.com' };
      for (const kind of ['create', 'delete', 'password', 'quota'] as const) {
        for (const s of planMailboxStep(kind, at, 'info', '500')) {
          seen.add(s.type);
          assert.equal(stepArgsProblem(s.type, s.args, true), null, `mailboxes: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
        }
      }
    }
    // The hosting panel's Databases tab (services/hosting-panel/databases.ts): create, delete, change password.
    {
      const at = { server: 10, user: 'shop-42-web' };
      for (const s of [...planDbCreate(at, { database: 'blog', dbUser: 'blog', engine: 'mysql', charset: 'UTF8MB4' }), ...planDbDelete(at, 'shop-42-web_blog'), ...planDbPassword(at, 'shop-42-web_blog')]) {
        seen.add(s.type);
        assert.equal(stepArgsProblem(s.type, s.args, true), null, `databases: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
      }
    }
    // The hosting panel's FTP tab (services/hosting-panel/ftp.ts): create (in a folder and in the domain directory), delete, password, folder.
    {
      const at = { server: 10, user: 'shop-42-web', domain: 'shop.example.com' };
      const account = 'shop-42-web_uploads';
      for (const s of [planFtpStep('ftp-create', at, account, 'public_html/uploads'), planFtpStep('ftp-create', at, account), planFtpStep('ftp-delete', at, account), planFtpStep('ftp-password', at, account), planFtpStep('ftp-path', at, account, 'private')]) {
        seen.add(s.type);
        assert.equal(stepArgsProblem(s.type, s.args, true), null, `ftp: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
      }
    }
    // The hosting panel's Cron jobs tab (services/hosting-panel/cron.ts): create, change, delete, suspend, unsuspend.
    {
      const at = { server: 10, user: 'shop-42-web' };
      const schedule = { min: '*/5', hour: '*', day: '1-15', month: '*', wday: '1,3,5' };
      const plans: CronPlan[] = [{ kind: 'create', job: 3, schedule }, { kind: 'change', job: 3, schedule }, { kind: 'delete', job: 3 }, { kind: 'suspend', job: 3 }, { kind: 'unsuspend', job: 3 }];
      for (const s of plans.map((p) => planCronStep(at, p))) {
        seen.add(s.type);
        assert.equal(stepArgsProblem(s.type, s.args, true), null, `cron: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
      }
    }
    // The hosting panel's Backups tab (services/hosting-panel/backups.ts): create (none listed yet, and with archives listed), delete, restore whole, a part, one item.
    {
      const web: BackupAccount = { role: 'web', server: 10, user: 'shop-42-web', max: 3, label: 'Web hosting' };
      const mail: BackupAccount = { role: 'mail', server: 11, user: 'shop-42-mail', max: 1, label: 'Mail' };
      const archive = 'shop-42-web.2026-12-06_22-00-00.tar';
      const steps = [
        ...planBackupCreate([web, mail], { web: [archive] }), ...planBackupDelete(web, archive),
        ...planBackupRestore(web, archive, 'all', null), ...planBackupRestore(mail, archive, 'mail', null), ...planBackupRestore(web, archive, 'db', 'shop-42-web_blog'),
      ];
      for (const s of steps) {
        seen.add(s.type);
        assert.equal(stepArgsProblem(s.type, s.args, true), null, `backups: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
      }
    }
    // The hosting panel's DNS tab (services/hosting-panel/dns.ts): add (MX with priority 0, a TTL), edit, delete, on a Hestia DNS node and PowerDNS.
    {
      const place = { domain: 'shop.example.com', servers: [{ server: 12, user: 'shop-42-dns' }, { server: 13, user: null }] };
      const changes: RecordChange[] = [
        { change: 'add', name: '@', type: 'MX', value: 'mx.other.example', priority: 0, ttl: 3600 },
        { change: 'edit', record: 4, name: 'app', type: 'A', value: '192.0.2.7' },
        { change: 'delete', record: 4, name: 'app', type: 'A', value: '192.0.2.7' },
      ];
      for (const c of changes) {
        const steps = planRecordChange(place, c);
        assert.deepEqual(steps.map((s) => s.dependsOn), [[], [], [0, 1]], 'the publishes side by side, the save after both');
        for (const s of steps) {
          seen.add(s.type);
          assert.equal(stepArgsProblem(s.type, s.args, true), null, `dns: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
        }
      }
    }
    // The hosting panel's Web settings tab (services/hosting-panel/web.ts): PHP and proxy template, alias add and remove.
    {
      const at = { server: 10, user: 'shop-42-web', domain: 'shop.example.com' };
      for (const s of [planWebStep(at, { kind: 'backend', template: 'PHP-8_3' }), planWebStep(at, { kind: 'proxy', template: 'caching' }), planWebStep(at, { kind: 'alias-add', alias: 'blog.shop.example.com' }), planWebStep(at, { kind: 'alias-delete', alias: 'blog.shop.example.com' })]) {
        seen.add(s.type);
        assert.equal(stepArgsProblem(s.type, s.args, true), null, `web: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
      }
    }
    // A package change that switches roles on and off (mail added to a web-only Split service, then removed; DNS too).
    {
      const group = fleet([server(10, { web: true }), server(12, { mail: true })]);
      const webOnly = resolveProduct(input('split', { product: { ...input('split').product, configoption4: '', configoption5: '' } }), null);
      const full = resolveProduct(input('split'), null);
      const lean = planOrder({ whmcsServiceId: 42, domain: 'shop.example.com', email: '' }, webOnly, group).plan;
      const rich = { ...lean, product: full, placement: placeSwitchedRoles(lean.placement, full, group) };
      for (const [name, before, after] of [['roles on', lean, rich], ['roles off', rich, lean]] as const) {
        const steps = planChain('change-package', after, groupRefs(group), { before }).steps;
        assert.ok(steps.some((s) => s.type === 'service.roles-applied'), `${name}: the roles are recorded at the end`);
        for (const s of steps) {
          seen.add(s.type);
          assert.equal(stepArgsProblem(s.type, s.args, true), null, `${name}: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
        }
      }
    }
    // A Unified service's roles switched off and on again (its one user keeps the other role).
    {
      const group = fleet([server(11, { web: true, mail: true })]);
      const full = resolveProduct(input('unified'), null);
      const plan = planOrder({ whmcsServiceId: 43, domain: 'uni.example.com', email: '' }, full, group).plan;
      for (const off of ['configoption3', 'configoption4', 'configoption5']) {
        const lean = { ...plan, product: resolveProduct(input('unified', { product: { ...input('unified').product, [off]: '' } }), null) };
        for (const [before, after] of [[plan, lean], [lean, plan]] as const) {
          for (const s of planChain('change-package', after, groupRefs(group), { before }).steps) {
            seen.add(s.type);
            assert.equal(stepArgsProblem(s.type, s.args, true), null, `unified ${off}: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
          }
        }
      }
    }
    // A web alias's A record published on every DNS server of the zone (after the alias step), then saved.
    {
      const zone = { domain: 'shop.example.com', servers: [{ server: 20, user: 'shop-42-dns' }, { server: 21, user: null }] };
      for (const change of ['add', 'delete'] as const) {
        const steps = planAliasDns(zone, 'blog.shop.example.com', change, 0);
        assert.deepEqual(steps.map((s) => s.dependsOn), [[0], [0], [1, 2]], 'the publishes after the alias step, the save after both');
        for (const s of steps) {
          seen.add(s.type);
          assert.equal(stepArgsProblem(s.type, s.args, true), null, `alias dns: ${s.step} (${s.type}) ${JSON.stringify(s.args)}`);
        }
      }
    }
    // Every type the planner may emit was planned at least once above (server.check is the scheduler's).
    const planned: StepType[] = (Object.keys(STEPS) as StepType[]).filter((t) => t !== 'server.check');
    assert.deepEqual(planned.filter((t) => !seen.has(t)), [], 'declared step types no fixture planned');
    assert.deepEqual([...seen].filter((t) => !planned.includes(t)), [], 'planned types with no declaration');
  });

  test('the check names a missing, mistyped or undeclared field; a handler tolerates extra ones', () => {
    assert.match(stepArgsProblem('account.user', { server: 1, user: 'u' })!, /lacks "package"/);
    assert.match(stepArgsProblem('account.user', { server: '1', user: 'u', package: 'p' })!, /"server" that is not a positive whole number/);
    assert.match(stepArgsProblem('account.delete', { server: 1, user: 'u', role: 'mailbox' })!, /"role" that is not one of web, mail, all, dns/);
    assert.match(stepArgsProblem('account.password', { server: 1, user: 'u', role: 'mailbox' })!, /lacks "domain"/);
    assert.equal(stepArgsProblem('account.password', { server: 1, user: 'u', role: 'mail' }), null);
    assert.match(stepArgsProblem('no.such', {})!, /not a planned step type/);
    // An older task (with a since-dropped field) still runs; the planner may not write one.
    const old = { service: 7, server: 1, user: 'u', package: 'p', role: 'web' };
    assert.equal(stepArgsProblem('account.user', old), null);
    assert.match(stepArgsProblem('account.user', old, true)!, /"service", "role", which its type does not declare/);
  });

  test('labels come from the same declaration', () => {
    assert.equal(stepLabel('account.user', 'web1'), 'Setting up account on web1');
    assert.equal(stepLabel('builtin.noop'), 'builtin.noop');
  });
});
