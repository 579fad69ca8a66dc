// POST /v1/services/{id}/console: a one-time link to the VM's console, for the WHMCS module's
// Console button (the customer's client area; client_id 0 when an admin asks from the admin area).
// Refused while the console listener is off (503, for the admin), for a service of another client
// (403), and while the service may not open it (409: suspended, not deployed, not in the product).
import type { Knex } from 'knex';
import { InputError } from '../common/errors.ts';
import { serviceByWhmcsId } from '../services/store.ts';
import { readSettings } from '../settings/settings.ts';
import { consoleEligibility } from './eligibility.ts';
import { createConsoleLink } from './links.ts';

export interface ConsoleLinkBody { client_id: number }

export interface ConsoleLinkAnswer {
  ok: true;
  /** `<public base>/console/#t=<token>`: opens once, until expires_at. */
  url: string;
  /** Unix seconds. */
  expires_at: number;
}

export async function issueConsoleLink(db: Knex, consoleUrl: string | null, whmcsServiceId: number, body: ConsoleLinkBody): Promise<ConsoleLinkAnswer> {
  if (!consoleUrl) {
    throw new InputError('', 'the VM console is not configured on this daemon: set HOSTBRIDGE_CONSOLE_LISTEN (the console listener) and HOSTBRIDGE_CONSOLE_URL (its public https address behind a TLS proxy), then restart the daemon', 503);
  }
  const svc = await serviceByWhmcsId(db, whmcsServiceId);
  if (!svc) throw new InputError('', `service ${whmcsServiceId} is not known to hostbridge`, 404);
  if (body.client_id !== 0 && svc.clientId !== null && svc.clientId !== body.client_id) {
    throw new InputError('client_id', `service ${whmcsServiceId} does not belong to client ${body.client_id}`, 403);
  }
  const ok = await consoleEligibility(db, svc);
  if (!ok.ok) throw new InputError('', ok.message, 409);
  const ttlS = Number((await readSettings(db))['console.link_ttl_s']);
  const link = await createConsoleLink(db, svc.id, body.client_id, ttlS);
  return { ok: true, url: `${consoleUrl}/console/#t=${link.token}`, expires_at: Math.floor(link.expiresAt / 1000) };
}
