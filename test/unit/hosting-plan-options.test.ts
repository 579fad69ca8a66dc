// Configurable options over a hosting plan profile's further limits and templates (PLAN_OPTIONS),
// pure: each option's valid value, "unlimited" where a limit may be, and a bad value refused naming
// config_options.<key> (the key as WHMCS sent it, "name|Friendly" too); with a profile they beat it,
// without one they beat the built-in defaults (and a product without any reads exactly as before);
// templates only with a profile; the Hestia package of each role carries the result.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../daemon/common/errors.ts';
import {
  extrasOf, normaliseHostingPlan, PLAN_OPTIONS, statedExtras, type HostingPlanExtras, type HostingPlanInput, type HostingPlanProfile,
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
const g: GroupFleet = {
  id: 1, name: 'g', nameservers: ['ns1.example.net', 'ns2.example.net'],
  members: [server(2, { web: true }), server(3, { mail: true }), server(4, { web: true, mail: true })], dns: [], vanity: [], reserved: [],
};

/** A profile whose every further limit differs from the built-in defaults and from the options below. */
const prof = profile({
  web: { aliases: 4, cron_jobs: 6, ftp_accounts: 2, backups: 3, template: 'hosting', backend_template: 'PHP-8_2', proxy_template: 'caching' },
  dns: { records: 50, template: 'default' }, mail: { domains: 2, backups: 2 }, unified: { backups: 7 },
});

/** Each option: a valid value (as WHMCS sends a dropdown choice), what it becomes, and where it lands. */
const LIMITS: Array<[string, (x: HostingPlanExtras) => unknown]> = [
  ['web_aliases', (x) => x.web.aliases], ['cron_jobs', (x) => x.web.cronJobs], ['ftp_accounts', (x) => x.web.ftpAccounts],
  ['dns_records', (x) => x.dns.records], ['mail_domains', (x) => x.mail.domains],
];
const BACKUPS: Array<[string, (x: HostingPlanExtras) => unknown]> = [
  ['backups', (x) => [x.web.backups, x.mail.backups, x.unified.backups]], ['web_backups', (x) => x.web.backups], ['mail_backups', (x) => x.mail.backups],
];
const TEMPLATES: Array<[string, (x: HostingPlanExtras) => unknown]> = [
  ['web_template', (x) => x.web.template], ['backend_template', (x) => x.web.backendTemplate],
  ['proxy_template', (x) => x.web.proxyTemplate], ['dns_template', (x) => x.dns.template],
];

describe('configurable options over the profile\'s further limits', () => {
  test('the documented names are exactly these', () => {
    assert.deepEqual(Object.keys(PLAN_OPTIONS).sort(), [...LIMITS, ...BACKUPS, ...TEMPLATES].map(([n]) => n).sort());
  });

  for (const [name, read] of LIMITS) {
    test(`${name}: a number or "unlimited", with or without a profile; a bad value refused naming the option`, () => {
      assert.notEqual(read(resolveProduct(product({ configoption16: '5' }), prof).hostingPlan!), 12, 'the profile says otherwise');
      assert.equal(read(resolveProduct(product({ configoption16: '5' }, { [`${name}|Extra`]: '12|12 more' }), prof).hostingPlan!), 12);
      assert.equal(read(resolveProduct(product({ configoption16: '5' }, { [name]: 12 }), prof).hostingPlan!), 12, 'a quantity option is a number');
      assert.equal(read(resolveProduct(product({ configoption16: '5' }, { [name]: 'Unlimited' }), prof).hostingPlan!), 'unlimited');
      assert.equal(read(resolveProduct(product({ configoption16: '5' }, { [name]: '0' }), prof).hostingPlan!), 0);
      // Without a profile: over the built-in default, carried as optionExtras (no hostingPlan: no templates applied).
      const noProfile = resolveProduct(product({}, { [name]: '12' }));
      assert.equal('hostingPlan' in noProfile, false);
      assert.equal(read(noProfile.optionExtras!), 12);
      assert.equal(read(extrasOf(noProfile)), 12);
      for (const bad of ['lots', '-1', '1.5', '99999999999', '']) {
        assert.throws(() => resolveProduct(product({ configoption16: '5' }, { [`${name}|Extra`]: bad }), prof), refused(`config_options.${name}|Extra`, /must be a whole number from 0 to 1,000,000,000 or "unlimited"/), bad);
        assert.throws(() => resolveProduct(product({}, { [name]: bad }), null), refused(`config_options.${name}`, /whole number/), bad);
      }
    });
  }

  for (const [name, read] of BACKUPS) {
    test(`${name}: a count of backups kept, with or without a profile; "unlimited" and bad values refused naming the option`, () => {
      const want = name === 'backups' ? [9, 9, 9] : 9;
      assert.deepEqual(read(resolveProduct(product({ configoption16: '5' }, { [`${name}|Backups kept`]: '9|9 backups' }), prof).hostingPlan!), want);
      assert.deepEqual(read(resolveProduct(product({}, { [name]: 9 })).optionExtras!), want);
      assert.deepEqual(read(resolveProduct(product({ configoption16: '5' }, { [name]: '0' }), prof).hostingPlan!), name === 'backups' ? [0, 0, 0] : 0, '0: backups off');
      for (const bad of ['unlimited', 'ten', '-2', '1001']) {
        assert.throws(() => resolveProduct(product({ configoption16: '5' }, { [name]: bad }), prof), refused(`config_options.${name}`, /must be a whole number of backups kept, 0 \(backups off\) to 1000/), bad);
      }
    });
  }

  test('"backups" sets every backup quota; web_backups and mail_backups then a Split role\'s own, whatever the order sent', () => {
    const x = resolveProduct(product({ configoption16: '5' }, { mail_backups: '4', backups: '10', web_backups: '2' }), prof).hostingPlan!;
    assert.deepEqual([x.web.backups, x.mail.backups, x.unified.backups], [2, 4, 10]);
  });

  for (const [name, read] of TEMPLATES) {
    test(`${name}: a template name by HestiaCP's rule, case kept, only with a profile`, () => {
      assert.equal(read(resolveProduct(product({ configoption16: '5' }, { [`${name}|PHP version`]: 'PHP-8_3|PHP 8.3' }), prof).hostingPlan!), 'PHP-8_3');
      for (const bad of ['PHP 8.3', '../etc/passwd', '-rf', 'a'.repeat(67), '']) {
        assert.throws(() => resolveProduct(product({ configoption16: '5' }, { [name]: bad }), prof), refused(`config_options.${name}`, /is not a HestiaCP template name/), bad);
      }
      assert.throws(() => resolveProduct(product({}, { [name]: 'PHP-8_3' })), refused(`config_options.${name}`, /sets a template of the hosting plan, and this product has none/));
    });
  }
});

describe('older products and the package', () => {
  test('a product with none of these options reads exactly as before (no optionExtras, nothing stated)', () => {
    const p = resolveProduct(product({}, { databases: '3', 'other|Something else': 'x' }));
    assert.deepEqual(Object.keys(p).sort(), ['mail', 'mode', 'roles', 'vanity', 'web']);
    assert.equal(statedExtras(p), null);
    const withProfile = resolveProduct(product({ configoption16: '5' }), prof);
    assert.equal('optionExtras' in withProfile, false);
    assert.equal(withProfile.hostingPlan?.web.ftpAccounts, 2);
  });

  test('Split with a profile: the options land in the web and mail packages', () => {
    const input = product({ configoption16: '5' }, {
      'databases|Databases': '8', 'web_aliases|Aliases': '9', cron_jobs: 'unlimited', dns_records: '70', mail_domains: '3', web_backups: '5', mail_backups: '6',
      backend_template: 'PHP-8_3', web_template: 'basedir', proxy_template: 'hosting', dns_template: 'child-ns',
    });
    const { plan } = planOrder({ whmcsServiceId: 42, domain: 'shop.example.com', email: '' }, resolveProduct(input, prof), g);
    const web = packageLimits(plan, 'web', []);
    assert.deepEqual([web.DATABASES, web.WEB_ALIASES, web.CRON_JOBS, web.DNS_RECORDS, web.BACKUPS, web.WEB_TEMPLATE, web.BACKEND_TEMPLATE, web.PROXY_TEMPLATE, web.DNS_TEMPLATE],
      ['8', '9', 'unlimited', '70', '5', 'basedir', 'PHP-8_3', 'hosting', 'child-ns']);
    const mail = packageLimits(plan, 'mail', []);
    assert.deepEqual([mail.MAIL_DOMAINS, mail.BACKUPS, mail.WEB_TEMPLATE], ['3', '6', 'default']);
  });

  test('Unified: "backups" is the one user\'s quota', () => {
    const { plan } = planOrder({ whmcsServiceId: 43, domain: 'one.example.com', email: '' }, resolveProduct(product({ configoption1: 'unified', configoption16: '5' }, { backups: '12' }), prof), g);
    assert.equal(packageLimits(plan, 'all', []).BACKUPS, '12');
  });

  test('without a profile: the options land in the package over the defaults, and the chain gains no web.templates step', () => {
    const input = product({}, { ftp_accounts: '3', cron_jobs: '4', dns_records: '20', web_backups: '2' });
    const { plan } = planOrder({ whmcsServiceId: 44, domain: 'shop.example.com', email: '' }, resolveProduct(input), g);
    const web = packageLimits(plan, 'web', []);
    assert.deepEqual([web.CRON_JOBS, web.DNS_RECORDS, web.BACKUPS, web.WEB_ALIASES, web.WEB_TEMPLATE], ['4', '20', '2', 'unlimited', 'default']);
    assert.equal(extrasOf(plan.product).web.ftpAccounts, 3, 'the FTP limit the panel reads');
    assert.equal(statedExtras(plan.product)?.web.cronJobs, 4, 'the overview shows it');
    for (const op of ['deploy', 'change-package'] as const) {
      assert.ok(!planChain(op, plan, groupRefs(g)).steps.some((s) => s.step === 'web.templates'), op);
    }
  });
});
