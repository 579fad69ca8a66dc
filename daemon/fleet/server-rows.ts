// Servers' inventory rows as task handlers read them, reused for a moment. Every step reads the row
// of the server it runs on, and a zone step those of the web and mail servers as well: about three
// reads a task, the daemon's most frequent statement (bench:fleet's SQL trace). A change made in
// this process (the API, the admin pages, a host key pinned on first use) is seen by the next read;
// one made by another process (a second daemon's API) within SERVER_ROW_TTL_MS, as if the task had
// started that much earlier.
import type { Knex } from 'knex';
import { TerminalError } from '../common/errors.ts';
import { T } from '../common/tables.ts';

export const SERVER_ROW_TTL_MS = 2_000;

/** Bumped by every write to the servers table made in this process. */
let generation = 0;

/** Call after writing a server's row: this process's cached rows are read again. */
export function serverRowsChanged(): void {
  generation++;
}

type Row = Record<string, unknown>;

export class ServerRows {
  private readonly rows = new Map<number, { row: Promise<Row>; at: number; generation: number }>();

  constructor(private readonly db: Knex, private readonly ttlMs = SERVER_ROW_TTL_MS) {}

  /** The server's row (a copy of its own to each caller); a server no longer in the inventory is a terminal error. */
  async get(id: number): Promise<Row> {
    const now = Date.now();
    const hit = this.rows.get(id);
    if (hit && hit.generation === generation && now - hit.at < this.ttlMs) return { ...(await hit.row) };
    // Concurrent readers of one server share this read; a failed or empty read is not kept.
    const row = this.read(id);
    this.rows.set(id, { row, at: now, generation });
    row.catch(() => { if (this.rows.get(id)?.row === row) this.rows.delete(id); });
    return { ...(await row) };
  }

  private async read(id: number): Promise<Row> {
    const row = await this.db(T.servers).where('id', id).first();
    if (!row) throw new TerminalError(`server ${id} is no longer in the inventory`);
    return row;
  }
}
