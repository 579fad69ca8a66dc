// Client e-mails sent through WHMCS (External API SendEmail). An e-mail is an intent row written in
// the same transaction as what causes it (the end of a deploy chain, a restore), idempotent on its
// dedupe key, and delivered by the deliver-emails job with back-off, so nothing is lost while WHMCS
// is down. WHMCS renders and sends it with the product e-mail template named in the settings; the
// merge fields stored here never hold a password (WHMCS's own {$service_password} carries it).
import type { Knex } from 'knex';
import { dbNow, isUniqueViolation } from '../db/connect.ts';
import { errorMessage, InputError, TerminalError } from '../common/errors.ts';
import type { SettingsCache } from '../settings/settings.ts';
import { callWhmcs } from './external-api.ts';
import { whmcsApiConfig } from './api-config.ts';
import { deliveryDelayMs } from './ticket-delivery.ts';
import { T } from '../common/tables.ts';

export type EmailTemplate = 'vm-ready' | 'backup-restored' | 'ssl-custom-expiry';

/** Which setting names the WHMCS template (SendEmail's messagename) of each e-mail. */
export const TEMPLATE_SETTING: Record<EmailTemplate, string> = {
  'vm-ready': 'emails.vm_ready_template',
  'backup-restored': 'emails.backup_restored_template',
  'ssl-custom-expiry': 'emails.ssl_custom_expiry_template',
};

/** Merge-field names that could carry a secret: refused, so no password ever sits in the outbox. */
const SECRET_NAME = /pass|secret|token|key/i;

export interface EmailIntent {
  whmcsServiceId: number;
  template: EmailTemplate;
  vars: Record<string, string>;
  dedupeKey: string;
}

/** Queues an e-mail; a second call with the same dedupe key (a rerun, another daemon) changes nothing. */
export async function queueEmail(db: Knex | Knex.Transaction, e: EmailIntent): Promise<void> {
  if (!Number.isInteger(e.whmcsServiceId) || e.whmcsServiceId <= 0) throw new InputError('whmcsServiceId', 'must be a positive WHMCS service id');
  if (!(e.template in TEMPLATE_SETTING)) throw new InputError('template', `must be one of ${Object.keys(TEMPLATE_SETTING).join(', ')}`);
  if (!e.dedupeKey || e.dedupeKey.length > 191) throw new InputError('dedupeKey', 'must be 1 to 191 characters');
  for (const [k, v] of Object.entries(e.vars)) {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(k)) throw new InputError(`vars.${k}`, 'a merge field name is lower-case letters, digits and _');
    if (SECRET_NAME.test(k)) throw new InputError(`vars.${k}`, 'secrets are never put in an e-mail intent (WHMCS\'s own merge fields carry the password)');
    if (typeof v !== 'string') throw new InputError(`vars.${k}`, 'must be a string');
  }
  const now = await dbNow(db);
  const row = {
    dedupe_key: e.dedupeKey, whmcs_service_id: e.whmcsServiceId, template: e.template, vars: JSON.stringify(e.vars),
    state: 'pending', attempts: 0, next_attempt_at: now, created_at: now,
  };
  if (await db(T.emailOutbox).where('dedupe_key', e.dedupeKey).first('id')) return;
  const insert = async (q: Knex | Knex.Transaction) => {
    await q(T.emailOutbox).insert(row);
  };
  try {
    // Inside a transaction, a savepoint: a concurrent insert of the same key undoes this statement only.
    if (db.isTransaction) await (db as Knex.Transaction).transaction(insert);
    else await insert(db);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
}

/**
 * PHP's serialize() of a string map, base64-encoded: the form SendEmail's customvars takes. Lengths
 * are in UTF-8 bytes, as PHP counts them.
 */
export function phpSerializedVars(vars: Record<string, string>): string {
  const s = (v: string) => `s:${Buffer.byteLength(v, 'utf8')}:"${v}";`;
  const body = Object.entries(vars).map(([k, v]) => s(k) + s(v)).join('');
  return Buffer.from(`a:${Object.keys(vars).length}:{${body}}`, 'utf8').toString('base64');
}

// SendEmail's documented error answers that no retry changes: the template does not exist, or WHMCS
// could not build the message (invalid related id, empty body, a hook aborted it). Anything else
// (WHMCS unreachable, bad credentials) stays pending.
const REFUSALS = ['email template not found', 'sending failed', 'related id required', 'invalid email template'];

export function emailRefusalOf(err: unknown): string | null {
  if (!(err instanceof TerminalError)) return null;
  const m = /^WHMCS API refused SendEmail: (.*)$/s.exec(err.message);
  if (!m) return null;
  return REFUSALS.includes(m[1].trim().toLowerCase()) ? m[1].trim() : null;
}

export interface EmailDeliveryResult {
  sent: number;
  failed: number;
  refused: number;
  pending: number;
}

/**
 * Sends the pending e-mails that are due. Runs as an exclusive scheduled job (one daemon at a time);
 * a row is marked delivered only after WHMCS answered success.
 */
export async function deliverEmails(db: Knex, settings: SettingsCache, masterKey: Buffer, log: (line: string) => void, limit = 50): Promise<EmailDeliveryResult> {
  const s = settings.get();
  const pendingCount = async () => Number(((await db(T.emailOutbox).where('state', 'pending').count({ n: '*' }).first()) as { n: number }).n);
  if (s['emails.enabled'] !== 'true') return { sent: 0, failed: 0, refused: 0, pending: await pendingCount() };
  const { api, missing } = await whmcsApiConfig(db, s, masterKey);
  if (missing.length) throw new Error(`e-mails are enabled but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set`);

  const result: EmailDeliveryResult = { sent: 0, failed: 0, refused: 0, pending: 0 };
  const now = await dbNow(db);
  const rows = await db(T.emailOutbox).where('state', 'pending').where('next_attempt_at', '<=', now).orderBy('id').limit(limit);
  for (const r of rows) {
    const attempts = Number(r.attempts) + 1;
    const messagename = s[TEMPLATE_SETTING[r.template as EmailTemplate]] ?? '';
    try {
      await callWhmcs(api, 'SendEmail', { messagename, id: Number(r.whmcs_service_id), customvars: phpSerializedVars(JSON.parse(r.vars)) });
      await db(T.emailOutbox).where({ id: r.id, state: 'pending' }).update({ state: 'delivered', attempts, delivered_at: await dbNow(db), last_error: null });
      result.sent++;
      log(`e-mail #${r.id}: "${messagename}" sent to the client of service ${r.whmcs_service_id}`);
    } catch (err) {
      const refusal = emailRefusalOf(err);
      if (refusal !== null) {
        await db(T.emailOutbox).where('id', r.id).update({ state: 'refused', attempts, last_error: errorMessage(err).slice(0, 2000) });
        result.refused++;
        log(`e-mail #${r.id}: refused by WHMCS (${refusal}); not tried again until an admin retries it`);
        continue;
      }
      const delay = deliveryDelayMs(attempts);
      await db(T.emailOutbox).where('id', r.id).update({ attempts, next_attempt_at: now + delay, last_error: errorMessage(err).slice(0, 2000) });
      result.failed++;
      log(`e-mail #${r.id}: not delivered (${errorMessage(err)}); next try in ${Math.round(delay / 1000)} s`);
    }
  }
  result.pending = await pendingCount();
  return result;
}

/** Puts refused e-mails (one, or every one) back in the outbox, due now: the admin fixed the cause. */
export async function retryRefusedEmails(db: Knex, id: number | 'all'): Promise<number> {
  const q = db(T.emailOutbox).where('state', 'refused');
  if (id !== 'all') q.where('id', id);
  return Number(await q.update({ state: 'pending', next_attempt_at: await dbNow(db) }));
}
