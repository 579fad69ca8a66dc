// Versions that match, from the daemon's side: every signed call names the WHMCS module's version
// (X-Hostbridge-Module-Version); a module of another line, or one too old to send the header, is
// refused with a 4xx that says which versions go together, and nothing is written for it. The
// unsigned /healthz, the endpoint a human diagnoses with, needs neither signature nor version.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Daemon } from '../../daemon/runtime.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { signedHeaders } from '../../daemon/api/signature.ts';
import { checkModuleVersion, compatibleLine, HEADER_MODULE_VERSION, versionsCompatible } from '../../daemon/api/module-version.ts';
import { VERSION } from '../../daemon/version.ts';
import { T } from '../../daemon/common/tables.ts';
import { tmpDir } from '../helpers/db.ts';
import { TEST_SECRET } from '../helpers/daemon.ts';
import { addTestFleet, createBody } from '../helpers/api.ts';

/** A version of another line than v: the next minor for 0.x, the next major otherwise. */
function otherLine(v: string): string {
  const [major, minor] = v.split('.').map(Number) as [number, number];
  return major === 0 ? `0.${minor + 1}.0` : `${major + 1}.0.0`;
}

/** The same line as v, another patch. */
function samePatchLine(v: string): string {
  const [major, minor] = v.split('.').map(Number) as [number, number];
  return `${major}.${minor}.999`;
}

describe('the compatibility rule: same major, and for 0.x the same minor', () => {
  test('1.x goes with 1.x, not 2.x', () => {
    assert.equal(versionsCompatible('1.0.0', '1.9.4'), true);
    assert.equal(versionsCompatible('1.2.3', '2.0.0'), false);
    assert.equal(compatibleLine('1.7.0'), '1.x');
  });
  test('0.x needs the same minor', () => {
    assert.equal(versionsCompatible('0.3.0', '0.3.8'), true);
    assert.equal(versionsCompatible('0.3.0', '0.4.0'), false);
    assert.equal(versionsCompatible('0.9.0', '1.0.0'), false);
    assert.equal(compatibleLine('0.3.2'), '0.3.x');
  });
  test('pre-releases belong to their line; anything that is not a version goes with nothing', () => {
    assert.equal(versionsCompatible('0.3.0-rc.1', '0.3.0'), true);
    for (const bad of ['', '0.3', 'v0.3.0', '0.3.0.1', 'latest', '0.3.x']) assert.equal(versionsCompatible(bad, '0.3.0'), false, bad);
  });
  test('a daemon 1.4.2 accepts module 1.0.0, refuses 2.0.0 and 0.9.0 naming both versions', () => {
    assert.deepEqual(checkModuleVersion('1.0.0', '1.4.2'), { ok: true });
    for (const sent of ['2.0.0', '0.9.0']) {
      const v = checkModuleVersion(sent, '1.4.2');
      assert.equal(v.ok, false);
      if (v.ok) return;
      assert.equal(v.status, 409);
      assert.match(v.body.error, new RegExp(`the WHMCS module ${sent.replace(/\./g, '\\.')} does not go with hostbridge daemon 1\\.4\\.2: the daemon 1\\.4\\.2 works with the module 1\\.x`));
      assert.equal(v.body.compatible_modules, '1.x');
      assert.equal(v.body.module_version, sent);
    }
  });
});

describe('HTTP API: X-Hostbridge-Module-Version', () => {
  let dir: string;
  let daemon: Daemon;
  let groupId: number;

  before(async () => {
    dir = tmpDir('hb-version-');
    daemon = await startTestDaemon(dir);
    groupId = (await addTestFleet(daemon.url)).groupId;
  });
  after(async () => {
    await daemon?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A signed request whose version header is `version` (null: none at all, as an older module sends). */
  async function send(method: string, p: string, version: string | null, body?: unknown): Promise<{ status: number; body: any }> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = { ...signedHeaders(TEST_SECRET, method, p, text), ...(text ? { 'content-type': 'application/json' } : {}) };
    if (version === null) delete headers[HEADER_MODULE_VERSION];
    else headers[HEADER_MODULE_VERSION] = version;
    const res = await fetch(daemon.url + p, { method, headers, body: text || undefined });
    return { status: res.status, body: await res.json() };
  }
  const services = async () => Number((await daemon.core.db(T.services).count({ n: '*' }).first())!.n);

  test('the module of this release, or another patch of its line, is let through', async () => {
    assert.equal((await send('GET', '/v1/status', VERSION)).status, 200);
    const r = await send('GET', '/v1/status', samePatchLine(VERSION));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.version, VERSION);
  });

  test('a module of another line is refused on every signed route, naming which versions go together', async () => {
    const other = otherLine(VERSION);
    const before = await services();
    for (const [method, p, body] of [['GET', '/v1/status'], ['POST', '/v1/services', createBody(9101, groupId)], ['POST', '/v1/tick', {}]] as const) {
      const r = await send(method, p, other, body);
      assert.equal(r.status, 409, `${method} ${p}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'module_version');
      assert.equal(r.body.daemon_version, VERSION);
      assert.equal(r.body.module_version, other);
      assert.equal(r.body.compatible_modules, compatibleLine(VERSION));
      assert.ok(r.body.error.includes(`the WHMCS module ${other} does not go with hostbridge daemon ${VERSION}`), r.body.error);
      assert.ok(r.body.error.includes(`works with the module ${compatibleLine(VERSION)}`), r.body.error);
    }
    assert.equal(await services(), before, 'nothing was written for a refused CreateAccount');
  });

  test('a request without the header is refused the same way, as an older module', async () => {
    const before = await services();
    for (const [method, p, body] of [['GET', '/v1/status'], ['POST', '/v1/services', createBody(9102, groupId)]] as const) {
      const r = await send(method, p, null, body);
      assert.equal(r.status, 409, `${method} ${p}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'module_version');
      assert.equal(r.body.module_version, null);
      assert.ok(r.body.error.includes('sent no version'), r.body.error);
      assert.ok(r.body.error.includes(`hostbridge daemon ${VERSION} works with the module ${compatibleLine(VERSION)}`), r.body.error);
    }
    assert.equal(await services(), before);
  });

  test('a header that is not a version is a 400 that names it', async () => {
    const r = await send('GET', '/v1/status', 'latest; rm -rf /');
    assert.equal(r.status, 400);
    assert.match(r.body.error, /X-Hostbridge-Module-Version must be a version such as .*, got "latest; rm -rf \/"/);
  });

  test('the signature comes first: an unsigned call gets 401 whatever its version', async () => {
    const res = await fetch(daemon.url + '/v1/status', { headers: { [HEADER_MODULE_VERSION]: otherLine(VERSION) } });
    assert.equal(res.status, 401);
  });

  test('GET /healthz, the endpoint a human diagnoses with, needs neither signature nor version, and says the version', async () => {
    const res = await fetch(daemon.url + '/healthz');
    assert.equal(res.status, 200);
    assert.equal((await res.json()).version, VERSION);
  });

  test('a CreateAccount of the right version still goes through', async () => {
    const r = await send('POST', '/v1/services', VERSION, createBody(9103, groupId));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.created, true);
  });
});
