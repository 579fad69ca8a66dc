// A command whose output, exit status and close arrive together with the channel's confirmation
// (quick commands such as the pool's own `id -u`, busy servers): the pool must still see the exit
// status. An SSH server that answers every exec in the same tick as it accepts it makes that
// common; with listeners attached after an await, a fleet of 50 emulated nodes lost about one
// `id -u` exit status in ten.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import ssh2 from 'ssh2';
import type { AddressInfo } from 'node:net';
import { SshPool } from '../../daemon/drivers/hestia/ssh.ts';
import { ed25519KeyPair } from '../emulator/hestia/index.ts';

let server: ssh2.Server;
let port: number;

before(async () => {
  server = new ssh2.Server({ hostKeys: [ed25519KeyPair().private] }, (client) => {
    client.on('authentication', (ctx) => (ctx.method === 'password' && ctx.password === 'pw' ? ctx.accept() : ctx.reject(['password'])));
    client.on('session', (accept) => {
      accept().on('exec', (acceptExec, _reject, info) => {
        const ch = acceptExec();
        // Everything at once, in the order OpenSSH sends it: output, exit status, EOF and close.
        ch.write(info.command === 'id -u' ? '0\n' : info.command.includes('big') ? 'x'.repeat(200_000) + '\n' : 'ok\n');
        ch.exit(info.command.includes('fail') ? 3 : 0);
        ch.end();
        // Hold this process (the pool shares it) until all of that has left: the pool then reads
        // the confirmation and the whole answer at once, as from a busy server or link.
        setImmediate(() => { const until = Date.now() + 15; while (Date.now() < until) { /* busy */ } });
      });
    });
    client.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
});

test('the exit status of a command answered in the same read as its channel is never lost', async () => {
  const pool = new SshPool();
  try {
    const seen = { ok: 0, fail: 0, big: 0 };
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 6 }, async (_, i) => {
        const kind = (['ok', 'fail', 'big'] as const)[i % 3]!;
        const r = await pool.exec({ id: `c${i}`, host: '127.0.0.1', port, username: 'root', password: 'pw' }, `run ${kind}`);
        assert.equal(r.code, kind === 'fail' ? 3 : 0, `round ${round}, ${kind}: exit status`);
        if (kind === 'big') assert.equal(r.stdout.length, 200_001);
        else assert.equal(r.stdout, 'ok\n');
        seen[kind]++;
      }));
      // Fresh connections each round: each one starts with the pool's own `id -u`.
      for (let i = 0; i < 6; i++) await pool.close(`c${i}`);
    }
    assert.deepEqual(seen, { ok: 40, fail: 40, big: 40 });
  } finally {
    for (let i = 0; i < 6; i++) await pool.close(`c${i}`);
  }
});
