// npm start runs the compiled daemon (scripts/build.sh → dist/). The build must run the same code
// as the sources: migrations apply, the API answers signed calls, and the pages find their
// templates through dist/'s links back into the checkout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { call } from './helpers/api.ts';
import { BUILT_SERVE, ROOT, daemonEnv, startDaemonProcess } from './helpers/daemon.ts';
import { tmpDir } from './helpers/db.ts';

test('the dist/ build migrates, serves the API and renders pages', async () => {
  const build = spawnSync('bash', [path.join(ROOT, 'scripts/build.sh')], { encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr + build.stdout);
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/daemon/cli.js')));
  const dir = tmpDir('hb-build-');
  const d = await startDaemonProcess(daemonEnv(path.join(dir, 'hostbridge.sqlite'), { HOSTBRIDGE_MIGRATE_ON_START: 'true' }), path.join(dir, 'daemon.log'), 30_000, BUILT_SERVE);
  try {
    const health = await fetch(`${d.url}/healthz`);
    assert.equal(health.status, 200);
    const status = await call(d.url, 'GET', '/v1/status');
    assert.equal(status.status, 200);
    assert.equal(status.body.process.pid, d.pid, 'the compiled daemon answered');
    const login = await fetch(`${d.url}/ui/login`);
    assert.equal(login.status, 200);
    assert.match(await login.text(), /<form[^>]*>[\s\S]*name="password"/);
    const css = await fetch(`${d.url}/ui/static/ui.css`);
    assert.equal(css.status, 200, 'static files resolve through dist/templates');
  } finally {
    await d.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
