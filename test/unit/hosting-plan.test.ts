// Hosting plan profiles, pure: the profile's checks (an InputError naming the field) and defaults,
// the product's reference to one (configoption16), the merge order (configurable option, then the
// profile, whose overlapping Module Settings are not read; without one the setting, then the default), the Hestia
// package of each role, and the web.templates step planned only when the plan has a profile.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../daemon/common/errors.ts';
import {
  HOSTING_PLAN_DEFAULTS, hostingPlanRef, normaliseHostingPlan, type HostingPlanInput, type HostingPlanProfile,
} from '../../daemon/pipelines/hosting-plan.ts';
import { resolveProduct, type ProductInput } from '../../daemon/pipelines/product.ts';
import { packageLimits } from '../../daemon/handlers/hosting/accounts.ts';
import { planChain } from '../../daemon/pipelines/plan.ts';
import { groupRefs, planOrder } from '../../daemon/pipelines/order.ts';
import type { FleetServer, GroupFleet } from '../../daemon/pipelines/placement.ts';

function product(over: Record<string, string> = {}, config: ProductInput['config_options'] = {}): ProductInput {
  return { product: { configoption1: 'split', configoption3: 'on', configoption4: 'on', configoption5: 'on', configoption6: '1024', configoption7: '512', ...over }, config_options: config, custom_fields: {} };
}

function profile(input: Partial<HostingPlanInput> = {}, id = 5): HostingPlanProfile {
  return { id, created_at: 1, updated_at: 1, ...normaliseHostingPlan({ name: 'web-pro', ...input } as HostingPlanInput) };
}

const refused = (field: string, message: RegExp) => (e: unknown) => e instanceof InputError && e.field === field && message.test(e.message);

const server = (id: number, caps: Partial<FleetServer['caps']>): FleetServer => ({
  id, name: `s${id}`, driver: 'hestiacp', ip: `192.0.2.${id}`, caps: { web: false, mail: false, dns: false, ...caps }, status: 'active', maxAccounts: 0, load: 0,
});
const group = (members: FleetServer[], dns: FleetServer[] = []): GroupFleet => ({ id: 1, name: 'g', nameservers: ['ns1.example.net', 'ns2.example.net'], members, dns, vanity: [], reserved: [] });

describe('hosting plan profile: fields, checks and defaults', () => {
  test('a profile of only a name takes today\'s built-in package', () => {
    const p = normaliseHostingPlan({ name: 'plain' });
    assert.deepEqual(p, { name: 'plain', ...HOSTING_PLAN_DEFAULTS });
    assert.equal(p.web.aliases, 'unlimited');
    assert.equal(p.web.backups, 1);
    assert.equal(p.web.backend_template, 'default');
  });

  test('limits, backups and templates are checked, each bad one refused naming its field', () => {
    const p = normaliseHostingPlan({ name: 'ok-1', web: { aliases: '5' as never, databases: 0, backend_template: 'PHP-8_3', proxy_template: ' caching ' }, dns: { records: 'Unlimited' as never } });
    assert.equal(p.web.aliases, 5);
    assert.equal(p.web.databases, 0);
    assert.equal(p.web.backend_template, 'PHP-8_3');
    assert.equal(p.web.proxy_template, 'caching');
    assert.equal(p.dns.records, 'unlimited');
    const cases: [HostingPlanInput, string, RegExp][] = [
      [{ name: 'Web Pro' }, 'name', /slug/],
      [{ name: '123' }, 'name', /not only digits/],
      [{ name: 'x', web: { aliases: -1 } }, 'web.aliases', /whole number/],
      [{ name: 'x', web: { aliases: 1.5 } }, 'web.aliases', /whole number/],
      [{ name: 'x', web: { cron_jobs: 'lots' as never } }, 'web.cron_jobs', /"lots" must be a whole number/],
      [{ name: 'x', mail: { backups: 'unlimited' as never } }, 'mail.backups', /0 \(backups off\)/],
      [{ name: 'x', unified: { backups: 5000 } }, 'unified.backups', /to 1000/],
      [{ name: 'x', web: { template: '../etc/passwd' } }, 'web.template', /not a HestiaCP template name/],
      [{ name: 'x', web: { backend_template: 'PHP 8.3' } }, 'web.backend_template', /not a HestiaCP template name/],
      [{ name: 'x', web: { proxy_template: '-rf' } }, 'web.proxy_template', /not a HestiaCP template name/],
      [{ name: 'x', dns: { template: 'a'.repeat(67) } }, 'dns.template', /1–66/],
      [{ name: 'x', web: { shell: 'bash' } as never }, 'web.shell', /not a field/],
      [{ name: 'x', ftp: {} } as never, 'ftp', /not a field/],
    ];
    for (const [input, field, message] of cases) assert.throws(() => normaliseHostingPlan(input), refused(field, message), `${field} ${message}`);
  });

  test('the product names a profile by id or name in configoption16; blank, 0 and none name none', () => {
    assert.equal(hostingPlanRef(product()), null);
    for (const v of ['', ' ', '0', 'none', 'none (Module Settings and built-in defaults)']) assert.equal(hostingPlanRef(product({ configoption16: v })), null, v);
    assert.deepEqual(hostingPlanRef(product({ configoption16: '7' })), { id: 7 });
    assert.deepEqual(hostingPlanRef(product({ configoption16: 'web-pro' })), { name: 'web-pro' });
    assert.throws(() => hostingPlanRef(product({ configoption16: 'Web Pro!' })), refused('product.configoption16', /slug/));
    assert.throws(() => hostingPlanRef(product({ configoption16: '99999999999' })), refused('product.configoption16', /slug|range/));
    // A caller that did not look the profile up cannot plan the product as if it had none.
    assert.throws(() => resolveProduct(product({ configoption16: '7' })), refused('product.configoption16', /not looked up/));
  });
});

describe('merge: configurable option › profile (Module Settings 6–11 not read) › built-in default', () => {
  const prof = profile({ web: { disk_mb: 4096, bandwidth_mb: 10000, domains: 3, databases: 2 }, mail: { disk_mb: 2048, accounts: 10 } });

  test('without a profile the plan is exactly as before (no extra field)', () => {
    const p = resolveProduct(product());
    assert.equal('hostingPlan' in p, false);
    assert.deepEqual(p.web, { diskMb: 1024, bandwidthMb: 'unlimited', domains: 1, databases: 'unlimited' });
  });

  test('the profile replaces the Module Settings it overlaps, configurable options override it', () => {
    const blank = product({ configoption6: '', configoption7: '', configoption16: '5' });
    const p = resolveProduct(blank, prof);
    assert.deepEqual(p.web, { diskMb: 4096, bandwidthMb: 10000, domains: 3, databases: 2 });
    assert.deepEqual(p.mail, { diskMb: 2048, accounts: 10 });
    assert.equal(p.hostingPlan?.id, 5);
    assert.equal(p.hostingPlan?.name, 'web-pro');

    // WHMCS pre-fills the settings with its defaults: with a profile they are not read, even when filled.
    const filled = resolveProduct(product({ configoption6: '1024', configoption9: '7', configoption16: '5' }), prof);
    assert.equal(filled.web.diskMb, 4096, 'a filled setting does not beat the chosen profile');
    assert.equal(filled.web.domains, 3);
    assert.equal(filled.web.databases, 2);

    const opts = resolveProduct(product({ configoption6: '1024', configoption16: '5' }, { 'web_disk_quota|Web space': '8192|8 GB', databases: 'unlimited' }), prof);
    assert.equal(opts.web.diskMb, 8192, 'the configurable option overrides the profile');
    assert.equal(opts.web.databases, 'unlimited');
    // A bad configurable option is still refused naming its own field.
    assert.throws(() => resolveProduct(product({ configoption16: '5' }, { databases: 'many' }), prof), refused('config_options.databases', /whole number/));
  });

  test('a profile disk of 0 switches a role off like an unticked box, whatever the setting says; a configurable option can turn it on', () => {
    const off = profile({ mail: { disk_mb: 0 } });
    assert.equal(resolveProduct(product({ configoption7: '', configoption16: '5' }), off).roles.mail, false);
    assert.equal(resolveProduct(product({ configoption7: '512', configoption16: '5' }), off).roles.mail, false);
    assert.equal(resolveProduct(product({ configoption16: '5' }, { mail_disk_quota: '512' }), off).roles.mail, true);
  });
});

describe('the Hestia package of each role', () => {
  const g = group([server(2, { web: true }), server(3, { mail: true }), server(4, { web: true, mail: true })]);
  const prof = profile({
    web: { aliases: 4, cron_jobs: 6, ftp_accounts: 2, backups: 3, template: 'hosting', backend_template: 'PHP-8_3', proxy_template: 'caching' },
    dns: { records: 50, template: 'default' }, mail: { domains: 2, backups: 2 }, unified: { backups: 7 },
  });

  test('without a profile: the same package as before profiles existed', () => {
    const { plan } = planOrder({ whmcsServiceId: 42, domain: 'shop.example.com', email: '' }, resolveProduct(product()), g);
    assert.deepEqual(packageLimits(plan, 'web', []), {
      WEB_TEMPLATE: 'default', PROXY_TEMPLATE: 'default', BACKEND_TEMPLATE: 'default', DNS_TEMPLATE: 'default',
      WEB_DOMAINS: '1', WEB_ALIASES: 'unlimited', DNS_DOMAINS: '1', DNS_RECORDS: 'unlimited', MAIL_DOMAINS: '0', MAIL_ACCOUNTS: '0', RATE_LIMIT: '200',
      DATABASES: 'unlimited', CRON_JOBS: 'unlimited', DISK_QUOTA: '1024', CPU_QUOTA: 'unlimited', CPU_QUOTA_PERIOD: '100ms', MEMORY_LIMIT: 'unlimited',
      SWAP_LIMIT: 'unlimited', BANDWIDTH: 'unlimited', NS: 'ns1.domain.tld,ns2.domain.tld', SHELL: 'nologin', BACKUPS: '1', BACKUPS_INCREMENTAL: 'no',
    });
  });

  test('Split: the web package has the web limits and templates, the mail package the mail ones, each its own backups', () => {
    const { plan } = planOrder({ whmcsServiceId: 42, domain: 'shop.example.com', email: '' }, resolveProduct(product({ configoption16: '5' }), prof), g);
    const web = packageLimits(plan, 'web', []);
    assert.deepEqual([web.WEB_TEMPLATE, web.BACKEND_TEMPLATE, web.PROXY_TEMPLATE, web.WEB_ALIASES, web.CRON_JOBS, web.DNS_RECORDS, web.BACKUPS, web.MAIL_DOMAINS],
      ['hosting', 'PHP-8_3', 'caching', '4', '6', '50', '3', '0']);
    const mail = packageLimits(plan, 'mail', []);
    assert.deepEqual([mail.WEB_ALIASES, mail.CRON_JOBS, mail.MAIL_DOMAINS, mail.BACKUPS, mail.DATABASES], ['0', '0', '2', '2', '0']);
  });

  test('Unified: one package, one backup quota for web and mail together', () => {
    const { plan } = planOrder({ whmcsServiceId: 43, domain: 'one.example.com', email: '' }, resolveProduct(product({ configoption1: 'unified', configoption16: '5' }), prof), g);
    const all = packageLimits(plan, 'all', []);
    assert.deepEqual([all.BACKUPS, all.WEB_ALIASES, all.MAIL_DOMAINS, all.BACKEND_TEMPLATE], ['7', '4', '2', 'PHP-8_3']);
  });
});

describe('the web.templates step', () => {
  const g = group([server(2, { web: true }), server(3, { mail: true }), server(4, { web: true, mail: true })]);
  const steps = (input: ProductInput, prof: HostingPlanProfile | null, op: 'deploy' | 'change-package' = 'deploy') => {
    const { plan } = planOrder({ whmcsServiceId: 42, domain: 'shop.example.com', email: '' }, resolveProduct(input, prof), g);
    const s = planChain(op, plan, groupRefs(g)).steps;
    return s.map((x) => `${x.step}@${x.target} ← ${(x.dependsOn ?? []).map((d) => s[d]!.step).join(',') || '∅'}`);
  };

  test('no profile: the deploy and change-package chains are as before, without it', () => {
    for (const op of ['deploy', 'change-package'] as const) assert.ok(!steps(product(), null, op).some((s) => s.startsWith('web.templates')), op);
  });

  test('with a profile: after the web domain on the web node, and again after a package change (v-change-user-package does not re-template)', () => {
    const deploy = steps(product({ configoption16: '5' }), profile());
    assert.ok(deploy.includes('web.templates@server:2 ← web.domain'), deploy.join('\n'));
    assert.ok(deploy.includes('ssl.seed@server:2 ← web.templates'), deploy.join('\n'));
    const change = steps(product({ configoption16: '5' }), profile(), 'change-package');
    assert.deepEqual(change.filter((s) => s.includes('server:2')), ['web.package@server:2 ← ∅', 'web.templates@server:2 ← web.package']);
    assert.ok(!change.some((s) => s.startsWith('web.templates@server:3')), 'nothing on the mail node');
    // A product without web has no site to template.
    assert.ok(!steps(product({ configoption3: '', configoption16: '5' }), profile()).some((s) => s.startsWith('web.templates')));
    // Unified: on the one node, as the one user.
    const unified = steps(product({ configoption1: 'unified', configoption16: '5' }), profile());
    assert.ok(unified.includes('web.templates@server:4 ← mail.domain'), unified.join('\n'));
  });
});
