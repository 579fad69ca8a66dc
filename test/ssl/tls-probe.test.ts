// The TLS probe of automatic SSL against real node:tls servers on 127.0.0.1 presenting certificates
// from the test CA (test/helpers/certs.ts): valid, expired, not yet valid, wrong or partial names,
// self-signed, from a CA nobody trusts; and servers that refuse, stall, or do not speak TLS.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { DAY, issueCert, makeCa, makeKey, type TestCa, type TestCert, type TestKey } from '../helpers/certs.ts';
import { freePort } from '../helpers/sshd.ts';
import { InputError } from '../../daemon/common/errors.ts';
import { probeTls, type TlsProbe } from '../../daemon/ssl/tls-probe.ts';

const NAMES = ['site.example', 'www.site.example'];
let ca: TestCa;
let strangerCa: TestCa;
let key: TestKey;
const servers: Server[] = [];

before(() => {
  ca = makeCa('hostbridge probe CA');
  strangerCa = makeCa('nobody trusts this CA');
  key = makeKey(); // one key for every leaf: RSA generation is the slow part
});
after(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

/** A TLS server presenting `c` (leaf then its issuer, as web servers send) to every client. */
async function serve(c: TestCert, opts: TlsOptions = {}): Promise<number> {
  return listen(createTlsServer({ key: c.key, cert: c.cert + (opts.cert === undefined ? c.chain : ''), ...opts }, (s) => s.end()));
}

function probe(port: number, extra: Partial<Parameters<typeof probeTls>[0]> = {}): Promise<TlsProbe> {
  return probeTls({ host: '127.0.0.1', port, servername: NAMES[0]!, names: NAMES, extraCa: [ca.cert], timeoutMs: 3000, ...extra });
}

describe('probeTls', () => {
  it('calls a trusted certificate covering every name valid, with its dates, issuer, names and fingerprint', async () => {
    const notAfter = new Date(Math.floor((Date.now() + 60 * DAY) / 1000) * 1000);
    const c = issueCert(ca, NAMES, { key, notAfter });
    const p = await probe(await serve(c));
    assert.equal(p.verdict, 'valid', p.detail);
    assert.match(p.detail, /^127\.0\.0\.1:\d+ serves a valid certificate for site\.example, www\.site\.example from hostbridge probe CA until /);
    assert.equal(p.notAfter?.getTime(), notAfter.getTime());
    assert.ok(p.notBefore && p.notBefore.getTime() < Date.now());
    assert.equal(p.issuer, 'CN=hostbridge probe CA, O=hostbridge tests');
    assert.deepEqual(p.names, NAMES);
    assert.equal(p.fingerprint256, new X509Certificate(c.cert).fingerprint256);
    assert.equal(p.authorizationError, null);
  });

  it('does not trust the test CA unless it is given as extraCa', async () => {
    const port = await serve(issueCert(ca, NAMES, { key }));
    const p = await probe(port, { extraCa: [] });
    assert.equal(p.verdict, 'untrusted');
    assert.match(p.detail, /from hostbridge probe CA that is not trusted \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)$/);
  });

  it('calls an expired certificate expired, with the moment it lapsed', async () => {
    const notAfter = new Date(Math.floor((Date.now() - 3 * DAY) / 1000) * 1000);
    const p = await probe(await serve(issueCert(ca, NAMES, { key, notBefore: new Date(Date.now() - 90 * DAY), notAfter })));
    assert.equal(p.verdict, 'expired');
    assert.equal(p.notAfter?.getTime(), notAfter.getTime());
    assert.match(p.detail, new RegExp(`certificate for site\\.example, www\\.site\\.example that expired at ${notAfter.toISOString().replace(/\./g, '\\.')}$`));
  });

  it('calls a certificate whose validity has not begun not yet valid', async () => {
    const notBefore = new Date(Math.floor((Date.now() + 2 * DAY) / 1000) * 1000);
    const p = await probe(await serve(issueCert(ca, NAMES, { key, notBefore, notAfter: new Date(Date.now() + 90 * DAY) })));
    assert.equal(p.verdict, 'not-yet-valid');
    assert.equal(p.notBefore?.getTime(), notBefore.getTime());
    assert.match(p.detail, /that is valid only from /);
  });

  it('judges the dates at `now` when given: expiring within a renewal margin, or not begun then', async () => {
    const port = await serve(issueCert(ca, NAMES, { key, notAfter: new Date(Date.now() + 10 * DAY) }));
    assert.equal((await probe(port)).verdict, 'valid');
    const later = await probe(port, { now: new Date(Date.now() + 30 * DAY) });
    assert.equal(later.verdict, 'expired');
    assert.match(later.detail, /that expires at .*, by /);
    assert.equal((await probe(port, { now: new Date(Date.now() - 2 * DAY) })).verdict, 'not-yet-valid');
  });

  it('calls a certificate for other names wrong-name, naming the names it misses', async () => {
    const port = await serve(issueCert(ca, ['other.example'], { key }));
    const p = await probe(port);
    assert.equal(p.verdict, 'wrong-name');
    assert.deepEqual(p.names, ['other.example']);
    assert.match(p.detail, /serves a certificate for other\.example, which does not cover site\.example, www\.site\.example$/);
  });

  it('calls a certificate covering only some of the names wrong-name, naming only the missing ones', async () => {
    const port = await serve(issueCert(ca, ['site.example', 'mail.site.example'], { key }));
    const p = await probe(port, { names: ['site.example', 'www.site.example', 'mail.site.example'] });
    assert.equal(p.verdict, 'wrong-name');
    assert.match(p.detail, /for site\.example, mail\.site\.example, which does not cover www\.site\.example$/);
    assert.equal((await probe(port, { names: ['Site.Example.', 'mail.site.example'] })).verdict, 'valid');
  });

  it('matches names against a wildcard as browsers do, and a wildcard name only against itself', async () => {
    const port = await serve(issueCert(ca, ['*.site.example'], { key }));
    assert.equal((await probe(port, { names: ['www.site.example', 'shop.site.example'] })).verdict, 'valid');
    assert.equal((await probe(port, { names: ['*.site.example'], servername: '*.site.example' })).verdict, 'valid');
    const p = await probe(port, { names: ['site.example', 'a.b.site.example'] });
    assert.equal(p.verdict, 'wrong-name');
    assert.match(p.detail, /does not cover site\.example, a\.b\.site\.example$/);
  });

  it('calls a self-signed certificate self-signed', async () => {
    const p = await probe(await serve(issueCert(null, NAMES, { key })));
    assert.equal(p.verdict, 'self-signed');
    assert.equal(p.authorizationError, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.equal(p.issuer, 'CN=site.example');
    assert.match(p.detail, /serves a self-signed certificate for site\.example, www\.site\.example until /);
  });

  it('calls a certificate from a CA nobody trusts untrusted, whether or not the server sends that CA', async () => {
    const c = issueCert(strangerCa, NAMES, { key });
    const withCa = await probe(await serve(c));
    assert.equal(withCa.verdict, 'untrusted');
    assert.equal(withCa.authorizationError, 'SELF_SIGNED_CERT_IN_CHAIN');
    assert.match(withCa.detail, /from nobody trusts this CA that is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\)$/);
    const leafOnly = await probe(await serve(c, { cert: c.cert }));
    assert.equal(leafOnly.verdict, 'untrusted');
    assert.equal(leafOnly.authorizationError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('sends the servername as SNI, so a server with several certificates is judged on the right one', async () => {
    const right = issueCert(ca, NAMES, { key });
    const fallback = issueCert(null, ['default.invalid'], { key });
    const seen: string[] = [];
    const port = await serve(fallback, {
      SNICallback: (name, cb) => {
        seen.push(name);
        cb(null, name === 'site.example' ? createSecureContext({ key: right.key, cert: right.cert + right.chain }) : undefined);
      },
    });
    assert.equal((await probe(port)).verdict, 'valid');
    assert.equal((await probe(port, { servername: 'other.example' })).verdict, 'self-signed');
    assert.deepEqual(seen, ['site.example', 'other.example']);
  });

  it('says unreachable when nothing listens', async () => {
    const port = await freePort();
    const p = await probe(port);
    assert.equal(p.verdict, 'unreachable');
    assert.equal(p.detail, `nothing answers on 127.0.0.1:${port} (connection refused)`);
    assert.deepEqual([p.notAfter, p.issuer, p.names, p.fingerprint256], [null, null, [], null]);
  });

  it('says unreachable within the timeout when a server accepts TCP but never answers TLS, and closes its socket', async () => {
    const accepted: Socket[] = [];
    const closed: Promise<void>[] = [];
    const port = await listen(createTcpServer((s) => {
      accepted.push(s);
      closed.push(new Promise((r) => s.once('close', () => r())));
      s.on('error', () => undefined);
      s.resume(); // read (and drop) the ClientHello, so the client's hang-up is seen
    }));
    const t0 = Date.now();
    const p = await probe(port, { timeoutMs: 500 });
    const took = Date.now() - t0;
    assert.equal(p.verdict, 'unreachable');
    assert.equal(p.detail, `no TLS answer from 127.0.0.1:${port} within 500 ms`);
    // Bounded by the timeout; the margin absorbs a busy machine.
    assert.ok(took >= 450 && took < 4000, `took ${took} ms`);
    assert.equal(accepted.length, 1);
    await Promise.race([closed[0], new Promise((_, rej) => setTimeout(() => rej(new Error('the probe left its socket open')), 4000))]);
  });

  it('says unreachable when the server hangs up during the handshake', async () => {
    const port = await listen(createTcpServer((s) => s.destroy()));
    const p = await probe(port);
    assert.equal(p.verdict, 'unreachable');
    assert.match(p.detail, /closed the connection before the TLS handshake ended|cannot be reached \(ECONNRESET\)/);
  });

  it('says no certificate when the port speaks plain HTTP instead of TLS', async () => {
    const http = createHttpServer((_, res) => res.end('hello'));
    const port = await listen(http);
    const p = await probe(port);
    assert.equal(p.verdict, 'no-certificate');
    assert.match(p.detail, new RegExp(`^127\\.0\\.0\\.1:${port} completed no TLS handshake: `));
  });

  it('refuses a bad port, names or timeout before connecting', async () => {
    const refused = (o: Partial<Parameters<typeof probeTls>[0]>, field: string) => assert.rejects(probe(443, o), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.equal(e.field, field);
      return true;
    });
    await refused({ port: 0 }, 'port');
    await refused({ names: [] }, 'names');
    await refused({ names: ['no such name'] }, 'names');
    await refused({ timeoutMs: -1 }, 'timeoutMs');
    await refused({ servername: '' }, 'servername');
    await refused({ extraCa: ['not a certificate'] }, 'extraCa');
    await refused({ extraCa: [ca.cert + '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'] }, 'extraCa');
  });
});
