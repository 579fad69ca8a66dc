// Admin-editable settings, stored in mod_hostbridge_settings. Each has a default and a check,
// so a bad value is refused with a message naming the key and nothing is written.
import type { Knex } from 'knex';
import { dbNow } from '../db/connect.ts';
import type { RetryPolicy } from '../engine/retry.ts';

interface Definition {
  default: string;
  describe: string;
  check(value: string): string | null; // error text, or null when valid
}

const int = (min: number, max: number) => (v: string) =>
  /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? null : `must be a whole number between ${min} and ${max}`;
const fraction = (v: string) => (/^(0(\.\d+)?|1(\.0+)?)$/.test(v) ? null : 'must be a number between 0 and 1');

export const SETTING_DEFINITIONS: Record<string, Definition> = {
  'retry.max_attempts': { default: '5', describe: 'Attempts per task before it fails for good (0 = unlimited), unless its type says otherwise', check: int(0, 1000) },
  'retry.base_ms': { default: '30000', describe: 'First retry delay in milliseconds; doubles each attempt', check: int(0, 86_400_000) },
  'retry.cap_ms': { default: '3600000', describe: 'Longest retry delay in milliseconds', check: int(0, 604_800_000) },
  'retry.jitter': { default: '0.2', describe: 'Random spread of each delay, as a fraction', check: fraction },
  'queue.target_concurrency': { default: '1', describe: 'Tasks running at once per target server, for servers without their own limit', check: int(1, 64) },
  'queue.retention_days': { default: '30', describe: 'Days finished tasks and their logs are kept before clean-up', check: int(1, 3650) },
  'scheduler.reap-expired-leases.interval_s': { default: '15', describe: 'Seconds between passes that take back tasks whose daemon stopped', check: int(1, 86_400) },
  'scheduler.clean-completed-tasks.interval_s': { default: '3600', describe: 'Seconds between clean-ups of old finished tasks', check: int(60, 604_800) },
};

export class SettingError extends Error {
  constructor(readonly key: string, message: string) {
    super(`setting ${key}: ${message}`);
    this.name = 'SettingError';
  }
}

export async function readSettings(db: Knex): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [k, d] of Object.entries(SETTING_DEFINITIONS)) out[k] = d.default;
  const rows = await db('mod_hostbridge_settings').select('key', 'value').where('encrypted', false);
  for (const r of rows as Array<{ key: string; value: string }>) {
    if (r.key in SETTING_DEFINITIONS && SETTING_DEFINITIONS[r.key].check(r.value) === null) out[r.key] = r.value;
  }
  return out;
}

export async function writeSetting(db: Knex, key: string, value: string): Promise<void> {
  const def = SETTING_DEFINITIONS[key];
  if (!def) throw new SettingError(key, `unknown setting; known settings are ${Object.keys(SETTING_DEFINITIONS).join(', ')}`);
  const problem = def.check(value);
  if (problem) throw new SettingError(key, `${problem}, got "${value}"`);
  if (key === 'retry.cap_ms' || key === 'retry.base_ms') {
    const s = await readSettings(db);
    const base = Number(key === 'retry.base_ms' ? value : s['retry.base_ms']);
    const cap = Number(key === 'retry.cap_ms' ? value : s['retry.cap_ms']);
    if (cap < base) throw new SettingError(key, `retry.cap_ms (${cap}) must not be below retry.base_ms (${base})`);
  }
  const now = await dbNow(db);
  await db('mod_hostbridge_settings').insert({ key, value, encrypted: false, updated_at: now }).onConflict('key').merge(['value', 'updated_at']);
}

export function retryPolicyFrom(s: Record<string, string>): RetryPolicy {
  return {
    maxAttempts: Number(s['retry.max_attempts']),
    baseMs: Number(s['retry.base_ms']),
    capMs: Number(s['retry.cap_ms']),
    jitter: Number(s['retry.jitter']),
  };
}

/** Settings as last read, refreshed by the daemon now and then so admins' changes apply without a restart. */
export class SettingsCache {
  private values: Record<string, string> = {};
  private readAt = 0;

  constructor(private readonly db: Knex, private readonly maxAgeMs = 30_000) {
    for (const [k, d] of Object.entries(SETTING_DEFINITIONS)) this.values[k] = d.default;
  }

  async refresh(): Promise<Record<string, string>> {
    this.values = await readSettings(this.db);
    this.readAt = Date.now();
    return this.values;
  }

  async fresh(): Promise<Record<string, string>> {
    if (Date.now() - this.readAt > this.maxAgeMs) await this.refresh();
    return this.values;
  }

  get(): Record<string, string> {
    return this.values;
  }

  retryPolicy(): RetryPolicy {
    return retryPolicyFrom(this.values);
  }

  targetConcurrency(): number {
    return Number(this.values['queue.target_concurrency']);
  }
}
