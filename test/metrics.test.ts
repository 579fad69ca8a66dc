// GET /metrics scraped during real deployments (an order through the PHP module onto the emulated
// fleet): the attempt counters, the duration histograms and the queue's gauges move as the tasks
// run; a deployment that fails for good moves the failure counter of its type and server. Every
// scrape is read with a Prometheus text-format parser, not with regular expressions. The endpoint
// is refused without the token, never prints the token, serves only on its own listener when one
// is set, and says how to turn it on when neither is configured.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import knex from 'knex';
import parsePrometheusTextFormat, { type PromFamily, type PromSample } from 'parse-prometheus-text-format';
import { DaemonMetrics } from '../daemon/metrics/metrics.ts';
import { VERSION } from '../daemon/version.ts';
import { ConfigError, loadConfig } from '../daemon/config/config.ts';
import { createTestDb, DIALECTS, type TestDb } from './helpers/db.ts';
import { recordingHooks } from './helpers/engine.ts';
import { createServiceWithChain } from '../daemon/engine/chains.ts';
import { claimDue } from '../daemon/engine/sql/claim.ts';
import { finishFailed } from '../daemon/engine/sql/finish-failed.ts';
import { startDaemonWorld } from './helpers/world.ts';
import { ok, startE2E, type E2E, type Order } from './e2e/whmcs.ts';

const TOKEN = 'scrape-token-7c1e0f9a2b4d';

interface Scrape {
  text: string;
  /** The families as the parser reads the scrape. */
  families: Map<string, PromFamily>;
  /**
   * Every series by its own name (x_bucket, x_sum, x_count). parse-prometheus-text-format folds a
   * labelled histogram into one sample without its labels (its flattenMetrics keeps only `le`), so
   * histograms are also parsed from a copy whose `# TYPE x histogram` lines say untyped: the parser
   * then reads each _bucket, _sum and _count sample with all its labels.
   */
  series: Map<string, PromFamily>;
}

function read(text: string): Scrape {
  const untyped = text.split('\n').map((line) => {
    const words = line.split(' ');
    return words[0] === '#' && words[1] === 'TYPE' && words[3] === 'histogram' ? `# TYPE ${words[2]} untyped` : line;
  }).join('\n');
  // Untyped, a histogram's series come as one family per run of lines: x_bucket, x_sum, x_count, x_bucket again…
  const series = new Map<string, PromFamily>();
  for (const f of parsePrometheusTextFormat(untyped)) {
    const seen = series.get(f.name);
    if (seen) seen.metrics.push(...f.metrics);
    else series.set(f.name, f);
  }
  return { text, families: new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f])), series };
}

async function scrape(url: string, token: string | null = TOKEN): Promise<Scrape> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const r = await fetch(`${url}/metrics`, { headers });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return read(text);
}

function family(s: Scrape, name: string): PromFamily {
  const f = s.families.get(name);
  assert.ok(f, `${name} is missing from the scrape; it has ${[...s.families.keys()].join(', ')}`);
  return f;
}

const matches = (m: PromSample, labels: Record<string, string>) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v);

/** The sum of a counter's or gauge's samples whose labels include these (0 when none: a series not born yet). */
function total(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  const f = s.families.get(name);
  return (f?.metrics ?? []).filter((m) => matches(m, labels)).reduce((n, m) => n + Number(m.value), 0);
}

/** A histogram's observation count (or sum) over the series whose labels include these. */
function histogram(s: Scrape, name: string, labels: Record<string, string> = {}, part: 'count' | 'sum' = 'count'): number {
  const f = s.families.get(name);
  if (f) assert.equal(f.type, 'HISTOGRAM');
  return (s.series.get(`${name}_${part}`)?.metrics ?? []).filter((m) => matches(m, labels)).reduce((n, m) => n + Number(m.value), 0);
}
const histogramCount = (s: Scrape, name: string, labels: Record<string, string> = {}) => histogram(s, name, labels, 'count');

/** A sample value as the text format allows it: a number, NaN or ±Inf. */
const isSampleValue = (v: string | undefined) => v !== undefined && (Number.isFinite(Number(v)) || ['nan', '+inf', '-inf', 'inf'].includes(v.toLowerCase()));

/** Every family typed and explained, as a strict reader (promtool check metrics) wants. */
function assertStrict(s: Scrape): void {
  assert.ok(s.families.size > 20, `only ${s.families.size} families`);
  for (const f of s.families.values()) {
    assert.notEqual(f.type, 'UNTYPED', `${f.name} has no # TYPE line`);
    assert.ok(f.help.trim().length > 0, `${f.name} has no # HELP text`);
    assert.match(f.name, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
    if (f.type === 'COUNTER') assert.ok(f.name.endsWith('_total'), `counter ${f.name} should end in _total`);
    if (f.type === 'HISTOGRAM') {
      // Each series has its +Inf bucket, a sum and a count, and the +Inf bucket holds every observation.
      const key = (m: PromSample) => JSON.stringify(Object.entries(m.labels ?? {}).filter(([k]) => k !== 'le').sort());
      const counts = new Map((s.series.get(`${f.name}_count`)?.metrics ?? []).map((m) => [key(m), Number(m.value)]));
      const sums = new Set((s.series.get(`${f.name}_sum`)?.metrics ?? []).map(key));
      const infs = (s.series.get(`${f.name}_bucket`)?.metrics ?? []).filter((m) => m.labels?.le === '+Inf');
      assert.equal(infs.length, counts.size, `${f.name}: ${infs.length} +Inf buckets for ${counts.size} counts`);
      for (const m of infs) {
        assert.equal(Number(m.value), counts.get(key(m)), `${f.name} ${key(m)}: the +Inf bucket and the count differ`);
        assert.ok(sums.has(key(m)), `${f.name} ${key(m)}: no _sum`);
      }
    } else {
      for (const m of f.metrics) assert.ok(isSampleValue(m.value), `${f.name} ${JSON.stringify(m)}: not a sample value`);
    }
  }
}

for (const dialect of DIALECTS) {
  describe(`GET /metrics during deployments (${dialect})`, () => {
    let e: E2E;
    before(async () => { e = await startE2E({ dialect, daemonEnv: { HOSTBRIDGE_METRICS_TOKEN: TOKEN } }); });
    after(async () => { await e?.close(); });

    const tasksOf = async (serviceId: number) => {
      const svc = await e.db('mod_hostbridge_services').where('whmcs_service_id', serviceId).first('id');
      return (await e.db('mod_hostbridge_tasks').where('service_id', svc.id).select('type', 'target', 'status', 'attempts')) as Array<{ type: string; target: string | null; status: string; attempts: number }>;
    };

    test('a deployment moves the attempt counters, the histograms and the task gauges; the output parses strictly', async () => {
      const first = await scrape(e.url);
      assertStrict(first);
      const o: Order = { serviceId: 7001, mode: 'split', domain: 'metrics.example.com' };
      ok(await e.module('CreateAccount', o), 'CreateAccount');
      const svc = await e.waitState(o.serviceId, ['active', 'failed'], 60_000);
      assert.equal(svc.state, 'active', JSON.stringify(await e.tasks(o.serviceId)).slice(0, 4000));
      const second = await scrape(e.url);
      assertStrict(second);
      assert.ok(!second.text.includes(TOKEN), 'the token is in the scrape');

      const tasks = await tasksOf(o.serviceId);
      assert.ok(tasks.length >= 5, `the deployment ran ${tasks.length} task(s)`);
      // Each task type of the chain: its attempts counter grew by at least its tasks' attempts, and
      // its succeeded tasks are counted in the state gauge.
      for (const type of new Set(tasks.map((t) => t.type))) {
        const mine = tasks.filter((t) => t.type === type);
        const attempts = mine.reduce((n, t) => n + t.attempts, 0);
        const grew = total(second, 'hostbridge_task_attempts_total', { type }) - total(first, 'hostbridge_task_attempts_total', { type });
        assert.ok(grew >= attempts, `attempts of ${type} grew by ${grew}, its tasks made ${attempts}`);
        const succeeded = total(second, 'hostbridge_tasks', { type, state: 'succeeded' }) - total(first, 'hostbridge_tasks', { type, state: 'succeeded' });
        assert.ok(succeeded >= mine.length, `succeeded ${type} tasks grew by ${succeeded}, expected ${mine.length}`);
        assert.ok(histogramCount(second, 'hostbridge_task_attempt_duration_seconds', { type, outcome: 'succeeded' }) > histogramCount(first, 'hostbridge_task_attempt_duration_seconds', { type, outcome: 'succeeded' }), `attempt histogram of ${type}`);
      }
      // Per server: every server a task ran against has its attempts counted under its label, which hostbridge_server_info names.
      for (const target of new Set(tasks.map((t) => t.target).filter((t): t is string => t !== null))) {
        assert.ok(total(second, 'hostbridge_task_attempts_total', { server: target, outcome: 'succeeded' }) > total(first, 'hostbridge_task_attempts_total', { server: target, outcome: 'succeeded' }), `attempts on ${target}`);
        const info = family(second, 'hostbridge_server_info').metrics.find((m) => m.labels?.server === target);
        assert.ok(info && e.reg.names[Number(target.slice('server:'.length))] === info.labels?.name, `${target} is named by hostbridge_server_info: ${JSON.stringify(info)}`);
      }
      assert.equal(histogramCount(second, 'hostbridge_chain_duration_seconds', { operation: 'deploy', outcome: 'succeeded' }) - histogramCount(first, 'hostbridge_chain_duration_seconds', { operation: 'deploy', outcome: 'succeeded' }), 1, 'one deploy chain observed');
      const took = histogram(second, 'hostbridge_chain_duration_seconds', { operation: 'deploy', outcome: 'succeeded' }, 'sum');
      assert.ok(took > 0 && took < 60, `deploy took ${took} s`);
      // Nothing waits once the deployment is done; the fleet's SSH connections are held open for the next command.
      assert.equal(total(second, 'hostbridge_queue_due_tasks'), 0);
      assert.equal(total(second, 'hostbridge_queue_lag_seconds'), 0);
      assert.ok(total(second, 'hostbridge_ssh_connections_open') >= 2, `${total(second, 'hostbridge_ssh_connections_open')} SSH connections open`);
      assert.equal(total(second, 'hostbridge_database_up'), 1);
      assert.equal(total(second, 'hostbridge_engine_running_tasks'), 0);
      // The scheduler's jobs (run once by startE2E) and the process's own figures.
      assert.ok(total(second, 'hostbridge_scheduler_job_last_finished_timestamp_seconds', { job: 'check-servers' }) > Date.now() / 1000 - 600);
      assert.equal(total(second, 'hostbridge_scheduler_job_interval_seconds', { job: 'check-servers' }), 86400);
      assert.ok(total(second, 'process_cpu_seconds_total') > 0);
      assert.ok(total(second, 'nodejs_heap_size_used_bytes') > 0);
    });

    test('a deployment that fails for good moves the failure counter of its type and server, and the ticket backlog', async () => {
      await e.setting('retry.max_attempts', '2');
      await e.setting('retry.base_ms', '100');
      await e.setting('retry.cap_ms', '200');
      const first = await scrape(e.url);
      for (const m of e.fleet.mail) await m.setDown(true);
      const o: Order = { serviceId: 7002, mode: 'split', domain: 'doomed-metrics.example.com' };
      try {
        ok(await e.module('CreateAccount', o), 'CreateAccount');
        const svc = await e.waitState(o.serviceId, ['failed', 'active'], 30_000);
        assert.equal(svc.state, 'failed');
      } finally {
        for (const m of e.fleet.mail) await m.setDown(false);
      }
      const second = await scrape(e.url);
      const failed = (await tasksOf(o.serviceId)).filter((t) => t.status === 'failed');
      assert.equal(failed.length, 1, JSON.stringify(failed));
      const { type, target } = failed[0]!;
      assert.ok(target !== null, 'the failed step ran against a server');
      assert.equal(total(second, 'hostbridge_task_failures_total', { type, server: target }) - total(first, 'hostbridge_task_failures_total', { type, server: target }), 1);
      assert.equal(total(second, 'hostbridge_task_attempts_total', { type, server: target, outcome: 'retry' }) - total(first, 'hostbridge_task_attempts_total', { type, server: target, outcome: 'retry' }), 1);
      assert.equal(total(second, 'hostbridge_task_attempts_total', { type, server: target, outcome: 'failed' }) - total(first, 'hostbridge_task_attempts_total', { type, server: target, outcome: 'failed' }), 1);
      assert.equal(histogramCount(second, 'hostbridge_chain_duration_seconds', { operation: 'deploy', outcome: 'failed' }) - histogramCount(first, 'hostbridge_chain_duration_seconds', { operation: 'deploy', outcome: 'failed' }), 1);
      assert.ok(total(second, 'hostbridge_tasks', { state: 'failed', type }) >= 1);
      // The failure's ticket intent waits in the outbox (no WHMCS API is configured here).
      const pending = await e.db('mod_hostbridge_ticket_outbox').where('state', 'pending').count({ n: '*' });
      assert.ok(Number(pending[0]!.n) >= 1);
      assert.equal(total(second, 'hostbridge_ticket_outbox_backlog', { kind: 'ticket', state: 'pending' }), Number(pending[0]!.n));
      assert.ok(total(second, 'hostbridge_ticket_outbox_oldest_age_seconds', { kind: 'ticket', state: 'pending' }) >= 0);
    });

    test('without the token, or with a wrong one, the scrape is refused and the token is never echoed', async () => {
      const tries: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token-0000000000' }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }];
      for (const headers of tries) {
        const r = await fetch(`${e.url}/metrics`, { headers });
        const body = await r.text();
        assert.equal(r.status, 401, `${JSON.stringify(headers)}: ${body}`);
        assert.match(body, /bearer token/);
        assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="hostbridge metrics"');
        assert.ok(!body.includes(TOKEN) && !body.includes('hostbridge_'), body);
      }
    });
  });

  describe(`where /metrics is served (${dialect})`, () => {
    test('with neither a token nor a listener, the main listener says how to turn metrics on', async () => {
      const w = await startDaemonWorld(dialect, 'hb-metrics-off-');
      try {
        assert.equal(w.daemon.metricsUrl, null);
        const r = await fetch(`${w.daemon.url}/metrics`);
        assert.equal(r.status, 404);
        assert.match(await r.text(), /metrics are off: set HOSTBRIDGE_METRICS_TOKEN .* or HOSTBRIDGE_METRICS_LISTEN/);
      } finally {
        await w.close();
      }
    });

    test('with a listener of its own, metrics are served there (with the token when set) and not on the main listener', async () => {
      const w = await startDaemonWorld(dialect, 'hb-metrics-listen-', { HOSTBRIDGE_METRICS_LISTEN: '127.0.0.1:0', HOSTBRIDGE_METRICS_TOKEN: TOKEN });
      try {
        const url = w.daemon.metricsUrl!;
        assert.ok(url && url !== w.daemon.url, `metrics url ${url}`);
        const main = await fetch(`${w.daemon.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
        assert.equal(main.status, 404);
        assert.match(await main.text(), /served on their own listener \(HOSTBRIDGE_METRICS_LISTEN=127\.0\.0\.1:0\)/);
        assert.equal((await fetch(`${url}/metrics`)).status, 401);
        const s = await scrape(url);
        assertStrict(s);
        assert.equal(total(s, 'hostbridge_database_up'), 1);
        assert.ok(!s.text.includes(TOKEN));
        const other = await fetch(`${url}/v1/services`);
        assert.equal(other.status, 404, 'the metrics listener serves nothing else');
      } finally {
        await w.close();
      }
    });

    test('a listener without a token serves anyone who can reach it', async () => {
      const w = await startDaemonWorld(dialect, 'hb-metrics-open-', { HOSTBRIDGE_METRICS_LISTEN: '127.0.0.1:0' });
      try {
        const s = await scrape(w.daemon.metricsUrl!, null);
        assertStrict(s);
        assertStrict(s);
        assert.equal(total(s, 'hostbridge_database_up'), 1);
        assert.equal(total(s, 'hostbridge_info', { version: VERSION }), 1);
      } finally {
        await w.close();
      }
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`the queue hooks, observed (${dialect})`, () => {
    let t: TestDb;
    before(async () => { t = await createTestDb(dialect); });
    after(async () => { await t?.drop(); });

    test('a chain end and a final failure count once their transaction commits, never when it rolls back', async () => {
      const metrics = new DaemonMetrics(t.db);
      const r = await createServiceWithChain(t.db, { whmcsServiceId: 901, mode: 'split' }, {
        operation: 'create', successState: 'active', failureState: 'failed',
        steps: [{ step: 'first', type: 'builtin.noop', target: 'server:77' }, { step: 'second', type: 'builtin.noop' }],
      });
      const [c] = await claimDue(t.db, { owner: 'w', limit: 1, leaseMs: 60_000, types: ['builtin.noop'] });
      assert.ok(c);
      const failure = { output: 'tried', durationMs: 2, error: 'invalid domain name', kind: 'terminal' as const, policy: { maxAttempts: 5, baseMs: 0, capMs: 0, jitter: 0 } };
      // onChainEnd runs (and is observed) before onTaskFailed throws: the whole end rolls back.
      const refusing = metrics.observing({ ...recordingHooks(), onTaskFailed: async () => { throw new Error('ticket hook refused'); } });
      await assert.rejects(finishFailed({ db: t.db, hooks: refusing }, c, failure), /ticket hook refused/);
      await new Promise((done) => setTimeout(done, 50));
      let s = read(await metrics.scrape());
      assert.equal(histogramCount(s, 'hostbridge_chain_duration_seconds', { operation: 'create' }), 0, 'a rolled-back chain end was observed');
      assert.equal(total(s, 'hostbridge_task_failures_total'), 0);
      assert.equal(total(s, 'hostbridge_tasks', { state: 'running', type: 'builtin.noop' }), 1);

      assert.equal(await finishFailed({ db: t.db, hooks: metrics.observing(recordingHooks()) }, c, failure), 'failed');
      await new Promise((done) => setTimeout(done, 50));
      s = read(await metrics.scrape());
      assert.equal(histogramCount(s, 'hostbridge_chain_duration_seconds', { operation: 'create', outcome: 'failed' }), 1);
      assert.equal(total(s, 'hostbridge_task_failures_total', { type: 'builtin.noop', server: 'server:77' }), 1);
      assert.deepEqual([total(s, 'hostbridge_tasks', { state: 'failed' }), total(s, 'hostbridge_tasks', { state: 'cancelled' })], [1, 1]);
      const chain = await t.db('mod_hostbridge_chains').where('id', r.chainId).first('started_at', 'finished_at');
      const took = histogram(s, 'hostbridge_chain_duration_seconds', { operation: 'create' }, 'sum');
      assert.ok(Math.abs(took - (Number(chain.finished_at) - Number(chain.started_at)) / 1000) < 0.05, `observed ${took} s, the chain row says ${(chain.finished_at - chain.started_at) / 1000} s`);
    });
  });
}

describe('a scrape while the database is unreachable', () => {
  test('says so in hostbridge_database_up and leaves the database figures out instead of serving stale ones', async () => {
    // A MySQL client pointed at a port nobody listens on: every read fails as with a database that is down.
    const db = knex({ client: 'mysql2', connection: { host: '127.0.0.1', port: 1, user: 'root', database: 'none' }, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 2000 });
    try {
      const metrics = new DaemonMetrics(db);
      metrics.attemptEnded({ type: 'noop', target: 'server:1' }, 'succeeded', 12);
      const s = read(await metrics.scrape());
      assertStrict(s);
      assert.equal(total(s, 'hostbridge_database_up'), 0);
      assert.equal(s.families.get('hostbridge_tasks')?.metrics.length ?? 0, 0);
      assert.equal(s.families.get('hostbridge_server_info')?.metrics.length ?? 0, 0);
      assert.equal(total(s, 'hostbridge_task_attempts_total', { type: 'noop', server: 'server:1', outcome: 'succeeded' }), 1, 'what this process observed is still there');
    } finally {
      await db.destroy();
    }
  });
});

describe('the metrics settings', () => {
  const base = { HOSTBRIDGE_DATABASE_URL: 'mysql://u:p@127.0.0.1:3306/whmcs', HOSTBRIDGE_SECRET: 'x'.repeat(32), HOSTBRIDGE_MASTER_KEY: 'ab'.repeat(32) };
  test('are off by default, and read from the environment when set', () => {
    const off = loadConfig(base, '/tmp');
    assert.equal(off.metricsToken, null);
    assert.equal(off.metricsListen, null);
    const on = loadConfig({ ...base, HOSTBRIDGE_METRICS_TOKEN: TOKEN, HOSTBRIDGE_METRICS_LISTEN: '[::1]:9464' }, '/tmp');
    assert.equal(on.metricsToken, TOKEN);
    assert.deepEqual(on.metricsListen, { host: '::1', port: 9464 });
  });
  test('a short token or a bad address stops the start with the setting named, and the token is not repeated', () => {
    assert.throws(() => loadConfig({ ...base, HOSTBRIDGE_METRICS_TOKEN: 'short-secret' }, '/tmp'), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /HOSTBRIDGE_METRICS_TOKEN: must be at least 16 characters/);
      assert.ok(!err.message.includes('short-secret'), err.message);
      return true;
    });
    assert.throws(() => loadConfig({ ...base, HOSTBRIDGE_METRICS_LISTEN: 'localhost' }, '/tmp'), /HOSTBRIDGE_METRICS_LISTEN: must be host:port/);
  });
});
