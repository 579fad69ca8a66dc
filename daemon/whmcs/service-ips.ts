// A VM's addresses written back to its WHMCS service (tblhosting.dedicatedip and assignedips)
// through the External API's UpdateClientProduct, so WHMCS, its e-mails and its admins see them.
// Without the API configured (Settings → WHMCS) nothing is written, and the caller says so.
import type { Knex } from 'knex';
import { globalMasker } from '../log/mask.ts';
import { readSecretSetting, readSettings } from '../settings/settings.ts';
import { callWhmcs } from './external-api.ts';

export interface ServiceIps {
  /** The service's main address (its first IPv4, else its first IPv6), '' to clear it. */
  dedicatedip: string;
  /** Every address, one per line, '' to clear them. */
  assignedips: string;
}

/** Writes the fields; false when the WHMCS API is not configured (nothing written). WHMCS down is a RetryableError. */
export async function writeServiceIps(db: Knex, masterKey: Buffer, whmcsServiceId: number, ips: ServiceIps): Promise<boolean> {
  const s = await readSettings(db);
  if (!s['whmcs.api_url'] || !s['whmcs.api_identifier']) return false;
  const secret = await readSecretSetting(db, 'whmcs.api_secret', masterKey);
  if (!secret) return false;
  const accessKey = (await readSecretSetting(db, 'whmcs.api_access_key', masterKey)) || undefined;
  globalMasker.add(secret).add(accessKey);
  await callWhmcs({ url: s['whmcs.api_url'], identifier: s['whmcs.api_identifier'], secret, accessKey }, 'UpdateClientProduct', {
    serviceid: whmcsServiceId, dedicatedip: ips.dedicatedip, assignedips: ips.assignedips,
  });
  return true;
}

/** The two fields for a list of addresses, IPv4 first. */
export function serviceIpFields(addresses: Array<{ ip: string; family: 4 | 6 }>): ServiceIps {
  const ordered = [...addresses.filter((a) => a.family === 4), ...addresses.filter((a) => a.family === 6)].map((a) => a.ip);
  return { dedicatedip: ordered[0] ?? '', assignedips: ordered.join('\n') };
}
