// Replay memory in the database, so a request replayed to another daemon on the same database is
// refused too. The nonce is the primary key: the insert itself is the check.
import type { Knex } from 'knex';
import { isUniqueViolation } from '../db/connect.ts';
import { REPLAY_WINDOW_S, type NonceStore } from './signature.ts';
import { T } from '../common/tables.ts';

const PURGE_EVERY = 500;

export class DbNonceStore implements NonceStore {
  private inserts = 0;

  constructor(private readonly db: Knex) {}

  async remember(nonce: string, nowS: number): Promise<boolean> {
    // Kept for twice the window: a timestamp may be up to one window ahead of this clock.
    const expiresAt = (nowS + 2 * REPLAY_WINDOW_S) * 1000;
    try {
      await this.db(T.nonces).insert({ nonce, expires_at: expiresAt });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // A row past its expiry is from a request outside any window now: it may be reused.
      const freed = await this.db(T.nonces).where('nonce', nonce).where('expires_at', '<', nowS * 1000).del();
      if (freed === 0) return false;
      await this.db(T.nonces).insert({ nonce, expires_at: expiresAt });
    }
    if (++this.inserts % PURGE_EVERY === 0) await this.purge(nowS);
    return true;
  }

  async purge(nowS: number): Promise<number> {
    return this.db(T.nonces).where('expires_at', '<', nowS * 1000).del();
  }
}
