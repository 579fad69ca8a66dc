// Inventory rows (servers, server groups) reused for a moment instead of read for every use. Every
// task step reads the row of the server it runs on, a zone step those of the web and mail servers
// and its group's name servers too, and every order its group's servers, DNS servers, vanity
// parents and reserved names (bench:fleet's SQL trace: the daemon's most frequent statements).
// A change made in this process (the API, the admin pages, a host key pinned on first use) is seen
// by the next read; one made by another process (a second daemon's API) within
// INVENTORY_REUSE_MS, as if the step or order had come that much earlier. The accounts on each
// server, which change with every order, are reused the same way with this process's own orders
// counted at once (ReusedLoads): counting them in the database took every order a scan of every
// account in the fleet, a cost that grew with it.
import type { Knex } from 'knex';
import { TerminalError } from '../common/errors.ts';
import { T } from '../common/tables.ts';

export const INVENTORY_REUSE_MS = 2_000;

/** Bumped by every write to the inventory (servers, groups) made in this process. */
let generation = 0;

/** Call after writing the inventory: this process reads it again at the next use. */
export function inventoryChanged(): void {
  generation++;
}

/**
 * Values read from the inventory, each kept for up to `ttlMs` and until the inventory changes in
 * this process. Concurrent readers of one key share one read; a failed read, or a value `keep`
 * refuses (say, a row not there yet), is read again next time.
 */
export class Reused<K, V> {
  private readonly entries = new Map<K, { value: Promise<V>; at: number; generation: number; settled?: { v: V } }>();

  constructor(private readonly ttlMs = INVENTORY_REUSE_MS, private readonly keep: (v: V) => boolean = () => true) {}

  get(key: K, read: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.generation === generation && now - hit.at < this.ttlMs) return hit.value;
    const entry: { value: Promise<V>; at: number; generation: number; settled?: { v: V } } = { value: read(), at: now, generation };
    this.entries.set(key, entry);
    const forget = () => { if (this.entries.get(key) === entry) this.entries.delete(key); };
    entry.value.then((v) => { if (this.keep(v)) entry.settled = { v }; else forget(); }, forget);
    return entry.value;
  }

  /** The values kept whose read has ended (a read still under way is not among them). */
  *settled(): Iterable<V> {
    for (const e of this.entries.values()) if (e.settled) yield e.settled.v;
  }
}

/**
 * Accounts per server as placement balances them, per server group: read at most every `ttlMs`
 * (and again after an inventory change in this process), with the services this process creates
 * meanwhile counted at once (`placed`), so a burst of orders spreads as when each order counted in
 * the database. Another daemon's orders, a role a package change adds and accounts removed are seen
 * at the next read; so is an order that commits while the counts are being read, if the read
 * missed it (never counted twice).
 */
export class ReusedLoads {
  private readonly counts: Reused<number, Map<number, number>>;

  constructor(ttlMs = INVENTORY_REUSE_MS) {
    this.counts = new Reused(ttlMs);
  }

  /** The group's counts (a copy), read with `read` when there are none to reuse. */
  async get(groupId: number, read: () => Promise<Map<number, number>>): Promise<Map<number, number>> {
    return new Map(await this.counts.get(groupId, read));
  }

  /**
   * One more account on each of these servers (a service placed on them), in every group's counts
   * read so far that hold it; a read still under way has either seen the service or misses it
   * until the next one.
   */
  placed(serverIds: Iterable<number>): void {
    const ids = [...new Set(serverIds)];
    for (const counts of this.counts.settled()) {
      for (const id of ids) if (counts.has(id)) counts.set(id, counts.get(id)! + 1);
    }
  }
}

type Row = Record<string, unknown>;

/** Servers' rows for task handlers (fleet/access.ts), each caller given its own copy. */
export class ServerRows {
  private readonly rows: Reused<number, Row>;

  constructor(private readonly db: Knex, ttlMs = INVENTORY_REUSE_MS) {
    this.rows = new Reused(ttlMs);
  }

  /** The server's row; a server no longer in the inventory is a terminal error (and not remembered). */
  async get(id: number): Promise<Row> {
    return { ...(await this.rows.get(id, () => this.read(id))) };
  }

  private async read(id: number): Promise<Row> {
    const row = await this.db(T.servers).where('id', id).first();
    if (!row) throw new TerminalError(`server ${id} is no longer in the inventory`);
    return row;
  }
}
