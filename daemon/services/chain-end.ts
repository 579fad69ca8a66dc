// What a chain's end means for its service: the state the chain was enqueued with for success or
// failure (a cancelled chain leaves the state alone). The engine calls it as its onChainEnd hook,
// inside the transaction that closes the chain, so the service and its chain never disagree; the
// secrets a customer's panel action sealed for the chain are deleted with it.
import type { Knex } from 'knex';
import { nowMs } from '../db/connect.ts';
import { T } from '../common/tables.ts';
import type { ChainOutcome, EndingChain } from '../engine/hooks.ts';
import { queueVmReadyEmail } from './vm-ready-email.ts';
import { dropSecrets } from './hosting-panel/secrets.ts';

export async function setServiceStateOnChainEnd(trx: Knex.Transaction, chain: EndingChain, outcome: ChainOutcome): Promise<void> {
  if (chain.serviceId === null) return;
  const state = outcome === 'succeeded' ? chain.successState : outcome === 'failed' ? chain.failureState : null;
  if (state) await trx(T.services).where('id', chain.serviceId).update({ state, updated_at: nowMs(trx) });
  if (outcome === 'succeeded' && chain.operation === 'deploy') await queueVmReadyEmail(trx, chain.serviceId, chain.id);
  // The passwords a panel action sealed for its steps live no longer than their chain.
  await dropSecrets(trx, chain.id);
}
