import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPolicy, DEFAULT_RETRY_POLICY, hasAttemptsLeft, retryDelayMs, retryDelayRange, type RetryPolicy } from '../../daemon/engine/retry.ts';
import { classifyError, errorMessage, RetryableError, TerminalError } from '../../daemon/common/errors.ts';

const policy = (p: Partial<RetryPolicy> = {}): RetryPolicy => ({ maxAttempts: 5, baseMs: 1000, capMs: 60_000, jitter: 0, ...p });
/** A random() that returns the values given, in turn. */
const seq = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length];
};

describe('retryDelayMs', () => {
  test('without jitter the delay is min(cap, base·2^(n−1))', () => {
    const p = policy({ baseMs: 1000, capMs: 60_000 });
    const expected = [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000];
    expected.forEach((ms, i) => assert.equal(retryDelayMs(p, i + 1), ms, `after ${i + 1} failure(s)`));
    for (let n = 1; n <= 40; n++) assert.equal(retryDelayMs(p, n, Math.random), Math.min(60_000, 1000 * 2 ** (n - 1)));
  });

  test('0 failed attempts (or fewer) gives the base delay, not half of it', () => {
    const p = policy({ baseMs: 500 });
    assert.equal(retryDelayMs(p, 0), 500);
    assert.equal(retryDelayMs(p, -3), 500);
  });

  test('the delay stays within ±jitter of the unjittered delay, and uses both sides', () => {
    const p = policy({ baseMs: 1000, capMs: 100_000, jitter: 0.2 });
    for (let n = 1; n <= 10; n++) {
      const raw = Math.min(100_000, 1000 * 2 ** (n - 1));
      const [lo, hi] = [Math.round(raw * 0.8), Math.round(raw * 1.2)];
      let below = false;
      let above = false;
      for (let i = 0; i < 300; i++) {
        const d = retryDelayMs(p, n);
        assert.ok(d >= lo && d <= hi, `delay ${d} after ${n} failure(s) is outside [${lo}, ${hi}]`);
        assert.ok(Number.isInteger(d));
        if (d < raw) below = true;
        if (d > raw) above = true;
      }
      assert.ok(below && above, `jitter after ${n} failure(s) should spread both ways`);
    }
    // The extremes of random() map to the extremes of the range.
    assert.equal(retryDelayMs(p, 1, () => 0), 800);
    assert.equal(retryDelayMs(p, 1, () => 0.5), 1000);
    assert.equal(retryDelayMs(p, 1, () => 0.999999), 1200);
    assert.deepEqual(retryDelayRange(p, 3), [3200, 4800]);
  });

  test('the cap holds, give or take the jitter', () => {
    const p = policy({ baseMs: 30_000, capMs: 3_600_000, jitter: 0.2 });
    for (const n of [8, 9, 20, 50]) {
      assert.equal(retryDelayMs({ ...p, jitter: 0 }, n), 3_600_000);
      const d = retryDelayMs(p, n, seq(0.99));
      assert.ok(d <= 3_600_000 * 1.2 && d > 3_600_000, `${d}`);
    }
  });

  test('never negative, even with full jitter', () => {
    const p = policy({ baseMs: 10, capMs: 1000, jitter: 1 });
    for (let n = 1; n < 20; n++) {
      assert.equal(retryDelayMs(p, n, () => 0), 0);
      assert.ok(retryDelayMs(p, n) >= 0);
    }
    assert.equal(retryDelayMs(policy({ baseMs: 0, capMs: 0 }), 5), 0);
    // Even for a policy checkPolicy would refuse (jitter above 1), the delay is clamped at 0.
    const wild = policy({ baseMs: 1000, capMs: 1000, jitter: 1.5 });
    assert.equal(retryDelayMs(wild, 1, () => 0), 0);
    for (let i = 0; i < 100; i++) assert.ok(retryDelayMs(wild, 3) >= 0);
  });

  test('huge attempt counts do not overflow to Infinity or NaN', () => {
    const p = { ...DEFAULT_RETRY_POLICY };
    for (const n of [1024, 1025, 5000, 1e9, Number.MAX_SAFE_INTEGER]) {
      const d = retryDelayMs(p, n, () => 0.5);
      assert.ok(Number.isFinite(d), `delay after ${n} failures is ${d}`);
      assert.equal(d, p.capMs);
      assert.ok(retryDelayMs(p, n) <= p.capMs * (1 + p.jitter));
    }
    // A zero base must stay 0, not become 0·∞ = NaN.
    for (const n of [1100, 1e6, Number.MAX_SAFE_INTEGER]) assert.equal(retryDelayMs(policy({ baseMs: 0, capMs: 1000, jitter: 0.5 }), n), 0, `after ${n} failures`);
  });
});

describe('hasAttemptsLeft', () => {
  test('maxAttempts N allows N attempts in all', () => {
    const p = policy({ maxAttempts: 3 });
    assert.equal(hasAttemptsLeft(p, 0), true);
    assert.equal(hasAttemptsLeft(p, 1), true);
    assert.equal(hasAttemptsLeft(p, 2), true);
    assert.equal(hasAttemptsLeft(p, 3), false);
    assert.equal(hasAttemptsLeft(p, 4), false);
    assert.equal(hasAttemptsLeft(policy({ maxAttempts: 1 }), 1), false);
  });

  test('maxAttempts 0 is unlimited', () => {
    const p = policy({ maxAttempts: 0 });
    for (const n of [0, 1, 5, 1000, 1e9]) assert.equal(hasAttemptsLeft(p, n), true);
  });
});

describe('checkPolicy', () => {
  test('accepts good policies and returns them', () => {
    const p = policy();
    assert.equal(checkPolicy(p, 'x'), p);
    assert.equal(checkPolicy(DEFAULT_RETRY_POLICY, 'x'), DEFAULT_RETRY_POLICY);
    checkPolicy(policy({ maxAttempts: 0, baseMs: 0, capMs: 0, jitter: 1 }), 'x');
  });

  const bad: Array<[string, Partial<RetryPolicy>, string]> = [
    ['negative maxAttempts', { maxAttempts: -1 }, 'maxAttempts'],
    ['fractional maxAttempts', { maxAttempts: 2.5 }, 'maxAttempts'],
    ['NaN maxAttempts', { maxAttempts: NaN }, 'maxAttempts'],
    ['negative baseMs', { baseMs: -1 }, 'baseMs'],
    ['infinite baseMs', { baseMs: Infinity, capMs: Infinity }, 'baseMs'],
    ['capMs below baseMs', { baseMs: 1000, capMs: 999 }, 'capMs'],
    ['NaN capMs', { capMs: NaN }, 'capMs'],
    ['jitter above 1', { jitter: 1.5 }, 'jitter'],
    ['negative jitter', { jitter: -0.1 }, 'jitter'],
    ['NaN jitter', { jitter: NaN }, 'jitter'],
  ];
  for (const [what, p, field] of bad) {
    test(`refuses ${what}, naming ${field}`, () => {
      assert.throws(() => checkPolicy(policy(p), 'task type demo.thing'), (err: Error) => {
        assert.match(err.message, new RegExp(`^task type demo\\.thing: retry policy ${field} `));
        return true;
      });
    });
  }
});

describe('classifyError', () => {
  const withProps = (props: Record<string, unknown>) => Object.assign(new Error('boom'), props);

  test('network failures are retryable', () => {
    for (const code of ['ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', 'EHOSTUNREACH']) {
      assert.equal(classifyError(withProps({ code })), 'retryable', code);
    }
  });

  test('HTTP 5xx, 429 and 408 are retryable; other 4xx are terminal', () => {
    for (const status of [500, 502, 503, 504, 599, 429, 408]) {
      assert.equal(classifyError(withProps({ status })), 'retryable', `status ${status}`);
      assert.equal(classifyError(withProps({ statusCode: status })), 'retryable', `statusCode ${status}`);
    }
    for (const status of [400, 401, 403, 404, 409, 422]) {
      assert.equal(classifyError(withProps({ status })), 'terminal', `status ${status}`);
      assert.equal(classifyError(withProps({ statusCode: status })), 'terminal', `statusCode ${status}`);
    }
  });

  test('errors that say what they are win over codes and statuses', () => {
    assert.equal(classifyError(new TerminalError('bad plan')), 'terminal');
    assert.equal(classifyError(new RetryableError('busy')), 'retryable');
    assert.equal(classifyError(Object.assign(new TerminalError('refused'), { code: 'ECONNREFUSED', status: 503 })), 'terminal');
    assert.equal(classifyError(Object.assign(new RetryableError('odd'), { status: 400 })), 'retryable');
    assert.equal(classifyError({ kind: 'terminal' }), 'terminal');
  });

  test('ssh client-authentication failures are terminal', () => {
    assert.equal(classifyError(withProps({ level: 'client-authentication' })), 'terminal');
    assert.equal(classifyError(withProps({ level: 'client-socket' })), 'retryable');
  });

  test('unknown failures are retryable', () => {
    assert.equal(classifyError(new Error('something odd')), 'retryable');
    assert.equal(classifyError(withProps({ code: 'ENOENT' })), 'retryable');
    assert.equal(classifyError(withProps({ status: 302 })), 'retryable');
    assert.equal(classifyError('a string'), 'retryable');
    assert.equal(classifyError(null), 'retryable');
    assert.equal(classifyError(undefined), 'retryable');
  });

  test('errorMessage', () => {
    assert.equal(errorMessage(new TerminalError('bad plan')), 'bad plan');
    assert.equal(errorMessage(new TypeError('')), 'TypeError');
    assert.equal(errorMessage('plain'), 'plain');
    assert.equal(errorMessage(42), '42');
  });
});
