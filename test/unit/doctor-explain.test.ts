// How hostbridge doctor reads a failed server check: the message decides the line and its fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explain, type ServerLine } from '../../daemon/doctor/fleet.ts';

const server = (port: number, driver = 'hestia'): ServerLine =>
  ({ id: 3, name: 'bravo', driver, hostname: '127.0.0.1', ip: '192.0.2.11', port, status: 'active', credential: null });

test('a refused connection on a port whose digits hold 401 or 403 reads as unreachable, not as a refused credential', () => {
  for (const port of [34403, 14013, 40301, 401]) {
    const where = `127.0.0.1 (192.0.2.11) port ${port}`;
    const r = explain('server bravo', server(port), where, new Error(`ssh root@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`));
    assert.equal(r.status, 'fail');
    assert.match(r.what, new RegExp(`^bravo is unreachable at 127\\.0\\.0\\.1 \\(192\\.0\\.2\\.11\\) port ${port}: `), `port ${port}: ${r.what}`);
    assert.match(r.fix ?? '', /sshd listens on port/);
  }
});

test('an HTTP 401 or 403 and a failed SSH authentication read as a refused credential', () => {
  const cases: Array<[string, string]> = [
    ['powerdns', 'PowerDNS answered HTTP 401: Unauthorized'],
    ['powerdns', 'PowerDNS answered 403 Forbidden'],
    ['hestia', 'All configured authentication methods failed'],
  ];
  for (const [driver, message] of cases) {
    const r = explain('server bravo', server(8081, driver), 'where', new Error(message));
    assert.match(r.what, /refuses the stored credential/, message);
  }
});
