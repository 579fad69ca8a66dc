// The secrets of hostbridge doctor: the shared secret and the master key are there (and their files
// kept private), and the master key is the one the stored credentials and settings were sealed
// with. A wrong key is named as such; a value it cannot open among others it can is named too.
import fs from 'node:fs';
import type { Knex } from 'knex';
import type { Config } from '../config/config.ts';
import { decryptSecret } from '../crypto/secretbox.ts';
import { T } from '../common/tables.ts';
import { fail, ok, warn, within, type CheckResult } from './check.ts';

/** The setting's source when it is a file (the embedded default's generated files), else null. */
function fileSource(config: Config, key: string): string | null {
  const src = config.sources[key];
  return src && src.startsWith('/') && !src.includes(' (') ? src : null;
}

/** A key file others may read is a leaked key waiting to happen. */
function looseMode(file: string): string | null {
  try {
    const mode = fs.statSync(file).mode & 0o777;
    return mode & 0o077 ? mode.toString(8).padStart(3, '0') : null;
  } catch {
    return null;
  }
}

export function checkSecret(config: Config): CheckResult {
  const file = fileSource(config, 'secret');
  const from = file ?? config.sources.secret ?? 'HOSTBRIDGE_SECRET';
  const loose = file ? looseMode(file) : null;
  if (loose) return warn('secret', `the shared secret's file ${file} has mode ${loose}: others on this host can read it`, `chmod 600 ${file}`);
  return ok('secret', `present (${config.secret.length} characters, from ${from}); WHMCS's server record must hold the same as its password`);
}

interface Sealed { what: string; value: string }

/** Every sealed value there is: server credentials, secret settings, and the customers' passwords of the latest services. */
async function sealedValues(db: Knex): Promise<Sealed[]> {
  const out: Sealed[] = [];
  for (const r of await db(T.servers).whereNotNull('credential').select('name', 'credential') as Array<{ name: string; credential: string }>) {
    out.push({ what: `the credential of server ${r.name}`, value: r.credential });
  }
  for (const r of await db(T.settings).where('encrypted', true).select('key', 'value') as Array<{ key: string; value: string }>) {
    out.push({ what: `the setting ${r.key}`, value: r.value });
  }
  // The customers' passwords live in the service row's names; the latest ones tell enough.
  for (const r of await db(T.services).orderBy('id', 'desc').limit(20).select('whmcs_service_id', 'names') as Array<{ whmcs_service_id: number; names: string | null }>) {
    let sealed: unknown;
    try {
      sealed = r.names ? (JSON.parse(r.names) as { password_sealed?: unknown }).password_sealed : undefined;
    } catch {
      continue;
    }
    if (typeof sealed === 'string' && sealed) out.push({ what: `the password of service ${r.whmcs_service_id}`, value: sealed });
  }
  return out;
}

export async function checkMasterKey(db: Knex, config: Config, timeoutMs: number): Promise<CheckResult> {
  const file = fileSource(config, 'master_key');
  const from = file ?? config.sources.master_key ?? 'HOSTBRIDGE_MASTER_KEY';
  const sealed = await within(timeoutMs, () => sealedValues(db));
  const refused = sealed.filter((s) => {
    try {
      decryptSecret(config.masterKey, s.value);
      return false;
    } catch {
      return true;
    }
  });
  if (sealed.length > 0 && refused.length === sealed.length) {
    return fail('master key', `wrong master key: the key from ${from} opens none of the ${sealed.length} sealed value(s) in the database (${refused.slice(0, 3).map((s) => s.what).join(', ')}${refused.length > 3 ? ', …' : ''})`,
      'set HOSTBRIDGE_MASTER_KEY to the key the credentials were stored with (the one every other daemon on this database uses); never make a new key for a database that has sealed values');
  }
  if (refused.length > 0) {
    return fail('master key', `${refused.length} of ${sealed.length} sealed values cannot be opened with the key from ${from}: ${refused.slice(0, 5).map((s) => s.what).join(', ')}${refused.length > 5 ? ', …' : ''} (altered, or stored by a daemon with another key)`,
      'make every daemon use the same HOSTBRIDGE_MASTER_KEY, then enter those credentials or settings again');
  }
  const loose = file ? looseMode(file) : null;
  if (loose) return warn('master key', `the master key's file ${file} has mode ${loose}: others on this host can read it`, `chmod 600 ${file}`);
  return ok('master key', sealed.length ? `opens all ${sealed.length} sealed value(s) (from ${from})` : `present (from ${from}); nothing is sealed with it yet`);
}
