// A bench-only preload for the daemon (BENCH_DAEMON_NODE_FLAGS="--import <this file>"): counts the
// SQL statements the process sends and their round-trip times (mysql2's diagnostics channel, from the
// call to its callback: the database's time plus the wait for the event loop to run the callback),
// and times each HTTP request from its arrival to its answer (node's http diagnostics channels).
// On SIGUSR2 it appends the totals so far as one JSON line to BENCH_SQL_TRACE_FILE; the bench
// signals before and after the burst and when every service is active: the differences are the
// burst's and the rest of the run's.
import dc from 'node:diagnostics_channel';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

const file = process.env.BENCH_SQL_TRACE_FILE ?? '/tmp/sql-trace.jsonl';
const statements = new Map(); // shape -> { n, ms }
const started = new WeakMap();
let total = 0;
let totalMs = 0;

const shape = (sql) => String(sql).replace(/'(?:[^'\\]|\\.)*'/g, "'?'").replace(/\b\d+\b/g, 'N').replace(/(\(\s*(?:'\?'|N|\?)\s*(?:,\s*(?:'\?'|N|\?)\s*)*\))(\s*,\s*\1)*/g, '$1').replace(/\s+/g, ' ').slice(0, 110);

const query = dc.tracingChannel('mysql2:query');
query.subscribe({
  start(ctx) { started.set(ctx, performance.now()); },
  asyncStart(ctx) {
    const t0 = started.get(ctx);
    if (t0 === undefined) return;
    const ms = performance.now() - t0;
    const k = shape(ctx.query);
    const s = statements.get(k) ?? statements.set(k, { n: 0, ms: 0 }).get(k);
    s.n++; s.ms += ms; total++; totalMs += ms;
  },
  end() {}, asyncEnd() {}, error() {},
});

const requests = new Map(); // "METHOD path" -> { n, ms }
const reqStart = new WeakMap();
dc.subscribe('http.server.request.start', ({ request }) => { reqStart.set(request, performance.now()); });
dc.subscribe('http.server.response.finish', ({ request }) => {
  const t0 = reqStart.get(request);
  if (t0 === undefined) return;
  const k = `${request.method} ${String(request.url).split('?')[0].replace(/\/\d+/g, '/N')}`;
  const r = requests.get(k) ?? requests.set(k, { n: 0, ms: 0, list: [] }).get(k);
  const ms = performance.now() - t0;
  r.n++; r.ms += ms; r.list.push(Math.round(ms * 10) / 10);
});

process.on('SIGUSR2', () => {
  const mem = process.memoryUsage();
  fs.appendFileSync(file, JSON.stringify({
    at: performance.now(), total, total_ms: totalMs, rss_mb: Math.round(mem.rss / 1048576),
    statements: Object.fromEntries(statements), requests: Object.fromEntries(requests),
  }) + '\n');
});
