import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, NonceMemory, REPLAY_WINDOW_S, sign, signedHeaders, stringToSign, verify, type Verdict,
} from '../../daemon/api/signature.ts';

const SECRET = 'signature-test-secret-0123456789abcdef';
const BODY = JSON.stringify({ service: 42, action: 'create' });

function expectRefused(v: Verdict, reason: RegExp): void {
  assert.equal(v.ok, false, 'the request should have been refused');
  if (!v.ok) assert.match(v.reason, reason);
}

describe('request signatures', () => {
  test('a request signed with signedHeaders verifies', async () => {
    const h = signedHeaders(SECRET, 'POST', '/v1/tick', BODY);
    assert.match(h[HEADER_TIMESTAMP], /^\d+$/);
    assert.match(h[HEADER_NONCE], /^[0-9a-f]{32}$/);
    assert.match(h[HEADER_SIGNATURE], /^v1=[0-9a-f]{64}$/);
    assert.deepEqual(await verify(SECRET, new NonceMemory(), 'POST', '/v1/tick', h, Buffer.from(BODY)), { ok: true });
    // The method is compared case-insensitively; an empty body is signed like any other.
    const g = signedHeaders(SECRET, 'get', '/v1/status?x=1', '');
    assert.deepEqual(await verify(SECRET, new NonceMemory(), 'GET', '/v1/status?x=1', g, Buffer.alloc(0)), { ok: true });
  });

  test('the signature is HMAC-SHA256 over method, path, timestamp, nonce and the body hash', async () => {
    const bodyHash = crypto.createHash('sha256').update(BODY).digest('hex');
    assert.equal(stringToSign('post', '/v1/x', '1700000000', 'n'.repeat(16), BODY), `POST\n/v1/x\n1700000000\n${'n'.repeat(16)}\n${bodyHash}`);
    const expected = 'v1=' + crypto.createHmac('sha256', SECRET).update(`POST\n/v1/x\n1700000000\n${'n'.repeat(16)}\n${bodyHash}`).digest('hex');
    assert.equal(sign(SECRET, 'POST', '/v1/x', '1700000000', 'n'.repeat(16), BODY), expected);
  });

  const cases: Array<[string, (h: Record<string, string>) => { secret?: string; method?: string; path?: string; body?: string; headers?: Record<string, string>; now?: number }, RegExp]> = [
    ['a wrong secret', () => ({ secret: SECRET + 'x' }), /signature does not match/],
    ['a changed body', () => ({ body: BODY.replace('42', '43') }), /signature does not match/],
    ['a changed path', () => ({ path: '/v1/tock' }), /signature does not match/],
    ['a path with a query added', () => ({ path: '/v1/tick?force=1' }), /signature does not match/],
    ['a changed method', () => ({ method: 'PUT' }), /signature does not match/],
    ['a garbled signature', (h) => ({ headers: { ...h, [HEADER_SIGNATURE]: h[HEADER_SIGNATURE].slice(0, -1) + (h[HEADER_SIGNATURE].endsWith('0') ? '1' : '0') } }), /signature does not match/],
    ['a signature of another length', (h) => ({ headers: { ...h, [HEADER_SIGNATURE]: 'v1=abc' } }), /signature does not match/],
    ['a timestamp more than 300 s old', (h) => ({ now: Number(h[HEADER_TIMESTAMP]) + REPLAY_WINDOW_S + 1 }), /outside the 300 s window/],
    ['a timestamp more than 300 s ahead', (h) => ({ now: Number(h[HEADER_TIMESTAMP]) - REPLAY_WINDOW_S - 1 }), /outside the 300 s window/],
    ['a timestamp that is not a number', (h) => ({ headers: { ...h, [HEADER_TIMESTAMP]: '2024-01-01T00:00:00Z' } }), /Timestamp must be Unix seconds/],
    ['no timestamp', (h) => ({ headers: { [HEADER_NONCE]: h[HEADER_NONCE], [HEADER_SIGNATURE]: h[HEADER_SIGNATURE] } }), /not signed/],
    ['no nonce', (h) => ({ headers: { [HEADER_TIMESTAMP]: h[HEADER_TIMESTAMP], [HEADER_SIGNATURE]: h[HEADER_SIGNATURE] } }), /not signed/],
    ['no signature', (h) => ({ headers: { [HEADER_TIMESTAMP]: h[HEADER_TIMESTAMP], [HEADER_NONCE]: h[HEADER_NONCE] } }), /not signed/],
    ['no headers at all', () => ({ headers: {} }), /not signed.*X-Hostbridge-Signature/],
    ['a nonce that is too short', (h) => ({ headers: { ...h, [HEADER_NONCE]: 'abc123' } }), /Nonce must be 16–128/],
    ['a nonce with bad characters', (h) => ({ headers: { ...h, [HEADER_NONCE]: 'abcdef0123456789/../' } }), /Nonce must be 16–128/],
  ];
  for (const [what, change, reason] of cases) {
    test(`refused: ${what}`, async () => {
      const h = signedHeaders(SECRET, 'POST', '/v1/tick', BODY);
      const now = Number(h[HEADER_TIMESTAMP]);
      const c = change(h);
      const v = await verify(c.secret ?? SECRET, new NonceMemory(), c.method ?? 'POST', c.path ?? '/v1/tick', c.headers ?? h, Buffer.from(c.body ?? BODY), c.now ?? now);
      expectRefused(v, reason);
    });
  }

  test('the edges of the window are accepted', async () => {
    const h = signedHeaders(SECRET, 'POST', '/v1/tick', BODY);
    const ts = Number(h[HEADER_TIMESTAMP]);
    assert.equal((await verify(SECRET, new NonceMemory(), 'POST', '/v1/tick', h, Buffer.from(BODY), ts + REPLAY_WINDOW_S)).ok, true);
    assert.equal((await verify(SECRET, new NonceMemory(), 'POST', '/v1/tick', h, Buffer.from(BODY), ts - REPLAY_WINDOW_S)).ok, true);
  });

  test('a replayed nonce is refused the second time, even for another request', async () => {
    const nonces = new NonceMemory();
    const h = signedHeaders(SECRET, 'POST', '/v1/tick', BODY);
    assert.deepEqual(await verify(SECRET, nonces, 'POST', '/v1/tick', h, Buffer.from(BODY)), { ok: true });
    expectRefused(await verify(SECRET, nonces, 'POST', '/v1/tick', h, Buffer.from(BODY)), /nonce already used/);
    expectRefused(await verify(SECRET, nonces, 'POST', '/v1/tick', h, Buffer.from(BODY)), /nonce already used/);

    // The same nonce, correctly signed for another path, is refused as well.
    const ts = h[HEADER_TIMESTAMP];
    const nonce = h[HEADER_NONCE];
    const other = { [HEADER_TIMESTAMP]: ts, [HEADER_NONCE]: nonce, [HEADER_SIGNATURE]: sign(SECRET, 'POST', '/v1/other', ts, nonce, '') };
    expectRefused(await verify(SECRET, nonces, 'POST', '/v1/other', other, Buffer.alloc(0)), /nonce already used/);

    // Another nonce is fine; a separate memory (another daemon) does not know the first.
    assert.equal((await verify(SECRET, nonces, 'POST', '/v1/tick', signedHeaders(SECRET, 'POST', '/v1/tick', BODY), Buffer.from(BODY))).ok, true);
    assert.equal((await verify(SECRET, new NonceMemory(), 'POST', '/v1/tick', h, Buffer.from(BODY))).ok, true);
  });

  test('a refused request does not use up its nonce', async () => {
    const nonces = new NonceMemory();
    const h = signedHeaders(SECRET, 'POST', '/v1/tick', BODY);
    expectRefused(await verify(SECRET, nonces, 'POST', '/v1/tick', h, Buffer.from('tampered')), /signature does not match/);
    assert.equal((await verify(SECRET, nonces, 'POST', '/v1/tick', h, Buffer.from(BODY))).ok, true);
  });

  test('array header values (repeated headers) use the first', async () => {
    const h = signedHeaders(SECRET, 'POST', '/v1/tick', BODY);
    const arr = { ...h, [HEADER_NONCE]: [h[HEADER_NONCE], 'ffffffffffffffffffff'] };
    assert.equal((await verify(SECRET, new NonceMemory(), 'POST', '/v1/tick', arr, Buffer.from(BODY))).ok, true);
  });

  test('NonceMemory forgets nonces once their window has passed', async () => {
    const m = new NonceMemory();
    assert.equal(m.remember('nonce-aaaaaaaaaaaaaaaa', 1000), true);
    assert.equal(m.remember('nonce-aaaaaaaaaaaaaaaa', 1000 + 2 * REPLAY_WINDOW_S), false);
    assert.equal(m.remember('nonce-aaaaaaaaaaaaaaaa', 1000 + 2 * REPLAY_WINDOW_S + 1), true);
  });
});
