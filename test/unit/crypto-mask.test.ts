import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { decryptSecret, encryptSecret } from '../../daemon/crypto/secretbox.ts';
import { globalMasker, MASK, Masker } from '../../daemon/log/mask.ts';
import { createLogger } from '../../daemon/log/logger.ts';

const KEY = crypto.randomBytes(32);
const PLAINTEXT = 'root-password: Tr0ub4dor&3 ünïcødé ✓';

/** Runs fn, which must throw; returns the error. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

describe('secretbox', () => {
  test('round trip, including an empty value and a long one', () => {
    for (const text of [PLAINTEXT, '', 'x'.repeat(100_000)]) {
      const stored = encryptSecret(KEY, text);
      assert.match(stored, /^v1:[A-Za-z0-9+/]+=*$/);
      assert.ok(!stored.includes(text) || text === '', 'the plaintext must not show in the stored form');
      assert.equal(decryptSecret(KEY, stored), text);
    }
  });

  test('the same value encrypts differently each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(encryptSecret(KEY, PLAINTEXT));
    assert.equal(seen.size, 20);
    for (const s of seen) assert.equal(decryptSecret(KEY, s), PLAINTEXT);
  });

  test('a master key of the wrong size is refused', () => {
    assert.throws(() => encryptSecret(crypto.randomBytes(16), PLAINTEXT), /master key must be 32 bytes/);
  });

  test('a wrong key fails without revealing the plaintext', () => {
    const stored = encryptSecret(KEY, PLAINTEXT);
    const err = thrown(() => decryptSecret(crypto.randomBytes(32), stored));
    assert.match(err.message, /cannot be decrypted with this master key/);
    assert.ok(!err.message.includes(PLAINTEXT) && !err.message.includes('Tr0ub4dor'), err.message);
    assert.ok(!String(err.stack).includes('Tr0ub4dor'));
  });

  test('any altered byte (iv, tag or ciphertext) is detected', () => {
    const stored = encryptSecret(KEY, PLAINTEXT);
    const raw = Buffer.from(stored.slice(3), 'base64');
    for (const at of [0, 11, 12, 27, 28, raw.length - 1]) {
      const bad = Buffer.from(raw);
      bad[at] ^= 0x01;
      const err = thrown(() => decryptSecret(KEY, 'v1:' + bad.toString('base64')));
      assert.match(err.message, /cannot be decrypted|altered/, `byte ${at}`);
      assert.ok(!err.message.includes('Tr0ub4dor'), err.message);
    }
    // A value cut short, and one of another format.
    assert.match(thrown(() => decryptSecret(KEY, 'v1:' + raw.subarray(0, 20).toString('base64'))).message, /truncated/);
    assert.match(thrown(() => decryptSecret(KEY, 'v2:' + raw.toString('base64'))).message, /unknown format/);
    assert.match(thrown(() => decryptSecret(KEY, PLAINTEXT)).message, /unknown format/);
    assert.ok(!thrown(() => decryptSecret(KEY, PLAINTEXT)).message.includes('Tr0ub4dor'));
  });
});

describe('Masker', () => {
  test('masks every occurrence of each secret', () => {
    const m = new Masker().add('hunter22').add('s3cr3t-token');
    assert.equal(m.mask('pw=hunter22 again hunter22, token s3cr3t-token.'), `pw=${MASK} again ${MASK}, token ${MASK}.`);
    assert.equal(m.mask('nothing here'), 'nothing here');
  });

  test('values shorter than 4 characters, empty, null and undefined are ignored', () => {
    const m = new Masker().add('abc').add('').add(null).add(undefined).add('abcd');
    assert.equal(m.mask('abc abcd ab'), `abc ${MASK} ab`);
  });

  test('a child masks its parent\'s secrets and its own; the parent does not learn the child\'s', () => {
    const parent = new Masker().add('parent-secret');
    const child = new Masker(parent).add('child-secret');
    const grandchild = new Masker(child).add('grand-secret');
    assert.equal(child.mask('parent-secret child-secret'), `${MASK} ${MASK}`);
    assert.equal(grandchild.mask('parent-secret child-secret grand-secret'), `${MASK} ${MASK} ${MASK}`);
    assert.equal(parent.mask('parent-secret child-secret'), `${MASK} child-secret`);
    // A secret added to the parent later is masked by existing children too.
    parent.add('late-secret');
    assert.equal(grandchild.mask('late-secret'), MASK);
  });
});

describe('logger', () => {
  function capture() {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    });
    return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
  }
  const flush = () => new Promise((r) => setImmediate(r));

  test('JSON lines with secrets from globalMasker masked in the message and string fields', async () => {
    const secret = `log-secret-${crypto.randomBytes(6).toString('hex')}`;
    globalMasker.add(secret);
    const out = capture();
    const logger = createLogger({ format: 'json', level: 'info', stream: out.stream });
    logger.info(`connecting with password ${secret}`, { user: 'root', detail: `token=${secret};`, attempt: 3 });
    logger.warn('plain warning');
    logger.debug(`below the level ${secret}`);
    await flush();
    const lines = out.lines();
    assert.equal(lines.length, 2, lines.join('\n'));
    const first = JSON.parse(lines[0]);
    assert.equal(first.level, 'info');
    assert.equal(first.message, `connecting with password ${MASK}`);
    assert.equal(first.detail, `token=${MASK};`);
    assert.equal(first.user, 'root');
    assert.equal(first.attempt, 3);
    assert.ok(typeof first.timestamp === 'string');
    assert.equal(JSON.parse(lines[1]).message, 'plain warning');
    assert.ok(!lines.join('\n').includes(secret));
  });

  test('text format masks too', async () => {
    const secret = `text-secret-${crypto.randomBytes(6).toString('hex')}`;
    globalMasker.add(secret);
    const out = capture();
    const logger = createLogger({ format: 'text', stream: out.stream });
    logger.error(`failed: ${secret}`, { field: secret });
    await flush();
    const lines = out.lines();
    assert.equal(lines.length, 1);
    assert.match(lines[0], /error +failed: \*{8} {2}field=\*{8}$/);
    assert.ok(!lines[0].includes(secret));
  });
});
