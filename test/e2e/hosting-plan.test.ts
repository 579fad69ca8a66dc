// Hosting plan profiles on the emulated fleet (MariaDB): the web.templates step on a node (applies
// what differs, a second run changes nothing, a template the node lacks is refused with the node's
// list, a node without a proxy skips the proxy template), and a Split order whose product names a
// profile (configoption16) deployed through the API: the package limits and the templates land on
// the nodes (v-list-user-package, v-list-web-domains), a package change re-applies the templates,
// and a profile in use cannot be deleted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TerminalError } from '../../daemon/common/errors.ts';
import { T } from '../../daemon/common/tables.ts';
import type { TaskContext } from '../../daemon/engine/registry.ts';
import type { HostingPlanExtras } from '../../daemon/pipelines/hosting-plan.ts';
import { paths, runHestia } from '../emulator/hestia/index.ts';
import { readObjects, writeObjects } from '../emulator/hestia/conf.ts';
import { setWebTemplates, TYPICAL_WEB_TEMPLATES } from '../emulator/hestia/commands/web-templates.ts';
import { call, createBody } from '../helpers/api.ts';
import { waitFor } from '../helpers/db.ts';
import type { EmulatedNode } from '../helpers/fleet.ts';
import { quietScheduledNodeWork, startFleetWorld, type FleetWorld } from '../helpers/world.ts';

let world: FleetWorld;
let web: EmulatedNode;
let mail: EmulatedNode;

before(async () => {
  world = await startFleetWorld('mysql', 'hb-hosting-plan-', { web: 1, mail: 1, dns: 0, combo: 0, pdns: false }, { HOSTBRIDGE_POLL_MS: '50' });
  await quietScheduledNodeWork(world.daemon, world.tdb);
  web = world.fleet.web[0]!;
  mail = world.fleet.mail[0]!;
  for (const kind of ['web', 'backend', 'proxy'] as const) setWebTemplates(web.dir, kind, TYPICAL_WEB_TEMPLATES[kind]);
});
after(async () => { await world?.close(); });

function hestiaJson(node: EmulatedNode, cmd: string, args: string[]): any {
  const r = runHestia(node.dir, cmd, [...args, 'json']);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} on ${node.name}: ${r.stdout}`);
  return JSON.parse(r.stdout);
}

async function deploy(serviceId: number, product: Record<string, string> = {}): Promise<{ id: number; names: any }> {
  const r = await call(world.daemon.url, 'POST', '/v1/services', createBody(serviceId, world.reg.groupId, {}, product));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return waitState(serviceId);
}

async function waitState(serviceId: number): Promise<{ id: number; names: any }> {
  const row = await waitFor(`service ${serviceId} to settle`, async () => {
    const s = await world.tdb.db(T.services).where('whmcs_service_id', serviceId).first('id', 'state', 'names');
    const open = s ? await world.tdb.db(T.chains).where('service_id', s.id).whereIn('state', ['running', 'waiting']).first('id') : undefined;
    return s && !open && ['active', 'failed'].includes(s.state) ? s : null;
  }, 60_000, 50);
  if (row.state !== 'active') {
    const failed = await world.tdb.db(T.tasks).where('service_id', row.id).where('status', 'failed').select('step', 'last_error');
    assert.fail(`service ${serviceId} ended ${row.state}: ${JSON.stringify(failed)}`);
  }
  return { id: Number(row.id), names: JSON.parse(row.names) };
}

/** Sets the stored plan's hosting plan extras, as a package change to a profile would. */
async function setExtras(id: number, extras: HostingPlanExtras | undefined): Promise<void> {
  const row = await world.tdb.db(T.services).where('id', id).first('params');
  const plan = JSON.parse(row.params);
  if (extras) plan.product.hostingPlan = extras;
  else delete plan.product.hostingPlan;
  await world.tdb.db(T.services).where('id', id).update({ params: JSON.stringify(plan) });
}

const extras = (backend: string, webTpl = 'hosting', proxy = 'caching'): HostingPlanExtras => ({
  id: 999, name: 'test-plan',
  web: { aliases: 'unlimited', cronJobs: 'unlimited', ftpAccounts: 'unlimited', backups: 1, template: webTpl, backendTemplate: backend, proxyTemplate: proxy },
  dns: { records: 'unlimited', template: 'default' }, mail: { domains: 1, backups: 1 }, unified: { backups: 1 },
});

/** Runs the web.templates handler once, as the engine would, with its log lines. */
async function runStep(serviceId: number, user: string, domain: string): Promise<{ result: any; lines: string[]; changes: string[] }> {
  const type = world.daemon.core.registry.get('web.templates');
  assert.ok(type, 'web.templates is a registered task type');
  const server = world.reg.ids[web.name]!;
  const lines: string[] = [];
  const ctx: TaskContext = {
    task: { id: 0, chainId: null, stepNo: 0, serviceId, operation: 'test', step: 'web.templates', type: 'web.templates', target: `server:${server}`, args: { server, user, domain }, attempt: 1 },
    log: (l) => { lines.push(l); }, secret: () => {}, signal: new AbortController().signal,
  };
  const from = web.ssh.commandLog().length;
  let result: any;
  try {
    result = await type.run(ctx);
  } finally {
    lines.push(...web.ssh.commandLog().slice(from).map((e) => `[ran] ${(e.argv ?? []).find((a) => /(^|\/)v-/.test(a))?.replace(/^.*\//, '') ?? e.command}`));
  }
  const changes = web.ssh.commandLog().slice(from).map((e) => (e.argv ?? []).find((a) => /(^|\/)v-change-web-domain/.test(a))).filter((a): a is string => !!a).map((a) => a.replace(/^.*\//, ''));
  return { result, lines, changes };
}

describe('the web.templates step on an emulated node', () => {
  let svc: { id: number; names: any };
  const domain = 'shop8101.example.com';

  before(async () => { svc = await deploy(8101); });

  test('a plan without a profile deploys as before: no web.templates task, the domain on the default templates', async () => {
    const steps = await world.tdb.db(T.tasks).where('service_id', svc.id).pluck('type');
    assert.ok(steps.includes('web.domain') && !steps.includes('web.templates'), steps.join(', '));
    const d = hestiaJson(web, 'v-list-web-domains', [svc.names.users.web])[domain];
    assert.deepEqual([d.TPL, d.BACKEND, d.PROXY], ['default', 'default', 'default']);
  });

  test('applies what differs, then a second run changes nothing', async () => {
    await setExtras(svc.id, extras('PHP-8_3'));
    const first = await runStep(svc.id, svc.names.users.web, domain);
    assert.deepEqual(first.changes.sort(), ['v-change-web-domain-backend-tpl', 'v-change-web-domain-proxy-tpl', 'v-change-web-domain-tpl'], first.lines.join('\n'));
    const d = hestiaJson(web, 'v-list-web-domains', [svc.names.users.web])[domain];
    assert.deepEqual([d.TPL, d.BACKEND, d.PROXY], ['hosting', 'PHP-8_3', 'caching']);
    assert.match(d.PROXY_EXT, /^jpeg,jpg,png/, 'the proxy extensions are kept');
    assert.deepEqual([first.result.web, first.result.backend, first.result.proxy], ['hosting', 'PHP-8_3', 'caching']);

    const second = await runStep(svc.id, svc.names.users.web, domain);
    assert.deepEqual(second.changes, [], second.lines.join('\n'));
    assert.ok(second.lines.some((l) => /backend \(PHP\) template of shop8101\.example\.com is PHP-8_3, as wanted/.test(l)), second.lines.join('\n'));

    // One template differs: only that one is changed.
    await setExtras(svc.id, extras('PHP-8_2'));
    const third = await runStep(svc.id, svc.names.users.web, domain);
    assert.deepEqual(third.changes, ['v-change-web-domain-backend-tpl'], third.lines.join('\n'));
  });

  test('a template the node does not have is refused, naming it and the node\'s templates; nothing changes', async () => {
    setWebTemplates(web.dir, 'backend', ['default', 'PHP-8_2']);
    try {
      await setExtras(svc.id, extras('PHP-8_4'));
      const before = hestiaJson(web, 'v-list-web-domains', [svc.names.users.web])[domain];
      await assert.rejects(runStep(svc.id, svc.names.users.web, domain), (e: unknown) => e instanceof TerminalError &&
        /backend \(PHP\) template "PHP-8_4" of hosting plan "test-plan" does not exist on web1; the node has: default, PHP-8_2\./.test(e.message));
      assert.deepEqual(hestiaJson(web, 'v-list-web-domains', [svc.names.users.web])[domain], before);
    } finally {
      setWebTemplates(web.dir, 'backend', TYPICAL_WEB_TEMPLATES.backend);
    }
  });

  test('a domain without a proxy (PROXY_SYSTEM empty) skips the proxy template with a log line', async () => {
    const user = svc.names.users.web;
    const file = paths.userFile(web.dir, user, 'web.conf');
    const objs = readObjects(file);
    for (const o of objs) if (o.get('DOMAIN') === domain) { o.set('PROXY', ''); o.set('PROXY_EXT', ''); }
    writeObjects(file, objs);
    await setExtras(svc.id, extras('PHP-8_3', 'basedir', 'hosting'));
    const r = await runStep(svc.id, user, domain);
    assert.deepEqual(r.changes.sort(), ['v-change-web-domain-backend-tpl', 'v-change-web-domain-tpl'], r.lines.join('\n'));
    assert.ok(r.lines.some((l) => /has no proxy \(PROXY_SYSTEM is empty\): proxy template "hosting" skipped/.test(l)), r.lines.join('\n'));
    assert.deepEqual(r.result.skipped, ['proxy']);
  });

  test('a plan that lost its profile leaves the domain as it is', async () => {
    await setExtras(svc.id, undefined);
    const r = await runStep(svc.id, svc.names.users.web, domain);
    assert.deepEqual(r.result, { skipped: true });
    assert.deepEqual(r.changes, []);
  });
});

describe('a Split order whose product names a hosting plan profile', () => {
  let planId: number;
  let svc: { id: number; names: any };
  const domain = 'shop8201.example.com';

  before(async () => {
    const created = await call(world.daemon.url, 'POST', '/v1/hosting-plans', {
      name: 'web-pro',
      web: { domains: 3, aliases: 4, databases: 2, cron_jobs: 6, ftp_accounts: 2, bandwidth_mb: 10000, disk_mb: 4096, backups: 3, template: 'hosting', backend_template: 'PHP-8_3', proxy_template: 'caching' },
      dns: { records: 80 }, mail: { domains: 2, accounts: 10, disk_mb: 2048, backups: 2 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    planId = created.body.id;
    // The settings 6–11 are filled (WHMCS pre-fills them): with a plan chosen they are not read.
    svc = await deploy(8201, { configoption6: '1024', configoption7: '1024', configoption8: '5000', configoption16: String(planId) });
  });

  test('the web and mail packages carry the profile\'s limits, not the pre-filled settings', () => {
    const wp = hestiaJson(web, 'v-list-user-package', [svc.names.packages.web])[svc.names.packages.web];
    assert.deepEqual(
      [wp.WEB_DOMAINS, wp.WEB_ALIASES, wp.DATABASES, wp.CRON_JOBS, wp.DISK_QUOTA, wp.BANDWIDTH, wp.DNS_RECORDS, wp.BACKUPS, wp.MAIL_DOMAINS],
      ['3', '4', '2', '6', '4096', '10000', '80', '3', '0'],
    );
    assert.deepEqual([wp.WEB_TEMPLATE, wp.BACKEND_TEMPLATE, wp.PROXY_TEMPLATE], ['hosting', 'PHP-8_3', 'caching']);
    const mp = hestiaJson(mail, 'v-list-user-package', [svc.names.packages.mail])[svc.names.packages.mail];
    assert.deepEqual([mp.MAIL_DOMAINS, mp.MAIL_ACCOUNTS, mp.DISK_QUOTA, mp.BACKUPS, mp.WEB_DOMAINS], ['2', '10', '2048', '2', '0']);
    const user = hestiaJson(web, 'v-list-user', [svc.names.users.web])[svc.names.users.web];
    assert.equal(user.PACKAGE, svc.names.packages.web);
  });

  test('the site has the profile\'s templates, and the chain ran web.templates after the web domain', async () => {
    const d = hestiaJson(web, 'v-list-web-domains', [svc.names.users.web])[domain];
    assert.deepEqual([d.TPL, d.BACKEND, d.PROXY], ['hosting', 'PHP-8_3', 'caching']);
    const tasks = await world.tdb.db(T.tasks).where('service_id', svc.id).orderBy('id').select('type', 'status', 'result');
    const t = tasks.find((x: { type: string }) => x.type === 'web.templates');
    assert.ok(t, tasks.map((x: { type: string }) => x.type).join(', '));
    assert.equal(t.status, 'succeeded');
  });

  test('a package change re-applies the profile\'s templates to the existing site', async () => {
    const put = await call(world.daemon.url, 'PUT', `/v1/hosting-plans/${planId}`, {
      name: 'web-pro', web: { domains: 3, aliases: 4, databases: 2, cron_jobs: 6, disk_mb: 4096, template: 'basedir', backend_template: 'PHP-8_2', proxy_template: 'caching' },
      mail: { domains: 2, accounts: 10, disk_mb: 2048 },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const body = createBody(8201, world.reg.groupId, {}, { configoption6: '', configoption7: '', configoption16: String(planId) });
    const r = await call(world.daemon.url, 'POST', '/v1/services/8201/change-package', { product: body.product, config_options: {}, custom_fields: {}, product_id: 3 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitState(8201);
    const d = hestiaJson(web, 'v-list-web-domains', [svc.names.users.web])[domain];
    assert.deepEqual([d.TPL, d.BACKEND, d.PROXY], ['basedir', 'PHP-8_2', 'caching']);
    const wp = hestiaJson(web, 'v-list-user-package', [svc.names.packages.web])[svc.names.packages.web];
    assert.deepEqual([wp.BACKEND_TEMPLATE, wp.BANDWIDTH, wp.BACKUPS], ['PHP-8_2', 'unlimited', '1']);
  });

  test('a profile a live service was built from cannot be deleted; an unknown one in a product is refused naming the setting', async () => {
    const del = await call(world.daemon.url, 'DELETE', `/v1/hosting-plans/${planId}`);
    assert.equal(del.status, 409, JSON.stringify(del.body));
    assert.match(JSON.stringify(del.body), /in use by 1 service/);
    const unknown = await call(world.daemon.url, 'POST', '/v1/services', createBody(8202, world.reg.groupId, {}, { configoption16: '424242' }));
    assert.equal(unknown.status, 422, JSON.stringify(unknown.body));
    assert.match(JSON.stringify(unknown.body), /product\.configoption16.*hosting plan #424242 does not exist/);
    assert.equal(await world.tdb.db(T.services).where('whmcs_service_id', 8202).first('id'), undefined, 'nothing was written');
  });
});
