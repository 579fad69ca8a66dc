// The emulator's web template commands, from HestiaCP's reference (§8.6): the three listings (a
// bare JSON array, empty when the node lacks the system), the three change commands with their
// checks and exit codes, and a node given fewer templates by a test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshNode } from '../emulator/hestia/testing.ts';
import { setWebTemplates, TYPICAL_WEB_TEMPLATES } from '../emulator/hestia/commands/web-templates.ts';

function withSite(roles = { web: true, mail: true, dns: true }) {
  const node = freshNode(roles);
  assert.equal(node.run('v-add-user', 'alice', 'pw', 'a@example.org').code, 0);
  if (roles.web) assert.equal(node.run('v-add-web-domain', 'alice', 'site.example.org').code, 0);
  const domain = () => JSON.parse(node.run('v-list-web-domains', 'alice', 'json').stdout)['site.example.org'];
  return { ...node, domain };
}

test('listings: a bare JSON array of names, one per line in plain, a header in shell; a fresh node has only default', () => {
  const { dir, run } = withSite();
  assert.deepEqual(JSON.parse(run('v-list-web-templates', 'json').stdout), ['default']);
  for (const kind of ['web', 'backend', 'proxy'] as const) setWebTemplates(dir, kind, TYPICAL_WEB_TEMPLATES[kind]);
  assert.deepEqual(JSON.parse(run('v-list-web-templates', 'json').stdout), ['basedir', 'default', 'hosting']);
  assert.deepEqual(JSON.parse(run('v-list-web-templates-backend', 'json').stdout), ['default', 'no-php', 'PHP-8_2', 'PHP-8_3']);
  assert.equal(run('v-list-web-templates-proxy', 'plain').stdout, 'caching\ndefault\nhosting\n');
  assert.equal(run('v-list-web-templates-proxy').stdout, 'TEMPLATE\n--------\ncaching\ndefault\nhosting\n');
  // Fewer templates than a fresh node's.
  setWebTemplates(dir, 'backend', ['PHP-8_2']);
  assert.deepEqual(JSON.parse(run('v-list-web-templates-backend', 'json').stdout), ['PHP-8_2']);
});

test('a node without web, backend or proxy lists none, and its change commands say the system is off (11)', () => {
  const { run } = withSite({ web: false, mail: true, dns: false });
  assert.deepEqual(JSON.parse(run('v-list-web-templates-proxy', 'json').stdout), []);
  const r = run('v-change-web-domain-proxy-tpl', 'alice', 'site.example.org', 'default');
  assert.deepEqual([r.code, r.stdout], [11, 'Error: PROXY_SYSTEM is not enabled\n']);
});

test('changes: each sets its field only; the proxy keeps given extensions, else HestiaCP\'s default list', () => {
  const { dir, run, domain } = withSite();
  for (const kind of ['web', 'backend', 'proxy'] as const) setWebTemplates(dir, kind, TYPICAL_WEB_TEMPLATES[kind]);
  assert.equal(run('v-change-web-domain-backend-tpl', 'alice', 'site.example.org', 'PHP-8_3', 'yes').code, 0);
  assert.deepEqual([domain().TPL, domain().BACKEND, domain().PROXY], ['default', 'PHP-8_3', 'default']);
  assert.equal(run('v-change-web-domain-tpl', 'alice', 'site.example.org', 'hosting').code, 0);
  assert.equal(domain().TPL, 'hosting');
  assert.equal(run('v-change-web-domain-proxy-tpl', 'alice', 'site.example.org', 'caching', 'css,js', 'no').code, 0);
  assert.deepEqual([domain().PROXY, domain().PROXY_EXT], ['caching', 'css,js']);
  assert.equal(run('v-change-web-domain-proxy-tpl', 'alice', 'site.example.org', 'hosting').code, 0);
  assert.match(domain().PROXY_EXT, /^jpeg,jpg,png,.*,woff2$/, 'left out, the extensions are reset to the default list');
});

test('refusals: missing arguments 1, bad formats 2, unknown user, domain or template 3, suspended 5', () => {
  const { run, domain } = withSite();
  assert.equal(run('v-change-web-domain-tpl', 'alice', 'site.example.org').code, 1);
  assert.equal(run('v-change-web-domain-tpl', 'alice', 'site.example.org', '../x').code, 2);
  assert.equal(run('v-change-web-domain-proxy-tpl', 'alice', 'site.example.org', 'default', 'css;id').code, 2);
  assert.deepEqual(run('v-change-web-domain-tpl', 'bob', 'site.example.org', 'default').stdout, 'Error: user bob doesn\'t exist\n');
  assert.deepEqual(run('v-change-web-domain-tpl', 'alice', 'other.example.org', 'default').stdout, 'Error: web domain other.example.org doesn\'t exist\n');
  const missing = run('v-change-web-domain-backend-tpl', 'alice', 'site.example.org', 'PHP-8_4');
  assert.deepEqual([missing.code, missing.stdout], [3, 'Error: PHP-8_4 backend template doesn\'t exist\n']);
  assert.equal(run('v-suspend-web-domain', 'alice', 'site.example.org').code, 0);
  assert.equal(run('v-change-web-domain-tpl', 'alice', 'site.example.org', 'default').code, 5);
  assert.equal(run('v-unsuspend-web-domain', 'alice', 'site.example.org').code, 0);
  assert.equal(domain().BACKEND, 'default', 'nothing changed by a refusal');
});
