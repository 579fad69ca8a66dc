import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Daemon } from '../../daemon/runtime.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { signedHeaders, HEADER_SIGNATURE } from '../../daemon/api/signature.ts';
import { VERSION } from '../../daemon/version.ts';
import { tmpDir } from '../helpers/db.ts';
import { TEST_SECRET } from '../helpers/daemon.ts';

describe('HTTP API: /healthz and POST /v1/tick', () => {
  let dir: string;
  let daemon: Daemon;

  before(async () => {
    dir = tmpDir('hb-api-');
    daemon = await startTestDaemon(dir);
  });
  after(async () => {
    await daemon?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const post = (p: string, body: string, headers: Record<string, string> = {}) =>
    fetch(daemon.url + p, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

  test('the daemon listens on a port of its own on 127.0.0.1', () => {
    assert.match(daemon.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(daemon.url).port, '0');
  });

  test('GET /healthz needs no signature', async () => {
    const res = await fetch(daemon.url + '/healthz');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await res.json(), { ok: true, version: VERSION, database: 'up' });
  });

  test('GET /v1/status answers a signed request with the version, and refuses an unsigned one', async () => {
    const ok = await fetch(daemon.url + '/v1/status', { headers: signedHeaders(TEST_SECRET, 'GET', '/v1/status', '') });
    assert.equal(ok.status, 200);
    const body = await ok.json() as Record<string, any>;
    assert.deepEqual({ ...body, process: undefined }, { ok: true, version: VERSION, database: 'up', process: undefined });
    assert.equal(body.process.pid, process.pid, 'the daemon in this test runs in this process');
    assert.ok(body.process.rss_mb >= body.process.heap_used_mb && body.process.heap_used_mb > 0, JSON.stringify(body.process));
    const unsigned = await fetch(daemon.url + '/v1/status');
    assert.equal(unsigned.status, 401);
  });

  test('an unsigned tick is refused with 401 and a message', async () => {
    const res = await post('/v1/tick', '{}');
    assert.equal(res.status, 401);
    const body = await res.json() as { error: string };
    assert.match(body.error, /not signed/);
  });

  test('a tick signed with another secret is refused, naming the signature', async () => {
    const res = await post('/v1/tick', '{}', signedHeaders('another-secret-0123456789abcdef0123456789', 'POST', '/v1/tick', '{}'));
    assert.equal(res.status, 401);
    assert.match((await res.json() as { error: string }).error, /signature does not match/);
  });

  test('a tick whose body differs from the signed one is refused', async () => {
    const res = await post('/v1/tick', '{"x":1}', signedHeaders(TEST_SECRET, 'POST', '/v1/tick', '{}'));
    assert.equal(res.status, 401);
    assert.match((await res.json() as { error: string }).error, /signature/);
  });

  test('a correctly signed tick runs the scheduler; the same request replayed is refused', async () => {
    const headers = signedHeaders(TEST_SECRET, 'POST', '/v1/tick', '{}');
    const res = await post('/v1/tick', '{}', headers);
    assert.equal(res.status, 200);
    const body = await res.json() as { ok: boolean; jobs: Array<{ job: string; ran: boolean }>; log: string[] };
    assert.equal(body.ok, true);
    assert.ok(Array.isArray(body.log));
    const names = body.jobs.map((j) => j.job);
    assert.ok(names.includes('reap-expired-leases'), `jobs: ${names.join(', ')}`);
    assert.ok(names.includes('clean-completed-tasks'), `jobs: ${names.join(', ')}`);
    for (const j of body.jobs) assert.equal(typeof j.ran, 'boolean');

    const again = await post('/v1/tick', '{}', headers);
    assert.equal(again.status, 401);
    assert.match((await again.json() as { error: string }).error, /nonce already used/);
  });

  test('a signature with a garbled value is refused', async () => {
    const headers = signedHeaders(TEST_SECRET, 'POST', '/v1/tick', '{}');
    headers[HEADER_SIGNATURE] = headers[HEADER_SIGNATURE].replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'));
    const res = await post('/v1/tick', '{}', headers);
    assert.equal(res.status, 401);
  });

  test('an unknown /v1 route, signed, is a JSON 404; unsigned it is a 401', async () => {
    const res = await fetch(daemon.url + '/v1/nope', { headers: signedHeaders(TEST_SECRET, 'GET', '/v1/nope', '') });
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await res.json(), { error: 'no such route' });
    const unsigned = await fetch(daemon.url + '/v1/nope');
    assert.equal(unsigned.status, 401);
    const outside = await fetch(daemon.url + '/nowhere');
    assert.equal(outside.status, 404);
    assert.deepEqual(await outside.json(), { error: 'no such route' });
  });

  test('a body over 256 KB is refused with 413', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(300 * 1024) });
    const res = await post('/v1/tick', big, signedHeaders(TEST_SECRET, 'POST', '/v1/tick', big));
    assert.equal(res.status, 413);
    assert.match((await res.json() as { error: string }).error, /larger than 256 KB/);
    // A body just under the limit is read (and here refused for its missing signature, not its size).
    const fits = await post('/v1/tick', 'x'.repeat(255 * 1024));
    assert.equal(fits.status, 401);
  });

  test('the daemon still answers after the refused requests', async () => {
    const res = await fetch(daemon.url + '/healthz');
    assert.equal(res.status, 200);
  });
});
