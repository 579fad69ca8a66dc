// recordOperations: the Operation Log's one write. Each finished attempt, finished chain and admin
// or customer action becomes a row, inserted in the transaction that finishes (or records) what it
// mirrors, so the log never disagrees with the queue. One statement per call (INSERT … SELECT):
// the server's and the service's names as they are now are read by the statement itself, no round
// trip more. pruneOperationLog: removes rows older than the retention, a batch at a time.
// Fence: rows are only ever inserted, and deleted by age; nothing else writes them. Under READ
// COMMITTED (db/connect.ts) the names are read without locking the service or server rows.
import type { Knex } from 'knex';
import { dialectOf, inTx, nowSql } from '../../db/connect.ts';
import { T } from '../../common/tables.ts';
import { globalMasker } from '../../log/mask.ts';
import { MAX_ERROR, type AttemptRecord, type Claim, type ChainRow } from '../rows.ts';

export type OplogKind = 'attempt' | 'chain' | 'action';

/** One entry as the engine and the pages know it; the names are looked up when it is written. */
export interface OplogEntry {
  kind: OplogKind;
  chainId?: number | null;
  taskId?: number | null;
  operation?: string | null;
  type?: string | null;
  step?: string | null;
  target?: string | null;
  /** hostbridge's service id: WHMCS's id and the domain are read from it. */
  serviceId?: number | null;
  /** WHMCS's service id, when only that is known (the customer's panel). */
  whmcsServiceId?: number | null;
  attempt?: number | null;
  stepCount?: number | null;
  startedAt?: number | null;
  /** Omitted: the database's clock now (the statement's own reading). */
  finishedAt?: number | null;
  durationMs?: number | null;
  result: string;
  error?: string | null;
  actor?: string | null;
  via?: string | null;
  message?: string | null;
}

const COLUMNS = ['at', 'kind', 'chain_id', 'task_id', 'operation', 'type', 'step', 'target', 'server_id', 'target_name', 'service_id', 'whmcs_service_id', 'domain',
  'attempt', 'step_count', 'started_at', 'finished_at', 'duration_ms', 'result', 'error', 'actor', 'via', 'message'] as const;

const MAX_MESSAGE = 2000;
/** Rows per statement: well under SQLite's limit of bound values. */
const BATCH = 200;

const clip = (s: string | null | undefined, max: number) => (s === null || s === undefined ? null : s.slice(0, max));
const masked = (s: string | null | undefined, max: number) => (s === null || s === undefined ? null : globalMasker.mask(s).slice(0, max));
const numOrNull = (v: number | null | undefined) => (v === null || v === undefined ? null : Number(v));

/** How a target reads in the log: a server by its name, a Proxmox node as "node (cluster)". */
function targetName(dialect: 'mysql' | 'sqlite', target: string | null | undefined): { serverId: number | null; sql: string; bindings: unknown[] } {
  if (!target) return { serverId: null, sql: 'NULL', bindings: [] };
  const server = /^server:(\d{1,10})$/.exec(target);
  if (server) {
    const id = Number(server[1]);
    return { serverId: id, sql: `COALESCE((SELECT name FROM ${T.servers} WHERE id = ?), ?)`, bindings: [id, `#${id} (removed)`] };
  }
  const pve = /^pve:(\d{1,10}):(.+)$/.exec(target);
  if (pve) {
    const cluster = dialect === 'sqlite' ? `' (' || name || ')'` : `CONCAT(' (', name, ')')`;
    const whole = `COALESCE((SELECT ${cluster} FROM ${T.pveClusters} WHERE id = ?), ?)`;
    return {
      serverId: null, sql: dialect === 'sqlite' ? `(? || ${whole})` : `CONCAT(?, ${whole})`,
      bindings: [pve[2], Number(pve[1]), ` (cluster #${pve[1]})`],
    };
  }
  return { serverId: null, sql: '?', bindings: [target] };
}

/** The SELECT of one entry: its values, with the names read by subqueries. */
function selectOf(trx: Knex, e: OplogEntry): { sql: string; bindings: unknown[] } {
  const dialect = dialectOf(trx);
  const parts: string[] = [];
  const bindings: unknown[] = [];
  const value = (v: unknown) => {
    parts.push('?');
    bindings.push(v === undefined ? null : v);
  };
  const raw = (sql: string, b: unknown[]) => {
    parts.push(sql);
    bindings.push(...b);
  };
  const name = targetName(dialect, e.target);
  const serviceId = numOrNull(e.serviceId);
  const whmcsId = numOrNull(e.whmcsServiceId);
  // at
  if (e.finishedAt === null || e.finishedAt === undefined) raw(nowSql(trx), []);
  else value(Number(e.finishedAt));
  value(e.kind);
  value(numOrNull(e.chainId));
  value(numOrNull(e.taskId));
  value(clip(e.operation, 48));
  value(clip(e.type, 64));
  value(clip(e.step, 64));
  value(clip(e.target, 64));
  value(name.serverId);
  raw(name.sql, name.bindings);
  // service_id, whmcs_service_id, domain: from hostbridge's id when known, else from WHMCS's.
  if (serviceId !== null) {
    value(serviceId);
    raw(`(SELECT whmcs_service_id FROM ${T.services} WHERE id = ?)`, [serviceId]);
    raw(`(SELECT domain FROM ${T.services} WHERE id = ?)`, [serviceId]);
  } else if (whmcsId !== null) {
    raw(`(SELECT id FROM ${T.services} WHERE whmcs_service_id = ?)`, [whmcsId]);
    value(whmcsId);
    raw(`(SELECT domain FROM ${T.services} WHERE whmcs_service_id = ?)`, [whmcsId]);
  } else {
    value(null);
    value(null);
    value(null);
  }
  value(numOrNull(e.attempt));
  value(numOrNull(e.stepCount));
  value(numOrNull(e.startedAt));
  // finished_at: the same reading as at
  if (e.kind === 'action') value(null);
  else if (e.finishedAt === null || e.finishedAt === undefined) raw(nowSql(trx), []);
  else value(Number(e.finishedAt));
  value(e.durationMs === null || e.durationMs === undefined ? null : Math.round(e.durationMs));
  value(clip(e.result, 16));
  value(masked(e.error, MAX_ERROR));
  value(clip(e.actor, 200));
  value(clip(e.via, 8));
  value(masked(e.message, MAX_MESSAGE));
  return { sql: `SELECT ${parts.join(', ')}`, bindings };
}

/** Writes the entries, in the caller's transaction: one statement per 200. */
export async function recordOperations(trx: Knex | Knex.Transaction, entries: ReadonlyArray<OplogEntry>): Promise<void> {
  for (let i = 0; i < entries.length; i += BATCH) {
    const selects = entries.slice(i, i + BATCH).map((e) => selectOf(trx, e));
    await trx.raw(`INSERT INTO ${T.oplog} (${COLUMNS.join(', ')}) ${selects.map((s) => s.sql).join(' UNION ALL ')}`, selects.flatMap((s) => s.bindings) as Knex.RawBinding[]);
  }
}

/** The entry of a finished attempt, as the attempt log records it. */
export function attemptEntry(c: Claim, a: AttemptRecord, result: string, extra: { error?: string | null; finished_at?: unknown } = {}): OplogEntry {
  return {
    kind: 'attempt', chainId: c.chain_id, taskId: c.id, operation: c.operation, type: c.type, step: c.step, target: c.target, serviceId: c.service_id,
    attempt: c.attempts, startedAt: c.started_at, finishedAt: typeof extra.finished_at === 'number' ? extra.finished_at : null,
    durationMs: a.durationMs, result, error: extra.error ?? null,
  };
}

/** The entry of a chain that just ended. */
export function chainEntry(chain: ChainRow, outcome: string, error: string | null): OplogEntry {
  return {
    kind: 'chain', chainId: chain.id, operation: chain.operation, serviceId: chain.service_id, stepCount: chain.step_count,
    startedAt: chain.started_at === null ? null : Number(chain.started_at), result: outcome, error,
  };
}

/** Deletes the entries older than olderThanMs, `batch` rows per transaction; returns how many. */
export async function pruneOperationLog(db: Knex, olderThanMs: number, batch = 1000): Promise<number> {
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) throw new Error(`the age of an Operation Log entry to prune must be a positive duration, got ${olderThanMs}`);
  let total = 0;
  for (;;) {
    const deleted = await inTx(db, async (trx) => {
      const ids = (await trx(T.oplog).select('id').where('at', '<', trx.raw(`${nowSql(trx)} - ?`, [Math.round(olderThanMs)])).orderBy('at').limit(batch))
        .map((r: { id: number }) => r.id);
      if (ids.length === 0) return 0;
      await trx(T.oplog).whereIn('id', ids).delete();
      return ids.length;
    });
    total += deleted;
    if (deleted < batch) return total;
  }
}
