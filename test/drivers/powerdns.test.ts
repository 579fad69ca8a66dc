// The PowerDNS driver against Debian's real pdns_server (gsqlite3) on loopback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startPdns, type Pdns } from '../helpers/pdns.ts';
import { PowerDnsClient, PowerDnsRetryableError, PowerDnsTerminalError, ZoneExistsError, ZoneNotFoundError, canonical, txtContent } from '../../daemon/drivers/powerdns/index.ts';
import { classifyError } from '../../daemon/common/errors.ts';
import { MASK } from '../../daemon/log/mask.ts';

let pdns: Pdns;
before(async () => { pdns = await startPdns(); });
after(async () => { await pdns?.stop(); });

function client(lines: string[] = [], apiKey?: string) {
  return new PowerDnsClient({ url: pdns.url, apiKey: apiKey ?? pdns.apiKey, timeoutMs: 5000 }, { log: (l) => lines.push(l) });
}

describe('PowerDNS driver', () => {
  it('reports the server on health', async () => {
    const h = await client().health();
    assert.equal(h.daemon_type, 'authoritative');
    assert.equal(h.id, 'localhost');
  });

  it('creates a zone, refuses a repeat with a distinct exists error, lists it', async () => {
    const c = client();
    const z = await c.createZone('Example.org', 'Native', ['ns1.example.org', 'ns2.example.org.']);
    assert.equal(z.name, 'example.org.');
    assert.equal(z.kind, 'Native');
    await assert.rejects(c.createZone('example.org.', 'Native', ['ns1.example.org']), (err: unknown) => {
      assert.ok(err instanceof ZoneExistsError);
      assert.equal(err.status, 409);
      assert.equal(err.zone, 'example.org.');
      assert.equal(classifyError(err), 'terminal');
      return true;
    });
    const zones = await c.listZones();
    assert.ok(zones.some((x) => x.name === 'example.org.'));
    const ns = (await c.getZone('example.org'))!.rrsets!.find((r) => r.type === 'NS')!;
    assert.deepEqual(ns.records.map((r) => r.content).sort(), ['ns1.example.org.', 'ns2.example.org.']);
  });

  it('replaces A, MX and TXT rrsets, reads them back, deletes one', async () => {
    const c = client();
    await c.createZone('rr.example', 'Master', ['ns1.rr.example']);
    await c.patchRRsets('rr.example', [
      { name: 'www.rr.example', type: 'A', changetype: 'REPLACE', ttl: 300, records: [{ content: '192.0.2.10' }, { content: '192.0.2.11' }] },
      { name: 'rr.example', type: 'MX', changetype: 'REPLACE', records: [{ content: '10 mail.rr.example.' }] },
      { name: 'rr.example', type: 'TXT', changetype: 'REPLACE', records: [{ content: 'v=spf1 a mx -all' }] },
    ]);
    let zone = (await c.getZone('rr.example.'))!;
    const find = (name: string, type: string) => zone.rrsets!.find((r) => r.name === name && r.type === type);
    assert.deepEqual(find('www.rr.example.', 'A')!.records.map((r) => r.content).sort(), ['192.0.2.10', '192.0.2.11']);
    assert.equal(find('www.rr.example.', 'A')!.ttl, 300);
    assert.equal(find('rr.example.', 'MX')!.records[0]!.content, '10 mail.rr.example.');
    assert.equal(find('rr.example.', 'TXT')!.records[0]!.content, '"v=spf1 a mx -all"');
    // REPLACE again is idempotent and replaces the whole set.
    await c.patchRRsets('rr.example', [{ name: 'www.rr.example', type: 'A', changetype: 'REPLACE', ttl: 300, records: [{ content: '192.0.2.12' }] }]);
    await c.patchRRsets('rr.example', [{ name: 'rr.example', type: 'MX', changetype: 'DELETE' }]);
    await c.patchRRsets('rr.example', [{ name: 'rr.example', type: 'MX', changetype: 'DELETE' }]);
    zone = (await c.getZone('rr.example'))!;
    assert.deepEqual(find('www.rr.example.', 'A')!.records.map((r) => r.content), ['192.0.2.12']);
    assert.equal(find('rr.example.', 'MX'), undefined);
    await c.notify('rr.example');
  });

  it('reports invalid content as terminal with the server message (422)', async () => {
    const c = client();
    await c.createZone('bad.example', 'Native', ['ns1.bad.example']);
    await assert.rejects(c.patchRRsets('bad.example', [{ name: 'www.other.example', type: 'A', changetype: 'REPLACE', records: [{ content: '192.0.2.1' }] }]), (err: unknown) => {
      assert.ok(err instanceof PowerDnsTerminalError);
      assert.equal(err.status, 422);
      assert.match(err.serverMessage, /out of zone/i);
      return true;
    });
  });

  it('deletes a zone; a missing zone is null on get and a distinct not-found on delete', async () => {
    const c = client();
    await c.createZone('gone.example', 'Native', ['ns1.gone.example']);
    await c.deleteZone('gone.example');
    assert.equal(await c.getZone('gone.example'), null);
    await assert.rejects(c.deleteZone('gone.example'), (err: unknown) => {
      assert.ok(err instanceof ZoneNotFoundError);
      assert.equal(err.status, 404);
      assert.equal(classifyError(err), 'terminal');
      return true;
    });
    await assert.rejects(c.patchRRsets('gone.example', [{ name: 'gone.example', type: 'A', changetype: 'DELETE' }]), ZoneNotFoundError);
  });

  it('a wrong API key is terminal (401, text/plain body) and no key appears in logs or errors', async () => {
    const wrongKey = 'wrong-key-' + 'x'.repeat(12);
    const lines: string[] = [];
    await assert.rejects(client(lines, wrongKey).listZones(), (err: unknown) => {
      assert.ok(err instanceof PowerDnsTerminalError);
      assert.equal(err.status, 401);
      assert.equal(classifyError(err), 'terminal');
      assert.match(err.message, /401: Unauthorized/);
      assert.ok(!err.message.includes(wrongKey) && !err.message.includes(pdns.apiKey));
      return true;
    });
    assert.ok(lines.length > 0);
    assert.ok(!lines.join('\n').includes(wrongKey));
    // A key that leaks into a URL or a message is masked.
    assert.throws(() => new PowerDnsClient({ url: `not a url ${wrongKey}`, apiKey: wrongKey }), (e: Error) => e.message.includes(MASK) && !e.message.includes(wrongKey));
  });

  it('helpers: canonical names and quoted TXT', () => {
    assert.equal(canonical('Example.COM'), 'example.com.');
    assert.equal(txtContent('v=spf1 -all'), '"v=spf1 -all"');
    assert.equal(txtContent('say "hi"'), '"say \\"hi\\""');
    assert.equal(txtContent('"already"'), '"already"');
    assert.equal(txtContent('a'.repeat(300)), `"${'a'.repeat(255)}" "${'a'.repeat(45)}"`);
  });

  it('a stopped server is retryable', async () => {
    const url = pdns.url;
    await pdns.stop();
    const c = new PowerDnsClient({ url, apiKey: 'k'.repeat(10), timeoutMs: 2000 });
    await assert.rejects(c.health(), (err: unknown) => {
      assert.ok(err instanceof PowerDnsRetryableError);
      assert.equal(classifyError(err), 'retryable');
      assert.match((err as Error).message, /ECONNREFUSED/);
      return true;
    });
  });
});
