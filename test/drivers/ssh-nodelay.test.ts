// The pool's SSH connection sends with TCP_NODELAY. Each command is several small packets each
// way; with Nagle's algorithm on, a small write waits for the ACK of the one before, which the
// server may delay by 40 ms or more, so every command took ~45 ms on a loopback connection to the
// emulator (bench:deploy's fleet) instead of ~3 ms. The bound below sits between the two.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startHestiaNode, freshNode, type HestiaNodeHandle } from '../emulator/hestia/index.ts';
import { SshPool } from '../../daemon/drivers/hestia/index.ts';

const PASSWORD = 'nodelay-test-password';
let node: HestiaNodeHandle;
let dir: string;
const pool = new SshPool();

before(async () => {
  dir = freshNode().dir;
  node = await startHestiaNode({ dir, users: [{ username: 'root', password: PASSWORD, uid: 0 }] });
});

after(async () => {
  await pool.closeAll();
  await node?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('commands on a pooled connection are not held back by Nagle and delayed ACKs', async () => {
  const server = { id: 'nodelay', host: node.host, port: node.port, username: 'root', password: PASSWORD, hostKeySha256: node.hostKeySha256 };
  await pool.exec(server, '/usr/local/hestia/bin/v-list-users json'); // the connection, once
  const N = 20;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const r = await pool.exec(server, '/usr/local/hestia/bin/v-list-user admin json');
    assert.equal(r.code, 0, r.stderr);
  }
  const perCommand = (performance.now() - t0) / N;
  assert.equal(pool.connectCount('nodelay'), 1);
  // Nagle + delayed ACK costs ≥ 40 ms a command (Linux's minimum delayed-ACK time); a loaded CI
  // machine runs one in a few ms.
  assert.ok(perCommand < 25, `${perCommand.toFixed(1)} ms per command on a loopback connection: is TCP_NODELAY set on the SSH socket?`);
});
