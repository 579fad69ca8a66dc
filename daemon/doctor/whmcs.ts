// The WHMCS check of hostbridge doctor: when External API credentials are configured, one harmless
// call (WhmcsDetails, which only reads WHMCS's version) proves the URL, the credentials and the
// IP or access-key restriction; tickets go through the same door.
import type { Knex } from 'knex';
import { readSecretSetting, readSettings } from '../settings/settings.ts';
import { callWhmcs } from '../whmcs/external-api.ts';
import { fail, ok, reason, warn, within, type CheckResult } from './check.ts';

const NAME = 'whmcs api';

export async function checkWhmcsApi(db: Knex, masterKey: Buffer, timeoutMs: number): Promise<CheckResult> {
  const s = await readSettings(db);
  const ticketsOn = s['tickets.enabled'] === 'true';
  let secret: string;
  let accessKey: string;
  try {
    secret = await readSecretSetting(db, 'whmcs.api_secret', masterKey);
    accessKey = await readSecretSetting(db, 'whmcs.api_access_key', masterKey);
  } catch (err) {
    return fail(NAME, `${reason(err)}`, 'use the master key the secret was stored with, or store it again: hostbridge set whmcs.api_secret -');
  }
  const missing = [!s['whmcs.api_url'] && 'whmcs.api_url', !s['whmcs.api_identifier'] && 'whmcs.api_identifier', !secret && 'whmcs.api_secret'].filter(Boolean) as string[];
  if (missing.length === 3) {
    if (ticketsOn) return fail(NAME, 'tickets are enabled, but no External API credentials are configured: failure tickets cannot be delivered', 'set whmcs.api_url, whmcs.api_identifier and whmcs.api_secret (docs/whmcs.md)');
    return ok(NAME, 'not configured (failure tickets are off)');
  }
  if (missing.length) {
    return fail(NAME, `the External API credentials are incomplete: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set`, `hostbridge set ${missing[0]} ${missing[0] === 'whmcs.api_secret' ? '-' : '<value>'} (docs/whmcs.md)`);
  }
  const url = s['whmcs.api_url'];
  try {
    const r = await within(timeoutMs + 1_000, () => callWhmcs({ url, identifier: s['whmcs.api_identifier'], secret, accessKey: accessKey || undefined, timeoutMs }, 'WhmcsDetails', {}));
    const version = (r.whmcs as { version?: unknown } | undefined)?.version;
    return ok(NAME, `WHMCS${typeof version === 'string' ? ` ${version}` : ''} at ${url} accepts the credentials ${s['whmcs.api_identifier']}`);
  } catch (err) {
    const msg = reason(err);
    if (/Invalid Permissions|not allowed/i.test(msg)) {
      return warn(NAME, `${url} accepts the credentials, but their API role does not allow WhmcsDetails (${msg})`, 'nothing to do if the role allows OpenTicket and AddTicketNote, which tickets need');
    }
    if (/Authentication Failed|Invalid IP|access key/i.test(msg)) {
      return fail(NAME, `WHMCS at ${url} refuses the credentials: ${msg}`,
        'check whmcs.api_identifier and whmcs.api_secret (Configuration › System Settings › Manage API Credentials), and allow this host\'s IP (General Settings › Security › API IP Access Restriction) or set whmcs.api_access_key');
    }
    return fail(NAME, msg, `check whmcs.api_url (the WHMCS /includes/api.php address) and that this host can reach it`);
  }
}
