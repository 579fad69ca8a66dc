// The WHMCS External API's address and credential, from the settings: the one place that unseals
// the secret and the access key (and hands them to the masker) for every caller — tickets, e-mails,
// a VM's addresses.
import type { Knex } from 'knex';
import { globalMasker } from '../log/mask.ts';
import { readSecretSetting } from '../settings/settings.ts';
import type { WhmcsApiConfig } from './external-api.ts';

/** The API's config, and the settings it still lacks (empty when it can be called). */
export async function whmcsApiConfig(db: Knex, s: Record<string, string>, masterKey: Buffer): Promise<{ api: WhmcsApiConfig; missing: string[] }> {
  const missing = ['whmcs.api_url', 'whmcs.api_identifier'].filter((k) => !s[k]);
  const api: WhmcsApiConfig = {
    url: s['whmcs.api_url'] ?? '', identifier: s['whmcs.api_identifier'] ?? '',
    secret: await readSecretSetting(db, 'whmcs.api_secret', masterKey),
    accessKey: (await readSecretSetting(db, 'whmcs.api_access_key', masterKey)) || undefined,
  };
  // Masked in every log line from here on, whatever a failure message might echo.
  globalMasker.add(api.secret).add(api.accessKey);
  if (!api.secret) missing.push('whmcs.api_secret');
  return { api, missing };
}
