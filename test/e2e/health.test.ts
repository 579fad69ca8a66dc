// Server health: the check-servers job queues one server.check task per active server; each
// records whether the server answered, its version, OS, load and uptime, shown by GET /v1/servers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Daemon } from '../../daemon/runtime.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { tmpDir, waitFor } from '../helpers/db.ts';
import { call } from '../helpers/api.ts';
import { registerFleet, startEmulatedFleet, type EmulatedFleet, type RegisteredFleet } from '../helpers/fleet.ts';

let dir: string;
let daemon: Daemon;
let fleet: EmulatedFleet;
let reg: RegisteredFleet;

before(async () => {
  dir = tmpDir('hb-health-');
  daemon = await startTestDaemon(dir);
  fleet = await startEmulatedFleet({ web: 1, mail: 1, dns: 0, combo: 0, pdns: true });
  reg = await registerFleet(daemon.url, fleet);
});
after(async () => {
  await daemon?.stop();
  await fleet?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function check(): Promise<Record<string, any>> {
  const before = Date.now();
  const r = await daemon.core.scheduler.runNow('check-servers', () => {});
  assert.equal(r.result, 'ok', r.message);
  const ids = Object.values(reg.ids);
  return waitFor('every server checked', async () => {
    const servers = (await call(daemon.url, 'GET', '/v1/servers')).body.servers as Array<Record<string, any>>;
    const mine = servers.filter((s) => ids.includes(s.id));
    return mine.every((s) => s.health && s.health.checked_at >= before) ? Object.fromEntries(mine.map((s) => [s.name, s.health])) : null;
  });
}

test('each server is checked with one read, and an unreachable one is reported as such', async () => {
  const web = fleet.web[0]!;
  const commandsBefore = web.ssh.commandLog().length;
  const first = await check();
  assert.deepEqual(Object.keys(first).sort(), ['mail1', 'pdns', 'web1']);
  assert.equal(first.web1.ok, true);
  assert.match(first.web1.version, /^HestiaCP \d+\.\d+/);
  assert.match(first.web1.load, /\d/);
  assert.equal(first.pdns.ok, true);
  assert.match(first.pdns.version, /^PowerDNS \d/);
  const ran = web.ssh.commandLog().slice(commandsBefore).filter((e) => e.ran).map((e) => (e.argv ?? []).at(-2) ?? '');
  assert.deepEqual(ran.filter((c) => c.startsWith('v-') || c.endsWith('v-list-sys-info')).length, 1, `one Hestia read per check: ${JSON.stringify(ran)}`);

  await web.setDown(true);
  try {
    const second = await check();
    assert.equal(second.web1.ok, false);
    assert.match(second.web1.error, /ECONNREFUSED|ECONNRESET|connect|closed/i);
    assert.equal(second.mail1.ok, true, 'the other servers are unaffected');
  } finally {
    await web.setDown(false);
  }
  assert.equal((await check()).web1.ok, true);
});
