// Hostile domains and vanity names sent through the PHP module are refused with a readable error
// naming the field, nothing is written, and the nodes' command logs (and the PowerDNS call log)
// prove that no command ran anywhere: the canary. A good order afterwards shows the logs are live.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../helpers/db.ts';
import { ok, startE2E, type E2E, type Order } from './whmcs.ts';

const HOSTILE_DOMAINS: [string, string][] = [
  ['command separator', 'evil.com; touch /tmp/pwned'],
  ['command substitution', '$(reboot).example.com'],
  ['backticks', '`id`.example.com'],
  ['pipe', 'x.example.com|cat /etc/shadow'],
  ['quote break-out', "x.example.com' 'y"],
  ['newline', 'x.example.com\nv-delete-user admin'],
  ['leading dash', '-oProxyCommand=sh.example.com'],
  ['leading dash label', 'shop.-evil.com'],
  ['overlong label', `${'a'.repeat(64)}.example.com`],
  ['overlong name', `${Array.from({ length: 5 }, () => 'b'.repeat(60)).join('.')}.com`],
  ['IDN look-alike (Cyrillic а)', 'exаmple.com'],
  ['IDN look-alike (Greek ο)', 'gοogle.com'],
  ['glob', '*.example.com'],
  ['path', '../../etc/passwd'],
  ['empty', ''],
];

const HOSTILE_NAMES: [string, string][] = [
  ['command separator', 'bob;id'],
  ['command substitution', '$(id)'],
  ['leading dash', '-bob'],
  ['dot', 'bob.evil'],
  ['space', 'bob smith'],
  ['overlong', 'c'.repeat(64)],
  ['IDN look-alike (Cyrillic о)', 'bоb'],
  ['punycode', 'xn--bb-eka'],
  ['reserved name', 'www'],
  ['empty', ''],
];

for (const dialect of DIALECTS) {
  describe(`hostile input through the PHP module (${dialect})`, () => {
    let e: E2E;
    let logLengths: Record<string, number>;
    let pdnsCalls: number;
    let id = 7000;

    before(async () => {
      e = await startE2E({ dialect });
      logLengths = Object.fromEntries(e.fleet.nodes.map((n) => [n.name, n.ssh.commandLog().length]));
      pdnsCalls = e.fleet.pdns!.calls().length;
    });
    after(async () => { await e?.close(); });

    const refused = async (o: Order, field: RegExp) => {
      const r = await e.module('CreateAccount', o);
      assert.equal(typeof r, 'string');
      const text = r as string;
      assert.notEqual(text, 'success', `${JSON.stringify(o.domain)} / ${JSON.stringify(o.vanityName)} was accepted`);
      assert.match(text, /^hostbridge: /, text);
      assert.match(text, field, `the error names the field: ${text}`);
      assert.doesNotMatch(text, /unexpected error|stack|at \w+ \(|TypeError|SQL/i, `not a readable refusal: ${text}`);
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(text, /[\u0000-\u001f]/, 'control characters echoed back raw');
      assert.ok(text.length < 400, `a short message, got ${text.length} characters`);
      assert.equal(await e.db('mod_hostbridge_services').where('whmcs_service_id', o.serviceId).first('id'), undefined, 'a service row was written');
    };

    for (const [what, domain] of HOSTILE_DOMAINS) {
      test(`domain refused: ${what}`, async () => {
        await refused({ serviceId: ++id, mode: 'split', domain }, /domain/);
      });
    }
    for (const [what, name] of HOSTILE_NAMES) {
      test(`vanity name refused: ${what}`, async () => {
        await refused({ serviceId: ++id, mode: 'vanity', domain: 'whatever.example.com', vanityName: name }, /vanity_name/);
      });
    }

    test('no command ran on any node and PowerDNS got no call (the canary), and the logs are live', async () => {
      for (const n of e.fleet.nodes) {
        const since = n.ssh.commandLog().slice(logLengths[n.name]);
        assert.deepEqual(since.map((c) => c.command), [], `commands ran on ${n.name}`);
      }
      assert.equal(e.fleet.pdns!.calls().length, pdnsCalls, 'PowerDNS was called');
      // Only the scheduler's own health checks and usage syncs (no service) may be in the queue.
      assert.equal(Number((await e.db('mod_hostbridge_tasks').whereNotNull('service_id').count({ c: '*' }))[0]!.c), 0, 'tasks were queued for a service');
      // A good order right after runs commands, so an empty log above means nothing ran, not that nothing is logged.
      const good: Order = { serviceId: 7999, mode: 'split', domain: 'legit.example.com' };
      ok(await e.module('CreateAccount', good), 'good order');
      const s = await e.waitState(good.serviceId, ['active', 'failed'], 60_000);
      assert.equal(s.state, 'active');
      assert.ok(e.fleet.nodes.some((n) => n.ssh.commandLog().length > logLengths[n.name]!), 'the good order left no trace in the command logs');
      assert.ok(e.fleet.pdns!.calls().length > pdnsCalls);
      // And nothing the good order ran carries a hostile fragment.
      const all = e.fleet.nodes.flatMap((n) => n.ssh.commandLog().map((c) => c.command)).join('\n');
      for (const bad of ['touch', 'reboot', '`', '$(', 'shadow', 'ProxyCommand', '../']) assert.ok(!all.includes(bad), `"${bad}" reached a node`);
    });
  });
}
