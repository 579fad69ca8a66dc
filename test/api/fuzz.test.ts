// 10,000 malformed, oversized, wrongly typed and hostile signed requests against the API: every
// answer must be a 4xx with a message naming the problem, from the check the request aims at
// (never a 5xx, nor a signature refusal or an unknown route hiding the check), and nothing may be
// written (every table keeps its row count and content hash, but the replay memory, which every
// signed request adds to, and the scheduler's job bookkeeping, which its own timer updates).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Daemon } from '../../daemon/runtime.ts';
import { startTestDaemon } from '../helpers/inprocess.ts';
import { tmpDir } from '../helpers/db.ts';
import { writeSetting } from '../../daemon/settings/settings.ts';
import { addTestFleet, call, createBody, type TestFleet } from '../helpers/api.ts';
import { seededRandom } from '../helpers/random.ts';

const COUNT = 10_000;


const HOSTILE_STRINGS = [
  '$(id)', '`id`', 'a;rm -rf /', 'a|b', 'a&b', 'a>b', 'a<b', "it's", '"quoted"', '\\back', '-rf', '--help', '-',
  'a\nb', 'a\rb', 'a\u0000b', 'tab\there', '\u202eevil', 'pаypal', 'ｅxample', 'xn--', '..', '.', '', ' ',
  'a'.repeat(64), 'a'.repeat(300), `${'b'.repeat(63)}.`.repeat(5) + 'com', '*', '%s%n', '${jndi:ldap://x}', '<script>alert(1)</script>',
];
const HOSTILE_DOMAINS = [
  '$(id).example.com', '`id`.example.com', 'a;b.example.com', 'a|b.com', 'a&b.com', '-lead.example.com', 'trail-.example.com',
  `${'x'.repeat(64)}.com`, `${'y'.repeat(250)}.com`, 'exa mple.com', 'example..com', '.example.com', 'example.com.', 'example',
  'www.example.com', '192.168.1.1', 'пример.рф', 'xn--.com', 'exa_mple.com', 'example.com/evil', 'example.com\nx', '*.example.com',
  'EXAMPLE.COM;', "exa'mple.com", 'exa"mple.com', 'a$b.com', '-', '--', '',
];
const WRONG_TYPES: unknown[] = [null, true, false, 0, -1, 1.5, 1e300, -2147483649, 2147483648, '12', '', [], [1], {}, { a: 1 }, 'x'.repeat(2000)];

type Kind = 'missing field' | 'wrong type' | 'hostile domain' | 'hostile option' | 'hostile vanity' | 'unknown field' | 'oversized' | 'not JSON'
  | 'wrong content type' | 'lifecycle' | 'unknown route' | 'hostile server' | 'hostile group' | 'several broken';
type Case = { kind: Kind; method: string; path: string; body: unknown; raw?: boolean; contentType?: string };

/**
 * The answers each kind of request may get: the refusal of the check it aims at. A 401 (signature)
 * or a 404 "no such route" is a 4xx with a message too, and would hide every check behind it.
 */
const EXPECTED: Record<Kind, number[]> = {
  'missing field': [422], 'wrong type': [422], 'hostile domain': [422], 'hostile option': [422], 'hostile vanity': [422],
  'unknown field': [422], 'hostile server': [422], 'hostile group': [422], 'several broken': [422],
  oversized: [413, 422], // over 256 KB: the body parser; under: the field's length
  'not JSON': [400, 422], // not JSON: the parser; JSON but not an object: the body check
  'wrong content type': [415],
  lifecycle: [400, 422], // a bad id in the path, or a bad body
  'unknown route': [404],
};

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

/** Sets obj[key] to value where obj may be nested by a dotted path. */
function setPath(obj: Record<string, any>, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) o = o[p] = typeof o[p] === 'object' && o[p] !== null ? { ...o[p] } : {};
  o[parts.at(-1)!] = value;
}

function makeCase(i: number, fleet: TestFleet): Case {
  const r = seededRandom(0x5eed + i);
  const sid = 100_000 + i;
  const base = createBody(sid, fleet.groupId) as Record<string, any>;
  const kind = Math.floor(r() * 14);
  switch (kind) {
    case 0: { // a required field missing
      const b = { ...base };
      delete b[pick(r, ['whmcs_service_id', 'client_id', 'product_id', 'password', 'server_group_id', 'product'])];
      return { kind: 'missing field', method: 'POST', path: '/v1/services', body: b };
    }
    case 1: { // a wrong type in any field
      const b = structuredClone(base);
      const field = pick(r, ['whmcs_service_id', 'client_id', 'product_id', 'domain', 'username', 'password', 'email', 'server_group_id', 'product', 'config_options', 'custom_fields']);
      let v = pick(r, WRONG_TYPES);
      // Keep only values that are wrong for the field's type.
      if (['domain', 'username', 'password', 'email'].includes(field) && typeof v === 'string') v = 12345;
      if (['whmcs_service_id', 'product_id', 'server_group_id'].includes(field) && Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 2147483647) v = 'twelve';
      if (field === 'client_id' && Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 2147483647) v = -5;
      if (['product', 'config_options', 'custom_fields'].includes(field) && typeof v === 'object' && v !== null && !Array.isArray(v)) v = 'not an object';
      b[field] = v;
      return { kind: 'wrong type', method: 'POST', path: '/v1/services', body: b };
    }
    case 2: // a hostile domain
      return { kind: 'hostile domain', method: 'POST', path: '/v1/services', body: { ...base, domain: pick(r, HOSTILE_DOMAINS) } };
    case 3: { // hostile text in a product option, a configurable option or a custom field
      const b = structuredClone(base);
      const where = pick(r, ['product.configoption1', 'product.configoption6', 'product.configoption7', 'product.configoption8', 'config_options.web_disk_quota', 'config_options.mail_disk_quota']);
      setPath(b, where, pick(r, HOSTILE_STRINGS.filter((s) => s.trim() !== '')));
      return { kind: 'hostile option', method: 'POST', path: '/v1/services', body: b };
    }
    case 4: { // a hostile vanity order
      const b = createBody(sid, fleet.groupId, {
        domain: '', config_options: { vanity_domain: r() < 0.5 ? 'sites.example.net' : pick(r, HOSTILE_DOMAINS) },
        custom_fields: { vanity_name: pick(r, [...HOSTILE_STRINGS.filter((s) => s !== 'pаypal'), 'admin', 'www', 'mail', 'ａlice']) },
      }, { configoption1: 'vanity' });
      return { kind: 'hostile vanity', method: 'POST', path: '/v1/services', body: b };
    }
    case 5: // an unknown field, at the top or inside product
      return r() < 0.5
        ? { kind: 'unknown field', method: 'POST', path: '/v1/services', body: { ...base, [pick(r, ['__proto__x', 'constructor', 'isAdmin', 'shell', 'extra'])]: 1 } }
        : { kind: 'unknown field', method: 'POST', path: '/v1/services', body: { ...base, product: { ...base.product, configoption25: 'x' } } };
    case 6: { // oversized bodies and strings
      const big = r() < 0.3 ? 'z'.repeat(300 * 1024) : 'z'.repeat(2000 + Math.floor(r() * 5000));
      const field = pick(r, ['domain', 'password', 'username', 'email']);
      return { kind: 'oversized', method: 'POST', path: '/v1/services', body: { ...base, [field]: big } };
    }
    case 7: { // not JSON, or JSON that is not an object
      const raw = pick(r, ['{', '{"whmcs_service_id":1,}', 'null', '[]', '"text"', '42', 'true', '{"a":' + '['.repeat(5000), '\u0000\u0001', '<xml/>', "{'single': 1}"]);
      return { kind: 'not JSON', method: 'POST', path: '/v1/services', body: raw, raw: true };
    }
    case 8: // a wrong content type
      return { kind: 'wrong content type', method: 'POST', path: '/v1/services', body: JSON.stringify(base), raw: true, contentType: pick(r, ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) };
    case 9: { // lifecycle calls with bad bodies or hostile path parts
      const op = pick(r, ['suspend', 'unsuspend', 'terminate', 'change-package', 'change-password', 'actions/redeploy', 'actions/verify-repair', 'actions/force-terminate', 'actions/sync-usage']);
      const id = r() < 0.3 ? pick(r, ['0', '-1', 'abc', '1e3', '99999999999', '%24(id)', '1;2']) : String(sid);
      const body = op === 'change-password' ? { password: pick(r, ['', 'a\nb', 'x'.repeat(200), 12, null]) } : op === 'suspend' ? { reason: pick(r, [12, null, 'a\u0000b', 'x'.repeat(2000)]) } : { unexpected: pick(r, HOSTILE_STRINGS) };
      return { kind: 'lifecycle', method: 'POST', path: `/v1/services/${id}/${op}`, body };
    }
    case 10: { // unknown operations and routes
      const path = pick(r, ['/v1/services/1/rm', '/v1/services/1/actions/rm%20-rf', '/v1/services/1/actions/..%2F..', '/v1/admin', '/v1/servers/abc', '/v1/nothing', '/v1/services/1/actions/']);
      return { kind: 'unknown route', method: 'POST', path, body: {} };
    }
    case 11: { // hostile servers
      const b: Record<string, unknown> = { name: 'n' + i, driver: 'hestiacp', hostname: 'h.test.invalid', ip: '192.0.2.1', username: 'root', password: 'secret-pw', capabilities: { web: true } };
      const field = pick(r, ['hostname', 'ip', 'username', 'driver', 'port', 'hestia_bin', 'host_key_sha256', 'capabilities', 'name']);
      b[field] = field === 'port' ? pick(r, [0, 70000, '22', -1]) : field === 'capabilities' ? pick(r, [{ web: 'yes' }, { root: true }, [], {}]) : field === 'name' ? pick(r, ['', 'a\nb', 'x'.repeat(300)]) : pick(r, HOSTILE_STRINGS.filter((s) => !(field === 'username' && s === 'xn--')));
      if (field === 'capabilities' && JSON.stringify(b.capabilities) === '{}') b.capabilities = { web: false };
      return { kind: 'hostile server', method: 'POST', path: '/v1/servers', body: b };
    }
    case 12: { // hostile server groups
      const b: Record<string, unknown> = { name: 'g' + i };
      const field = pick(r, ['nameservers', 'servers', 'dns_servers', 'vanity_domains', 'reserved_names', 'name']);
      b[field] = field === 'servers' || field === 'dns_servers' ? pick(r, [[0], ['1'], [1, 1], [999999], 'all'])
        : field === 'vanity_domains' ? [{ domain: pick(r, HOSTILE_DOMAINS) }]
          : field === 'name' ? pick(r, ['', 'a\u0007b', 'x'.repeat(400)])
            : [pick(r, HOSTILE_STRINGS)];
      return { kind: 'hostile group', method: 'POST', path: '/v1/server-groups', body: b };
    }
    default: { // several fields broken at once
      const b = structuredClone(base);
      b.domain = pick(r, HOSTILE_DOMAINS);
      b.whmcs_service_id = pick(r, WRONG_TYPES.filter((v) => !(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 2147483647)));
      b.product.configoption1 = pick(r, HOSTILE_STRINGS);
      return { kind: 'several broken', method: 'POST', path: '/v1/services', body: b };
    }
  }
}

async function snapshot(daemon: Daemon): Promise<Record<string, string>> {
  const db = daemon.core.db;
  const tables = (await db.raw(`select name from sqlite_master where type = 'table' and name like 'mod_hostbridge_%' and name not in ('mod_hostbridge_api_nonces', 'mod_hostbridge_jobs') order by name`)).map((t: { name: string }) => t.name);
  const out: Record<string, string> = {};
  for (const t of tables) {
    const rows = await db(t).select('*');
    out[t] = `${rows.length}:${crypto.createHash('sha256').update(JSON.stringify(rows)).digest('hex')}`;
  }
  return out;
}

describe('fuzz: hostile bodies are refused with a 4xx naming the problem, and change nothing', () => {
  let dir: string;
  let daemon: Daemon;
  let fleet: TestFleet;

  before(async () => {
    dir = tmpDir('hb-fuzz-');
    daemon = await startTestDaemon(dir);
    await daemon.engine.stop(1000);
    fleet = await addTestFleet(daemon.url);
    // A live service too, so lifecycle calls reach a real row.
    const r = await call(daemon.url, 'POST', '/v1/services', createBody(100_000 + 9, fleet.groupId));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // The daemon's own scheduler queues usage syncs and health checks for the servers. Let it do
    // that once, before the snapshot, and not again during the run: only requests are judged.
    for (const job of ['sync-usage', 'check-servers']) await writeSetting(daemon.core.db, `scheduler.${job}.interval_s`, '86400');
    await daemon.core.settings.refresh();
    await daemon.core.scheduler.pass(() => {});
  });
  after(async () => {
    await daemon?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test(`${COUNT} hostile requests`, { timeout: 600_000 }, async () => {
    const before = await snapshot(daemon);
    const statuses = new Map<number, number>();
    const byKind = new Map<Kind, Map<number, number>>();
    const failures: string[] = [];
    const BATCH = 8;
    for (let i = 0; i < COUNT; i += BATCH) {
      await Promise.all(Array.from({ length: Math.min(BATCH, COUNT - i) }, async (_, k) => {
        const n = i + k;
        const c = makeCase(n, fleet);
        let status: number;
        let body: any;
        if (c.raw || c.contentType) {
          const { signedHeaders } = await import('../../daemon/api/signature.ts');
          const { TEST_SECRET } = await import('../helpers/daemon.ts');
          const text = String(c.body);
          const res = await fetch(daemon.url + c.path, { method: c.method, body: text, headers: { ...signedHeaders(TEST_SECRET, c.method, c.path, text), 'content-type': c.contentType ?? 'application/json' } });
          status = res.status;
          const t = await res.text();
          try { body = JSON.parse(t); } catch { body = t; }
        } else {
          ({ status, body } = await call(daemon.url, c.method, c.path, c.body));
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const tally = byKind.get(c.kind) ?? byKind.set(c.kind, new Map()).get(c.kind)!;
        tally.set(status, (tally.get(status) ?? 0) + 1);
        const problem = status < 400 || status > 499 ? `status ${status}`
          : typeof body !== 'object' || typeof body?.error !== 'string' || body.error.length < 8 ? 'no error message'
            : status === 422 && body.field === undefined && !/must be a JSON object|neither Web nor Mail|does not exist/.test(body.error) ? 'a 422 that names no field' : null;
        if (problem && failures.length < 20) failures.push(`#${n} ${c.method} ${c.path} ${JSON.stringify(c.body).slice(0, 160)} → ${status} ${JSON.stringify(body).slice(0, 200)} (${problem})`);
      }));
    }
    const after = await snapshot(daemon);
    const summary = [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ');
    console.log(`fuzz: ${COUNT} requests; statuses ${summary}`);
    assert.deepEqual(failures, [], `requests not refused properly (statuses ${summary})`);
    const misjudged: string[] = [];
    for (const kind of Object.keys(EXPECTED) as Kind[]) {
      const got = byKind.get(kind);
      if (!got) misjudged.push(`${kind}: never sent`);
      for (const [status, n] of got ?? []) if (!EXPECTED[kind].includes(status)) misjudged.push(`${kind}: ${n}× ${status}, expected ${EXPECTED[kind].join(' or ')}`);
    }
    assert.deepEqual(misjudged, [], 'requests refused by another check than the one they aim at');
    // The snapshot holds the tables (the live service among them), so an unchanged one means something.
    assert.match(before.mod_hostbridge_services ?? '', /^1:/, `the snapshot misses the live service: ${JSON.stringify(before)}`);
    assert.deepEqual(after, before, 'a refused request wrote something');
  });
});
