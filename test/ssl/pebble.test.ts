// The TLS probe shown a certificate a real ACME CA issued: Debian's pebble (Let's Encrypt's test
// server) issues one through the minimal ACME client of test/helpers/acme-pebble.ts, a node:tls
// server presents it, and the probe trusts it only with pebble's root as extraCa.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:tls';
import { issue, startPebble, type Issued, type Pebble } from '../helpers/acme-pebble.ts';
import { probeTls } from '../../daemon/ssl/tls-probe.ts';

const NAMES = ['acme.example', 'www.acme.example'];
let pebble: Pebble;
let issued: Issued;
let server: Server;
let port: number;

before(async () => {
  pebble = await startPebble();
  issued = await issue(pebble, NAMES);
  server = createServer({ key: issued.key, cert: issued.chain }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
after(async () => {
  await new Promise((r) => server?.close(r));
  await pebble?.stop();
});

it('pebble issued a certificate for the names, with its intermediate', () => {
  const certs = issued.chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  assert.ok(certs.length >= 2, `expected leaf and intermediate, got ${certs.length}`);
  const leaf = new X509Certificate(certs[0]!);
  assert.equal(leaf.subjectAltName, 'DNS:acme.example, DNS:www.acme.example');
  assert.match(leaf.issuer, /Pebble Intermediate CA/);
});

it('the probe calls it valid with pebble\'s root as extraCa, and untrusted without', async () => {
  const root = await pebble.root();
  const p = await probeTls({ host: '127.0.0.1', port, servername: NAMES[0]!, names: NAMES, extraCa: [root], timeoutMs: 3000 });
  assert.equal(p.verdict, 'valid', p.detail);
  assert.deepEqual(p.names, NAMES);
  assert.match(p.issuer!, /CN=Pebble Intermediate CA/);
  assert.ok(p.notAfter && p.notAfter.getTime() > Date.now() + 7 * 86_400_000);
  const without = await probeTls({ host: '127.0.0.1', port, servername: NAMES[0]!, names: NAMES, timeoutMs: 3000 });
  assert.equal(without.verdict, 'untrusted');
  assert.equal(without.authorizationError, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
});
