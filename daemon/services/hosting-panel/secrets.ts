// The hosting panel's secrets (passwords the customer typed): sealed with the master key when the
// action's chain is queued, in the same transaction, keyed by the chain and the secret's name. The
// step that needs one names it in its args (`secret: 'password'`) and takes it here; a retry takes
// it again. They are deleted once their chain has ended (dispatch.ts sweeps ended chains' secrets).
import type { Knex } from 'knex';
import { TerminalError } from '../../common/errors.ts';
import { T } from '../../common/tables.ts';
import { decryptSecret, encryptSecret } from '../../crypto/secretbox.ts';
import { nowMs } from '../../db/connect.ts';
import type { HostingSecret } from './types.ts';

type Db = Knex | Knex.Transaction;

/** Seals the action's secrets for its chain (inside the transaction that queues it). */
export async function sealSecrets(trx: Db, masterKey: Buffer, chainId: number, secrets: readonly HostingSecret[]): Promise<void> {
  if (secrets.length === 0) return;
  const at = nowMs(trx);
  await trx(T.panelSecrets).insert(secrets.map((s) => ({ chain_id: chainId, name: s.name, sealed: encryptSecret(masterKey, s.value), created_at: at })));
}

/** The plaintext of a chain's secret; a TerminalError when it is gone (the chain ended, or it was never sealed). */
export async function takeSecret(db: Db, masterKey: Buffer, chainId: number, name: string): Promise<string> {
  const row = await db(T.panelSecrets).where({ chain_id: chainId, name }).first('sealed');
  if (!row) throw new TerminalError(`the ${name} this step needs is no longer kept (the action must be started again from the panel)`);
  try {
    return decryptSecret(masterKey, String(row.sealed));
  } catch {
    throw new TerminalError(`the ${name} this step needs cannot be unsealed with this daemon's master key`);
  }
}

/** Deletes the secrets of one chain (its end). */
export async function dropSecrets(db: Db, chainId: number): Promise<void> {
  await db(T.panelSecrets).where('chain_id', chainId).del();
}

/**
 * Deletes every secret whose chain has ended. A chain still being queued (not yet committed) is not
 * seen here, so only chains seen ended match; secrets whose chain row is gone altogether (the
 * queue's clean-up) go once they are an hour old.
 */
export async function sweepEndedSecrets(db: Db): Promise<number> {
  const ended = db(T.chains).whereNotIn('state', ['running', 'waiting']).select('id');
  const live = db(T.chains).select('id');
  const ends = await db(T.panelSecrets).whereIn('chain_id', ended).del();
  const orphans = await db(T.panelSecrets).where('created_at', '<', Date.now() - 3_600_000).whereNotIn('chain_id', live).del();
  return ends + orphans;
}
