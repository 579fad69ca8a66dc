// bench:ack — CreateAccount acknowledgement time on MariaDB: through the PHP module (real PHP
// from Debian, the module loaded as WHMCS loads it) and through plain signed HTTP from node, each
// call a new service. The engine is stopped: this measures the order's path (sign, send, check,
// plan, one transaction, answer), not the deployment. The last output line is JSON.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { connect } from '../daemon/db/connect.ts';
import { loadConfig } from '../daemon/config/config.ts';
import { startDaemon } from '../daemon/runtime.ts';
import { createLogger } from '../daemon/log/logger.ts';
import { addTestFleet, call, createBody } from '../test/helpers/api.ts';
import { TEST_MASTER_KEY, TEST_SECRET } from '../test/helpers/daemon.ts';

const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const base = new URL(process.env.HOSTBRIDGE_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/hostbridge_bench_ack');
const database = base.pathname.slice(1) || 'hostbridge_bench_ack';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const say = (line: string) => process.stdout.write(line + '\n');
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (n: number) => Math.round(n * 100) / 100;

function runPhp(url: string, groupId: number, first: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('php', [path.join(ROOT, 'bench/ack.php'), url, String(groupId), String(first), String(CALLS)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.once('error', (e) => reject(new Error(`cannot run php (apt-get install -y php-cli php-curl): ${e.message}`)));
    child.once('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`php exited ${code}: ${err.trim()}`))));
    child.stdin.end(TEST_SECRET + '\n');
  });
}

async function main(): Promise<void> {
  const admin = connect({ client: 'mysql2', url: '', host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username || 'root'), password: decodeURIComponent(base.password), database: 'mysql' }, { poolMax: 1 });
  await admin.raw(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.raw(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  await admin.destroy();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-bench-ack-'));
  const url = `mysql://${base.username || 'root'}${base.password ? ':' + base.password : ''}@${base.hostname}:${base.port || 3306}/${database}`;
  const config = loadConfig({ HOSTBRIDGE_DATABASE_URL: url, HOSTBRIDGE_LISTEN: '127.0.0.1:0', HOSTBRIDGE_SECRET: TEST_SECRET, HOSTBRIDGE_MASTER_KEY: TEST_MASTER_KEY }, dir);
  const logger = createLogger({ format: 'json', level: 'error', stream: new Writable({ write(_c, _e, cb) { cb(); } }) });
  const daemon = await startDaemon(config, { migrate: true, logger });
  try {
    await daemon.engine.stop(1000);
    const fleet = await addTestFleet(daemon.url);
    say(`daemon on ${daemon.url}, MariaDB database ${database}; ${CALLS} CreateAccount calls each way`);

    // A few calls each way first, so neither side pays for first-connection setup in the figures.
    await runPhpWarm(daemon.url, fleet.groupId);
    const http: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const body = createBody(2_000_000 + i, fleet.groupId);
      const t0 = performance.now();
      const r = await call(daemon.url, 'POST', '/v1/services', body);
      http.push(performance.now() - t0);
      if (r.status !== 200 || !r.body.created) throw new Error(`HTTP CreateAccount ${i} answered ${r.status} ${JSON.stringify(r.body)}`);
    }
    const shim = await runPhp(daemon.url, fleet.groupId, 1_000_000);
    const s = [...shim].sort((a, b) => a - b);
    const h = [...http].sort((a, b) => a - b);
    const services = Number(((await daemon.core.db('mod_hostbridge_services').count({ n: '*' }).first()) as { n: number }).n);
    say(`services written: ${services} (expected ${2 * CALLS + 10})`);
    say(`shim: p50 ${round(pct(s, 50))} ms, p99 ${round(pct(s, 99))} ms, max ${round(s.at(-1)!)} ms`);
    say(`http: p50 ${round(pct(h, 50))} ms, p99 ${round(pct(h, 99))} ms, max ${round(h.at(-1)!)} ms`);
    say(JSON.stringify({ shim_p50_ms: round(pct(s, 50)), shim_p99_ms: round(pct(s, 99)), http_p50_ms: round(pct(h, 50)), http_p99_ms: round(pct(h, 99)), calls: CALLS }));
  } finally {
    await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  async function runPhpWarm(daemonUrl: string, groupId: number): Promise<void> {
    for (let i = 0; i < 10; i++) await call(daemonUrl, 'POST', '/v1/services', createBody(3_000_000 + i, groupId));
  }
}

main().catch((err) => {
  process.stderr.write(`bench:ack failed: ${(err as Error).message}\n`);
  process.exit(1);
});
