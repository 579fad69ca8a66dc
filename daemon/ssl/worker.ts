// The automatic-SSL check (job ssl-check): for each due row, a DNS check of its names against the
// IP of the server that holds the role, then a TLS probe of that server with the first name as SNI;
// the cadence (cadence.ts) decides the row's next state, and a certificate is requested by a
// one-step chain `ssl.issue` for the service (one chain per service at a time, so it waits behind a
// deploy; the chain's key keeps one request per role). Rows are checked a batch at a time with
// bounded concurrency; each check is bounded by the DNS and probe timeouts.
import fs from 'node:fs/promises';
import type { Knex } from 'knex';
import { errorMessage } from '../common/errors.ts';
import { T } from '../common/tables.ts';
import { inTx } from '../db/connect.ts';
import { enqueueChainIn } from '../engine/chains.ts';
import { sslIssueStep } from '../pipelines/ssl-plan.ts';
import { afterCheck, hestiaDomainOf, isCheckable, searchingIntervalMs, type CheckFinding, type SslSettings, type SslRole } from './cadence.ts';
import { checkNamesResolveTo, parseResolverSetting } from './dns-check.ts';
import { probeTls } from './tls-probe.ts';
import { dueSslRows, recordCheck, type SslRow } from './state.ts';

export interface SslCheckDeps {
  db: Knex;
  settings: SslSettings;
  /** Replaces the DNS check and the probe (tests of the worker alone). */
  checkDns?: typeof checkNamesResolveTo;
  probe?: typeof probeTls;
  now?: () => number;
}

export interface SslCheckRun { checked: number; issued: number; waiting: number; requested: number; errors: number; lines: string[] }

/** Rows per run and checks at once: a run stays short under the scheduler's lock. */
export const BATCH = 50;
export const CONCURRENCY = 8;

/** The operation of a role's request chain: its key keeps one request per role queued or running. */
export const issueOperation = (role: SslRole) => `ssl-issue-${role}`;

/** Queues the request of a row's certificate; no second one while one is queued or running. */
export async function queueIssue(db: Knex, row: Pick<SslRow, 'serviceId' | 'role' | 'domain' | 'serverId' | 'user' | 'names'>): Promise<{ chainId: number; created: boolean }> {
  const step = sslIssueStep({ serverId: row.serverId, user: row.user, domain: hestiaDomainOf(row.role, row.domain), role: row.role, names: row.names });
  const r = await inTx(db, (trx) => enqueueChainIn(trx, { serviceId: row.serviceId, operation: issueOperation(row.role), steps: [{ ...step, dependsOn: [] }] }));
  return { chainId: r.chainId, created: r.created };
}

async function extraCa(file: string): Promise<string[] | undefined> {
  if (!file) return undefined;
  const pem = await fs.readFile(file, 'utf8');
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!certs) throw new Error(`ssl.extra_ca_file ${file} holds no PEM certificate`);
  return certs;
}

/** What one row's check finds: DNS first; the probe only when every name points at the server. */
async function inspect(deps: SslCheckDeps, row: SslRow, ip: string, servers: string[], ca: string[] | undefined): Promise<CheckFinding> {
  const s = deps.settings;
  const dns = await (deps.checkDns ?? checkNamesResolveTo)(row.names, ip, { servers, timeoutMs: s.probeTimeoutMs });
  if (!dns.ok) return { dns: 'not-ok', reason: dns.reason ?? 'the names do not resolve to the server' };
  const p = await (deps.probe ?? probeTls)({ host: ip, port: s.probePort, servername: row.names[0]!, names: row.names, ...(ca ? { extraCa: ca } : {}), timeoutMs: s.probeTimeoutMs, now: new Date((deps.now ?? Date.now)()) });
  return { dns: 'ok', verdict: p.verdict, detail: p.detail, notAfter: p.notAfter ? p.notAfter.getTime() : null, issuer: p.issuer };
}

async function checkOne(deps: SslCheckDeps, row: SslRow, ctx: { servers: string[]; ca: string[] | undefined; ips: Map<number, string | null> }, out: SslCheckRun): Promise<void> {
  const now = (deps.now ?? Date.now)();
  const tag = `service #${row.serviceId} ${row.role} ${row.domain}`;
  const ip = ctx.ips.get(row.serverId) ?? null;
  let finding: CheckFinding;
  if (!ip) {
    finding = { dns: 'not-ok', reason: `server ${row.serverId} is no longer in the inventory` };
  } else {
    finding = await inspect(deps, row, ip, ctx.servers, ctx.ca);
  }
  const d = afterCheck(row, finding, deps.settings, now);
  let line = d.lastResult;
  if (d.issue) {
    const q = await queueIssue(deps.db, row);
    out.requested++;
    if (!q.created) line = line.replace(/certificate requested$/, `certificate request already queued (chain ${q.chainId})`);
  }
  await recordCheck(deps.db, row, { ...d, lastResult: line, now });
  if (d.state === 'issued') out.issued++;
  if (d.state === 'waiting-dns') out.waiting++;
  out.lines.push(`${tag}: ${line}`);
}

/** One run: the due rows, checked `CONCURRENCY` at a time. */
export async function runSslChecks(deps: SslCheckDeps, log: (line: string) => void = () => {}): Promise<SslCheckRun> {
  const out: SslCheckRun = { checked: 0, issued: 0, waiting: 0, requested: 0, errors: 0, lines: [] };
  if (!deps.settings.enabled) return out;
  const now = (deps.now ?? Date.now)();
  const rows = (await dueSslRows(deps.db, now, BATCH)).filter((r) => isCheckable(r, now));
  if (rows.length === 0) return out;
  const servers = parseResolverSetting(deps.settings.resolver);
  const ca = await extraCa(deps.settings.extraCaFile);
  const ips = new Map<number, string | null>();
  const found = await deps.db(T.servers).whereIn('id', [...new Set(rows.map((r) => r.serverId))]).select('id', 'ip');
  for (const r of rows) ips.set(r.serverId, null);
  for (const s of found as Array<{ id: number; ip: string }>) ips.set(Number(s.id), s.ip);
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const row = rows[next++]!;
      try {
        await checkOne(deps, row, { servers, ca, ips }, out);
      } catch (err) {
        out.errors++;
        const line = `check failed: ${errorMessage(err)}`;
        out.lines.push(`service #${row.serviceId} ${row.role} ${row.domain}: ${line}`);
        // Checked again on the searching cadence, not on every run.
        const at = (deps.now ?? Date.now)();
        await recordCheck(deps.db, row, { state: row.state, checks: row.checks + 1, nextCheckAt: at + searchingIntervalMs(row.checks + 1, deps.settings), lastResult: line, now: at }).catch(() => {});
      }
      out.checked++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, rows.length) }, worker));
  for (const l of out.lines) log(l);
  return out;
}
