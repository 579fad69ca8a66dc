// What the metrics read from the database at scrape time: a handful of small grouped queries, each
// on an index or a small table, so a scrape every 15 s costs the database next to nothing. These
// figures are the same whichever daemon is scraped (they describe the shared queue, not a process).
import type { Knex } from 'knex';
import { nowMs } from '../db/connect.ts';
import { T } from '../common/tables.ts';

export interface DatabaseFigures {
  /** The database clock (ms) when the figures were read. */
  now: number;
  /** Tasks by status and type (finished ones until clean-completed-tasks removes them). */
  tasks: Array<{ state: string; type: string; n: number }>;
  /** Queued tasks whose run time has come, and the run time of the oldest of them (null: none due). */
  due: { n: number; oldestRunAt: number | null };
  /** Ticket intents and notes not delivered yet, by state, with the oldest one's creation time. */
  outbox: Array<{ kind: 'ticket' | 'note'; state: string; n: number; oldestCreatedAt: number }>;
  jobs: Array<{ name: string; lastStartedAt: number | null; lastFinishedAt: number | null; lastResult: string | null }>;
  servers: Array<{ id: number; name: string; driver: string }>;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function readDatabaseFigures(db: Knex): Promise<DatabaseFigures> {
  // The oldest due task and the clock in one row: lag is measured on the database's clock, as run_at is.
  const dueRow = (await db(T.tasks).where('status', 'queued').where('run_at', '<=', nowMs(db))
    .select(db.raw('min(run_at) as oldest'), db.raw('count(*) as n'), nowMs(db).wrap('(', ') as now')).first()) as { oldest: unknown; n: unknown; now: unknown };
  const tasks = (await db(T.tasks).select('status', 'type').count({ n: '*' }).groupBy('status', 'type')) as Array<{ status: string; type: string; n: unknown }>;
  const outbox = async (table: string, kind: 'ticket' | 'note') =>
    ((await db(table).whereNot('state', 'delivered').select('state').count({ n: '*' }).min({ oldest: 'created_at' }).groupBy('state')) as Array<{ state: string; n: unknown; oldest: unknown }>)
      .map((r) => ({ kind, state: r.state, n: Number(r.n), oldestCreatedAt: Number(r.oldest) }));
  const jobs = (await db(T.jobs).select('name', 'last_started_at', 'last_finished_at', 'last_result')) as Array<Record<string, unknown>>;
  const servers = (await db(T.servers).select('id', 'name', 'driver')) as Array<{ id: unknown; name: string; driver: string }>;
  return {
    now: Number(dueRow.now),
    tasks: tasks.map((r) => ({ state: r.status, type: r.type, n: Number(r.n) })),
    due: { n: Number(dueRow.n), oldestRunAt: num(dueRow.oldest) },
    outbox: [...(await outbox(T.ticketOutbox, 'ticket')), ...(await outbox(T.ticketNotes, 'note'))],
    jobs: jobs.map((r) => ({ name: String(r.name), lastStartedAt: num(r.last_started_at), lastFinishedAt: num(r.last_finished_at), lastResult: (r.last_result as string | null) ?? null })),
    servers: servers.map((r) => ({ id: Number(r.id), name: r.name, driver: r.driver })),
  };
}
