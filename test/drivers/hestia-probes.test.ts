// Existence probes that HestiaCP does not log as errors (issue 15, defect 6a): findUser,
// userExists and findPackage read listings that succeed whether or not the object exists, where
// v-list-user / v-list-user-package of a missing one fail through check_result and add an
// `[Error 3]` line to $HESTIA/log/error.log. Driver → in-process SSH emulator.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode, paths, runHestia, startHestiaNode, type HestiaNodeHandle } from '../emulator/hestia/index.ts';
import { HestiaDriver, SshPool, hasHestiaCode } from '../../daemon/drivers/hestia/index.ts';

const PASSWORD = 'root-pass-probes';
let work: string;
let node: HestiaNodeHandle;
const pool = new SshPool();

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hb-probes-'));
  const dir = join(work, 'node');
  createNode(dir, { hostname: 'web1.example.net', ip: '192.0.2.10', roles: { web: true, mail: true } });
  assert.equal(runHestia(dir, 'v-add-user', ['carol', 'Carol-pw-1', 'carol@example.com']).code, 0);
  node = await startHestiaNode({ dir, users: [{ username: 'root', password: PASSWORD, uid: 0 }] });
});

after(async () => {
  await pool.closeAll();
  await node?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const driver = () => new HestiaDriver(pool, { id: 'probes', host: node.host, port: node.port, username: 'root', password: PASSWORD, hostKeySha256: node.hostKeySha256 });
const errorLog = () => readFileSync(paths.errorLog(node.dir), 'utf8');

describe('existence probes', () => {
  it('answer for present and missing objects without a line in error.log', async () => {
    const d = driver();
    assert.equal(await d.userExists('carol'), true);
    assert.equal(await d.userExists('nobody'), false);
    assert.equal((await d.findUser('carol'))?.CONTACT, 'carol@example.com');
    assert.equal(await d.findUser('nobody'), null);
    assert.equal((await d.findPackage('default'))?.SHELL, 'nologin');
    assert.equal(await d.findPackage('hb-missing'), null);
    assert.equal(errorLog(), '');
  });

  it('where the single-object listing of a missing user is an error Hestia logs', async () => {
    await assert.rejects(driver().listUser('nobody'), (err) => hasHestiaCode(err, 'E_NOTEXIST'));
    assert.match(errorLog(), /v-list-user  'nobody' 'json' \[Error 3\]\n$/);
  });
});
