// A VM's addresses written back to its WHMCS service (tblhosting.dedicatedip and assignedips)
// through the External API's UpdateClientProduct, so WHMCS, its e-mails and its admins see them.
// Without the API configured (Settings → WHMCS) nothing is written, and the caller says so.
import type { Knex } from 'knex';
import { readSettings } from '../settings/settings.ts';
import { callWhmcs } from './external-api.ts';
import { whmcsApiConfig } from './api-config.ts';

export interface ServiceIps {
  /** The service's main address (its first IPv4, else its first IPv6), '' to clear it. */
  dedicatedip: string;
  /** Every address, one per line, '' to clear them. */
  assignedips: string;
}

/** Writes the fields; false when the WHMCS API is not configured (nothing written). WHMCS down is a RetryableError. */
export async function writeServiceIps(db: Knex, masterKey: Buffer, whmcsServiceId: number, ips: ServiceIps): Promise<boolean> {
  const { api, missing } = await whmcsApiConfig(db, await readSettings(db), masterKey);
  if (missing.length) return false;
  await callWhmcs(api, 'UpdateClientProduct', {
    serviceid: whmcsServiceId, dedicatedip: ips.dedicatedip, assignedips: ips.assignedips,
  });
  return true;
}

/** The two fields for a list of addresses, IPv4 first. */
export function serviceIpFields(addresses: Array<{ ip: string; family: 4 | 6 }>): ServiceIps {
  const ordered = [...addresses.filter((a) => a.family === 4), ...addresses.filter((a) => a.family === 6)].map((a) => a.ip);
  return { dedicatedip: ordered[0] ?? '', assignedips: ordered.join('\n') };
}
