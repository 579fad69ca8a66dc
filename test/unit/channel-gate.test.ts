// The SSH channel gate's memory of a refusal: sshd refusing a channel lowers the connection's limit
// to what it held at that moment, and the gate asks again after a back-off even while every channel
// of ours stays open, because sshd may have refused only for a channel it had not yet let go of.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelGate } from '../../daemon/drivers/hestia/channel-gate.ts';

const opts = () => ({ deadline: Date.now() + 10_000, onTimeout: () => new Error('timeout'), onAbort: () => new Error('aborted') });

describe('the channel gate after a refusal', () => {
  // The gate's timers do not hold a daemon open; this keeps the test's event loop alive meanwhile.
  let alive: NodeJS.Timeout;
  before(() => { alive = setInterval(() => {}, 1_000); });
  after(() => clearInterval(alive));

  test('a waiting command asks again after the back-off, without any channel of ours closing', async () => {
    const gate = new ChannelGate(8);
    await gate.acquire(opts());
    await gate.acquire(opts()); // two long commands hold their channels
    await gate.acquire(opts());
    gate.refused(); // sshd refused the third (it still held a channel that had just closed)
    assert.equal(gate.limit, 2, 'the limit is what sshd showed it takes');
    const t0 = Date.now();
    let granted = 0;
    const third = gate.acquire(opts()).then(() => { granted = Date.now() - t0; });
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(granted, 0, 'not at once: sshd just refused');
    await third;
    assert.ok(granted >= 90 && granted < 1_000, `asked again after the back-off, not when a long command ends: ${granted} ms`);
    assert.equal(gate.inUse, 3, 'the two long commands and the one that asked again');
    gate.close();
  });

  test('refusals in a row double the back-off; an idle connection forgets them', async () => {
    const gate = new ChannelGate(8);
    await gate.acquire(opts());
    await gate.acquire(opts());
    await gate.acquire(opts());
    gate.refused(); // 100 ms
    await gate.acquire(opts()); // asked again after 100 ms …
    gate.refused(); // … refused again: 200 ms
    const t0 = Date.now();
    await gate.acquire(opts());
    const waited = Date.now() - t0;
    assert.ok(waited >= 180, `the second back-off is longer: ${waited} ms`);
    for (let i = 0; i < 3; i++) gate.release();
    assert.equal(gate.inUse, 0);
    assert.equal(gate.limit, 8, 'idle: the configured limit again');
    gate.close();
  });
});
